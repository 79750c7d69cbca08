"""The receipts of payments on the portals: a subscriber downloads its
own, an LCO those of its subscribers"""
import io
from decimal import Decimal
from http import HTTPStatus

from pypdf import PdfReader

from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME

from .test_portal_subscriber import BASE, SubscriberClientMixin
from .tools import PortalOperator, csrf_token

LCO_BASE = f'/{DB_NAME}/portal/lco'


def pdf_text(response):
    reader = PdfReader(io.BytesIO(response.get_data()))
    return '\n'.join(p.extract_text() for p in reader.pages)


class PortalReceiptTestCase(
        SubscriberClientMixin, PortalOperator, test_tryton._DBTestCase):
    "Test the receipts on the subscriber and LCO portals"
    module = 'rsoft_selfcare'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def read():
            with cls.fixture(cls) as op:
                return {code: {
                        'id': {name: a[name].id for name in [
                                'subscriber', 'invoice', 'payment']},
                        'number': a['payment'].number,
                        **{name: a[name] for name in [
                                'customer_id', 'name', 'mobile', 'email']},
                        } for code, a in op.accounts.items()}
        accounts = run(read)
        cls.a, cls.b = (accounts[code] for code in sorted(accounts))

    def assertReceipt(self, response, account):
        "Assert response is the PDF of the receipt of account's payment"
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(response.headers['Content-Type'], 'application/pdf')
        self.assertEqual(response.headers['Content-Disposition'],
            f'attachment; filename="{account["number"]}.pdf"')
        self.assertTrue(response.get_data().startswith(b'%PDF'))
        text = pdf_text(response)
        self.assertIn(f"Receipt Number {account['number']}", text)
        self.assertIn(f"Customer ID {account['customer_id']}", text)
        self.assertIn("Amount Received ₹100.00", text)

    def test_subscriber_receipt(self):
        "A subscriber downloads its receipt from its bills, not another's"
        client = self.subscriber_client(self.a)
        payment = self.a['id']['payment']
        body = client.get(f'{BASE}/bills').get_data(as_text=True)
        self.assertIn(f'{BASE}/receipts/{payment}.pdf', body)
        self.assertNotIn(f"/receipts/{self.b['id']['payment']}.pdf", body)
        self.assertReceipt(
            client.get(f'{BASE}/receipts/{payment}.pdf'), self.a)

        for other in [self.b['id']['payment'], self.a['id']['invoice']]:
            with self.subTest(id=other):
                response = client.get(f'{BASE}/receipts/{other}.pdf')
                self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
                self.assertNotIn(b'%PDF', response.get_data())

    def test_draft_no_receipt(self):
        "A payment not received yet has no receipt"
        def create():
            pool = Pool()
            Payment = pool.get('rsoft.payment')
            received = Payment(self.a['id']['payment'])
            draft, = Payment.copy([received], default={'state': 'draft'})
            return draft.id

        def delete(payment_id):
            Payment = Pool().get('rsoft.payment')
            Payment.delete([Payment(payment_id)])
        draft = run(create)
        self.addCleanup(run, delete, draft)
        client = self.subscriber_client(self.a)
        response = client.get(f'{BASE}/receipts/{draft}.pdf')
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

    def test_lco_receipt(self):
        """The LCO prints its subscriber's receipt from the account's page
        and after collecting, not the receipt of another LCO's"""
        client = self.logged_in(self.a)
        payment = self.a['id']['payment']
        body = client.get(f"{LCO_BASE}/subscribers/"
            f"{self.a['id']['subscriber']}").get_data(as_text=True)
        self.assertIn(f'{LCO_BASE}/receipts/{payment}.pdf', body)
        self.assertReceipt(
            client.get(f'{LCO_BASE}/receipts/{payment}.pdf'), self.a)
        response = client.get(
            f"{LCO_BASE}/receipts/{self.b['id']['payment']}.pdf")
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        # The subscriber portal's session is not the LCO's
        response = self.client().get(f'{BASE}/receipts/{payment}.pdf')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)

    def test_lco_collect_receipt(self):
        "The page of a collection links to the receipt of the money"
        client = self.logged_in(self.a)
        url = f"{LCO_BASE}/subscribers/{self.a['id']['subscriber']}/collect"
        method = run(lambda: Pool().get('rsoft.payment.method').search(
                [('kind', '=', 'cash')])[0].id)
        page = client.get(url)
        response = client.post(url, data={
                'csrf_token': csrf_token(page), 'amount': '250.00',
                'method': str(method), 'reference': ''})
        self.assertEqual(response.status_code, HTTPStatus.OK)

        def last():
            Payment = Pool().get('rsoft.payment')
            payment, = Payment.search([
                    ('subscriber', '=', self.a['id']['subscriber']),
                    ], order=[('id', 'DESC')], limit=1)
            return payment.id, payment.number, payment.amount
        payment, number, amount = run(last)
        self.assertEqual(amount, Decimal('250.00'))
        self.assertIn(f'{LCO_BASE}/receipts/{payment}.pdf',
            response.get_data(as_text=True))
        response = client.get(f'{LCO_BASE}/receipts/{payment}.pdf')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        text = pdf_text(response)
        self.assertIn(f"Receipt Number {number}", text)
        self.assertIn("Amount Received ₹250.00", text)
