"""Collections: the daily cash-up, the outstanding by LCO, their
spreadsheets and the import of bank and gateway settlement files"""
import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from sql import Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_toolkit import reader
from trytond.modules.rsoft_toolkit.guard import (
    ReportAmountsMixin,
    ReportQueryMixin,
)
from trytond.modules.rsoft_toolkit.sheet import RecordSheet
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import (
    Button,
    StateAction,
    StateTransition,
    StateView,
    Wizard,
)

from .exceptions import PaymentError
from .payment import HELD_KINDS, KINDS, check_system_record

# The buckets of days past due, earliest first: field name and most days
AGES = [
    ('days_30', 30),
    ('days_60', 60),
    ('days_90', 90),
    ('over_90', None),
    ]
# The names banks and gateways give the columns, as the reader compares
# them; the first names the column in errors
COLUMNS = {
    'customer_id': ('customer id', 'customer', 'cust id', 'customer no',
        'customer number', 'subscriber id', 'account', 'account id'),
    'reference': ('reference', 'ref', 'contract', 'contract number',
        'caf', 'caf number', 'receipt', 'receipt number'),
    'amount': ('amount', 'amt', 'paid amount', 'credit amount',
        'settled amount'),
    'date': ('date', 'payment date', 'value date', 'txn date',
        'transaction date', 'settlement date'),
    'external_id': ('external id', 'utr', 'utr number', 'payment id',
        'transaction id', 'txn id', 'bank reference', 'rrn'),
    'mode': ('mode', 'payment mode', 'method', 'payment method'),
    'currency': ('currency', 'ccy', 'currency code'),
    }
# The day comes first in Indian bank files
DATE_FORMATS = ['%Y-%m-%d', '%d/%m/%Y', '%d-%m-%Y', '%d.%m.%Y',
    '%Y-%m-%d %H:%M:%S']
SETTLEMENT_STATES = [
    ('draft', "Draft"),
    ('done', "Done"),
    ('refused', "Refused"),
    ]


def _today():
    return Pool().get('ir.date').today()


class CashUpContext(ModelView):
    "The days, collector and LCO a cash-up is made for"
    __name__ = 'rsoft.collection.cash_up.context'
    __string__ = "Cash-up Context"

    company = fields.Many2One('company.company', "Company", required=True)
    from_date = fields.Date(
        "From Date", required=True,
        domain=[('from_date', '<=', Eval('to_date'))],
        help="The first day of the payments counted.")
    to_date = fields.Date(
        "To Date", required=True,
        domain=[('to_date', '>=', Eval('from_date'))],
        help="The last day of the payments counted.")
    as_of = fields.Date(
        "Deposited By", required=True,
        help="The deposits and reversals made up to this day are counted; "
        "the cash and cheques still held then are missing.")
    collector = fields.Many2One(
        'rsoft.payment.collector', "Collector",
        domain=[('company', '=', Eval('company', -1))])
    lco = fields.Many2One(
        'rsoft.partner', "LCO",
        domain=[
            ('role', '=', 'lco'),
            ('company', '=', Eval('company', -1)),
            ])

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_from_date(cls):
        return Transaction().context.get('from_date') or _today()

    @classmethod
    def default_to_date(cls):
        return Transaction().context.get('to_date') or _today()

    @classmethod
    def default_as_of(cls):
        return Transaction().context.get('as_of') or _today()

    @classmethod
    def default_collector(cls):
        return Transaction().context.get('collector')

    @classmethod
    def default_lco(cls):
        return Transaction().context.get('lco')


