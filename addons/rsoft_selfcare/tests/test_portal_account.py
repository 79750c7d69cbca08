"""The LCO portal's account actions through trytond's WSGI application

As in test_portal.py each request commits its own transaction. LCO A
keeps 20% of pay channels and 45% of NCF (tools_account.py); the Gold
Pack is Rs 310 a month and the NCF Rs 130, so a full month of an account
with the Gold Pack costs LCO A 248.00 + 71.50 = Rs 319.50."""
import datetime
import itertools
from decimal import Decimal
from http import HTTPStatus

from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_billing.tests.tools import new_account
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool
from trytond.tests import test_tryton

from . import test_portal
from .test_portal import BASE
from .tools import PortalOperator, csrf_token

MONTH = Decimal('319.50')
_MOBILES = itertools.count(1)


def company_of(lco_id):
    return Pool().get('rsoft.partner')(lco_id).company


class PortalAccountTestCase(
        test_portal.PortalClientMixin, PortalOperator,
        test_tryton._DBTestCase):
    "Test the LCO portal's account actions"
    module = 'rsoft_selfcare'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def read():
            with cls.fixture(cls) as op:
                accounts = {code: {
                        'id': {name: a[name].id for name in [
                                'subscriber', 'connection', 'lco']},
                        'email': a['email'],
                        } for code, a in op.accounts.items()}
                return accounts, {name: getattr(op, name).id
                    for name in ['gold', 'silver', 'sports', 'ncf']}
        accounts, cls.offers = run(read)
        cls.a, cls.b = (accounts[code] for code in sorted(accounts))
        cls.cas = run(cls.create_cas, cls.a['id']['lco'], cls.offers)

    @staticmethod
    def create_cas(lco_id, offers):
        "Put the card-less boxes on a CAS; return the model's product id"
        pool = Pool()
        System = pool.get('rsoft.cas.system')
        Template = pool.get('product.template')
        with set_company(company_of(lco_id)):
            template, = Template.search([('name', '=', "Nagra Card-less 200")])
            system, = System.create([{
                        'name': "Portal head-end", 'code': 'PORTAL',
                        'driver': 'http_json', 'vendor': "Nagra",
                        'settings': 'url = http://cas.invalid\n'
                        'auth = bearer',
                        'credentials': 'token = secret',
                        'mappings': [('create', [{
                                        'offer': id_,
                                        'cas_product': f'P-{name.upper()}',
                                        } for name, id_ in offers.items()])],
                        }])
            Template.write([template], {'cas_system': system.id})
            return template.products[0].id

    def setUp(self):
        super().setUp()
        self.addCleanup(run, self.set_wallet, self.a['id']['lco'], 'none')

    # Records

    def account(self, device=True, offer='gold'):
        """Return the id of a prepaid account of LCO A active since the 1st
        of last month with offer, billed today to the end of this month
        from its wallet (Rs 10,000), with a card-less box on the CAS"""
        number = next(_MOBILES)

        def create(lco_id, product_id, box_id):
            pool = Pool()
            Partner = pool.get('rsoft.partner')
            Subscriber = pool.get('rsoft.subscriber')
            Wallet = pool.get('rsoft.wallet')
            Lot = pool.get('stock.lot')
            Date = pool.get('ir.date')
            Product = pool.get('product.product')
            lco = Partner(lco_id)
            with set_company(lco.company):
                today = Date.today()
                start = (today.replace(day=1) - datetime.timedelta(days=1)
                    ).replace(day=1)
                subscriber = new_account(lco, start,
                    name=f"Ravi Kumar {number}",
                    mobile=f'+91987650{number:04d}',
                    billing_mode='prepaid', billing_cycle=1,
                    bill_day_mode='fixed', bill_day=1)
                connection = subscriber.connections[0]
                subscribe(connection, Product(product_id), start)
                wallet, = Wallet.get_wallets([subscriber])
                Wallet.top_up([(wallet, Decimal('10000'), start)])
                # Last month and this one: invoices are dated in order
                Subscriber.bill([Subscriber(subscriber.id)], today)
                if box_id:
                    box, = Lot.create([{
                                'number': f'CL9{number:07d}',
                                'product': box_id,
                                'connection': connection.id,
                                'device_state': 'installed',
                                }])
                    # Commanded at commit, as an installation does
                    pool.get('rsoft.cas.device').mark(devices=[box.id])
                return subscriber.id
        return run(create, self.a['id']['lco'], self.offers[offer],
            self.cas if device else None)

    @staticmethod
    def set_wallet(lco_id, mode, balance=Decimal(0)):
        "Put LCO on wallet mode with balance in it"
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        Wallet = pool.get('rsoft.wallet')
        lco = Partner(lco_id)
        with set_company(lco.company):
            Partner.write([lco], {'wallet_mode': mode})
            if mode == 'none':
                return
            wallet, = Wallet.get_partner_wallets([Partner(lco_id)])
            difference = balance - wallet.balance
            if difference > 0:
                Wallet.top_up([(wallet, difference)])
            elif difference < 0:
                Wallet.debit([(wallet, -difference)], allow_negative=True)

    def lco_balance(self):
        def balance():
            Partner = Pool().get('rsoft.partner')
            return Partner(self.a['id']['lco']).wallet_balance
        return run(balance)

    @staticmethod
    def state(subscriber_id):
        "Return what a person checks of an account after an action"
        def read():
            pool = Pool()
            Subscriber = pool.get('rsoft.subscriber')
            Command = pool.get('rsoft.cas.command')
            Event = pool.get('rsoft.subscriber.event')
            subscriber = Subscriber(subscriber_id)
            connection, = subscriber.connections
            return {
                'state': subscriber.state,
                'connection': connection.state,
                'reason': subscriber.suspension_reason,
                'billed_until': subscriber.billed_until,
                'wallet': subscriber.wallet_balance,
                'invoices': len(Pool().get('account.invoice').search([
                            ('rsoft_subscriber', '=', subscriber_id)])),
                'lines': sorted((line.product.rec_name, line.state,
                        line.end_date) for line in connection.lines),
                'commands': [(c.action, c.payload, c.portal_login)
                    for c in Command.search([
                            ('connection', '=', connection.id),
                            ], order=[('id', 'ASC')])],
                'events': [(e.kind, e.action, e.date, e.portal_login)
                    for e in Event.search([
                            ('subscriber', '=', subscriber_id),
                            ], order=[('id', 'ASC')])],
                }
        return run(read)

    @staticmethod
    def today():
        return run(lambda: Pool().get('ir.date').today())

    def post(self, client, path, data):
        token = csrf_token(client.get(f'{BASE}/'))
        return client.post(
            BASE + path, data={**data, 'csrf_token': token})

    # New subscriber

    def caf(self, **values):
        return {
            'name': "Meena Iyer", 'mobile': '98765 43210',
            'email': 'meena@example.com', 'street': "4 Temple Road",
            'city': "Madurai", 'postal_code': '625001',
            'id_proof_type': 'pan', 'id_proof_number': 'abcpe1234f',
            'customer_class': 'residential', 'contract_number': 'CAF-77',
            'contract_date': '2026-01-15', 'billing_mode': 'prepaid',
            'kind': 'primary_tv', 'pack': str(self.offers['gold']),
            # Not taken: the account is the login's LCO's
            'lco': str(self.b['id']['lco']),
            **values,
            }

    @staticmethod
    def subscribers_of(lco_id):
        def count():
            Subscriber = Pool().get('rsoft.subscriber')
            return Subscriber.search_count([('lco', '=', lco_id)])
        return run(count)

    def create_by_form(self, client, **values):
        # The tests make many accounts of one CAF: not the duplicates the
        # LCO is asked about
        response = self.post(client, '/subscribers/new',
            {**self.caf(**values), 'accept_duplicates': '1'})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        return int(response.headers['Location'].rsplit('/', 1)[1])

    def test_new_subscriber_duplicate(self):
        """A CAF with the mobile of another account asks the LCO first, as
        the back office warns; nothing is created until it confirms"""
        client = self.logged_in(self.a)
        before = self.subscribers_of(self.a['id']['lco'])
        mobile = run(lambda: Pool().get('rsoft.subscriber')(
                self.a['id']['subscriber']).mobile)
        form = self.caf(mobile=mobile, id_proof_number='abcpd4321k')
        response = self.post(client, '/subscribers/new', form)
        self.assertEqual(response.status_code, HTTPStatus.CONFLICT)
        self.assertIn("has the same registered mobile",
            response.get_data(as_text=True))
        self.assertEqual(self.subscribers_of(self.a['id']['lco']), before)
        response = self.post(client, '/subscribers/new',
            {**form, 'accept_duplicates': '1'})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(self.subscribers_of(self.a['id']['lco']), before + 1)

    def test_new_subscriber(self):
        "The LCO fills the CAF: a draft account of its own with its pack"
        client = self.logged_in(self.a)
        page = client.get(f'{BASE}/subscribers/new')
        self.assertEqual(page.status_code, HTTPStatus.OK)
        self.assertIn("Gold Pack", page.get_data(as_text=True))
        subscriber_id = self.create_by_form(client, mobile='98765 43211')

        def read():
            Subscriber = Pool().get('rsoft.subscriber')
            s = Subscriber(subscriber_id)
            connection, = s.connections
            return (s.lco.id, s.state, s.party.name, s.mobile, s.email,
                s.id_proof_type, s.id_proof_number, s.contract_number,
                s.contract_date, s.billing_mode,
                s.installation_address.city, s.billing_address.city,
                connection.kind,
                [(line.product.id, line.state) for line in connection.lines])
        self.assertEqual(run(read), (
                self.a['id']['lco'], 'draft', "Meena Iyer", '+919876543211',
                'meena@example.com', 'pan', 'ABCPE1234F', 'CAF-77',
                datetime.date(2026, 1, 15), 'prepaid', "Madurai", "Madurai",
                'primary_tv', [(self.offers['gold'], 'draft')]))
        body = client.get(
            f'{BASE}/subscribers/{subscriber_id}').get_data(as_text=True)
        self.assertIn(f'/subscribers/{subscriber_id}/activate', body)
        self.assertNotIn(f'/subscribers/{subscriber_id}/suspend', body)

    def test_new_subscriber_kyc_refused(self):
        "A wrong ID proof or mobile is shown on the form; nothing is made"
        client = self.logged_in(self.a)
        before = self.subscribers_of(self.a['id']['lco'])

        def parties():
            return Pool().get('party.party').search_count([])
        party_count = run(parties)
        for values, message in [
                ({'id_proof_number': 'BAD123'},
                    '"BAD123" is not a valid PAN Card number'),
                ({'mobile': '12345'}, '"12345" is not a valid mobile'),
                ({'id_proof_type': 'aadhaar',
                        'id_proof_number': '2345 6789 0123'},
                    'Aadhaar'),
                ]:
            with self.subTest(values=values):
                response = self.post(
                    client, '/subscribers/new', self.caf(**values))
                self.assertEqual(
                    response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
                body = response.get_data(as_text=True)
                self.assertIn(message, body.replace('&#34;', '"'))
                # The form keeps what was typed
                self.assertIn('value="Meena Iyer"', body)
        self.assertEqual(self.subscribers_of(self.a['id']['lco']), before)
        self.assertEqual(run(parties), party_count)

    # Lifecycle

    def new_with_box(self, client):
        "Return the id of a draft account made by the form, with a box"
        subscriber_id = self.create_by_form(
            client, mobile=f'98766{next(_MOBILES):05d}')

        def install(box_id):
            pool = Pool()
            Lot = pool.get('stock.lot')
            Subscriber = pool.get('rsoft.subscriber')
            connection, = Subscriber(subscriber_id).connections
            box, = Lot.create([{
                        'number': f'CL8{subscriber_id:07d}',
                        'product': box_id, 'connection': connection.id,
                        'device_state': 'installed',
                        }])
            pool.get('rsoft.cas.device').mark(devices=[box.id])
        run(install, self.cas)
        return subscriber_id

    def test_lifecycle(self):
        "Activate, suspend, resume, terminate: states, history, CAS, wallet"
        client = self.logged_in(self.a)
        subscriber_id = self.new_with_box(client)
        run(self.set_wallet, self.a['id']['lco'], 'prepaid', Decimal(1000))
        today = self.today()
        url = f'{BASE}/subscribers/{subscriber_id}'

        page = client.get(f'{url}/activate')
        self.assertEqual(page.status_code, HTTPStatus.OK)
        response = self.post(
            client, f'/subscribers/{subscriber_id}/activate', {})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        state = self.state(subscriber_id)
        self.assertEqual((state['state'], state['connection']),
            ('active', 'active'))
        # Anniversary billing: a whole first month, Gold and NCF
        self.assertEqual(self.lco_balance(), Decimal(1000) - MONTH)
        self.assertEqual([c[0] for c in state['commands']], ['entitle'])
        self.assertIn('P-GOLD', state['commands'][0][1])

        response = self.post(client, f'/subscribers/{subscriber_id}/suspend',
            {'reason': 'customer_request', 'note': "On holiday"})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        state = self.state(subscriber_id)
        self.assertEqual(
            (state['state'], state['connection'], state['reason']),
            ('suspended', 'suspended', 'customer_request'))
        self.assertEqual(state['commands'][-1][0], 'suspend')

        body = client.get(url).get_data(as_text=True)
        self.assertIn(f'/subscribers/{subscriber_id}/resume', body)
        response = self.post(
            client, f'/subscribers/{subscriber_id}/resume', {})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        state = self.state(subscriber_id)
        self.assertEqual((state['state'], state['connection']),
            ('active', 'active'))
        self.assertEqual(state['commands'][-1][0], 'resume')

        response = self.post(
            client, f'/subscribers/{subscriber_id}/terminate', {})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        state = self.state(subscriber_id)
        self.assertEqual((state['state'], state['connection']),
            ('terminated', 'terminated'))
        self.assertEqual(state['commands'][-1][0], 'revoke')
        # Who and when: the portal login, today
        states = [(e[1], e[2], e[3]) for e in state['events']
            if e[0] == 'state']
        for action in ['active', 'suspended', 'terminated']:
            self.assertIn((action, today, self.a['email']), states)
        self.assertEqual({c[2] for c in state['commands']}, {self.a['email']})

        # Nothing more to do on a terminated account
        response = self.post(
            client, f'/subscribers/{subscriber_id}/resume', {})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)

    def test_activate_lco_short(self):
        "An LCO short of money is refused, the amount missing shown"
        client = self.logged_in(self.a)
        subscriber_id = self.new_with_box(client)
        run(self.set_wallet, self.a['id']['lco'], 'prepaid', Decimal(100))
        before = self.state(subscriber_id)
        response = self.post(
            client, f'/subscribers/{subscriber_id}/activate', {})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        body = response.get_data(as_text=True)
        self.assertIn("219.50 is missing", body)
        self.assertEqual(self.state(subscriber_id), before)
        self.assertEqual(before['state'], 'draft')
        self.assertEqual(before['commands'], [])
        self.assertEqual(self.lco_balance(), Decimal(100))

    # Renewal

    def test_renew(self):
        "The next month paid now: entitlement, both wallets, CAS"
        subscriber_id = self.account()
        run(self.set_wallet, self.a['id']['lco'], 'prepaid', Decimal(1000))
        client = self.logged_in(self.a)
        before = self.state(subscriber_id)
        page = client.get(f'{BASE}/subscribers/{subscriber_id}/renew')
        self.assertEqual(page.status_code, HTTPStatus.OK)
        response = self.post(
            client, f'/subscribers/{subscriber_id}/renew', {})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("Renewed", response.get_data(as_text=True))
        after = self.state(subscriber_id)
        end = before['billed_until']
        next_end = (end + datetime.timedelta(days=32)).replace(day=1) \
            - datetime.timedelta(days=1)
        self.assertEqual(after['billed_until'], next_end)
        self.assertEqual(after['invoices'], before['invoices'] + 1)
        # 310 + 130, GST 18% = 79.20, cess 1% of 519.20 = 5.19
        self.assertEqual(before['wallet'] - after['wallet'],
            Decimal('524.39'))
        self.assertEqual(self.lco_balance(), Decimal(1000) - MONTH)
        action, payload, _ = after['commands'][-1]
        self.assertEqual(action, 'entitle')
        self.assertIn(f'"end":"{next_end.isoformat()}"', payload)

    def test_renew_bulk(self):
        "Two renewed from the search page, the second refused: LCO short"
        first, second = self.account(), self.account()
        run(self.set_wallet, self.a['id']['lco'], 'prepaid', Decimal(400))
        client = self.logged_in(self.a)
        page = client.get(f'{BASE}/subscribers', query_string={'q': 'Ravi'})
        self.assertIn(f'name="subscriber" value="{first}"',
            page.get_data(as_text=True))
        before = self.state(first), self.state(second)
        response = self.post(client, '/renew',
            {'subscriber': [str(first), str(second)]})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = response.get_data(as_text=True)
        self.assertEqual(body.count("Renewed"), 1)
        self.assertIn("₹239.00 is missing", body)
        after = self.state(first), self.state(second)
        self.assertGreater(after[0]['billed_until'], before[0]['billed_until'])
        self.assertEqual(after[1], before[1])
        self.assertEqual(self.lco_balance(), Decimal(400) - MONTH)

    def test_renew_not_prepaid(self):
        "A postpaid account does not renew: the reason is shown"
        client = self.logged_in(self.a)
        response = self.post(client,
            f"/subscribers/{self.a['id']['subscriber']}/renew", {})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn("only an active prepaid account",
            response.get_data(as_text=True))

    # Packs

    def lines(self, subscriber_id):
        return self.state(subscriber_id)['lines']

    def test_add_pack(self):
        "The quote shows the price and the debit; confirming debits that"
        subscriber_id = self.account(device=True)
        connection_id = run(lambda: Pool().get('rsoft.subscriber')(
                subscriber_id).connections[0].id)
        run(self.set_wallet, self.a['id']['lco'], 'prepaid', Decimal(1000))
        client = self.logged_in(self.a)
        url = f'/connections/{connection_id}/packs'
        page = client.get(BASE + url)
        self.assertEqual(page.status_code, HTTPStatus.OK)
        self.assertIn("Sports Pack", page.get_data(as_text=True))
        before = self.state(subscriber_id)

        response = self.post(client, url, {
                'step': 'quote', 'product': str(self.offers['sports'])})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = response.get_data(as_text=True)
        # Rs 93 a month for the days left in the month; LCO A pays 80%
        today = self.today()
        end = (today.replace(day=28) + datetime.timedelta(days=4)
            ).replace(day=1) - datetime.timedelta(days=1)
        price = (Decimal(93) * ((end - today).days + 1) / end.day
            ).quantize(Decimal('0.01'))
        debit = (price * Decimal('0.8')).quantize(Decimal('0.01'))
        self.assertIn(f"₹{price}", body)
        self.assertIn(f"₹{debit}", body)
        self.assertIn(f"₹1,000.00 → ₹{Decimal(1000) - debit:,}", body)
        # A quote changes nothing
        self.assertEqual(self.state(subscriber_id), before)
        self.assertEqual(self.lco_balance(), Decimal(1000))

        response = self.post(client, url, {
                'step': 'confirm', 'product': str(self.offers['sports'])})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(self.lco_balance(), Decimal(1000) - debit)
        after = self.state(subscriber_id)
        self.assertIn(("Sports Pack", 'active', None), after['lines'])
        self.assertIn('P-SPORTS', after['commands'][-1][1])

        # The same pack again: the rule is shown, nothing changes
        response = self.post(client, url, {
                'step': 'quote', 'product': str(self.offers['sports'])})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn("Sports Pack", response.get_data(as_text=True))
        self.assertEqual(self.lco_balance(), Decimal(1000) - debit)

    def test_remove_pack(self):
        "Ending the Gold Pack shows the credit and the LCO's refund"
        subscriber_id = self.account(device=True)
        run(self.set_wallet, self.a['id']['lco'], 'prepaid', Decimal(1000))

        def gold_line():
            Subscriber = Pool().get('rsoft.subscriber')
            connection, = Subscriber(subscriber_id).connections
            line, = [line for line in connection.lines if not line.ncf]
            return connection.id, line.id
        connection_id, line_id = run(gold_line)
        client = self.logged_in(self.a)
        url = f'/connections/{connection_id}/packs'
        response = self.post(client, url, {
                'step': 'stop_quote', 'line': str(line_id)})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = response.get_data(as_text=True)
        today = self.today()
        end = (today.replace(day=28) + datetime.timedelta(days=4)
            ).replace(day=1) - datetime.timedelta(days=1)
        credit = (Decimal(310) * ((end - today).days + 1) / end.day
            ).quantize(Decimal('0.01'))
        refund = (credit * Decimal('0.8')).quantize(Decimal('0.01'))
        self.assertIn(f"₹{credit}", body)
        self.assertIn(f"₹{refund}", body)
        self.assertEqual(self.lines(subscriber_id)[0][1], 'active')

        response = self.post(client, url, {
                'step': 'stop', 'line': str(line_id)})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        gold = [line for line in self.lines(subscriber_id)
            if line[0] == "Gold Pack"]
        self.assertEqual(gold, [
                ("Gold Pack", 'ended', today - datetime.timedelta(days=1))])

    # CSRF

    def test_csrf(self):
        "The forms without their session's token are refused, nothing done"
        client = self.logged_in(self.a)
        subscriber_id = self.new_with_box(client)
        before = self.state(subscriber_id)
        count = self.subscribers_of(self.a['id']['lco'])
        connection = self.a['id']['connection']
        for path, data in [
                ('/subscribers/new', self.caf()),
                (f'/subscribers/{subscriber_id}/activate', {}),
                (f'/subscribers/{subscriber_id}/renew', {}),
                ('/renew', {'subscriber': [str(subscriber_id)]}),
                (f'/connections/{connection}/packs', {
                        'step': 'confirm',
                        'product': str(self.offers['sports'])}),
                ]:
            for token in [{}, {'csrf_token': 'forged'}]:
                with self.subTest(path=path, token=token):
                    response = client.post(BASE + path, data={
                            **data, **token})
                    self.assertEqual(
                        response.status_code, HTTPStatus.FORBIDDEN)
        self.assertEqual(self.state(subscriber_id), before)
        self.assertEqual(self.subscribers_of(self.a['id']['lco']), count)
