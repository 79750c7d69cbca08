"""A subscriber pays by card through the portal: a Stripe payment made on
a local Stripe server, its checkout page, and Stripe's signed webhook"""
import datetime
import re
from decimal import Decimal
from http import HTTPStatus

import stripe

from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_billing.tests.tools import new_account
from trytond.modules.rsoft_payment.tests.stripe_server import StripeServer
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool
from trytond.protocols.wrappers import Response
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, Client
from trytond.wsgi import app

from .test_portal_subscriber import BASE, SubscriberClientMixin
from .tools import PortalOperator, csrf_token

STRIPE_KEY, STRIPE_SECRET = 'sk_test_portal', 'whsec_portal'
KEY = re.compile(r'name="key" value="([^"]+)"')
CARD = re.compile(rf'^(?:http://localhost)?{BASE}/recharge/card/(\d+)$')


class StripePortalTestCase(
        SubscriberClientMixin, PortalOperator, test_tryton._DBTestCase):
    "Test the card payments of the subscriber portal"
    module = 'rsoft_selfcare'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stripe = StripeServer(STRIPE_KEY).start()
        cls.addClassCleanup(cls.stripe.stop)
        # The SDK's base for every call; account_payment_stripe has no
        # setting for it
        cls.addClassCleanup(setattr, stripe, 'api_base', stripe.api_base)
        stripe.api_base = cls.stripe.url

        def set_up():
            pool = Pool()
            Method = pool.get('rsoft.payment.method')
            StripeAccount = pool.get('account.payment.stripe.account')
            Journal = pool.get('account.payment.journal')
            Date = pool.get('ir.date')
            Subscriber = pool.get('rsoft.subscriber')
            with cls.fixture(cls) as op:
                a, b = (op.accounts[code] for code in sorted(op.accounts))
                company = a['subscriber'].company
                with set_company(company):
                    razorpay, = Method.search([('kind', '=', 'gateway')])
                    method, = Method.copy([razorpay], {'name': "Stripe"})
                    account, = StripeAccount.create([{
                                'name': "Stripe", 'secret_key': STRIPE_KEY,
                                'publishable_key': 'pk_test_portal',
                                }])
                    StripeAccount.new_identifier([account])
                    account.webhook_signing_secret = STRIPE_SECRET
                    account.save()
                    Journal.create([{
                                'name': "Cards", 'company': company.id,
                                'currency': company.currency.id,
                                'process_method': 'stripe',
                                'stripe_account': account.id,
                                'rsoft_method': method.id,
                                }])
                    # As the fixture's accounts: active since the first
                    # of last month, billed on the first of this one
                    start = (Date.today() - datetime.timedelta(days=45)
                        ).replace(day=1)
                    billed = (start + datetime.timedelta(days=31)
                        ).replace(day=1)
                    prepaid, postpaid = [new_account(op.lco_a, start,
                            name=name, billing_mode=mode, billing_cycle=1,
                            bill_day_mode='fixed', bill_day=1)
                        for name, mode in [("Chetan Shah", 'prepaid'),
                            ("Deepa Nair", 'postpaid')]]
                    subscribe(postpaid.connections[0], op.gold, start)
                    invoice, = Subscriber.bill(
                        [Subscriber(postpaid.id)], billed)

                def read(subscriber):
                    return {
                        'subscriber': subscriber.id,
                        'customer_id': subscriber.customer_id,
                        'name': subscriber.party.name,
                        'mobile': subscriber.mobile,
                        }
                return (account.webhook_identifier, read(prepaid),
                    {**read(postpaid), 'invoice': invoice.id},
                    read(a['subscriber']), read(b['subscriber']))
        cls.identifier, cls.p, cls.q, cls.a, cls.b = run(set_up)

    def form(self, client, account):
        "Return the recharge page of account and the form to post from it"
        response = client.get(f'{BASE}/recharge',
            query_string={'account': account['subscriber']})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        page = response.get_data(as_text=True)
        return page, {
            'account': str(account['subscriber']),
            'key': KEY.search(page).group(1),
            'via': 'stripe',
            'csrf_token': csrf_token(response),
            }

    def pay(self, client, form):
        "Post the form: return the id of the card payment redirected to"
        response = client.post(f'{BASE}/recharge', data=form)
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        return int(CARD.match(response.headers['Location']).group(1))

    def card(self, client, payment):
        response = client.get(f'{BASE}/recharge/card/{payment}')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        return response.get_data(as_text=True)

    def payment(self, payment_id):
        "Return the state, purpose, intent and checkout id of the payment"
        def read():
            Payment = Pool().get('account.payment')
            payment = Payment(payment_id)
            return (payment.state, payment.rsoft_purpose,
                payment.stripe_payment_intent_id, payment.stripe_checkout_id)
        return run(read)

    def payments(self, account):
        return run(lambda: Pool().get('account.payment').search_count([
                    ('rsoft_subscriber', '=', account['subscriber'])]))

    def receipts(self, account):
        "Return the receipts of account as (amount, external_id, origin)"
        def read():
            Payment = Pool().get('rsoft.payment')
            return [(p.amount, p.external_id, str(p.origin))
                for p in Payment.search([
                        ('subscriber', '=', account['subscriber'])],
                    order=[('id', 'ASC')])]
        return run(read)

    def balance(self, account):
        def read():
            Subscriber = Pool().get('rsoft.subscriber')
            return Subscriber(account['subscriber']).wallet_balance or 0
        return run(read)

    def intents(self, start):
        "Return the payment intents created on Stripe since request start"
        return [values for method, path, _, values
            in self.stripe.requests[start:]
            if (method, path) == ('POST', '/v1/payment_intents')]

    def webhook(self, event, intent):
        "Stripe tells event of intent, signed, to account_payment_stripe"
        body, headers = self.stripe.webhook(event, intent, STRIPE_SECRET)
        response = Client(app, Response).post(
            f'/{DB_NAME}/account_payment_stripe/webhook/{self.identifier}',
            data=body, headers=headers)
        self.assertEqual(response.status_code, HTTPStatus.NO_CONTENT)

    def test_card_recharge(self):
        """A prepaid subscriber recharges by card: one payment however
        often the form is sent, the wallet credited once by Stripe's
        webhook, the receipt shown"""
        client = self.subscriber_client(self.p)
        balance = self.balance(self.p)
        payments, receipts = self.payments(self.p), self.receipts(self.p)
        page, form = self.form(client, self.p)
        # Stripe is the only way to pay: no choice to make
        self.assertNotIn('type="radio" name="via"', page)
        self.assertIn('<input type="hidden" name="via" value="stripe">', page)
        form['amount'] = '250'
        start = len(self.stripe.requests)

        payment_id = self.pay(client, form)
        # A double click, the form sent again: the same payment
        self.assertEqual(self.pay(client, form), payment_id)

        self.assertEqual(self.payments(self.p), payments + 1)
        intent, = self.intents(start)
        self.assertEqual((intent['amount'], intent['currency']),
            ('25000', 'INR'))
        state, purpose, intent_id, checkout_id = self.payment(payment_id)
        self.assertEqual((state, purpose), ('processing', 'recharge'))
        remote = self.stripe.objects[intent_id]
        self.assertEqual((remote['amount'], remote['currency']),
            (25000, 'inr'))

        body = self.card(client, payment_id)
        self.assertIn('data-state="processing"', body)
        self.assertIn('₹250.00', body)
        checkout = (f'/{DB_NAME}/account_payment_stripe/checkout/'
            f'account.payment/{checkout_id}')
        link, = re.findall(r'<a [^>]*id="pay-by-card"[^>]*>', body)
        self.assertIn(f'href="http://localhost{checkout}"', link)
        self.assertIn('target="_blank"', link)
        self.assertIn('rel="noopener"', link)
        self.assertIn('<meta http-equiv="refresh" content="5">', body)
        self.assertNotIn('<script', body)
        # The checkout page of account_payment_stripe pays the intent
        response = Client(app, Response).get(checkout)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn(remote['client_secret'],
            response.get_data(as_text=True))

        self.webhook('payment_intent.succeeded',
            self.stripe.succeed(intent_id))

        self.assertEqual(self.payment(payment_id)[0], 'succeeded')
        self.assertEqual(self.receipts(self.p), receipts + [(
                    Decimal('250.00'), intent_id,
                    f'account.payment,{payment_id}')])
        self.assertEqual(self.balance(self.p) - balance, Decimal('250.00'))
        body = self.card(client, payment_id)
        self.assertIn('data-state="succeeded"', body)
        self.assertNotIn('http-equiv="refresh"', body)
        self.assertNotIn('pay-by-card', body)

        def number():
            Payment = Pool().get('rsoft.payment')
            receipt, = Payment.search([('external_id', '=', intent_id)])
            return receipt.number
        self.assertIn(f"your payment is received (receipt {run(number)})",
            body)
        self.assertIn(f": ₹{self.balance(self.p):,.2f}</p>", body)
        # Sent again once paid, the form shows the paid payment
        self.assertEqual(self.pay(client, form), payment_id)
        self.assertEqual(len(self.intents(start)), 1)
        self.assertEqual(len(self.receipts(self.p)), len(receipts) + 1)

    def test_card_bill(self):
        "A postpaid subscriber pays the amount due by card: the bill is paid"
        client = self.subscriber_client(self.q)

        def due():
            Invoice = Pool().get('account.invoice')
            invoice = Invoice(self.q['invoice'])
            return invoice.state, invoice.amount_to_pay
        state, amount = run(due)
        self.assertEqual(state, 'posted')
        self.assertGreater(amount, 0)
        page, form = self.form(client, self.q)
        self.assertIn(f'name="amount" value="{amount}"', page)
        form['amount'] = str(amount)

        payment_id = self.pay(client, form)
        _, purpose, intent_id, _ = self.payment(payment_id)
        self.assertEqual(purpose, 'bill')
        self.webhook('payment_intent.succeeded',
            self.stripe.succeed(intent_id))

        self.assertEqual(run(due), ('paid', Decimal(0)))
        self.assertEqual(self.receipts(self.q)[-1],
            (amount, intent_id, f'account.payment,{payment_id}'))
        self.assertIn('data-state="succeeded"', self.card(client, payment_id))

    def test_card_failed(self):
        "A card payment Stripe cancels: told, with a way to try again"
        client = self.subscriber_client(self.p)
        _, form = self.form(client, self.p)
        form['amount'] = '99'
        payment_id = self.pay(client, form)
        _, _, intent_id, _ = self.payment(payment_id)

        self.webhook('payment_intent.canceled',
            dict(self.stripe.objects[intent_id], status='canceled'))

        self.assertEqual(self.payment(payment_id)[0], 'failed')
        body = self.card(client, payment_id)
        self.assertIn('data-state="failed"', body)
        self.assertIn("nothing was charged", body)
        self.assertIn(
            f'href="{BASE}/recharge?account={self.p["subscriber"]}"', body)
        self.assertNotIn('http-equiv="refresh"', body)
        self.assertNotIn('pay-by-card', body)
        self.assertNotIn(intent_id, [r[1] for r in self.receipts(self.p)])

    def test_card_of_another_subscriber(self):
        "B asks for the card page of A's payment: not found, nothing shown"
        client = self.subscriber_client(self.a)
        _, form = self.form(client, self.a)
        form['amount'] = '123.45'
        payment_id = self.pay(client, form)

        other = self.subscriber_client(self.b)
        response = other.get(f'{BASE}/recharge/card/{payment_id}')
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        body = response.get_data(as_text=True)
        for secret in [self.a['customer_id'], self.a['name'], '123.45']:
            self.assertNotIn(secret, body)
        # Nor may B pay from A's account
        _, form = self.form(other, self.b)
        form.update(account=str(self.a['subscriber']), amount='10')
        response = other.post(f'{BASE}/recharge', data=form)
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertEqual(self.payments(self.b), 0)

    def test_choice_of_methods(self):
        "With Razorpay too, the subscriber chooses how to pay"
        def create_gateway():
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            Method = pool.get('rsoft.payment.method')
            Subscriber = pool.get('rsoft.subscriber')
            company = Subscriber(self.a['subscriber']).company
            method, = Method.search([('name', '=', "Razorpay")])
            gateway, = Gateway.create([{
                        'name': "Razorpay", 'company': company.id,
                        'key_id': 'rzp_test_portal', 'key_secret': 'secret',
                        'webhook_secret': 'webhook-secret',
                        'method': method.id,
                        }])
            return gateway.id

        def delete_gateway(gateway):
            Gateway = Pool().get('rsoft.payment.gateway')
            Gateway.delete([Gateway(gateway)])
        self.addCleanup(run, delete_gateway, run(create_gateway))
        client = self.subscriber_client(self.a)
        payments = self.payments(self.a)

        page, form = self.form(client, self.a)

        self.assertIn("Pay with", page)
        self.assertIn('<input type="radio" name="via" value="razorpay" '
            'checked> UPI, net banking or card (Razorpay)', page)
        self.assertIn('<input type="radio" name="via" value="stripe" > '
            'Card (Stripe)', page)
        self.assertNotIn('type="hidden" name="via"', page)
        # A way the operator does not offer is refused
        form.update(amount='10', via='paypal')
        response = client.post(f'{BASE}/recharge', data=form)
        self.assertEqual(
            response.status_code, HTTPStatus.SERVICE_UNAVAILABLE)
        self.assertEqual(self.payments(self.a), payments)