class _CashUpMixin(ReportAmountsMixin):
    """The payments received on a day, split by what became of the money:

    collected = electronic + deposited + missing + reversed

    - electronic: card, UPI, gateway, bank payments, which need no deposit;
    - deposited: cash and cheques deposited by the "Deposited By" day
      (even if a cheque bounced after);
    - reversed: payments reversed by that day without being deposited;
    - missing: cash and cheques the collector still holds that day."""
    __slots__ = ()

    date = fields.Date("Date")
    company = fields.Many2One('company.company', "Company")
    lco = fields.Many2One(
        'rsoft.partner', "LCO",
        help="The LCO of the accounts that paid.")
    kind = fields.Selection(KINDS, "Mode")
    count = fields.Integer("Receipts")
    collected = Monetary(
        "Collected", currency='currency', digits='currency',
        help="The amount of the receipts issued.")
    electronic = Monetary(
        "Electronic", currency='currency', digits='currency',
        help="Collected by card, UPI, gateway or bank: nothing to deposit.")
    deposited = Monetary(
        "Deposited", currency='currency', digits='currency',
        help="The cash and cheques deposited by the \"Deposited By\" day.")
    missing = Monetary(
        "Missing", currency='currency', digits='currency',
        help="The cash and cheques not deposited by the \"Deposited By\" "
        "day.")
    reversed = Monetary(
        "Reversed", currency='currency', digits='currency',
        help="The receipts reversed before being deposited.")
    balanced = fields.Function(
        fields.Boolean(
            "Balanced",
            help="Nothing collected is missing: every receipt was "
            "deposited, paid electronically or reversed."),
        'get_balanced')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('lco', 'ASC'), ('kind', 'ASC'),
            ('id', 'ASC')]

    @classmethod
    def _group_by(cls, payment, method):
        return [payment.date, payment.company, payment.lco, method.kind]

    @classmethod
    def table_query(cls):
        # Splitting the amounts by what became of them is beyond the ORM
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        Method = pool.get('rsoft.payment.method')
        payment = Payment.__table__()
        method = Method.__table__()
        context = Transaction().context
        today = _today()
        as_of = context.get('as_of') or today

        held = method.kind.in_(list(HELD_KINDS))
        deposited = (held & (payment.deposit_date != Null)
            & (payment.deposit_date <= as_of))
        reversed_ = ((payment.reversal_date != Null)
            & (payment.reversal_date <= as_of))
        amount = payment.amount
        # A case takes its first true condition: each amount counts once
        columns = {
            'deposited': Case((deposited, amount), else_=0),
            'reversed': Case(
                (deposited, 0), (reversed_, amount), else_=0),
            'missing': Case(
                (deposited, 0), (reversed_, 0), (held, amount), else_=0),
            'electronic': Case(
                (deposited, 0), (reversed_, 0), (held, 0), else_=amount),
            }
        where = ((payment.state != 'draft')
            & (payment.company == context.get('company', -1))
            & (payment.date >= (context.get('from_date') or today))
            & (payment.date <= (context.get('to_date') or today)))
        if context.get('collector'):
            where &= payment.collector == context['collector']
        if context.get('lco'):
            where &= payment.lco == context['lco']
        group_by = cls._group_by(payment, method)
        return payment.join(method, condition=payment.method == method.id
            ).select(
                # The groups are disjoint: their smallest payment is an id
                Min(payment.id).as_('id'),
                *(c.as_(c.name) for c in group_by),
                Count(payment.id).as_('count'),
                Sum(amount).as_('collected'),
                *(Sum(c).as_(n) for n, c in columns.items()),
                where=where,
                group_by=group_by)

    def get_balanced(self, name):
        return not self.missing

    def get_currency(self, name):
        return self.company.currency.id

    @classmethod
    def balances(cls, records):
        "Tell if nothing collected in records is missing"
        return not sum((r.missing for r in records), Decimal(0))


class CashUp(_CashUpMixin, ReportQueryMixin, ModelSQL, ModelView):
    "What each collector collected each day, in each mode"
    __name__ = 'rsoft.collection.cash_up'
    __string__ = "Daily Cash-up"

    collector = fields.Many2One('rsoft.payment.collector', "Collector")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(1, ('collector', 'ASC'))

    @classmethod
    def _group_by(cls, payment, method):
        return super()._group_by(payment, method) + [payment.collector]


class CashUpLco(
        _CashUpMixin, ReportQueryMixin, ModelSQL, ModelView):
    "What the accounts of each LCO paid each day, in each mode"
    __name__ = 'rsoft.collection.cash_up.lco'
    __string__ = "Cash-up by LCO"


class AgeingContext(ModelView):
    "The day the outstanding is aged at"
    __name__ = 'rsoft.collection.ageing.context'
    __string__ = "Outstanding Context"

    company = fields.Many2One('company.company', "Company", required=True)
    date = fields.Date(
        "Date", required=True,
        help="The day the outstanding is computed and aged at.")
    lco = fields.Many2One(
        'rsoft.partner', "LCO",
        domain=[
            ('role', '=', 'lco'),
            ('company', '=', Eval('company', -1)),
            ])

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_date(cls):
        return Transaction().context.get('date') or _today()

    @classmethod
    def default_lco(cls):
        return Transaction().context.get('lco')


