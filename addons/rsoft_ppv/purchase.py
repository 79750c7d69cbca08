"""Purchases of PPV events and VOD titles, each for one connection

A purchase is a record of its own that points at what it set in motion:
a subscription line of the offer for the days of its window (the
entitlement ledger the CAS outbox reads; the head-end is commanded for
the window itself, see cas.py), the one-time charge of that line (which
the bill runs find charged and never charge again), and either the
invoice paid at once from the wallet or nothing more until the next bill
carries the charge."""
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_billing.charge import Rater
from trytond.modules.rsoft_billing.common import savepoint
from trytond.modules.rsoft_billing.pricing import Pricer
from trytond.modules.rsoft_catalogue.common import MONEY_DIGITS
from trytond.modules.rsoft_subscriber.connection import TV_KINDS
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, PYSONEncoder
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateAction, StateView, Wizard

from .exceptions import (
    CancelError,
    CreditLimitError,
    PurchaseError,
    WalletShortError,
)
from .offer import VIDEO_KINDS

KINDS = [
    ('ppv', "PPV Event"),
    ('vod', "VOD Title"),
    ]
PAYMENTS = [
    ('wallet', "Wallet"),
    ('credit', "Next Bill"),
    ]
SOURCES = [
    ('back_office', "Back Office"),
    ('portal', "Subscriber Portal"),
    ('lco_portal', "LCO Portal"),
    ]
STATES = [
    ('confirmed', "Confirmed"),
    ('cancelled', "Cancelled"),
    ]
VIEWING = [
    ('upcoming', "Upcoming"),
    ('open', "Open"),
    ('over', "Over"),
    ]
UTC = dt.timezone.utc
_SECOND = dt.timedelta(seconds=1)


def local(when, company):
    "Return when (naive UTC, as Tryton stores it) in the company's zone"
    zone = ZoneInfo(company.timezone) if company.timezone else UTC
    return when.replace(tzinfo=UTC).astimezone(zone)


def format_when(when, company, lang=None):
    "Format when as the company's local date and time of lang"
    lang = lang or Pool().get('ir.lang').get()
    when = local(when, company)
    return f'{lang.strftime(when.date())} {when:%H:%M}'


def format_money(amount, currency, lang=None):
    lang = lang or Pool().get('ir.lang').get()
    return lang.currency(amount, currency, grouping=True)


