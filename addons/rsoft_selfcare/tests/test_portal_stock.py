"""The LCO portal's devices, wallet and reports through trytond's WSGI
application, each request in a committed transaction of its own"""
import datetime
import re
import zipfile
from decimal import Decimal
from http import HTTPStatus
from io import BytesIO

from trytond.modules.rsoft_toolkit.reader import read_rows
from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool

from . import test_portal
from .attacks_stock import stock_ids
from .test_portal import BASE
from .tools import csrf_token
from .tools_stock import COLLECTION_DAYS, box, card, set_up_wallet_a

D = Decimal


def today():
    return run(lambda: Pool().get('ir.date').today())


def read_sheet(response, columns):
    "Return the rows of the XLSX response: [{column in lower case: text}]"
    names = {key.lower(): (key.lower(),) for key in columns}
    return [values for _, values in read_rows(
            response.get_data(), names, 'report.xlsx')]


def cell_types(response):
    "Return the types of the cells of the sheet: {'B2': 'n' or 's'}"
    with zipfile.ZipFile(BytesIO(response.get_data())) as archive:
        xml = archive.read('xl/worksheets/sheet1.xml').decode()
    return {ref: kind or 'n' for ref, kind in re.findall(
            r'<c r="([A-Z]+[0-9]+)"(?: s="[0-9]+")?(?: t="([a-z]+)")?', xml)}


