"""A subscriber recharges or pays bills online through Razorpay Checkout

The payment page's side of an online payment: the order created once per
payment form, the options of Checkout, the confirmation of what Checkout
returns, the webhooks before or after it, the scheduled reconciliation of
the orders nobody told about, and Checkout itself in Chromium. Razorpay is
a local server spoken to over HTTP; the webhooks it would send are held
and delivered through trytond's WSGI application in the test's thread (an
in-memory SQLite database is seen by its own thread only)."""
import datetime
import html
import json
import os
import shutil
import threading
import unittest
import urllib.error
import urllib.request
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from trytond import backend
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError
from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool
from trytond.protocols.wrappers import Response
from trytond.tests import test_tryton
from trytond.tests.test_tryton import Client
from trytond.transaction import Transaction
from trytond.wsgi import app

from .local_server import LocalServer
from .razorpay_server import RazorpayServer, checkout_signature, signature
from .test_gateway import (
    KEY_ID,
    KEY_SECRET,
    WEBHOOK_SECRET,
    RazorpayOperator,
)

D = datetime.date
REFUSED = "could not be verified"
PENDING = "not confirmed by the gateway yet"
PORTAL_ORIGIN = 'http://portal.example'


def post_json(url, value, origin=PORTAL_ORIGIN):
    "POST value as JSON the way Checkout's script does; (status, JSON)"
    request = urllib.request.Request(
        url, data=json.dumps(value).encode('utf-8'), method='POST',
        headers={'Content-Type': 'application/json', 'Origin': origin})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


