"""Subscription change requests: what a subscriber confirmed, and what it
cost, when it changed its channels

TRAI's QoS regulations ask that the subscriber sees the new monthly
amount (offers at their MRP or DRP, the NCF of the slab the channels fall
in, taxes) before confirming a change of channels, and that a record of
the confirmation is kept: who, what, when and from where. A request is
that record. The portal and the channel-selector API preview a change
(nothing is left behind), then submit it: the change is made at once,
with the subscription rules and the LCO's wallet of the activation, and
the request is kept done, or refused with the reason."""
import datetime
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_billing.common import savepoint
from trytond.modules.rsoft_catalogue.bestfit import (
    BestFitError,
    NcfRule,
    NoFitError,
    NotOfferedError,
    price_selection,
)
from trytond.modules.rsoft_catalogue.common import format_date
from trytond.modules.rsoft_subscriber.connection import TV_KINDS
from trytond.modules.rsoft_toolkit.guard import AppendOnlyMixin
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .advisor import (
    _channel_lines,
    _offer,
    advise,
    mandated_ids,
    monthly_prices,
    switch,
)
from .quote import PACK_KINDS

SOURCES = [
    ('portal', "Subscriber Portal"),
    ('channel_selector', "Channel Selector API"),
    ('lco_portal', "LCO Portal"),
    ('back_office', "Back Office"),
    ]
KINDS = [
    ('change', "Change"),
    ('advice', "Advice"),
    ]
STATES = [
    ('proposed', "Proposed"),
    ('done', "Done"),
    ('refused', "Refused"),
    ]
ACTIONS = [
    ('add', "Add"),
    ('remove', "Remove"),
    ]
# The figures of a month, before and after the change
FIGURES = ['offers', 'ncf', 'ncf_slab', 'taxes', 'total', 'channel_count']


class _Undo(Exception):
    "Rolls the savepoint of a preview back"