class Purchase(SystemFieldsMixin, Workflow, ModelSQL, ModelView):
    "A PPV event or a VOD title bought for one connection"
    __name__ = 'rsoft.ppv.purchase'
    __string__ = "PPV Purchase"
    _rec_name = 'number'

    number = fields.Char("Number", readonly=True)
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber", required=True, readonly=True,
        ondelete='RESTRICT')
    connection = fields.Many2One(
        'rsoft.connection', "Connection", required=True, readonly=True,
        ondelete='RESTRICT',
        help="The connection whose box or card is entitled.")
    lco = fields.Function(fields.Many2One('rsoft.partner', "LCO"),
        'get_lco', searcher='search_lco')
    product = fields.Many2One(
        'product.product', "Event or Title", required=True, readonly=True,
        ondelete='RESTRICT')
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    window_start = fields.DateTime(
        "Window Start", required=True, readonly=True,
        help="When the viewing opens: the event's start, or the purchase "
        "of a title.")
    window_end = fields.DateTime(
        "Window End", required=True, readonly=True,
        help="When the viewing ends: the event's end, or the end of the "
        "rental period of a title.")
    viewing = fields.Function(fields.Selection(VIEWING, "Viewing"),
        'get_viewing')
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    untaxed_amount = Monetary(
        "Price", currency='currency', digits='currency', required=True,
        readonly=True,
        help="The price of the offer for the subscriber, without taxes.")
    tax_amount = Monetary(
        "Taxes", currency='currency', digits='currency', required=True,
        readonly=True)
    total_amount = Monetary(
        "Total", currency='currency', digits='currency', required=True,
        readonly=True)
    payment = fields.Selection(
        PAYMENTS, "Paid From", required=True, readonly=True,
        help="Wallet: invoiced and paid from the wallet at once.\n"
        "Next Bill: bought within the impulse credit limit and charged on "
        "the account's next bill.")
    payment_string = payment.translated('payment')
    source = fields.Selection(
        SOURCES, "Source", required=True, readonly=True,
        help="Where the purchase was made.")
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    line = fields.Many2One(
        'rsoft.subscription.line', "Subscription Line", readonly=True,
        ondelete='RESTRICT',
        help="The entitlement of the connection for the days of the "
        "window; the CAS is commanded for the window itself.")
    charge = fields.Many2One(
        'rsoft.billing.charge', "Charge", readonly=True,
        ondelete='RESTRICT',
        help="The one-time charge of the purchase.")
    invoice = fields.Function(fields.Many2One(
            'account.invoice', "Invoice",
            help="The invoice that carries the charge, once billed."),
        'get_invoice')
    wallet_entry = fields.Many2One(
        'rsoft.wallet.entry', "Wallet Debit", readonly=True,
        ondelete='RESTRICT')
    credit_charge = fields.Many2One(
        'rsoft.billing.charge', "Credit", readonly=True,
        ondelete='RESTRICT',
        help="The credit that reversed the charge when the purchase was "
        "cancelled.")
    refund_entry = fields.Many2One(
        'rsoft.wallet.entry', "Wallet Refund", readonly=True,
        ondelete='RESTRICT')
    purchased_by = fields.Many2One(
        'res.user', "Bought By", readonly=True, ondelete='RESTRICT',
        help="The login that bought; the administrator for the portals.")
    purchased_at = fields.DateTime("Bought At", required=True, readonly=True)
    cancelled_by = fields.Many2One(
        'res.user', "Cancelled By", readonly=True, ondelete='RESTRICT')
    cancelled_at = fields.DateTime("Cancelled At", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Bought and cancelled by the actions only, never typed in
        cls._system_fields |= {
            'number', 'company', 'subscriber', 'connection', 'product',
            'kind', 'window_start', 'window_end', 'currency',
            'untaxed_amount', 'tax_amount', 'total_amount', 'payment',
            'source', 'state', 'line', 'charge', 'wallet_entry',
            'credit_charge', 'refund_entry', 'purchased_by', 'purchased_at',
            'cancelled_by', 'cancelled_at'}
        t = cls.__table__()
        cls._sql_constraints += [
            ('number_unique', Unique(t, t.number),
                'rsoft_ppv.msg_purchase_number_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.connection, Index.Equality()),
                    (t.product, Index.Equality()),
                    (t.state, Index.Equality())),
                Index(t, (t.subscriber, Index.Equality()),
                    (t.purchased_at, Index.Range())),
                Index(t, (t.product, Index.Equality()),
                    (t.purchased_at, Index.Range())),
                })
        cls._order = [('purchased_at', 'DESC'), ('id', 'DESC')]
        cls.__access__.add('subscriber')
        cls._transitions |= {
            ('confirmed', 'cancelled'),
            }
        cls._buttons.update({
                'cancel': {
                    'invisible': Eval('state') != 'confirmed',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'confirmed'

    @classmethod
    def default_source(cls):
        return 'back_office'

    def get_lco(self, name):
        lco = self.subscriber.lco
        return lco.id if lco else None

    @classmethod
    def search_lco(cls, name, clause):
        nested = clause[0][len(name):]
        return [('subscriber.lco' + nested, *clause[1:])]

    def get_viewing(self, name):
        pool = Pool()
        Configuration = pool.get('rsoft.ppv.configuration')
        now = Configuration.now()
        if now < self.window_start:
            return 'upcoming'
        if now < self.window_end:
            return 'open'
        return 'over'

    def get_invoice(self, name):
        if self.charge and self.charge.invoice_line:
            return self.charge.invoice_line.invoice.id

    @classmethod
    def check_modification(cls, mode, purchases, values=None,
            external=False):
        super().check_modification(
            mode, purchases, values=values, external=external)
        if mode == 'delete':
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_purchase_delete',
                    purchase=purchases[0].rec_name))

    @classmethod
    def copy(cls, purchases, default=None):
        if purchases:
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_purchase_copy',
                    purchase=purchases[0].rec_name))
        return super().copy(purchases, default=default)

    # The API of the portals

    @classmethod
    def purchasable(cls, connection):
        """Return what connection may buy now, events (by start) then
        titles (by name), each a dict of product, kind, name,
        window_start, window_end (of a purchase now), sale_end (events),
        rental_hours (titles), price, tax_amount, total_amount and
        currency: the prices the subscriber pays, taxes included

        Left out: what is not on sale, not sold to its LCO, not mapped in
        its CAS, already bought, or whose sales closed; nothing when the
        connection cannot buy at all. The funds are not looked at: buy
        refuses a short wallet or credit."""
        pool = Pool()
        Configuration = pool.get('rsoft.ppv.configuration')
        Connection = pool.get('rsoft.connection')
        Product = pool.get('product.product')
        connection = Connection(int(connection))
        now = Configuration.now()
        result = []
        with cls._company_context(connection):
            try:
                cls.check_connection(connection)
            except UserError:
                return []
            products = Product.search([
                    ('template.rsoft_kind', 'in', list(VIDEO_KINDS)),
                    ('template.offer_state', '=', 'published'),
                    ['OR',
                        ('template.rsoft_kind', '=', 'vod'),
                        ('template.ppv_end', '>', now),
                        ],
                    ])
            for product in products:
                try:
                    offer = cls.check_offer(connection, product, now)
                except UserError:
                    continue
                template = product.template
                result.append({
                        'product': product,
                        'kind': template.rsoft_kind,
                        'name': template.name,
                        'window_start': offer['window_start'],
                        'window_end': offer['window_end'],
                        'sale_end': template.sale_end,
                        'rental_hours': (template.vod_hours
                            if template.rsoft_kind == 'vod' else None),
                        'price': offer['price'],
                        'tax_amount': offer['tax_amount'],
                        'total_amount': offer['total_amount'],
                        'currency': offer['currency'],
                        })
        return sorted(result, key=lambda o: (
                o['kind'] != 'ppv',
                o['window_start'] if o['kind'] == 'ppv' else dt.datetime.min,
                o['name']))

    @classmethod
    def quote(cls, connection, product, pay_from=None):
        """Check that connection may buy product now, paid from pay_from
        ('wallet', 'credit', or None: the wallet of a prepaid account, the
        next bill of a postpaid one), and return a dict of connection,
        subscriber, product, kind, window_start, window_end, start_date
        and end_date (the days entitled), price, tax_amount,
        total_amount, currency and payment

        Raise a PurchaseError naming what refuses it; nothing is written."""
        pool = Pool()
        Configuration = pool.get('rsoft.ppv.configuration')
        Connection = pool.get('rsoft.connection')
        Product = pool.get('product.product')
        connection = Connection(int(connection))
        product = Product(int(product))
        with cls._company_context(connection):
            cls.check_connection(connection)
            offer = cls.check_offer(
                connection, product, Configuration.now())
            offer['payment'] = cls.check_funds(
                connection.subscriber, offer, pay_from)
        return offer

    @classmethod
    def buy(cls, connection, product, pay_from=None, source='back_office'):
        """Buy product, a PPV event or a VOD title, for connection, paid
        from pay_from as quote takes it; return the purchase

        The checks of quote come first and refuse it with nothing
        written. Then the connection is entitled for the window (the CAS
        is commanded at commit), the charge is made and either invoiced
        and paid from the wallet at once or left for the next bill. It
        runs as the system: callers scope connection to their user first
        (the portals' scoping helper, the wizard's access check). Two
        clicks on one connection wait for each other: the second is
        refused as bought already."""
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        connection = Connection(int(connection))
        with without_check_access(), cls._company_context(connection):
            Connection.lock([connection])
            offer = cls.quote(connection, product, pay_from)
            with savepoint('rsoft_ppv_buy'):
                purchase = cls._buy(offer, source)
        return cls(purchase.id)

    @classmethod
    def for_subscriber(cls, subscriber, limit=None):
        "Return the purchases of subscriber, the latest first"
        with without_check_access():
            return cls.search([
                    ('subscriber', '=', int(subscriber)),
                    ], limit=limit)

    # Checks

    @staticmethod
    def _company_context(connection):
        "The company of the connection's account: rating and taxes need it"
        return Transaction().set_context(
            company=connection.subscriber.company.id)

    @classmethod
    def check_connection(cls, connection):
        "Check connection may buy at all: active, TV, with a receiver"
        if connection.state != 'active':
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_connection_not_active',
                    connection=connection.rec_name,
                    state=connection.state_string))
        if connection.kind not in TV_KINDS:
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_connection_not_tv',
                    connection=connection.rec_name))
        if not cls.receivers(connection):
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_no_receiver',
                    connection=connection.rec_name))

    @staticmethod
    def receivers(connection):
        """Return the devices of connection the head-end entitles: the
        card of a card-based box, else the box, each with a CAS system"""
        receivers = []
        for device in connection.devices:
            template = device.product.template
            if (not template.cas_system
                    or device.device_state != 'installed'):
                continue
            if (device.device_kind == 'smartcard'
                    or (device.device_kind == 'stb'
                        and not template.card_based)):
                receivers.append(device)
        return receivers

    @classmethod
    def check_offer(cls, connection, product, now):
        """Check connection may buy product at now and return the dict of
        the offer: its window, dates and prices"""
        template = product.template
        subscriber = connection.subscriber
        if template.rsoft_kind not in VIDEO_KINDS:
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_not_video',
                    offer=product.rec_name))
        if template.offer_state != 'published':
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_not_published', offer=product.rec_name))
        if template.sale_end and template.sale_end <= now:
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_sales_closed',
                    offer=product.rec_name,
                    time=format_when(template.sale_end, subscriber.company)))
        if not template.is_available_for(subscriber.lco):
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_not_available',
                    offer=product.rec_name, lco=subscriber.lco.rec_name))
        for device in cls.receivers(connection):
            system = device.product.template.cas_system
            if system.product_ids(product) is None:
                raise PurchaseError(gettext(
                        'rsoft_ppv.msg_not_mapped',
                        offer=product.rec_name, system=system.rec_name))
        offer = cls.window(connection, product, now)
        cls.check_bought(connection, product, now)
        cls.check_paid_until(subscriber, product, offer['start_date'])
        offer.update(cls.price(connection, product, offer['start_date']))
        return offer

    @classmethod
    def window(cls, connection, product, now):
        """Return the dict of connection, subscriber, product, kind,
        window_start, window_end and the first and last days of the
        entitlement (start_date, end_date) of a purchase at now"""
        pool = Pool()
        Date = pool.get('ir.date')
        template = product.template
        company = connection.subscriber.company
        if template.rsoft_kind == 'ppv':
            start, end = template.ppv_start, template.ppv_end
        else:
            start = now
            end = now + dt.timedelta(hours=template.vod_hours or 0)
        return {
            'connection': connection,
            'subscriber': connection.subscriber,
            'product': product,
            'kind': template.rsoft_kind,
            'window_start': start,
            'window_end': end,
            # Bought once it runs: entitled from today, not from the past
            'start_date': max(local(start, company).date(), Date.today()),
            # The day of the window's last second
            'end_date': local(end - _SECOND, company).date(),
            }

    @classmethod
    def check_bought(cls, connection, product, now):
        "Refuse a second purchase of product on connection in its window"
        with without_check_access():
            purchases = cls.search([
                    ('connection', '=', connection.id),
                    ('product', '=', product.id),
                    ('state', '=', 'confirmed'),
                    ('window_end', '>', now),
                    ], limit=1)
        if purchases:
            purchase, = purchases
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_already_bought',
                    offer=product.rec_name,
                    connection=connection.rec_name,
                    purchase=purchase.rec_name,
                    end=format_when(purchase.window_end, purchase.company)))

    @classmethod
    def check_paid_until(cls, subscriber, product, date):
        """Refuse to sell a prepaid account what starts after the last day
        its wallet paid: its CAS entitlements stop there"""
        pool = Pool()
        Lang = pool.get('ir.lang')
        paid_until = subscriber.billed_until
        if (subscriber.billing_mode == 'prepaid' and paid_until
                and paid_until < date):
            lang = Lang.get()
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_prepaid_lapsed',
                    subscriber=subscriber.rec_name,
                    paid_until=lang.strftime(paid_until),
                    offer=product.rec_name,
                    start=lang.strftime(date)))

    @classmethod
    def price(cls, connection, product, date):
        """Return the dict of price, tax_amount, total_amount and currency
        the subscriber of connection pays for product bought for date

        Priced as the bill run prices its line: the offer's price version
        in force, then the LCO's price list; each tax rounded as the
        invoice rounds it."""
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        Tax = pool.get('account.tax')
        subscriber = connection.subscriber
        currency = subscriber.company.currency
        version, _ = product.get_term_price(1, date)
        line = Line(connection=connection, product=product, term=1,
            start_date=date, price_version=version)
        price, _, _ = Pricer().price(subscriber, line, 1, date)
        taxes = Tax.compute(product.customer_taxes_used, price, 1, date)
        tax_amount = sum(
            (currency.round(t['amount'], rounding=ROUND_HALF_UP)
                for t in taxes), Decimal(0))
        return {
            'price': price,
            'tax_amount': tax_amount,
            'total_amount': price + tax_amount,
            'currency': currency,
            }

    @classmethod
    def check_funds(cls, subscriber, offer, pay_from=None):
        """Check what pays offer and return it: 'wallet' when the wallet
        holds its total, 'credit' when the impulse credit left does"""
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        if pay_from is None:
            pay_from = ('wallet' if subscriber.billing_mode == 'prepaid'
                else 'credit')
        if pay_from not in dict(PAYMENTS):
            raise ValueError(f"pay_from: {pay_from!r}")
        total, currency = offer['total_amount'], offer['currency']
        product = offer['product']
        if pay_from == 'wallet':
            wallet, = Wallet.get_wallets([subscriber])
            balance = wallet.balance
            if total > balance:
                raise WalletShortError(gettext(
                        'rsoft_ppv.msg_wallet_short',
                        subscriber=subscriber.rec_name,
                        offer=product.rec_name,
                        amount=format_money(total, currency),
                        balance=format_money(balance, currency),
                        missing=format_money(total - balance, currency)))
            return pay_from
        limit = cls.credit_limit(subscriber)
        if limit is None:
            raise CreditLimitError(gettext(
                    'rsoft_ppv.msg_credit_not_allowed',
                    subscriber=subscriber.rec_name,
                    offer=product.rec_name))
        used = cls.credit_used(subscriber)
        if used + total > limit:
            raise CreditLimitError(gettext(
                    'rsoft_ppv.msg_credit_limit',
                    subscriber=subscriber.rec_name,
                    offer=product.rec_name,
                    amount=format_money(total, currency),
                    used=format_money(used, currency),
                    limit=format_money(limit, currency),
                    left=format_money(max(limit - used, 0), currency)))
        return pay_from

    @classmethod
    def credit_limit(cls, subscriber):
        """Return what subscriber may owe for impulse buys, None when it
        buys from its wallet only: its own limit, else the configuration's
        for a postpaid account"""
        pool = Pool()
        Configuration = pool.get('rsoft.ppv.configuration')
        if subscriber.ppv_credit_limit is not None:
            return subscriber.ppv_credit_limit
        if subscriber.billing_mode == 'postpaid':
            return Configuration(1).credit_limit
        return None

    @classmethod
    def credit_used(cls, subscriber):
        """Return the total of subscriber's purchases on credit that no
        bill carries yet"""
        with without_check_access():
            purchases = cls.search([
                    ('subscriber', '=', subscriber.id),
                    ('state', '=', 'confirmed'),
                    ('payment', '=', 'credit'),
                    ('charge.invoice_line', '=', None),
                    ])
        return sum((p.total_amount for p in purchases), Decimal(0))

    # Buying and cancelling

    @classmethod
    def _buy(cls, offer, source):
        pool = Pool()
        Configuration = pool.get('rsoft.ppv.configuration')
        Event = pool.get('rsoft.subscriber.event')
        config = Configuration(1)
        line = cls._entitle(offer)
        subscriber = offer['subscriber']
        purchase, = cls.create([{
                    'company': subscriber.company.id,
                    'subscriber': subscriber.id,
                    'connection': offer['connection'].id,
                    'product': offer['product'].id,
                    'kind': offer['kind'],
                    'window_start': offer['window_start'],
                    'window_end': offer['window_end'],
                    'currency': offer['currency'].id,
                    'untaxed_amount': offer['price'],
                    'tax_amount': offer['tax_amount'],
                    'total_amount': offer['total_amount'],
                    'payment': offer['payment'],
                    'source': source,
                    'line': line.id,
                    'purchased_by': Transaction().user or None,
                    'purchased_at': config.now(),
                    }])
        purchase.charge = purchase._charge()
        purchase.save()
        if purchase.payment == 'wallet':
            purchase._pay_from_wallet()
        # Numbered last: the locks of the wallets restart the transaction,
        # which on PostgreSQL would leave a number unused
        purchase.number = config.purchase_sequence.get()
        purchase.save()
        Event.record([purchase._event('purchase', None, purchase.rec_name)])
        return purchase

    @classmethod
    def _entitle(cls, offer):
        """Return the line entitling the connection from the first to the
        last day of the window

        It is ended from the start, as a one-day fee is: the expiry lists
        do not show it and the rating charges it once. The CAS outbox
        entitles the window itself (CasDevice._line_window)."""
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        line, = Line.create([{
                    'connection': offer['connection'].id,
                    'product': offer['product'].id,
                    'term': 1,
                    'start_date': offer['start_date'],
                    }])
        Line.activate([line])
        Line.stop([line], offer['end_date'] + dt.timedelta(days=1))
        return Line(line.id)

    def _charge(self):
        "Return the one-time charge of the purchase, made by the rating"
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        Date = pool.get('ir.date')
        line = self.line
        subscriber = self.subscriber
        rater = Rater(Date.today())
        values = list(rater.rate_line(
                subscriber, line, line.start_date, [], []))
        if not values:
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_not_charged',
                    offer=self.product.rec_name,
                    subscriber=subscriber.rec_name))
        values, = values
        values['description'] = self._charge_description(
            rater.lang(subscriber))
        values['currency'] = self.currency.id
        charge, = Charge.create([values])
        return charge

    def _charge_description(self, lang):
        "The bill's words: the title and when it may be watched"
        company = self.company
        start = format_when(self.window_start, company, lang)
        if self.kind == 'ppv':
            end = local(self.window_end, company)
            if end.date() == local(self.window_start, company).date():
                end = f'{end:%H:%M}'
            else:
                end = format_when(self.window_end, company, lang)
            return gettext(
                'rsoft_ppv.msg_charge_ppv',
                offer=self.product.name, start=start, end=end)
        return gettext(
            'rsoft_ppv.msg_charge_vod',
            offer=self.product.name,
            hours=self.product.template.vod_hours, start=start)

    def _pay_from_wallet(self):
        "Invoice the charge now and pay it from the wallet"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Wallet = pool.get('rsoft.wallet')
        Date = pool.get('ir.date')
        today = Date.today()
        wallet, = Wallet.get_wallets([self.subscriber])
        invoice, = Invoice.rsoft_invoice([self.charge], today)
        entry, = Wallet.debit([(wallet, invoice.total_amount, today,
                    self.charge.description, self)])
        self._settle(invoice, entry)
        self.wallet_entry = entry
        # What the invoice computed is what was paid
        self.untaxed_amount = invoice.untaxed_amount
        self.tax_amount = invoice.tax_amount
        self.total_amount = invoice.total_amount
        self.save()
        self._invoiced([invoice])

    @staticmethod
    def _settle(invoice, entry):
        "Reconcile invoice with the wallet entry that pays or refunds it"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        MoveLine = pool.get('account.move.line')
        MoveLine.reconcile(list(invoice.lines_to_pay) + [
                line for line in entry.move.lines
                if line.account == invoice.account])
        # Paid now, not when the queue gets to it
        Invoice.process([invoice])

    @classmethod
    def _invoiced(cls, invoices):
        "Called with the invoices posted for purchases outside bill runs"

    def _event(self, action, before, after):
        return {
            'subscriber': self.subscriber.id,
            'connection': self.connection.id,
            'line': self.line.id if self.line else None,
            'kind': 'subscription',
            'action': action,
            'before': before,
            'after': after,
            'description': gettext(
                f'rsoft_ppv.msg_event_{action}',
                purchase=self.rec_name,
                offer=self.product.rec_name,
                amount=format_money(self.total_amount, self.currency),
                payment=self.payment_string),
            }

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, purchases):
        """Cancel purchases before their window opens: the entitlement is
        cancelled (the CAS is commanded at commit) and the charge
        reversed, refunded to the wallet at once or credited on the next
        bill"""
        pool = Pool()
        Configuration = pool.get('rsoft.ppv.configuration')
        now = Configuration.now()
        for purchase in purchases:
            purchase.check_cancel(now)
        for purchase in purchases:
            with Transaction().set_context(company=purchase.company.id):
                with savepoint('rsoft_ppv_cancel'):
                    purchase._cancel(now)

    def check_cancel(self, now):
        if self.window_start <= now:
            raise CancelError(gettext(
                    'rsoft_ppv.msg_cancel_started',
                    purchase=self.rec_name,
                    start=format_when(self.window_start, self.company)))

    def _cancel(self, now):
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        Event = pool.get('rsoft.subscriber.event')
        Line.cancel([self.line])
        self.credit_charge = self._credit()
        self.cancelled_by = Transaction().user or None
        self.cancelled_at = now
        self.save()
        if self.payment == 'wallet':
            self._refund_to_wallet()
        Event.record([self._event('cancel', self.rec_name, None)])

    def _credit(self):
        "Return the credit of the charge, made by the rating"
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        Date = pool.get('ir.date')
        line = Pool().get('rsoft.subscription.line')(self.line.id)
        rater = Rater(Date.today())
        charged = Rater._charged([line]).get(line.id, [])
        values, = rater.rate_line(
            self.subscriber, line, line.start_date, charged, [])
        values['description'] = gettext(
            'rsoft_ppv.msg_charge_cancel',
            description=self.charge.description,
            purchase=self.rec_name)
        values['currency'] = self.currency.id
        credit, = Charge.create([values])
        return credit

    def _refund_to_wallet(self):
        "Invoice the credit now (a credit note) and refund the wallet"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Wallet = pool.get('rsoft.wallet')
        Date = pool.get('ir.date')
        today = Date.today()
        wallet, = Wallet.get_wallets([self.subscriber])
        credit_note, = Invoice.rsoft_invoice([self.credit_charge], today)
        entry, = Wallet.refund([(wallet, -credit_note.total_amount, today,
                    self.credit_charge.description, self)])
        self._settle(credit_note, entry)
        self.refund_entry = entry
        self.save()
        self._invoiced([credit_note])


