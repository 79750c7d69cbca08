"""The subscriber portal through trytond's WSGI application: the login by
OTP or password, the accounts, bills, wallet, history and profile"""
import datetime
import re
from http import HTTPStatus

from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME

from .test_portal import PortalClientMixin
from .tools import PortalOperator, csrf_token

BASE = f'/{DB_NAME}/portal/subscriber'
OTP = re.compile(r'\b(\d{6})\b')


def last_otp(mobile):
    "Return the code of the last OTP SMS queued for mobile, else None"
    def read():
        Notification = Pool().get('rsoft.notify.notification')
        notifications = Notification.search([
                ('recipient', '=', mobile),
                ('event.code', '=', 'portal_otp'),
                ], order=[('id', 'DESC')], limit=1)
        if notifications:
            return OTP.search(notifications[0].body).group(1)
    return run(read)


def otp_count(mobile):
    def count():
        Notification = Pool().get('rsoft.notify.notification')
        return Notification.search_count([
                ('recipient', '=', mobile),
                ('event.code', '=', 'portal_otp'),
                ])
    return run(count)


class SubscriberClientMixin(PortalClientMixin):
    "Gives a test case clients of the subscriber portal, logged in by OTP"

    def setUp(self):
        super().setUp()
        run(self.forget_otps)

    @staticmethod
    def forget_otps():
        Otp = Pool().get('rsoft.selfcare.otp')
        Otp.delete(Otp.search([]))

    def post(self, client, path, data, page=None):
        "Post data to path with the CSRF token of page (path by default)"
        token = csrf_token(client.get(BASE + (page or path)))
        return client.post(BASE + path, data={**data, 'csrf_token': token})

    def ask_otp(self, client, login):
        return self.post(client, '/login', {'action': 'otp', 'login': login})

    def verify(self, client, login, code):
        return self.post(client, '/login', {
                'action': 'verify', 'login': login, 'otp': code})

    def subscriber_client(self, account):
        "Return a client logged in to the portal as the holder of account"
        client = self.client()
        self.ask_otp(client, account['customer_id'])
        response = self.verify(client, account['customer_id'],
            last_otp(account['mobile']))
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        return client


