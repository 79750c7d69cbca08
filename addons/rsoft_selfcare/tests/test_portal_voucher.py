"""Vouchers (scratch cards) redeemed through trytond's WSGI application:
by a subscriber in its portal, by an LCO for one of its subscribers, and
through the channel-selector API; refusals, their log and the lock-out"""
import csv
import datetime as dt
import io
from decimal import Decimal
from http import HTTPStatus
from unittest.mock import patch

import pyzipper

from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_subscriber.tests.tools import create_subscriber
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.modules.rsoft_voucher.tests.tools import (
    NOW,
    PASSWORD,
    TODAY,
    clock,
    create_voucher_operator,
    new_connection,
    pin_secret,
)
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME

from .test_portal import BASE as LCO_BASE
from .test_portal_subscriber import BASE, SubscriberClientMixin, last_otp
from .tools import PASSWORD as PORTAL_PASSWORD
from .tools import csrf_token

API = f'{BASE}/api/v1'
REFUSED = ("This voucher cannot be redeemed. Check the PIN and the serial, "
    "or try again later.")


def sold(op, template, quantity, partner):
    """Return the CSV rows (serial, PIN) of quantity vouchers of template
    generated, allocated to partner and sold"""
    pool = Pool()
    Batch = pool.get('rsoft.voucher.batch')
    Voucher = pool.get('rsoft.voucher')
    batch, content, _ = Batch.generate(template, quantity, PASSWORD)
    with pyzipper.AESZipFile(io.BytesIO(content)) as zip_:
        zip_.setpassword(PASSWORD.encode())
        name, = [n for n in zip_.namelist() if n.endswith('.csv')]
        rows = list(csv.DictReader(io.StringIO(zip_.read(name).decode())))
    vouchers = Voucher.in_range(batch.first_serial, batch.last_serial)
    Voucher.allocate(vouchers, partner)
    Voucher.activate(Voucher.browse(vouchers))
    return [{'serial': r['serial'], 'pin': r['pin']} for r in rows]


def second_tv(op, subscriber):
    "Return a second TV connection of subscriber, active on the Gold pack"
    Connection = Pool().get('rsoft.connection')
    connection, = Connection.create([{
                'subscriber': subscriber.id, 'kind': 'second_tv',
                'lines': [('create', [{
                                'product': op.gold.id, 'start_date': TODAY,
                                }])],
                }])
    Connection.activate([connection], TODAY)
    return connection


class VoucherPortalOperator(FixtureMixin):
    """The voucher tests' operator with three prepaid accounts of LCO-A
    (boxes installed; the third with a second TV), an account of LCO-B,
    LCO-A's cards of a Rs 300 top-up and of the Sports Pack for 30 days,
    and the LCOs' portal logins"""

    @classmethod
    def set_up_fixture(cls):
        pool = Pool()
        WebUser = pool.get('web.user')
        op = create_voucher_operator()
        with set_company(op.company), clock(), pin_secret():
            op.a, op.c, op.d = (new_connection(op, serial=serial,
                    name=name) for serial, name in [
                    ('GX00000001', "Asha Patil"),
                    ('GX00000002', "Chetan Kulkarni"),
                    ('GX00000003', "Deepa Joshi")])
            op.d_second = second_tv(op, op.d.subscriber)
            op.b = create_subscriber(op.lco_b, name="Bhavna Rao")
            op.top_ups = sold(op, op.top_up, 8, op.lco_a)
            op.sports_cards = sold(op, op.sports_card, 4, op.lco_a)
            op.logins = {}
            for lco in [op.lco_a, op.lco_b]:
                user, = WebUser.create([{
                            'email': f'{lco.code.lower()}@portal.example.com',
                            'password': PORTAL_PASSWORD,
                            'rsoft_portal': 'lco', 'rsoft_lco': lco.id,
                            }])
                op.logins[lco.code] = user.email
        return op


