"""The renewal of prepaid accounts at the counter

Gold Pack Rs 310 and NCF Rs 130 a month; GST 18% (79.20) and a 1% cess
on the amount with GST (5.19): Rs 524.39 a month."""
import datetime
from decimal import Decimal

from trytond.modules.rsoft_billing.renewal import RenewalError
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction

from .tools import AccountsMixin, BillingOperator

D = datetime.date
MONTH = Decimal('524.39')


class RenewalTestCase(AccountsMixin, BillingOperator, _DBTestCase):
    "Test the renewal of prepaid accounts"
    module = 'rsoft_billing'

    def gold_account(self, op, account, wallet=None):
        "Return an account with the Gold Pack billed for March 2025"
        subscriber = account(D(2025, 3, 1))
        subscribe(subscriber.connections[0], op.gold, D(2025, 3, 1))
        if wallet is not None:
            self.top_up(subscriber, D(2025, 3, 1), wallet)
        self.bill(subscriber, D(2025, 3, 1))
        return self.read(subscriber)

    @staticmethod
    def read(subscriber):
        return Pool().get('rsoft.subscriber')(subscriber.id)

    @staticmethod
    def lines(subscriber):
        return sorted(
            (line.product.rec_name, line.state, line.start_date,
                line.end_date)
            for c in subscriber.connections for line in c.lines)

    @with_transaction()
    def test_renew_ahead(self):
        "Renewed in March, the account is paid to the end of April"
        Subscriber = Pool().get('rsoft.subscriber')
        with self.set_up(mode='prepaid') as (op, account):
            subscriber = self.gold_account(op, account)
            self.assertEqual(subscriber.billed_until, D(2025, 3, 31))
            balance = subscriber.wallet_balance

            invoice, = Subscriber.renew([subscriber], D(2025, 3, 10))
            self.assertEqual(invoice.invoice_date, D(2025, 3, 10))
            self.assertEqual(invoice.state, 'paid')
            self.assertEqual(invoice.total_amount, MONTH)
            self.assertEqual(sorted(
                    (line.product.rec_name, line.unit_price)
                    for line in invoice.lines), [
                    ("Gold Pack", Decimal('310.00')),
                    ("NCF", Decimal('130.00'))])
            subscriber = self.read(subscriber)
            self.assertEqual(subscriber.billed_until, D(2025, 4, 30))
            self.assertEqual(subscriber.next_bill_date, D(2025, 5, 1))
            self.assertEqual(subscriber.wallet_balance, balance - MONTH)

            # Again: May
            Subscriber.renew([subscriber], D(2025, 3, 11))
            self.assertEqual(
                self.read(subscriber).billed_until, D(2025, 5, 31))
            # The bill run of 1 April finds April paid
            self.assertEqual(self.bill(subscriber, D(2025, 4, 1)), [])

    @with_transaction()
    def test_renew_due(self):
        "Renewed after its bill date, the account pays the running month"
        Subscriber = Pool().get('rsoft.subscriber')
        with self.set_up(mode='prepaid') as (op, account):
            subscriber = self.gold_account(op, account)
            invoice, = Subscriber.renew([subscriber], D(2025, 4, 5))
            self.assertEqual(invoice.total_amount, MONTH)
            self.assertEqual(
                self.read(subscriber).billed_until, D(2025, 4, 30))

    @with_transaction()
    def test_renew_expired(self):
        "Lines expired for lack of balance are taken again from the renewal"
        Subscriber = Pool().get('rsoft.subscriber')
        with self.set_up(mode='prepaid', wallet=None) as (op, account):
            subscriber = self.gold_account(op, account, Decimal('600'))
            # 75.61 left: April cannot be paid, the lines expire
            self.bill(subscriber, D(2025, 4, 1))
            self.assertEqual(self.lines(self.read(subscriber)), [
                    ("Gold Pack", 'ended', D(2025, 3, 1), D(2025, 3, 31)),
                    ("NCF", 'ended', D(2025, 3, 1), D(2025, 3, 31)),
                    ])
            self.top_up(subscriber, D(2025, 4, 5), Decimal('1000'))

            invoice, = Subscriber.renew([subscriber], D(2025, 4, 6))
            subscriber = self.read(subscriber)
            self.assertEqual(self.lines(subscriber), [
                    ("Gold Pack", 'active', D(2025, 4, 6), None),
                    ("Gold Pack", 'ended', D(2025, 3, 1), D(2025, 3, 31)),
                    ("NCF", 'active', D(2025, 4, 6), None),
                    ("NCF", 'ended', D(2025, 3, 1), D(2025, 3, 31)),
                    ])
            # 25 days of April's 30: 310 x 25 / 30
            gold, = [line for line in invoice.lines
                if line.product == op.gold]
            self.assertEqual(gold.unit_price, Decimal('258.33'))
            self.assertEqual(subscriber.billed_until, D(2025, 4, 30))

    @with_transaction()
    def test_renew_wallet_short(self):
        "A wallet short is refused with the amount missing; nothing expires"
        Subscriber = Pool().get('rsoft.subscriber')
        Charge = Pool().get('rsoft.billing.charge')
        with self.set_up(mode='prepaid', wallet=None) as (op, account):
            subscriber = self.gold_account(op, account, Decimal('600'))
            lines = self.lines(subscriber)
            charges = Charge.search_count([])
            with self.assertRaisesRegex(RenewalError,
                    r'holds ₹75\.61, not enough to renew for ₹524\.39: '
                    r'₹448\.78 is missing'):
                Subscriber.renew([subscriber], D(2025, 3, 10))
            subscriber = self.read(subscriber)
            self.assertEqual(subscriber.billed_until, D(2025, 3, 31))
            self.assertEqual(subscriber.wallet_balance, Decimal('75.61'))
            self.assertEqual(self.lines(subscriber), lines)
            self.assertEqual(Charge.search_count([]), charges)

    @with_transaction()
    def test_renew_each(self):
        "One account refused does not stop nor undo the other"
        Subscriber = Pool().get('rsoft.subscriber')
        with self.set_up(mode='prepaid', wallet=None) as (op, account):
            rich = self.gold_account(op, account, Decimal('2000'))
            poor = self.gold_account(op, account, Decimal('600'))
            results = Subscriber.renew_each([rich, poor], D(2025, 3, 10))
            (first, invoices, refusal), (second, none, message) = results
            self.assertEqual((first, refusal), (rich, None))
            self.assertEqual([i.total_amount for i in invoices], [MONTH])
            self.assertEqual((second, none), (poor, []))
            self.assertIn("₹448.78 is missing", message)
            self.assertEqual(self.read(rich).billed_until, D(2025, 4, 30))
            self.assertEqual(self.read(poor).billed_until, D(2025, 3, 31))

    @with_transaction()
    def test_renew_postpaid(self):
        "A postpaid account has nothing to renew"
        Subscriber = Pool().get('rsoft.subscriber')
        with self.set_up(mode='postpaid') as (op, account):
            subscriber = account(D(2025, 3, 1))
            subscribe(subscriber.connections[0], op.gold, D(2025, 3, 1))
            with self.assertRaisesRegex(RenewalError, "prepaid"):
                Subscriber.renew([subscriber], D(2025, 3, 10))
