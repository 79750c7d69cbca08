"The printed receipt of a payment"
import datetime
import io
from decimal import Decimal

from pypdf import PdfReader

from trytond.model.exceptions import AccessError
from trytond.modules.rsoft_partner.tests.tools import create_lco_user
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

from .tools import PaymentOperator, new_account

D = datetime.date
COMPANY_GSTIN = '27AAACR5055K1Z7'


def pdf_text(content):
    "Return the text of the PDF, its pages joined"
    reader = PdfReader(io.BytesIO(content))
    return '\n'.join(p.extract_text() for p in reader.pages)


class ReceiptTestCase(PaymentOperator, test_tryton._DBTestCase):
    "Test the printed receipts"
    module = 'rsoft_payment'

    def installed(self, op, lco, name):
        """Return a prepaid account of lco installed on 1 March 2025 and
        its installation bill, left open by its empty wallet"""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        subscriber = new_account(lco, D(2025, 3, 1), name=name,
            billing_mode='prepaid', billing_cycle=1, bill_day_mode='fixed',
            bill_day=1)
        subscribe(subscriber.connections[0], op.install, D(2025, 3, 1))
        invoice, = Subscriber.bill([Subscriber(subscriber.id)], D(2025, 3, 1))
        return subscriber, invoice

    def print_receipts(self, payments):
        Receipt = Pool().get('rsoft.payment.receipt', type='report')
        return Receipt.execute([p.id for p in payments], {})

    @with_transaction()
    def test_receipt_bill_and_wallet(self):
        """The receipt of cash that paid the installation bill and topped
        up the wallet shows both, with the operator's GSTIN and the LCO"""
        pool = Pool()
        Identifier = pool.get('party.identifier')
        Payment = pool.get('rsoft.payment')
        with self.fixture() as (op, pay):
            Identifier.create([{
                        'party': op.company.party.id, 'type': 'in_vat',
                        'code': COMPANY_GSTIN,
                        }])
            asha, invoice = self.installed(op, op.lco_a, "Asha Patil")
            # 350 + GST 63.00 + cess 1% of 413.00 = 4.13
            self.assertEqual(invoice.total_amount, Decimal('417.13'))
            self.assertEqual(invoice.state, 'posted')
            payment = Payment.record(
                asha, Decimal('500'), pay.methods['cash'],
                date=D(2025, 3, 2), collector=pay.agent)
            self.assertEqual(
                [(a.kind, a.amount) for a in payment.allocations],
                [('invoice', Decimal('417.13')),
                    ('wallet', Decimal('82.87'))])

            oext, content, _, name = self.print_receipts([payment])

        self.assertEqual(oext, 'pdf')
        self.assertTrue(content.startswith(b'%PDF'))
        self.assertEqual(name, f"Receipt-{payment.number}")
        text = pdf_text(content)
        self.assertIn("Payment Receipt", text)
        self.assertIn(f"Receipt Number {payment.number}", text)
        self.assertIn("Date 03/02/2025", text)
        self.assertIn("Received From Asha Patil", text)
        self.assertIn(f"Customer ID {asha.customer_id}", text)
        self.assertIn("Mode Cash\n", text)
        self.assertIn(f"Collected By {pay.agent.name} (Field Agent)", text)
        self.assertIn(f"LCO {op.lco_a.party.rec_name} ({op.lco_a.code})",
            text)
        self.assertIn("RSoft Cable Network", text)
        self.assertIn(f"GSTIN: {COMPANY_GSTIN}", text)
        self.assertIn(f"Bill {invoice.number} of 03/01/2025 ₹417.13", text)
        self.assertIn("Wallet Top-up ₹82.87", text)
        self.assertIn("Amount Received ₹500.00", text)
        self.assertIn("Rupees five hundred only", text)
        self.assertNotIn("CANCELLED", text)
        self.assertNotIn("subject to realisation", text)

    @with_transaction()
    def test_receipt_cancelled(self):
        "A bounced cheque's receipt is printed as cancelled, with why"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        with self.fixture() as (op, pay):
            asha, invoice = self.installed(op, op.lco_a, "Asha Patil")
            payment = Payment.record(
                asha, Decimal('417.13'), pay.methods['cheque'],
                date=D(2025, 3, 2), collector=pay.counter,
                reference='004512')
            _, content, _, _ = self.print_receipts([payment])
            text = pdf_text(content)
            self.assertIn("Reference 004512", text)
            self.assertIn("subject to realisation", text)
            self.assertNotIn("CANCELLED", text)

            Payment.reverse([payment], 'bounced', note="Insufficient funds",
                date=D(2025, 3, 6))
            self.assertEqual(payment.state, 'bounced')
            _, content, _, _ = self.print_receipts([payment])
        text = pdf_text(content)
        self.assertIn("CANCELLED: Bounced", text)
        self.assertIn(
            "Cheque Bounced, 03/06/2025 – Insufficient funds", text)
        self.assertIn(f"Receipt Number {payment.number}", text)
        self.assertIn("Amount Received ₹417.13", text)
        self.assertNotIn("subject to realisation", text)

    @with_transaction()
    def test_lco_prints_own_receipts(self):
        "An LCO user prints the receipts of its subscribers only"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        Keyword = pool.get('ir.action.keyword')
        with self.fixture() as (op, pay):
            asha, _ = self.installed(op, op.lco_a, "Asha Patil")
            ravi, _ = self.installed(op, op.lco_b, "Ravi Kumar")
            ours, theirs = [Payment.record(
                    subscriber, Decimal('100'), pay.methods['upi'],
                    date=D(2025, 3, 2), reference=reference)
                for subscriber, reference in [
                    (asha, 'UTR0001'), (ravi, 'UTR0002')]]
            user = create_lco_user('lco_a', op.lco_a)
            with Transaction().set_user(user.id), check_access():
                # The Print button of the payment form offers it
                self.assertIn('rsoft.payment.receipt', [
                        a['report_name'] for a in Keyword.get_keyword(
                            'form_print', ('rsoft.payment', -1))])
                _, content, _, _ = self.print_receipts([ours])
                for payments in [[theirs], [ours, theirs]]:
                    with self.assertRaises(AccessError):
                        self.print_receipts(payments)
        text = pdf_text(content)
        self.assertIn(f"Receipt Number {ours.number}", text)
        self.assertIn(f"Customer ID {asha.customer_id}", text)
        self.assertIn("Mode UPI (UPI/Mobile Wallet)", text)
        self.assertIn("Reference UTR0001", text)
        self.assertNotIn("Ravi Kumar", text)