class Line(metaclass=PoolMeta):
    __name__ = 'rsoft.subscription.line'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The line of a purchase is ended from its start, on the last day
        # of its window: cancelling the purchase before the window opens
        # cancels it, and the rating credits what it was charged. The
        # Cancel button stays for drafts only.
        cls._transitions |= {('ended', 'cancelled')}


class Subscriber(metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber'

    ppv_credit_limit = fields.Numeric(
        "Impulse Credit Limit", digits=MONEY_DIGITS,
        domain=['OR',
            ('ppv_credit_limit', '=', None),
            ('ppv_credit_limit', '>=', 0),
            ],
        help="What the account may owe for PPV events and VOD titles "
        "bought on credit, taxes included, until its next bill.\n"
        "Leave empty for the PPV configuration's limit (postpaid) or no "
        "credit at all (prepaid).")
    ppv_purchases = fields.One2Many(
        'rsoft.ppv.purchase', 'subscriber', "PPV and VOD Purchases",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'ppv_purchases'}

    @classmethod
    def copy(cls, subscribers, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('ppv_purchases')
        return super().copy(subscribers, default=default)


class WalletEntry(metaclass=PoolMeta):
    __name__ = 'rsoft.wallet.entry'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['rsoft.ppv.purchase']


class BuyStart(ModelView):
    "What the connection buys, and from what it pays"
    __name__ = 'rsoft.ppv.buy.start'
    __string__ = "Buy PPV or VOD"

    connection = fields.Many2One(
        'rsoft.connection', "Connection", readonly=True)
    product = fields.Many2One(
        'product.product', "Event or Title", required=True,
        domain=[
            ('template.rsoft_kind', 'in', list(VIDEO_KINDS)),
            ('template.offer_state', '=', 'published'),
            ])
    payment = fields.Selection(
        PAYMENTS, "Pay From", required=True,
        help="Wallet: paid now from the account's wallet.\n"
        "Next Bill: within the account's impulse credit limit.")


class Buy(Wizard):
    "Buy a PPV event or a VOD title for a connection"
    __name__ = 'rsoft.ppv.buy'

    start = StateView(
        'rsoft.ppv.buy.start', 'rsoft_ppv.buy_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Buy", 'buy', 'tryton-ok', default=True),
            ])
    buy = StateAction('rsoft_ppv.act_purchase_form')

    def _connection(self):
        """Return the connection the wizard was opened on

        Its action is bound to connections and Wizard.check_access made
        sure the user may read it."""
        if not self.model or self.model.__name__ != 'rsoft.connection':
            raise PurchaseError(gettext(
                    'rsoft_ppv.msg_buy_model',
                    model=self.model.__name__ if self.model else ''))
        return self.record

    def default_start(self, fields):
        connection = self._connection()
        prepaid = connection.subscriber.billing_mode == 'prepaid'
        return {
            'connection': connection.id,
            'payment': 'wallet' if prepaid else 'credit',
            }

    def do_buy(self, action):
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        purchase = Purchase.buy(self._connection(), self.start.product,
            self.start.payment, source='back_office')
        action['pyson_domain'] = PYSONEncoder().encode(
            [('id', '=', purchase.id)])
        action['views'].reverse()
        return action, {'res_id': [purchase.id]}
