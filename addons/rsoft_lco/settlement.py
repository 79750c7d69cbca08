"""The monthly settlement of a partner (LCO, joint venture) with the MSO

For each month, what the MSO owes a partner is its agreement share of what
was billed on the subscribers below it, less the share of the partners
below it (the waterfall MSO -> JV -> LCO), less what its collectors
received from subscribers and kept on the MSO's behalf. A partner on a
wallet paid the MSO's share when it sold (charging.py): its own
subscribers' charges are its revenue, and what the MSO collected on them
is owed back to it. One settlement per partner and month, posted as a
supplier invoice (the MSO pays) or credit note (the partner owes)."""
import datetime
from collections import defaultdict
from decimal import Decimal

from sql.operators import Equal

from trytond.i18n import gettext
from trytond.model import Exclude, ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_catalogue.common import (
    MONEY_DIGITS,
    RATE_DIGITS,
    format_date,
    format_rate,
)
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, PYSONEncoder
from trytond.transaction import Transaction
from trytond.wizard import Button, StateAction, StateView, Wizard

from .charging import share_kind
from .exceptions import SettlementError

STATES = [
    ('draft', "Draft"),
    ('posted', "Posted"),
    ('reversed', "Reversed"),
    ]
LINE_KINDS = [
    ('ncf', "NCF"),
    ('pay_channel', "Pay Channels"),
    ('hardware', "Hardware"),
    ('other', "Other Charges"),
    ('collection_kept', "Collections Kept"),
    ('collection_owed', "MSO Collections Owed"),
    ]
SHARE_KINDS = {'ncf', 'pay_channel', 'hardware', 'other'}
# The bill sections of each kind of line; the agreement share of a section
# is the one charging.share_kind gives (others: the pay channel share)
LINE_KIND_OF_SECTION = {
    'ncf': 'ncf',
    'alacarte': 'pay_channel',
    'bouquet': 'pay_channel',
    'hardware': 'hardware',
    }
# The money an LCO's collector holds in hand: it stays with the LCO
KEPT_KINDS = {'cash', 'cheque', 'upi'}
# The payments that brought money in
COLLECTED_STATES = ['received', 'deposited', 'cleared']
# The roles settled with the MSO
SETTLED_ROLES = ['jv', 'distributor', 'lco']
_DAY = datetime.timedelta(days=1)


def month_of(date):
    "Return the first and last days of the month of date"
    start = date.replace(day=1)
    end = (start + datetime.timedelta(days=32)).replace(day=1) - _DAY
    return start, end


