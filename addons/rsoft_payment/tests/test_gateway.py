"""Online payments through Razorpay and Stripe, webhooks included

The gateways are local servers speaking their APIs; their webhooks are
posted through trytond's WSGI application, which runs each in a
transaction of its own: the data a webhook must see is committed first,
as in production, and the database is dropped with the test case."""
import datetime
import json
from decimal import Decimal
from unittest.mock import patch
from urllib.parse import quote

import stripe

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_payment import gateway as gateway_module
from trytond.modules.rsoft_payment.exceptions import GatewaySecretError
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.modules.rsoft_toolkit.exceptions import SystemFieldError
from trytond.modules.rsoft_toolkit.secret import MASK
from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool
from trytond.protocols.wrappers import Response
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, Client
from trytond.transaction import Transaction
from trytond.wsgi import app

from .razorpay_server import RazorpayServer, signature
from .stripe_server import StripeServer
from .tools import (
    create_offer,
    create_operator,
    create_operator_company,
    new_account,
    set_up_accounting,
)

D = datetime.date
KEY_ID, KEY_SECRET = 'rzp_test_RSoft0Cable01', 'rzp-key-secret'
WEBHOOK_SECRET = 'rzp-webhook-secret'
STRIPE_KEY, STRIPE_SECRET = 'sk_test_rsoft', 'whsec_rsoft'



