"""Rating checked against a model of its rules, on random accounts

Hypothesis draws an account (prepaid or postpaid, cycle, bill day, lines
aligned on it or not, NCF slabs) and an operator's story of it:
subscriptions, upgrades and downgrades, stops (same-day, back-dated, on
the line's first day, ahead), suspensions and resumptions, and bills. The
story is played through the engine's own actions, and the charges it
makes are checked against what the rules say, computed here day by day
with this file's own calendar: no helper of the billing engine is used.

RSOFT_PROPERTY_EXAMPLES sets the number of stories (CI keeps the
default); the examples are derandomized, so a run is reproducible."""
import calendar
import datetime
import os
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trytond.modules.rsoft_subscriber.tests.tools import LAUNCH, subscribe
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction

from .tools import BillingOperator, new_account

D = datetime.date
DAY = datetime.timedelta(days=1)
CENT = Decimal('0.01')
EXAMPLES = int(os.environ.get('RSOFT_PROPERTY_EXAMPLES', '40'))
# The wallet of a prepaid account never runs dry: expiry is not rated here
WALLET = Decimal('10000000')

# The offers of the BillingOperator fixture: monthly price, how they are
# charged, whether they are a base pack
OFFERS = {
    'gold': (Decimal('310'), 'recurring', True),
    'silver': (Decimal('200'), 'recurring', True),
    'base': (Decimal('12'), 'recurring', True),
    'sports': (Decimal('93'), 'recurring', False),
    'hd': (Decimal('25'), 'recurring', False),
    'rental': (Decimal('50'), 'recurring', False),
    'install': (Decimal('350'), 'one_time', False),
    }
BASE_PACKS = sorted(k for k, (_, _, base) in OFFERS.items() if base)
# The box stays at the customer's: charged while suspended
CHARGED_SUSPENDED = {'rental'}
# Every offer of the fixture has a 1-month term and a 3-month one at 5% off
TERM_DISCOUNTS = {1: Decimal(0), 3: Decimal('0.05')}
# The NCF of each channel count: the fixture's flat 2020 rule, or slabs
# small enough for the few channels of the fixture's packs to cross them
NCF_SLABS = [
    ((None, Decimal('130.00')),),
    ((1, Decimal('117.37')), (2, Decimal('130.00')), (3, Decimal('143.33')),
        (None, Decimal('161.11'))),
    ((0, Decimal('99.99')), (2, Decimal('128.71')),
        (None, Decimal('153.47'))),
    ]
FIRST_DAY = D(2024, 1, 2)
LAST_START = D(2025, 6, 30)


# The calendar of the rules, written anew

def on_day(months, day):
    "Return the day-th of the month months after January of year 0"
    year, month = divmod(months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return D(year, month + 1, min(day, last))


def month_number(date):
    return date.year * 12 + date.month - 1


def day_count(first, last):
    return (last - first).days + 1


def each_day(first, last):
    while first <= last:
        yield first
        first += DAY


class Periods:
    """Periods of months months starting on day (the last day of a
    shorter month) in the months counted from the anchor's"""

    def __init__(self, anchor, months, day):
        self.anchor, self.months, self.day = anchor, months, day

    def start(self, index):
        return on_day(month_number(self.anchor) + index * self.months,
            self.day)

    def period(self, date):
        "Return (first, last day) of the period holding date"
        index = (month_number(date) - month_number(self.anchor)) // (
            self.months) + 1
        while self.start(index) > date:
            index -= 1
        return self.start(index), self.start(index + 1) - DAY

    def cut(self, first, last):
        "Yield (first, last, period first, period last) of first–last"
        while first <= last:
            start, end = self.period(first)
            yield first, min(last, end), start, end
            first = end + DAY


def prorate(price, used, total):
    "Return price × used ÷ total rounded half-up once, price when whole"
    if used == total:
        return price
    return (price * used / total).quantize(CENT, rounding=ROUND_HALF_UP)


def term_price(offer, months):
    price = OFFERS[offer][0]
    return (price * months * (1 - TERM_DISCOUNTS[months])).quantize(CENT)


# The story of an account, as the operator lives it

class Line:
    "A line of the model: offer, term, dates and state"

    def __init__(self, index, offer, term, start, record):
        self.index, self.offer, self.term = index, offer, term
        self.start, self.end, self.state = start, None, 'active'
        self.record = record

    def __repr__(self):
        return (f'{self.offer}#{self.index}(term {self.term}, '
            f'{self.start}..{self.end}, {self.state})')

    @property
    def ncf(self):
        return self.offer == 'ncf'

    @property
    def one_time(self):
        return not self.ncf and OFFERS[self.offer][1] == 'one_time'


