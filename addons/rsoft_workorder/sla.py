"""SLA clocks: the due time of a target in hours, round the clock or in
business hours, and the fields every ticket and order shows of it

Times are stored as Tryton stores them, naive in UTC; business hours are
the company's local hours, so a day is cut in its time zone."""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from trytond.model import fields
from trytond.pool import Pool
from trytond.transaction import Transaction

UTC = dt.timezone.utc
CLOCKS = [
    ('24x7', "Round the Clock"),
    ('business', "Business Hours"),
    ]
SLA_RESULTS = [
    (None, ''),
    ('met', "Met"),
    ('missed', "Missed"),
    ]
# A target longer than this many days of business hours is a mistake
MAX_DAYS = 3660


class BusinessHours:
    "The working days and hours of a company, in its time zone"

    def __init__(self, start, end, weekdays, timezone=None):
        self.start = start
        self.end = end
        self.weekdays = set(weekdays)
        self.zone = ZoneInfo(timezone) if timezone else UTC

    def add(self, when, hours):
        """Return the time (naive UTC) hours of business after when
        (naive UTC): the clock runs only on working days between start
        and end"""
        remaining = dt.timedelta(hours=float(hours))
        cursor = when.replace(tzinfo=UTC).astimezone(self.zone)
        day = cursor.date()
        for _ in range(MAX_DAYS):
            if day.weekday() in self.weekdays and self.start < self.end:
                opens = dt.datetime.combine(day, self.start, self.zone)
                closes = dt.datetime.combine(day, self.end, self.zone)
                begin = max(cursor, opens)
                if begin < closes:
                    if remaining <= closes - begin:
                        return _naive(begin + remaining)
                    remaining -= closes - begin
            day += dt.timedelta(days=1)
            cursor = dt.datetime.combine(day, dt.time(0), self.zone)
        return None

    def local_date(self, when):
        "Return the company's date of when (naive UTC)"
        return when.replace(tzinfo=UTC).astimezone(self.zone).date()


def _naive(when):
    return when.astimezone(UTC).replace(tzinfo=None)


def hours_between(start, end):
    "Return the hours from start to end, rounded to the hundredth"
    seconds = Decimal((end - start).total_seconds())
    return (seconds / 3600).quantize(Decimal('0.01'))


class SlaMixin:
    """The SLA clock of a ticket or an order: its due time (stored when the
    clock starts), the time left and whether it is breached or about to be

    A model lists its running states in _sla_open_states; when the clock
    stops (resolved, done) stop_clock stores its result."""
    __slots__ = ()
    _sla_open_states = set()

    sla_result = fields.Selection(
        SLA_RESULTS, "SLA", readonly=True,
        help="Set when the clock stopped: met if finished by its due "
        "time, missed after it; empty while it runs or without target.")
    due_at = fields.DateTime(
        "Due", readonly=True,
        help="When the SLA target runs out, from the target of its kind.")
    time_left = fields.Function(
        fields.TimeDelta(
            "Time Left",
            help="Until the due time; negative once breached. Empty when "
            "the clock has stopped or there is no target."),
        'get_sla')
    breached = fields.Function(
        fields.Boolean(
            "Breached",
            help="Still open after its due time, or finished after it."),
        'get_sla', searcher='search_breached')
    due_soon = fields.Function(
        fields.Boolean(
            "Due Soon",
            help="Open, not yet breached, due within the warning window "
            "of the service configuration."),
        'get_sla', searcher='search_due_soon')

    @classmethod
    def get_sla(cls, records, names):
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        now = Configuration.now()
        window = Configuration(1).warning_window
        result = {n: {} for n in names}
        for record in records:
            running = record.state in cls._sla_open_states
            due = record.due_at
            values = {
                'time_left': (due - now) if due and running else None,
                'breached': bool(due and (
                        (running and now > due)
                        or (not running and record.sla_result == 'missed'))),
                'due_soon': bool(due and running
                    and now <= due <= now + window),
                }
            for name in names:
                result[name][record.id] = values[name]
        return result

    @classmethod
    def search_breached(cls, name, clause):
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        _, operator, value = clause[:3]
        now = Configuration.now()
        running = list(cls._sla_open_states)
        if (operator == '=') == bool(value):
            return ['OR',
                [('state', 'in', running), ('due_at', '<', now)],
                [('state', 'not in', running),
                    ('sla_result', '=', 'missed')],
                ]
        return ['OR',
            [('state', 'in', running),
                ['OR', ('due_at', '=', None), ('due_at', '>=', now)]],
            [('state', 'not in', running),
                ['OR', ('sla_result', '!=', 'missed'),
                    ('sla_result', '=', None)]],
            ]

    @classmethod
    def search_due_soon(cls, name, clause):
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        _, operator, value = clause[:3]
        now = Configuration.now()
        window = Configuration(1).warning_window
        running = list(cls._sla_open_states)
        if (operator == '=') == bool(value):
            return [
                ('state', 'in', running),
                ('due_at', '>=', now),
                ('due_at', '<=', now + window),
                ]
        return ['OR',
            ('state', 'not in', running),
            ('due_at', '=', None),
            ('due_at', '<', now),
            ('due_at', '>', now + window),
            ]

    @staticmethod
    def sla_result_at(due, stopped):
        "Return the result of a clock due at due stopped at stopped"
        if due is None:
            return None
        return 'met' if stopped <= due else 'missed'

    @classmethod
    def business_hours(cls, company=None):
        "Return the BusinessHours of company (the context's by default)"
        pool = Pool()
        Company = pool.get('company.company')
        Configuration = pool.get('rsoft.service.configuration')
        config = Configuration(1)
        company = company or Transaction().context.get('company')
        timezone = Company(company).timezone if company else None
        return BusinessHours(config.day_start, config.day_end,
            config.weekdays, timezone)

    @classmethod
    def deadline(cls, target, start, company=None):
        "Return the due time of target (rsoft.service.target) from start"
        if not target or start is None:
            return None
        if target.clock == 'business':
            return cls.business_hours(company).add(start, target.hours)
        return start + dt.timedelta(hours=float(target.hours))

