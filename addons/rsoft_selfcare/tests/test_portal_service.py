"""The LCO portal's complaints, work orders and technicians' day lists
through trytond's WSGI application, each request in a committed
transaction of its own"""
import re
from http import HTTPStatus

from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool
from trytond.tests import test_tryton

from . import test_portal
from .attacks_service import service_ids
from .test_portal import BASE
from .tools import PortalOperator, csrf_token
from .tools_service import TECHNICIANS
from .tools_stock import box

DOCKET = re.compile(r'/complaints/(\d+)$')


class PortalServiceTestCase(
        test_portal.PortalClientMixin, PortalOperator,
        test_tryton._DBTestCase):
    "Test the LCO portal's complaints, work orders and technicians"
    module = 'rsoft_selfcare'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def read():
            with cls.fixture(cls) as op:
                return {code: {
                        'id': {name: a[name].id for name in [
                                'subscriber', 'connection', 'lco']},
                        'email': a['email'],
                        'customer_id': a['customer_id'],
                        } for code, a in op.accounts.items()}
        accounts = run(read)
        cls.a, cls.b = (accounts[code] for code in sorted(accounts))
        cls.ids = service_ids(cls.a['id'], cls.b['id'])

    def page(self, client, url, **query):
        response = client.get(f'{BASE}{url}', query_string=query)
        self.assertEqual(response.status_code, HTTPStatus.OK, url)
        return response.get_data(as_text=True)

    def post(self, client, url, data):
        data = {**data, 'csrf_token': csrf_token(client.get(f'{BASE}/'))}
        return client.post(f'{BASE}{url}', data=data)

    def lodge(self, client, description="No signal since the rain"):
        "Lodge a no-signal complaint on A's connection: return its id"
        response = self.post(client,
            f"/subscribers/{self.a['id']['subscriber']}/complaint", {
                'connection': str(self.a['id']['connection']),
                'category': 'no_signal', 'description': description})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER,
            response.get_data(as_text=True))
        return int(DOCKET.search(response.location).group(1))

    @staticmethod
    def complaint(complaint_id):
        "Return what the back office sees of the complaint"
        def read():
            pool = Pool()
            Complaint = pool.get('rsoft.complaint')
            Notification = pool.get('rsoft.notify.notification')
            complaint = Complaint(complaint_id)
            return {
                'number': complaint.number, 'state': complaint.state,
                'channel': complaint.channel,
                'portal_login': complaint.portal_login,
                'technician': (complaint.technician.name
                    if complaint.technician else None),
                'resolution': complaint.resolution_code,
                'orders': [o.id for o in complaint.work_orders],
                'sms': Notification.search_count([
                        ('origin', '=', str(complaint)),
                        ('channel', '=', 'sms'),
                        ]),
                'events': [(e.after, e.portal_login)
                    for e in sorted(complaint.events, key=lambda e: e.id)],
                }
        return run(read)

    @staticmethod
    def order(order_id):
        def read():
            order = Pool().get('rsoft.work_order')(order_id)
            return {
                'state': order.state, 'kind': order.kind,
                'technician': (order.technician.name
                    if order.technician else None),
                'stb': order.stb.number if order.stb else None,
                'notes': order.notes,
                'failure': order.failure_reason,
                }
        return run(read)

    def test_lodge(self):
        "The LCO lodges a complaint: docket, SMS, SLA clock, who lodged"
        client = self.logged_in(self.a)
        complaint_id = self.lodge(client)
        complaint = self.complaint(complaint_id)
        self.assertEqual(complaint['state'], 'open')
        self.assertEqual(complaint['channel'], 'lco_portal')
        self.assertEqual(complaint['portal_login'], self.a['email'])
        self.assertEqual(complaint['sms'], 1)
        self.assertEqual(complaint['events'], [('Open', self.a['email'])])
        body = self.page(client, f'/complaints/{complaint_id}')
        self.assertIn(complaint['number'], body)
        self.assertIn("No signal since the rain", body)
        # The no-signal clock of the DAS rule runs: hours and minutes left
        self.assertRegex(body, r'\d+ h \d+ min')
        listed = self.page(client, '/complaints')
        self.assertIn(complaint['number'], listed)

    def test_lodge_device(self):
        "A box named at fault: the complaint's work order is its swap"
        client = self.logged_in(self.a)
        device = run(lambda: Pool().get('stock.lot').search([
                    ('connection', '=', self.a['id']['connection']),
                    ])[0].id)
        response = self.post(client,
            f"/subscribers/{self.a['id']['subscriber']}/complaint", {
                'connection': str(self.a['id']['connection']),
                'device': str(device), 'category': 'stb_fault',
                'description': "Box restarts every few minutes"})
        complaint_id = int(DOCKET.search(response.location).group(1))
        self.post(client, f'/complaints/{complaint_id}',
            {'step': 'work_order'})
        order_id, = self.complaint(complaint_id)['orders']

        def read():
            order = Pool().get('rsoft.work_order')(order_id)
            return order.kind, order.old_device.id
        self.assertEqual(run(read), ('stb_swap', device))

    def test_lodge_refused(self):
        "A complaint without a description is refused, nothing lodged"
        client = self.logged_in(self.a)

        def count():
            return Pool().get('rsoft.complaint').search_count([])
        before = run(count)
        url = f"/subscribers/{self.a['id']['subscriber']}/complaint"
        response = self.post(client, url, {
                'connection': str(self.a['id']['connection']),
                'category': 'no_signal', 'description': '  '})
        self.assertEqual(response.status_code,
            HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn("Describe the complaint",
            response.get_data(as_text=True))
        # Relocation is lodged by the back office, with the new address
        response = self.post(client, url, {
                'connection': str(self.a['id']['connection']),
                'category': 'relocation', 'description': 'Moving'})
        self.assertEqual(response.status_code,
            HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertEqual(run(count), before)

    def test_work_order_day(self):
        """A complaint becomes a work order, allocated to the LCO's
        technician, on the technician's day list, started and completed:
        the complaint is resolved, every step recorded with the login"""
        client = self.logged_in(self.a)
        complaint_id = self.lodge(client, "Picture freezes")
        response = self.post(client, f'/complaints/{complaint_id}',
            {'step': 'work_order'})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        order_id, = self.complaint(complaint_id)['orders']
        self.assertTrue(response.location.endswith(
                f'/work-orders/{order_id}'))
        self.assertEqual(self.order(order_id)['state'], 'draft')

        technician = self.ids['A']['technician']
        response = self.post(client, '/work-orders/allocate', {
                'order': [str(order_id)], 'technician': str(technician)})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(self.order(order_id),
            dict(self.order(order_id), state='allocated',
                technician=TECHNICIANS['LCO-A']))
        self.assertEqual(self.complaint(complaint_id)['state'], 'assigned')

        day = self.page(client, f'/technicians/{technician}/day')
        self.assertIn(f'/work-orders/{order_id}', day)
        self.assertIn(TECHNICIANS['LCO-A'], self.page(client, '/technicians'))

        response = self.post(client, f'/work-orders/{order_id}',
            {'step': 'start', 'back': 'day'})
        self.assertIn(f'/technicians/{technician}/day', response.location)
        self.assertEqual(self.order(order_id)['state'], 'started')
        self.assertEqual(self.complaint(complaint_id)['state'], 'in_progress')

        response = self.post(client, f'/work-orders/{order_id}', {
                'step': 'complete', 'serials': '',
                'notes': "Connector at the tap replaced"})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        order = self.order(order_id)
        self.assertEqual(order['state'], 'done')
        self.assertEqual(order['notes'], "Connector at the tap replaced")
        complaint = self.complaint(complaint_id)
        self.assertEqual(complaint['state'], 'resolved')
        self.assertEqual(complaint['resolution'], 'repaired_on_site')
        # Every step by the portal login, as the history says
        self.assertEqual([after for after, _ in complaint['events'] if after],
            ["Open", "Assigned", "In Progress", "Resolved"])
        self.assertEqual({login for _, login in complaint['events']},
            {self.a['email']})
        body = self.page(client, f'/work-orders/{order_id}')
        self.assertIn(self.a['email'], body)

    def test_fail_and_resolve(self):
        """A failed visit needs its reason and waits for another; a
        complaint resolved from its page with a resolution code"""
        client = self.logged_in(self.a)
        complaint_id = self.lodge(client, "Channel 501 missing")
        self.post(client, f'/complaints/{complaint_id}',
            {'step': 'work_order'})
        order_id, = self.complaint(complaint_id)['orders']
        self.post(client, f'/work-orders/{order_id}', {
                'step': 'allocate',
                'technician': str(self.ids['A']['technician'])})
        response = self.post(client, f'/work-orders/{order_id}',
            {'step': 'fail', 'reason': ''})
        self.assertEqual(response.status_code,
            HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertEqual(self.order(order_id)['state'], 'allocated')
        self.post(client, f'/work-orders/{order_id}',
            {'step': 'fail', 'reason': "Nobody home"})
        order = self.order(order_id)
        self.assertEqual((order['state'], order['failure']),
            ('failed', "Nobody home"))

        response = self.post(client, f'/complaints/{complaint_id}',
            {'step': 'resolve', 'code': ''})
        self.assertEqual(response.status_code,
            HTTPStatus.UNPROCESSABLE_ENTITY)
        self.post(client, f'/complaints/{complaint_id}', {
                'step': 'resolve', 'code': 'fixed_remotely',
                'note': "Entitlement resent"})
        complaint = self.complaint(complaint_id)
        self.assertEqual((complaint['state'], complaint['resolution']),
            ('resolved', 'fixed_remotely'))

    def test_complete_other_lco_serial(self):
        """A technician cannot install a box of another LCO's stock: the
        order is not completed and nothing moves"""
        client = self.logged_in(self.a)
        complaint_id = self.lodge(client, "Box dead")
        self.post(client, f'/complaints/{complaint_id}',
            {'step': 'work_order'})
        order_id, = self.complaint(complaint_id)['orders']
        self.post(client, f'/work-orders/{order_id}', {
                'step': 'allocate',
                'technician': str(self.ids['A']['technician'])})
        response = self.post(client, f'/work-orders/{order_id}',
            {'step': 'complete', 'serials': box(203)})
        self.assertEqual(response.status_code,
            HTTPStatus.UNPROCESSABLE_ENTITY)
        order = self.order(order_id)
        self.assertEqual((order['state'], order['stb']), ('allocated', None))

    def test_allocate_foreign(self):
        "One order of another LCO among those ticked: none is allocated"
        client = self.logged_in(self.a)
        mine, theirs = self.ids['A']['order'], self.ids['B']['order']
        before = self.order(mine), self.order(theirs)
        response = self.post(client, '/work-orders/allocate', {
                'order': [str(mine), str(theirs)],
                'technician': str(self.ids['A']['technician'])})
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertEqual((self.order(mine), self.order(theirs)), before)
        # B's complaint and order are not in A's lists
        b_docket = self.complaint(self.ids['B']['complaint'])['number']
        self.assertNotIn(b_docket, self.page(client, '/complaints',
                show='all'))
        self.assertNotIn(f"/work-orders/{theirs}\"",
            self.page(client, '/work-orders', show='all'))
        self.assertNotIn(TECHNICIANS['LCO-B'],
            self.page(client, '/technicians'))