class Ageing(
        ReportAmountsMixin, ReportQueryMixin, ModelSQL, ModelView):
    """The unpaid bills of the accounts of each LCO at a day, by days past
    due, and the advances they paid"""
    __name__ = 'rsoft.collection.ageing'
    __string__ = "Outstanding by LCO"

    company = fields.Many2One('company.company', "Company")
    lco = fields.Many2One('rsoft.partner', "LCO")
    invoice_count = fields.Integer(
        "Bills", help="The number of bills not fully paid.")
    not_due = Monetary(
        "Not Due", currency='currency', digits='currency')
    days_30 = Monetary(
        "1-30 Days", currency='currency', digits='currency',
        help="Due 1 to 30 days before the date.")
    days_60 = Monetary(
        "31-60 Days", currency='currency', digits='currency',
        help="Due 31 to 60 days before the date.")
    days_90 = Monetary(
        "61-90 Days", currency='currency', digits='currency',
        help="Due 61 to 90 days before the date.")
    over_90 = Monetary(
        "Over 90 Days", currency='currency', digits='currency',
        help="Due more than 90 days before the date.")
    total = Monetary(
        "Outstanding", currency='currency', digits='currency',
        help="What the bills still ask for.")
    advance = fields.Function(
        Monetary(
            "Advance", currency='currency', digits='currency',
            help="What the accounts paid ahead of their bills and is not "
            "used yet."),
        'get_advance')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('lco', 'ASC'), ('id', 'ASC')]

    @classmethod
    def get_date(cls):
        return Transaction().context.get('date') or _today()

    @classmethod
    def table_query(cls):
        # The outstanding at a past day is read from the move lines, as the
        # aged balance of account does: the ORM cannot group them by LCO
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Subscriber = pool.get('rsoft.subscriber')
        context = Transaction().context
        date = cls.get_date()
        to_pay, paid = cls._to_pay_query(date), cls._paid_query(date)
        invoice = Invoice.__table__()
        subscriber = Subscriber.__table__()
        lco = Coalesce(invoice.rsoft_lco, subscriber.lco)
        amount = to_pay.amount - Coalesce(paid.amount, 0)
        where = ((amount != 0)
            & (invoice.company == context.get('company', -1)))
        if context.get('lco'):
            where &= lco == context['lco']
        return (to_pay
            .join(paid, 'LEFT', condition=paid.invoice == to_pay.invoice)
            .join(invoice, condition=invoice.id == to_pay.invoice)
            .join(subscriber,
                condition=invoice.rsoft_subscriber == subscriber.id)
            .select(
                lco.as_('id'),
                lco.as_('lco'),
                invoice.company.as_('company'),
                Count(invoice.id).as_('invoice_count'),
                *cls._age_columns(to_pay.due_date, amount, date),
                Sum(amount).as_('total'),
                where=where,
                group_by=[lco, invoice.company]))

    @classmethod
    def _age_columns(cls, due_date, amount, date):
        """Yield the amount of each bucket of days past due

        Date arithmetic differs between databases: the buckets are bounded
        by dates computed here, which both compare alike."""
        yield Sum(Case((due_date >= date, amount), else_=0)).as_('not_due')
        later = date
        for name, days in AGES:
            earlier = date - dt.timedelta(days=days) if days else None
            condition = due_date < later
            if earlier:
                condition &= due_date >= earlier
            yield Sum(Case((condition, amount), else_=0)).as_(name)
            later = earlier

    @classmethod
    def _to_pay_query(cls, date):
        "The receivable of each bill open at date, and when it fell due"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.move.line')
        Move = pool.get('account.move')
        Reconciliation = pool.get('account.move.reconciliation')
        invoice = Invoice.__table__()
        line = Line.__table__()
        move = Move.__table__()
        reconciliation = Reconciliation.__table__()
        return (invoice
            .join(line, condition=(line.move == invoice.move)
                & (line.account == invoice.account))
            .join(move, condition=line.move == move.id)
            .join(reconciliation, 'LEFT',
                condition=line.reconciliation == reconciliation.id)
            .select(
                invoice.id.as_('invoice'),
                Sum(line.debit - line.credit).as_('amount'),
                Min(Coalesce(line.maturity_date, move.date)).as_('due_date'),
                where=((invoice.type == 'out')
                    & invoice.state.in_(['posted', 'paid'])
                    & (invoice.rsoft_subscriber != Null)
                    & (move.date <= date)
                    & ((line.reconciliation == Null)
                        | (reconciliation.date > date))),
                group_by=[invoice.id]))

    @classmethod
    def _paid_query(cls, date):
        "The part of each bill paid by date and not reconciled by then"
        pool = Pool()
        InvoicePayment = pool.get('account.invoice-account.move.line')
        Line = pool.get('account.move.line')
        Move = pool.get('account.move')
        Reconciliation = pool.get('account.move.reconciliation')
        relation = InvoicePayment.__table__()
        line = Line.__table__()
        move = Move.__table__()
        reconciliation = Reconciliation.__table__()
        return (relation
            .join(line, condition=relation.line == line.id)
            .join(move, condition=line.move == move.id)
            .join(reconciliation, 'LEFT',
                condition=line.reconciliation == reconciliation.id)
            .select(
                relation.invoice.as_('invoice'),
                Sum(line.credit - line.debit).as_('amount'),
                where=((move.date <= date)
                    & ((line.reconciliation == Null)
                        | (reconciliation.date > date))),
                group_by=[relation.invoice]))

    @classmethod
    def get_advance(cls, records, name):
        "Sum the advance allocations of the payments still open at the date"
        pool = Pool()
        Allocation = pool.get('rsoft.payment.allocation')
        Payment = pool.get('rsoft.payment')
        Line = pool.get('account.move.line')
        Move = pool.get('account.move')
        Reconciliation = pool.get('account.move.reconciliation')
        allocation = Allocation.__table__()
        payment = Payment.__table__()
        line = Line.__table__()
        move = Move.__table__()
        reconciliation = Reconciliation.__table__()
        cursor = Transaction().connection.cursor()
        date = cls.get_date()
        result = {r.id: Decimal(0) for r in records}
        cursor.execute(*allocation
            .join(payment, condition=allocation.payment == payment.id)
            .join(line, condition=allocation.line == line.id)
            .join(move, condition=line.move == move.id)
            .join(reconciliation, 'LEFT',
                condition=line.reconciliation == reconciliation.id)
            .select(
                payment.lco,
                Sum(line.credit - line.debit),
                where=((allocation.kind == 'advance')
                    & payment.lco.in_([r.lco.id for r in records])
                    & (move.date <= date)
                    & ((line.reconciliation == Null)
                        | (reconciliation.date > date))),
                group_by=[payment.lco]))
        for lco, amount in cursor:
            # The records are the LCOs: the id of a row is its LCO
            if lco in result:
                result[lco] = records[0].currency.round(Decimal(str(amount)))
        return result

    def get_currency(self, name):
        return self.company.currency.id


