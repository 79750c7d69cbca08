"""An LCO clerk's day in the LCO portal, in Chromium, on the demo operator:
log in with the login the demo printed, find subscribers, collect cash
(the receipt queued), renew two of them, add a pack after its quote (the
LCO's wallet debited by what was quoted), download the day's cash-up; and
at the LCO whose wallet is nearly empty, a renewal refused, naming what is
missing, with nothing changed."""
import datetime
import time
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from pages import TIMEOUT, PortalPages, decimal
from rsoft_tools.password import portal_email
from selenium.webdriver.common.by import By

from trytond.modules.rsoft_toolkit.reader import read_rows

pytestmark = pytest.mark.browser

# The demo's LCO wallets (tools/rsoft_tools/lco.py): Andheri prepaid with
# Rs 50,000, Dadar with Rs 300
RICH, POOR = 'lco-mum-01', 'lco-mum-02'
# What the clerk collects for each renewal: more than a month of the
# demo's richest offers
CASH = '2500'


def day(value):
    "A date of what JSON-RPC returns for a Date, None for none"
    if value:
        return datetime.date(value['year'], value['month'], value['day'])


class Portal(PortalPages):
    "What a clerk does in the LCO portal, with the pages' own forms"
    portal = 'lco'

    def login(self, login):
        self.open('/login')
        self.browser.find_element(By.ID, 'email').send_keys(
            portal_email(login))
        self.browser.find_element(By.ID, 'password').send_keys(
            self.server.lco_passwords[login])
        self.submit(self.browser.find_element(By.TAG_NAME, 'form'))
        assert urlsplit(self.browser.current_url).path.endswith(
            '/portal/lco/'), self.text

    def logout(self):
        self.submit(self.browser.find_element(
                By.CSS_SELECTOR, 'header form'))

    def collect(self, subscriber, amount):
        "Collect amount in cash from subscriber: return the receipt page"
        self.open(f'/subscribers/{subscriber}/collect')
        self.browser.find_element(By.ID, 'amount').send_keys(amount)
        method = self.browser.find_element(By.ID, 'method')
        method.find_element(
            By.XPATH, ".//option[normalize-space()='Cash']").click()
        self.submit(self.browser.find_element(By.CSS_SELECTOR, 'main form'))
        return self.text

    def quote_and_add(self, connection):
        """Ask for the quotes of the offers the packs page of connection
        lists, until one the rules allow; confirm it: return its name and
        the quote page's text"""
        self.open(f'/connections/{connection}/packs')
        offers = len(self.browser.find_elements(
                By.CSS_SELECTOR, 'form input[name=step][value=quote]'))
        for index in range(offers):
            self.open(f'/connections/{connection}/packs')
            row = self.browser.find_elements(By.XPATH,
                "//tr[.//input[@name='step' and @value='quote']]")[index]
            offer = row.find_element(By.TAG_NAME, 'td').text
            self.submit(row.find_element(By.TAG_NAME, 'form'))
            confirm = self.browser.find_elements(By.XPATH,
                "//form[.//input[@name='step' and @value='confirm']]")
            if confirm:
                quote = self.text
                self.submit(confirm[0])
                return offer, quote
        raise AssertionError(f'no offer may be added to {connection}')


def accounts(server, lco):
    "Return the active prepaid accounts of lco, by customer ID"
    return server.rpc('model.rsoft.subscriber.search_read', [
            ('lco.code', '=', lco.upper()),
            ('state', '=', 'active'),
            ('billing_mode', '=', 'prepaid'),
            ], 0, None, [('customer_id', 'ASC')],
        ['customer_id', 'party.name', 'connections', 'billed_until'])


def wallet(server, lco):
    partner, = server.rpc('model.rsoft.partner.search_read', [
            ('code', '=', lco.upper()),
            ], 0, 1, None, ['wallet_balance'])
    return decimal(partner['wallet_balance'])


