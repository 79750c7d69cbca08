"""Partner revenue: for each partner and month, its subscribers, what
they were billed and paid, the partner's share, its settlement and its
wallet, with the partners below it (a joint venture with its LCOs)

Everything is summed by the database in one query: each source table is
read once, grouped by partner and month, then the partners' sums are
rolled up to the partners above them. No loop runs over subscribers."""
import datetime as dt

from sql import Cast, Column, Literal, Null, Select, Union
from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Round

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_partner.partner import ROLES
from trytond.modules.rsoft_toolkit.guard import (
    ReportAmountsMixin,
    ReportQueryMixin,
)
from trytond.modules.rsoft_toolkit.sheet import RecordSheet
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import RevenueError

# The roles a row is listed for: those settled with the MSO
ROW_ROLES = ['jv', 'distributor', 'lco']
# MSO -> JV -> distributor -> LCO: a partner has at most 3 above it
DEPTH = 3
# A longer period is refused: its query would compare every date with
# as many month ends
MAX_MONTHS = 36
# The figures summed by partner and month, each read in one source
FLOWS = ['new', 'churned', 'billed', 'billed_total', 'share', 'mso_share',
    'collected', 'top_up', 'debit', 'refund', 'reversal', 'settlement']
# The changes summed from the first day on: the figure at month end
STOCKS = {
    'subscribers': 'subscribers_delta',
    'outstanding': 'outstanding_delta',
    'wallet_balance': 'wallet_delta',
    }
COLUMNS = FLOWS + list(STOCKS.values())
# The payments that brought money in, then reversed on their reversal day
COLLECTED_STATES = ['received', 'deposited', 'cleared', 'bounced',
    'reversed']
BILLED_STATES = ['posted', 'paid']


def _today():
    return Pool().get('ir.date').today()


def month_range(date):
    "Return the first and the last day of the month of date"
    first = date.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(1)
    return first, last


def months_between(from_month, to_month):
    "Return (key, first day, last day) of each month from one to the other"
    months = []
    first, _ = month_range(from_month)
    while first <= to_month:
        _, last = month_range(first)
        months.append((first.year * 100 + first.month, first, last))
        first = last + dt.timedelta(1)
    return months


def _shift_months(date, count):
    "Return the first day of the month count months after date's"
    index = date.year * 12 + date.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