class _CashUpSheet(RecordSheet):
    sums = True

    @classmethod
    def sheet_title(cls, name):
        context = Transaction().context
        today = _today()
        to_date = context.get('to_date') or today
        return cls.period_title(
            name, context.get('from_date') or today, to_date), to_date


class CashUpSheet(_CashUpSheet):
    __name__ = 'rsoft.collection.cash_up.xlsx'
    columns = [
        ('date', 12),
        ('collector', 28),
        ('lco', 28),
        ('kind', 18),
        ('count', 10),
        ('collected', 14),
        ('electronic', 14),
        ('deposited', 14),
        ('missing', 14),
        ('reversed', 14),
        ]


class CashUpLcoSheet(_CashUpSheet):
    __name__ = 'rsoft.collection.cash_up.lco.xlsx'
    columns = [c for c in CashUpSheet.columns if c[0] != 'collector']


class AgeingSheet(RecordSheet):
    __name__ = 'rsoft.collection.ageing.xlsx'
    sums = True
    columns = [
        ('lco', 30),
        ('invoice_count', 10),
        ('not_due', 14),
        ('days_30', 14),
        ('days_60', 14),
        ('days_90', 14),
        ('over_90', 14),
        ('total', 14),
        ('advance', 14),
        ]

    @classmethod
    def sheet_date(cls):
        pool = Pool()
        Ageing = pool.get('rsoft.collection.ageing')
        return Ageing.get_date()


