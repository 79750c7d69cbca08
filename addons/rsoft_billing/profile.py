"The billing profile of an account: how and when it is billed"
import datetime
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import Index, fields
from trytond.modules.rsoft_catalogue.common import MONEY_DIGITS
from trytond.modules.rsoft_wallet.exceptions import InsufficientBalanceError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import without_check_access

from .charge import ONE_TIME_KINDS, Rater
from .common import savepoint
from .exceptions import BillingProfileError
from .schedule import CYCLES, Schedule

BILLING_MODES = [
    ('prepaid', "Prepaid"),
    ('postpaid', "Postpaid"),
    ]
BILL_DAY_MODES = [
    ('anniversary', "Anniversary"),
    ('fixed', "Fixed Day"),
    ]
DELIVERIES = [
    ('email', "E-mail"),
    ('portal', "Portal"),
    ('print', "Print"),
    ]
BILL_TEMPLATES = [
    ('classic', "Classic"),
    ('compact', "Compact"),
    ]


class Subscriber(metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber'
    billing_mode = fields.Selection(
        BILLING_MODES, "Billing Mode", required=True,
        help="Prepaid: each period is charged at its start, from the "
        "wallet.\nPostpaid: each period is invoiced once it has ended.")
    billing_cycle = fields.Integer(
        "Billing Cycle", required=True,
        domain=[('billing_cycle', 'in', CYCLES)],
        help="The number of months billed at a time: 1, 2, 3, 6 or 12.")
    bill_day_mode = fields.Selection(
        BILL_DAY_MODES, "Bill Day", required=True,
        help="Anniversary: periods start on the day of the month the "
        "account was activated.\nFixed day: periods start on the bill day.")
    bill_day = fields.Integer(
        "Day of Month",
        domain=['OR',
            ('bill_day', '=', None),
            [('bill_day', '>=', 1), ('bill_day', '<=', 31)],
            ],
        states={
            'required': Eval('bill_day_mode') == 'fixed',
            'invisible': Eval('bill_day_mode') != 'fixed',
            },
        help="Days 29 to 31 fall back to the last day of shorter months.")
    align_lines = fields.Boolean(
        "Align Renewals",
        help="All the lines of the account renew on the account's bill "
        "date; otherwise a prepaid line renews on its own anniversary, "
        "by its own term.")
    billing_anchor = fields.Date(
        "Billing Anchor", readonly=True,
        help="The date the periods are counted from.")
    billed_until = fields.Date(
        "Billed Until", readonly=True,
        help="The last day of the last period billed.")
    next_bill_date = fields.Date(
        "Next Bill Date", readonly=True,
        help="The date from which the account is due for billing again.")
    bill_template = fields.Selection(
        [(None, "")] + BILL_TEMPLATES, "Bill Template",
        help="The layout of the bills; empty uses the LCO's.")
    renewal_amount = fields.Function(fields.Numeric(
            "Renewal Amount", digits=MONEY_DIGITS,
            help="What the next period of the running lines costs, "
            "taxes included."), 'get_renewal')
    low_balance_date = fields.Function(fields.Date(
            "Low Balance Date",
            help="The last renewal the wallet pays for at the present "
            "lines and prices: after it, less than a period is left."),
        'get_renewal')
    expiry_date = fields.Function(fields.Date(
            "Expiry Date",
            help="The last day the wallet pays for at the present lines "
            "and prices."), 'get_renewal')
    bill_delivery = fields.Selection(
        DELIVERIES, "Bill Delivery", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.next_bill_date, Index.Range())))
        # Billing computes them: the CAS entitles a prepaid account up to
        # billed_until, and no end at all when it is empty
        cls._system_fields |= {
            'billing_anchor', 'billed_until', 'next_bill_date',
            'renewal_amount', 'low_balance_date', 'expiry_date'}

    @classmethod
    def copy(cls, subscribers, default=None):
        default = default.copy() if default is not None else {}
        # A copy has never been billed
        default.setdefault('billing_anchor')
        default.setdefault('billed_until')
        default.setdefault('next_bill_date')
        return super().copy(subscribers, default=default)

    @classmethod
    def default_billing_mode(cls):
        return cls._billing_default('billing_mode', 'prepaid')

    @classmethod
    def default_billing_cycle(cls):
        return cls._billing_default('billing_cycle', 1)

    @classmethod
    def default_bill_day_mode(cls):
        return 'anniversary'

    @classmethod
    def default_align_lines(cls):
        return True

    @classmethod
    def default_bill_delivery(cls):
        return 'email'

    @classmethod
    def _billing_default(cls, name, value):
        pool = Pool()
        Configuration = pool.get('rsoft.billing.configuration')
        return getattr(Configuration(1), f'default_{name}', None) or value

    @classmethod
    def validate_fields(cls, subscribers, field_names):
        super().validate_fields(subscribers, field_names)
        for subscriber in subscribers:
            if (subscriber.billing_mode == 'postpaid'
                    and not subscriber.align_lines):
                raise BillingProfileError(gettext(
                        'rsoft_billing.msg_postpaid_aligned',
                        subscriber=subscriber.rec_name))

    @classmethod
    def _enter(cls, records, state, date, description=None, **values):
        # The anchor is set once, on the first activation
        if state == 'active':
            anchored = [r for r in records if not r.billing_anchor]
            if anchored:
                cls.write(anchored, {'billing_anchor': date})
        super()._enter(records, state, date, description, **values)

    @property
    def schedule(self):
        "The Schedule of the account's periods"
        day = self.bill_day if self.bill_day_mode == 'fixed' else None
        return Schedule(self.billing_anchor, self.billing_cycle, day)

    @classmethod
    def bill(cls, subscribers, date=None, run=None):
        """Rate subscribers up to date and invoice what is not invoiced

        Return the invoices. Prepaid accounts pay from their wallet; what
        the wallet cannot pay expires. The accounts are locked first: two
        runs over the same accounts wait for each other, and the second
        finds everything charged."""
        date = cls._date(date)
        subscribers = [s for s in subscribers if s.billing_anchor]
        if not subscribers:
            return []
        cls.lock(subscribers)
        invoices = cls._bill([s for s in subscribers
                if s.billing_mode == 'postpaid'], date, run)
        for subscriber in subscribers:
            if subscriber.billing_mode == 'prepaid':
                invoices.extend(cls._bill_prepaid(subscriber, date, run))
        cls._set_bill_dates(subscribers, date)
        return invoices

    @classmethod
    def _bill(cls, subscribers, date, run, check=None):
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        Invoice = pool.get('account.invoice')
        if not subscribers:
            return []
        Rater(date).rate(subscribers)
        charges = Charge.search([
                ('subscriber', 'in', [s.id for s in subscribers]),
                ('invoice_line', '=', None),
                ], order=[('id', 'ASC')])
        if run and charges:
            Charge.write(charges, {'bill_run': run.id})
        return Invoice.rsoft_invoice(charges, date, check=check)

    @classmethod
    def _bill_prepaid(cls, subscriber, date, run):
        """Bill a prepaid account and pay its invoices from the wallet

        When the wallet cannot pay, nothing of it is kept: the lines newly
        charged expire on the first day they were to be charged, and what
        remains (credits, one-time charges) is billed."""
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        wallet, = Wallet.get_wallets([subscriber])

        def check(invoices):
            # Refused before anything is written
            if sum(i.total_amount for i in invoices) > wallet.balance:
                raise _WalletShort

        try:
            with savepoint('rsoft_bill_prepaid'):
                invoices = cls._bill([subscriber], date, run, check=check)
                cls._settle(wallet, invoices, date)
            return invoices
        except (_WalletShort, InsufficientBalanceError):
            subscriber = cls(subscriber.id)
        cls.expire(subscriber, date)
        invoices = cls._bill([subscriber], date, run)
        cls._settle(wallet, [i for i in invoices if i.total_amount < 0], date)
        return invoices

    @classmethod
    def _settle(cls, wallet, invoices, date):
        "Pay invoices from wallet, and credit notes back into it"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        MoveLine = pool.get('account.move.line')
        Invoice = pool.get('account.invoice')
        debits = [i for i in invoices if i.total_amount > 0]
        credits = [i for i in invoices if i.total_amount < 0]
        entries = Wallet.debit([
                (wallet, i.total_amount, date, i.rec_name, i)
                for i in debits])
        entries += Wallet.refund([
                (wallet, -i.total_amount, date, i.rec_name, i)
                for i in credits])
        MoveLine.reconcile(*(
                list(invoice.lines_to_pay) + [line for line in entry.move.lines
                    if line.account == invoice.account]
                for invoice, entry in zip(debits + credits, entries)))
        # Paid now, not when the queue gets to it
        Invoice.process(debits + credits)

    @classmethod
    def expire(cls, subscriber, date):
        """End the lines of a prepaid account its wallet cannot renew

        Each ends the day before it was to be charged: its entitlement
        lapses."""
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        by_date = defaultdict(list)
        for values in Rater(date).rate([subscriber], save=False):
            if values['kind'] == 'recurring':
                by_date[values['date_from']].append(Line(values['line']))
        for day, lines in sorted(by_date.items()):
            Line.stop(lines, day)

    @classmethod
    def _set_bill_dates(cls, subscribers, date):
        rater = Rater(date)
        dates = defaultdict(list)
        for subscriber in subscribers:
            horizon = rater.horizon(subscriber)
            if subscriber.billing_mode == 'prepaid':
                next_date = horizon + datetime.timedelta(days=1)
            else:
                next_date = subscriber.schedule.next_start(date)
            dates[horizon, next_date].append(subscriber)
        to_write = []
        for (horizon, next_date), records in dates.items():
            to_write.extend((records, {
                        'billed_until': horizon,
                        'next_bill_date': next_date,
                        }))
        cls.write(*to_write)

    @classmethod
    def get_renewal(cls, subscribers, names):
        """Return the cost of the next period of prepaid subscribers and
        the dates their wallet runs low and out"""
        pool = Pool()
        Date = pool.get('ir.date')
        result = {n: dict.fromkeys(map(int, subscribers)) for n in names}
        rater = Rater(Date.today())
        for subscriber in subscribers:
            renewal = subscriber.next_bill_date
            if subscriber.billing_mode != 'prepaid' or not renewal:
                continue
            amount = subscriber._renewal_amount(rater, renewal)
            result.setdefault('renewal_amount', {})[subscriber.id] = amount
            if not amount:
                continue
            paid = int(max(subscriber.wallet_balance or 0, 0) // amount)
            schedule = subscriber.schedule
            index = schedule.index(renewal)
            result.setdefault('expiry_date', {})[subscriber.id] = (
                schedule.boundary(index + paid) - datetime.timedelta(days=1))
            result.setdefault('low_balance_date', {})[subscriber.id] = (
                schedule.boundary(index + paid - 1) if paid else renewal)
        return {n: result[n] for n in names}

    def _renewal_amount(self, rater, date):
        "Return the price with taxes of the period starting at date"
        pool = Pool()
        Tax = pool.get('account.tax')
        months = self.billing_cycle
        total = Decimal(0)
        for connection in self.connections:
            for line in connection.lines:
                if (line.state != 'active' or not line.is_open(date)
                        or line.product.template.rsoft_kind
                        in ONE_TIME_KINDS):
                    continue
                if line.ncf:
                    _, monthly, _ = rater._ncf_at(connection, date)
                    price = monthly * months
                else:
                    price, _, _ = rater.period_price(
                        self, line, months, date)
                taxes = Tax.compute(
                    line.product.customer_taxes_used, price, 1, date)
                total += price + sum(t['amount'] for t in taxes)
        return rater.currency.round(total)

    @classmethod
    def mark_due(cls, subscribers, date):
        """Make prepaid subscribers due for billing from date

        A prepaid account pays a change of its lines at once: the next
        run charges an added line and credits an ended one."""
        cls.write([s for s in subscribers
                if s.billing_mode == 'prepaid'
                and s.next_bill_date and s.next_bill_date > date], {
                'next_bill_date': date,
                })

    def get_bill_template(self):
        return self.bill_template or (
            self.lco.bill_template if self.lco else None) or 'classic'


class Partner(metaclass=PoolMeta):
    __name__ = 'rsoft.partner'
    bill_template = fields.Selection(
        [(None, "")] + BILL_TEMPLATES, "Bill Template",
        help="The layout of the bills of the LCO's subscribers.")


class Line(metaclass=PoolMeta):
    __name__ = 'rsoft.subscription.line'

    @classmethod
    def activate(cls, lines, date=None):
        super().activate(lines, date)
        cls._mark_due(lines, date)

    @classmethod
    def stop(cls, lines, date):
        super().stop(lines, date)
        cls._mark_due(lines, date)

    @classmethod
    def _mark_due(cls, lines, date):
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        by_date = defaultdict(set)
        for line in lines:
            by_date[date or line.start_date].add(line.connection.subscriber)
        # The bill date follows the lines the user changed: this runs after
        # the button, outside its wrapper, where the access checks are on
        with without_check_access():
            for day, subscribers in by_date.items():
                Subscriber.mark_due(list(subscribers), day)


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'
    rsoft_bill_suspended = fields.Boolean(
        "Charged While Suspended",
        states={
            'invisible': ~Eval('rsoft_kind'),
            },
        help="Charge the offer for the days its connection is suspended. "
        "STB rentals and leases always are.")

    @classmethod
    def default_rsoft_bill_suspended(cls):
        return False


class _WalletShort(Exception):
    "The wallet cannot pay what is due: it is undone and the lines expire"
