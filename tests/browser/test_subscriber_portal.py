"""A subscriber's day in the subscriber portal, in Chromium, on the demo
operator: log in with an OTP (read from the outbox, as the demo sends no
SMS), recharge through Razorpay Checkout (a local Razorpay test server,
its webhooks delivered to the demo server), take the best-fit advisor's
proposal for one more channel and see its CAS commands, download a bill."""
import re
import time
from decimal import Decimal

import pytest
from pages import TIMEOUT, PortalPages, decimal
from selenium.webdriver.common.by import By

from trytond.modules.rsoft_payment.tests.razorpay_server import (
    RazorpayServer,
)

pytestmark = pytest.mark.browser

KEY_ID, KEY_SECRET = 'rzp_test_browser', 'browser-key-secret'
WEBHOOK_SECRET = 'browser-webhook-secret'
OTP = re.compile(r'\b(\d{6})\b')


class SubscriberPortal(PortalPages):
    "What a subscriber does in the portal, with the pages' own forms"
    portal = 'subscriber'

    def login(self, customer_id, mobile):
        self.open('/login')
        self.browser.find_element(By.ID, 'login').send_keys(customer_id)
        self.submit(self.browser.find_element(By.CSS_SELECTOR, 'main form'))
        assert 'an OTP has been sent' in self.text, self.text
        self.browser.find_element(By.ID, 'otp').send_keys(
            last_otp(self.server, mobile))
        self.submit(self.browser.find_element(By.CSS_SELECTOR, 'main form'))
        assert self.browser.current_url == f'{self.base}/', self.text


def last_otp(server, mobile):
    "The code of the last OTP SMS queued for mobile, read from the outbox"
    notification, = server.rpc(
        'model.rsoft.notify.notification.search_read', [
            ('recipient', '=', mobile),
            ('event.code', '=', 'portal_otp'),
            ], 0, 1, [('id', 'DESC')], ['body'])
    return OTP.search(notification['body']).group(1)


def subscriber_with_bill(server):
    """Return an active prepaid account of the demo with an active
    connection and a bill"""
    invoices = server.rpc('model.account.invoice.search_read', [
            ('state', 'in', ['posted', 'paid']),
            ('type', '=', 'out'),
            ('rsoft_subscriber.state', '=', 'active'),
            ('rsoft_subscriber.billing_mode', '=', 'prepaid'),
            ('rsoft_subscriber.connections.state', '=', 'active'),
            ], 0, 1, [('id', 'ASC')], ['rsoft_subscriber'])
    assert invoices, "no billed prepaid account in the demo"
    account, = server.rpc('model.rsoft.subscriber.read',
        [invoices[0]['rsoft_subscriber']],
        ['customer_id', 'mobile', 'connections', 'wallet_balance'])
    return account


@pytest.fixture
def razorpay(demo_server):
    "A local Razorpay the demo's gateway points at, webhooks included"
    server = RazorpayServer(KEY_ID, KEY_SECRET).start()
    rpc = demo_server.rpc
    gateways = rpc('model.rsoft.payment.gateway.search', [], 0, 1, None)
    method, = rpc('model.rsoft.payment.method.search', [
            ('kind', '=', 'gateway')], 0, 1, None)
    company, = rpc('model.company.company.search', [], 0, 1, None)
    values = {
        'name': "Razorpay (test)", 'company': company, 'key_id': KEY_ID,
        'key_secret': KEY_SECRET, 'webhook_secret': WEBHOOK_SECRET,
        'api_url': server.url, 'checkout_url': server.checkout_url,
        'method': method,
        }
    if gateways:
        rpc('model.rsoft.payment.gateway.write', gateways, values)
        gateway = gateways[0]
    else:
        gateway, = rpc('model.rsoft.payment.gateway.create', [values])
    server.webhook_url = (f'{demo_server.url}{demo_server.database}'
        f'/rsoft_payment/razorpay/{gateway}/webhook')
    server.webhook_secret = WEBHOOK_SECRET
    yield server
    server.stop()


def test_subscriber_day(browser, demo_server, razorpay, screenshot,
        tmp_path):
    "A prepaid subscriber logs in, recharges, adds a channel, gets a bill"
    server = demo_server
    portal = SubscriberPortal(browser, server)
    account = subscriber_with_bill(server)
    before = decimal(account['wallet_balance'] or 0)

    portal.login(account['customer_id'], account['mobile'])
    assert account['customer_id'] in portal.text
    screenshot('subscriber-home')

    # Recharge: the first suggested amount, paid in Checkout
    portal.open('/recharge')
    suggested = browser.find_elements(
        By.CSS_SELECTOR, 'input[name=amount]:checked')
    if suggested:
        amount = Decimal(suggested[0].get_attribute('value'))
    else:
        # Paid for months ahead: no renewal is suggested
        amount = Decimal('500')
        browser.find_element(By.ID, 'other').send_keys(str(amount))
    portal.click('pay')
    portal.wait(lambda b: b.find_elements(By.ID, 'rzp-test-pay'))
    screenshot('subscriber-checkout')
    portal.click('rzp-test-pay')
    portal.wait(lambda b: b.find_element(By.ID, 'order').get_attribute(
            'data-state') == 'paid')
    razorpay.join_webhooks()
    after = decimal(server.rpc('model.rsoft.subscriber.read',
            [account['id']], ['wallet_balance'])[0]['wallet_balance'])
    assert after == before + amount, (before, amount, after)
    payments = server.rpc('model.rsoft.payment.search_read', [
            ('subscriber', '=', account['id']),
            ('method.kind', '=', 'gateway'),
            ], 0, None, None, ['amount', 'external_id'])
    assert [decimal(p['amount']) for p in payments] == [amount]
    # Both webhooks came, after or while Checkout's confirmation recorded
    # the payment: neither recorded it again. On SQLite one may meet the
    # confirmation's lock and be refused, as Razorpay retries any refusal
    assert [event for event, _ in razorpay.deliveries] == [
        'payment.captured', 'order.paid'], razorpay.deliveries

    # The advisor: the channels watched and one more
    connection = account['connections'][0]
    portal.open(f'/channels/{connection}/advisor')
    unticked = browser.find_elements(
        By.CSS_SELECTOR, 'input[name=channel]:not(:checked)')
    assert unticked
    unticked[0].click()
    portal.click('advise')
    assert 'Monthly total' in portal.text
    screenshot('subscriber-advice')
    portal.click('confirm')
    state = browser.find_element(By.ID, 'request').get_attribute(
        'data-state')
    assert state == 'done', portal.text
    assert browser.find_elements(By.CSS_SELECTOR, 'tr.cas-command'), \
        portal.text
    screenshot('subscriber-request')

    # A bill as PDF
    browser.execute_cdp_cmd('Browser.setDownloadBehavior', {
            'behavior': 'allow', 'downloadPath': str(tmp_path)})
    portal.open('/bills')
    browser.find_element(By.PARTIAL_LINK_TEXT, 'PDF').click()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        files = list(tmp_path.glob('*.pdf'))
        if files and not list(tmp_path.glob('*.crdownload')):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("no bill downloaded")
    assert files[0].read_bytes().startswith(b'%PDF')
