"""The channel-selector API over HTTP (trytond's WSGI application): its
authentication, the offer, the subscription, a proposal, a request and
its status, and the OpenAPI file that documents it"""
import json
import os
from http import HTTPStatus

from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME
from trytond.wsgi import app

from .test_portal_subscriber import SubscriberClientMixin, last_otp
from .tools import PortalOperator

API = f'/{DB_NAME}/portal/subscriber/api/v1'
RULE = '/<database_name>/portal/subscriber/api/v1'
OPENAPI = os.path.join(os.path.dirname(__file__), '..', 'openapi.json')


def api_rules():
    return {rule.rule[len(RULE):]: rule for rule in app.url_map.iter_rules()
        if rule.rule.startswith(RULE + '/')}


class ApiTestCase(
        SubscriberClientMixin, PortalOperator, test_tryton._DBTestCase):
    "Test the channel-selector API"
    module = 'rsoft_selfcare'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def read():
            with cls.fixture(cls) as op:
                accounts = {}
                for code, a in op.accounts.items():
                    accounts[code] = {
                        'connection': a['connection'].code,
                        'connection_id': a['connection'].id,
                        **{name: a[name] for name in [
                                'customer_id', 'name', 'mobile', 'serial']},
                        }
                return accounts, op.sports.id, op.gold.id
        accounts, cls.sports, cls.gold = run(read)
        cls.a, cls.b = (accounts[code] for code in sorted(accounts))

    def call(self, client, method, path, token=None, value=None,
            language=None, **kwargs):
        headers = {'Authorization': f'Bearer {token}'} if token else {}
        if language:
            headers['Accept-Language'] = language
        response = client.open(API + path, method=method, headers=headers,
            json=value, **kwargs)
        self.assertEqual(response.headers['Content-Type'],
            'application/json', response.get_data(as_text=True)[-500:])
        return response, response.get_json()

    def token(self, account, login=None):
        client = self.client()
        login = login or account['customer_id']
        response, value = self.call(client, 'POST', '/auth/otp',
            value={'login': login})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        response, value = self.call(client, 'POST', '/auth/token', value={
                'login': login, 'otp': last_otp(account['mobile'])})
        self.assertEqual(response.status_code, HTTPStatus.OK, value)
        self.assertEqual(value['token_type'], 'Bearer')
        return client, value['token']

    @staticmethod
    def commands(connection_id):
        "Return the count of the CAS commands of the connection"
        return run(lambda: Pool().get('rsoft.cas.command').search_count([
                    ('connection', '=', connection_id)]))

    def test_openapi(self):
        "The OpenAPI file documents every endpoint and no other"
        with open(OPENAPI) as file:
            spec = json.load(file)
        self.assertEqual(spec['openapi'][:2], '3.')
        documented = {path.replace('{request_id}', '<int:request_id>'): set(
                methods) for path, methods in spec['paths'].items()}
        registered = {path: {m.lower() for m in rule.methods
                if m not in {'HEAD', 'OPTIONS'}}
            for path, rule in api_rules().items()}
        self.assertEqual(documented, registered)

    def test_authentication(self):
        "A customer ID or a box number and the OTP give a token"
        self.token(self.a)
        self.token(self.a, login=self.a['serial'])

    def test_authentication_refused(self):
        "A wrong OTP or no token is refused, with no detail"
        client = self.client()
        self.call(client, 'POST', '/auth/otp',
            value={'login': self.a['customer_id']})
        code = last_otp(self.a['mobile'])
        response, value = self.call(client, 'POST', '/auth/token', value={
                'login': self.a['customer_id'],
                'otp': f'{(int(code) + 1) % 1000000:06d}'})
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
        self.assertEqual(value, {'error': 'invalid_login',
                'message': "The login or the OTP is not valid."})
        response, value = self.call(client, 'POST', '/auth/otp',
            value={'login': 'C99999999'})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(value['status'], 'sent')
        for path in ['/subscription', '/offers?connection=x']:
            response, value = self.call(client, 'GET', path)
            self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
            self.assertEqual(value['error'], 'unauthorized')
            response, value = self.call(client, 'GET', path, token='forged')
            self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
        response, value = self.call(client, 'POST', '/auth/token',
            data='not json', content_type='application/json')
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        self.assertEqual(value['error'], 'bad_request')

    def test_error_code(self):
        "An error tells its code and a message, never a traceback"
        _, token = self.token(self.a)
        client = self.client()
        response, value = self.call(client, 'GET', '/requests/0', token)
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertEqual(value, {'error': 'not_found',
                'message': "Not found."})
        response, value = self.call(client, 'POST', '/proposal', token,
            value={'connection': self.a['connection'], 'channels': [0]})
        self.assertEqual(response.status_code,
            HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertEqual(value['error'], 'unprocessable')

    def test_subscription(self):
        "The subscription names the offers and amounts, no personal data"
        client, token = self.token(self.a)
        response, value = self.call(client, 'GET', '/subscription', token)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        connection, = value['connections']
        self.assertEqual(connection['customer_id'], self.a['customer_id'])
        self.assertEqual(connection['connection'], self.a['connection'])
        self.assertEqual([o['id'] for o in connection['offers']],
            [self.gold])
        self.assertEqual(connection['offers'][0]['price_type'], 'drp')
        monthly = connection['monthly']
        self.assertEqual(monthly['currency'], 'INR')
        self.assertEqual(monthly['offers'], '310.00')
        text = response.get_data(as_text=True)
        for secret in [
                self.a['name'], self.a['mobile'], self.b['customer_id']]:
            self.assertNotIn(secret, text)

    def test_offers(self):
        "The offer of a connection: packs with MRP/DRP, channels, NCF"
        client, token = self.token(self.a)
        response, value = self.call(client, 'GET',
            f"/offers?connection={self.a['connection']}", token)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        by_id = {o['id']: o for o in value['offers']}
        self.assertEqual(by_id[self.sports]['price'], '93.00')
        self.assertEqual(by_id[self.sports]['kind'], 'addon_pack')
        self.assertTrue(value['channels'])
        response, value = self.call(client, 'GET',
            f"/offers?connection={self.b['connection']}", token)
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

    def test_request(self):
        "A request adds a pack at once; its status is read back"
        client, token = self.token(self.a)
        response, value = self.call(client, 'POST', '/requests', token, {
                'connection': self.a['connection'], 'add': [self.sports]})
        self.assertEqual(response.status_code, HTTPStatus.CREATED, value)
        self.assertEqual(value['state'], 'done')
        self.assertEqual(value['added'], [self.sports])
        self.assertEqual(value['after']['offers'], '403.00')
        request = value['id']

        def read():
            Request = Pool().get('rsoft.subscription.request')
            request_ = Request(request)
            return request_.source, request_.login
        source, login = run(read)
        self.assertEqual(source, 'channel_selector')
        self.assertEqual(login, f"api subscriber {self.a['customer_id']}")

        response, value = self.call(client, 'GET', f'/requests/{request}',
            token)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(value['state'], 'done')
        # The same request again: the pack is taken, nothing is added
        response, value = self.call(client, 'POST', '/requests', token, {
                'connection': self.a['connection'], 'add': [self.sports]})
        self.assertEqual(response.status_code,
            HTTPStatus.UNPROCESSABLE_ENTITY)

        # B reads nothing of A's request
        client_b, token_b = self.token(self.b)
        response, value = self.call(client_b, 'GET', f'/requests/{request}',
            token_b)
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertNotIn(self.a['connection'], json.dumps(value))

        response, value = self.call(client, 'POST', '/requests', token, {
                'connection': self.a['connection'],
                'remove': [self.sports]})
        self.assertEqual(response.status_code, HTTPStatus.CREATED, value)

    def test_request_foreign(self):
        "Offers and connections of others are refused, nothing changes"
        client, token = self.token(self.a)
        for value in [
                {'connection': self.b['connection'], 'add': [self.sports]},
                {'connection': self.a['connection'], 'add': [999999]},
                {'connection': self.a['connection'], 'remove': [self.sports]},
                {'connection': self.a['connection'], 'add': ['x']},
                ]:
            with self.subTest(value=value):
                response, result = self.call(client, 'POST', '/requests',
                    token, value)
                self.assertIn(response.status_code, {
                        HTTPStatus.NOT_FOUND, HTTPStatus.BAD_REQUEST,
                        HTTPStatus.UNPROCESSABLE_ENTITY})
                self.assertNotIn('id', result)

    def test_proposal(self):
        "The advisor's proposal for the channels of the Gold pack"
        client, token = self.token(self.a)
        response, value = self.call(client, 'GET',
            f"/offers?connection={self.a['connection']}", token)
        gold = {o['id']: o for o in value['offers']}[self.gold]
        response, value = self.call(client, 'POST', '/proposal', token, {
                'connection': self.a['connection'],
                'channels': gold['channels']})
        self.assertEqual(response.status_code, HTTPStatus.OK, value)
        self.assertEqual(value['state'], 'proposed')
        self.assertLessEqual(value['after']['total'] and
            float(value['after']['total']), float(value['before']['total']))
        self.assertNotIn('id', value)