class Settlement(ModelSQL, ModelView):
    """A bank or gateway settlement file, imported all or nothing: every
    row is recorded as a payment, or none is and the report says why"""
    __name__ = 'rsoft.payment.settlement'
    __string__ = "Settlement Import"
    _rec_name = 'file_name'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    file = fields.Binary(
        "File", filename='file_name', readonly=True,
        help="The settlement file as it was imported.")
    file_name = fields.Char("File Name", readonly=True)
    method = fields.Many2One(
        'rsoft.payment.method', "Method", required=True, readonly=True,
        ondelete='RESTRICT',
        help="The method of the payments, unless a row's mode names "
        "another.")
    date = fields.Date(
        "Date", required=True, readonly=True,
        help="The date of the rows that have none.")
    user = fields.Many2One(
        'res.user', "Imported By", required=True, readonly=True)
    state = fields.Selection(
        SETTLEMENT_STATES, "State", required=True, readonly=True,
        sort=False)
    row_count = fields.Integer("Rows", readonly=True)
    total = Monetary(
        "Total", currency='currency', digits='currency', readonly=True,
        help="The sum of the amounts of the file.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    report = fields.Text(
        "Report", readonly=True,
        help="Each row of the file with its receipt number or its errors.")
    payments = fields.One2Many(
        'rsoft.payment', 'origin', "Payments", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_date(cls):
        return _today()

    @classmethod
    def default_user(cls):
        return Transaction().user

    @classmethod
    def default_state(cls):
        return 'draft'

    def get_currency(self, name):
        return self.company.currency.id

    def get_rec_name(self, name):
        return self.file_name or str(self.id)

    @classmethod
    def check_modification(
            cls, mode, settlements, values=None, external=False):
        super().check_modification(
            mode, settlements, values=values, external=external)
        check_system_record(cls, external)
        if mode == 'delete':
            for settlement in settlements:
                if settlement.state == 'done':
                    raise PaymentError(gettext(
                            'rsoft_payment.msg_settlement_delete_done',
                            settlement=settlement.rec_name))

    @classmethod
    def import_file(cls, method, data, file_name=None, date=None):
        "Import the settlement file data and return its settlement"
        settlement = cls(
            company=method.company, method=method, file=data,
            file_name=file_name, date=date or _today())
        settlement.save()
        cls.process([settlement])
        return cls(settlement.id)

    @classmethod
    def process(cls, settlements):
        """Check every row of each file; record all its payments or none

        A refused file records nothing and keeps the report of its rows."""
        for settlement in settlements:
            rows = settlement.read_rows()
            settlement.check_rows(rows)
            if not any(r.errors for r in rows):
                settlement.record(rows)
            settlement.state = (
                'refused' if any(r.errors for r in rows) else 'done')
            settlement.row_count = len(rows)
            settlement.total = sum(
                (r.amount for r in rows if r.amount), Decimal(0))
            settlement.report = settlement._report(rows)
        cls.save(settlements)

    def read_rows(self):
        "Return the rows of the file, numbered as the file's lines"
        data = bytes(self.file or b'')
        if not data:
            raise PaymentError(gettext(
                    'rsoft_payment.msg_settlement_no_file'))
        rows = reader.read_rows(data, COLUMNS, self.rec_name)
        # Every row has the keys of the columns its header names
        header = rows[0][1].keys()
        if ('amount' not in header or 'external_id' not in header
                or not {'customer_id', 'reference'} & header):
            raise PaymentError(gettext(
                    'rsoft_payment.msg_settlement_no_header',
                    file=self.rec_name))
        return [_Row(line, values) for line, values in rows]

    def check_rows(self, rows):
        "Fill in the account, amount, date and method of rows, or errors"
        currency = self.company.currency
        methods = self._mode_methods()
        for row in rows:
            row.amount = self._check_amount(row, currency)
            row.date = self._check_date(row)
            row.method = self._check_method(row, methods)
            self._check_currency(row, currency)
            if not row.values.get('external_id'):
                row.errors.append(gettext(
                        'rsoft_payment.msg_settlement_no_external_id'))
        self._check_accounts(rows)
        self._check_duplicates(rows)

    @staticmethod
    def _check_amount(row, currency):
        text = re.sub(r'[\s,]', '', row.values.get('amount', ''))
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            row.errors.append(gettext(
                    'rsoft_payment.msg_settlement_bad_amount',
                    amount=row.values.get('amount', '')))
        elif amount <= 0:
            row.errors.append(gettext(
                    'rsoft_payment.msg_settlement_amount_not_positive',
                    amount=text))
        elif currency.round(amount) != amount:
            row.errors.append(gettext(
                    'rsoft_payment.msg_settlement_amount_digits',
                    amount=text, currency=currency.code))
        else:
            return amount

    def _check_date(self, row):
        text = row.values.get('date')
        if not text:
            return self.date
        for format_ in DATE_FORMATS:
            try:
                date = dt.datetime.strptime(text, format_).date()
            except ValueError:
                continue
            if date > _today():
                row.errors.append(gettext(
                        'rsoft_payment.msg_settlement_future_date',
                        date=text))
                return None
            return date
        row.errors.append(gettext(
                'rsoft_payment.msg_settlement_bad_date', date=text))

    def _mode_methods(self):
        "Return the active method of the company for each kind it has one"
        pool = Pool()
        Method = pool.get('rsoft.payment.method')
        methods = defaultdict(list)
        for method in Method.search([('company', '=', self.company.id)]):
            methods[method.kind].append(method)
        return methods

    def _check_method(self, row, methods):
        mode = row.values.get('mode')
        if not mode:
            return self.method
        kinds = {reader.normalize_name(k): k for k, _ in KINDS}
        kinds.update({reader.normalize_name(n): k for k, n in KINDS})
        kind = kinds.get(reader.normalize_name(mode))
        if kind is None:
            row.errors.append(gettext(
                    'rsoft_payment.msg_settlement_unknown_mode', mode=mode))
        elif kind == self.method.kind:
            return self.method
        elif kind in HELD_KINDS or len(methods.get(kind, [])) != 1:
            row.errors.append(gettext(
                    'rsoft_payment.msg_settlement_no_method', mode=mode))
        else:
            return methods[kind][0]

    @staticmethod
    def _check_currency(row, currency):
        code = row.values.get('currency')
        if code and code.upper() != currency.code.upper():
            row.errors.append(gettext(
                    'rsoft_payment.msg_settlement_bad_currency',
                    code=code, currency=currency.code))

    def _check_accounts(self, rows):
        """Find the account of each row by its customer ID, else by its
        reference: the account's contract (CAF) number or the number of
        one of its earlier receipts"""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        Payment = pool.get('rsoft.payment')
        company = self.company.id
        customer_ids = {r.values['customer_id'] for r in rows
            if r.values.get('customer_id')}
        references = {r.values['reference'] for r in rows
            if r.values.get('reference') and not r.values.get('customer_id')}
        # Closed accounts still pay what they owe
        with Transaction().set_context(active_test=False):
            by_customer = {s.customer_id: s for s in Subscriber.search([
                        ('customer_id', 'in', list(customer_ids)),
                        ('company', '=', company),
                        ])}
            by_reference = defaultdict(set)
            for subscriber in Subscriber.search([
                        ('contract_number', 'in', list(references)),
                        ('company', '=', company),
                        ]):
                by_reference[subscriber.contract_number].add(subscriber)
            for payment in Payment.search([
                        ('number', 'in', list(references)),
                        ('company', '=', company),
                        ]):
                by_reference[payment.number].add(payment.subscriber)
        for row in rows:
            customer_id = row.values.get('customer_id')
            reference = row.values.get('reference')
            if customer_id:
                row.subscriber = by_customer.get(customer_id)
                if not row.subscriber:
                    row.errors.append(gettext(
                            'rsoft_payment.msg_settlement_unknown_customer',
                            customer_id=customer_id))
            elif reference:
                subscribers = by_reference.get(reference, set())
                if len(subscribers) == 1:
                    row.subscriber, = subscribers
                else:
                    row.errors.append(gettext(
                            'rsoft_payment.msg_settlement_ambiguous_reference'
                            if subscribers else
                            'rsoft_payment.msg_settlement_unknown_reference',
                            reference=reference))
            else:
                row.errors.append(gettext(
                        'rsoft_payment.msg_settlement_no_account'))

    def _check_duplicates(self, rows):
        "An external ID is recorded once per method, even across files"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        first = {}
        keyed = [r for r in rows if r.method and r.values.get('external_id')]
        for row in keyed:
            key = (row.method.id, row.values['external_id'])
            seen = first.setdefault(key, row.number)
            if seen != row.number:
                row.errors.append(gettext(
                        'rsoft_payment.msg_settlement_duplicate_file',
                        external_id=key[1], row=seen))
        recorded = {(p.method.id, p.external_id): p
            for p in Payment.search([
                    ('method', 'in', list({k for k, _ in first})),
                    ('external_id', 'in', list({i for _, i in first})),
                    ])}
        for row in keyed:
            payment = recorded.get((row.method.id, row.values['external_id']))
            if payment:
                row.errors.append(gettext(
                        'rsoft_payment.msg_settlement_duplicate_recorded',
                        external_id=payment.external_id,
                        payment=payment.rec_name))

    def record(self, rows):
        """Record a payment for each row

        The rows were checked, but posting may still fail (a closed
        period, an account without receivable): the error names the row
        and the transaction records nothing."""
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        for row in rows:
            try:
                row.payment = Payment.record(
                    row.subscriber, row.amount, row.method, date=row.date,
                    reference=(row.values.get('reference')
                        or row.values['external_id']),
                    external_id=row.values['external_id'], origin=self)
            except UserError as exception:
                raise PaymentError(gettext(
                        'rsoft_payment.msg_settlement_row_failed',
                        row=row.number, file=self.file_name or '',
                        error=exception.message)) from exception

    def _report(self, rows):
        refused = [r for r in rows if r.errors]
        lines = []
        if refused:
            lines.append(gettext(
                    'rsoft_payment.msg_settlement_refused',
                    errors=len(refused), rows=len(rows)))
        else:
            lines.append(gettext(
                    'rsoft_payment.msg_settlement_done',
                    rows=len(rows)))
        for row in rows:
            values = {
                'row': row.number,
                'account': (row.subscriber.customer_id if row.subscriber
                    else row.values.get('customer_id')
                    or row.values.get('reference') or ''),
                'amount': row.values.get('amount', ''),
                'external_id': row.values.get('external_id', ''),
                }
            if row.errors:
                lines.append(gettext(
                        'rsoft_payment.msg_settlement_row_error',
                        errors='; '.join(row.errors), **values))
            elif row.payment:
                lines.append(gettext(
                        'rsoft_payment.msg_settlement_row_recorded',
                        number=row.payment.number, **values))
            else:
                lines.append(gettext(
                        'rsoft_payment.msg_settlement_row_valid', **values))
        return '\n'.join(lines)


class _Row:
    "A row of a settlement file, and what checking it found"
    __slots__ = ('number', 'values', 'errors', 'subscriber', 'amount',
        'date', 'method', 'payment')

    def __init__(self, number, values):
        self.number = number
        self.values = values
        self.errors = []
        self.subscriber = self.amount = self.date = None
        self.method = self.payment = None


class SettlementImportStart(ModelView):
    "The settlement file to import and its method"
    __name__ = 'rsoft.payment.settlement.import.start'
    __string__ = "Import Settlement File"

    company = fields.Many2One('company.company', "Company", required=True)
    file = fields.Binary(
        "File", filename='file_name', required=True,
        help="A CSV (UTF-8) or XLSX file with a header row and the columns: "
        "customer ID or reference (contract number or earlier receipt "
        "number), amount, date, external ID (UTR or gateway payment ID) "
        "and optionally mode and currency.")
    file_name = fields.Char("File Name")
    method = fields.Many2One(
        'rsoft.payment.method', "Method", required=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ('kind', 'not in', list(HELD_KINDS)),
            ],
        help="The bank or gateway method the file settles.")
    date = fields.Date(
        "Date", required=True, help="The date of the rows that have none.")
    settlement = fields.Many2One(
        'rsoft.payment.settlement', "Settlement", readonly=True)

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_date(cls):
        return _today()


class SettlementImport(Wizard):
    "Import a bank or gateway settlement file, all rows or none"
    __name__ = 'rsoft.payment.settlement.import'
    start = StateView(
        'rsoft.payment.settlement.import.start',
        'rsoft_payment.settlement_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    open_ = StateAction('rsoft_payment.act_settlement_form')

    def transition_import_(self):
        pool = Pool()
        Settlement = pool.get('rsoft.payment.settlement')
        self.start.settlement = Settlement.import_file(
            self.start.method, self.start.file,
            file_name=self.start.file_name, date=self.start.date)
        return 'open_'

    def do_open_(self, action):
        action['res_id'] = [self.start.settlement.id]
        action['views'].reverse()
        return action, {}


class Payment(metaclass=PoolMeta):
    __name__ = 'rsoft.payment'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['rsoft.payment.settlement']
