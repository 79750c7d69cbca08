"""The LCO portal through trytond's WSGI application

Each request runs in a transaction of its own, as in production: the
operator is committed by the fixture, and what the portal writes
(sessions, failed logins) is committed too."""
import datetime
from decimal import Decimal
from http import HTTPStatus
from unittest.mock import patch

from sql import Table

from trytond.model.exceptions import AccessError
from trytond.modules.rsoft_partner.tests.tools import create_lco_user
from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool
from trytond.protocols.wrappers import Response
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME, Client
from trytond.transaction import Transaction
from trytond.wsgi import app

from .attacks_account import account_attacks
from .attacks_service import service_attacks
from .attacks_stock import stock_attacks
from .tools import PASSWORD, PortalOperator, csrf_token

BASE = f'/{DB_NAME}/portal/lco'
# The rules' paths, as in app.url_map
RULE = '/<database_name>/portal/lco'
REFUSED = {HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND}


def portal_rules(prefix=RULE):
    "Return the URL rules the module registered under prefix, by their path"
    return {rule.rule: rule for rule in app.url_map.iter_rules()
        if rule.endpoint.__module__.startswith(
            'trytond.modules.rsoft_selfcare')
        and rule.rule.startswith(prefix + '/')}


class PortalClientMixin:
    """Gives a portal test case its WSGI clients, logged in as an LCO's
    portal login, without web_user's sleeps and throttling"""

    def setUp(self):
        super().setUp()
        # web_user slows each failure down by sleeping: not in the tests
        sleep = patch('trytond.modules.web_user.user.time.sleep')
        sleep.start()
        self.addCleanup(sleep.stop)
        run(self.forget_attempts)

    @staticmethod
    def forget_attempts():
        Attempt = Pool().get('rsoft.selfcare.login.attempt')
        Attempt.delete(Attempt.search([]))
        WebAttempt = Pool().get('web.user.authenticate.attempt')
        WebAttempt.delete(WebAttempt.search([]))

    def client(self):
        return Client(app, Response)

    def login(self, client, email, password=PASSWORD):
        # Logged in already, the login page is the dashboard
        token = csrf_token(
            client.get(f'{BASE}/login', follow_redirects=True))
        return client.post(f'{BASE}/login', data={
                'email': email, 'password': password, 'csrf_token': token})

    def logged_in(self, account):
        client = self.client()
        response = self.login(client, account['email'])
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        return client