class Request(AppendOnlyMixin, ModelSQL, ModelView):
    "A subscriber's change of channels, as confirmed, with its monthly cost"
    __name__ = 'rsoft.subscription.request'
    __string__ = "Subscription Request"
    _rec_name = 'number'
    _append_only_message = 'rsoft_lco.msg_request_append_only'

    number = fields.Char(
        "Number", readonly=True,
        help="From the subscription request sequence, when submitted.")
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber", required=True, readonly=True,
        ondelete='CASCADE')
    connection = fields.Many2One(
        'rsoft.connection', "Connection", required=True, readonly=True,
        ondelete='CASCADE')
    lco = fields.Function(
        fields.Many2One('rsoft.partner', "LCO"), 'get_lco',
        searcher='search_lco')
    source = fields.Selection(
        SOURCES, "Source", required=True, readonly=True,
        help="Where the subscriber or the LCO confirmed the change.")
    source_string = source.translated('source')
    kind = fields.Selection(
        KINDS, "Kind", required=True, readonly=True,
        help="Change: offers added and removed by the subscriber.\n"
        "Advice: the best-fit advisor's offers for the channels ticked.")
    kind_string = kind.translated('kind')
    date = fields.Date(
        "Effective Date", required=True, readonly=True,
        help="The first day with the new offers.")
    channels = fields.Many2Many(
        'rsoft.subscription.request-rsoft.channel', 'request', 'channel',
        "Channels Ticked", readonly=True,
        help="The channels the subscriber asked the advisor for.")
    lines = fields.One2Many(
        'rsoft.subscription.request.line', 'request', "Offers",
        readonly=True)
    added = fields.Function(
        fields.Many2Many('product.product', None, None, "Offers Added"),
        'get_products')
    removed = fields.Function(
        fields.Many2Many('product.product', None, None, "Offers Removed"),
        'get_products')
    lines_started = fields.Function(
        fields.Many2Many(
            'rsoft.subscription.line', None, None, "Subscriptions Started"),
        'get_subscription_lines')
    lines_stopped = fields.Function(
        fields.Many2Many(
            'rsoft.subscription.line', None, None, "Subscriptions Ended"),
        'get_subscription_lines')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    offers_before = Monetary(
        "Offers Before", currency='currency', digits='currency',
        readonly=True,
        help="What the channels' offers taken cost a month, before taxes.")
    ncf_before = Monetary(
        "NCF Before", currency='currency', digits='currency', readonly=True)
    ncf_slab_before = fields.Char("NCF Slab Before", readonly=True)
    taxes_before = Monetary(
        "Taxes Before", currency='currency', digits='currency',
        readonly=True)
    total_before = Monetary(
        "Monthly Total Before", currency='currency', digits='currency',
        readonly=True)
    channel_count_before = fields.Integer(
        "Channels Before", readonly=True,
        help="The channels counted toward the NCF slabs.")
    offers_after = Monetary(
        "Offers After", currency='currency', digits='currency',
        readonly=True,
        help="What the channels' offers cost a month after the change, "
        "before taxes.")
    ncf_after = Monetary(
        "NCF After", currency='currency', digits='currency', readonly=True)
    ncf_slab_after = fields.Char("NCF Slab After", readonly=True)
    taxes_after = Monetary(
        "Taxes After", currency='currency', digits='currency',
        readonly=True)
    total_after = Monetary(
        "Monthly Total After", currency='currency', digits='currency',
        readonly=True)
    channel_count_after = fields.Integer(
        "Channels After", readonly=True,
        help="The channels counted toward the NCF slabs.")
    difference = fields.Function(
        Monetary("Difference", currency='currency', digits='currency',
            help="The monthly total after less the one before."),
        'get_difference')
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False,
        help="Proposed: a preview, never stored.\n"
        "Done: the change was made.\n"
        "Refused: nothing changed; the refusal says why.")
    state_string = state.translated('state')
    refusal = fields.Text("Refusal", readonly=True)
    login = fields.Char(
        "Login", readonly=True,
        help="The portal login or the API client that confirmed.")
    user = fields.Many2One(
        'res.user', "User", readonly=True, ondelete='RESTRICT',
        help="The user of the back office or of the LCO, if any.")
    submitted_at = fields.DateTime(
        "Confirmed At", readonly=True)
    ip_address = fields.Char("IP Address", readonly=True)
    user_agent = fields.Char("User Agent", readonly=True)
    cas_command_count = fields.Integer(
        "CAS Commands", readonly=True,
        help="The CAS commands the change queued.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.connection, Index.Equality())),
                Index(t, (t.subscriber, Index.Equality())),
                })
        cls._order = [('submitted_at', 'DESC'), ('id', 'DESC')]
        cls.__access__.add('subscriber')

    @classmethod
    def default_state(cls):
        return 'proposed'

    @classmethod
    def default_cas_command_count(cls):
        return 0

    def get_lco(self, name):
        return self.subscriber.lco.id

    @classmethod
    def search_lco(cls, name, clause):
        return [('subscriber.lco' + clause[0][3:],) + tuple(clause[1:])]

    def get_products(self, name):
        action = {'added': 'add', 'removed': 'remove'}[name]
        return [line.product.id for line in self.lines
            if line.action == action]

    def get_subscription_lines(self, name):
        action = {'lines_started': 'add', 'lines_stopped': 'remove'}[name]
        return [line.subscription_line.id for line in self.lines
            if line.action == action and line.subscription_line]

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    def get_difference(self, name):
        if self.total_after is not None and self.total_before is not None:
            return self.total_after - self.total_before

    @classmethod
    def create(cls, vlist):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Sequence = pool.get('ir.sequence')
        vlist = [v.copy() for v in vlist]
        sequence = Sequence(ModelData.get_id('rsoft_lco', 'sequence_request'))
        for values in vlist:
            if not values.get('number'):
                values['number'] = sequence.get()
        return super().create(vlist)

    # What the portals and the API call

    @classmethod
    def preview(cls, connection, add=(), remove=(), date=None):
        """Return the request of adding and removing offers on connection
        from date, not saved: its amounts before and after, and in state
        'proposed', or 'refused' with the refusal of the change

        The change is made in a savepoint then rolled back, so the
        subscription rules and the LCO's wallet refuse it as they would."""
        return cls._preview(cls._propose(
                connection, add=add, remove=remove, date=date))

    @classmethod
    def present(cls, connection, date=None):
        """Return an unsaved request of no change on connection at date:
        its figures before are the month of the offers taken"""
        request = cls._propose(connection, date=date)
        if request.state == 'refused':
            # Refused for changing nothing: the figures are still wanted
            request.state = 'proposed'
            request._set_figures()
        return request

    @classmethod
    def preview_advice(cls, connection, channels, date=None):
        """Return the request of taking the advisor's offers for channels
        on connection from date, not saved, as preview does"""
        return cls._preview(cls._propose(
                connection, channels=channels, date=date))

    @classmethod
    def submit(cls, connection, add=(), remove=(), channels=None,
            source='portal', login=None, ip_address=None, user_agent=None,
            date=None):
        """Make the change on connection from date and return the request
        saved: 'done', or 'refused' with the refusal (nothing of the change
        stays, but the request does)

        With channels, the advisor's offers for them replace the channels'
        offers taken (add and remove are not used). The refusal is not
        raised: the caller shows request.refusal and commits, so that the
        refused request is kept. The CAS commands of a change are queued
        in the caller's transaction."""
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        # Two submissions of the same change (a double click) are made one
        # after the other: the second sees the first's lines and is refused
        Connection.lock([connection])
        request = cls._propose(connection, add=add, remove=remove,
            channels=channels, date=date)
        request._set_origin(source, login, ip_address, user_agent)
        if request.state == 'proposed':
            try:
                with savepoint('rsoft_lco_request'):
                    request._apply()
            except UserError as error:
                request._refuse(error)
            else:
                request.state = 'done'
                request._queue_cas()
        with without_check_access():
            request.save()
        return cls(request.id)

    # The making of a request

    @classmethod
    def _propose(cls, connection, add=(), remove=(), channels=None,
            date=None):
        "Return the request of the change, unsaved: proposed or refused"
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Date = pool.get('ir.date')
        connection = Connection(connection.id)
        subscriber = connection.subscriber
        request = cls(
            company=subscriber.company, subscriber=subscriber,
            connection=connection, date=date or Date.today(),
            kind='change' if channels is None else 'advice',
            channels=list(channels or []), state='proposed', lines=[],
            cas_command_count=0)
        request.currency = request.on_change_with_currency()
        request.added, request.removed = [], []
        request.lines_started, request.lines_stopped = [], []
        request.difference = None
        try:
            if channels is not None:
                add, remove = request._advised()
            request._set_lines(add, remove)
            request._set_figures()
        except UserError as error:
            request._refuse(error)
        return request

    @classmethod
    def _preview(cls, request):
        if request.state != 'proposed':
            return request
        try:
            with savepoint('rsoft_lco_request_preview'):
                request._apply()
                raise _Undo
        except _Undo:
            pass
        except UserError as error:
            request._refuse(error)
        # The lines of the rolled-back change are gone
        for line in request.lines:
            line.subscription_line = None
        return request

    def _taken(self):
        "Return {product: its running line} of the channels' offers"
        return {line.product: line
            for line in _channel_lines(self.connection, self.date)
            if line.product.template.rsoft_kind in PACK_KINDS}

    def _advised(self):
        "Return (offers to add, offers to remove) to follow the advice"
        if not self.channels:
            raise UserError(gettext('rsoft_lco.msg_request_no_channel'))
        try:
            advice = advise(self.connection, self.channels, self.date)
        except NotOfferedError as error:
            raise UserError(gettext('rsoft_lco.msg_request_not_offered',
                    channels=_names('rsoft.channel', error.channels))
                ) from error
        except BestFitError as error:
            raise UserError(gettext('rsoft_lco.msg_request_no_fit',
                    channels=', '.join(c.rec_name for c in self.channels))
                ) from error
        taken = self._taken()
        wanted = advice['products']
        return ([p for p in wanted if p not in taken],
            [p for p in taken if p not in wanted])

    def _set_lines(self, add, remove):
        "Check the offers to add and remove, and set the lines"
        pool = Pool()
        Line = pool.get('rsoft.subscription.request.line')
        add, remove = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
        self.lines = [Line(action=a, product=p)
            for a, products in [('remove', remove), ('add', add)]
            for p in products]
        self.added, self.removed = add, remove
        for product in add + remove:
            if product.template.rsoft_kind not in PACK_KINDS:
                raise UserError(gettext(
                        'rsoft_lco.msg_request_not_channel_offer',
                        offer=product.rec_name))
        both = [p for p in add if p in remove]
        if both:
            raise UserError(gettext('rsoft_lco.msg_request_add_and_remove',
                    offer=both[0].rec_name))
        taken = self._taken()
        for product in remove:
            if product not in taken:
                raise UserError(gettext('rsoft_lco.msg_request_not_taken',
                        offer=product.rec_name,
                        connection=self.connection.rec_name))
        if not add and not remove:
            raise UserError(gettext('rsoft_lco.msg_request_nothing',
                    connection=self.connection.rec_name))

    def _set_figures(self):
        "Set the monthly figures before and after the change"
        taken = list(self._taken())
        removed = set(self.removed)
        after = [p for p in taken if p not in removed] + [
            p for p in self.added if p not in taken]
        prices = monthly_prices(self.subscriber, [
                (p, p.template.get_term_price(1, self.date)[1])
                for p in dict.fromkeys(taken + after)], self.date)
        for line in self.lines:
            line.monthly_price = prices[line.product]
        for suffix, products in [('before', taken), ('after', after)]:
            figures = self._figures(products, prices)
            for name in FIGURES:
                setattr(self, f'{name}_{suffix}', figures[name])
        self.difference = self.total_after - self.total_before

    def _figures(self, products, prices):
        "Return the month's figures of products at their prices"
        currency = self.company.currency
        connection = self.connection
        zero = currency.round(Decimal(0))
        if not products:
            # The NCF is charged with channels only
            return {'offers': zero, 'ncf': zero, 'ncf_slab': None,
                'taxes': zero, 'total': zero, 'channel_count': 0}
        rule = (connection.get_ncf_rule(self.date)
            if connection.kind in TV_KINDS else None)
        # Without a rule in force no NCF is billed: a single free slab
        figures = NcfRule.from_rule(rule) if rule else NcfRule(
            slabs=((None, Decimal(0)),))
        mandated = mandated_ids(products)
        tv_rank = connection.tv_rank or 1
        try:
            fit = price_selection([_offer(p, prices[p]) for p in products],
                figures, mandated=mandated, tv_rank=tv_rank)
        except NoFitError as error:
            count = figures.count_channels(frozenset().union(
                    *(p.get_offer_channel_ids() for p in products)),
                mandated)
            raise UserError(gettext('rsoft_catalogue.msg_ncf_no_slab',
                    rule=rule.rec_name, count=count,
                    date=format_date(rule.start_date))) from error
        amounts = [(p, prices[p]) for p in products]
        if fit.ncf:
            amounts.append((self._ncf_offer(), fit.ncf))
        taxes = _taxes(amounts, self.date, currency)
        offers = currency.round(fit.offers_amount)
        ncf = currency.round(fit.ncf)
        return {
            'offers': offers,
            'ncf': ncf,
            'ncf_slab': _slab(figures, fit.channel_count, tv_rank)
            if rule else None,
            'taxes': taxes,
            'total': currency.round(offers + ncf + taxes),
            'channel_count': fit.channel_count,
            }

    def _ncf_offer(self):
        "Return the offer whose taxes the NCF bears"
        pool = Pool()
        Product = pool.get('product.product')
        for line in self.connection.lines:
            if line.ncf:
                return line.product
        products = Product.search([
                ('template.rsoft_kind', '=', 'ncf'),
                ('template.offer_state', '=', 'published'),
                ], limit=1)
        return products[0] if products else None

    def _apply(self):
        """Make the change; the subscription rules and the LCO's wallet
        refuse it by raising"""
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Line = pool.get('rsoft.subscription.line')
        connection = Connection(self.connection.id)
        taken = self._taken()
        if self.kind == 'advice':
            products = [p for p in taken if p not in self.removed]
            new = switch(connection, products + list(self.added), self.date)
        else:
            Line.stop([taken[p] for p in self.removed], self.date)
            new = Line.create([{
                        'connection': connection.id, 'product': p.id,
                        'start_date': self.date,
                        } for p in self.added])
            Line.activate(new, self.date)
        started = {line.product: line for line in new}
        for line in self.lines:
            line.subscription_line = (started.get(line.product)
                if line.action == 'add' else taken[line.product])

    def _refuse(self, error):
        self.state = 'refused'
        self.refusal = error.message
        for line in self.lines or []:
            line.subscription_line = None

    def _set_origin(self, source, login, ip_address, user_agent):
        pool = Pool()
        User = pool.get('res.user')
        transaction = Transaction()
        # The portals run as root: only a real user is named
        user = User(transaction.user) if transaction.user else None
        if not ip_address:
            ip_address, _ = transaction.remote_address()
        self.source = source
        self.login = login or (user.login if user else None)
        self.user = user
        self.ip_address = str(ip_address) if ip_address else None
        self.user_agent = user_agent
        self.submitted_at = datetime.datetime.now()

    def _queue_cas(self):
        "Queue the CAS commands of the change (with a CAS module)"
        pass