def download(browser, portal, path, folder):
    "Click the XLSX link of the report at path; return the file's bytes"
    browser.execute_cdp_cmd('Browser.setDownloadBehavior', {
            'behavior': 'allow', 'downloadPath': str(folder)})
    portal.open(path)
    browser.find_element(By.PARTIAL_LINK_TEXT, 'XLSX').click()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        files = [f for f in folder.glob('*.xlsx')]
        if files and not list(folder.glob('*.crdownload')):
            return files[0].read_bytes()
        time.sleep(0.2)
    raise AssertionError(f'nothing downloaded from {path}')


def test_lco_clerk_day(browser, demo_server, screenshot, tmp_path):
    "A clerk of Andheri Cable Services, then one of Dadar Digital Cable"
    server = demo_server
    portal = Portal(browser, server)
    first, second = accounts(server, RICH)[:2]

    portal.login(RICH)
    screenshot('dashboard')
    assert "Andheri Cable Services" in portal.text

    # Search by customer ID: the account and nothing else
    portal.open(f"/subscribers?q={first['customer_id']}")
    assert first['customer_id'] in portal.text
    assert second['customer_id'] not in portal.text

    # Cash for two renewals: each receipt numbered and queued by SMS
    # and e-mail
    for account in [first, second]:
        receipt = portal.collect(account['id'], CASH)
        assert "Receipt RCT" in receipt, receipt
    payments = [p for p in server.rpc('model.rsoft.payment.search_read', [
                ('subscriber', 'in', [first['id'], second['id']]),
                ], 0, None, None, ['id', 'amount'])
        if decimal(p['amount']) == Decimal(CASH)]
    assert len(payments) == 2
    queued = server.rpc('model.rsoft.notify.notification.search_count', [
            ('origin', 'in', [f"rsoft.payment,{p['id']}" for p in payments]),
            ])
    assert queued >= 2

    # Bulk renewal of the two, ticked on the search page
    before = wallet(server, RICH)
    portal.open('/subscribers?q=')
    for account in [first, second]:
        portal.browser.find_element(By.CSS_SELECTOR,
            f"input[name=subscriber][value='{account['id']}']").click()
    portal.submit(portal.browser.find_element(
            By.CSS_SELECTOR, "form[action$='/renew']"))
    screenshot('renewed')
    assert portal.text.count("Renewed") == 2, portal.text
    renewed = wallet(server, RICH)
    assert renewed < before
    # Paid further than before: never billed yet, or billed ahead now
    for account, after in zip([first, second], accounts(server, RICH)[:2]):
        assert day(after['billed_until']) > (
            day(account['billed_until']) or datetime.date.min)

    # A pack added to the first account's connection after its quote: the
    # wallet debited by the debit quoted
    connection = first['connections'][0]
    offer, quote = portal.quote_and_add(connection)
    screenshot('pack')
    assert "Your wallet: before → after" in quote, quote
    debit = renewed - wallet(server, RICH)
    assert debit > 0
    assert f"{debit:,.2f}" in quote, (debit, quote)
    assert offer in portal.text

    # The day's cash-up, as a spreadsheet
    content = download(browser, portal, '/reports/cash-up', tmp_path)
    total, = [values for _, values in read_rows(content, {
                'collector': ('collector',), 'collected': ('collected',),
                }, 'cash-up.xlsx') if values['collector'] == "Total"]
    assert Decimal(total['collected']) >= 2 * Decimal(CASH)
    portal.logout()

    # Dadar's wallet cannot pay a renewal: refused, naming the amount
    # missing, and nothing changed
    account = accounts(server, POOR)[0]
    portal.login(POOR)
    portal.collect(account['id'], CASH)
    before = wallet(server, POOR)
    portal.open(f"/subscribers/{account['id']}/renew")
    portal.submit(portal.browser.find_element(By.CSS_SELECTOR, 'main form'))
    screenshot('refused')
    # The LCO's wallet, not the subscriber's, which the cash paid
    assert 'The wallet of "LCO-MUM-02 - Dadar Digital Cable"' in portal.text
    assert "is missing" in portal.text, portal.text
    assert wallet(server, POOR) == before
    after, = [a for a in accounts(server, POOR) if a['id'] == account['id']]
    assert after['billed_until'] == account['billed_until']


