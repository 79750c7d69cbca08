"""A subscriber pays a bill online through the portal: the order made on
a local Razorpay server, its Checkout, its confirmation and webhooks"""
import re
from decimal import Decimal
from http import HTTPStatus

from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_payment.tests.razorpay_server import (
    RazorpayServer,
    checkout_signature,
)
from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool
from trytond.tests import test_tryton

from .test_portal_subscriber import BASE, SubscriberClientMixin
from .tools import PortalOperator, csrf_token

KEY_ID, KEY_SECRET = 'rzp_test_portal', 'portal-key-secret'
WEBHOOK_SECRET = 'portal-webhook-secret'
ORDER = re.compile(r'&#34;order_id&#34;: &#34;(order_\w+)&#34;'
    r'|"order_id": "(order_\w+)"')


class RechargeTestCase(
        SubscriberClientMixin, PortalOperator, test_tryton._DBTestCase):
    "Test the online payments of the subscriber portal"
    module = 'rsoft_selfcare'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.razorpay = RazorpayServer(KEY_ID, KEY_SECRET).start()
        cls.addClassCleanup(cls.razorpay.stop)

        def set_up():
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            Method = pool.get('rsoft.payment.method')
            with cls.fixture(cls) as op:
                account = op.accounts[sorted(op.accounts)[0]]
                subscriber = account['subscriber']
                with set_company(subscriber.company):
                    method, = Method.search([('kind', '=', 'gateway')],
                        limit=1)
                    gateway, = Gateway.create([{
                                'name': "Razorpay",
                                'company': subscriber.company.id,
                                'key_id': KEY_ID, 'key_secret': KEY_SECRET,
                                'webhook_secret': WEBHOOK_SECRET,
                                'api_url': cls.razorpay.url,
                                'checkout_url': cls.razorpay.checkout_url,
                                'method': method.id,
                                }])
                return {
                    'gateway': gateway.id,
                    'subscriber': subscriber.id,
                    'invoice': account['invoice'].id,
                    'customer_id': account['customer_id'],
                    'mobile': account['mobile'],
                    }
        cls.a = run(set_up)

    def orders(self):
        return run(lambda: Pool().get(
                'rsoft.payment.gateway.order').search_count([
                    ('subscriber', '=', self.a['subscriber'])]))

    def test_pay_online(self):
        "A payment is recorded once, however often the forms are sent"
        client = self.subscriber_client(self.a)
        amount = Decimal('150.00')
        response = client.get(f'{BASE}/recharge')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = response.get_data(as_text=True)
        self.assertIn("Pay bill", body)
        key = re.search(r'name="key" value="([^"]+)"', body).group(1)
        form = {
            'account': str(self.a['subscriber']), 'amount': str(amount),
            'key': key, 'csrf_token': csrf_token(response),
            }
        orders = self.orders()
        response = client.post(f'{BASE}/recharge', data=form)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        page = response.get_data(as_text=True)
        self.assertIn(self.razorpay.checkout_url, page)
        self.assertIn(self.razorpay.url,
            response.headers['Content-Security-Policy'])
        order_id = next(g for g in ORDER.search(page).groups() if g)
        # A double click: the same order, no second one on Razorpay
        response = client.post(f'{BASE}/recharge', data=form)
        self.assertEqual(self.orders(), orders + 1)
        self.assertEqual(
            [r for r in self.razorpay.requests if r[0] == 'POST'
                and r[1] == '/v1/orders'].__len__(), 1)

        order = run(lambda: Pool().get('rsoft.payment.gateway.order').search(
                    [('razorpay_order_id', '=', order_id)])[0].id)
        payment = self.razorpay.capture(order_id)
        fields = {
            'razorpay_order_id': order_id,
            'razorpay_payment_id': payment['id'],
            'csrf_token': form['csrf_token'],
            }
        response = client.post(f'{BASE}/recharge/{order}', data={
                **fields, 'razorpay_signature': 'forged'})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn("nothing was credited", response.get_data(as_text=True))

        signature = checkout_signature(order_id, payment['id'], KEY_SECRET)
        response = client.post(f'{BASE}/recharge/{order}', data={
                **fields, 'razorpay_signature': signature})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        body = client.get(f'{BASE}/recharge/{order}').get_data(as_text=True)
        self.assertIn('data-state="paid"', body)
        # A refresh of the return page posts again: the receipt is shown
        response = client.post(f'{BASE}/recharge/{order}', data={
                **fields, 'razorpay_signature': signature})
        self.assertIn('data-state="paid"', response.get_data(as_text=True))

        def receipts():
            Payment = Pool().get('rsoft.payment')
            return [(p.amount, p.subscriber.id) for p in Payment.search([
                        ('external_id', '=', payment['id'])])]
        self.assertEqual(run(receipts), [(amount, self.a['subscriber'])])