class RequestLine(AppendOnlyMixin, ModelSQL, ModelView):
    "An offer a subscription request added or removed"
    __name__ = 'rsoft.subscription.request.line'
    __string__ = "Subscription Request Offer"
    _append_only_message = 'rsoft_lco.msg_request_append_only'

    request = fields.Many2One(
        'rsoft.subscription.request', "Request", required=True,
        readonly=True, ondelete='CASCADE')
    action = fields.Selection(ACTIONS, "Action", required=True, readonly=True)
    action_string = action.translated('action')
    product = fields.Many2One(
        'product.product', "Offer", required=True, readonly=True,
        ondelete='RESTRICT')
    monthly_price = Monetary(
        "Monthly Price", currency='currency', digits='currency',
        readonly=True,
        help="What the subscriber pays for the offer a month, before "
        "taxes: its price, or its LCO's price list's.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    subscription_line = fields.Many2One(
        'rsoft.subscription.line', "Subscription", readonly=True,
        ondelete='SET NULL',
        help="The subscription the request started or ended.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('request')
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.request, Index.Equality())))

    def get_currency(self, name):
        return self.request.company.currency.id

    def get_rec_name(self, name):
        return f'{self.action_string} {self.product.rec_name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('product.rec_name',) + tuple(clause[1:])]