class _RevenueContextMixin:
    __slots__ = ()

    company = fields.Many2One('company.company', "Company", required=True)
    from_month = fields.Date(
        "From Month", required=True,
        domain=[('from_month', '<=', Eval('to_month'))],
        help="Any day of the first month listed.")
    to_month = fields.Date(
        "To Month", required=True,
        domain=[('to_month', '>=', Eval('from_month'))],
        help="Any day of the last month listed.")
    jv = fields.Many2One(
        'rsoft.partner', "Joint Venture",
        domain=[
            ('role', '=', 'jv'),
            ('company', '=', Eval('company', -1)),
            ],
        help="List the joint venture and the partners below it.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_to_month(cls):
        return Transaction().context.get('to_month') or _today()

    @classmethod
    def default_jv(cls):
        return Transaction().context.get('jv')


class RevenueContext(_RevenueContextMixin, ModelView):
    "The months and partners the revenue is listed for"
    __name__ = 'rsoft.lco.revenue.context'
    __string__ = "Partner Revenue Context"

    partner = fields.Many2One(
        'rsoft.partner', "Partner",
        domain=[
            ('role', 'in', ROW_ROLES),
            ('company', '=', Eval('company', -1)),
            ],
        help="List this partner alone, with the partners below it "
        "summed in.")

    @classmethod
    def default_from_month(cls):
        return Transaction().context.get('from_month') or _today()

    @classmethod
    def default_partner(cls):
        return Transaction().context.get('partner')


class RevenueGraphContext(_RevenueContextMixin, ModelView):
    "The partner whose last twelve months are drawn"
    __name__ = 'rsoft.lco.revenue.graph.context'
    __string__ = "Partner Revenue Graph Context"

    partner = fields.Many2One(
        'rsoft.partner', "Partner",
        domain=[
            ('role', 'in', ROW_ROLES),
            ('company', '=', Eval('company', -1)),
            ],
        help="Draw this partner alone, with the partners below it summed "
        "in; leave empty to draw the whole network.")

    @classmethod
    def default_from_month(cls):
        return (Transaction().context.get('from_month')
            or _shift_months(_today(), -11))

    @classmethod
    def default_partner(cls):
        pool = Pool()
        User = pool.get('res.user')
        partner = Transaction().context.get('partner')
        if partner is None:
            # A partner's login draws its own figures
            user = User(Transaction().user)
            if user.rsoft_partner and user.rsoft_partner.role in ROW_ROLES:
                partner = user.rsoft_partner.id
        return partner


class Revenue(ReportAmountsMixin, ReportQueryMixin, ModelSQL, ModelView):
    """The subscribers, bills, payments, share, settlement and wallet of a
    partner in a month, the partners below it summed in"""
    __name__ = 'rsoft.lco.revenue'
    __string__ = "Partner Revenue"

    company = fields.Many2One('company.company', "Company")
    month = fields.Date("Month", help="The first day of the month.")
    partner = fields.Many2One(
        'rsoft.partner', "Partner",
        help="The LCO, distributor or joint venture; its figures include "
        "those of the partners below it.")
    parent = fields.Many2One(
        'rsoft.partner', "Parent",
        help="The partner above it, whose figures include its own.")
    role = fields.Selection(ROLES, "Role")
    top = fields.Boolean(
        "Top",
        help="The rows that add up to the whole of what is listed, each "
        "subscriber once: the partner or joint venture chosen, else the "
        "login's own partner, else the partners right under the MSO.")
    subscribers = fields.Integer(
        "Subscribers",
        help="The accounts activated by the month's last day and not "
        "terminated by then; suspended accounts count.")
    new = fields.Integer(
        "New", help="The accounts activated in the month.")
    churned = fields.Integer(
        "Churned", help="The accounts terminated in the month.")
    billed = Monetary(
        "Billed", currency='currency', digits='currency',
        help="The bills and credit notes dated in the month, before taxes "
        "(credit notes deducted).")
    billed_total = Monetary(
        "Billed with Taxes", currency='currency', digits='currency',
        help="The bills and credit notes dated in the month, taxes "
        "included.")
    share = Monetary(
        "Partner Share", currency='currency', digits='currency',
        help="What the partner keeps of the charges on the bills dated in "
        "the month: each charge times the partner's agreement share of its "
        "kind (NCF, pay channel, hardware) on the charge's first day, the "
        "configured default without agreement. For a joint venture, its "
        "share of its LCOs' charges too: what it passes on to them "
        "included.")
    mso_share = Monetary(
        "MSO Share", currency='currency', digits='currency',
        help="What the MSO keeps of the same charges: the charges less the "
        "partner's share, rounded per charge as the wallets are debited.")
    collected = Monetary(
        "Collected", currency='currency', digits='currency',
        help="The payments received in the month, less the payments "
        "reversed in the month (bounced cheques, reversed receipts).")
    outstanding = Monetary(
        "Outstanding", currency='currency', digits='currency',
        help="What the accounts owed at the month's last day: all their "
        "bills and credit notes up to that day, taxes included, less all "
        "their payments received up to that day (a reversed payment "
        "counts again from its reversal day). An advance paid ahead of the "
        "bills lowers it: it may be negative. Bills count for the LCO "
        "that billed them, payments for the LCO they were received for.")
    settlement = Monetary(
        "Settlement", currency='currency', digits='currency',
        help="The net of the month's settlements (draft or posted, not "
        "reversed): positive, the MSO pays the partner; negative, the "
        "partner owes the MSO.")
    top_up = Monetary(
        "Wallet Top-ups", currency='currency', digits='currency',
        help="The money paid into the partner's wallet in the month.")
    debit = Monetary(
        "Wallet Debits", currency='currency', digits='currency',
        help="What the partner's wallet paid the MSO in the month.")
    refund = Monetary(
        "Wallet Refunds", currency='currency', digits='currency',
        help="What the MSO gave back to the wallet in the month (credit "
        "notes).")
    reversal = Monetary(
        "Wallet Reversals", currency='currency', digits='currency',
        help="The wallet entries of the month that cancel earlier ones: "
        "negative when a top-up was reversed.")
    wallet_balance = Monetary(
        "Wallet Balance", currency='currency', digits='currency',
        help="The balance of the partner's wallet at the month's last day.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('month', 'DESC'), ('partner', 'ASC'), ('id', 'ASC')]

    @classmethod
    def get_months(cls):
        "Return (key, first day, last day) of the months of the context"
        context = Transaction().context
        today = _today()
        from_month = context.get('from_month') or today
        to_month = context.get('to_month') or today
        months = months_between(from_month, to_month)
        if len(months) > MAX_MONTHS:
            raise RevenueError(gettext(
                    'rsoft_lco.msg_revenue_too_many_months',
                    months=len(months), maximum=MAX_MONTHS))
        return months

    @classmethod
    def table_query(cls):
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        context = Transaction().context
        company = context.get('company') or -1
        months = cls.get_months()
        scope = cls._scope_query(company)
        rolled = cls._rolled_query(company, months, scope)
        month = Union(*(Select([
                        Literal(key).as_('key'),
                        Literal(first).as_('first'),
                        ]) for key, first, _ in months), all_=True)
        partner = Partner.__table__()
        flows = [Coalesce(Sum(Case((rolled.key == month.key,
                            Column(rolled, n)), else_=0)), 0).as_(n)
            for n in FLOWS]
        stocks = [Coalesce(Sum(Column(rolled, d)), 0).as_(n)
            for n, d in STOCKS.items()]
        # Every partner has a row for every month, if only of zeros
        return (month
            .join(partner, 'CROSS')
            .join(rolled, 'LEFT',
                condition=(rolled.partner == partner.id)
                & (rolled.key <= month.key))
            .select(
                # A row is a partner in a month: both make its id
                (Cast(partner.id, 'BIGINT') * 1000000 + month.key).as_('id'),
                partner.company.as_('company'),
                month.first.as_('month'),
                partner.id.as_('partner'),
                partner.parent.as_('parent'),
                partner.role.as_('role'),
                cls._top_column(partner, scope).as_('top'),
                *flows, *stocks,
                where=cls._rows_where(partner, scope),
                group_by=[partner.id, partner.company, partner.parent,
                    partner.role, month.key, month.first]))

    @classmethod
    def _rows_where(cls, partner, scope):
        context = Transaction().context
        where = ((partner.company == (context.get('company') or -1))
            & partner.role.in_(ROW_ROLES))
        if context.get('partner'):
            where &= partner.id == context['partner']
        if context.get('jv'):
            where &= partner.id.in_(scope.select(scope.member,
                    where=scope.ancestor == context['jv']))
        return where

    @classmethod
    def _top_column(cls, partner, scope):
        "Tell if the row is one of those that add up to the whole list"
        pool = Pool()
        User = pool.get('res.user')
        Partner = pool.get('rsoft.partner')
        context = Transaction().context
        chosen = context.get('partner') or context.get('jv')
        if not chosen:
            user = User(Transaction().user)
            if user.rsoft_partner and user.rsoft_partner.role in ROW_ROLES:
                chosen = user.rsoft_partner.id
        if chosen:
            return partner.id == chosen
        parent = Partner.__table__()
        return partner.parent.in_(parent.select(
                parent.id, where=parent.role == 'mso'))

    @classmethod
    def _scope_query(cls, company):
        """Return the pairs (ancestor, member): each partner with itself and
        with every partner above it"""
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        member = Partner.__table__()
        queries = [member.select(
                member.id.as_('ancestor'), member.id.as_('member'),
                where=member.company == company)]
        tables, above = member, member
        for _ in range(DEPTH):
            parent = Partner.__table__()
            tables = tables.join(parent, condition=above.parent == parent.id)
            queries.append(tables.select(
                    parent.id.as_('ancestor'), member.id.as_('member'),
                    where=member.company == company))
            above = parent
        return Union(*queries, all_=True)

    @classmethod
    def _rolled_query(cls, company, months, scope):
        """Return the sums of each partner and month key, the partners
        below it included; key 0 sums what came before the first month"""
        facts = Union(*cls._fact_queries(company, months), all_=True)
        rolled = (facts
            .join(scope, condition=scope.member == facts.partner)
            .select(
                scope.ancestor.as_('partner'),
                facts.key.as_('key'),
                *(Sum(Column(facts, n)).as_(n) for n in COLUMNS),
                group_by=[scope.ancestor, facts.key]))
        # The shares are of the ancestor's agreement: rolled up already
        shares = cls._share_query(company, months, scope)
        return Union(rolled, shares, all_=True)

    @classmethod
    def _fact_queries(cls, company, months):
        "Yield the queries of the sums of each partner and month key"
        yield from cls._subscriber_queries(company, months)
        yield cls._invoice_query(company, months)
        yield from cls._payment_queries(company, months)
        yield cls._wallet_query(company, months)
        settlement = cls._settlement_query(company, months)
        if settlement is not None:
            yield settlement

    @staticmethod
    def _bucket(date, months):
        """Return the key of the month of date, 0 before the first

        Date arithmetic differs between databases: the months are bounded
        by days computed here, which both compare alike."""
        first = months[0][1]
        return Case((date < first, 0),
            *((date <= last, key) for key, _, last in months),
            else_=Null)

    @staticmethod
    def _select(table, partner, key, where, **values):
        """Return the sums of values by partner and month key, 0 for the
        columns not in values

        The rows are keyed in a subquery: PostgreSQL groups by a column,
        not by an expression whose dates are parameters."""
        rows = table.select(
            partner.as_('partner'), key.as_('key'),
            *(v.as_(n) for n, v in values.items()),
            where=where)
        return rows.select(
            rows.partner, rows.key,
            *(Sum(Column(rows, n) if n in values else Literal(0)).as_(n)
                for n in COLUMNS),
            group_by=[rows.partner, rows.key])

    @classmethod
    def _subscriber_queries(cls, company, months):
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        last = months[-1][2]
        for column, name, sign in [
                ('activation_date', 'new', 1),
                ('termination_date', 'churned', -1)]:
            subscriber = Subscriber.__table__()
            date = Column(subscriber, column)
            yield cls._select(subscriber, subscriber.lco,
                cls._bucket(date, months),
                (subscriber.company == company) & (date != Null)
                & (date <= last),
                **{name: Literal(1), 'subscribers_delta': Literal(sign)})

    @classmethod
    def _invoice_query(cls, company, months):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoice = Invoice.__table__()
        return cls._select(invoice, invoice.rsoft_lco,
            cls._bucket(invoice.invoice_date, months),
            cls._billed_where(invoice, company)
            & (invoice.invoice_date <= months[-1][2]),
            billed=invoice.untaxed_amount_cache,
            billed_total=invoice.total_amount_cache,
            outstanding_delta=invoice.total_amount_cache)

    @staticmethod
    def _billed_where(invoice, company):
        return ((invoice.company == company)
            & (invoice.type == 'out')
            & invoice.state.in_(BILLED_STATES)
            & (invoice.rsoft_lco != Null))

    @classmethod
    def _payment_queries(cls, company, months):
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        last = months[-1][2]
        for column, sign in [('date', 1), ('reversal_date', -1)]:
            payment = Payment.__table__()
            date = Column(payment, column)
            amount = payment.amount
            yield cls._select(payment, payment.lco,
                cls._bucket(date, months),
                (payment.company == company)
                & payment.state.in_(COLLECTED_STATES)
                & (payment.lco != Null) & (date != Null) & (date <= last),
                collected=amount * sign,
                outstanding_delta=amount * -sign)

    @classmethod
    def _wallet_query(cls, company, months):
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        Entry = pool.get('rsoft.wallet.entry')
        wallet = Wallet.__table__()
        entry = Entry.__table__()

        def of_kind(kind, sign=1):
            return Case((entry.kind == kind, entry.amount * sign), else_=0)
        return cls._select(
            entry.join(wallet, condition=entry.wallet == wallet.id),
            wallet.partner, cls._bucket(entry.date, months),
            (wallet.company == company) & (wallet.partner != Null)
            & (entry.date <= months[-1][2]),
            top_up=of_kind('top_up'),
            debit=of_kind('debit', -1),
            refund=of_kind('refund'),
            reversal=of_kind('reversal'),
            wallet_delta=entry.amount)

    @classmethod
    def _settlement_query(cls, company, months):
        "The net of the settlements of each partner and month, if settled"
        pool = Pool()
        try:
            Settlement = pool.get('rsoft.lco.settlement')
        except KeyError:
            # The settlements are not installed in this database
            return None
        settlement = Settlement.__table__()
        return cls._select(settlement, settlement.partner,
            cls._bucket(settlement.period_start, months),
            (settlement.company == company)
            & (settlement.state != 'reversed')
            & (settlement.period_start >= months[0][1])
            & (settlement.period_start <= months[-1][2]),
            settlement=settlement.net_amount)

    @classmethod
    def _share_query(cls, company, months, scope):
        """Return the shares of each partner and month key: the charges of
        the bills of the partner and of those below it, each times the
        partner's agreement share of its kind on the charge's first day
        (Partner.get_share, as charging.lco_price rounds it)"""
        pool = Pool()
        Agreement = pool.get('rsoft.partner.agreement')
        Charge = pool.get('rsoft.billing.charge')
        Company = pool.get('company.company')
        Configuration = pool.get('rsoft.partner.configuration')
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        charge = Charge.__table__()
        line = InvoiceLine.__table__()
        invoice = Invoice.__table__()
        agreement = Agreement.__table__()
        digits = Company(company).currency.digits if company > 0 else 2
        config = Configuration(1)

        def rate(kind):
            return Coalesce(Column(agreement, f'{kind}_share'),
                config.get_default_share(kind))
        # charging.share_kind in SQL
        share_rate = Case(
            (charge.section == 'ncf', rate('ncf')),
            (charge.section == 'hardware', rate('hardware')),
            else_=rate('pay_channel'))
        mso_share = Round(charge.amount * (Literal(1) - share_rate), digits)
        tables = (charge
            .join(line, condition=charge.invoice_line == line.id)
            .join(invoice, condition=line.invoice == invoice.id)
            .join(scope, condition=scope.member == invoice.rsoft_lco)
            .join(agreement, 'LEFT',
                condition=(agreement.partner == scope.ancestor)
                & (agreement.start_date <= charge.date_from)
                & ((agreement.end_date == Null)
                    | (agreement.end_date >= charge.date_from))))
        return cls._select(tables, scope.ancestor,
            cls._bucket(invoice.invoice_date, months),
            cls._billed_where(invoice, company)
            & (invoice.invoice_date >= months[0][1])
            & (invoice.invoice_date <= months[-1][2]),
            share=charge.amount - mso_share,
            mso_share=mso_share)

    def get_currency(self, name):
        return self.company.currency.id


class RevenueSheet(RecordSheet):
    "The partner revenue as a spreadsheet"
    __name__ = 'rsoft.lco.revenue.xlsx'
    columns = [
        ('month', 10),
        ('partner', 28),
        ('role', 12),
        ('subscribers', 11),
        ('new', 8),
        ('churned', 8),
        ('billed', 14),
        ('billed_total', 14),
        ('share', 14),
        ('mso_share', 14),
        ('collected', 14),
        ('outstanding', 14),
        ('settlement', 14),
        ('top_up', 14),
        ('debit', 14),
        ('refund', 14),
        ('reversal', 14),
        ('wallet_balance', 14),
        ]

    @classmethod
    def sheet_title(cls, name):
        months = Pool().get('rsoft.lco.revenue').get_months()
        to_date = months[-1][2]
        return cls.period_title(name, months[0][1], to_date), to_date

    @classmethod
    def sheet_records(cls, Model, ids, data):
        # The months in order, each partner under the partner above it
        records = super().sheet_records(Model, ids, data)
        return sorted(records, key=lambda r: (
                r.month, _group_code(r), r.role != 'jv', r.partner.code))


def _group_code(row):
    "Return the code of the joint venture of the row, else its partner's"
    if row.role != 'jv' and row.parent and row.parent.role == 'jv':
        return row.parent.code
    return row.partner.code


class Subscriber(metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The partner revenue counts the activations and terminations of
        # each LCO without reading the accounts themselves
        cls._sql_indexes.update({
                Index(t, (t.lco, Index.Equality()),
                    (t.activation_date, Index.Range()),
                    where=t.activation_date != Null),
                Index(t, (t.lco, Index.Equality()),
                    (t.termination_date, Index.Range()),
                    where=t.termination_date != Null),
                })


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The partner revenue sums the bills of each LCO by month
        cls._sql_indexes.add(
            Index(t, (t.rsoft_lco, Index.Equality()),
                (t.invoice_date, Index.Range()),
                where=t.rsoft_lco != Null))


class Charge(metaclass=PoolMeta):
    __name__ = 'rsoft.billing.charge'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The partner revenue reads the charges of the bills of a month
        cls._sql_indexes.add(
            Index(t, (t.invoice_line, Index.Range()),
                where=t.invoice_line != Null))


class Payment(metaclass=PoolMeta):
    __name__ = 'rsoft.payment'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The partner revenue deducts the reversals of each LCO by month
        cls._sql_indexes.add(
            Index(t, (t.lco, Index.Equality()),
                (t.reversal_date, Index.Range()),
                where=t.reversal_date != Null))