class PortalStockTestCase(test_portal.PortalTestCase):
    "Test the LCO portal's devices, wallet and reports"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ids = stock_ids(cls.a['id'], cls.b['id'])

        # The fixture leaves A without wallet for test_portal.py
        run(set_up_wallet_a, cls.a['id']['lco'])

    @classmethod
    def tearDownClass(cls):
        def no_wallet(lco):
            Partner = Pool().get('rsoft.partner')
            Partner.write([Partner(lco)], {'wallet_mode': 'none'})
        # Without wallet again, as test_portal.py's dashboard expects A
        run(no_wallet, cls.a['id']['lco'])
        super().tearDownClass()

    def page(self, client, url, **query):
        response = client.get(f'{BASE}{url}', query_string=query)
        self.assertEqual(response.status_code, HTTPStatus.OK, url)
        return response.get_data(as_text=True)

    def post(self, client, url, data, token=True):
        if token:
            data = {**data, 'csrf_token': csrf_token(
                        client.get(f'{BASE}{url}'))}
        return client.post(f'{BASE}{url}', data=data)

    @staticmethod
    def devices(*numbers):
        "Return the state, connection, pair and holder of each device"
        def read():
            Lot = Pool().get('stock.lot')
            return {d.number: (d.device_state,
                    d.connection.id if d.connection else None,
                    d.paired_device.number if d.paired_device else None,
                    d.holder.code if d.holder else None)
                for d in Lot.search([('number', 'in', numbers)])}
        return run(read)

    @staticmethod
    def events(number):
        def read():
            Event = Pool().get('rsoft.device.event')
            # Who: the portal login, for what the portal did
            return [(e.action, e.partner.code if e.partner else None,
                    e.portal_login)
                for e in Event.search([('device.number', '=', number)],
                    order=[('id', 'ASC')])]
        return run(read)

    @staticmethod
    def commands(*numbers):
        "Return the actions of the CAS commands of the devices"
        def read():
            Command = Pool().get('rsoft.cas.command')
            return sorted(c.action for c in Command.search([
                        ('cas_device.device.number', 'in', numbers)]))
        return run(read)

    @staticmethod
    def count(model, domain):
        return run(lambda: Pool().get(model).search_count(domain))

    # Devices

    def test_scope_devices(self):
        "The scope holds the LCO's stock and installed devices, not B's"
        from ..web import LcoScope

        def numbers(lco):
            pool = Pool()
            Partner = pool.get('rsoft.partner')
            scope = LcoScope(pool, Partner(lco))
            return {d.number for d in scope.search('stock.lot', [])}
        a = run(numbers, self.a['id']['lco'])
        b = run(numbers, self.b['id']['lco'])
        for number in [box(101), card(101), box(103), card(104), box(105),
                self.a['serial']]:
            self.assertIn(number, a)
            self.assertNotIn(number, b)
        for number in [box(201), card(201), box(203), card(204),
                self.b['serial']]:
            self.assertIn(number, b)
            self.assertNotIn(number, a)

    def test_device_list(self):
        "The LCO lists and searches its stock, never B's"
        client = self.logged_in(self.a)
        body = self.page(client, '/devices')
        for number in [box(101), card(101), box(103), card(104)]:
            self.assertIn(number, body)
        for number in [box(201), box(203), card(204), self.b['serial']]:
            self.assertNotIn(number, body)
        # Installed at its subscriber: not in stock, but listed there
        self.assertNotIn(self.a['serial'], body)
        body = self.page(client, '/devices', where='installed')
        self.assertIn(self.a['serial'], body)
        self.assertNotIn(box(101), body)

        body = self.page(client, '/devices', q=box(103)[-3:], where='all')
        self.assertIn("1 devices found", body)
        self.assertIn(box(103), body)
        body = self.page(client, '/devices', q=box(203), where='all')
        self.assertIn("0 devices found", body)

        body = self.page(client, f'/devices/{self.ids[box(101)]}')
        self.assertIn(card(101), body)
        self.assertEqual(client.get(
                f'{BASE}/devices/{self.ids[box(201)]}').status_code,
            HTTPStatus.NOT_FOUND)

    def test_pair_install_swap(self):
        "The LCO pairs, installs and swaps from its stock, as the back office"
        client = self.logged_in(self.a)
        stb, smartcard, spare = box(103), card(104), box(105)
        connection = self.ids['A']

        # Pair the loose box and card of its stock
        url = f'/devices/{self.ids[stb]}/pair'
        self.assertIn(smartcard, self.page(client, url))
        response = self.post(client, url, {'card': self.ids[smartcard]})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(self.devices(stb, smartcard), {
                stb: ('allocated', None, smartcard, 'LCO-A'),
                smartcard: ('allocated', None, stb, 'LCO-A'),
                })
        self.assertEqual(self.events(smartcard)[-1],
            ('pair', 'LCO-A', self.a['email']))

        # Install the pair at the second TV
        url = f'/connections/{connection}/install'
        body = self.page(client, url)
        self.assertIn(stb, body)
        self.assertNotIn(box(203), body)
        response = self.post(client, url, {
                'stb': self.ids[stb], 'card': '', 'ownership': 'sold',
                'offer': ''})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(self.devices(stb, smartcard), {
                stb: ('installed', connection, smartcard, 'LCO-A'),
                smartcard: ('installed', connection, stb, 'LCO-A'),
                })
        self.assertIn(('install', 'LCO-A', self.a['email']), self.events(stb))
        self.assertIn('pair', self.commands(smartcard))
        self.assertIn(stb, self.page(client, f'/devices/{self.ids[stb]}'))

        # A second box at the same TV is refused by the model, with its
        # message, and nothing moves
        response = self.post(client, url, {
                'stb': self.ids[spare], 'ownership': 'sold'})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn("already has", response.get_data(as_text=True))
        self.assertEqual(self.devices(spare)[spare][:2], ('allocated', None))

        # Swap the box: the card follows to the spare box
        url = f'/connections/{connection}/swap'
        commands = self.commands(smartcard)
        response = self.post(client, url, {
                'old': self.ids[stb], 'new': self.ids[spare],
                'note': "No signal"})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(self.devices(stb, spare, smartcard), {
                stb: ('faulty', None, None, 'LCO-A'),
                spare: ('installed', connection, smartcard, 'LCO-A'),
                smartcard: ('installed', connection, spare, 'LCO-A'),
                })
        login = self.a['email']
        self.assertIn(('swap_out', 'LCO-A', login), self.events(stb))
        self.assertIn(('swap_in', 'LCO-A', login), self.events(spare))
        self.assertEqual(self.count('rsoft.device.swap', [
                    ('connection', '=', connection),
                    ('old_device.number', '=', stb),
                    ('new_device.number', '=', spare),
                    ('state', '=', 'done')]), 1)
        self.assertGreater(
            len(self.commands(smartcard)), len(commands))

        # A paired box is no replacement: the model says why, nothing moves
        response = self.post(client, url, {
                'old': self.ids[spare], 'new': self.ids[box(101)],
                'note': "No signal"})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn(card(101), response.get_data(as_text=True))
        self.assertEqual(self.devices(spare, box(101)), {
                spare: ('installed', connection, smartcard, 'LCO-A'),
                box(101): ('allocated', None, card(101), 'LCO-A'),
                })
        self.assertEqual(self.count('rsoft.device.swap', [
                    ('connection', '=', connection)]), 1)

    def test_device_forms_refused(self):
        "No pairing, installation or swap without its token or a device"
        client = self.logged_in(self.a)
        connection = self.ids['A']
        for url, data, token, status in [
                (f'/devices/{self.ids[box(105)]}/pair',
                    {'card': self.ids[card(104)]}, False,
                    HTTPStatus.FORBIDDEN),
                (f'/devices/{self.ids[box(105)]}/pair', {}, True,
                    HTTPStatus.UNPROCESSABLE_ENTITY),
                (f'/connections/{connection}/install',
                    {'stb': self.ids[box(101)], 'ownership': 'sold'},
                    False, HTTPStatus.FORBIDDEN),
                (f'/connections/{connection}/install',
                    {'stb': self.ids[box(101)], 'ownership': 'leased'},
                    True, HTTPStatus.UNPROCESSABLE_ENTITY),
                (f"/connections/{self.a['id']['connection']}/swap",
                    {'old': self.a['id']['device'],
                        'new': self.ids[box(101)], 'note': "x"},
                    False, HTTPStatus.FORBIDDEN),
                (f"/connections/{self.a['id']['connection']}/swap",
                    {'old': self.a['id']['device'],
                        'new': self.ids[box(101)]},
                    True, HTTPStatus.UNPROCESSABLE_ENTITY),
                ]:
            with self.subTest(url=url, data=data, token=token):
                before = self.devices(box(101), box(105), card(104))
                response = self.post(client, url, data, token)
                self.assertEqual(response.status_code, status)
                self.assertEqual(
                    self.devices(box(101), box(105), card(104)), before)

    # Wallet

    def test_wallet_ledger(self):
        "The LCO sees its balance and ledger with the running balance"
        client = self.logged_in(self.a)
        body = self.page(client, '/wallet')
        for text in ["Prepaid", "1,350.00", "NEFT A-1000", "NEFT A-500",
                "Device sale", "850.00"]:
            self.assertIn(text, body)
        self.assertNotIn("NEFT B-700", body)
        # Newest first
        self.assertLess(body.index("NEFT A-500"), body.index("Device sale"))

        day = datetime.timedelta(days=1)
        start = (today() - 30 * day).isoformat()
        response = client.get(f'{BASE}/reports/wallet', query_string={
                'from': start, 'format': 'xlsx'})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn('attachment', response.headers['Content-Disposition'])
        rows = read_sheet(response,
            ['Date', 'Description', 'Debit', 'Credit', 'Balance'])
        self.assertEqual(
            [(r['debit'], r['credit'], r['balance']) for r in rows], [
                ('', '1000', '1000'), ('150', '', '850'),
                ('', '500', '1350')])
        self.assertEqual([r['date'] for r in rows], [
                (today() - n * day).isoformat() for n in [10, 5, 2]])
        self.assertIn('NEFT A-1000', rows[0]['description'])
        types = cell_types(response)
        self.assertEqual((types['C3'], types['E4'], types['B2']),
            ('n', 'n', 's'))

        body = self.page(client, '/reports/wallet',
            **{'from': (today() - 4 * day).isoformat()})
        self.assertIn("1 rows", body)

    def test_top_up(self):
        "The LCO declares a top-up: a draft of its own, the wallet as it was"
        client = self.logged_in(self.a)
        lco_a, lco_b = self.a['id']['lco'], self.b['id']['lco']

        def state():
            pool = Pool()
            Partner = pool.get('rsoft.partner')
            TopUp = pool.get('rsoft.lco.top_up')
            return (Partner(lco_a).wallet_balance,
                [(t.amount, t.reference, t.state, t.number)
                    for t in TopUp.search([('partner', '=', lco_a)],
                        order=[('id', 'ASC')])],
                TopUp.search_count([('partner', '=', lco_b)]))
        balance, top_ups, b_top_ups = run(state)
        self.assertEqual(balance, D('1350.00'))
        bank = run(lambda: Pool().get('rsoft.payment.method').search([
                    ('kind', '=', 'bank_transfer')])[0].id)

        body = self.page(client, '/wallet/top-up')
        self.assertIn("NEFT A-500", body)
        self.assertNotIn("NEFT B-90", body)
        for data, token, status in [
                ({'amount': '250', 'method': bank, 'reference': 'UTR9'},
                    False, HTTPStatus.FORBIDDEN),
                ({'amount': '-250', 'method': bank, 'reference': 'UTR9'},
                    True, HTTPStatus.UNPROCESSABLE_ENTITY),
                ({'amount': '250', 'method': bank, 'reference': ''},
                    True, HTTPStatus.UNPROCESSABLE_ENTITY),
                ({'amount': '250', 'method': self.cash, 'reference': 'x'},
                    True, HTTPStatus.NOT_FOUND),
                ]:
            with self.subTest(data=data, token=token):
                response = self.post(client, '/wallet/top-up', data, token)
                self.assertEqual(response.status_code, status)
                self.assertEqual(run(state), (balance, top_ups, b_top_ups))

        response = self.post(client, '/wallet/top-up', {
                'amount': '250.50', 'method': bank, 'reference': 'UTR 4711',
                'partner': lco_b})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(run(state), (balance,
                top_ups + [(D('250.50'), 'UTR 4711', 'draft', None)],
                b_top_ups))
        body = self.page(client, '/wallet/top-up')
        self.assertIn("UTR 4711", body)
        self.assertIn("Draft", body)

    # Reports

    def test_report_collections(self):
        "The collections of a period by day and mode, A's only"
        client = self.logged_in(self.a)
        later, earlier = (today() - datetime.timedelta(days=d)
            for d in COLLECTION_DAYS)
        query = {'from': earlier.isoformat(), 'to': later.isoformat()}
        body = self.page(client, '/reports/collections', **query)
        for text in ["150.00", "300.00", "200.00", "650.00", "Total Cash"]:
            self.assertIn(text, body)
        self.assertNotIn("999.00", body)

        response = client.get(f'{BASE}/reports/collections',
            query_string={**query, 'format': 'xlsx'})
        rows = read_sheet(response, ['Date', 'Mode', 'Receipts',
                'Collected'])
        self.assertEqual(
            [(r['date'], r['mode'], r['receipts'], r['collected'])
                for r in rows], [
                (earlier.isoformat(), 'Cheque', '1', '150'),
                (later.isoformat(), 'Cash', '1', '300'),
                (later.isoformat(), 'UPI/Mobile Wallet', '1', '200'),
                ('', 'Total Cash', '1', '300'),
                ('', 'Total Cheque', '1', '150'),
                ('', 'Total UPI/Mobile Wallet', '1', '200'),
                ('', 'Total', '3', '650'),
                ])
        self.assertEqual(cell_types(response)['D2'], 'n')

        response = client.get(f'{BASE}/reports/collections',
            query_string={'from': later.isoformat(),
                'to': earlier.isoformat()})
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)

    def test_report_cash_up(self):
        "The cash-up of a day: what each collector holds or banked"
        client = self.logged_in(self.a)
        day = today() - datetime.timedelta(days=COLLECTION_DAYS[0])
        response = client.get(f'{BASE}/reports/cash-up', query_string={
                'date': day.isoformat(), 'format': 'xlsx'})
        rows = read_sheet(response, ['Collector', 'Mode', 'Receipts',
                'Collected', 'Electronic', 'Deposited', 'Not deposited',
                'Reversed'])
        self.assertEqual([tuple(r.values()) for r in rows], [
                ('Online', 'UPI/Mobile Wallet', '1', '200', '200', '0', '0',
                    '0'),
                ('Ravi (field agent)', 'Cash', '1', '300', '0', '0', '300',
                    '0'),
                ('Total', '', '2', '500', '200', '0', '300', '0'),
                ])
        body = self.page(client, '/reports/cash-up', date=day.isoformat())
        self.assertIn("Ravi (field agent)", body)
        self.assertNotIn("999.00", body)
        self.assertEqual(client.get(f'{BASE}/reports/cash-up',
                query_string={'date': 'yesterday'}).status_code,
            HTTPStatus.UNPROCESSABLE_ENTITY)

    def test_report_expiring(self):
        "The lines ending in the next days, 3 by default"
        client = self.logged_in(self.a)
        body = self.page(client, '/reports/expiring')
        self.assertIn(self.a['customer_id'], body)
        self.assertIn("Gold Pack", body)
        self.assertNotIn(self.b['customer_id'], body)
        body = self.page(client, '/reports/expiring', days='1')
        self.assertNotIn(self.a['customer_id'], body)
        self.assertIn("0 rows", body)

        response = client.get(f'{BASE}/reports/expiring',
            query_string={'format': 'xlsx'})
        rows = read_sheet(response, ['Ends on', 'Customer ID', 'Name',
                'Mobile', 'Pack or channel'])
        self.assertEqual([
                (r['ends on'], r['customer id'], r['pack or channel'])
                for r in rows], [(
                    (today() + datetime.timedelta(days=2)).isoformat(),
                    self.a['customer_id'], "Gold Pack")])
        self.assertEqual(client.get(f'{BASE}/reports/expiring',
                query_string={'days': '-1'}).status_code,
            HTTPStatus.UNPROCESSABLE_ENTITY)

    def test_report_active(self):
        "The active subscribers with their packs"
        client = self.logged_in(self.a)
        body = self.page(client, '/reports/active')
        self.assertIn(self.a['customer_id'], body)
        self.assertNotIn(self.b['customer_id'], body)
        response = client.get(f'{BASE}/reports/active',
            query_string={'format': 'xlsx'})
        rows = read_sheet(response, ['Customer ID', 'Name', 'Mobile',
                'Packs'])
        self.assertEqual([(r['customer id'], r['name']) for r in rows],
            [(self.a['customer_id'], self.a['name'])])
        self.assertIn("Gold Pack", rows[0]['packs'])

    def test_report_settlements(self):
        "The LCO's posted settlements, each statement with its lines"
        client = self.logged_in(self.a)
        body = self.page(client, '/reports/settlements')
        settlement = self.ids['settlement A']
        self.assertIn(f'/reports/settlements/{settlement}"', body)
        self.assertNotIn(f"/reports/settlements/{self.ids['settlement B']}",
            body)
        # Its first month, billed once: Gold 310.00 × 20% (its agreement
        # for pay channels) + NCF 130.00 × 45% = 62.00 + 58.50
        self.assertIn("120.50", body)
        self.assertIn("Posted", body)
        body = self.page(client, f'/reports/settlements/{settlement}')
        self.assertIn("20.00% of Pay Channels billed", body)
        self.assertIn("45.00% of NCF billed", body)
        response = client.get(f'{BASE}/reports/settlements/{settlement}',
            query_string={'format': 'xlsx'})
        rows = read_sheet(response, ['Kind', 'Explanation', 'Base',
                'Amount'])
        # The lines, then the share, the collections kept and the net
        self.assertEqual([(r['base'], r['amount']) for r in rows], [
                ('130', '58.5'), ('310', '62'),
                ('', '120.5'), ('', '0'), ('', '120.5')])

    def test_collect_receipt_queued(self):
        "A payment collected on the portal sends its receipt by SMS, e-mail"
        client = self.logged_in(self.a)
        url = f"/subscribers/{self.a['id']['subscriber']}/collect"
        response = self.post(client, url, {
                'amount': '120', 'method': self.cash, 'reference': ''})
        self.assertEqual(response.status_code, HTTPStatus.OK)

        def queued():
            pool = Pool()
            Payment = pool.get('rsoft.payment')
            Notification = pool.get('rsoft.notify.notification')
            payment, = Payment.search([
                    ('subscriber', '=', self.a['id']['subscriber']),
                    ], order=[('id', 'DESC')], limit=1)
            return payment.amount, sorted(
                (n.channel, n.event.code) for n in Notification.search([
                        ('origin', '=', str(payment))]))
        self.assertEqual(run(queued), (D('120.00'), [
                    ('email', 'payment_receipt'),
                    ('sms', 'payment_receipt')]))


# The portal's own tests run in test_portal.py
for _name in dir(test_portal.PortalTestCase):
    if _name.startswith('test_'):
        setattr(PortalStockTestCase, _name, None)
