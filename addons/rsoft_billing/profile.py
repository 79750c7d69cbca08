"The billing profile of an account: how and when it is billed"
import datetime
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import Index, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .charge import Rater
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
    bill_delivery = fields.Selection(
        DELIVERIES, "Bill Delivery", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.next_bill_date, Index.Range())))

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

        Return the invoices. The accounts are locked first: two runs
        over the same accounts wait for each other, and the second finds
        everything charged."""
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        Invoice = pool.get('account.invoice')
        date = cls._date(date)
        subscribers = [s for s in subscribers if s.billing_anchor]
        if not subscribers:
            return []
        cls.lock(subscribers)
        rater = Rater(date)
        rater.rate(subscribers)
        charges = Charge.search([
                ('subscriber', 'in', [s.id for s in subscribers]),
                ('invoice_line', '=', None),
                ], order=[('id', 'ASC')])
        if run and charges:
            Charge.write(charges, {'bill_run': run.id})
        invoices = Invoice.rsoft_invoice(charges, date)
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
        return invoices

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
