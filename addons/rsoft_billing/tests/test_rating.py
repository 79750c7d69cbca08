"""Rating: one regression test per defect the independent checks found

Each test is the example of the issue that reported it, with the amounts
an operator would check on the account's charges."""
import datetime
from decimal import Decimal

from trytond.modules.rsoft_subscriber.tests.tools import LAUNCH, subscribe
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction

from .tools import AccountsMixin, BillingOperator

D = datetime.date


class RatingTestCase(AccountsMixin, BillingOperator, _DBTestCase):
    "Test the rating of subscription lines"
    module = 'rsoft_billing'

    @staticmethod
    def charges(line):
        "Return (kind, date from, date to, amount) of line's charges"
        Charge = Pool().get('rsoft.billing.charge')
        return [(c.kind, c.date_from, c.date_to, c.amount)
            for c in Charge.search([('line', '=', line.id)],
                order=[('period_start', 'ASC'), ('kind', 'DESC'),
                    ('id', 'ASC')])]

    @staticmethod
    def net(line):
        Charge = Pool().get('rsoft.billing.charge')
        return sum(c.amount for c in Charge.search([('line', '=', line.id)]))

    @with_transaction()
    def test_unaligned_line_charged_once_per_own_period(self):
        "A quarterly line on a monthly prepaid account: once a quarter"
        with self.set_up(mode='prepaid', align_lines=False) as (op, account):
            subscriber = account(D(2025, 1, 1))
            line = subscribe(
                subscriber.connections[0], op.gold, D(2025, 1, 1), term=3)
            for month in range(1, 6):
                self.bill(subscriber, D(2025, month, 1))
            # Gold is 310 a month, 883.50 a quarter (5% off)
            self.assertEqual(self.charges(line), [
                    ('recurring', D(2025, 1, 1), D(2025, 3, 31),
                        Decimal('883.50')),
                    ('recurring', D(2025, 4, 1), D(2025, 6, 30),
                        Decimal('883.50')),
                    ])

    @with_transaction()
    def test_same_day_take_and_drop_credited(self):
        "A prepaid line stopped on the day it started costs nothing"
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        with self.set_up(mode='prepaid') as (op, account):
            subscriber = account(D(2025, 3, 1))
            line = subscribe(
                subscriber.connections[0], op.gold, D(2025, 3, 10))
            self.bill(subscriber, D(2025, 3, 10))
            Line.stop([Line(line.id)], D(2025, 3, 10))
            self.assertEqual(Line(line.id).state, 'cancelled')
            self.bill(subscriber, D(2025, 3, 10))
            self.assertEqual(self.charges(line), [
                    ('recurring', D(2025, 3, 10), D(2025, 3, 31),
                        Decimal('220.00')),
                    ('credit', D(2025, 3, 10), D(2025, 3, 31),
                        Decimal('-220.00')),
                    ])
            # Nothing more on the next bills
            self.bill(subscriber, D(2025, 4, 1))
            self.assertEqual(self.net(line), 0)
            self.assertEqual(len(self.charges(line)), 2)

    @with_transaction()
    def test_same_day_upgrade_and_downgrade_quarterly(self):
        "Upgraded and downgraded on one day: the upgrade costs nothing"
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        with self.set_up(mode='prepaid', cycle=3) as (op, account):
            subscriber = account(D(2025, 1, 1))
            connection = subscriber.connections[0]
            silver = subscribe(connection, op.silver, D(2025, 1, 1), term=3)
            self.bill(subscriber, D(2025, 1, 1))
            Line.stop([silver], D(2025, 2, 1))
            gold = subscribe(connection, op.gold, D(2025, 2, 1), term=3)
            self.bill(subscriber, D(2025, 2, 1))
            Line.stop([gold], D(2025, 2, 1))
            silver2 = subscribe(connection, op.silver, D(2025, 2, 1), term=3)
            self.bill(subscriber, D(2025, 2, 1))
            self.bill(subscriber, D(2025, 4, 1))

            self.assertEqual(self.net(gold), 0)
            # Silver is 570 a quarter: 31 days then 59 days of 90
            self.assertEqual(self.net(silver), Decimal('196.33'))
            self.assertEqual(
                self.charges(silver2)[0],
                ('recurring', D(2025, 2, 1), D(2025, 3, 31),
                    Decimal('373.67')))

    @with_transaction()
    def test_back_dated_stop_credits_what_was_charged(self):
        "A stop back-dated before the renewal credits the renewal, no more"
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        with self.set_up(mode='prepaid') as (op, account):
            subscriber = account(D(2025, 1, 1))
            line = subscribe(
                subscriber.connections[0], op.gold, D(2025, 1, 1))
            self.bill(subscriber, D(2025, 1, 1))
            self.bill(subscriber, D(2025, 2, 1))
            # On 2 February, stopped with effect from 31 January
            Line.stop([Line(line.id)], D(2025, 1, 31))
            self.bill(subscriber, D(2025, 2, 2))
            self.assertEqual(self.charges(line), [
                    ('recurring', D(2025, 1, 1), D(2025, 1, 31),
                        Decimal('310.00')),
                    ('credit', D(2025, 1, 31), D(2025, 1, 31),
                        Decimal('-10.00')),
                    ('recurring', D(2025, 2, 1), D(2025, 2, 28),
                        Decimal('310.00')),
                    ('credit', D(2025, 2, 1), D(2025, 2, 28),
                        Decimal('-310.00')),
                    ])
            self.bill(subscriber, D(2025, 3, 1))
            self.assertEqual(self.net(line), Decimal('300.00'))

    @with_transaction()
    def test_back_dated_stop_by_weeks(self):
        "Back-dated by 20 days across a renewal: never below zero"
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        with self.set_up(mode='prepaid') as (op, account):
            subscriber = account(D(2025, 1, 1))
            line = subscribe(
                subscriber.connections[0], op.gold, D(2025, 1, 1))
            self.bill(subscriber, D(2025, 1, 1))
            self.bill(subscriber, D(2025, 2, 1))
            Line.stop([Line(line.id)], D(2025, 1, 12))
            self.bill(subscriber, D(2025, 2, 2))
            by_period = {}
            for kind, date_from, _, amount in self.charges(line):
                month = date_from.month
                by_period[month] = by_period.get(month, 0) + amount
            # January: 11 of 31 days; February: nothing
            self.assertEqual(by_period, {
                    1: Decimal('110.00'), 2: Decimal('0.00')})

    @with_transaction()
    def test_ncf_rounded_once_per_rate(self):
        "Days at the same NCF are added up before rounding"
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        Charge = pool.get('rsoft.billing.charge')
        with self.set_up(day=31) as (op, account):
            subscriber = account(D(2024, 8, 1))
            pack = subscribe(
                subscriber.connections[0], op.sports, D(2024, 8, 1))
            # A one-day pack cuts the NCF's period on 1 and 2 August
            Line.stop([pack], D(2024, 8, 2))
            self.bill(subscriber, D(2024, 8, 31))
            ncf, = Charge.search([
                    ('subscriber', '=', subscriber.id),
                    ('product', '=', op.ncf.id)])
            self.assertEqual(
                (ncf.period_start, ncf.period_end, ncf.charged_days),
                (D(2024, 7, 31), D(2024, 8, 30), 30))
            # 130 × 30 / 31 = 125.806…
            self.assertEqual(ncf.amount, Decimal('125.81'))

    @with_transaction()
    def test_ncf_with_suspension_rounded_once(self):
        "A suspension splits the NCF's days, not its rounding"
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Charge = pool.get('rsoft.billing.charge')
        with self.set_up(day=31) as (op, account):
            subscriber = account(D(2024, 7, 31))
            connection = subscriber.connections[0]
            subscribe(connection, op.sports, D(2024, 7, 31))
            Connection.do_suspend(
                [connection], 'non_payment', date=D(2024, 8, 4))
            Connection.resume(
                [Connection(connection.id)], date=D(2024, 8, 30))
            self.bill(subscriber, D(2024, 8, 31))
            ncf, = Charge.search([
                    ('subscriber', '=', subscriber.id),
                    ('product', '=', op.ncf.id)])
            self.assertEqual(ncf.charged_days, 5)
            # 130 × 5 / 31 = 20.967…, where 4 days then 1 day rounded
            # apart gave 16.77 + 4.19 = 20.96
            self.assertEqual(ncf.amount, Decimal('20.97'))
            self.assertIn("5 of 31 days", ncf.description)

    @staticmethod
    def ncf_slabs(*slabs):
        "Give the operator NCF slabs of (max channels, amount)"
        pool = Pool()
        NcfRule = pool.get('rsoft.ncf.rule')
        # Created after the fixture's rule of the same day: it wins
        NcfRule.create([{
                    'name': "Small slabs", 'start_date': LAUNCH,
                    'second_tv_rate': Decimal('0.40'),
                    'slabs': [('create', [
                                {'sequence': i, 'max_channels': limit,
                                    'amount': Decimal(amount)}
                                for i, (limit, amount) in enumerate(slabs)])],
                    }])

    @staticmethod
    def period_net(line, start):
        Charge = Pool().get('rsoft.billing.charge')
        return sum(c.amount for c in Charge.search([
                    ('line', '=', line.id), ('period_start', '=', start)]))

    @staticmethod
    def ncf_line(subscriber):
        Connection = Pool().get('rsoft.connection')
        connection = Connection(subscriber.connections[0].id)
        line, = [line for line in connection.lines if line.ncf]
        return line

    @with_transaction()
    def test_prepaid_ncf_dearer_mid_period(self):
        "A channel added mid-period: the dearer NCF is charged for its days"
        with self.set_up(mode='prepaid') as (op, account):
            self.ncf_slabs((1, '117.37'), (2, '130.00'))
            subscriber = account(D(2025, 1, 1))
            connection = subscriber.connections[0]
            # One channel counted for the NCF, then a second from 15 Feb
            subscribe(connection, op.sports, D(2025, 1, 1))
            self.bill(subscriber, D(2025, 2, 1))
            subscribe(connection, op.alacarte_hd, D(2025, 2, 15))
            self.bill(subscriber, D(2025, 3, 1))
            self.bill(subscriber, D(2025, 3, 2))
            ncf = self.ncf_line(subscriber)
            # 117.37 × 14/28 + 130 × 14/28 = 58.685 + 65.00
            self.assertEqual(
                self.period_net(ncf, D(2025, 2, 1)), Decimal('123.69'))
            february = [kind for kind, date_from, _, _ in self.charges(ncf)
                if date_from.month == 2]
            self.assertEqual(february, ['recurring', 'adjustment'])

    @with_transaction()
    def test_prepaid_resumed_days_charged(self):
        "Charged while suspended, then resumed: the days after are due"
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        with self.set_up(mode='prepaid') as (op, account):
            subscriber = account(D(2025, 1, 1))
            connection = subscriber.connections[0]
            gold = subscribe(connection, op.gold, D(2025, 1, 10))
            Connection.do_suspend(
                [connection], 'non_payment', date=D(2025, 1, 12))
            self.bill(subscriber, D(2025, 1, 15))
            # Only the 10th and 11th were charged: the suspension runs
            self.assertEqual(self.net(gold), Decimal('20.00'))
            Connection.resume([Connection(connection.id)], date=D(2025, 1, 20))
            self.bill(subscriber, D(2025, 2, 1))
            self.bill(subscriber, D(2025, 2, 2))
            # 10 to 11 and 20 to 31 January: 14 days of 31
            self.assertEqual(
                self.period_net(gold, D(2025, 1, 1)), Decimal('140.00'))
            self.assertEqual(
                self.period_net(self.ncf_line(subscriber), D(2025, 1, 1)),
                Decimal('58.71'))

    @with_transaction()
    def test_back_dated_stop_after_suspension_credit(self):
        "A period credited for a suspension is credited again for a stop"
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Line = pool.get('rsoft.subscription.line')
        with self.set_up(mode='prepaid') as (op, account):
            subscriber = account(D(2025, 1, 1))
            connection = subscriber.connections[0]
            gold = subscribe(connection, op.gold, D(2025, 1, 1))
            self.bill(subscriber, D(2025, 1, 1))
            Connection.do_suspend(
                [connection], 'non_payment', date=D(2025, 1, 10))
            Connection.resume([Connection(connection.id)], date=D(2025, 1, 15))
            self.bill(subscriber, D(2025, 2, 1))
            self.assertEqual(
                self.period_net(gold, D(2025, 1, 1)), Decimal('260.00'))
            # On 5 February, stopped with effect from 20 January
            Line.stop([Line(gold.id)], D(2025, 1, 20))
            self.bill(subscriber, D(2025, 2, 5))
            # 1 to 9 and 15 to 19 January: 14 days of 31
            self.assertEqual(
                self.period_net(gold, D(2025, 1, 1)), Decimal('140.00'))
            self.assertEqual(
                [(k, a) for k, f, _, a in self.charges(gold)
                    if f < D(2025, 2, 1)],
                [('recurring', Decimal('310.00')),
                    ('credit', Decimal('-50.00')),
                    ('credit', Decimal('-120.00'))])
            # Rating again changes nothing
            self.bill(subscriber, D(2025, 2, 5))
            self.assertEqual(len(self.charges(gold)), 5)