class SubscriberPortalTestCase(
        SubscriberClientMixin, PortalOperator, test_tryton._DBTestCase):
    "Test the subscriber portal"
    module = 'rsoft_selfcare'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def read():
            with cls.fixture(cls) as op:
                return {code: {
                        'id': {name: a[name].id for name in [
                                'subscriber', 'invoice', 'payment',
                                'connection', 'lco']},
                        'party': a['subscriber'].party.id,
                        **{name: a[name] for name in [
                                'customer_id', 'name', 'mobile', 'serial']},
                        } for code, a in op.accounts.items()}, op.sports.id
        accounts, cls.sports = run(read)
        cls.a, cls.b = (accounts[code] for code in sorted(accounts))

    def test_otp_login(self):
        "A subscriber asks an OTP by customer ID, gets it by SMS, logs in"
        client = self.client()
        response = self.ask_otp(client, self.a['customer_id'].lower())
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("an OTP has been sent", response.get_data(as_text=True))
        code = last_otp(self.a['mobile'])
        self.assertRegex(code, r'^\d{6}$')
        response = self.verify(client, self.a['customer_id'], code)
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(response.headers['Location'], f'{BASE}/')
        cookie, = [h for h in response.headers.getlist('Set-Cookie')
            if h.startswith('rsoft_portal_session=')]
        self.assertIn('HttpOnly', cookie)
        self.assertIn('SameSite=Lax', cookie)
        self.assertIn(f'Path={BASE}', cookie)
        body = client.get(f'{BASE}/').get_data(as_text=True)
        self.assertIn(self.a['customer_id'], body)
        self.assertIn(self.a['name'], body)
        self.assertNotIn(self.b['customer_id'], body)
        # A code opens once
        other = self.client()
        response = self.verify(other, self.a['customer_id'], code)
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)

    def test_otp_login_by_mobile(self):
        "The registered mobile, typed as the subscriber knows it, logs in"
        client = self.client()
        typed = self.a['mobile'][-10:]
        self.ask_otp(client, typed)
        response = self.verify(client, typed, last_otp(self.a['mobile']))
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)

    def test_otp_unknown_login(self):
        "An unknown login gets the same answer and no SMS is sent"
        client = self.client()
        before = otp_count('+919999999999')
        response = self.ask_otp(client, 'C99999999')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("an OTP has been sent", response.get_data(as_text=True))
        response = self.verify(client, 'C99999999', '123456')
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
        self.assertIn("The OTP is wrong or has expired",
            response.get_data(as_text=True))
        self.assertEqual(otp_count('+919999999999'), before)

    def test_otp_wrong_code(self):
        "Five wrong codes block the OTP: the right one is then refused too"
        client = self.client()
        self.ask_otp(client, self.a['customer_id'])
        code = last_otp(self.a['mobile'])
        wrong = f'{(int(code) + 1) % 1000000:06d}'
        for _ in range(5):
            response = self.verify(client, self.a['customer_id'], wrong)
            self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
            self.assertIsNone(self.session_cookie(client))
        run(self.forget_attempts)
        response = self.verify(client, self.a['customer_id'], code)
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)

    def test_otp_expired(self):
        "A code older than its validity is refused"
        client = self.client()
        self.ask_otp(client, self.a['customer_id'])
        code = last_otp(self.a['mobile'])

        def age():
            Otp = Pool().get('rsoft.selfcare.otp')
            Otp.write(Otp.search([]), {
                    'expires': datetime.datetime.now()
                    - datetime.timedelta(seconds=1)})
        run(age)
        response = self.verify(client, self.a['customer_id'], code)
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)

    def test_otp_throttled(self):
        "A fourth OTP within the window is not sent"
        client = self.client()
        for _ in range(3):
            response = self.ask_otp(client, self.a['customer_id'])
            self.assertEqual(response.status_code, HTTPStatus.OK)
        before = otp_count(self.a['mobile'])
        response = self.ask_otp(client, self.a['customer_id'])
        self.assertEqual(response.status_code, HTTPStatus.TOO_MANY_REQUESTS)
        self.assertIn("Too many OTPs", response.get_data(as_text=True))
        self.assertEqual(otp_count(self.a['mobile']), before)

    def test_password_login(self):
        "A subscriber sets a password in the profile and logs in with it"
        client = self.subscriber_client(self.a)
        response = self.post(client, '/profile', {
                'action': 'password', 'password': 'short',
                'password2': 'short'})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn("at least 8 characters", response.get_data(as_text=True))
        response = self.post(client, '/profile', {
                'action': 'password', 'password': 'Tv-Remote-2026',
                'password2': 'Tv-Remote-2026'})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("Your password is set", response.get_data(as_text=True))

        other = self.client()
        response = self.post(other, '/login', {
                'action': 'password', 'login': self.a['customer_id'],
                'password': 'wrong-password'}, page='/login?password=1')
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
        response = self.post(other, '/login', {
                'action': 'password', 'login': self.a['customer_id'],
                'password': 'Tv-Remote-2026'}, page='/login?password=1')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        # B has no password: no guess opens B
        response = self.post(self.client(), '/login', {
                'action': 'password', 'login': self.b['customer_id'],
                'password': 'Tv-Remote-2026'}, page='/login?password=1')
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)

    def test_new_session_at_login(self):
        "A session key planted before the login does not carry over"
        client = self.client()
        client.set_cookie('rsoft_portal_session', 'planted', path=BASE)
        self.ask_otp(client, self.a['customer_id'])
        self.verify(client, self.a['customer_id'],
            last_otp(self.a['mobile']))
        self.assertNotEqual(self.session_cookie(client), 'planted')

    @staticmethod
    def session_cookie(client):
        cookie = client.get_cookie('rsoft_portal_session', path=BASE)
        return cookie.value if cookie else None

    def test_lco_session_not_subscriber(self):
        "An LCO portal session does not open the subscriber portal"
        client = self.client()
        self.assertEqual(client.get(f'{BASE}/').status_code,
            HTTPStatus.SEE_OTHER)

    def test_security_headers(self):
        "Every page forbids framing and inline scripts of others"
        client = self.subscriber_client(self.a)
        for path in ['/login', '/', '/bills', '/wallet', '/history',
                '/profile']:
            with self.subTest(path=path):
                response = client.get(BASE + path)
                # Logged in, the login page sends home
                self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER
                    if path == '/login' else HTTPStatus.OK)
                csp = response.headers['Content-Security-Policy']
                self.assertIn("frame-ancestors 'none'", csp)
                self.assertIn("script-src 'self' 'nonce-", csp)
                self.assertEqual(response.headers['X-Frame-Options'], 'DENY')
                self.assertEqual(response.headers['Cache-Control'],
                    'no-store')

    def test_csrf(self):
        "A form without its session's token is refused"
        client = self.subscriber_client(self.a)
        response = client.post(f'{BASE}/profile', data={
                'action': 'email', 'email': 'evil@example.com'})
        self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)

    def test_home(self):
        "The home page shows what is due and the connection's offers"
        client = self.subscriber_client(self.a)
        body = client.get(f'{BASE}/').get_data(as_text=True)
        self.assertIn("Amount due", body)
        self.assertIn("Gold", body)

    def test_bills(self):
        "The bills and payments of the accounts, a bill as PDF"
        client = self.subscriber_client(self.a)
        response = client.get(f'{BASE}/bills')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = response.get_data(as_text=True)
        self.assertIn(f"/invoices/{self.a['id']['invoice']}/bill.pdf", body)
        response = client.get(
            f"{BASE}/invoices/{self.a['id']['invoice']}/bill.pdf")
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(response.headers['Content-Type'], 'application/pdf')
        self.assertTrue(response.get_data().startswith(b'%PDF'))
        response = client.get(
            f"{BASE}/invoices/{self.b['id']['invoice']}/bill.pdf")
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

    def test_profile_mobile(self):
        "A new mobile number is registered once its OTP is given back"
        client = self.subscriber_client(self.a)
        new = '+919822012345'
        response = self.post(client, '/profile', {
                'action': 'mobile', 'mobile': '98220 12345'})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        code = last_otp(new)
        self.assertIsNotNone(code)
        wrong = f'{(int(code) + 1) % 1000000:06d}'
        response = self.post(client, '/profile', {
                'action': 'mobile_verify', 'mobile': new, 'otp': wrong})
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
        self.assertEqual(self.mobile(self.a['id']['subscriber']),
            self.a['mobile'])
        response = self.post(client, '/profile', {
                'action': 'mobile_verify', 'mobile': new, 'otp': code})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(self.mobile(self.a['id']['subscriber']), new)

        def read_event():
            Event = Pool().get('rsoft.subscriber.event')
            event, = Event.search([
                    ('subscriber', '=', self.a['id']['subscriber']),
                    ('kind', '=', 'contact'),
                    ])
            return event.before, event.after, event.portal_login
        self.assertEqual(run(read_event), (self.a['mobile'], new,
                f"subscriber {self.a['customer_id']}"))

        def restore():
            Subscriber = Pool().get('rsoft.subscriber')
            Subscriber.write([Subscriber(self.a['id']['subscriber'])],
                {'mobile': self.a['mobile']})
        run(restore)

    @staticmethod
    def mobile(subscriber_id):
        return run(lambda: Pool().get('rsoft.subscriber')(
                subscriber_id).mobile)

    def test_profile_promotions(self):
        "A subscriber opts out of SMS promotions, then back in"
        client = self.subscriber_client(self.a)

        def read_opt_outs():
            OptOut = Pool().get('rsoft.notify.opt_out')
            return {o.channel for o in OptOut.search([
                        ('party', '=', self.a['party'])])}

        def opt_outs():
            return run(read_opt_outs)
        self.post(client, '/profile', {
                'action': 'promotions', 'promotions': 'email'})
        self.assertEqual(opt_outs(), {'sms'})
        self.post(client, '/profile', {'action': 'promotions'})
        self.assertEqual(opt_outs(), {'sms', 'email'})
        client.post(f'{BASE}/profile', data={
                'action': 'promotions', 'promotions': ['sms', 'email'],
                'csrf_token': csrf_token(client.get(f'{BASE}/profile'))})
        self.assertEqual(opt_outs(), set())


    def test_channels_add_remove(self):
        "A pack is added after its new monthly amount is shown, then removed"
        client = self.subscriber_client(self.a)
        connection = self.a['id']['connection']
        response = client.get(f'{BASE}/channels')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        body = client.get(f'{BASE}/channels/{connection}').get_data(
            as_text=True)
        self.assertIn("Sports Pack", body)
        self.assertIn("Gold Pack", body)
        response = self.post(client, f'/channels/{connection}/preview',
            {'add': str(self.sports)}, page=f'/channels/{connection}')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = response.get_data(as_text=True)
        self.assertIn("Confirm the change", body)
        self.assertEqual(self.lines(connection), {'Gold Pack'})

        # From where: the address of the subscriber's device
        response = client.post(f'{BASE}/channels/{connection}/confirm',
            data={'add': str(self.sports), 'csrf_token': csrf_token(
                    client.get(f'{BASE}/channels/{connection}'))},
            environ_base={'REMOTE_ADDR': '203.0.113.7'})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        body = client.get(response.headers['Location']).get_data(
            as_text=True)
        self.assertIn('data-state="done"', body)
        self.assertEqual(self.lines(connection), {'Gold Pack', 'Sports Pack'})

        def request():
            Request = Pool().get('rsoft.subscription.request')
            request, = Request.search([
                    ('connection', '=', connection),
                    ('state', '=', 'done'),
                    ], order=[('id', 'DESC')], limit=1)
            return (request.source, request.login, request.ip_address,
                [p.rec_name for p in request.added])
        self.assertEqual(run(request), ('portal',
                f"subscriber {self.a['customer_id']}", '203.0.113.7',
                ["Sports Pack"]))

        # The same form again (a double click): refused, nothing added
        response = self.post(client, f'/channels/{connection}/confirm',
            {'add': str(self.sports)}, page=f'/channels/{connection}')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        body = client.get(response.headers['Location']).get_data(
            as_text=True)
        self.assertIn('data-state="refused"', body)
        self.assertEqual(self.lines(connection), {'Gold Pack', 'Sports Pack'})

        response = self.post(client, f'/channels/{connection}/confirm',
            {'remove': str(self.sports)}, page=f'/channels/{connection}')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(self.lines(connection), {'Gold Pack'})

    def lines(self, connection_id):
        "Return the offers running on the connection today"
        def read():
            pool = Pool()
            Date = pool.get('ir.date')
            Connection = pool.get('rsoft.connection')
            today = Date.today()
            return {line.product.rec_name
                for line in Connection(connection_id).lines
                if line.state == 'active' and line.is_open(today)
                and line.product.template.rsoft_kind in {
                    'base_pack', 'addon_pack', 'alacarte',
                    'broadcaster_bouquet'}}
        return run(read)

    def test_advisor(self):
        "The advisor's proposal for ticked channels shows its amounts"
        client = self.subscriber_client(self.a)
        connection = self.a['id']['connection']
        response = client.get(f'{BASE}/channels/{connection}/advisor')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = response.get_data(as_text=True)
        ticked = re.findall(
            r'name="channel" value="(\d+)" checked', body)
        self.assertTrue(ticked)
        token = csrf_token(response)
        response = client.post(f'{BASE}/channels/{connection}/advisor',
            data={'channel': ticked, 'csrf_token': token})
        self.assertIn(response.status_code, {
                HTTPStatus.OK, HTTPStatus.UNPROCESSABLE_ENTITY})
        self.assertIn("Monthly total", response.get_data(as_text=True))
        response = client.post(f'{BASE}/channels/{connection}/advisor',
            data={'csrf_token': token})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn("Tick at least one channel",
            response.get_data(as_text=True))

    def test_poll(self):
        "A subscriber votes once in the operator's poll and sees the results"
        def create():
            pool = Pool()
            Poll = pool.get('rsoft.poll')
            Subscriber = pool.get('rsoft.subscriber')
            subscriber = Subscriber(self.a['id']['subscriber'])
            poll, = Poll.create([{
                        'name': "Which film on Saturday?", 'kind': 'movies',
                        'company': subscriber.company.id,
                        'options': [('create', [
                                    {'label': "Sholay"},
                                    {'label': "Lagaan"}])],
                        }])
            Poll.open([poll])
            return poll.id, [o.id for o in poll.options]
        poll, (sholay, lagaan) = run(create)
        self.addCleanup(run, self.close_poll, poll)
        client = self.subscriber_client(self.a)
        body = client.get(f'{BASE}/polls').get_data(as_text=True)
        self.assertIn("Which film on Saturday?", body)
        form = {'account': str(self.a['id']['subscriber'])}
        response = self.post(client, f'/polls/{poll}',
            {**form, 'option': str(lagaan)}, page='/polls')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        body = client.get(f'{BASE}/polls').get_data(as_text=True)
        self.assertIn("You voted for Lagaan", body)
        self.assertIn("100.00 %", body)
        response = self.post(client, f'/polls/{poll}',
            {**form, 'option': str(sholay)}, page='/polls')
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn("votes once", response.get_data(as_text=True))

        def votes():
            Vote = Pool().get('rsoft.poll.vote')
            return [(v.option.label, v.source)
                for v in Vote.search([('poll', '=', poll)])]
        self.assertEqual(run(votes), [("Lagaan", 'portal')])

    @staticmethod
    def close_poll(poll_id):
        Poll = Pool().get('rsoft.poll')
        Poll.close([Poll(poll_id)])