class Known:
    """What the account's history says at a time: the lines and their
    state, the suspended days"""

    def __init__(self, lines, events):
        self.lines = {line.index: (line.state, line.end) for line in lines}
        self.suspensions = []
        since = None
        for date, action in events:
            if action == 'suspend':
                since = since or date
            elif since is not None:
                if date > since:
                    self.suspensions.append((since, date - DAY))
                since = None
        if since is not None:
            self.suspensions.append((since, D.max - DAY))

    def last(self, line):
        "Return the last day line runs, None when it runs on"
        state, end = self.lines[line.index]
        if state == 'cancelled':
            return line.start - DAY
        return end

    def runs(self, line, date):
        if line.index not in self.lines:
            return False
        last = self.last(line)
        return line.start <= date and (last is None or date <= last)

    def suspended(self, date):
        return any(a <= date <= b for a, b in self.suspensions)

    def charged_days(self, line, first, last):
        "Return the days of first–last line is charged for"
        return [d for d in each_day(first, last) if self.runs(line, d)
            and (line.offer in CHARGED_SUSPENDED or not self.suspended(d))]


class Model:
    "The rules of rating, applied to the story of one account"

    def __init__(self, case):
        self.case = case
        day = case.bill_day or case.start.day
        self.periods = Periods(case.start, case.cycle, day)
        self.slabs = NCF_SLABS[case.slabs]
        self.channels = {}

    def horizon(self, date):
        "The last day a bill on date charges to"
        first, last = self.periods.period(date)
        return last if self.case.mode == 'prepaid' else first - DAY

    def schedule(self, line):
        if self.case.align:
            return self.periods
        # Not aligned, a line follows its own periods: months of its term
        return Periods(line.start, line.term, line.start.day)

    def months(self, line):
        return self.schedule(line).months

    def period_price(self, line):
        months = self.months(line)
        if line.term == months and months in TERM_DISCOUNTS:
            return term_price(line.offer, months)
        return OFFERS[line.offer][0] * months

    def line_horizon(self, line, horizon, known):
        last = known.last(line)
        if last is not None and last <= horizon:
            return last
        schedule = self.schedule(line)
        if self.case.mode == 'prepaid':
            end = schedule.period(horizon)[1]
        else:
            end = schedule.period(horizon + DAY)[0] - DAY
        return min(last, end) if last is not None else end

    def ncf_rate(self, date, lines, known):
        "Return the monthly NCF at date"
        channels = set()
        for line in lines:
            if not line.ncf and known.runs(line, date):
                channels |= self.channels[line.offer]
        for limit, amount in self.slabs:
            if limit is None or len(channels) <= limit:
                return amount

    def amount(self, line, first, last, period, lines, known):
        """Return (charged days, amount) of first–last of period, or None
        when no day is charged"""
        days = known.charged_days(line, first, last)
        if not days:
            return None
        total = day_count(*period)
        if not line.ncf:
            return len(days), prorate(self.period_price(line), len(days),
                total)
        at_rate = defaultdict(int)
        for day in days:
            at_rate[self.ncf_rate(day, lines, known)] += 1
        months = self.months(line)
        return len(days), sum(prorate(rate * months, used, total)
            for rate, used in at_rate.items())

    def ceiling(self, line, period):
        "The most a period may cost"
        if line.ncf:
            return max(a for _, a in self.slabs) * self.months(line)
        return self.period_price(line)

    def simulate(self, lines, bills):
        """Return {line index: {period: (first, last, amount)}} of the
        recurring charges, each as known by the bill that made it, and
        {line index: bill date} of the one-time charges

        A line is charged from the day after the last day charged up to
        its horizon; a period of no charged day is not charged."""
        charges = defaultdict(dict)
        one_time = {}
        covered = {}
        for date, known in bills:
            horizon = self.horizon(date)
            for line in lines:
                if line.index not in known.lines:
                    continue
                state = known.lines[line.index][0]
                if line.one_time:
                    if (state != 'cancelled' and line.start <= horizon
                            and line.index not in one_time):
                        one_time[line.index] = date
                    continue
                if state == 'cancelled':
                    continue
                end = self.line_horizon(line, horizon, known)
                first = (covered[line.index] + DAY
                    if line.index in covered else line.start)
                for start, stop, *period in self.schedule(line).cut(
                        first, end):
                    period = tuple(period)
                    amount = self.amount(line, start, stop, period, [
                            other for other in lines
                            if other.index in known.lines], known)
                    if amount is None:
                        continue
                    assert period not in charges[line.index], (
                        'model', line, period)
                    charges[line.index][period] = (start, stop, amount[1])
                    covered[line.index] = stop
        return charges, one_time


