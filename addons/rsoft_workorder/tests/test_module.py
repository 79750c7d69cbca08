import datetime as dt
import io
from contextlib import contextmanager
from decimal import Decimal

from openpyxl import load_workbook

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.rsoft_billing.charge import Rater
from trytond.modules.rsoft_catalogue.tests.tools import rpc_as
from trytond.modules.rsoft_payment.tests.tools import set_up_payments
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.modules.rsoft_workorder.sla import BusinessHours
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .tools import (
    MORNING,
    TODAY,
    clock,
    create_service_operator,
    devices,
    new_subscriber,
)

D = dt.date
DT = dt.datetime
H = dt.timedelta(hours=1)


class WorkOrderTestCase(FixtureMixin, ModuleTestCase):
    "Test complaints, work orders, technicians and the QoS statistics"
    module = 'rsoft_workorder'

    @classmethod
    def set_up_fixture(cls):
        return create_service_operator()

    @contextmanager
    def operator(self, now=MORNING):
        with self.fixture() as op, clock(now) as (op_now, op_today):
            op.now, op.today = op_now, op_today
            yield op

    def at(self, op, now):
        "Move the clocks to now (UTC)"
        op.now.return_value = now
        op.today.return_value = (now + dt.timedelta(hours=5, minutes=30)
            ).date()

    def installed(self, op, serial='GX00000001'):
        "Return an active connection of LCO-A with the box serial, sold"
        subscriber = new_subscriber(op.lco_a)
        connection, = subscriber.connections
        stb, = devices(serial)
        connection.install(stb, ownership='sold', date=TODAY)
        return Pool().get('rsoft.connection')(connection.id)

    def notifications(self, event, origin=None):
        Notification = Pool().get('rsoft.notify.notification')
        domain = [('event.code', '=', event)]
        if origin:
            domain.append(('origin', '=', str(origin)))
        return Notification.search(domain, order=[('id', 'ASC')])

    def commands(self, connection):
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Command = pool.get('rsoft.cas.command')
        CasDevice.sync()
        return Command.search([('connection', '=', connection.id)],
            order=[('id', 'ASC')])

    def test_business_hours(self):
        "The business clock stops at night and on Sunday, in India's time"
        hours = BusinessHours(dt.time(9), dt.time(18), range(6),
            'Asia/Kolkata')
        # Saturday 16:30 IST + 4 business hours: 1.5 h on Saturday, then
        # Monday 9:00 + 2.5 h = Monday 11:30 IST = 06:00 UTC
        saturday = DT(2026, 2, 28, 11, 0)
        self.assertEqual(hours.add(saturday, 4), DT(2026, 3, 2, 6, 0))
        # Lodged at 22:00 IST on Monday: the clock starts Tuesday 9:00
        night = DT(2026, 3, 2, 16, 30)
        self.assertEqual(hours.add(night, 1), DT(2026, 3, 3, 4, 30))
        # 48 business hours from Monday 9:00 IST: five days of 9 hours,
        # then 3 on Saturday
        self.assertEqual(hours.add(DT(2026, 3, 2, 3, 30), 48),
            DT(2026, 3, 7, 6, 30))
        self.assertEqual(hours.local_date(night), D(2026, 3, 2))
        self.assertEqual(hours.local_date(DT(2026, 3, 2, 19, 0)),
            D(2026, 3, 3))

    @with_transaction()
    def test_lodge(self):
        "A no-signal complaint gets a docket by SMS and an 8-hour clock"
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        with self.operator() as op:
            connection = self.installed(op)
            complaint = Complaint.lodge(connection, 'no_signal',
                "No signal since morning", channel='lco_portal')

            self.assertTrue(complaint.number.startswith('DKT'))
            self.assertEqual(complaint.state, 'open')
            self.assertEqual(complaint.priority, 'high')
            self.assertEqual(complaint.lco, op.lco_a)
            self.assertEqual(complaint.lodged_at, MORNING)
            self.assertEqual(complaint.due_at, MORNING + 8 * H)
            self.assertEqual(complaint.target_hours, Decimal('8.00'))
            self.assertEqual(complaint.time_left, 8 * H)
            self.assertFalse(complaint.breached)
            self.assertFalse(complaint.repeat)
            sms, = [n for n in self.notifications(
                    'complaint_lodged', complaint) if n.channel == 'sms']
            self.assertEqual(sms.state, 'queued')
            self.assertIn(complaint.number, sms.body)
            self.assertIn('18:00', sms.body)
            self.assertEqual(sms.recipient,
                connection.subscriber.mobile.replace(' ', ''))
            event, = complaint.events
            self.assertEqual((event.action, event.after, event.timestamp),
                ('lodged', 'Open', MORNING))

            # A billing complaint counts business hours: 48 of them from
            # Monday 10:00 are Saturday 13:00
            billing = Complaint.lodge(connection, 'billing', "Billed twice")
            self.assertEqual(billing.due_at, DT(2026, 3, 7, 7, 30))
            self.assertTrue(billing.repeat)

            for args, text in [
                    (('no_tv', "x"), 'no_tv'),
                    (('other', "   "), 'Describe the complaint'),
                    ]:
                with self.assertRaises(UserError) as cm:
                    Complaint.lodge(connection, *args)
                self.assertIn(text, cm.exception.message)

    @with_transaction()
    def test_no_signal_stb_swap(self):
        """A no-signal complaint is resolved within its SLA by an STB swap
        work order: the new box is paired at the head-end on completion
        only, the visit is free, the subscriber confirms"""
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        Lot = pool.get('stock.lot')
        WorkOrder = pool.get('rsoft.work_order')
        with self.operator() as op:
            connection = self.installed(op)
            old, = devices('GX00000001')
            spare, = devices('GX00000002')
            Lot.unpair([spare])
            before = len(self.commands(connection))
            complaint = Complaint.lodge(connection, 'no_signal',
                "No signal, box does not boot", device=old)

            order, = Complaint.make_work_order([complaint], 'stb_swap')
            self.assertEqual(order.kind, 'stb_swap')
            self.assertEqual(order.cause, 'complaint')
            self.assertEqual(order.old_device, old)
            self.assertEqual(order.area, op.kothrud)
            self.assertEqual(order.building, "12 MG Road")
            self.assertEqual(order.due_at, MORNING + 24 * H)
            self.assertFalse(order.chargeable)

            WorkOrder.allocate([order])
            order = WorkOrder(order.id)
            self.assertEqual(
                (order.state, order.technician, order.planned_date),
                ('allocated', op.ravi, TODAY))
            complaint = Complaint(complaint.id)
            self.assertEqual(
                (complaint.state, complaint.technician),
                ('assigned', op.ravi))
            self.assertEqual(op.ravi.day_list(TODAY), [order])

            self.at(op, MORNING + 2 * H)
            WorkOrder.start([order])
            self.assertEqual(Complaint(complaint.id).state, 'in_progress')
            # Nothing changed at the premises nor at the head-end yet
            self.assertEqual(Lot(old.id).connection, connection)
            self.assertEqual(len(self.commands(connection)), before)

            self.at(op, MORNING + 3 * H)
            WorkOrder.complete([order], serials='GX00000002',
                notes="Power board burnt; box replaced")
            order = WorkOrder(order.id)
            self.assertEqual(order.state, 'done')
            self.assertEqual(order.sla_result, 'met')
            self.assertEqual(order.work_hours, Decimal('1.00'))
            self.assertIsNone(order.fee_line)
            connection = pool.get('rsoft.connection')(connection.id)
            self.assertEqual(connection.stb, spare)
            old = Lot(old.id)
            self.assertEqual(
                (old.device_state, old.connection), ('faulty', None))
            self.assertEqual(Lot(spare.id).paired_device.number,
                '700000000001')
            new = [c.action for c in self.commands(connection)[before:]]
            self.assertIn('pair', new)

            complaint = Complaint(complaint.id)
            self.assertEqual(complaint.state, 'resolved')
            self.assertEqual(complaint.resolution_code, 'device_replaced')
            self.assertEqual(complaint.sla_result, 'met')
            self.assertEqual(complaint.resolution_hours, Decimal('3.00'))
            self.assertFalse(complaint.breached)
            self.assertEqual(len(self.notifications(
                        'complaint_resolved', complaint)), 1)

            Complaint.confirm([complaint])
            complaint = Complaint(complaint.id)
            self.assertEqual(
                (complaint.state, complaint.confirmed), ('closed', True))
            self.assertEqual([e.action for e in reversed(complaint.events)], [
                    'lodged', 'given a work order', 'assigned', 'started',
                    'resolved', 'confirmed by the subscriber'])
            self.assertEqual([e.action for e in reversed(order.events)], [
                    'created', 'allocated', 'started', 'completed'])
            with self.assertRaises(UserError) as cm:
                Complaint.reopen([complaint])
            self.assertIn('is Closed: it cannot be reopened',
                cm.exception.message)

    @with_transaction()
    def test_installation(self):
        """A paid installation is done within 72 hours: the box from the
        LCO's stock, the account activated, the fee charged once"""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        WorkOrder = pool.get('rsoft.work_order')
        with self.operator() as op:
            subscriber = new_subscriber(op.lco_a, active=False)
            connection, = subscriber.connections
            Line = pool.get('rsoft.subscription.line')
            Line.create([{'connection': connection.id,
                        'product': op.gold.id, 'start_date': TODAY}])
            order, = WorkOrder.create([{
                        'kind': 'installation', 'cause': 'new_connection',
                        'connection': connection.id,
                        'paid_at': MORNING - 10 * H,
                        'ownership': 'sold',
                        }])
            self.assertEqual(order.due_at, MORNING + 62 * H)
            self.assertEqual(order.fee, op.install)
            self.assertTrue(order.chargeable)
            self.assertEqual(Subscriber(subscriber.id).state, 'draft')

            WorkOrder.allocate([order], op.ravi)
            self.at(op, MORNING + 30 * H)
            WorkOrder.complete([order], serials='GX00000003')
            order = WorkOrder(order.id)
            self.assertEqual(order.duration_hours, Decimal('40.00'))
            self.assertEqual(order.sla_result, 'met')
            subscriber = Subscriber(subscriber.id)
            self.assertEqual(subscriber.state, 'active')
            connection, = subscriber.connections
            self.assertEqual(connection.stb.number, 'GX00000003')
            self.assertEqual(connection.smartcard.number, '700000000003')
            actions = {c.action for c in self.commands(connection)}
            # Paired at the warehouse: the head-end hears of the products
            self.assertIn('entitle', actions)
            self.assertEqual(order.fee_line.product, op.install)
            self.assertEqual(order.fee_line.end_date, D(2026, 3, 3))

            charges = Rater(D(2026, 5, 1)).rate([subscriber])
            fee, = [c for c in charges if c.kind == 'one_time']
            self.assertEqual(
                (fee.amount, fee.date_from), (Decimal('350.00'),
                    D(2026, 3, 3)))
            self.assertFalse([c for c in Rater(D(2026, 6, 1)).rate(
                        [subscriber]) if c.kind == 'one_time'])

    @with_transaction()
    def test_installation_on_payment(self):
        """A new account's payment is its paid request: its installation
        order is made, due 72 hours later; a second payment makes none"""
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        WorkOrder = pool.get('rsoft.work_order')
        with self.operator() as op:
            methods = set_up_payments(op.company, op.lco_a).methods
            subscriber = new_subscriber(op.lco_a, active=False)
            connection, = subscriber.connections
            Payment.record(subscriber, Decimal('500'), methods['cash'],
                date=TODAY)
            order, = WorkOrder.search([('connection', '=', connection.id)])
            self.assertEqual((order.kind, order.cause, order.state),
                ('installation', 'new_connection', 'draft'))
            self.assertEqual(order.paid_at, MORNING)
            self.assertEqual(order.due_at, MORNING + 72 * H)

            self.at(op, MORNING + 2 * H)
            Payment.record(subscriber, Decimal('100'), methods['cash'],
                date=TODAY)
            self.assertEqual(WorkOrder.search([
                        ('connection', '=', connection.id),
                        ]), [order])
            # An active account's payment is not a request
            active = new_subscriber(op.lco_a)
            Payment.record(active, Decimal('100'), methods['cash'],
                date=TODAY)
            self.assertFalse(WorkOrder.search([
                        ('connection.subscriber', '=', active.id),
                        ]))

    @with_transaction()
    def test_relocation(self):
        """A relocation moves the connection to its new address, resumes
        it, sends the head-end its pairing again and charges the fee"""
        pool = Pool()
        Address = pool.get('party.address')
        Connection = pool.get('rsoft.connection')
        WorkOrder = pool.get('rsoft.work_order')
        with self.operator() as op:
            connection = self.installed(op)
            Connection.do_suspend([connection], 'relocation', "Moving house")
            party = connection.subscriber.party
            new_home, = Address.create([{
                        'party': party.id, 'street': "4 Baner Road",
                        'city': "Pune", 'postal_code': '411007'}])
            order, = WorkOrder.create([{
                        'kind': 'relocation', 'connection': connection.id,
                        'new_address': new_home.id,
                        }])
            self.assertEqual(order.area, op.aundh)
            # Ravi works in Kothrud only: the MSO's team takes Aundh
            WorkOrder.allocate([order])
            self.assertEqual(WorkOrder(order.id).technician, op.imran)
            before = len(self.commands(connection))
            self.at(op, MORNING + 5 * H)
            WorkOrder.complete([order], notes="Cable laid to the new flat")

            connection = Connection(connection.id)
            self.assertEqual(connection.installation_address, new_home)
            self.assertEqual(connection.state, 'active')
            self.assertEqual(connection.stb.number, 'GX00000001')
            actions = [c.action for c in self.commands(connection)[before:]]
            self.assertIn('pair', actions)
            self.assertIn('resume', actions)
            order = WorkOrder(order.id)
            self.assertEqual(order.fee_line.product, op.relocation)
            charges = Rater(D(2026, 5, 1)).rate([connection.subscriber])
            fee, = [c for c in charges if c.kind == 'one_time']
            self.assertEqual(fee.amount, Decimal('250.00'))

    @with_transaction()
    def test_escalation(self):
        """An overdue complaint goes to the supervisor, a day later to the
        nodal officer; it shows as breached; resolved late, it missed"""
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        with self.operator() as op:
            connection = self.installed(op)
            complaint = Complaint.lodge(connection, 'no_signal', "Blank")
            other = Complaint.lodge(connection, 'billing', "Overcharged")

            self.at(op, MORNING + 6 * H + 30 * dt.timedelta(minutes=1))
            self.assertEqual(Complaint.search([('due_soon', '=', True)]),
                [complaint])
            Complaint.escalate_overdue()
            self.assertEqual(Complaint(complaint.id).escalation, 'none')

            self.at(op, MORNING + 9 * H)
            self.assertEqual(Complaint.search([('breached', '=', True)]),
                [complaint])
            self.assertEqual(Complaint.search([('breached', '=', False)]),
                [other])
            self.assertEqual(Complaint(complaint.id).time_left, -H)
            Complaint.escalate_overdue()
            complaint = Complaint(complaint.id)
            self.assertEqual(
                (complaint.escalation, complaint.priority),
                ('supervisor', 'urgent'))
            mail, = [n for n in self.notifications(
                    'complaint_escalated', complaint)
                if n.channel == 'email']
            self.assertEqual(mail.recipient, 'supervisor@mso.test')
            self.assertIn(complaint.number, mail.subject)
            Complaint.escalate_overdue()
            self.assertEqual(
                len(self.notifications('complaint_escalated')), 2)

            self.at(op, MORNING + 33 * H)
            Complaint.escalate_overdue()
            complaint = Complaint(complaint.id)
            self.assertEqual(complaint.escalation, 'nodal')
            self.assertEqual(
                [n.recipient for n in self.notifications(
                        'complaint_escalated', complaint)
                    if n.channel == 'email'],
                ['supervisor@mso.test', 'nodal@mso.test'])

            Complaint.resolve([complaint], 'network_fault', "Amplifier")
            complaint = Complaint(complaint.id)
            self.assertEqual(complaint.sla_result, 'missed')
            self.assertTrue(complaint.breached)
            self.assertIsNone(complaint.time_left)

            # Not confirmed within three days: closed
            self.at(op, MORNING + 33 * H + 73 * H)
            Complaint.close_unconfirmed()
            complaint = Complaint(complaint.id)
            self.assertEqual(
                (complaint.state, complaint.confirmed), ('closed', False))

    @with_transaction()
    def test_reopen(self):
        "The subscriber says it is not fixed: reopened, the clock runs"
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        with self.operator() as op:
            connection = self.installed(op)
            complaint = Complaint.lodge(connection, 'channel_missing',
                "Star Sports missing")
            with self.assertRaises(UserError) as cm:
                Complaint.resolve([complaint])
            self.assertIn('Choose the resolution', cm.exception.message)
            Complaint.resolve([complaint], 'fixed_remotely')
            Complaint.reopen([complaint], "Still missing")
            complaint = Complaint(complaint.id)
            self.assertEqual(
                (complaint.state, complaint.reopen_count,
                    complaint.sla_result), ('reopened', 1, None))
            self.assertEqual(complaint.time_left, 24 * H)

    @with_transaction()
    def test_allocation(self):
        """Orders of one building go to one technician with the skill and
        room; a failed visit is allocated again; none fits, it says why"""
        pool = Pool()
        WorkOrder = pool.get('rsoft.work_order')
        with self.operator() as op:
            connections = [self.installed(op, f'GX0000000{i}')
                for i in [1, 2]]
            # The street on two lines, as a CAF often has it
            Address = pool.get('party.address')
            Address.write([c.installation_address for c in connections],
                {'street': "577\nLata Chowk"})
            orders = WorkOrder.create([{
                        'kind': 'repair', 'connection': c.id,
                        } for c in connections])
            self.assertEqual({o.building for o in orders},
                {"577, Lata Chowk"})
            WorkOrder.allocate(orders)
            self.assertEqual({WorkOrder(o.id).technician for o in orders},
                {op.ravi})
            with self.assertRaises(UserError) as cm:
                WorkOrder.allocate(orders[:1], op.meena)
            self.assertIn('skill "Repair Visit"', cm.exception.message)
            with self.assertRaises(UserError) as cm:
                WorkOrder.allocate(orders[:1], op.suresh)
            self.assertIn('another LCO', cm.exception.message)

            with self.assertRaises(UserError) as cm:
                WorkOrder.fail(orders[:1])
            self.assertIn('Say why', cm.exception.message)
            WorkOrder.fail(orders[:1], "Door locked")
            order = WorkOrder(orders[0].id)
            self.assertEqual(
                (order.state, order.failure_count), ('failed', 1))
            self.assertTrue(order.breached is False)
            with self.assertRaises(UserError) as cm:
                WorkOrder.complete([order])
            self.assertIn('is Failed: it cannot be completed',
                cm.exception.message)
            WorkOrder.allocate([order], date=TODAY + dt.timedelta(days=1))
            order = WorkOrder(order.id)
            self.assertEqual((order.state, order.planned_date),
                ('allocated', TODAY + dt.timedelta(days=1)))
            self.assertEqual(op.ravi.day_list(TODAY), [orders[1]])

            # Ravi holds 1 of his 3 orders today: 3 more go to the MSO
            more = WorkOrder.create([{
                        'kind': 'repair', 'connection': c.id,
                        } for c in connections + connections[:1]])
            WorkOrder.allocate(more)
            self.assertEqual({WorkOrder(o.id).technician for o in more},
                {op.imran})

    @with_transaction()
    def test_retrieval_on_termination(self):
        "A terminated connection's devices are retrieved to the LCO's stock"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Subscriber = pool.get('rsoft.subscriber')
        WorkOrder = pool.get('rsoft.work_order')
        with self.operator() as op:
            connection = self.installed(op)
            Subscriber.terminate([connection.subscriber], TODAY)
            order, = WorkOrder.search([('connection', '=', connection.id)])
            self.assertEqual(
                (order.kind, order.cause, order.state,
                    order.old_device.number),
                ('retrieval', 'termination', 'draft', 'GX00000001'))
            WorkOrder.allocate([order])
            WorkOrder.complete([order])
            stb, card = devices('GX00000001', '700000000001')
            for device in [stb, card]:
                self.assertEqual(
                    (device.connection, device.holder,
                        device.device_state), (None, op.lco_a, 'allocated'))
            self.assertIsNone(WorkOrder(order.id).fee_line)
            self.assertFalse(Lot(stb.id).connection)

    @with_transaction()
    def test_guarded_fields(self):
        "What the clocks and the actions set cannot be written over RPC"
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        with self.operator() as op:
            connection = self.installed(op)
            complaint = Complaint.lodge(connection, 'no_signal', "Blank")
            with rpc_as(op.clerk):
                for values in [
                        {'due_at': MORNING + 100 * H},
                        {'state': 'closed'},
                        {'category': 'billing'},
                        ]:
                    with self.assertRaises(UserError):
                        Complaint.write(
                            [Complaint(complaint.id)], values)
                Complaint.write([Complaint(complaint.id)],
                    {'description': "Blank screen on all channels"})
            Complaint.resolve([complaint], 'fixed_remotely')
            with rpc_as(op.clerk), self.assertRaises(UserError) as cm:
                Complaint.write([Complaint(complaint.id)],
                    {'resolution_code': 'explained'})
            self.assertIn('can no longer be changed', cm.exception.message)

    @with_transaction()
    def test_lco_isolation(self):
        "LCO-B cannot read, change, resolve or complain on LCO-A's records"
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        Technician = pool.get('rsoft.technician')
        WorkOrder = pool.get('rsoft.work_order')
        with self.operator() as op:
            connection = self.installed(op)
            complaint = Complaint.lodge(connection, 'no_signal', "Blank")
            order, = Complaint.make_work_order([complaint])
            with rpc_as(op.user_a):
                self.assertEqual(Complaint.search([]), [complaint])
                self.assertEqual(
                    {t.name for t in Technician.search([])},
                    {'Ravi', 'Meena'})
                Complaint.write([Complaint(complaint.id)],
                    {'description': "Blank on every channel"})
            with rpc_as(op.user_b):
                self.assertEqual(Complaint.search([]), [])
                self.assertEqual(WorkOrder.search([]), [])
                self.assertEqual(
                    [t.name for t in Technician.search([])], ['Suresh'])
                with self.assertRaises(AccessError):
                    Complaint.read([complaint.id], ['description'])
                with self.assertRaises(AccessError):
                    Complaint.write([Complaint(complaint.id)],
                        {'description': "attacked"})
                with self.assertRaises(AccessError):
                    Complaint.resolve([Complaint(complaint.id)])
                with self.assertRaises(AccessError):
                    WorkOrder.complete([WorkOrder(order.id)])
                with self.assertRaises(AccessError):
                    Complaint.create([{
                                'subscriber': connection.subscriber.id,
                                'connection': connection.id,
                                'category': 'billing',
                                'description': "planted",
                                }])
            self.assertEqual(Complaint(complaint.id).state, 'open')

    @with_transaction()
    def test_statistics(self):
        """March: two no-signal complaints, one in time, one late; a
        repeat; an installation in 40 hours; by LCO and as XLSX"""
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        ComplaintStats = pool.get('rsoft.complaint.statistics')
        OrderStats = pool.get('rsoft.work_order.statistics')
        TechnicianStats = pool.get('rsoft.technician.statistics')
        WorkOrder = pool.get('rsoft.work_order')
        Sheet = pool.get('rsoft.complaint.statistics.xlsx', type='report')
        with self.operator() as op:
            connection = self.installed(op)
            first = Complaint.lodge(connection, 'no_signal', "Blank")
            second = Complaint.lodge(connection, 'no_signal', "Blank again")
            order, = Complaint.make_work_order([first])
            WorkOrder.allocate([order])
            self.at(op, MORNING + 2 * H)
            WorkOrder.complete([order])
            self.at(op, MORNING + 10 * H)
            Complaint.resolve([second], 'network_fault')

            context = {
                'company': op.company.id, 'from_date': D(2026, 3, 1),
                'to_date': D(2026, 3, 31)}
            with Transaction().set_context(context):
                row, = ComplaintStats.search([])
                self.assertEqual(
                    (row.month, row.lco, row.category, row.lodged,
                        row.resolved, row.met, row.repeats, row.met_rate,
                        row.goal, row.average_hours),
                    (D(2026, 3, 1), op.lco_a, 'no_signal', 2, 2, 1, 1,
                        Decimal('50.00'), Decimal('90.00'),
                        Decimal('6.00')))
                row, = OrderStats.search([])
                self.assertEqual(
                    (row.kind, row.done, row.met, row.met_rate),
                    ('repair', 1, 1, Decimal('100.00')))
                row, = TechnicianStats.search([])
                self.assertEqual(
                    (row.technician, row.lco, row.done, row.days,
                        row.per_day),
                    (op.ravi, op.lco_a, 1, 1, Decimal('1.00')))
                _, content, _, _ = Sheet.execute([], {
                        'model': 'rsoft.complaint.statistics'})
            sheet = load_workbook(io.BytesIO(content)).active
            self.assertEqual(sheet.cell(4, 4).value, 2)
            self.assertEqual(sheet.cell(4, 7).value, 50)
            with Transaction().set_context(context, lco=op.lco_b.id):
                self.assertEqual(ComplaintStats.search([]), [])
            with rpc_as(op.user_b), Transaction().set_context(context):
                self.assertEqual(ComplaintStats.search([]), [])


del ModuleTestCase