class RazorpayOperator:
    """An operator with a Razorpay gateway on a local Razorpay server and
    a Stripe journal on a local Stripe server, and the tests' helpers"""
    module = 'rsoft_payment'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.razorpay = RazorpayServer(KEY_ID, KEY_SECRET).start()
        cls.addClassCleanup(cls.razorpay.stop)
        cls.stripe = StripeServer(STRIPE_KEY).start()
        cls.addClassCleanup(cls.stripe.stop)
        # The SDK's base for every call; account_payment_stripe has no
        # setting for it
        cls.addClassCleanup(setattr, stripe, 'api_base', stripe.api_base)
        stripe.api_base = cls.stripe.url
        cls.ids = run(cls._set_up_operator)

    @classmethod
    def _set_up_operator(cls):
        pool = Pool()
        Configuration = pool.get('rsoft.billing.configuration')
        ModelData = pool.get('ir.model.data')
        Collector = pool.get('rsoft.payment.collector')
        Method = pool.get('rsoft.payment.method')
        Account = pool.get('account.account')
        Journal = pool.get('account.journal')
        Gateway = pool.get('rsoft.payment.gateway')
        StripeAccount = pool.get('account.payment.stripe.account')
        PaymentJournal = pool.get('account.payment.journal')
        company = create_operator_company()
        with set_company(company):
            op = create_operator(company, fta=False)
            gold = create_offer(
                "Gold Pack", 'base_pack', '300',
                bouquet=op.base.template.bouquet)
            today = datetime.date.today()
            set_up_accounting(
                company, years=sorted({2025, today.year, today.year + 1}))
            collector, = Collector.create([{
                        'name': "Online", 'kind': 'counter',
                        'company': company.id,
                        }])
            configuration = Configuration(1)
            configuration.online_collector = collector
            configuration.payment_sequence = ModelData.get_id(
                'rsoft_payment', 'sequence_payment')
            configuration.save()
            clearing, = Account.search([
                    ('type.statement', '=', 'balance'),
                    ('type.receivable', '=', False),
                    ('type.payable', '=', False),
                    ('reconcile', '=', False),
                    ('closed', '!=', True),
                    ('company', '=', company.id),
                    ], limit=1)
            journal, = Journal.search([('type', '=', 'cash')], limit=1)
            razorpay_method, stripe_method = Method.create([{
                        'name': name, 'kind': 'gateway',
                        'company': company.id, 'journal': journal.id,
                        'account': clearing.id,
                        } for name in ["Razorpay", "Stripe"]])
            gateway, = Gateway.create([{
                        'name': "Razorpay", 'company': company.id,
                        'key_id': KEY_ID, 'key_secret': KEY_SECRET,
                        'webhook_secret': WEBHOOK_SECRET,
                        'api_url': cls.razorpay.url,
                        'method': razorpay_method.id,
                        }])
            stripe_account, = StripeAccount.create([{
                        'name': "Stripe", 'secret_key': STRIPE_KEY,
                        'publishable_key': 'pk_test_rsoft',
                        }])
            StripeAccount.new_identifier([stripe_account])
            stripe_account.webhook_signing_secret = STRIPE_SECRET
            stripe_account.save()
            stripe_journal, = PaymentJournal.create([{
                        'name': "Stripe", 'company': company.id,
                        'currency': company.currency.id,
                        'process_method': 'stripe',
                        'stripe_account': stripe_account.id,
                        'rsoft_method': stripe_method.id,
                        }])
            return {
                'company': company.id, 'lco': op.lco_a.id, 'gold': gold.id,
                'gateway': gateway.id, 'razorpay_method': razorpay_method.id,
                'stripe_journal': stripe_journal.id,
                'stripe_identifier': stripe_account.webhook_identifier,
                }

    def account(self, mode):
        "Return the id of a new active account of mode with the Gold Pack"
        def create():
            pool = Pool()
            Partner = pool.get('rsoft.partner')
            Product = pool.get('product.product')
            values = {
                'billing_mode': mode, 'billing_cycle': 1,
                'bill_day_mode': 'fixed', 'bill_day': 1,
                }
            subscriber = new_account(
                Partner(self.ids['lco']), D(2025, 1, 1), **values)
            subscribe(
                subscriber.connections[0], Product(self.ids['gold']),
                D(2025, 1, 1))
            return subscriber.id
        return run(create)

    def create_order(self, subscriber, amount, **kwargs):
        "Return the id and Razorpay id of a new order"
        def create():
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            Order = pool.get('rsoft.payment.gateway.order')
            Subscriber = pool.get('rsoft.subscriber')
            order = Order.create_order(
                Gateway(self.ids['gateway']), Subscriber(subscriber), amount,
                **kwargs)
            return order.id, order.razorpay_order_id
        return run(create)

    def post_razorpay(self, body, headers, gateway=None):
        gateway = gateway or self.ids['gateway']
        return Client(app, Response).post(
            f'/{DB_NAME}/rsoft_payment/razorpay/{gateway}/webhook',
            data=body, headers=headers)

    def post_stripe(self, body, headers):
        return Client(app, Response).post(
            f'/{DB_NAME}/account_payment_stripe/webhook/'
            f'{self.ids["stripe_identifier"]}',
            data=body, headers=headers)

    def state(self, subscriber):
        """Return the receipts of subscriber as (amount, external_id,
        state, origin) and its wallet balance"""
        def read():
            pool = Pool()
            Payment = pool.get('rsoft.payment')
            Wallet = pool.get('rsoft.wallet')
            Subscriber = pool.get('rsoft.subscriber')
            payments = Payment.search(
                [('subscriber', '=', subscriber)], order=[('id', 'ASC')])
            wallet, = Wallet.get_wallets([Subscriber(subscriber)])
            return [(p.amount, p.external_id, p.state, str(p.origin))
                for p in payments], wallet.balance
        return run(read)

    def events(self, payment_id=None):
        "Return the outcome of the logged webhooks, oldest first"
        def read():
            pool = Pool()
            Event = pool.get('rsoft.payment.gateway.event')
            domain = [('payment_id', '=', payment_id)] if payment_id else []
            return [(e.event_type, e.signature_valid, e.outcome)
                for e in Event.search(domain, order=[('id', 'ASC')])]
        return run(read)

    def new_gateway(self, name, **values):
        "Return the id of a new gateway of the local Razorpay"
        def create():
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            gateway, = Gateway.create([{
                        'name': name, 'company': self.ids['company'],
                        'key_id': KEY_ID, 'key_secret': KEY_SECRET,
                        'webhook_secret': WEBHOOK_SECRET,
                        'api_url': self.razorpay.url,
                        'method': self.ids['razorpay_method'],
                        **values}])
            return gateway.id
        return run(create)

    def open_bill_of_prepaid(self, subscriber):
        """Make the LCO's payments top up the wallet first (until the test
        ends) and return the id and total of an open bill of the prepaid
        account subscriber, as hardware or a one-time charge leaves one"""
        def set_up():
            pool = Pool()
            Partner = pool.get('rsoft.partner')
            Subscriber = pool.get('rsoft.subscriber')
            lco = Partner(self.ids['lco'])
            lco.payment_allocation = 'wallet'
            lco.save()
            # The account billed without paying from its wallet
            invoice, = Subscriber._bill(
                [Subscriber(subscriber)], D(2025, 2, 1), None)
            return invoice.id, invoice.total_amount

        def reset():
            Partner = Pool().get('rsoft.partner')
            Partner.write([Partner(self.ids['lco'])],
                {'payment_allocation': None})
        self.addCleanup(run, reset)
        return run(set_up)