# Hypothesis: the accounts and their stories

ACTIONS = st.one_of(
    st.tuples(st.just('subscribe'), st.sampled_from(sorted(OFFERS)),
        st.sampled_from(sorted(TERM_DISCOUNTS))),
    st.tuples(st.just('change'), st.sampled_from(BASE_PACKS),
        st.sampled_from(sorted(TERM_DISCOUNTS))),
    st.tuples(st.just('stop'), st.integers(0, 5),
        st.sampled_from(['today', 'back', 'start', 'ahead']),
        st.integers(1, 70)),
    st.tuples(st.just('suspend')),
    st.tuples(st.just('resume')),
    st.tuples(st.just('bill')),
    )


class Case:
    "An account and its story"

    def __init__(self, mode, cycle, bill_day, align, start, slabs, span,
            steps):
        self.mode, self.cycle, self.bill_day = mode, cycle, bill_day
        self.align, self.start, self.slabs = align, start, slabs
        self.span, self.steps = span, steps

    def __repr__(self):
        day = f'day {self.bill_day}' if self.bill_day else 'anniversary'
        return (f'Case({self.mode}, cycle {self.cycle}, {day}, '
            f'{"aligned" if self.align else "own periods"}, from '
            f'{self.start} for {self.span} days, slabs {self.slabs}, '
            f'steps {self.steps})')


@st.composite
def cases(draw):
    mode = draw(st.sampled_from(['prepaid', 'postpaid']))
    cycle = draw(st.sampled_from([1, 2, 3, 6, 12]))
    bill_day = draw(st.one_of(st.none(), st.integers(1, 31),
            st.sampled_from([28, 29, 30, 31])))
    # Only prepaid lines may renew on their own anniversary
    align = True if mode == 'postpaid' else draw(st.booleans())
    start = draw(st.dates(FIRST_DAY, LAST_START))
    slabs = draw(st.integers(0, len(NCF_SLABS) - 1))
    # From 3 to 14 months
    span = draw(st.integers(90, 425))
    first = draw(st.tuples(st.integers(0, 20), st.tuples(
                st.just('subscribe'), st.sampled_from(sorted(OFFERS)),
                st.sampled_from(sorted(TERM_DISCOUNTS)))))
    steps = draw(st.lists(st.tuples(st.integers(0, span), ACTIONS),
            min_size=3, max_size=14))
    return Case(mode, cycle, bill_day, align, start, slabs, span,
        sorted([first] + steps, key=lambda s: s[0]))