class VoucherPortalTestCase(
        SubscriberClientMixin, VoucherPortalOperator,
        test_tryton._DBTestCase):
    "Test the redemption of vouchers in the portals and the API"
    module = 'rsoft_selfcare'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def read():
            with cls.fixture(cls) as op:
                accounts = {name: {
                        'subscriber': c.subscriber.id,
                        'customer_id': c.subscriber.customer_id,
                        'mobile': c.subscriber.mobile,
                        'connection': c.id,
                        'code': c.code,
                        } for name, c in [
                        ('a', op.a), ('c', op.c), ('d', op.d)]}
                accounts['b'] = {'subscriber': op.b.id}
                accounts['d']['second'] = op.d_second.id
                return (accounts, op.top_ups, op.sports_cards,
                    op.logins[op.lco_a.code], op.logins[op.lco_b.code])
        (accounts, cls.top_ups, cls.sports_cards, cls.lco_a,
            cls.lco_b) = run(read)
        cls.a, cls.b, cls.c, cls.d = (
            accounts[n] for n in ['a', 'b', 'c', 'd'])

    def setUp(self):
        super().setUp()
        # The routes run in this process: they see the vouchers' clock of
        # the fixture and the server's PIN secret
        pool = Pool(DB_NAME)
        for mock in [
                patch.object(pool.get('rsoft.voucher.configuration'), 'now',
                    return_value=NOW),
                patch.object(pool.get('ir.date'), 'today',
                    return_value=TODAY),
                pin_secret()]:
            mock.__enter__()
            self.addCleanup(mock.__exit__, None, None, None)
        # Every request comes from the test client's address: each test
        # starts with no wrong tries counted against it
        run(self.forget_tries)

    @staticmethod
    def forget_tries():
        Attempt = Pool().get('rsoft.voucher.attempt')
        Attempt.delete(Attempt.search([]))

    @staticmethod
    def tries(subscriber_id):
        "Return the (result, reason, source, login) of the account's tries"
        def read():
            Attempt = Pool().get('rsoft.voucher.attempt')
            return [(a.result, a.reason, a.source, a.login)
                for a in Attempt.search([
                        ('account', '=', f'rsoft.subscriber,{subscriber_id}'),
                        ], order=[('id', 'ASC')])]
        return run(read)

    @staticmethod
    def voucher(serial):
        "Return the state, account and source of the voucher of serial"
        def read():
            Voucher = Pool().get('rsoft.voucher')
            voucher, = Voucher.search([('serial', '=', serial)])
            return (voucher.state,
                voucher.redeemed_by.id if voucher.redeemed_by else None,
                voucher.source)
        return run(read)

    @staticmethod
    def balance(subscriber_id):
        "Return the wallet balance of the account (none before its wallet)"
        return run(lambda: Pool().get('rsoft.subscriber')(
                subscriber_id).wallet_balance) or Decimal(0)

    def redeem(self, client, data):
        "Post a card to the subscriber portal's voucher page"
        token = csrf_token(client.get(f'{BASE}/vouchers'))
        return client.post(f'{BASE}/vouchers',
            data={**data, 'csrf_token': token})

    def test_redeem_top_up(self):
        "A top-up card credits the wallet once; a wrong PIN is refused"
        client = self.subscriber_client(self.a)
        response = client.get(f'{BASE}/')
        self.assertIn(f'{BASE}/vouchers', response.get_data(as_text=True))
        card = self.top_ups[0]
        before = self.balance(self.a['subscriber'])
        # Typed as printed: spaced, with its serial
        response = self.redeem(client, {
                'serial': card['serial'],
                'pin': f"{card['pin'][:7]} {card['pin'][7:]}"})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = response.get_data(as_text=True)
        self.assertIn('id="redeemed"', body)
        self.assertIn(f"Voucher {card['serial']}: ₹300.00 added", body)
        balance = self.balance(self.a['subscriber'])
        self.assertEqual(balance - before, Decimal('300.00'))
        self.assertIn(f"New balance: ₹{balance:,.2f}.", body)
        self.assertEqual(self.voucher(card['serial']),
            ('redeemed', self.a['subscriber'], 'portal'))

        # The same card again, then a PIN of no card: the same refusal,
        # each try logged and kept
        for pin in [card['pin'], '12345678901234']:
            response = self.redeem(client, {'pin': pin})
            self.assertEqual(
                response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
            body = response.get_data(as_text=True)
            self.assertIn(REFUSED, body)
            self.assertNotIn('id="redeemed"', body)
            self.assertNotIn(pin, body)
        self.assertEqual(self.balance(self.a['subscriber']), balance)
        login = f"subscriber {self.a['customer_id']}"
        self.assertEqual(self.tries(self.a['subscriber']), [
                ('redeemed', None, 'portal', login),
                ('refused', 'state', 'portal', login),
                ('refused', 'unknown', 'portal', login),
                ])

    def test_redeem_product(self):
        "A pack card adds the pack for 30 days and commands the CAS"
        client = self.subscriber_client(self.d)
        # Two TVs: the form asks which connection a pack card is for
        self.assertIn('name="connection"',
            client.get(f'{BASE}/vouchers').get_data(as_text=True))
        card = self.sports_cards[0]
        response = self.redeem(client, {'pin': card['pin']})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        body = response.get_data(as_text=True)
        self.assertIn("Choose the connection of account", body)
        self.assertNotIn(REFUSED, body)
        self.assertEqual(self.voucher(card['serial']),
            ('active', None, None))

        response = self.redeem(client, {
                'pin': card['pin'].lower(),
                'connection': str(self.d['connection'])})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn(
            f"Voucher {card['serial']}: Sports Pack added to connection "
            f"{self.d['code']} for 30 days, until 03/31/2026.",
            response.get_data(as_text=True))

        def read():
            pool = Pool()
            Line = pool.get('rsoft.subscription.line')
            Command = pool.get('rsoft.cas.command')
            lines = Line.search([
                    ('connection', '=', self.d['connection']),
                    ('product.template.name', '=', "Sports Pack"),
                    ])
            commands = Command.search([
                    ('connection', '=', self.d['connection']),
                    ('action', '=', 'entitle'),
                    ], order=[('id', 'DESC')], limit=1)
            return ([(line.start_date, line.end_date) for line in lines],
                commands[0].payload if commands else '')
        lines, payload = run(read)
        self.assertEqual(lines, [(TODAY, dt.date(2026, 3, 31))])
        self.assertIn('P-SPORTS', payload)
        self.assertEqual(self.voucher(card['serial']),
            ('redeemed', self.d['subscriber'], 'portal'))

    def test_lockout(self):
        "Five wrong PINs lock the account out: the right one is refused"
        client = self.subscriber_client(self.c)
        card = self.top_ups[1]
        before = self.balance(self.c['subscriber'])
        for i in range(5):
            response = self.redeem(client, {'pin': f'{i:014d}'})
            self.assertEqual(
                response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        response = self.redeem(client, {
                'serial': card['serial'], 'pin': card['pin']})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn(REFUSED, response.get_data(as_text=True))
        self.assertEqual(
            [t[:2] for t in self.tries(self.c['subscriber'])],
            [('refused', 'unknown')] * 5 + [('locked', 'locked')])
        self.assertEqual(self.voucher(card['serial']),
            ('active', None, None))
        self.assertEqual(self.balance(self.c['subscriber']), before)

    def test_account_of_another(self):
        "A subscriber redeems for no account or connection but its own"
        client = self.subscriber_client(self.a)
        card = self.top_ups[2]
        for data in [
                {'account': str(self.c['subscriber'])},
                {'connection': str(self.c['connection'])},
                ]:
            with self.subTest(data=data):
                response = self.redeem(client, {**data, 'pin': card['pin']})
                self.assertEqual(
                    response.status_code, HTTPStatus.NOT_FOUND)
        self.assertEqual(self.voucher(card['serial']),
            ('active', None, None))
        self.assertEqual(self.tries(self.c['subscriber']), [])

    def test_csrf(self):
        "A card posted without the form's token is refused unread"
        client = self.subscriber_client(self.a)
        card = self.top_ups[2]
        response = client.post(f'{BASE}/vouchers', data={'pin': card['pin']})
        self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)
        self.assertEqual(self.tries(self.a['subscriber']), [])

    def lco_redeem(self, client, subscriber_id, data):
        url = f'{LCO_BASE}/subscribers/{subscriber_id}'
        token = csrf_token(client.get(f'{LCO_BASE}/'))
        return client.post(f'{url}/voucher', data={
                **data, 'csrf_token': token})

    def test_lco_redeem(self):
        "The LCO redeems a card for its subscriber, not for another LCO's"
        client = self.client()
        response = self.login(client, self.lco_a)
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        page = client.get(f"{LCO_BASE}/subscribers/{self.d['subscriber']}")
        self.assertIn(
            f"/subscribers/{self.d['subscriber']}/voucher",
            page.get_data(as_text=True))
        card = self.top_ups[3]
        before = self.balance(self.d['subscriber'])
        response = self.lco_redeem(client, self.d['subscriber'], {
                'serial': card['serial'], 'pin': card['pin']})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = response.get_data(as_text=True)
        self.assertIn(f"Voucher {card['serial']}: ₹300.00 added to the "
            f"balance of account {self.d['customer_id']}", body)
        self.assertEqual(self.balance(self.d['subscriber']) - before,
            Decimal('300.00'))
        self.assertEqual(self.voucher(card['serial']),
            ('redeemed', self.d['subscriber'], 'lco_portal'))

        # Typed again: refused, on the subscriber's page
        response = self.lco_redeem(client, self.d['subscriber'], {
                'pin': card['pin']})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn(REFUSED, response.get_data(as_text=True))
        self.assertEqual(self.tries(self.d['subscriber']), [
                ('redeemed', None, 'lco_portal', self.lco_a),
                ('refused', 'state', 'lco_portal', self.lco_a),
                ])

        # A pack card for the second TV, chosen on the page
        sports = self.sports_cards[3]
        response = self.lco_redeem(client, self.d['subscriber'], {
                'pin': sports['pin'], 'connection': str(self.d['second'])})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn(f"Voucher {sports['serial']}: Sports Pack added",
            response.get_data(as_text=True))

        def connection_of(serial):
            Voucher = Pool().get('rsoft.voucher')
            voucher, = Voucher.search([('serial', '=', serial)])
            return voucher.line.connection.id
        self.assertEqual(run(connection_of, sports['serial']),
            self.d['second'])

        # LCO-B's account, or LCO-A's with a connection of another
        other = self.top_ups[4]
        for subscriber, data in [
                (self.b['subscriber'], {}),
                (self.d['subscriber'], {
                        'connection': str(self.a['connection'])}),
                ]:
            response = self.lco_redeem(client, subscriber, {
                    **data, 'pin': other['pin']})
            self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertEqual(self.voucher(other['serial']),
            ('active', None, None))
        self.assertEqual(self.tries(self.b['subscriber']), [])

        # LCO-B's login cannot reach LCO-A's account
        client_b = self.client()
        self.login(client_b, self.lco_b)
        response = self.lco_redeem(client_b, self.d['subscriber'], {
                'pin': other['pin']})
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertEqual(self.voucher(other['serial']),
            ('active', None, None))

    def api_token(self, account):
        client = self.client()
        client.post(f'{API}/auth/otp',
            json={'login': account['customer_id']})
        response = client.post(f'{API}/auth/token', json={
                'login': account['customer_id'],
                'otp': last_otp(account['mobile'])})
        return response.get_json()['token']

    def test_api(self):
        "The API redeems a top-up and a pack card for a connection"
        client = self.client()
        headers = {'Authorization': f"Bearer {self.api_token(self.c)}"}
        card = self.top_ups[5]
        before = self.balance(self.c['subscriber'])

        def call(value):
            response = client.post(f'{API}/vouchers/redeem', json=value,
                headers=headers)
            return response.status_code, response.get_json()

        status, value = call({'connection': self.c['code'],
                'pin': card['pin'], 'serial': card['serial']})
        self.assertEqual(status, HTTPStatus.OK, value)
        balance = self.balance(self.c['subscriber'])
        self.assertEqual(balance - before, Decimal('300.00'))
        self.assertEqual(value, {
                'serial': card['serial'], 'kind': 'top_up',
                'customer_id': self.c['customer_id'], 'currency': 'INR',
                'amount': '300.00', 'balance': str(balance),
                })

        status, value = call({'connection': self.c['code'],
                'pin': card['pin']})
        self.assertEqual(status, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertEqual(value,
            {'error': 'voucher_refused', 'message': REFUSED})
        login = f"api subscriber {self.c['customer_id']}"
        self.assertEqual(self.tries(self.c['subscriber']), [
                ('redeemed', None, 'api', login),
                ('refused', 'state', 'api', login),
                ])

        sports = self.sports_cards[1]
        status, value = call({'connection': self.c['code'],
                'pin': sports['pin']})
        self.assertEqual(status, HTTPStatus.OK, value)
        self.assertEqual({k: value[k] for k in [
                    'kind', 'connection', 'days', 'start_date',
                    'end_date']}, {
                'kind': 'product', 'connection': self.c['code'], 'days': 30,
                'start_date': '2026-03-02', 'end_date': '2026-03-31'})
        self.assertEqual(value['offer']['name'], "Sports Pack")

        # Another's connection, a PIN that is no string, no token
        card = self.top_ups[6]
        for value, status, code in [
                ({'connection': self.a['code'], 'pin': card['pin']},
                    HTTPStatus.NOT_FOUND, 'not_found'),
                ({'connection': self.c['code'], 'pin': 12345678901234},
                    HTTPStatus.BAD_REQUEST, 'bad_request'),
                ]:
            with self.subTest(value=value):
                self.assertEqual(call(value)[0], status)
                self.assertEqual(call(value)[1]['error'], code)
        response = client.post(f'{API}/vouchers/redeem', json={
                'connection': self.c['code'], 'pin': card['pin']})
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
        self.assertEqual(self.voucher(card['serial']),
            ('active', None, None))