class Settlement(SystemFieldsMixin, Workflow, ModelSQL, ModelView):
    "What the MSO and a partner owe each other for a month"
    __name__ = 'rsoft.lco.settlement'
    __string__ = "LCO Settlement"

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    partner = fields.Many2One(
        'rsoft.partner', "Partner", required=True, readonly=True,
        ondelete='RESTRICT',
        help="The LCO, distributor or joint venture settled.")
    period_start = fields.Date(
        "Period Start", required=True, readonly=True,
        help="The first day of the month settled.")
    period_end = fields.Date(
        "Period End", required=True, readonly=True,
        help="The last day of the month settled.")
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    wallet = fields.Boolean(
        "Paid from Wallet", readonly=True,
        help="The partner paid the MSO's share from its wallet when it "
        "sold: its own subscribers' charges are its revenue and the "
        "money the MSO collected on them is owed back to it.")
    lines = fields.One2Many(
        'rsoft.lco.settlement.line', 'settlement', "Lines", readonly=True)
    share_amount = Monetary(
        "Shares", currency='currency', digits='currency', readonly=True,
        help="The partner's shares of what was billed.")
    collection_amount = Monetary(
        "Collections", currency='currency', digits='currency',
        readonly=True,
        help="Negative: what the partner collected and kept for the MSO; "
        "positive: what the MSO collected for the partner.")
    net_amount = Monetary(
        "Net", currency='currency', digits='currency', readonly=True,
        help="Positive: the MSO pays the partner (supplier invoice); "
        "negative: the partner owes the MSO (supplier credit note).")
    invoice = fields.Many2One(
        'account.invoice', "Invoice", readonly=True, ondelete='RESTRICT',
        help="The supplier invoice or credit note that posted it.")
    reversal = fields.Many2One(
        'account.invoice', "Reversal", readonly=True, ondelete='RESTRICT',
        help="The document that cancelled the invoice.")
    state = fields.Selection(STATES, "State", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('partner_period_exclude',
                Exclude(t, (t.partner, Equal), (t.period_start, Equal),
                    where=t.state != 'reversed'),
                'rsoft_lco.msg_settlement_unique'),
            ]
        cls._system_fields |= {
            'company', 'partner', 'period_start', 'period_end', 'currency',
            'wallet', 'lines', 'share_amount', 'collection_amount',
            'net_amount', 'invoice', 'reversal', 'state'}
        cls._order = [
            ('period_start', 'DESC'), ('partner', 'ASC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'posted'),
            ('posted', 'reversed'),
            }
        cls._buttons.update({
                'post': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'reverse': {
                    'invisible': Eval('state') != 'posted',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_wallet(cls):
        return False

    def get_rec_name(self, name):
        return f'{self.partner.code} {self.period_start:%Y-%m}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('partner.rec_name', *clause[1:])]

    @classmethod
    def validate_fields(cls, settlements, field_names):
        super().validate_fields(settlements, field_names)
        # SQLite has no exclusion constraint
        if field_names & {'partner', 'period_start', 'state'}:
            for settlement in settlements:
                settlement.check_unique()

    def check_unique(self):
        if self.state == 'reversed':
            return
        others = self.search([
                ('id', '!=', self.id),
                ('partner', '=', self.partner.id),
                ('period_start', '=', self.period_start),
                ('state', '!=', 'reversed'),
                ], limit=1)
        if others:
            raise SettlementError(gettext(
                    'rsoft_lco.msg_settlement_unique'))

    @classmethod
    def check_modification(
            cls, mode, settlements, values=None, external=False):
        super().check_modification(
            mode, settlements, values=values, external=external)
        if mode == 'delete':
            for settlement in settlements:
                if settlement.state != 'draft':
                    raise SettlementError(gettext(
                            'rsoft_lco.msg_settlement_delete',
                            settlement=settlement.rec_name))

    @classmethod
    def copy(cls, settlements, default=None):
        if settlements:
            raise SettlementError(gettext('rsoft_lco.msg_settlement_copy'))
        return super().copy(settlements, default=default)

    @classmethod
    def settle(cls, partners, date):
        """Return the settlement of each partner for the month of date:
        the one it has unless reversed, else a new draft (none when there
        is nothing to settle)"""
        pool = Pool()
        Date = pool.get('ir.date')
        start, end = month_of(date)
        if end >= Date.today():
            raise SettlementError(gettext(
                    'rsoft_lco.msg_settlement_month_open',
                    month=format_date(start)))
        existing = {s.partner: s for s in cls.search([
                    ('partner', 'in', [p.id for p in partners]),
                    ('period_start', '=', start),
                    ('state', '!=', 'reversed'),
                    ])}
        settlements, new = [], []
        for partner in partners:
            if partner in existing:
                settlements.append(existing[partner])
                continue
            settlement = cls._compute(partner, start, end)
            if settlement:
                new.append(settlement)
                settlements.append(settlement)
        cls.save(new)
        return settlements

    @classmethod
    def settle_month(cls, date, company=None, post=False):
        """Settle the month of date for every partner of the company
        (cron-able) and return the settlements"""
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        company = company or Transaction().context.get('company')
        partners = Partner.search([
                ('company', '=', int(company)),
                ('role', 'in', SETTLED_ROLES),
                ], order=[('code', 'ASC')])
        settlements = cls.settle(partners, date)
        if post:
            cls.post([s for s in settlements if s.state == 'draft'])
        return settlements

    @classmethod
    def settle_last_month(cls):
        """Cron: settle the month before today for every partner of the
        company, as drafts the accounts check and post; a month settled
        already is left as it is"""
        pool = Pool()
        Date = pool.get('ir.date')
        company = Transaction().context.get('company')
        if company:
            return cls.settle_month(
                Date.today().replace(day=1) - _DAY, company)
        return []

    @classmethod
    def _compute(cls, partner, start, end):
        "Return the unsaved settlement of partner, None if nothing to settle"
        pool = Pool()
        Line = pool.get('rsoft.lco.settlement.line')
        currency = partner.company.currency
        settlement = cls(
            company=partner.company, partner=partner, currency=currency,
            period_start=start, period_end=end, wallet=partner.pays_mso,
            state='draft')
        lines = Line.shares(settlement) + Line.collections(settlement)
        if not lines:
            return None
        for sequence, line in enumerate(lines, 1):
            line.sequence = sequence
            line.amount = currency.round(line.amount)
        settlement.lines = lines
        settlement.share_amount = sum(
            (ln.amount for ln in lines if ln.kind in SHARE_KINDS),
            Decimal(0))
        settlement.collection_amount = sum(
            (ln.amount for ln in lines if ln.kind not in SHARE_KINDS),
            Decimal(0))
        settlement.net_amount = (
            settlement.share_amount + settlement.collection_amount)
        return settlement

    @classmethod
    @ModelView.button
    @Workflow.transition('posted')
    def post(cls, settlements):
        "Post the supplier invoice or credit note of the settlements"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoices = {}
        for settlement in settlements:
            if settlement.lines:
                invoices[settlement] = settlement._get_invoice()
        Invoice.save(list(invoices.values()))
        Invoice.post(list(invoices.values()))
        for settlement, invoice in invoices.items():
            settlement.invoice = invoice
        cls.save(settlements)

    def _get_invoice(self):
        "Return the unsaved supplier invoice of the settlement"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        with Transaction().set_context(company=self.company.id):
            invoice = Invoice(
                company=self.company, type='in', currency=self.currency,
                party=self.partner.party, invoice_date=self.period_end,
                reference=self.rec_name,
                description=gettext(
                    'rsoft_lco.msg_settlement_invoice_description',
                    settlement=self.rec_name))
            invoice.on_change_type()
            if not invoice.invoice_address:
                raise SettlementError(gettext(
                        'rsoft_lco.msg_settlement_no_address',
                        party=self.partner.party.rec_name))
            invoice.lines = [line._get_invoice_line() for line in self.lines]
        return invoice

    @classmethod
    @ModelView.button
    @Workflow.transition('reversed')
    def reverse(cls, settlements):
        """Cancel the invoices of the settlements by a credit note: the
        month may then be settled again"""
        pool = Pool()
        Date = pool.get('ir.date')
        Invoice = pool.get('account.invoice')
        with_invoice = [s for s in settlements if s.invoice]
        credits = Invoice.credit(
            [s.invoice for s in with_invoice], refund=True,
            invoice_date=Date.today())
        for settlement, credit in zip(with_invoice, credits):
            settlement.reversal = credit
        cls.save(settlements)


class Line(ModelSQL, ModelView):
    "One figure of a settlement, with how it was computed"
    __name__ = 'rsoft.lco.settlement.line'
    __string__ = "LCO Settlement Line"

    settlement = fields.Many2One(
        'rsoft.lco.settlement', "Settlement", required=True,
        ondelete='CASCADE', readonly=True)
    sequence = fields.Integer("Sequence", readonly=True)
    kind = fields.Selection(LINE_KINDS, "Kind", required=True, readonly=True)
    kind_string = kind.translated('kind')
    lco = fields.Many2One(
        'rsoft.partner', "Subscribers Of", readonly=True,
        ondelete='RESTRICT',
        help="The partner whose subscribers were billed or paid: the "
        "partner settled, or a partner below it for an override.")
    base = fields.Numeric(
        "Base", digits=MONEY_DIGITS, required=True, readonly=True,
        help="What was billed (before taxes, credits negative) or "
        "collected.")
    rate = fields.Numeric(
        "Rate", digits=RATE_DIGITS, required=True, readonly=True,
        help="The part of the base that is the partner's: its agreement "
        "share, less the share of the partner below it for an override; "
        "1 or -1 for collections.")
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        readonly=True,
        help="Positive: owed to the partner; negative: owed to the MSO.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    count = fields.Integer(
        "Count", readonly=True,
        help="The charges or payments added up.")
    description = fields.Char("Explanation", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('settlement')
        cls._order = [
            ('settlement', 'ASC'), ('sequence', 'ASC'), ('id', 'ASC')]

    def get_currency(self, name):
        return self.settlement.currency.id

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        # Only Settlement.settle writes them, with their settlement
        if external:
            raise SettlementError(gettext(
                    'rsoft_lco.msg_settlement_line_modify'))

    @classmethod
    def shares(cls, settlement):
        """Return the unsaved share lines of settlement: one per kind, rate
        and partner below whose subscribers were billed"""
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        Partner = pool.get('rsoft.partner')
        partner = settlement.partner
        subtree = Partner.search([
                ('parent', 'child_of', [partner.id]),
                ])
        charges = Charge.search([
                ('invoice_line.invoice.company', '=',
                    settlement.company.id),
                ('invoice_line.invoice.state', 'in', ['posted', 'paid']),
                ('invoice_line.invoice.rsoft_lco', 'in',
                    [p.id for p in subtree]),
                ('date_from', '>=', settlement.period_start),
                ('date_from', '<=', settlement.period_end),
                ], order=[('date_from', 'ASC'), ('id', 'ASC')])
        shares = _Shares()
        groups = defaultdict(list)
        for charge in charges:
            lco = charge.invoice_line.invoice.rsoft_lco
            # A wallet paid the MSO's share of its subscribers at sale
            if lco == partner and settlement.wallet:
                continue
            below = _below(partner, lco)
            kind = share_kind(charge.section)
            share = shares.get(partner, kind, charge.date_from)
            below_share = (shares.get(below, kind, charge.date_from)
                if below else Decimal(0))
            line_kind = LINE_KIND_OF_SECTION.get(charge.section, 'other')
            key = (line_kind, lco, share, below, below_share)
            groups[key].append(charge)
        return [cls._share_line(settlement, *key, charges)
            for key, charges in sorted(groups.items(), key=_group_order)]

    @classmethod
    def _share_line(
            cls, settlement, kind, lco, share, below, below_share, charges):
        base = sum((c.amount for c in charges), Decimal(0))
        rate = share - below_share
        line = cls(
            kind=kind, lco=lco, base=base, rate=rate,
            amount=base * rate, count=len(charges))
        kind_string = line.kind_string
        # The service periods of the charges
        start = format_date(min(c.date_from for c in charges))
        end = format_date(max(c.date_to for c in charges))
        accounts = len({c.subscriber for c in charges})
        if below:
            description = gettext(
                'rsoft_lco.msg_settlement_override',
                rate=format_rate(rate), share=format_rate(share),
                below_share=format_rate(below_share), below=below.code,
                kind=kind_string, start=start, end=end, accounts=accounts,
                lco=lco.code)
        else:
            description = gettext(
                'rsoft_lco.msg_settlement_share',
                rate=format_rate(rate), kind=kind_string, start=start,
                end=end, accounts=accounts)
        line.description = description
        return line

    @classmethod
    def collections(cls, settlement):
        """Return the unsaved collection lines of settlement: what its
        collectors kept for the MSO, or for a partner on a wallet what
        the MSO collected on its subscribers"""
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        partner = settlement.partner
        domain = [
            ('company', '=', settlement.company.id),
            ('date', '>=', settlement.period_start),
            ('date', '<=', settlement.period_end),
            ('state', 'in', COLLECTED_STATES),
            ]
        kept = Payment.search(domain + [
                ('collector.lco', '=', partner.id),
                ('method.kind', 'in', list(KEPT_KINDS)),
                ])
        if not settlement.wallet:
            if not kept:
                return []
            return [cls._collection_line(
                    settlement, 'collection_kept', kept, Decimal(-1))]
        owed = Payment.search(domain + [
                ('lco', '=', partner.id),
                ('id', 'not in', [p.id for p in kept]),
                ])
        if not owed:
            return []
        return [cls._collection_line(
                settlement, 'collection_owed', owed, Decimal(1))]

    @classmethod
    def _collection_line(cls, settlement, kind, payments, rate):
        base = sum((p.amount for p in payments), Decimal(0))
        description = gettext(
            f'rsoft_lco.msg_settlement_{kind}',
            count=len(payments),
            start=format_date(settlement.period_start),
            end=format_date(settlement.period_end))
        return cls(
            kind=kind, lco=settlement.partner, base=base, rate=rate,
            amount=base * rate, count=len(payments),
            description=description)

    def _get_invoice_line(self):
        "Return the unsaved line of the supplier invoice"
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        return InvoiceLine(
            type='line', quantity=1, unit_price=self.amount,
            account=self._get_account(), description=self.description,
            origin=self)

    def _get_account(self):
        pool = Pool()
        Configuration = pool.get('rsoft.wallet.configuration')
        settlement = self.settlement
        name = ('lco_collection_account' if self.kind == 'collection_kept'
            else 'lco_share_account')
        account = Configuration(1).get_multivalue(
            name, company=settlement.company.id)
        if not account:
            raise SettlementError(gettext(
                    'rsoft_lco.msg_settlement_no_account',
                    account=Configuration.__names__(name)['field']))
        return account


class _Shares:
    "The agreement shares of the partners, by kind and date, read once"

    def __init__(self):
        self._cache = {}

    def get(self, partner, kind, date):
        key = (partner, kind, date)
        if key not in self._cache:
            self._cache[key] = partner.get_share(kind, date)
        return self._cache[key]


def _below(partner, lco):
    "Return the child of partner on the way down to lco, None if the same"
    if lco == partner:
        return None
    child = lco
    while child.parent != partner:
        child = child.parent
    return child


def _group_order(item):
    (kind, lco, *_), charges = item
    kinds = [k for k, _ in LINE_KINDS]
    return (kinds.index(kind), lco.code, charges[0].date_from)


class Configuration(metaclass=PoolMeta):
    __name__ = 'rsoft.wallet.configuration'

    lco_share_account = fields.MultiValue(fields.Many2One(
            'account.account', "LCO Share Account",
            domain=[
                ('closed', '!=', True),
                ['OR',
                    ('type.expense', '=', True),
                    ('type.debt', '=', True),
                    ],
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="The expense account of the partners' shares in the "
            "monthly settlements."))
    lco_collection_account = fields.MultiValue(fields.Many2One(
            'account.account', "LCO Collections Account",
            domain=[
                ('closed', '!=', True),
                ['OR',
                    ('type.expense', '=', True),
                    ('type.debt', '=', True),
                    ],
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="The clearing account (a debt type) of the money the "
            "LCOs' collectors received and kept: the settlements credit "
            "it; the treasury moves there what those receipts put on the "
            "methods' accounts."))

    @classmethod
    def multivalue_model(cls, field):
        pool = Pool()
        if field in {'lco_share_account', 'lco_collection_account'}:
            return pool.get('rsoft.wallet.configuration.account')
        return super().multivalue_model(field)


class ConfigurationAccount(metaclass=PoolMeta):
    __name__ = 'rsoft.wallet.configuration.account'

    lco_share_account = fields.Many2One(
        'account.account', "LCO Share Account",
        domain=[
            ('closed', '!=', True),
            ['OR',
                ('type.expense', '=', True),
                ('type.debt', '=', True),
                ],
            ('company', '=', Eval('company', -1)),
            ])
    lco_collection_account = fields.Many2One(
        'account.account', "LCO Collections Account",
        domain=[
            ('closed', '!=', True),
            ['OR',
                ('type.expense', '=', True),
                ('type.debt', '=', True),
                ],
            ('company', '=', Eval('company', -1)),
            ])


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['rsoft.lco.settlement.line']


class SettleStart(ModelView):
    "Settle a month"
    __name__ = 'rsoft.lco.settle.start'

    date = fields.Date(
        "Month", required=True,
        help="Any day of the month to settle.")
    post = fields.Boolean(
        "Post", help="Post the new settlements at once.")

    @classmethod
    def default_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Date.today().replace(day=1) - _DAY


class Settle(Wizard):
    "Settle a month with every partner"
    __name__ = 'rsoft.lco.settle'

    start = StateView('rsoft.lco.settle.start',
        'rsoft_lco.settle_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Settle", 'settle', 'tryton-ok', default=True),
            ])
    settle = StateAction('rsoft_lco.act_settlement_form')

    def do_settle(self, action):
        pool = Pool()
        Settlement = pool.get('rsoft.lco.settlement')
        settlements = Settlement.settle_month(
            self.start.date, post=self.start.post)
        action['pyson_domain'] = PYSONEncoder().encode(
            [('id', 'in', [s.id for s in settlements])])
        return action, {}