def test_technician_day_on_phone(browser, demo_server, screenshot):
    """Andheri's clerk lodges a no-signal complaint and makes its work
    order, given to Ravi; Ravi, on his phone, finds it on his day list,
    starts it at the door and completes it: the complaint is resolved"""
    server = demo_server
    browser.set_window_size(390, 844)
    portal = Portal(browser, server)
    # An account the clerk's day does not touch
    account, = server.rpc('model.rsoft.subscriber.search_read', [
            ('lco.code', '=', RICH.upper()),
            ('state', '=', 'active'),
            ], 0, 1, [('customer_id', 'DESC')], ['id'])
    portal.login(RICH)

    # The morning's complaints of the demo, with their clocks
    portal.open('/complaints')
    assert "DKT" in portal.text, portal.text

    portal.open(f"/subscribers/{account['id']}")
    browser.find_element(By.LINK_TEXT, "Lodge a complaint").click()
    portal.wait(lambda b: b.find_elements(By.ID, 'description'))
    browser.find_element(By.ID, 'category').find_element(
        By.XPATH, ".//option[normalize-space()='No Signal']").click()
    browser.find_element(By.ID, 'description').send_keys(
        "Blank screen on every channel")
    portal.submit(browser.find_element(By.CSS_SELECTOR, 'main form'))
    screenshot('complaint')
    assert "Docket DKT" in portal.text, portal.text
    complaint_id = int(browser.current_url.rstrip('/').rsplit('/', 1)[1])
    complaint, = server.rpc('model.rsoft.complaint.read', [complaint_id],
        ['number', 'state', 'channel'])
    assert (complaint['state'], complaint['channel']) == (
        'open', 'lco_portal')
    assert server.rpc('model.rsoft.notify.notification.search_count', [
            ('origin', '=', f'rsoft.complaint,{complaint_id}'),
            ]) >= 1

    portal.submit(browser.find_element(By.XPATH,
            "//form[.//input[@name='step' and @value='work_order']]"))
    portal.wait(lambda b: b.find_elements(By.ID, 'technician'))
    browser.find_element(By.ID, 'technician').find_element(
        By.XPATH, ".//option[normalize-space()='Ravi Kale']").click()
    portal.submit(browser.find_element(By.XPATH,
            "//form[.//input[@name='step' and @value='allocate']]"))
    assert "Allocated" in portal.text, portal.text
    order_url = browser.current_url

    # Ravi's round of the day, on a phone: nothing wider than the screen
    portal.open('/technicians')
    browser.find_element(By.LINK_TEXT, "Ravi Kale").click()
    portal.wait(lambda b: "Ravi Kale ·" in b.find_element(
            By.TAG_NAME, 'h1').text)
    screenshot('day')
    assert browser.execute_script(
        'return document.documentElement.scrollWidth'
        ' <= window.innerWidth'), "the day list is wider than the phone"
    card = browser.find_element(By.XPATH,
        f"//div[@class='card'][.//a[@href='{urlsplit(order_url).path}']]")
    portal.submit(card.find_element(By.TAG_NAME, 'form'))
    card = browser.find_element(By.XPATH,
        f"//div[@class='card'][.//a[@href='{urlsplit(order_url).path}']]")
    assert "Started" in card.text, card.text
    card.find_element(By.LINK_TEXT, "Complete").click()
    portal.wait(lambda b: b.find_elements(By.ID, 'notes'))
    browser.find_element(By.ID, 'notes').send_keys("Loose connector fixed")
    portal.submit(browser.find_element(By.XPATH,
            "//form[.//input[@name='step' and @value='complete']]"))
    screenshot('done')
    assert "Done" in portal.text, portal.text
    complaint, = server.rpc('model.rsoft.complaint.read', [complaint_id],
        ['state', 'resolution_code'])
    assert (complaint['state'], complaint['resolution_code']) == (
        'resolved', 'repaired_on_site')