# The generic module checks run once, in test_module.py
class CheckoutTestCase(RazorpayOperator, test_tryton._DBTestCase):
    "Test online recharges and bill payments through Razorpay Checkout"

    def setUp(self):
        super().setUp()
        self.razorpay.webhook_url = run(self.gateway_value, 'webhook_url')
        self.razorpay.webhook_secret = WEBHOOK_SECRET
        self.razorpay.hold_webhooks = True
        self.razorpay.post_webhook = self.post_through_app
        self.addCleanup(self.razorpay.held_webhooks.clear)

    def post_through_app(self, url, body, headers):
        return Client(app, Response).post(
            urlsplit(url).path, data=body, headers=headers).status_code

    def gateway_value(self, name):
        pool = Pool()
        Gateway = pool.get('rsoft.payment.gateway')
        return getattr(Gateway(self.ids['gateway']), name)

    def pay(self, razorpay_id):
        "Pay the order in Checkout; return what Checkout hands the page"
        status, value = post_json(
            self.razorpay.url + '/v1/checkout/pay',
            {'order_id': razorpay_id, 'key': KEY_ID})
        self.assertEqual(status, 200, value)
        return value

    def confirm(self, value):
        "Confirm value as the payment page does; return the order's state"
        def confirm():
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            Order = pool.get('rsoft.payment.gateway.order')
            order = Order.confirm(
                Gateway(self.ids['gateway']), value['razorpay_order_id'],
                value['razorpay_payment_id'], value['razorpay_signature'])
            return order.state, order.razorpay_payment_id
        return run(confirm)

    def order(self, order_id):
        def read():
            pool = Pool()
            Order = pool.get('rsoft.payment.gateway.order')
            order = Order(order_id)
            return (order.state, order.razorpay_payment_id,
                order.payment.amount if order.payment else None)
        return run(read)

    def backdate(self, order_id, age):
        "Make the order created age ago"
        def write():
            pool = Pool()
            Order = pool.get('rsoft.payment.gateway.order')
            table = Order.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update(
                    [table.create_date],
                    [datetime.datetime.now() - age],
                    where=table.id == order_id))
        run(write)

    def reconcile(self):
        "Run the scheduled job of the reconciliation as trytond-cron does"
        def reconcile():
            pool = Pool()
            Cron = pool.get('ir.cron')
            ModelData = pool.get('ir.model.data')
            cron = Cron(ModelData.get_id(
                    'rsoft_payment', 'cron_reconcile_orders'))
            with Transaction().set_user(0), \
                    Transaction().set_context(company=None):
                Cron.run_once([cron])
        run(reconcile)

    def requests(self, start, path):
        return [r for r in self.razorpay.requests[start:] if r[1] == path]

    def test_checkout_url(self):
        "Checkout's script by default is Razorpay's; its origin for the CSP"
        def write(url):
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            gateway = Gateway(self.ids['gateway'])
            gateway.checkout_url = url
            gateway.save()
            return gateway.checkout_origin

        def default():
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            return Gateway.default_checkout_url()
        self.assertEqual(
            run(default), 'https://checkout.razorpay.com/v1/checkout.js')
        self.assertEqual(
            run(write, 'https://checkout.razorpay.com/v1/checkout.js'),
            'https://checkout.razorpay.com')
        self.assertEqual(
            run(write, self.razorpay.checkout_url), self.razorpay.url)
        for url in ['javascript:alert(1)', 'checkout.js', 'https://',
                'ftp://checkout.razorpay.com/v1/checkout.js']:
            with self.assertRaises(ValidationError) as cm:
                run(write, url)
            self.assertIn("must be an http or https URL", cm.exception.message)

    def test_order_once_per_form(self):
        """The same form posted again (double click, refresh) returns its
        order: one Razorpay order; another form or account, another"""
        subscriber = self.account('prepaid')
        other = self.account('prepaid')
        start = len(self.razorpay.requests)

        first = self.create_order(subscriber, '354.50', key='form-1')
        again = self.create_order(subscriber, '354.50', key='form-1')
        second = self.create_order(subscriber, '354.50', key='form-2')
        others = self.create_order(other, '354.50', key='form-1')
        keyless = [self.create_order(subscriber, '100') for _ in range(2)]

        self.assertEqual(again, first)
        self.assertEqual(
            len({first, second, others, *keyless}), 5)
        self.assertEqual(len(self.requests(start, '/v1/orders')), 5)
        with self.assertRaises(UserError) as cm:
            self.create_order(subscriber, '500', key='form-1')
        self.assertIn("already sent with another amount", str(cm.exception))
        with self.assertRaises(UserError):
            self.create_order(subscriber, '354.50', key='form-1',
                purpose='bill')
        self.assertEqual(len(self.requests(start, '/v1/orders')), 5)

        # Paid, the form posted again shows the paid order: nothing new
        self.confirm(self.pay(first[1]))
        self.assertEqual(
            self.create_order(subscriber, '354.50', key='form-1'), first)
        self.assertEqual(len(self.requests(start, '/v1/orders')), 5)

    def test_checkout_options(self):
        "Checkout is opened with the order, the merchant and the subscriber"
        subscriber = self.account('prepaid')
        order_id, razorpay_id = self.create_order(
            subscriber, '354.50', key='form-1', purpose='bill')

        def read():
            pool = Pool()
            Order = pool.get('rsoft.payment.gateway.order')
            Subscriber = pool.get('rsoft.subscriber')
            account = Subscriber(subscriber)
            prefill = {'name': account.party.rec_name,
                'contact': account.mobile}
            if account.email:
                prefill['email'] = account.email
            return (Order(order_id).checkout_options(), account.customer_id,
                prefill)
        options, customer_id, prefill = run(read)
        self.assertTrue(prefill['contact'])

        self.assertEqual(options, {
                'key': KEY_ID,
                'amount': 35450,
                'currency': 'INR',
                'order_id': razorpay_id,
                'name': "RSoft Cable Network",
                'description': f"Bill payment of account {customer_id}",
                'prefill': prefill,
                'notes': {
                    'customer_id': customer_id, 'order': str(order_id),
                    'purpose': 'bill',
                    },
                })
        text = json.dumps(options)
        for secret in [KEY_SECRET, WEBHOOK_SECRET]:
            self.assertNotIn(secret, text)
        self.assertEqual(
            self.razorpay.orders[razorpay_id]['notes'], options['notes'])

        self.confirm(self.pay(razorpay_id))
        with self.assertRaises(UserError) as cm:
            run(read)
        self.assertIn("cannot be paid again", str(cm.exception))

    def test_recharge_confirmed_then_webhooks(self):
        """The payment page confirms a recharge: the wallet is credited
        once; a refresh and Razorpay's webhooks after it change nothing"""
        subscriber = self.account('prepaid')
        _, balance = self.state(subscriber)
        order_id, razorpay_id = self.create_order(
            subscriber, '354.00', key='form-1')
        start = len(self.razorpay.requests)
        value = self.pay(razorpay_id)
        self.assertEqual(value['razorpay_signature'], checkout_signature(
                razorpay_id, value['razorpay_payment_id'], KEY_SECRET))

        self.assertEqual(
            self.confirm(value), ('paid', value['razorpay_payment_id']))

        # Asked about the payment only (again when a lock restarts the
        # transaction)
        payment_id = value['razorpay_payment_id']
        self.assertEqual(
            {(m, p) for m, p, _, _ in self.razorpay.requests[start:]},
            {('POST', '/v1/checkout/pay'),
                ('GET', f'/v1/payments/{payment_id}')})
        receipts, after = self.state(subscriber)
        self.assertEqual(receipts, [(
                    Decimal('354.00'), payment_id, 'cleared',
                    f'rsoft.payment.gateway.order,{order_id}')])
        self.assertEqual(after - balance, Decimal('354.00'))

        self.assertEqual(self.confirm(value), ('paid', payment_id))
        self.assertEqual(self.razorpay.deliver_held(), [200, 200])
        self.assertEqual(self.events(payment_id), [
                ('payment.captured', True, 'duplicate'),
                ('order.paid', True, 'duplicate'),
                ])
        self.assertEqual(self.state(subscriber), (receipts, after))

    def test_webhook_then_confirmed(self):
        "The webhook records the payment first; the page then confirms it"
        subscriber = self.account('prepaid')
        _, balance = self.state(subscriber)
        order_id, razorpay_id = self.create_order(subscriber, '500')
        value = self.pay(razorpay_id)
        payment_id = value['razorpay_payment_id']

        self.assertEqual(self.razorpay.deliver_held(), [200, 200])
        self.assertEqual(self.events(payment_id), [
                ('payment.captured', True, 'recorded'),
                ('order.paid', True, 'duplicate'),
                ])
        self.assertEqual(self.confirm(value), ('paid', payment_id))

        receipts, after = self.state(subscriber)
        self.assertEqual([r[:2] for r in receipts],
            [(Decimal('500.00'), payment_id)])
        self.assertEqual(after - balance, Decimal('500.00'))
        self.assertEqual(
            self.order(order_id), ('paid', payment_id, Decimal('500.00')))

    def test_confirm_and_webhook_at_once(self):
        """The page confirms while the webhook comes, in two connections to
        PostgreSQL: one waits for the other's lock; one receipt"""
        if backend.name != 'postgresql':
            self.skipTest("concurrent transactions need PostgreSQL")
        subscriber = self.account('prepaid')
        _, balance = self.state(subscriber)
        order_id, razorpay_id = self.create_order(subscriber, '354.00')
        value = self.pay(razorpay_id)
        (_, url, body, headers), _ = self.razorpay.held_webhooks
        self.razorpay.held_webhooks.clear()
        barrier = threading.Barrier(2)
        outcomes = {}

        def confirm():
            barrier.wait()
            try:
                outcomes['confirm'] = self.confirm(value)[0]
            except Exception as error:
                outcomes['confirm'] = type(error).__name__

        def webhook():
            barrier.wait()
            outcomes['webhook'] = self.post_through_app(url, body, headers)
        threads = [threading.Thread(target=f) for f in [confirm, webhook]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        receipts, after = self.state(subscriber)
        self.assertEqual(len(receipts), 1, outcomes)
        self.assertEqual(after - balance, Decimal('354.00'))
        # Whichever came second saw the first's receipt, or gave up
        # waiting and is tried again: still one
        self.assertEqual(self.confirm(value)[0], 'paid')
        self.assertEqual(self.post_through_app(url, body, headers), 200)
        self.assertEqual(self.state(subscriber), (receipts, after))
        self.assertEqual(self.order(order_id)[0], 'paid')

    def test_confirm_refused(self):
        """A forged signature, a payment of another amount or order, or an
        order not ours: refused with one message, logged, nothing paid"""
        subscriber = self.account('prepaid')
        _, balance = self.state(subscriber)
        order_id, razorpay_id = self.create_order(subscriber, '354.00')
        value = self.pay(razorpay_id)
        payment_id = value['razorpay_payment_id']
        forged = [
            dict(value, razorpay_signature=signature(
                    f'{razorpay_id}|{payment_id}', 'not-the-secret')),
            dict(value, razorpay_signature='é' * 64),
            dict(value, razorpay_signature=''),
            # Signed by Razorpay for this order, but another payment's
            dict(value, razorpay_payment_id='pay_00000000000000'),
            ]
        short = self.razorpay.capture(razorpay_id, amount=100)
        forged.append({
                'razorpay_order_id': razorpay_id,
                'razorpay_payment_id': short['id'],
                'razorpay_signature': checkout_signature(
                    razorpay_id, short['id'], KEY_SECRET),
                })
        elsewhere, _ = self.razorpay.create_order(
            {'amount': 35400, 'currency': 'INR'})
        forged.append(self.pay(elsewhere['id']))

        for attempt in forged:
            with self.subTest(attempt=attempt), self.assertLogs(
                    'trytond.modules.rsoft_payment.gateway', 'WARNING'):
                with self.assertRaises(UserError) as cm:
                    self.confirm(attempt)
                self.assertIn(REFUSED, str(cm.exception))
        self.assertEqual(self.order(order_id), ('created', None, None))
        self.assertEqual(self.state(subscriber), ([], balance))

        self.assertEqual(self.confirm(value), ('paid', payment_id))

    def test_confirm_pending(self):
        "A payment authorised but not yet captured: told to wait, not paid"
        subscriber = self.account('prepaid')
        order_id, razorpay_id = self.create_order(subscriber, '354.00')
        value = self.pay(razorpay_id)
        payment = self.razorpay.payments[value['razorpay_payment_id']]
        payment.update(status='authorized', captured=False)

        with self.assertRaises(UserError) as cm:
            self.confirm(value)
        self.assertIn(PENDING, str(cm.exception))
        self.assertEqual(self.order(order_id), ('created', None, None))

        payment.update(status='captured', captured=True)
        self.assertEqual(
            self.confirm(value), ('paid', value['razorpay_payment_id']))

    def test_bill_payment_settles_invoice(self):
        "A postpaid account pays its bill online: the bill is paid"
        subscriber = self.account('postpaid')

        def bill():
            pool = Pool()
            Subscriber = pool.get('rsoft.subscriber')
            invoice, = Subscriber.bill(
                [Subscriber(subscriber)], D(2025, 2, 1))
            return invoice.id, invoice.total_amount
        invoice_id, total = run(bill)
        self.assertGreater(total, 0)
        order_id, razorpay_id = self.create_order(
            subscriber, total, key='bill-form', purpose='bill')
        value = self.pay(razorpay_id)

        self.assertEqual(self.confirm(value)[0], 'paid')

        def read():
            pool = Pool()
            Invoice = pool.get('account.invoice')
            Order = pool.get('rsoft.payment.gateway.order')
            invoice = Invoice(invoice_id)
            payment = Order(order_id).payment
            return (invoice.state, invoice.amount_to_pay,
                [(a.kind, a.invoice, a.amount)
                    for a in payment.allocations])
        state, to_pay, allocations = run(read)
        self.assertEqual((state, to_pay), ('paid', Decimal(0)))
        self.assertEqual(allocations, [('invoice', allocations[0][1], total)])
        self.assertEqual(allocations[0][1].id, invoice_id)

    def test_bill_payment_of_prepaid_settles_bills_first(self):
        """Where a prepaid account's payments top up the wallet first, its
        bill paid online still settles the bill; a recharge tops up"""
        subscriber = self.account('prepaid')
        invoice_id, total = self.open_bill_of_prepaid(subscriber)
        _, balance = self.state(subscriber)

        _, razorpay_id = self.create_order(subscriber, '100.00')
        self.confirm(self.pay(razorpay_id))
        _, after = self.state(subscriber)
        self.assertEqual(after - balance, Decimal('100.00'))

        _, razorpay_id = self.create_order(
            subscriber, total + 50, purpose='bill')
        self.confirm(self.pay(razorpay_id))

        def read():
            pool = Pool()
            Invoice = pool.get('account.invoice')
            invoice = Invoice(invoice_id)
            return invoice.state, invoice.amount_to_pay
        self.assertEqual(run(read), ('paid', Decimal(0)))
        _, last = self.state(subscriber)
        self.assertEqual(last - after, Decimal('50.00'))

    def test_reconcile_orders(self):
        """Orders nobody told about: a captured payment is recorded (and
        its late webhook changes nothing), an order unpaid after three
        days fails, one still payable is left open"""
        subscriber = self.account('prepaid')
        _, balance = self.state(subscriber)
        orders = {name: self.create_order(subscriber, amount)
            for name, amount in [
                ('young', '101'), ('captured', '102'), ('open', '103'),
                ('expired', '104'), ('late', '105'), ('wrong', '106')]}
        # Paid in Checkout, the page closed before it confirmed, the
        # webhooks held back
        values = {name: self.pay(orders[name][1])
            for name in ['young', 'captured', 'late']}
        post_json(self.razorpay.url + '/v1/checkout/fail',
            {'order_id': orders['expired'][1], 'key': KEY_ID})
        self.razorpay.capture(orders['wrong'][1], amount=100)
        for name in ['captured', 'open']:
            self.backdate(orders[name][0], datetime.timedelta(minutes=10))
        for name in ['expired', 'late', 'wrong']:
            self.backdate(orders[name][0], datetime.timedelta(days=4))
        start = len(self.razorpay.requests)

        with self.assertLogs(
                'trytond.modules.rsoft_payment.gateway', 'INFO') as logs:
            self.reconcile()

        asked = {path for _, path, _, _ in self.razorpay.requests[start:]}
        self.assertEqual(asked, {
                f'/v1/orders/{orders[name][1]}/payments'
                for name in orders if name != 'young'})
        self.assertEqual(
            {name: self.order(order_id)[0]
                for name, (order_id, _) in orders.items()},
            {'young': 'created', 'captured': 'paid', 'open': 'created',
                'expired': 'failed', 'late': 'paid', 'wrong': 'failed'})
        self.assertEqual(self.order(orders['captured'][0]), (
                'paid', values['captured']['razorpay_payment_id'],
                Decimal('102.00')))
        receipts, after = self.state(subscriber)
        self.assertEqual(sorted(r[0] for r in receipts),
            [Decimal('102.00'), Decimal('105.00')])
        self.assertEqual(after - balance, Decimal('207.00'))
        self.assertTrue(any("2 recorded" in m and "2 expired" in m
                for m in logs.output), logs.output)
        self.assertTrue(any("refused" in m for m in logs.output))

        # The webhooks come at last (the young order's records it), the
        # page confirms: nothing more
        self.razorpay.deliver_held()
        self.confirm(values['captured'])
        receipts, last = self.state(subscriber)
        self.assertEqual(sorted(r[0] for r in receipts),
            [Decimal('101.00'), Decimal('102.00'), Decimal('105.00')])
        self.assertEqual(last - after, Decimal('101.00'))
        start = len(self.razorpay.requests)
        self.reconcile()
        self.assertEqual(
            [path for _, path, _, _ in self.razorpay.requests[start:]],
            [f'/v1/orders/{orders["open"][1]}/payments'])

    def test_checkout_in_chromium(self):
        """Checkout in a browser: the page of another origin loads the
        script its CSP allows; the subscriber pays and the handler's
        fields, or those posted to the callback URL, confirm the payment;
        a failure calls payment.failed"""
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support.ui import WebDriverWait
        except ImportError:
            self.skipTest("selenium is not installed")
        binary = shutil.which('chromium') or shutil.which('chromium-browser')
        driver_path = shutil.which('chromedriver')
        if not (binary and driver_path):
            if os.environ.get('CI'):
                self.fail("chromium and chromedriver are needed")
            self.skipTest("chromium and chromedriver are needed")
        subscriber = self.account('prepaid')
        _, balance = self.state(subscriber)
        orders = [self.create_order(subscriber, '354.50') for _ in range(3)]

        def read(order_id):
            pool = Pool()
            Gateway = pool.get('rsoft.payment.gateway')
            Order = pool.get('rsoft.payment.gateway.order')
            gateway = Gateway(self.ids['gateway'])
            gateway.checkout_url = self.razorpay.checkout_url
            gateway.save()
            return (Order(order_id).checkout_options(),
                gateway.checkout_url, gateway.checkout_origin)
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in ['--headless', '--no-sandbox', '--disable-gpu',
                '--no-first-run', '--disable-background-networking']:
            options.add_argument(flag)
        driver = webdriver.Chrome(
            service=Service(executable_path=driver_path), options=options)
        self.addCleanup(driver.quit)
        wait = WebDriverWait(driver, 30)
        page = PortalPage()
        results = []
        with LocalServer(_PageHandler) as portal:
            portal.page = page
            for (order_id, _), button, redirect in zip(orders,
                    ['rzp-test-pay', 'rzp-test-fail', 'rzp-test-pay'],
                    [False, False, True]):
                page.options, page.script, page.origin = run(read, order_id)
                if redirect:
                    page.options.update(
                        callback_url=portal.url + '/callback', redirect=True)
                driver.get(portal.url + '/pay')
                amount = wait.until(lambda d: d.find_element(
                        By.ID, 'rzp-test-amount'))
                self.assertEqual(amount.text, 'INR 354.50')
                # Laid over the page: the CSP lets the script style it
                self.assertEqual(driver.execute_script(
                        "return getComputedStyle(document.getElementById("
                        "'rzp-test-checkout')).position"), 'fixed')
                self.assertEqual(driver.find_element(
                        By.ID, 'rzp-test-name').text, "RSoft Cable Network")
                driver.find_element(By.ID, button).click()
                results.append(json.loads(wait.until(lambda d: d.find_element(
                                By.ID, 'result').get_attribute(
                                'data-value'))))
        paid, failed, posted = results

        for value in [paid, posted]:
            self.assertEqual(sorted(value), [
                    'razorpay_order_id', 'razorpay_payment_id',
                    'razorpay_signature'])
            self.assertEqual(
                self.confirm(value), ('paid', value['razorpay_payment_id']))
        self.assertEqual(posted['razorpay_order_id'], orders[2][1])
        self.assertEqual(
            self.state(subscriber)[1] - balance, Decimal('709.00'))
        self.assertEqual(failed['error']['reason'], 'payment_failed')
        self.assertEqual(
            failed['error']['metadata']['order_id'], orders[1][1])
        self.assertEqual(self.order(orders[1][0]), ('created', None, None))
        # payment.captured and order.paid of each payment, recorded
        # already; payment.failed, ignored
        self.assertEqual(self.razorpay.deliver_held(), [200] * 5)
        self.assertEqual(
            [e[2] for e in self.events(paid['razorpay_payment_id'])],
            ['duplicate', 'duplicate'])


class PortalPage:
    "What the test portal's payment page shows"
    options = script = origin = None


class _PageHandler(BaseHTTPRequestHandler):
    """A payment page opening Checkout, under a strict CSP, and the page
    Checkout posts to in redirect mode"""

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        page = self.server.api.page
        if urlsplit(self.path).path == '/page.js':
            self._send('text/javascript', PAGE_JS)
            return
        self._send('text/html; charset=utf-8', PAGE_HTML % {
                'script': page.script, 'options': _json(page.options)},
            csp=(f"default-src 'self'; script-src 'self' {page.origin}; "
                f"connect-src {page.origin}"))

    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self._send('text/html; charset=utf-8',
            CALLBACK_HTML % html.escape(json.dumps(fields)))

    def _send(self, content_type, text, csp=None):
        body = text.encode('utf-8')
        self.send_response(200)
        self.send_header('Content-Type', content_type)
        if csp:
            self.send_header('Content-Security-Policy', csp)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _json(value):
    "JSON to embed in a script element"
    return json.dumps(value).replace('<', '\\u003c')


PAGE_HTML = """<!DOCTYPE html>
<html><head><title>Pay</title>
<script src="%(script)s"></script>
<script type="application/json" id="options">%(options)s</script>
</head><body><div id="result"></div>
<script src="/page.js"></script></body></html>
"""
CALLBACK_HTML = """<!DOCTYPE html>
<html><head><title>Paid</title></head>
<body><div id="result" data-value="%s"></div></body></html>
"""
PAGE_JS = """
var options = JSON.parse(document.getElementById('options').textContent);
var result = document.getElementById('result');
options.handler = function (response) {
    result.setAttribute('data-value', JSON.stringify(response));
};
var checkout = new Razorpay(options);
checkout.on('payment.failed', function (response) {
    result.setAttribute('data-value', JSON.stringify(response));
});
checkout.open();
"""


class RazorpayServerTestCase(unittest.TestCase):
    "The local Razorpay's own behaviour that the browser tests rely on"

    def setUp(self):
        self.razorpay = RazorpayServer(KEY_ID, KEY_SECRET).start()
        self.addCleanup(self.razorpay.stop)

    def test_webhooks_delivered_in_background(self):
        "A Pay posts payment.captured then order.paid, signed, over HTTP"
        received = []

        class Receiver(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                received.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header('Content-Length', '0')
                self.end_headers()

        with LocalServer(Receiver) as receiver:
            self.razorpay.webhook_url = receiver.url + '/db/webhook'
            self.razorpay.webhook_secret = WEBHOOK_SECRET
            order, _ = self.razorpay.create_order(
                {'amount': 10000, 'currency': 'INR'})
            status, value = post_json(
                self.razorpay.url + '/v1/checkout/pay',
                {'order_id': order['id'], 'key': KEY_ID})
            self.razorpay.join_webhooks()

        self.assertEqual(status, 200)
        self.assertEqual(self.razorpay.deliveries,
            [('payment.captured', 200), ('order.paid', 200)])
        events = []
        for path, headers, body in received:
            self.assertEqual(path, '/db/webhook')
            self.assertEqual(headers['X-Razorpay-Signature'],
                signature(body, WEBHOOK_SECRET))
            event = json.loads(body)
            self.assertEqual(event['payload']['payment']['entity']['id'],
                value['razorpay_payment_id'])
            events.append(event['event'])
        self.assertEqual(events, ['payment.captured', 'order.paid'])

        # Paid: Checkout refuses to pay it again
        status, value = post_json(
            self.razorpay.url + '/v1/checkout/pay',
            {'order_id': order['id'], 'key': KEY_ID})
        self.assertEqual(status, 400)

    def test_checkout_script_and_cors(self):
        "The script and the preflight a page of another origin needs"
        with urllib.request.urlopen(self.razorpay.checkout_url) as response:
            script = response.read().decode()
            self.assertIn('javascript', response.headers['Content-Type'])
        self.assertIn('window.Razorpay = Razorpay', script)
        self.assertIn(json.dumps(self.razorpay.url), script)

        request = urllib.request.Request(
            self.razorpay.url + '/v1/checkout/pay', method='OPTIONS',
            headers={'Origin': PORTAL_ORIGIN,
                'Access-Control-Request-Method': 'POST',
                'Access-Control-Request-Headers': 'content-type'})
        with urllib.request.urlopen(request) as response:
            self.assertEqual(response.status, 204)
            self.assertEqual(
                response.headers['Access-Control-Allow-Origin'],
                PORTAL_ORIGIN)
            self.assertIn('Content-Type',
                response.headers['Access-Control-Allow-Headers'])

        status, value = post_json(
            self.razorpay.url + '/v1/checkout/pay',
            {'order_id': 'order_x', 'key': 'rzp_test_other'})
        self.assertEqual(status, 401)

    def test_order_payments(self):
        "The payments of an order, failed and captured, as the SDK reads"
        order, _ = self.razorpay.create_order(
            {'amount': 10000, 'currency': 'INR'})
        failed = self.razorpay.fail(order['id'])
        captured = self.razorpay.capture(order['id'])
        request = urllib.request.Request(
            f'{self.razorpay.url}/v1/orders/{order["id"]}/payments',
            headers={'Authorization': self.razorpay.authorization})
        with urllib.request.urlopen(request) as response:
            value = json.load(response)
        self.assertEqual(value['entity'], 'collection')
        self.assertEqual(value['count'], 2)
        self.assertEqual(
            [(p['id'], p['status']) for p in value['items']],
            [(failed['id'], 'failed'), (captured['id'], 'captured')])

