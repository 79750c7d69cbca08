import datetime
from contextlib import contextmanager
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction

from .tools import (
    PaymentOperator,
    new_account,
)

D = datetime.date


# The generic module checks run once, in test_module.py
class PaymentTestCase(PaymentOperator, test_tryton._DBTestCase):
    "Payments: receipts, allocation, deposits and reversals"
    module = 'rsoft_payment'

    @contextmanager
    def set_up(self):
        "Yield (operator, payments, account factory)"
        with self.fixture() as (op, payments):

            def account(start, mode='postpaid', **values):
                values.update(billing_mode=mode, billing_cycle=1,
                    bill_day_mode='fixed', bill_day=1,
                    mobile='+919812345678', email='asha@example.com')
                return new_account(op.lco_a, start, **values)
            yield op, payments, account

    def bill(self, subscriber, date):
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        return Subscriber.bill([Subscriber(subscriber.id)], date)

    def postpaid_with_two_bills(self, op, account):
        "Return an account billed for March and April 2025, 524.39 each"
        subscriber = account(D(2025, 3, 1))
        subscribe(subscriber.connections[0], op.gold, D(2025, 3, 1))
        march, = self.bill(subscriber, D(2025, 4, 1))
        april, = self.bill(subscriber, D(2025, 5, 1))
        return subscriber, march, april

    def receivable_balance(self, subscriber):
        pool = Pool()
        Line = pool.get('account.move.line')
        lines = Line.search([
                ('party', '=', subscriber.party.id),
                ('account.type.receivable', '=', True),
                ])
        return sum((ml.debit - ml.credit for ml in lines), Decimal(0))

    @with_transaction()
    def test_cash_settles_oldest_invoice_first(self):
        "Cash pays March in full, part of April, and is numbered"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        Invoice = pool.get('account.invoice')
        with self.set_up() as (op, pay, account):
            subscriber, march, april = self.postpaid_with_two_bills(
                op, account)
            self.assertEqual(march.total_amount, Decimal('524.39'))
            self.assertEqual(april.total_amount, Decimal('524.39'))

            payment = Payment.record(
                subscriber, Decimal('700'), pay.methods['cash'],
                date=D(2025, 5, 3), collector=pay.agent)

            self.assertEqual(payment.state, 'received')
            self.assertEqual(payment.number, 'RCT00000001')
            self.assertEqual(payment.lco, op.lco_a)
            self.assertEqual(payment.allocation, 'oldest_first')
            self.assertEqual(
                [(a.kind, a.invoice, a.amount) for a in payment.allocations],
                [('invoice', march, Decimal('524.39')),
                    ('invoice', april, Decimal('175.61'))])
            march, april = Invoice.browse([march.id, april.id])
            self.assertEqual(march.state, 'paid')
            self.assertEqual(april.state, 'posted')
            self.assertEqual(april.amount_to_pay, Decimal('348.78'))
            self.assertEqual(payment.move.state, 'posted')
            cash_line, = [ml for ml in payment.move.lines if ml.debit]
            self.assertEqual(cash_line.account, pay.accounts['cash'])
            self.assertEqual(cash_line.debit, Decimal('700'))
            self.assertEqual(
                self.receivable_balance(subscriber), Decimal('348.78'))

            second = Payment.record(
                subscriber, Decimal('400'), pay.methods['upi'],
                date=D(2025, 5, 4), reference='UTR5566')
            self.assertEqual(second.state, 'cleared')
            self.assertEqual(second.collector, pay.online)
            self.assertEqual(
                [(a.kind, a.amount) for a in second.allocations],
                [('invoice', Decimal('348.78')),
                    ('advance', Decimal('51.22'))])
            self.assertEqual(Invoice(april.id).state, 'paid')
            self.assertEqual(
                self.receivable_balance(subscriber), Decimal('-51.22'))

    @with_transaction()
    def test_hardware_and_rentals_first(self):
        "The LCO's priority pays the bill with the box rental first"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        with self.set_up() as (op, pay, account):
            op.lco_a.payment_allocation = 'hardware_first'
            op.lco_a.save()
            subscriber = account(D(2025, 3, 1))
            connection = subscriber.connections[0]
            subscribe(connection, op.gold, D(2025, 3, 1))
            march, = self.bill(subscriber, D(2025, 4, 1))
            subscribe(connection, op.rental, D(2025, 4, 1))
            april, = self.bill(subscriber, D(2025, 5, 1))

            payment = Payment.record(
                subscriber, Decimal('100'), pay.methods['cash'],
                date=D(2025, 5, 3), collector=pay.counter)
            self.assertEqual(payment.allocation, 'hardware_first')
            allocation, = payment.allocations
            self.assertEqual(allocation.invoice, april)

    @with_transaction()
    def test_prepaid_payment_credits_wallet(self):
        "A prepaid account's payment goes to its wallet, through receivable"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        Wallet = pool.get('rsoft.wallet')
        with self.set_up() as (op, pay, account):
            subscriber = account(D(2025, 3, 1), mode='prepaid')
            payment = Payment.record(
                subscriber, Decimal('300'), pay.methods['cash'],
                date=D(2025, 3, 2), collector=pay.agent)

            allocation, = payment.allocations
            self.assertEqual(allocation.kind, 'wallet')
            self.assertEqual(allocation.wallet_entry.origin, payment)
            wallet, = Wallet.get_wallets([subscriber])
            self.assertEqual(wallet.balance, Decimal('300'))
            self.assertEqual(self.receivable_balance(subscriber), 0)
            self.assertTrue(allocation.line.reconciliation)

    @with_transaction()
    def test_external_id_recorded_once(self):
        "Recording the same bank reference again changes nothing"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        Wallet = pool.get('rsoft.wallet')
        with self.set_up() as (op, pay, account):
            subscriber = account(D(2025, 3, 1), mode='prepaid')
            first = Payment.record(
                subscriber, Decimal('500'), pay.methods['gateway'],
                date=D(2025, 3, 2), external_id='pay_29QQoUBi66xm2f')
            again = Payment.record(
                subscriber, Decimal('500'), pay.methods['gateway'],
                date=D(2025, 3, 2), external_id='pay_29QQoUBi66xm2f')
            self.assertEqual(again, first)
            self.assertEqual(Payment.search([], count=True), 1)
            wallet, = Wallet.get_wallets([subscriber])
            self.assertEqual(wallet.balance, Decimal('500'))

    @with_transaction()
    def test_cheque_deposited_then_bounced(self):
        "A bounced cheque reopens the bill and charges the bounce fee"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.move.line')
        with self.set_up() as (op, pay, account):
            subscriber, march, april = self.postpaid_with_two_bills(
                op, account)
            payment = Payment.record(
                subscriber, Decimal('524.39'), pay.methods['cheque'],
                date=D(2025, 5, 3), collector=pay.counter,
                reference='004512')
            self.assertEqual(Invoice(march.id).state, 'paid')

            Payment.deposit([payment], D(2025, 5, 4))
            self.assertEqual(payment.state, 'deposited')
            bank, = [ml for ml in payment.deposit_move.lines if ml.debit]
            self.assertEqual(bank.account, pay.bank)

            Payment.reverse([payment], 'bounced', note="Insufficient funds",
                fee=Decimal('250'), date=D(2025, 5, 7))

            self.assertEqual(payment.state, 'bounced')
            march = Invoice(march.id)
            self.assertEqual(march.state, 'posted')
            self.assertEqual(march.amount_to_pay, Decimal('524.39'))
            self.assertFalse(march.payment_lines)
            # The bank gives the money back: the reversal credits it
            credit, = [ml for ml in payment.reversal_move.lines
                if ml.credit]
            self.assertEqual(credit.account, pay.bank)
            self.assertEqual(payment.reversal_move.state, 'posted')
            # Nothing was edited: the receipt move is still there, posted
            self.assertEqual(payment.move.state, 'posted')
            fee = payment.fee_invoice
            self.assertEqual(fee.state, 'posted')
            self.assertEqual(fee.rsoft_subscriber, subscriber)
            self.assertEqual(fee.untaxed_amount, Decimal('250'))
            self.assertEqual(
                self.receivable_balance(subscriber),
                Decimal('524.39') * 2 + fee.total_amount)
            receipt_lines = Line.search([
                    ('move', 'in', [payment.move.id,
                            payment.reversal_move.id]),
                    ('account.type.receivable', '=', True),
                    ])
            self.assertTrue(all(ml.reconciliation for ml in receipt_lines))

            with self.assertRaises(UserError):
                Payment.reverse([payment], 'other')

    @with_transaction()
    def test_prepaid_reversal_takes_back_wallet(self):
        "A reversed prepaid payment leaves its wallet, even below zero"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        Wallet = pool.get('rsoft.wallet')
        with self.set_up() as (op, pay, account):
            subscriber = account(D(2025, 3, 1), mode='prepaid')
            subscribe(subscriber.connections[0], op.gold, D(2025, 3, 1))
            payment = Payment.record(
                subscriber, Decimal('600'), pay.methods['bank_transfer'],
                date=D(2025, 3, 1), reference='NEFT0001')
            self.bill(subscriber, D(2025, 3, 1))
            wallet, = Wallet.get_wallets([subscriber])
            self.assertEqual(wallet.balance, Decimal('75.61'))

            Payment.reverse([payment], 'wrong_account', date=D(2025, 3, 5))
            self.assertEqual(payment.state, 'reversed')
            self.assertEqual(
                Wallet(wallet.id).balance, Decimal('-524.39'))
            entry = payment.allocations[0].wallet_entry
            self.assertEqual(entry.reversal.amount, Decimal('-600'))
            self.assertEqual(self.receivable_balance(subscriber), 0)

    @with_transaction()
    def test_refusals(self):
        "Bad input is refused with a message and changes nothing"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        with self.set_up() as (op, pay, account):
            subscriber = account(D(2025, 3, 1), mode='prepaid')
            with self.assertRaisesRegex(UserError, "cheque number"):
                Payment.record(
                    subscriber, Decimal('300'), pay.methods['cheque'],
                    date=D(2025, 3, 2), collector=pay.counter)
            payment = Payment.record(
                subscriber, Decimal('300'), pay.methods['cash'],
                date=D(2025, 3, 2), collector=pay.counter)
            with self.assertRaisesRegex(UserError, "not a cheque"):
                Payment.reverse([payment], 'bounced')
            with self.assertRaisesRegex(UserError, "cannot be deleted"):
                Payment.delete([payment])
            with self.assertRaises(UserError):
                Payment.record(
                    subscriber, Decimal('-5'), pay.methods['cash'],
                    date=D(2025, 3, 2), collector=pay.counter)