class RequestChannel(AppendOnlyMixin, ModelSQL):
    "A channel ticked on a subscription request"
    __name__ = 'rsoft.subscription.request-rsoft.channel'
    __string__ = "Subscription Request - Channel"
    _append_only_message = 'rsoft_lco.msg_request_append_only'

    request = fields.Many2One(
        'rsoft.subscription.request', "Request", required=True,
        ondelete='CASCADE')
    channel = fields.Many2One(
        'rsoft.channel', "Channel", required=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('request')


class RequestCas(metaclass=PoolMeta):
    "The CAS commands a request queued, with rsoft_cas"
    __name__ = 'rsoft.subscription.request'

    cas_commands = fields.Many2Many(
        'rsoft.subscription.request-rsoft.cas.command', 'request',
        'command', "CAS Commands", readonly=True,
        help="The commands the change queued for the connection's devices.")

    def _queue_cas(self):
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Command = pool.get('rsoft.cas.command')
        super()._queue_cas()
        # Written now, not at commit, to be linked; the commit finds
        # nothing left to write for the change
        commands = [c for c in Command.browse(CasDevice.sync())
            if c.connection == self.connection]
        self.cas_commands = commands
        self.cas_command_count = len(commands)


class RequestCommand(AppendOnlyMixin, ModelSQL):
    "A CAS command a subscription request queued"
    __name__ = 'rsoft.subscription.request-rsoft.cas.command'
    __string__ = "Subscription Request - CAS Command"
    _append_only_message = 'rsoft_lco.msg_request_append_only'

    request = fields.Many2One(
        'rsoft.subscription.request', "Request", required=True,
        ondelete='CASCADE')
    command = fields.Many2One(
        'rsoft.cas.command', "Command", required=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('request')


def _taxes(amounts, date, currency):
    """Return the taxes of amounts [(offer, amount)] as the bill has them:
    each tax on the sum of its bases, rounded half-up"""
    pool = Pool()
    Tax = pool.get('account.tax')
    by_tax = defaultdict(Decimal)
    for product, amount in amounts:
        if product is None or not amount:
            continue
        for tax in Tax.compute(product.customer_taxes_used, amount, 1, date):
            by_tax[tax['tax']] += tax['amount']
    return sum((currency.round(a, rounding=ROUND_HALF_UP)
            for a in by_tax.values()), Decimal(0))


def _slab(figures, count, tv_rank):
    "Return the text of the NCF slab that holds count channels"
    lower = None
    for max_channels, _ in figures.slabs:
        if max_channels is None or count <= max_channels:
            break
        lower = max_channels
    if max_channels is not None:
        text = gettext('rsoft_lco.msg_ncf_slab_up_to', count=max_channels)
    elif lower is not None:
        text = gettext('rsoft_lco.msg_ncf_slab_above', count=lower)
    else:
        text = gettext('rsoft_lco.msg_ncf_slab_any')
    if tv_rank > 1:
        text = gettext('rsoft_lco.msg_ncf_slab_second_tv', slab=text,
            rate=f'{figures.second_tv_rate:.0%}')
    return text


def _names(model, ids):
    Model = Pool().get(model)
    return ', '.join(sorted(r.rec_name for r in Model.browse(list(ids))))