# The generic module checks run once, in test_module.py
class GatewayTestCase(RazorpayOperator, test_tryton._DBTestCase):
    "Test the online payment gateways"

    def test_razorpay_order_created(self):
        "The order is created on Razorpay in paise, with our receipt"
        subscriber = self.account('prepaid')
        requests = len(self.razorpay.requests)
        order_id, razorpay_id = self.create_order(subscriber, '354.50')

        (method, path, authorization, data), = (
            self.razorpay.requests[requests:])
        self.assertEqual((method, path), ('POST', '/v1/orders'))
        self.assertEqual(authorization, self.razorpay.authorization)
        self.assertEqual(data['amount'], 35450)
        self.assertEqual(data['currency'], 'INR')
        remote = self.razorpay.orders[razorpay_id]
        self.assertEqual(
            (remote['amount'], remote['status']), (35450, 'created'))

        def read():
            pool = Pool()
            Order = pool.get('rsoft.payment.gateway.order')
            Subscriber = pool.get('rsoft.subscriber')
            order = Order(order_id)
            customer_id = Subscriber(subscriber).customer_id
            self.assertEqual(order.amount, Decimal('354.50'))
            self.assertEqual(order.state, 'created')
            self.assertEqual(order.receipt, f'{customer_id}/{order.id}')
            self.assertEqual(remote['receipt'], order.receipt)
            self.assertEqual(remote['notes']['customer_id'], customer_id)
        run(read)

    def test_razorpay_order_refused(self):
        "A key Razorpay refuses, or no amount, is told and saves no order"
        subscriber = self.account('prepaid')

        def create(amount):
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            Order = pool.get('rsoft.payment.gateway.order')
            Subscriber = pool.get('rsoft.subscriber')
            gateway = Gateway(self.ids['gateway'])
            gateway.key_id = 'rzp_test_revoked'
            Order.create_order(gateway, Subscriber(subscriber), amount)

        def orders():
            pool = Pool()
            Order = pool.get('rsoft.payment.gateway.order')
            return Order.search([('subscriber', '=', subscriber)], count=True)
        for amount, message in [
                ('100', "Authentication failed"), ('0', "must be positive")]:
            with self.assertRaises(UserError) as cm:
                run(create, amount)
            self.assertIn(message, str(cm.exception))
        self.assertEqual(run(orders), 0)

    def test_razorpay_captured_credits_wallet_once(self):
        "A captured payment is recorded once; the replay changes nothing"
        subscriber = self.account('prepaid')
        _, balance = self.state(subscriber)
        _, razorpay_id = self.create_order(subscriber, '354.00')
        payment = self.razorpay.capture(razorpay_id)
        body, headers = self.razorpay.webhook(
            'payment.captured', payment, WEBHOOK_SECRET)

        response = self.post_razorpay(body, headers)

        self.assertEqual(response.status_code, 200)
        receipts, after = self.state(subscriber)
        (amount, external_id, state, origin), = receipts
        self.assertEqual(amount, Decimal('354.00'))
        self.assertEqual(external_id, payment['id'])
        self.assertEqual(state, 'cleared')
        self.assertTrue(origin.startswith('rsoft.payment.gateway.order,'))
        self.assertEqual(after - balance, Decimal('354.00'))

        response = self.post_razorpay(body, headers)

        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.state(subscriber), (receipts, after))
        self.assertEqual(self.events(payment['id']), [
                ('payment.captured', True, 'recorded'),
                ('payment.captured', True, 'duplicate'),
                ])

        def read():
            pool = Pool()
            Order = pool.get('rsoft.payment.gateway.order')
            order, = Order.search([('razorpay_order_id', '=', razorpay_id)])
            self.assertEqual(order.state, 'paid')
            self.assertEqual(order.razorpay_payment_id, payment['id'])
            self.assertEqual(order.payment.external_id, payment['id'])
            self.assertTrue(order.paid_at)
        run(read)

    def test_razorpay_order_paid_after_captured(self):
        "order.paid after payment.captured for the same payment: once"
        subscriber = self.account('prepaid')
        _, razorpay_id = self.create_order(subscriber, '200.00')
        payment = self.razorpay.capture(razorpay_id)
        for event in ['payment.captured', 'order.paid']:
            body, headers = self.razorpay.webhook(
                event, payment, WEBHOOK_SECRET,
                order=self.razorpay.orders[razorpay_id])
            self.assertEqual(
                self.post_razorpay(body, headers).status_code, 200)
        receipts, _ = self.state(subscriber)
        self.assertEqual(len(receipts), 1)
        self.assertEqual(self.events(payment['id']), [
                ('payment.captured', True, 'recorded'),
                ('order.paid', True, 'duplicate'),
                ])

    def test_razorpay_forged(self):
        "A webhook not signed with the secret is refused and logged"
        subscriber = self.account('prepaid')
        _, balance = self.state(subscriber)
        _, razorpay_id = self.create_order(subscriber, '354.00')
        payment = self.razorpay.capture(razorpay_id)
        body, headers = self.razorpay.webhook(
            'payment.captured', payment, 'not-the-secret')

        response = self.post_razorpay(body, headers)

        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.state(subscriber), ([], balance))
        self.assertEqual(self.events(payment['id']), [
                ('payment.captured', False, 'forged'),
                ])

        del headers['X-Razorpay-Signature']
        self.assertEqual(self.post_razorpay(body, headers).status_code, 400)
        self.assertEqual(self.state(subscriber), ([], balance))

    def test_razorpay_wrong_amount(self):
        "A payment of another amount or currency than the order's: refused"
        subscriber = self.account('prepaid')
        _, balance = self.state(subscriber)
        _, razorpay_id = self.create_order(subscriber, '354.00')
        for amount, currency in [(100, 'INR'), (35400, 'USD')]:
            payment = self.razorpay.capture(
                razorpay_id, amount=amount, currency=currency)
            body, headers = self.razorpay.webhook(
                'payment.captured', payment, WEBHOOK_SECRET)
            with self.assertLogs(
                    'trytond.modules.rsoft_payment.gateway', 'WARNING'):
                response = self.post_razorpay(body, headers)

            self.assertEqual(response.status_code, 422)
            self.assertEqual(self.state(subscriber), ([], balance))
            self.assertEqual(self.events(payment['id']), [
                    ('payment.captured', True, 'wrong_amount'),
                    ])

    def test_razorpay_unknown_order(self):
        "A payment for an order we did not create, or of another gateway"
        order, _ = self.razorpay.create_order(
            {'amount': 50000, 'currency': 'INR', 'receipt': 'elsewhere'})
        payment = self.razorpay.capture(order['id'])
        body, headers = self.razorpay.webhook(
            'payment.captured', payment, WEBHOOK_SECRET)

        response = self.post_razorpay(body, headers)

        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.events(payment['id']), [
                ('payment.captured', True, 'unknown_order'),
                ])
        self.assertEqual(
            self.post_razorpay(body, headers, gateway=0).status_code, 404)

    def test_razorpay_other_event_ignored(self):
        "Events other than a capture are acknowledged and change nothing"
        subscriber = self.account('prepaid')
        _, razorpay_id = self.create_order(subscriber, '354.00')
        payment = dict(self.razorpay.capture(razorpay_id), status='failed')
        body, headers = self.razorpay.webhook(
            'payment.failed', payment, WEBHOOK_SECRET)

        self.assertEqual(self.post_razorpay(body, headers).status_code, 200)
        self.assertEqual(self.state(subscriber)[0], [])
        self.assertEqual(self.events(payment['id']), [
                ('payment.failed', True, 'ignored'),
                ])

    def test_razorpay_settles_postpaid_invoice(self):
        "A postpaid account pays its invoice online: the invoice is paid"
        subscriber = self.account('postpaid')

        def bill():
            pool = Pool()
            Subscriber = pool.get('rsoft.subscriber')
            invoice, = Subscriber.bill(
                [Subscriber(subscriber)], D(2025, 2, 1))
            return invoice.id, invoice.total_amount
        invoice_id, total = run(bill)
        _, razorpay_id = self.create_order(subscriber, total)
        payment = self.razorpay.capture(razorpay_id)
        body, headers = self.razorpay.webhook(
            'payment.captured', payment, WEBHOOK_SECRET)

        self.assertEqual(self.post_razorpay(body, headers).status_code, 200)

        def read():
            pool = Pool()
            Invoice = pool.get('account.invoice')
            invoice = Invoice(invoice_id)
            self.assertEqual(invoice.state, 'paid')
            self.assertEqual(invoice.amount_to_pay, Decimal(0))
        run(read)
        (amount, external_id, _, _), = self.state(subscriber)[0]
        self.assertEqual((amount, external_id), (total, payment['id']))

    def test_gateway_secrets_write_only(self):
        """Over RPC the secrets read masked, their stored fields not at all;
        the masks written back change nothing, new secrets are the ones
        the client and the webhook check use"""
        gateway = self.new_gateway("Rotated")
        body = '{"event": "payment.captured"}'

        def rpc(values):
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            with Transaction().set_context(_check_access=True):
                if values:
                    Gateway.write([Gateway(gateway)], values)
                read, = Gateway.read(
                    [gateway], ['key_secret', 'webhook_secret'])
                for name in ['key_secret_value', 'webhook_secret_value']:
                    for attack in [
                            lambda: Gateway.read([gateway], [name]),
                            lambda: Gateway.search([(name, '!=', None)]),
                            lambda: Gateway.write(
                                [Gateway(gateway)], {name: 'forged'}),
                            ]:
                        with self.assertRaises(AccessError):
                            attack()
            return read['key_secret'], read['webhook_secret']

        def used():
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            record = Gateway(gateway)
            return (record.client.auth,
                [record._signed(body, signature(body, s))
                    for s in [WEBHOOK_SECRET, 'whsec-rotated-2026']])

        masks = run(rpc, {})
        # The key secret is too short to show any of it
        self.assertEqual(masks, (MASK, MASK + 'cret'))
        self.assertEqual(run(rpc, {
                    'key_secret': masks[0], 'webhook_secret': masks[1],
                    }), masks)
        self.assertEqual(run(used), ((KEY_ID, KEY_SECRET), [True, False]))

        self.assertEqual(run(rpc, {
                    'key_secret': 'rzp-key-secret-rotated',
                    'webhook_secret': 'whsec-rotated-2026',
                    }), (MASK + 'ated', MASK + '2026'))
        self.assertEqual(run(used), (
                (KEY_ID, 'rzp-key-secret-rotated'), [False, True]))

        def webhook_url():
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            return Gateway(gateway).webhook_url
        self.assertTrue(run(webhook_url).endswith(quote(
                    f'/{DB_NAME}/rsoft_payment/razorpay/{gateway}'
                    '/webhook')))

    def test_gateway_active_needs_secrets(self):
        "A gateway is made active only with its key and webhook secrets"
        def write(gateway, values):
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            Gateway.write([Gateway(gateway)], values)

        def read(gateway):
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            gateway = Gateway(gateway)
            return (gateway.active, gateway.secret_value('key_secret'),
                gateway.secret_value('webhook_secret'))

        for secrets in [
                {'key_secret': None, 'webhook_secret': None},
                {'webhook_secret': ''},
                {'key_secret': None}]:
            with self.assertRaises(GatewaySecretError) as cm:
                self.new_gateway("Without secrets", **secrets)
            self.assertIn("without its key secret and its webhook secret",
                cm.exception.message)

        gateway = self.new_gateway(
            "Being set up", active=False, key_secret=None,
            webhook_secret=None)
        with self.assertRaises(GatewaySecretError):
            run(write, gateway, {'active': True})
        with self.assertRaises(GatewaySecretError):
            run(write, gateway, {'active': True, 'key_secret': KEY_SECRET})
        self.assertEqual(run(read, gateway), (False, '', ''))

        run(write, gateway, {
                'active': True, 'key_secret': KEY_SECRET,
                'webhook_secret': WEBHOOK_SECRET})
        self.assertEqual(
            run(read, gateway), (True, KEY_SECRET, WEBHOOK_SECRET))
        with self.assertRaises(GatewaySecretError):
            run(write, gateway, {'webhook_secret': ''})
        self.assertEqual(
            run(read, gateway), (True, KEY_SECRET, WEBHOOK_SECRET))

    def test_razorpay_empty_secret_refused(self):
        "A gateway without webhook secret accepts no webhook at all"
        gateway = self.new_gateway("Old Razorpay")

        def clear_secret():
            # As a gateway saved before its secrets were required
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            table = Gateway.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update(
                    [table.webhook_secret_value], [None],
                    where=table.id == gateway))
        run(clear_secret)

        def create_order(subscriber):
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            Order = pool.get('rsoft.payment.gateway.order')
            Subscriber = pool.get('rsoft.subscriber')
            return Order.create_order(
                Gateway(gateway), Subscriber(subscriber), '354.00'
                ).razorpay_order_id
        subscriber = self.account('prepaid')
        _, balance = self.state(subscriber)
        razorpay_id = run(create_order, subscriber)
        payment = self.razorpay.capture(razorpay_id)
        for secret in ['', None]:
            body, headers = self.razorpay.webhook(
                'payment.captured', payment, '')
            if secret is None:
                del headers['X-Razorpay-Signature']

            response = self.post_razorpay(body, headers, gateway=gateway)

            self.assertEqual(response.status_code, 400)
        self.assertEqual(self.state(subscriber), ([], balance))
        self.assertEqual(self.events(payment['id']), [
                ('payment.captured', False, 'forged'),
                ('payment.captured', False, 'forged'),
                ])

    def test_razorpay_forged_flood_bounded(self):
        "A flood of forged webhooks leaves a bounded log; old ones pruned"
        gateway = self.new_gateway("Flooded Razorpay")
        now = datetime.datetime.now()

        def log_old():
            pool = Pool()
            Event = pool.get('rsoft.payment.gateway.event')
            Event.create([{
                        'gateway': gateway, 'outcome': 'forged',
                        'signature_valid': False, 'body': '{}',
                        'received_at': now - datetime.timedelta(days=40),
                        }])

        def logged():
            pool = Pool()
            Event = pool.get('rsoft.payment.gateway.event')
            return [(e.outcome, e.received_at > now - datetime.timedelta(
                            hours=1))
                for e in Event.search([('gateway', '=', gateway)])]
        run(log_old)
        self.assertEqual(run(logged), [('forged', False)])

        with patch.object(gateway_module, 'FORGED_LOG_LIMIT', 3):
            for n in range(10):
                payment = {
                    'id': f'pay_Forged{n:08d}', 'order_id': 'order_None',
                    'amount': 100, 'currency': 'INR', 'status': 'captured'}
                body, headers = self.razorpay.webhook(
                    'payment.captured', payment, 'not-the-secret')
                response = self.post_razorpay(body, headers, gateway=gateway)
                self.assertEqual(response.status_code, 400)

        self.assertEqual(run(logged), [('forged', True)] * 3)

    def stripe_payment(self, subscriber, amount):
        """Return the id of a Stripe payment of amount for subscriber,
        its payment intent created and processing"""
        def create():
            pool = Pool()
            Payment = pool.get('account.payment')
            Subscriber = pool.get('rsoft.subscriber')
            subscriber_ = Subscriber(subscriber)
            payment, = Payment.create([{
                        'company': self.ids['company'],
                        'journal': self.ids['stripe_journal'],
                        'kind': 'receivable',
                        'party': subscriber_.party.id,
                        'rsoft_subscriber': subscriber,
                        'amount': Decimal(amount),
                        }])
            Payment.submit([payment])
            Payment.stripe_checkout([payment])
            Payment.process([payment])
            return payment.id, payment.stripe_payment_intent_id
        return run(create)

    def account_payment(self, payment_id):
        def read():
            pool = Pool()
            Payment = pool.get('account.payment')
            payment = Payment(payment_id)
            return payment.state, payment.rsoft_payment is not None
        return run(read)

    def test_stripe_succeeded_records_once(self):
        "Stripe's signed webhook succeeds the payment: one receipt"
        subscriber = self.account('prepaid')
        _, balance = self.state(subscriber)
        requests = len(self.stripe.requests)
        payment_id, intent_id = self.stripe_payment(subscriber, '500.00')

        (method, path, authorization, values), = (
            self.stripe.requests[requests:])
        self.assertEqual((method, path), ('POST', '/v1/payment_intents'))
        self.assertEqual(authorization, f'Bearer {STRIPE_KEY}')
        self.assertEqual(
            (values['amount'], values['currency']), ('50000', 'INR'))
        self.assertEqual(self.account_payment(payment_id),
            ('processing', False))

        intent = self.stripe.succeed(intent_id)
        body, headers = self.stripe.webhook(
            'payment_intent.succeeded', intent, STRIPE_SECRET)

        self.assertEqual(self.post_stripe(body, headers).status_code, 204)
        self.assertEqual(self.account_payment(payment_id),
            ('succeeded', True))
        receipts, after = self.state(subscriber)
        self.assertEqual(receipts, [(
                    Decimal('500.00'), intent_id, 'cleared',
                    f'account.payment,{payment_id}')])
        self.assertEqual(after - balance, Decimal('500.00'))

        # Stripe delivers again, and tells of the charge too
        self.assertEqual(self.post_stripe(body, headers).status_code, 204)
        charge = self.stripe.objects[intent['latest_charge']]
        body, headers = self.stripe.webhook(
            'charge.succeeded', charge, STRIPE_SECRET)
        self.assertEqual(self.post_stripe(body, headers).status_code, 204)

        self.assertEqual(self.account_payment(payment_id),
            ('succeeded', True))
        self.assertEqual(self.state(subscriber), (receipts, after))

    def test_stripe_forged(self):
        "A webhook not signed with the endpoint's secret is refused"
        subscriber = self.account('prepaid')
        _, balance = self.state(subscriber)
        payment_id, intent_id = self.stripe_payment(subscriber, '500.00')
        intent = self.stripe.succeed(intent_id)
        body, headers = self.stripe.webhook(
            'payment_intent.succeeded', intent, 'whsec_forged')

        self.assertEqual(self.post_stripe(body, headers).status_code, 400)
        forged = json.loads(body)
        forged['data']['object']['amount_received'] = 1
        _, headers = self.stripe.webhook(
            'payment_intent.succeeded', intent, STRIPE_SECRET)
        self.assertEqual(
            self.post_stripe(json.dumps(forged), headers).status_code, 400)

        self.assertEqual(self.account_payment(payment_id),
            ('processing', False))
        self.assertEqual(self.state(subscriber), ([], balance))


    def rsoft_checkout(self, subscriber, amount, journal=None, **kwargs):
        """Return the id and payment intent of the card payment the portal
        makes for subscriber"""
        def create():
            pool = Pool()
            Payment = pool.get('account.payment')
            Journal = pool.get('account.payment.journal')
            Subscriber = pool.get('rsoft.subscriber')
            payment = Payment.rsoft_checkout(
                Journal(journal or self.ids['stripe_journal']),
                Subscriber(subscriber), amount, **kwargs)
            return payment.id, payment.stripe_payment_intent_id
        return run(create)

    def intents(self, start):
        "Return the payment intents created on Stripe since request start"
        return [values for method, path, _, values
            in self.stripe.requests[start:]
            if (method, path) == ('POST', '/v1/payment_intents')]

    def succeed_stripe(self, intent_id):
        "Stripe takes the money of the intent and tells by its webhook"
        intent = self.stripe.succeed(intent_id)
        body, headers = self.stripe.webhook(
            'payment_intent.succeeded', intent, STRIPE_SECRET)
        self.assertEqual(self.post_stripe(body, headers).status_code, 204)

    def test_stripe_checkout_once_per_form(self):
        """The portal's card payment is made once per payment form: the
        form sent again, paid or not, returns it; another amount or purpose
        with its key is refused"""
        subscriber = self.account('prepaid')
        other = self.account('prepaid')
        _, balance = self.state(subscriber)
        start = len(self.stripe.requests)

        first = self.rsoft_checkout(subscriber, '354.50', key='form-1')
        again = self.rsoft_checkout(subscriber, '354.504', key='form-1')
        second = self.rsoft_checkout(subscriber, '354.50', key='form-2')
        keyless = [self.rsoft_checkout(subscriber, '100') for _ in range(2)]

        self.assertEqual(again, first)
        self.assertEqual(len({first, second, *keyless}), 4)
        intents = self.intents(start)
        self.assertEqual(len(intents), 4)
        self.assertEqual((intents[0]['amount'], intents[0]['currency']),
            ('35450', 'INR'))
        remote = self.stripe.objects[first[1]]
        self.assertEqual((remote['amount'], remote['currency']),
            (35450, 'inr'))

        def read():
            pool = Pool()
            Payment = pool.get('account.payment')
            Subscriber = pool.get('rsoft.subscriber')
            account = Subscriber(subscriber)
            payment = Payment(first[0])
            return ((payment.state, payment.kind, payment.amount,
                    payment.party, payment.rsoft_subscriber,
                    payment.rsoft_key, payment.rsoft_purpose,
                    payment.reference, bool(payment.stripe_checkout_id)),
                (account.party, account, account.customer_id))
        (values, (party, account, customer_id)) = run(read)
        self.assertEqual(values, ('processing', 'receivable',
                Decimal('354.50'), party, account, 'form-1', 'recharge',
                f"Wallet recharge of account {customer_id}", True))

        for args, kwargs in [
                ((subscriber, '500'), {'key': 'form-1'}),
                ((subscriber, '354.50'), {'key': 'form-1', 'purpose': 'bill'}),
                # Another account's form: one key is one payment
                ((other, '354.50'), {'key': 'form-1'}),
                ]:
            with self.subTest(args=args, kwargs=kwargs):
                with self.assertRaises(UserError) as cm:
                    self.rsoft_checkout(*args, **kwargs)
                self.assertIn(
                    "already sent with another amount", str(cm.exception))
        self.assertEqual(len(self.intents(start)), 4)

        # Paid, the form sent again shows the paid payment: nothing new
        self.succeed_stripe(first[1])
        self.assertEqual(
            self.rsoft_checkout(subscriber, '354.50', key='form-1'), first)
        self.assertEqual(len(self.intents(start)), 4)
        receipts, after = self.state(subscriber)
        self.assertEqual(receipts, [(Decimal('354.50'), first[1], 'cleared',
                    f'account.payment,{first[0]}')])
        self.assertEqual(after - balance, Decimal('354.50'))

    def test_stripe_checkout_key_unique(self):
        "The database keeps one payment per form key of a company"
        subscriber = self.account('prepaid')
        payment_id, _ = self.rsoft_checkout(
            subscriber, '100', key='form-unique')

        def duplicate():
            pool = Pool()
            Payment = pool.get('account.payment')
            payment = Payment(payment_id)
            Payment.create([{
                        'company': payment.company.id,
                        'journal': payment.journal.id,
                        'kind': 'receivable', 'party': payment.party.id,
                        'amount': Decimal('100'),
                        'rsoft_key': 'form-unique',
                        }])
        with self.assertRaises(UserError) as cm:
            run(duplicate)
        self.assertIn("one card payment", str(cm.exception))

    def test_stripe_checkout_refused(self):
        """No amount, a journal that is not Stripe's with a receipt method,
        or a key Stripe refuses: told, and no payment is saved"""
        subscriber = self.account('prepaid')

        def journals():
            pool = Pool()
            Journal = pool.get('account.payment.journal')
            StripeAccount = pool.get('account.payment.stripe.account')
            stripe_journal = Journal(self.ids['stripe_journal'])
            revoked, = StripeAccount.create([{
                        'name': "Revoked", 'secret_key': 'sk_test_revoked',
                        'publishable_key': 'pk_test_revoked',
                        }])
            values = {
                'company': self.ids['company'],
                'currency': stripe_journal.currency.id,
                }
            manual, unrecorded, refused = Journal.create([{
                        'name': "Manual", 'process_method': 'manual',
                        **values,
                        }, {
                        'name': "Stripe without receipts",
                        'process_method': 'stripe',
                        'stripe_account': stripe_journal.stripe_account.id,
                        **values,
                        }, {
                        'name': "Stripe revoked",
                        'process_method': 'stripe',
                        'stripe_account': revoked.id,
                        'rsoft_method': stripe_journal.rsoft_method.id,
                        **values,
                        }])
            return manual.id, unrecorded.id, refused.id
        manual, unrecorded, refused = run(journals)

        def payments():
            Payment = Pool().get('account.payment')
            return Payment.search_count(
                [('rsoft_subscriber', '=', subscriber)])
        start = len(self.stripe.requests)
        for amount, journal, message in [
                ('0', None, "must be positive"),
                ('-10', None, "must be positive"),
                ('100', manual, "must process with Stripe"),
                ('100', unrecorded, "have a receipt method"),
                ('100', refused, "Invalid API Key provided"),
                ]:
            with self.subTest(amount=amount, journal=journal):
                with self.assertRaises(UserError) as cm:
                    self.rsoft_checkout(subscriber, amount,
                        journal=journal, key='form-refused')
                self.assertIn(message, str(cm.exception))
        self.assertEqual(run(payments), 0)
        # Only the revoked key was tried on Stripe
        self.assertEqual([a for _, _, a, _ in self.stripe.requests[start:]],
            ['Bearer sk_test_revoked'])

    def test_stripe_system_fields(self):
        """The form key and the purpose are set by the portal only: not
        written over RPC, and a copy is not the portal's payment"""
        subscriber = self.account('prepaid')
        payment_id, _ = self.rsoft_checkout(
            subscriber, '100', key='form-guarded', purpose='bill')

        def write():
            pool = Pool()
            Payment = pool.get('account.payment')
            payment = Payment(payment_id)
            refused = []
            with Transaction().set_context(_check_access=True):
                for values in [{'rsoft_key': 'other'},
                        {'rsoft_purpose': 'recharge'}]:
                    try:
                        Payment.write([payment], values)
                    except SystemFieldError as error:
                        refused.append(error.message)
                try:
                    Payment.create([{
                                'company': payment.company.id,
                                'journal': payment.journal.id,
                                'kind': 'receivable',
                                'party': payment.party.id,
                                'amount': Decimal('5'),
                                'rsoft_purpose': 'bill',
                                }])
                except SystemFieldError as error:
                    refused.append(error.message)
            copy, = Payment.copy([payment])
            payment = Payment(payment_id)
            return (refused, (payment.rsoft_key, payment.rsoft_purpose),
                (copy.rsoft_key, copy.rsoft_purpose, copy.rsoft_subscriber.id))
        refused, values, copied = run(write)
        self.assertEqual(len(refused), 3)
        system = "of Account Payment is set by the system"
        self.assertIn(f'"Portal Form Key" {system}', refused[0])
        self.assertIn(f'"Purpose" {system}', refused[1])
        self.assertIn(f'"Purpose" {system}', refused[2])
        self.assertEqual(values, ('form-guarded', 'bill'))
        self.assertEqual(copied, (None, None, subscriber))

    def test_stripe_bill_of_prepaid_settles_bills_first(self):
        """Where a prepaid account's payments top up the wallet first, its
        bill paid by card still settles the bill; a recharge tops up"""
        subscriber = self.account('prepaid')
        invoice_id, total = self.open_bill_of_prepaid(subscriber)
        _, balance = self.state(subscriber)

        def invoice():
            Invoice = Pool().get('account.invoice')
            invoice = Invoice(invoice_id)
            return invoice.state, invoice.amount_to_pay

        _, intent_id = self.rsoft_checkout(subscriber, '100.00')
        self.succeed_stripe(intent_id)
        _, after = self.state(subscriber)
        self.assertEqual(after - balance, Decimal('100.00'))
        self.assertEqual(run(invoice), ('posted', total))

        _, intent_id = self.rsoft_checkout(
            subscriber, total + 50, purpose='bill')
        self.succeed_stripe(intent_id)
        self.assertEqual(run(invoice), ('paid', Decimal(0)))
        _, last = self.state(subscriber)
        self.assertEqual(last - after, Decimal('50.00'))