class RatingPropertyTestCase(BillingOperator, test_tryton._DBTestCase):
    "Test rating against a model of its rules"
    module = 'rsoft_billing'

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
        database=None, print_blob=False,
        suppress_health_check=[
            HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(cases())
    @with_transaction()
    def test_rating_follows_rules(self, case):
        "Every entitled day charged once; credits, NCF and rerating right"
        with self.fixture() as op:
            play = Play(self, op, case)
            play.run()
            play.check()


class Play:
    "Plays a case through the engine and its model side by side"

    def __init__(self, test, op, case):
        pool = Pool()
        NcfRule = pool.get('rsoft.ncf.rule')
        Wallet = pool.get('rsoft.wallet')
        self.test, self.op, self.case = test, op, case
        self.model = Model(case)
        self.products = {
            'gold': op.gold, 'silver': op.silver, 'base': op.base,
            'sports': op.sports, 'hd': op.alacarte_hd,
            'rental': op.rental, 'install': op.install,
            }
        for key, product in self.products.items():
            self.model.channels[key] = {c.lcn
                for c in product.template.get_offer_channels()
                if not c.mandated}
        # Created after the fixture's rule of the same day: it wins
        NcfRule.create([{
                    'name': "Test NCF", 'start_date': LAUNCH,
                    'second_tv_rate': Decimal('0.40'),
                    'slabs': [('create', [
                                {'sequence': i, 'max_channels': limit,
                                    'amount': amount}
                                for i, (limit, amount) in enumerate(
                                    NCF_SLABS[case.slabs])])],
                    }])
        values = {
            'billing_mode': case.mode, 'billing_cycle': case.cycle,
            'align_lines': case.align,
            }
        if case.bill_day:
            values.update(bill_day_mode='fixed', bill_day=case.bill_day)
        else:
            values['bill_day_mode'] = 'anniversary'
        self.subscriber = new_account(op.lco_a, case.start, **values)
        self.connection = self.subscriber.connections[0]
        if case.mode == 'prepaid':
            wallet, = Wallet.get_wallets([self.subscriber])
            Wallet.top_up([(wallet, WALLET, case.start)])
        self.lines = []
        self.events = []
        self.bills = []
        self.suspended = False
        self.today = case.start

    def run(self):
        """Play the steps, a bill run on the first day of each period of
        the account and a last bill at the end"""
        case = self.case
        end = case.start + datetime.timedelta(days=case.span)
        runs = []
        date = self.model.periods.period(case.start)[1] + DAY
        while date < end:
            runs.append(date)
            date = self.model.periods.period(date)[1] + DAY
        for offset, action in case.steps:
            date = case.start + datetime.timedelta(days=offset)
            while runs and runs[0] <= date:
                self.today = runs.pop(0)
                self.bill()
            self.today = date
            getattr(self, action[0])(*action[1:])
        for self.today in runs + [end]:
            self.bill()

    def open_lines(self, date):
        "The lines that may still be stopped and refuse a second alike"
        return [line for line in self.lines if line.state == 'active'
            and not line.ncf and (line.end is None or line.end >= date)]

    def subscribe(self, offer, term):
        if self.suspended:
            return
        for other in self.open_lines(self.today):
            if other.offer == offer or (
                    offer in BASE_PACKS and other.offer in BASE_PACKS):
                return
        if OFFERS[offer][1] == 'one_time':
            term = 1
        record = subscribe(
            self.connection, self.products[offer], self.today, term)
        self.lines.append(
            Line(len(self.lines), offer, term, self.today, record.id))
        if not any(line.ncf for line in self.lines):
            ncf, = [line for line in self.connection.__class__(
                    self.connection.id).lines if line.ncf]
            self.test.assertEqual(ncf.start_date, self.today)
            self.lines.append(
                Line(len(self.lines), 'ncf', 1, self.today, ncf.id))

    def change(self, offer, term):
        "Move to another base pack today"
        if self.suspended:
            return
        for other in self.open_lines(self.today):
            if other.offer in BASE_PACKS:
                if other.offer == offer:
                    return
                self._stop(other, self.today)
        self.subscribe(offer, term)

    def stop(self, pick, how, offset):
        lines = self.open_lines(D.min)
        if not lines:
            return
        line = lines[pick % len(lines)]
        date = {
            'today': self.today,
            'back': self.today - datetime.timedelta(days=offset),
            'start': line.start,
            'ahead': self.today + datetime.timedelta(days=offset % 20 + 1),
            }[how]
        self._stop(line, date)

    def _stop(self, line, date):
        pool = Pool()
        SubscriptionLine = pool.get('rsoft.subscription.line')
        SubscriptionLine.stop([SubscriptionLine(line.record)], date)
        if date - DAY < line.start:
            line.state = 'cancelled'
        else:
            line.state, line.end = 'ended', date - DAY

    def suspend(self):
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        if self.suspended:
            return
        Connection.do_suspend(
            [Connection(self.connection.id)], 'non_payment', date=self.today)
        self.events.append((self.today, 'suspend'))
        self.suspended = True

    def resume(self):
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        if not self.suspended:
            return
        Connection.resume([Connection(self.connection.id)], date=self.today)
        self.events.append((self.today, 'resume'))
        self.suspended = False

    def bill(self):
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        Charge = pool.get('rsoft.billing.charge')
        Subscriber.bill([Subscriber(self.subscriber.id)], self.today)
        self.bills.append((self.today, Known(self.lines, self.events)))
        domain = [('subscriber', '=', self.subscriber.id)]
        count = Charge.search(domain, count=True)
        # Rerating the same day charges nothing more
        Subscriber.bill([Subscriber(self.subscriber.id)], self.today)
        self.test.assertEqual(Charge.search(domain, count=True), count,
            msg=f"rerating on {self.today} charged again")

    def charges(self):
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        result = defaultdict(list)
        for charge in Charge.search_read(
                [('subscriber', '=', self.subscriber.id)],
                fields_names=['line', 'kind', 'period_start', 'period_end',
                    'date_from', 'date_to', 'charged_days', 'period_days',
                    'period_price', 'amount']):
            result[charge['line']].append(charge)
        return result

    def check(self):
        model = self.model
        charged, one_time = model.simulate(self.lines, self.bills)
        last_date, final = self.bills[-1]
        horizon = model.horizon(last_date)
        by_line = self.charges()
        errors = []
        for line in self.lines:
            charges = by_line.pop(line.record, [])
            if line.one_time:
                errors += self.check_one_time(
                    line, charges, line.index in one_time, final)
            else:
                errors += self.check_recurring(line, charges,
                    charged[line.index], final, horizon, last_date)
        if by_line:
            errors.append(f"charges of unknown lines: {dict(by_line)}")
        self.test.assertFalse(errors, msg='\n'.join(
                [f"{self.case!r}", f"lines: {self.lines}",
                    f"suspended: {final.suspensions}",
                    f"bills: {[d for d, _ in self.bills]}"] + errors))

    def check_one_time(self, line, charges, charged, final):
        errors = []
        kinds = sorted(c['kind'] for c in charges)
        price = OFFERS[line.offer][0]
        expected = price if charged and final.lines[line.index][0] != (
            'cancelled') else Decimal(0)
        net = sum(c['amount'] for c in charges)
        if kinds not in ([], ['one_time'], ['credit', 'one_time']):
            errors.append(f"{line}: charges {kinds}")
        if net != expected:
            errors.append(f"{line}: net {net}, expected {expected}")
        for charge in charges:
            if charge['kind'] == 'one_time' and (
                    charge['amount'] != price
                    or charge['date_from'] != line.start):
                errors.append(f"{line}: one-time charge {charge}")
        return errors

    def check_recurring(self, line, charges, simulated, final, horizon,
            last_date):
        "Check the charges of a recurring line against the model"
        model = self.model
        schedule = model.schedule(line)
        lines = self.lines
        errors = []
        recurring = sorted((c for c in charges if c['kind'] == 'recurring'),
            key=lambda c: c['date_from'])
        by_period = defaultdict(list)
        for charge in charges:
            period = (charge['period_start'], charge['period_end'])
            by_period[period].append(charge)
            if charge['kind'] == 'one_time':
                errors.append(f"{line}: one-time charge {charge}")
            if charge['kind'] == 'credit' and charge['amount'] >= 0:
                errors.append(f"{line}: credit not negative {charge}")
        previous = None
        for charge in recurring:
            period = (charge['period_start'], charge['period_end'])
            if (schedule.period(charge['date_from']) != period
                    or charge['date_to'] > period[1]
                    or charge['period_days'] != day_count(*period)):
                errors.append(f"{line}: not in its period {charge}")
            if not line.ncf and (
                    charge['period_price'] != model.period_price(line)):
                errors.append(f"{line}: period price {charge}, expected "
                    f"{model.period_price(line)}")
            if previous and previous['date_to'] >= charge['date_from']:
                errors.append(f"{line}: days charged twice: {previous} "
                    f"and {charge}")
            previous = charge
        # Every day charged by the rules is in one recurring window
        end = model.line_horizon(line, horizon, final)
        windows = [(c['date_from'], c['date_to']) for c in recurring]
        missing = [d for d in final.charged_days(line, line.start, end)
            if not any(a <= d <= b for a, b in windows)]
        if missing:
            errors.append(f"{line}: days never charged: {missing[0]}.."
                f"{missing[-1]} ({len(missing)} days)")
        last = final.last(line)
        periods = set(by_period) | set(simulated) | {
            (start, stop) for _, _, start, stop in schedule.cut(
                line.start, end)}
        for period in sorted(periods):
            net = sum(c['amount'] for c in by_period.get(period, []))
            window = simulated.get(period)
            # Credited once its period is over or the line ended before
            # the last day charged; until then, as charged
            settled = period[1] < last_date or (window is not None
                and last is not None and last < window[1])
            if settled:
                first = max(line.start, period[0])
                stop = min(period[1], end)
                amount = model.amount(line, first, stop, period, lines,
                    final) if first <= stop else None
                expected = amount[1] if amount else Decimal(0)
            else:
                expected = window[2] if window else Decimal(0)
            if net != expected:
                errors.append(f"{line}: period {period[0]}..{period[1]} "
                    f"{'settled' if settled else 'running'}: net {net}, "
                    f"expected {expected}; charges "
                    f"{self.describe(by_period.get(period, []))}")
            if not (0 <= net <= model.ceiling(line, period)):
                errors.append(f"{line}: period {period} net {net} out of "
                    f"0..{model.ceiling(line, period)}")
        return errors

    @staticmethod
    def describe(charges):
        return [(c['kind'], str(c['date_from']), str(c['date_to']),
                c['charged_days'], str(c['amount'])) for c in charges]

