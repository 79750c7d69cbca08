"""No login writes the CAS state of a device, a command, the CAS log or a
reconciliation except through their actions, and an LCO login reads only
the CAS state and commands of its own devices and subscribers (issue 15)"""
from unittest.mock import patch

from trytond.model.exceptions import AccessButtonError, AccessError
from trytond.modules.rsoft_catalogue.tests.tools import create_clerk, rpc_as
from trytond.modules.rsoft_partner.tests.tools import (
    create_lco_user,
)
from trytond.modules.rsoft_subscriber.tests.tools import create_subscriber
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction

from . import test_module

TODAY = test_module.TODAY
SYSTEM = 'is set by the system'
COMMAND_FIELDS = ['state', 'attempts', 'reply', 'key', 'sequence',
    'payload', 'write_date']
# A button refused for its group raises AccessButtonError
REFUSED = (AccessError, AccessButtonError)
DEVICE_FIELDS = ['products', 'paired_with', 'suspended', 'blacklisted',
    'sequence', 'write_date']


class CasIntegrityTestCase(FixtureMixin, _DBTestCase):
    "Test that the CAS records change only through their actions"
    module = 'rsoft_cas'
    extras = []

    # The CAS tests' operator, and its cached database
    set_up_fixture = test_module.CasTestCase.__dict__['set_up_fixture']
    devices = test_module.CasTestCase.devices

    def operator(self):
        pool = Pool()
        return patch.object(
            pool.get('ir.date'), 'today', return_value=TODAY)

    def installed(self, op, serial, lco):
        "Return the connection of lco's subscriber with box serial"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Subscriber = pool.get('rsoft.subscriber')
        Line = pool.get('rsoft.subscription.line')
        Connection = pool.get('rsoft.connection')
        Lot.transfer(self.devices(serial), lco)
        subscriber = create_subscriber(lco)
        connection, = subscriber.connections
        Line.create([{'connection': connection.id,
                    'product': op.base.id, 'start_date': TODAY}])
        Subscriber.activate([subscriber], TODAY)
        connection = Connection(connection.id)
        connection.install(*self.devices(serial))
        Pool().get('rsoft.cas.device').sync()
        return Connection(connection.id)

    def users(self, op):
        "Return an LCO A login and a CAS back-office clerk"
        return [
            create_lco_user('lco-a', op.lco_a),
            create_clerk('cas-clerk', op.mso.company,
                ('rsoft_catalogue', 'group_paytv'),
                ('rsoft_cas', 'group_cas_admin')),
            ]

    @with_transaction()
    def test_desired_state_computed(self):
        "Nobody writes the desired state of a device over RPC"
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Command = pool.get('rsoft.cas.command')
        with self.fixture() as op, self.operator():
            connection = self.installed(op, 'GX00000001', op.lco_a)
            device, = CasDevice.search([('address', '=', '700000000001')])
            before = CasDevice.read([device.id], DEVICE_FIELDS)
            lco, clerk = self.users(op)
            for user in [lco, clerk]:
                with rpc_as(user):
                    self.assertEqual(CasDevice.search(
                            [('id', '=', device.id)]), [device])
                    for values in [{'products': '[]'},
                            {'suspended': True}, {'blacklisted': True},
                            {'sequence': 0}]:
                        with self.subTest(user=user.login, values=values), \
                                self.assertRaises(AccessError):
                            CasDevice.write([device], values)
                    with self.assertRaises(AccessError):
                        CasDevice.create([{
                                    'system': op.system.id,
                                    'device': device.device.id,
                                    'address': '799999999999'}])
                    with self.assertRaises(AccessError):
                        CasDevice.delete([device])
            self.assertEqual(
                CasDevice.read([device.id], DEVICE_FIELDS), before)

            # Its actions still command the CAS
            count = Command.search_count([])
            with rpc_as(lco), self.assertRaises(REFUSED):
                CasDevice.resend([device])
            with rpc_as(clerk):
                CasDevice.resend([device])
                CasDevice.reset_pin([device])
            self.assertGreater(Command.search_count([]), count + 1)
            self.assertEqual(
                CasDevice(device.id).connection, connection)

    @with_transaction()
    def test_commands_by_action_only(self):
        """Commands are neither created, written nor deleted over RPC;
        Retry and Cancel still work"""
        pool = Pool()
        Command = pool.get('rsoft.cas.command')
        with self.fixture() as op, self.operator():
            self.installed(op, 'GX00000001', op.lco_a)
            command, *_ = Command.search([
                    ('address', '=', '700000000001')])
            self.assertEqual(command.state, 'queued')
            before = Command.read([command.id], COMMAND_FIELDS)
            count = Command.search_count([])
            lco, clerk = self.users(op)
            attacks = [
                ({'state': 'acked'}, "State"),
                ({'attempts': 0}, "Attempts"),
                ({'reply': "OK"}, "Reply"),
                ({'key': 'replayed'}, "Key"),
                ({'sequence': 99}, "Sequence"),
                ({'payload': '{}'}, "Payload"),
                ]
            for values, string in attacks:
                with self.subTest(values=values):
                    with rpc_as(clerk), self.assertRaisesRegex(
                            AccessError, f'"{string}".*{SYSTEM}'):
                        Command.write([command], values)
                    with rpc_as(lco), self.assertRaises(AccessError):
                        Command.write([command], values)
            for user in [lco, clerk]:
                with rpc_as(user):
                    with self.assertRaises(AccessError):
                        Command.create([Command.row(
                                    op.system, 'entitle', {}, None,
                                    'express', address='700000000001',
                                    key='forged')])
                    with self.assertRaises(AccessError):
                        Command.delete([command])
            self.assertEqual(
                Command.read([command.id], COMMAND_FIELDS), before)
            self.assertEqual(Command.search_count([]), count)

            with rpc_as(lco), self.assertRaises(REFUSED):
                Command.cancel([command])
            with rpc_as(clerk):
                Command.cancel([command])
                self.assertEqual(Command(command.id).state, 'cancelled')
                Command.retry([command])
            command = Command(command.id)
            self.assertEqual((command.state, command.attempts), ('queued', 0))

    @with_transaction()
    def test_log_append_only(self):
        "Nobody creates, writes or deletes a CAS log entry over RPC"
        pool = Pool()
        Log = pool.get('rsoft.cas.log')
        with self.fixture() as op, self.operator():
            self.installed(op, 'GX00000001', op.lco_a)
            entry = Log.search([], limit=1)[0]
            count = Log.search_count([])
            lco, clerk = self.users(op)
            with rpc_as(lco), self.assertRaises(AccessError):
                Log.read([entry.id], ['message'])
            with rpc_as(clerk):
                self.assertEqual(Log.search([('id', '=', entry.id)]),
                    [entry])
                for attack in [
                        lambda: Log.write([entry], {'message': "x"}),
                        lambda: Log.delete([entry]),
                        lambda: Log.create([{
                                    'system': op.system.id,
                                    'kind': 'alert', 'message': "x"}]),
                        ]:
                    with self.assertRaises(AccessError):
                        attack()
            self.assertEqual(Log.search_count([]), count)
            self.assertEqual(Log(entry.id).hash, entry.hash)

    @with_transaction()
    def test_results_system_set(self):
        """Reconciliation results, campaign states and circuit states are
        the system's; credentials are still written"""
        pool = Pool()
        Reconciliation = pool.get('rsoft.cas.reconciliation')
        Campaign = pool.get('rsoft.cas.message')
        System = pool.get('rsoft.cas.system')
        with self.fixture() as op, self.operator():
            lco, clerk = self.users(op)
            with rpc_as(clerk):
                for values, string in [
                        ({'state': 'done'}, "State"),
                        ({'checked': 10, 'drifted': 0}, "Devices Checked"),
                        ({'note': "All fine"}, "Note"),
                        ]:
                    with self.assertRaisesRegex(
                            AccessError, f'"{string}".*{SYSTEM}'):
                        Reconciliation.create([{
                                    'system': op.system.id, **values}])
                run, = Reconciliation.create([{'system': op.system.id}])
                self.assertEqual(run.state, 'draft')
                with self.assertRaises(AccessError):
                    Reconciliation.write([run], {'note': "All fine"})
                with self.assertRaisesRegex(
                        AccessError, f'"State".*{SYSTEM}'):
                    Campaign.create([{
                                'system': op.system.id, 'text': "Hello",
                                'state': 'sent'}])
                for values, string in [
                        ({'failures': 0}, "Consecutive Failures"),
                        ({'circuit': 'open'}, "Circuit"),
                        ]:
                    with self.assertRaisesRegex(
                            AccessError, f'"{string}".*{SYSTEM}'):
                        System.write([op.system], values)
                System.write([op.system], {'credentials': 'token = new'})
            self.assertEqual(
                System(op.system.id).secret_value('credentials'),
                'token = new')
            self.assertEqual(Reconciliation(run.id).note, None)
            with rpc_as(lco), self.assertRaises(AccessError):
                Reconciliation.search([])

    @with_transaction()
    def test_lco_confinement(self):
        """LCO A reads the CAS state and commands of its own devices and
        subscribers only, and acts on none of LCO B's"""
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Command = pool.get('rsoft.cas.command')
        with self.fixture() as op, self.operator():
            connection_a = self.installed(op, 'GX00000001', op.lco_a)
            connection_b = self.installed(op, 'GX00000002', op.lco_b)
            device_b, = CasDevice.search([('address', '=', '700000000002')])
            commands_b = Command.search(
                [('connection', '=', connection_b.id)])
            self.assertTrue(commands_b)
            lco = create_lco_user('lco-a', op.lco_a)
            with rpc_as(lco):
                self.assertEqual(
                    [d.address for d in CasDevice.search([])],
                    ['700000000001'])
                self.assertEqual(
                    {c.connection for c in Command.search([])},
                    {connection_a})
                with self.assertRaises(AccessError):
                    CasDevice.read([device_b.id], ['products'])
                with self.assertRaises(AccessError):
                    Command.read([commands_b[0].id], ['payload'])
                for button in ['resend', 'reset_pin', 'refresh']:
                    with self.subTest(button=button), \
                            self.assertRaises(REFUSED):
                        getattr(CasDevice, button)([device_b])
                for button in ['retry', 'cancel']:
                    with self.subTest(button=button), \
                            self.assertRaises(REFUSED):
                        getattr(Command, button)(commands_b[:1])
                for name in ['rsoft.cas.system', 'rsoft.cas.log',
                        'rsoft.cas.message', 'rsoft.cas.reconciliation',
                        'rsoft.cas.mapping']:
                    with self.subTest(model=name), \
                            self.assertRaises(AccessError):
                        pool.get(name).search([])
            self.assertEqual(
                Command(commands_b[0].id).state, commands_b[0].state)
