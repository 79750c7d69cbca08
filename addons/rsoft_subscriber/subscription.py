import datetime

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval, If

from .connection import TV_KINDS
from .exceptions import (
    DeleteError,
    SubscriptionAccessError,
    SubscriptionError,
)
from .lifecycle import check_readable

STATES = [
    ('draft', "Draft"),
    ('active', "Active"),
    ('ended', "Ended"),
    ('cancelled', "Cancelled"),
    ]
TERMS = [1, 2, 3, 6, 12]
# Offers that carry channels or video services need a TV connection
TV_OFFERS = {
    'ncf', 'alacarte', 'broadcaster_bouquet', 'base_pack', 'addon_pack',
    'ppv', 'vod', 'dvr'}
# Once started, a line changes only through its actions
_LINE_LOCKED_FIELDS = {'connection', 'product', 'term', 'start_date'}


class Line(SystemFieldsMixin, Workflow, ModelSQL, ModelView):
    "One offer on one connection between two dates: the entitlement ledger"
    __name__ = 'rsoft.subscription.line'
    __string__ = "Subscription Line"

    connection = fields.Many2One(
        'rsoft.connection', "Connection", required=True, ondelete='CASCADE',
        states={
            'readonly': Eval('state') != 'draft',
            })
    subscriber = fields.Function(
        fields.Many2One('rsoft.subscriber', "Subscriber"),
        'get_subscriber', searcher='search_subscriber')
    product = fields.Many2One(
        'product.product', "Offer", required=True, ondelete='RESTRICT',
        domain=[
            ('template.rsoft_kind', '!=', None),
            If(Eval('state') == 'draft',
                ('template.offer_state', '=', 'published'),
                ()),
            ],
        states={
            'readonly': Eval('state') != 'draft',
            })
    kind = fields.Function(
        fields.Selection('get_kinds', "Kind"), 'get_kind')
    term = fields.Integer(
        "Term", required=True,
        domain=[('term', 'in', TERMS)],
        states={
            'readonly': Eval('state') != 'draft',
            },
        help="The number of months paid at a time: 1, 2, 3, 6 or 12.")
    price_version = fields.Many2One(
        'rsoft.offer.price', "Price Version", readonly=True,
        ondelete='RESTRICT',
        help="The price version in force when the offer was taken; "
        "the subscription keeps it.")
    amount = fields.Function(
        fields.Numeric("Term Price", digits=(16, 2)), 'get_amount')
    start_date = fields.Date(
        "Start Date", required=True,
        domain=[
            If(Eval('end_date'),
                ('start_date', '<=', Eval('end_date')),
                ()),
            ],
        states={
            'readonly': Eval('state') != 'draft',
            },
        help="The first day of the entitlement.")
    end_date = fields.Date(
        "End Date", readonly=True,
        help="The last day of the entitlement; empty while it runs.")
    ncf = fields.Boolean(
        "NCF", readonly=True,
        help="Added by the system to charge the network capacity fee.")
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'state', 'end_date', 'price_version', 'ncf'}
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.connection, Index.Equality()),
                    (t.state, Index.Equality())),
                Index(t, (t.product, Index.Equality()),
                    (t.start_date, Index.Range())),
                # The packs about to expire, for reminders and dashboards
                Index(t, (t.end_date, Index.Range()),
                    where=t.state == 'active'),
                })
        cls._order = [('start_date', 'DESC'), ('id', 'DESC')]
        cls.__access__.add('connection')
        cls._transitions |= {
            ('draft', 'active'),
            ('draft', 'cancelled'),
            ('active', 'ended'),
            ('active', 'cancelled'),
            }
        cls._buttons.update({
                'activate': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'end': {
                    'invisible': Eval('state') != 'active',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_term(cls):
        return 1

    @classmethod
    def default_start_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Date.today()

    @classmethod
    def default_ncf(cls):
        return False

    def get_rec_name(self, name):
        return f'{self.product.rec_name} ({self.term} m)'

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('product.rec_name',) + tuple(clause[1:])]

    def get_subscriber(self, name):
        return self.connection.subscriber.id

    @classmethod
    def search_subscriber(cls, name, clause):
        nested = clause[0][len(name):]
        return [('connection.subscriber' + nested, *clause[1:])]

    @classmethod
    def get_kinds(cls):
        pool = Pool()
        Template = pool.get('product.template')
        return Template.fields_get(['rsoft_kind'])['rsoft_kind']['selection']

    def get_kind(self, name):
        return self.product.template.rsoft_kind

    def get_amount(self, name):
        if self.price_version:
            return self.price_version.get_term_amount(self.term)

    def is_active(self, date=None):
        "Tell whether the line entitles its connection at date"
        pool = Pool()
        Date = pool.get('ir.date')
        date = date or Date.today()
        return (self.state in {'active', 'ended'}
            and self.start_date <= date
            and (not self.end_date or self.end_date >= date))

    def is_open(self, date):
        return not self.end_date or self.end_date >= date

    def _event(self, action, before, after, date):
        return {
            'subscriber': self.connection.subscriber.id,
            'connection': self.connection.id,
            'line': self.id,
            'kind': 'subscription',
            'action': action,
            'date': date,
            'before': before,
            'after': after,
            }

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if (external and mode == 'write'
                and values.keys() & _LINE_LOCKED_FIELDS):
            for line in lines:
                if line.state != 'draft':
                    raise SubscriptionAccessError(gettext(
                            'rsoft_subscriber.msg_line_modify_started',
                            line=line.rec_name,
                            state=line.state_string))

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('state', 'draft')
        default.setdefault('end_date')
        default.setdefault('price_version')
        default.setdefault('ncf', False)
        return super().copy(lines, default=default)

    @classmethod
    def delete(cls, lines):
        check_readable(cls, lines)
        for line in lines:
            if line.state != 'draft':
                raise DeleteError(gettext(
                        'rsoft_subscriber.msg_delete_not_draft',
                        record=line.rec_name))
        super().delete(lines)

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def activate(cls, lines, date=None):
        """Start the entitlement of lines, checking the subscription rules

        The start date of a line is kept when set, else it is date."""
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Event = pool.get('rsoft.subscriber.event')
        connections = {line.connection for line in lines}
        ncf_before = Connection.ncf_snapshot(lines)
        to_write, events = [], []
        for connection in connections:
            accepted = [line for line in connection.lines
                if line.state == 'active' and line not in lines]
            for line in sorted(
                    (line for line in lines if line.connection == connection),
                    key=lambda line: line.start_date):
                line.check_subscribe(accepted)
                accepted.append(line)
                version = line.get_price_version()
                # The state is written now for the NCF recount below
                to_write.extend(([line], {
                            'price_version': version.id if version else None,
                            'state': 'active',
                            }))
                events.append(line._event(
                        'subscribe', None, line.rec_name, line.start_date))
        if to_write:
            cls.write(*to_write)
        Event.record(events)
        # The NCF runs from the first day a channel does
        cls.add_ncf([c for c in connections if c.kind in TV_KINDS],
            date or min((line.start_date for line in lines), default=None))
        Connection.record_ncf_changes(ncf_before)

    def get_price_version(self):
        "Return the price version in force at the start, checking the term"
        template = self.product.template
        if template.rsoft_kind == 'ncf':
            return None
        version, _ = template.get_term_price(self.term, self.start_date)
        return version

    def check_subscribe(self, others):
        "Check the line may join the active lines others of its connection"
        connection = self.connection
        template = self.product.template
        subscriber = connection.subscriber
        if connection.state != 'active':
            raise SubscriptionError(gettext(
                    'rsoft_subscriber.msg_subscribe_connection_state',
                    offer=self.product.rec_name,
                    connection=connection.rec_name,
                    state=connection.state_string))
        if template.offer_state != 'published':
            raise SubscriptionError(gettext(
                    'rsoft_subscriber.msg_subscribe_not_published',
                    offer=self.product.rec_name))
        if not template.is_available_for(subscriber.lco):
            raise SubscriptionError(gettext(
                    'rsoft_subscriber.msg_subscribe_not_available',
                    offer=self.product.rec_name,
                    lco=subscriber.lco.rec_name))
        if (template.rsoft_kind in TV_OFFERS
                and connection.kind not in TV_KINDS):
            raise SubscriptionError(gettext(
                    'rsoft_subscriber.msg_subscribe_not_tv',
                    offer=self.product.rec_name,
                    connection=connection.rec_name))
        others = [o for o in others if o.is_open(self.start_date)]
        for other in others:
            self._check_twice(other)
        self._check_channels(others)

    def _check_twice(self, other):
        kind = self.product.template.rsoft_kind
        if other.product == self.product:
            raise SubscriptionError(gettext(
                    'rsoft_subscriber.msg_subscribe_twice',
                    offer=self.product.rec_name,
                    connection=self.connection.rec_name))
        if kind == 'base_pack' and other.kind == 'base_pack':
            raise SubscriptionError(gettext(
                    'rsoft_subscriber.msg_subscribe_second_base_pack',
                    offer=self.product.rec_name,
                    other=other.product.rec_name,
                    connection=self.connection.rec_name))

    def _check_channels(self, others):
        "Refuse to charge a channel twice: a-la-carte and inside a bouquet"
        kind = self.product.template.rsoft_kind
        channels = self.product.template.get_offer_channels()
        if not channels:
            return
        for other in others:
            if (kind == 'alacarte') == (other.kind == 'alacarte'):
                continue
            common = channels & other.product.template.get_offer_channels()
            if not common:
                continue
            channel = min(common, key=lambda c: c.lcn)
            if kind == 'alacarte':
                message = 'rsoft_subscriber.msg_alacarte_in_bouquet'
            else:
                message = 'rsoft_subscriber.msg_bouquet_has_alacarte'
            raise SubscriptionError(gettext(
                    message,
                    channel=channel.rec_name,
                    offer=self.product.rec_name,
                    other=other.product.rec_name,
                    connection=self.connection.rec_name))

    @classmethod
    def add_ncf(cls, connections, date=None):
        "Give each TV connection that has none an open NCF line"
        pool = Pool()
        Date = pool.get('ir.date')
        Product = pool.get('product.product')
        Event = pool.get('rsoft.subscriber.event')
        date = date or Date.today()
        missing = [c for c in connections
            if not any(
                line.ncf and line.state == 'active' and line.is_open(date)
                for line in c.lines)]
        if not missing:
            return []
        products = Product.search([
                ('template.rsoft_kind', '=', 'ncf'),
                ('template.offer_state', '=', 'published'),
                ], limit=1)
        if not products:
            raise SubscriptionError(gettext(
                    'rsoft_subscriber.msg_no_ncf_offer'))
        product, = products
        lines = cls.create([{
                    'connection': c.id,
                    'product': product.id,
                    'term': 1,
                    'start_date': max(date, c.activation_date or date),
                    'ncf': True,
                    'state': 'active',
                    } for c in missing])
        Event.record([
                line._event(
                    'subscribe', None, line.rec_name, line.start_date)
                for line in lines])
        return lines

    @classmethod
    @ModelView.button
    def end(cls, lines):
        pool = Pool()
        Date = pool.get('ir.date')
        cls.stop(lines, Date.today())

    @classmethod
    @Workflow.transition('ended')
    def stop(cls, lines, date):
        """End the entitlement of lines: date is the first day without it

        A line stopped on its start date never ran and is cancelled."""
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Event = pool.get('rsoft.subscriber.event')
        ncf_before = Connection.ncf_snapshot(lines, date)
        last_day = date - datetime.timedelta(days=1)
        ended = [line for line in lines if line.start_date <= last_day]
        never_ran = [line for line in lines if line.start_date > last_day]
        Event.record([line._event('unsubscribe', line.rec_name,
                    f'last day {last_day}', date)
                for line in ended])
        cls.write(ended, {'end_date': last_day})
        cls.cancel(never_ran)
        Connection.record_ncf_changes(ncf_before)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, lines):
        pool = Pool()
        Event = pool.get('rsoft.subscriber.event')
        Event.record([
                line._event('cancel', line.rec_name, None, line.start_date)
                for line in lines if line.state == 'active'])
