"""What a user does in a portal's pages, in Chromium: the helpers the
portal tests share"""
from decimal import Decimal

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

TIMEOUT = 60


def decimal(value):
    "A Decimal of what JSON-RPC returns for a Numeric"
    if isinstance(value, dict):
        return Decimal(value['decimal'])
    return Decimal(str(value))


class PortalPages:
    "The pages of the portal named `portal` of the demo server"
    portal = None

    def __init__(self, browser, server):
        self.browser = browser
        self.server = server
        self.base = f'{server.url}{server.database}/portal/{self.portal}'

    def wait(self, condition, ignored=()):
        return WebDriverWait(self.browser, TIMEOUT,
            ignored_exceptions=ignored).until(condition)

    def open(self, path=''):
        self.browser.get(f'{self.base}{path}')
        self.wait(lambda b: b.execute_script(
                'return document.readyState') == 'complete')

    @property
    def text(self):
        return self.browser.find_element(By.TAG_NAME, 'body').text

    def leave(self, action):
        "Do action, which leaves the page, and wait for the next page"
        # A mark on the page that the next page won't carry: asking for
        # an element of a page being torn down may fail in Chromium's
        # inspector ("unhandled inspector error"), so those failures only
        # mean "not yet"
        self.browser.execute_script('window.rsoftLeaving = true')
        action()
        self.wait(lambda b: b.execute_script(
                'return !window.rsoftLeaving'
                ' && document.readyState === "complete"'),
            ignored=(WebDriverException,))

    def submit(self, form):
        "Submit form with its own button and wait for the next page"
        self.leave(form.find_element(
                By.CSS_SELECTOR, 'button[type=submit]').click)

    def click(self, element_id):
        "Click the element of element_id and wait for the next page"
        self.leave(self.browser.find_element(By.ID, element_id).click)