def card_of(subscriber):
    "Return the id of a new card payment of subscriber, through Stripe"
    pool = Pool()
    StripeAccount = pool.get('account.payment.stripe.account')
    Journal = pool.get('account.payment.journal')
    Payment = pool.get('account.payment')
    company = subscriber.company
    account, = StripeAccount.create([{
                'name': "Stripe", 'secret_key': 'sk_test_attack',
                'publishable_key': 'pk_test_attack',
                }])
    journal, = Journal.create([{
                'name': "Cards", 'company': company.id,
                'currency': company.currency.id, 'process_method': 'stripe',
                'stripe_account': account.id,
                }])
    payment, = Payment.create([{
                'company': company.id, 'journal': journal.id,
                'kind': 'receivable', 'party': subscriber.party.id,
                'rsoft_subscriber': subscriber.id, 'amount': 100,
                }])
    return payment.id


class SubscriberAttackTestCase(
        SubscriberClientMixin, PortalOperator, test_tryton._DBTestCase):
    """Subscriber A walks every route of the subscriber portal and of the
    channel-selector API with the ids of subscriber B's records"""
    module = 'rsoft_selfcare'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def read():
            with cls.fixture(cls) as op:
                return {code: {
                        'id': {name: a[name].id for name in [
                                'subscriber', 'invoice', 'payment',
                                'connection', 'device']},
                        'connection_code': a['connection'].code,
                        **{name: a[name] for name in [
                                'customer_id', 'name', 'mobile', 'serial']},
                        } for code, a in op.accounts.items()}, op.sports.id
        accounts, cls.sports = run(read)
        cls.a, cls.b = (accounts[code] for code in sorted(accounts))

    def attacks(self):
        "Return {rule: [(method, path, data)]} with B's records"
        b = self.b['id']
        ids = [b['subscriber'], b['connection'], b['invoice'], b['payment'],
            b['device']]
        rule = '/<database_name>/portal/subscriber'
        api = rule + '/api/v1'
        code = self.b['connection_code']
        return {
            f'{rule}/login': [('POST', '/login', {
                        'action': 'password', 'login': self.b['customer_id'],
                        'password': 'guess-guess'})],
            f'{rule}/logout': [('POST', '/logout', {})],
            f'{rule}/': [('GET', '/', {})],
            f'{rule}/bills': [('GET', '/bills', {})],
            f'{rule}/wallet': [('GET', '/wallet', {})],
            f'{rule}/history': [('GET', '/history', {})],
            f'{rule}/profile': [('GET', '/profile', {}), ('POST', '/profile', {
                        'action': 'mobile_verify', 'mobile': self.b['mobile'],
                        'otp': '000000'})],
            f'{rule}/invoices/<int:invoice>/bill.pdf': [
                ('GET', f'/invoices/{i}/bill.pdf', {}) for i in ids],
            f'{rule}/receipts/<int:payment>.pdf': [
                ('GET', f'/receipts/{i}.pdf', {}) for i in ids],
            f'{rule}/recharge': [
                (m, '/recharge', {'account': str(b['subscriber']),
                        'amount': '100'}) for m in ['GET', 'POST']],
            f'{rule}/recharge/<int:order>': [
                (m, f'/recharge/{i}', {}) for m in ['GET', 'POST']
                for i in ids + [self.order_b]],
            f'{rule}/recharge/card/<int:payment>': [
                ('GET', f'/recharge/card/{i}', {})
                for i in ids + [self.card_b]],
            f'{rule}/channels': [('GET', '/channels', {})],
            f'{rule}/channels/<int:connection>': [
                ('GET', f'/channels/{i}', {}) for i in ids],
            f'{rule}/channels/<int:connection>/preview': [
                ('POST', f'/channels/{i}/preview', {
                        'add': str(self.sports)}) for i in ids],
            f'{rule}/channels/<int:connection>/advisor': [
                (m, f'/channels/{i}/advisor', {}) for m in ['GET', 'POST']
                for i in ids],
            f'{rule}/channels/<int:connection>/confirm': [
                ('POST', f'/channels/{i}/confirm', {
                        'add': str(self.sports)}) for i in ids],
            f'{rule}/requests/<int:request_id>': [
                ('GET', f'/requests/{i}', {}) for i in ids + [
                    self.request_b]],
            f'{rule}/ppv': [('GET', '/ppv', {})],
            f'{rule}/ppv/buy': [('POST', '/ppv/buy', {
                        'connection': str(i), 'product': str(self.sports)})
                for i in ids],
            f'{rule}/vouchers': [('GET', '/vouchers', {})] + [
                ('POST', '/vouchers', {**data, 'pin': '12345678901234'})
                for data in [
                    {'account': str(b['subscriber'])},
                    {'connection': str(b['connection'])},
                    ]],
            f'{rule}/polls': [('GET', '/polls', {})],
            f'{rule}/polls/<int:poll>': [('POST', f'/polls/{i}', {
                        'account': str(b['subscriber']), 'option': '1'})
                for i in ids],
            f'{api}/auth/otp': [('API', '/auth/otp', {
                        'login': self.b['customer_id']})],
            f'{api}/auth/token': [('API', '/auth/token', {
                        'login': self.b['customer_id'], 'otp': '000000'})],
            f'{api}/auth/logout': [('API', '/auth/logout', {})],
            f'{api}/offers': [('APIGET', f'/offers?connection={code}', {})],
            f'{api}/subscription': [('APIGET', '/subscription', {})],
            f'{api}/proposal': [('API', '/proposal', {
                        'connection': code, 'channels': [1]})],
            f'{api}/requests': [('API', '/requests', {
                        'connection': code, 'add': [self.sports]})],
            f'{api}/vouchers/redeem': [('API', '/vouchers/redeem', {
                        'connection': code, 'pin': '12345678901234'})],
            f'{api}/requests/<int:request_id>': [
                ('APIGET', f'/requests/{i}', {}) for i in ids + [
                    self.request_b]],
            }

    def records_of_b(self):
        "Create B's own gateway order, card payment and subscription request"
        def create():
            pool = Pool()
            Order = pool.get('rsoft.payment.gateway.order')
            Request = pool.get('rsoft.subscription.request')
            Gateway = pool.get('rsoft.payment.gateway')
            Subscriber = pool.get('rsoft.subscriber')
            Connection = pool.get('rsoft.connection')
            subscriber = Subscriber(self.b['id']['subscriber'])
            gateways = Gateway.search([], limit=1)
            order = None
            if gateways:
                order, = Order.create([{
                            'gateway': gateways[0].id,
                            'company': subscriber.company.id,
                            'subscriber': subscriber.id,
                            'amount': 100,
                            'currency': subscriber.company.currency.id,
                            'razorpay_order_id': 'order_attack0000001',
                            }])
            request = Request.submit(
                Connection(self.b['id']['connection']), remove=[],
                add=[], source='back_office')
            return order.id if order else 0, card_of(subscriber), request.id
        return run(create)

    def test_attacker(self):
        "A gets nothing of B's through any route of the portal or the API"
        from .test_portal import portal_rules
        self.order_b, self.card_b, self.request_b = self.records_of_b()
        attacks = self.attacks()
        rule = '/<database_name>/portal/subscriber'
        # A route added without its attack fails here
        self.assertEqual(set(portal_rules(rule)), set(attacks))
        client = self.subscriber_client(self.a)
        run(self.forget_otps)
        api, token = self.client(), self.api_token(self.a)
        secrets = [self.b['customer_id'], self.b['name'], self.b['mobile'],
            self.b['serial']]
        for path, requests in attacks.items():
            for method, url, data in requests:
                with self.subTest(path=path, url=url, data=data):
                    if method == 'POST':
                        response = self.post(client, url, data, page='/')
                    elif method == 'GET':
                        response = client.get(BASE + url, query_string=data)
                    else:
                        response = api.open(
                            f'{BASE}/api/v1{url}',
                            method='POST' if method == 'API' else 'GET',
                            json=data if method == 'API' else None,
                            headers={'Authorization': f'Bearer {token}'})
                    body = response.get_data().decode('utf-8', 'replace')
                    typed = ' '.join(str(v) for v in data.values())
                    for secret in secrets:
                        # What A typed may be shown back in its form
                        if secret not in typed:
                            self.assertNotIn(secret, body)
                    code = self.b['connection_code']
                    if (any(c.isdigit() for c in url.split('?')[0])
                            or code in url or code in typed):
                        self.assertIn(response.status_code, {
                                HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND,
                                HTTPStatus.UNAUTHORIZED,
                                HTTPStatus.BAD_REQUEST,
                                HTTPStatus.UNPROCESSABLE_ENTITY})
                    # A logged out client logs in again
                    if url in {'/logout', '/auth/logout'}:
                        run(self.forget_otps)
                        client = self.subscriber_client(self.a)
                        token = self.api_token(self.a)
        self.assertEqual(self.commands_of_b(), self.commands_b)

    def setUp(self):
        super().setUp()
        self.commands_b = self.commands_of_b()

    def commands_of_b(self):
        return run(lambda: Pool().get('rsoft.cas.command').search_count([
                    ('connection', '=', self.b['id']['connection'])]))

    def api_token(self, account):
        client = self.client()
        client.post(f'{BASE}/api/v1/auth/otp',
            json={'login': account['customer_id']})
        response = client.post(f'{BASE}/api/v1/auth/token', json={
                'login': account['customer_id'],
                'otp': last_otp(account['mobile'])})
        return response.get_json()['token']