class PortalTestCase(
        PortalClientMixin, PortalOperator, test_tryton._DBTestCase):
    "Test the LCO portal"
    module = 'rsoft_selfcare'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def read():
            with cls.fixture(cls) as op:
                return {code: {
                        'id': {name: a[name].id for name in [
                                'subscriber', 'invoice', 'payment',
                                'device', 'connection', 'user', 'lco']},
                        **{name: a[name] for name in [
                                'customer_id', 'name', 'serial', 'mobile',
                                'email']},
                        } for code, a in op.accounts.items()}
        accounts = run(read)
        cls.a, cls.b = (accounts[code] for code in sorted(accounts))
        cls.cash, cls.cheque = run(lambda: [Pool().get(
                    'rsoft.payment.method').search([('kind', '=', kind)])[0].id
                for kind in ['cash', 'cheque']])

    @staticmethod
    def session_cookie(client):
        cookie = client.get_cookie(
            'rsoft_portal_session', path=BASE)
        return cookie.value if cookie else None

    @staticmethod
    def sessions(user_id):
        def count():
            Session = Pool().get('web.user.session')
            return Session.search_count([
                    ('user', '=', user_id), ('rsoft_portal', '=', 'lco')])
        return run(count)

    def test_login(self):
        "An LCO logs in and sees its dashboard"
        client = self.client()
        response = self.login(client, self.a['email'])
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(response.headers['Location'], f'{BASE}/')
        response = client.get(f'{BASE}/')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("Active subscribers", response.get_data(as_text=True))

    def test_login_cookie(self):
        "The session cookie is httponly, SameSite and limited to the portal"
        client = self.client()
        response = self.login(client, self.a['email'])
        cookie, = [h for h in response.headers.getlist('Set-Cookie')
            if h.startswith('rsoft_portal_session=')]
        self.assertIn('HttpOnly', cookie)
        self.assertIn('SameSite=Lax', cookie)
        self.assertIn(f'Path={BASE}', cookie)
        self.assertNotIn('Secure', cookie)

        client = Client(app, Response)
        token = csrf_token(client.get(
                f'{BASE}/login', base_url='https://localhost/'))
        response = client.post(f'{BASE}/login', data={
                'email': self.a['email'], 'password': PASSWORD,
                'csrf_token': token}, base_url='https://localhost/')
        cookie, = [h for h in response.headers.getlist('Set-Cookie')
            if h.startswith('rsoft_portal_session=')]
        self.assertIn('Secure', cookie)

    def test_login_wrong_password(self):
        "A wrong password is refused and no session is made"
        before = self.sessions(self.a['id']['user'])
        client = self.client()
        response = self.login(client, self.a['email'], 'wrong')
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
        self.assertIn("Wrong e-mail or password",
            response.get_data(as_text=True))
        self.assertIsNone(self.session_cookie(client))
        self.assertEqual(self.sessions(self.a['id']['user']), before)
        self.assertEqual(
            client.get(f'{BASE}/').status_code, HTTPStatus.SEE_OTHER)

    def test_login_new_session(self):
        "Each login gets a session key of its own"
        client = self.client()
        self.login(client, self.a['email'])
        first = self.session_cookie(client)
        self.login(client, self.a['email'])
        second = self.session_cookie(client)
        self.assertTrue(first and second)
        self.assertNotEqual(first, second)
        # The key the browser held before is no longer a session
        other = self.client()
        other.set_cookie(
            'rsoft_portal_session', first, path=BASE)
        self.assertEqual(
            other.get(f'{BASE}/').status_code, HTTPStatus.SEE_OTHER)

    def test_login_throttled(self):
        "Five failures lock the login, until they are 15 minutes old"
        client = self.client()
        for _ in range(5):
            self.assertEqual(
                self.login(client, self.a['email'], 'wrong').status_code,
                HTTPStatus.UNAUTHORIZED)
        response = self.login(client, self.a['email'])
        self.assertEqual(response.status_code, HTTPStatus.TOO_MANY_REQUESTS)
        self.assertIsNone(self.session_cookie(client))

        def age():
            # The failures were made 16 minutes ago
            Attempt = Pool().get('rsoft.selfcare.login.attempt')
            table = Table(Attempt._table)
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update([table.create_date],
                    [datetime.datetime.now()
                        - datetime.timedelta(minutes=16)]))
        run(age)
        response = self.login(client, self.a['email'])
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)

    def test_csrf(self):
        "A form without its session's token is refused and changes nothing"
        client = self.logged_in(self.a)
        sessions = self.sessions(self.a['id']['user'])
        for data in [{}, {'csrf_token': 'forged'}]:
            response = client.post(f'{BASE}/logout', data=data)
            self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)
            self.assertEqual(self.sessions(self.a['id']['user']), sessions)
            self.assertEqual(
                client.get(f'{BASE}/').status_code, HTTPStatus.OK)

        # Nor a login form without the token of its cookie
        other = self.client()
        response = other.post(f'{BASE}/login', data={
                'email': self.a['email'], 'password': PASSWORD})
        self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)
        self.assertIsNone(self.session_cookie(other))

    def test_logout(self):
        "Logout ends every portal session of the login"
        client = self.logged_in(self.a)
        other = self.logged_in(self.a)
        token = csrf_token(client.get(f'{BASE}/'))
        response = client.post(f'{BASE}/logout', data={'csrf_token': token})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(self.sessions(self.a['id']['user']), 0)
        for browser in [client, other]:
            self.assertEqual(
                browser.get(f'{BASE}/').status_code, HTTPStatus.SEE_OTHER)

    def test_dashboard(self):
        "The dashboard counts the LCO's own subscribers and collections"
        client = self.logged_in(self.a)
        body = client.get(f'{BASE}/').get_data(as_text=True)

        def collected():
            # A's, not B's: test_collect may have added one
            pool = Pool()
            Date = pool.get('ir.date')
            Payment = pool.get('rsoft.payment')
            return Payment.search_count([
                    ('lco', '=', self.a['id']['lco']),
                    ('date', '=', Date.today()),
                    ('state', '!=', 'draft'),
                    ])
        self.assertIn(f"({run(collected)} receipts)", body)
        self.assertIn('data-figure="active">1</span><span class="label">'
            "Active subscribers", body)
        self.assertIn("\u2014", body)

    def test_dashboard_wallet(self):
        "An LCO on credit sees what it may still spend"
        def set_mode(mode, limit):
            Partner = Pool().get('rsoft.partner')
            lco = Partner(self.a['id']['lco'])
            Partner.write([lco], {
                    'wallet_mode': mode, 'credit_limit': Decimal(limit)})
            return Partner(lco.id).wallet_balance
        balance = run(set_mode, 'credit', '2500')
        try:
            client = self.logged_in(self.a)
            body = client.get(f'{BASE}/').get_data(as_text=True)
            # The stock tests may have left A some money in its wallet
            self.assertIn(f"{balance + 2500:,.2f}", body)
            self.assertNotIn("\u2014", body)
        finally:
            run(set_mode, 'none', '0')

    def test_search(self):
        "The LCO finds its subscriber by customer ID, box, mobile, name"
        client = self.logged_in(self.a)
        for query in [self.a['customer_id'], self.a['serial'],
                self.a['mobile'][-6:], "asha"]:
            body = client.get(
                f'{BASE}/subscribers', query_string={'q': query}
                ).get_data(as_text=True)
            self.assertIn(self.a['customer_id'], body, query)
            self.assertIn("1 subscribers found", body)

    def test_subscriber_page(self):
        "The subscriber's page shows connections, packs, devices, money"
        client = self.logged_in(self.a)
        response = client.get(
            f"{BASE}/subscribers/{self.a['id']['subscriber']}")
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = response.get_data(as_text=True)
        for text in ["Gold Pack", self.a['serial'], self.a['name'],
                f"/invoices/{self.a['id']['invoice']}/bill.pdf"]:
            self.assertIn(text, body)

    def test_bill_pdf(self):
        "The LCO downloads its subscriber's bill"
        client = self.logged_in(self.a)
        response = client.get(
            f"{BASE}/invoices/{self.a['id']['invoice']}/bill.pdf")
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(response.mimetype, 'application/pdf')
        self.assertTrue(response.get_data().startswith(b'%PDF'))

    @staticmethod
    def payments(subscriber_id):
        def count():
            Payment = Pool().get('rsoft.payment')
            return Payment.search_count([('subscriber', '=', subscriber_id)])
        return run(count)

    def test_collect(self):
        "The LCO collects cash at the door and gets the receipt"
        client = self.logged_in(self.a)
        url = f"{BASE}/subscribers/{self.a['id']['subscriber']}/collect"
        before = self.payments(self.a['id']['subscriber'])
        token = csrf_token(client.get(url))
        response = client.post(url, data={
                'csrf_token': token, 'amount': '250.00',
                'method': str(self.cash), 'reference': ''})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("Receipt RCT", response.get_data(as_text=True))
        self.assertEqual(self.payments(self.a['id']['subscriber']), before + 1)

        def last():
            Payment = Pool().get('rsoft.payment')
            payment, = Payment.search([
                    ('subscriber', '=', self.a['id']['subscriber']),
                    ], order=[('id', 'DESC')], limit=1)
            return (payment.amount, payment.state, payment.lco.id,
                payment.collector.lco.id)
        self.assertEqual(run(last), (Decimal('250.00'), 'received',
                self.a['id']['lco'], self.a['id']['lco']))

    def test_collect_refused(self):
        "No payment without the form's token, an amount or a mode"
        client = self.logged_in(self.a)
        url = f"{BASE}/subscribers/{self.a['id']['subscriber']}/collect"
        before = self.payments(self.a['id']['subscriber'])
        token = csrf_token(client.get(url))
        for data, status in [
                ({'amount': '100', 'method': str(self.cash)},
                    HTTPStatus.FORBIDDEN),
                ({'amount': '100', 'method': str(self.cash),
                        'csrf_token': 'forged'}, HTTPStatus.FORBIDDEN),
                ({'amount': '-5', 'method': str(self.cash),
                        'csrf_token': token},
                    HTTPStatus.UNPROCESSABLE_ENTITY),
                ({'amount': 'NaN', 'method': str(self.cash),
                        'csrf_token': token},
                    HTTPStatus.UNPROCESSABLE_ENTITY),
                ({'amount': '100', 'method': '0', 'csrf_token': token},
                    HTTPStatus.NOT_FOUND),
                # The model wants a cheque's number
                ({'amount': '100', 'method': str(self.cheque),
                        'csrf_token': token},
                    HTTPStatus.UNPROCESSABLE_ENTITY),
                ]:
            with self.subTest(data=data):
                self.assertEqual(
                    client.post(url, data=data).status_code, status)
        response = client.post(url, data={'amount': '100',
                'method': str(self.cheque), 'csrf_token': token})
        self.assertIn("needs the cheque number as its reference",
            response.get_data(as_text=True))
        self.assertEqual(self.payments(self.a['id']['subscriber']), before)

    def test_binding_back_office_only(self):
        "An LCO's back-office login cannot move a portal login"
        pool = Pool(DB_NAME)
        with Transaction().start(DB_NAME, 1) as transaction:
            WebUser = pool.get('web.user')
            Partner = pool.get('rsoft.partner')
            staff = create_lco_user(
                'lco-a-staff', Partner(self.a['id']['lco']))
            with transaction.set_user(staff.id), \
                    transaction.set_context(_check_access=True):
                for values in [{'rsoft_lco': self.b['id']['lco']},
                        {'rsoft_portal': None}]:
                    with self.assertRaises(AccessError):
                        WebUser.write(
                            [WebUser(self.a['id']['user'])], values)
            transaction.rollback()

    def attacks(self):
        """Return, for each rule of the module, the requests LCO A makes
        with LCO B's records: (method, URL, form or query)"""
        b = self.b['id']
        return {
            **account_attacks(self, RULE, b),
            **stock_attacks(self, RULE, b),
            **service_attacks(self, RULE, b),
            f'{RULE}/login': [
                ('POST', '/login', {'email': self.b['email'],
                        'password': 'guess'}),
                ],
            f'{RULE}/logout': [('POST', '/logout', {})],
            f'{RULE}/': [('GET', '/', {})],
            f'{RULE}/subscribers': [
                ('GET', '/subscribers', {'q': q}) for q in [
                    self.b['customer_id'], self.b['serial'],
                    self.b['mobile'], self.b['name'], '']],
            f'{RULE}/subscribers/<int:subscriber>': [
                ('GET', f'/subscribers/{i}', {}) for i in [
                    b['subscriber'], b['connection'], b['invoice'],
                    b['payment'], b['device']]],
            f'{RULE}/subscribers/<int:subscriber>/collect': [
                (method, f'/subscribers/{i}/collect', {
                        'amount': '1', 'method': str(self.cash)})
                for method in ['GET', 'POST']
                for i in [b['subscriber'], b['connection'], b['invoice']]],
            f'{RULE}/invoices/<int:invoice>/bill.pdf': [
                ('GET', f'/invoices/{i}/bill.pdf', {}) for i in [
                    b['invoice'], b['subscriber'], b['payment']]],
            }

    def test_attacker(self):
        "LCO A gets nothing of LCO B's through any route of the portal"
        attacks = self.attacks()
        # A route added without its attack fails here
        self.assertEqual(set(portal_rules()), set(attacks))
        payments = self.payments(self.b['id']['subscriber'])
        secrets = [self.b['customer_id'], self.b['name'], self.b['serial'],
            self.b['mobile']]
        for path, requests in attacks.items():
            for method, url, data in requests:
                with self.subTest(path=path, url=url, data=data):
                    client = self.logged_in(self.a)
                    if method == 'POST':
                        data = {**data, 'csrf_token': csrf_token(
                                    client.get(f'{BASE}/'))}
                        response = client.post(BASE + url, data=data)
                    else:
                        response = client.get(BASE + url, query_string=data)
                    body = response.get_data().decode('utf-8', 'replace')
                    for secret in secrets:
                        # What A typed is shown back in the search box
                        echoed = 1 if secret == data.get('q') else 0
                        self.assertEqual(body.count(secret), echoed)
                    if any(c.isdigit() for c in url):
                        self.assertIn(response.status_code, REFUSED)
        self.assertEqual(self.payments(self.b['id']['subscriber']), payments)
