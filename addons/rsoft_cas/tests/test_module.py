import datetime
import json
import os
import tempfile
from contextlib import contextmanager
from unittest.mock import patch
from zoneinfo import ZoneInfo

from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import (
    CompanyTestMixin,
    create_company,
    set_company,
)
from trytond.modules.rsoft_cas.device import _cover
from trytond.modules.rsoft_cas.exceptions import CampaignError, CasError
from trytond.modules.rsoft_cas.log import verify_rows
from trytond.modules.rsoft_inventory.tests.tools import (
    create_device_models,
    create_rental_offers,
    receive,
    vendor_rows,
)
from trytond.modules.rsoft_subscriber.tests.tools import (
    create_operator,
    create_subscriber,
)
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .batch_vendor import FakeVendor
from .cas_http_server import CasHttpServer
from .tools import create_cas

TODAY = datetime.date(2026, 3, 2)
D = datetime.date
DT = datetime.datetime
# An evening match, 19:30 to 23:00 in India
MATCH = (DT(2026, 3, 8, 14, 0), DT(2026, 3, 8, 17, 30))
TOKEN = 's3cret-token-XYZ'
# Where the fixture's CAS is, until a test serves it
CAS_URL = 'http://cas.invalid'


class CasTestCase(FixtureMixin, CompanyTestMixin, ModuleTestCase):
    "Test the CAS outbox, its dispatch and its log"
    module = 'rsoft_cas'
    extras = []

    @classmethod
    def set_up_fixture(cls):
        """Return an operator whose devices belong to a CAS to be served
        by a local HTTP CAS"""
        pool = Pool()
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company), patch.object(
                pool.get('ir.date'), 'today', return_value=TODAY):
            op = create_operator(company, fta=False)
            op.hd, op.cardless, op.card = create_device_models()
            op.vendor, = Party.create([{'name': "Gospell Smart Video"}])
            op.rental, op.lease = create_rental_offers()
            op.system = create_cas(op, 'http_json', {
                    'url': CAS_URL, 'auth': 'bearer', 'read_timeout': 1},
                devices=[op.hd, op.cardless, op.card], osd_length=40,
                credentials=f'token = {TOKEN}')
            receive(op.mso, op.vendor, op.hd, op.card, vendor_rows(4))
            return op

    @contextmanager
    def operator(self):
        "Give a test the operator, its CAS served by a local HTTP CAS"
        pool = Pool()
        System = pool.get('rsoft.cas.system')
        with CasHttpServer(TOKEN) as cas, self.fixture() as op, \
                patch.object(pool.get('ir.date'), 'today',
                    return_value=TODAY):
            op.cas = cas
            System.write([op.system], {
                    'settings': op.system.settings.replace(CAS_URL, cas.url),
                    })
            yield op

    def devices(self, *numbers):
        Lot = Pool().get('stock.lot')
        found = {d.number: d for d in Lot.search(
                [('number', 'in', numbers)])}
        return [found[n] for n in numbers]

    def installed(self, op, serial='GX00000001', offers=('base',)):
        "Return an active connection with box serial and its card"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Subscriber = pool.get('rsoft.subscriber')
        Line = pool.get('rsoft.subscription.line')
        Connection = pool.get('rsoft.connection')
        Lot.transfer(self.devices(serial), op.lco_a)
        subscriber = create_subscriber(op.lco_a)
        connection, = subscriber.connections
        Line.create([{'connection': connection.id,
                    'product': getattr(op, o).id, 'start_date': TODAY}
                for o in offers])
        Subscriber.activate([subscriber], TODAY)
        connection = Connection(connection.id)
        stb, = self.devices(serial)
        connection.install(stb)
        return Connection(connection.id)

    def sync(self):
        "What the commit does"
        return Pool().get('rsoft.cas.device').sync()

    def dispatch(self, op, passes=20):
        System = Pool().get('rsoft.cas.system')
        System.dispatch([System(op.system.id)], passes)

    def commands(self, address=None, states=None):
        Command = Pool().get('rsoft.cas.command')
        domain = []
        if address:
            domain.append(('address', '=', address))
        if states:
            domain.append(('state', 'in', states))
        return Command.search(domain, order=[('id', 'ASC')])

    def actions(self, address):
        return [(c.action, c.state) for c in self.commands(address)]

    @with_transaction()
    def test_activation_entitles_the_card(self):
        "An installed connection gets its card paired and entitled"
        with self.operator() as op:
            self.installed(op, offers=('base', 'sports'))
            self.sync()
            card = '700000000001'
            self.assertEqual(self.actions(card), [
                    ('pair', 'queued'), ('entitle', 'queued')])
            entitle = self.commands(card)[-1]
            self.assertEqual(json.loads(entitle.payload), {
                    'stb': '00000001',
                    'products': [
                        {'id': 'P-BASE', 'start': '2026-03-02', 'end': None},
                        {'id': 'P-NCF', 'start': '2026-03-02', 'end': None},
                        {'id': 'P-SPORTS', 'start': '2026-03-02',
                            'end': None},
                        ]})
            self.assertEqual(entitle.key, 'NAGRA:700000000001:2')
            self.assertEqual(entitle.priority, 'express')

            self.dispatch(op)
            self.assertEqual(self.actions(card), [
                    ('pair', 'acked'), ('entitle', 'acked')])
            state = op.cas.device_state(card)
            self.assertEqual([p.id for p in state.products],
                ['P-BASE', 'P-NCF', 'P-SPORTS'])
            self.assertEqual(state.paired_with, '00000001')

    @with_transaction()
    def test_lifecycle_commands(self):
        "Suspension, resumption and termination reach the card in order"
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        with self.operator() as op:
            connection = self.installed(op)
            self.sync()
            self.dispatch(op)
            Connection.do_suspend([connection], 'non_payment')
            self.sync()
            self.dispatch(op)
            Connection.resume([Connection(connection.id)])
            self.sync()
            Connection.terminate([Connection(connection.id)])
            self.sync()
            card = '700000000001'
            self.assertEqual(self.actions(card), [
                    ('pair', 'acked'), ('entitle', 'acked'),
                    ('suspend', 'acked'), ('resume', 'queued'),
                    ('revoke', 'queued')])
            self.assertEqual([c.sequence for c in self.commands(card)],
                [1, 2, 3, 4, 5])
            self.dispatch(op)
            self.assertEqual(
                [c['action'] for c in op.cas.applied], [
                    'pair', 'entitle', 'suspend', 'resume', 'revoke'])
            state = op.cas.device_state(card)
            self.assertEqual((state.products, state.suspended), ([], False))

    @with_transaction()
    def test_newer_state_supersedes(self):
        "An offer added before the first ENTITLE left replaces it"
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        with self.operator() as op:
            connection = self.installed(op)
            self.sync()
            line, = Line.create([{'connection': connection.id,
                        'product': op.sports.id, 'start_date': TODAY}])
            Line.activate([line])
            self.sync()
            card = '700000000001'
            self.assertEqual(self.actions(card), [
                    ('pair', 'queued'), ('entitle', 'superseded'),
                    ('entitle', 'queued')])
            self.dispatch(op)
            self.assertEqual([c['action'] for c in op.cas.applied],
                ['pair', 'entitle'])
            self.assertIn('P-SPORTS',
                [p.id for p in op.cas.device_state(card).products])

    @with_transaction()
    def test_swap_pairs_new_box(self):
        "A swapped box: UNPAIR the old, PAIR the new, ENTITLE for it"
        pool = Pool()
        Lot = pool.get('stock.lot')
        with self.operator() as op:
            connection = self.installed(op)
            self.sync()
            self.dispatch(op)
            Lot.transfer(self.devices('GX00000002'), op.lco_a)
            old, spare = self.devices('GX00000001', 'GX00000002')
            Lot.unpair([spare])
            self.sync()
            connection.swap(old, spare, "No signal")
            self.sync()
            card = '700000000001'
            new = self.commands(card)[2:]
            self.assertEqual([(c.action, json.loads(c.payload).get('stb'))
                    for c in new], [
                    ('unpair', '00000001'), ('pair', '00000002'),
                    ('entitle', '00000002')])
            self.dispatch(op)
            self.assertEqual(op.cas.device_state(card).paired_with,
                '00000002')

    @with_transaction()
    def test_blacklist_card(self):
        "A stolen card is blacklisted and loses its products"
        pool = Pool()
        Lot = pool.get('stock.lot')
        with self.operator() as op:
            self.installed(op)
            self.sync()
            card, = self.devices('700000000001')
            Lot.do_blacklist([card], 'stolen', "FIR 112/2026")
            self.sync()
            self.assertEqual([a for a, _ in self.actions(card.number)][2:],
                ['blacklist', 'unpair', 'revoke'])
            self.dispatch(op)
            state = op.cas.device_state(card.number)
            self.assertEqual((state.blacklisted, state.products), (True, []))

    @with_transaction()
    def test_bad_mappings(self):
        """An unmapped offer is not sent; a product the CAS does not know
        is rejected with the CAS's error"""
        pool = Pool()
        Mapping = pool.get('rsoft.cas.mapping')
        with self.operator() as op:
            Mapping.delete(Mapping.search([('offer', '=', op.sports.id)]))
            self.installed(op, offers=('base', 'sports'))
            self.sync()
            entitle = self.commands('700000000001')[-1]
            self.assertEqual(entitle.state, 'failed')
            self.assertIn('Sports Add-on', entitle.error)
            self.assertIn('has no product ID', entitle.error)

            op.cas.unknown_products.add('P-GOLD')
            self.installed(op, 'GX00000002', offers=('gold',))
            self.sync()
            self.dispatch(op)
            entitle = self.commands('700000000002')[-1]
            self.assertEqual(entitle.state, 'rejected')
            self.assertIn('E104', entitle.error)
            self.assertIn('P-GOLD', entitle.error)
            failed = self.commands(states=['failed', 'rejected'])
            self.assertEqual(len(failed), 2)

    @with_transaction()
    def test_cas_down_then_back(self):
        """The CAS is down: commands wait with backoff, the circuit opens;
        back up, everything is applied in order, none lost"""
        pool = Pool()
        System = pool.get('rsoft.cas.system')
        Command = pool.get('rsoft.cas.command')
        with self.operator() as op:
            System.write([op.system], {
                    'failure_threshold': 2, 'batch_size': 1})
            self.installed(op)
            self.installed(op, 'GX00000002')
            self.sync()
            op.cas.down()
            self.dispatch(op, passes=5)
            system = System(op.system.id)
            self.assertEqual(system.circuit, 'open')
            queued = self.commands(states=['queued'])
            self.assertEqual(len(queued), 4)
            self.assertTrue(all(c.attempts <= 1 for c in queued))
            self.assertTrue(any(c.next_attempt for c in queued))
            self.assertIn('refused', queued[0].error)

            op.cas.up()
            # The cool-down and the backoff are over
            Command.write(queued, {'next_attempt': None})
            System.close_circuit([system])
            self.dispatch(op)
            self.assertEqual(self.commands(states=['acked']), self.commands())
            per_card = {}
            for command in op.cas.applied:
                per_card.setdefault(command['device'], []).append(
                    command['sequence'])
            self.assertEqual(per_card, {
                    '700000000001': [1, 2], '700000000002': [1, 2]})

    @with_transaction()
    def test_express_never_overtakes_older_bulk(self):
        """An express command waits for the older bulk ones of its device:
        the CAS refuses a sequence older than one it applied"""
        pool = Pool()
        System = pool.get('rsoft.cas.system')
        CasDevice = pool.get('rsoft.cas.device')
        Connection = pool.get('rsoft.connection')
        with self.operator() as op:
            connection = self.installed(op)
            self.sync()
            self.dispatch(op)
            System.write([op.system], {'batch_size': 1})
            CasDevice.command([d.device for d in CasDevice.search([])],
                priority='bulk', full=True)
            Connection.do_suspend([Connection(connection.id)], 'piracy')
            self.sync()
            queued = self.commands(states=['queued'])
            self.assertEqual([(c.action, c.priority) for c in queued], [
                    ('pair', 'bulk'), ('entitle', 'bulk'),
                    ('suspend', 'express')])
            self.dispatch(op, passes=2)
            self.assertEqual(len(op.cas.applied), 2 + len(queued))
            sequences = [c['sequence'] for c in op.cas.applied]
            self.assertEqual(sequences, sorted(sequences))
            self.assertEqual({c.state for c in queued}, {'acked'})

    @with_transaction()
    def test_timeout_is_unknown_then_resolved(self):
        """A reply that does not come in time leaves the command unknown;
        asking the CAS settles it, sent twice it has one effect"""
        with self.operator() as op:
            self.installed(op)
            self.sync()
            op.cas.slow(1.5)
            self.dispatch(op, passes=1)
            self.assertEqual({c.state for c in self.commands()}, {'unknown'})
            op.cas.slow(0)
            self.dispatch(op)
            self.assertEqual({c.state for c in self.commands()}, {'acked'})
            self.assertEqual(set(op.cas.effects.values()), {1})

    @with_transaction()
    def test_sent_twice_one_effect(self):
        "A command sent again is applied once"
        pool = Pool()
        Command = pool.get('rsoft.cas.command')
        with self.operator() as op:
            self.installed(op)
            self.sync()
            self.dispatch(op)
            entitle = self.commands('700000000001')[-1]
            Command.write([entitle], {'state': 'unknown'})
            self.dispatch(op)
            self.assertEqual(Command(entitle.id).state, 'acked')
            self.assertEqual(op.cas.effects[entitle.key], 1)

    @with_transaction()
    def test_retry_and_cancel(self):
        "Operators retry or cancel, never an older state over a newer one"
        pool = Pool()
        Command = pool.get('rsoft.cas.command')
        Connection = pool.get('rsoft.connection')
        with self.operator() as op:
            connection = self.installed(op)
            self.sync()
            op.cas.reject_devices.add('700000000001')
            self.dispatch(op)
            pair, entitle = self.commands('700000000001')
            self.assertEqual(entitle.state, 'rejected')
            op.cas.reject_devices.clear()
            Command.retry([entitle])
            self.dispatch(op)
            self.assertEqual(Command(entitle.id).state, 'acked')

            Connection.do_suspend([connection], 'non_payment')
            self.sync()
            suspend = self.commands('700000000001')[-1]
            Command.cancel([suspend])
            self.assertEqual(suspend.state, 'cancelled')
            with self.assertRaisesRegex(CasError, 'cannot be cancelled'):
                Command.cancel([suspend])
            Connection.resume([Connection(connection.id)])
            self.sync()
            with self.assertRaisesRegex(CasError, 'replaced it'):
                Command.retry([suspend])

    @with_transaction()
    def test_osd_and_fingerprint(self):
        """An OSD longer than the CAS shows is refused; to an LCO it goes
        to each of its devices, to all in one broadcast"""
        pool = Pool()
        Campaign = pool.get('rsoft.cas.message')
        with self.operator() as op:
            self.installed(op)
            self.installed(op, 'GX00000002')
            self.sync()
            campaign, = Campaign.create([{
                        'system': op.system.id, 'target': 'lco',
                        'lco': op.lco_a.id,
                        'text': "Service window tonight 01:00-03:00, "
                        "channels may freeze.",
                        }])
            with self.assertRaisesRegex(
                    CampaignError, r'is 56 characters long.*at most 40'):
                Campaign.send([campaign])
            self.assertEqual(campaign.state, 'draft')
            self.assertEqual(self.commands(states=['queued'])[-1].action,
                'entitle')
            Campaign.write([campaign], {'text': "Service window tonight"})
            Campaign.send([campaign])
            self.assertEqual(
                sorted(c.address for c in campaign.commands),
                ['700000000001', '700000000002'])
            self.assertEqual({c.priority for c in campaign.commands},
                {'bulk'})
            print_all, = Campaign.create([{
                        'system': op.system.id, 'target': 'all',
                        'kind': 'fingerprint', 'mode': 'covert'}])
            Campaign.send([print_all])
            command, = print_all.commands
            self.assertEqual((command.target, command.action),
                ('all', 'fingerprint'))
            self.dispatch(op)
            self.assertEqual(
                len(op.cas.history('700000000001')), 1)

    @with_transaction()
    def test_log_chain(self):
        """Every command, request and reply is chained; the check names
        the first entry changed; nobody edits the log"""
        pool = Pool()
        Log = pool.get('rsoft.cas.log')
        with self.operator() as op:
            self.installed(op)
            self.sync()
            self.dispatch(op)
            entries = Log.search([], order=[('id', 'ASC')])
            self.assertEqual([e.kind for e in entries[:2]],
                ['queued', 'queued'])
            self.assertEqual(
                [e.kind for e in entries if e.command == entries[0].command],
                ['queued', 'request', 'reply'])
            checked, bad = Log.verify()
            self.assertEqual((checked, bad), (len(entries), None))
            with self.assertRaises(AccessError):
                Log.write([entries[1]], {'message': 'edited'})
            with self.assertRaises(AccessError):
                Log.delete([entries[1]])

            table = Log.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update([table.message], ['entitle P-ALL'],
                    where=table.id == entries[2].id))
            checked, bad = verify_rows(cursor, Log._table)
            self.assertEqual(checked, 2)
            self.assertEqual((bad['id'], bad['reason']),
                (entries[2].id, 'its content does not match its hash'))
            cursor.execute(*table.delete(where=table.id == entries[2].id))
            checked, bad = Log.verify()
            self.assertEqual(bad['position'], entries[3].position)
            self.assertIn('missing', bad['reason'])

    @with_transaction()
    def test_reconciliation(self):
        """Drift is re-sent; drift above the threshold stops the run and
        raises an alert"""
        pool = Pool()
        Reconciliation = pool.get('rsoft.cas.reconciliation')
        Log = pool.get('rsoft.cas.log')
        with self.operator() as op:
            self.installed(op)
            self.installed(op, 'GX00000002')
            self.sync()
            self.dispatch(op)
            op.cas.seed('700000000001', products=[])
            op.cas.seed('999999999999', products=[
                    {'id': 'P-GOLD', 'start': '2026-01-01', 'end': None}])
            run, = Reconciliation.create([{'system': op.system.id}])
            Reconciliation.run([run])
            self.assertEqual(run.state, 'stopped')
            self.assertEqual((run.checked, run.drifted), (3, 2))
            self.assertIn('ALERT', run.note)
            self.assertEqual(Log.search([], limit=1)[0].kind, 'alert')
            self.assertEqual(self.commands(states=['queued']), [])

            op.system.drift_threshold = 80
            op.system.save()
            run, = Reconciliation.create([{'system': op.system.id}])
            Reconciliation.run([run])
            self.assertEqual(run.state, 'done')
            self.assertEqual(
                {d.field for d in run.drifts},
                {'products', 'pairing', 'unknown'})
            self.dispatch(op)
            self.assertEqual(
                [p.id for p in op.cas.device_state(
                        '700000000001').products], ['P-BASE', 'P-NCF'])
            self.assertEqual(
                op.cas.device_state('700000000001').paired_with, '00000001')
            self.assertEqual(
                op.cas.device_state('999999999999').products, [])

    @with_transaction()
    def test_credentials_never_shown(self):
        """Over RPC the credentials read masked, their stored field not at
        all; the mask written back changes nothing, new ones are the
        driver's"""
        pool = Pool()
        System = pool.get('rsoft.cas.system')
        Log = pool.get('rsoft.cas.log')
        with self.operator() as op:
            with Transaction().set_context(_check_access=True):
                system, = System.read([op.system.id], ['credentials'])
                self.assertEqual(system['credentials'], '••••••-XYZ')
                for attack in [
                        lambda: System.read(
                            [op.system.id], ['credential_store']),
                        lambda: System.search(
                            [('credential_store', 'like', '%s3cret%')]),
                        lambda: System.write(
                            [op.system], {'credential_store': 'token = x'}),
                        ]:
                    with self.assertRaises(AccessError):
                        attack()
                System.write([op.system], {
                        'credentials': system['credentials']})
            self.assertEqual(
                System(op.system.id).get_driver().credentials,
                {'token': TOKEN})

            with Transaction().set_context(_check_access=True):
                System.write([op.system], {'credentials': 'token = r0t'})
            self.assertEqual(
                System(op.system.id).get_driver().credentials,
                {'token': 'r0t'})
            self.assertNotIn(TOKEN, ' '.join(
                    e.message or '' for e in Log.search([])))

    @with_transaction()
    def test_prepaid_entitlement_ends_with_wallet(self):
        "A prepaid card is entitled up to the day its wallet paid for"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        with self.operator() as op:
            connection = self.installed(op)
            subscriber = connection.subscriber
            Subscriber.write([subscriber], {'billing_mode': 'prepaid'})
            Subscriber.write([Subscriber(subscriber.id)], {
                    'billed_until': datetime.date(2026, 3, 31)})
            self.sync()
            entitle = self.commands('700000000001')[-1]
            self.assertEqual(
                {p['end'] for p in json.loads(entitle.payload)['products']},
                {'2026-03-31'})
            CasDevice = pool.get('rsoft.cas.device')
            device, = CasDevice.search([('address', '=', '700000000001')])
            self.assertEqual(device.expires, datetime.date(2026, 3, 31))
            with patch.object(pool.get('ir.date'), 'today',
                    return_value=datetime.date(2026, 4, 1)):
                CasDevice.expire()
            self.assertEqual(self.commands('700000000001')[-1].action,
                'revoke')

    @contextmanager
    def windows(self, windows, now):
        """Give the lines of windows (line id: (start, end)) a timed
        entitlement, with the CAS clock at now; yield its mock"""
        CasDevice = Pool().get('rsoft.cas.device')
        with patch.object(CasDevice, '_line_window',
                    side_effect=lambda line: windows.get(line.id)), \
                patch.object(CasDevice, 'now', return_value=now) as clock:
            yield clock

    @with_transaction()
    def test_timed_entitlement(self):
        """A line with a window is entitled from its start to its end, in
        UTC; at its end the SMS commands the card without it"""
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Company = pool.get('company.company')
        card = '700000000001'
        with self.operator() as op:
            Company.write([op.company], {'timezone': 'Asia/Kolkata'})
            connection = self.installed(op, offers=('base', 'sports'))
            sports, = [line for line in connection.lines
                if line.product == op.sports]
            with self.windows({sports.id: MATCH},
                    DT(2026, 3, 2, 4, 30)) as clock:
                self.sync()
                entitle = self.commands(card)[-1]
                self.assertEqual(json.loads(entitle.payload)['products'], [
                        {'id': 'P-BASE', 'start': '2026-03-02', 'end': None},
                        {'id': 'P-NCF', 'start': '2026-03-02', 'end': None},
                        {'id': 'P-SPORTS', 'start': '2026-03-08T14:00:00Z',
                            'end': '2026-03-08T17:30:00Z'},
                        ])
                device, = CasDevice.search([('address', '=', card)])
                self.assertEqual(device.expires_at, MATCH[1])
                self.assertIsNone(device.expires)
                self.dispatch(op)
                self.assertEqual(
                    op.cas.device_state(card).products[-1].as_dict(),
                    {'id': 'P-SPORTS', 'start': '2026-03-08T14:00:00Z',
                        'end': '2026-03-08T17:30:00Z'})

                # 22:59 in India: nothing ended
                clock.return_value = DT(2026, 3, 8, 17, 29)
                count = len(self.commands(card))
                CasDevice.expire()
                self.assertEqual(len(self.commands(card)), count)

                # 23:00: the head-end stops it by itself, the SMS follows
                clock.return_value = op.cas.now = MATCH[1]
                self.assertEqual(
                    [p.id for p in op.cas.device_state(card).products],
                    ['P-BASE', 'P-NCF'])
                CasDevice.expire()
                entitle = self.commands(card)[-1]
                self.assertEqual(
                    [p['id'] for p in json.loads(entitle.payload)[
                            'products']],
                    ['P-BASE', 'P-NCF'])
                device = CasDevice(device.id)
                self.assertIsNone(device.expires_at)
                self.assertEqual(
                    [p['id'] for p in json.loads(device.products)],
                    ['P-BASE', 'P-NCF'])
                desired = CasDevice.desired(
                    device.device, device.system, D(2026, 3, 8))
                self.assertEqual(desired.products,
                    json.loads(device.products))
                self.dispatch(op)
                self.assertEqual(self.actions(card)[-1], ('entitle', 'acked'))

    @with_transaction()
    def test_timed_entitlement_merged(self):
        """A window of a CAS product that a pack gives for its days too is
        entitled for the days: the widest cover wins"""
        pool = Pool()
        Company = pool.get('company.company')
        Mapping = pool.get('rsoft.cas.mapping')
        card = '700000000001'
        with self.operator() as op:
            Company.write([op.company], {'timezone': 'Asia/Kolkata'})
            mapping, = Mapping.search([
                    ('system', '=', op.system.id),
                    ('offer', '=', op.sports.id),
                    ])
            Mapping.write([mapping], {'cas_product': 'P-BASE'})
            connection = self.installed(op, offers=('base', 'sports'))
            sports, = [line for line in connection.lines
                if line.product == op.sports]
            with self.windows({sports.id: MATCH}, DT(2026, 3, 2, 4, 30)):
                self.sync()
            entitle = self.commands(card)[-1]
            self.assertEqual(json.loads(entitle.payload)['products'], [
                    {'id': 'P-BASE', 'start': '2026-03-02', 'end': None},
                    {'id': 'P-NCF', 'start': '2026-03-02', 'end': None},
                    ])

    def test_cover(self):
        "The widest cover of a product's day ranges and windows"
        india = ZoneInfo('Asia/Kolkata')
        for old, new, cover in [
                # Days only: as ever
                ((D(2026, 3, 1), D(2026, 3, 5)), (D(2026, 3, 10), None),
                    (D(2026, 3, 1), None)),
                # A window within the days
                ((D(2026, 3, 1), D(2026, 3, 31)), MATCH,
                    (D(2026, 3, 1), D(2026, 3, 31))),
                # A window to the very end of the last day: still days
                ((D(2026, 3, 1), D(2026, 3, 8)),
                    (MATCH[0], DT(2026, 3, 8, 18, 30)),
                    (D(2026, 3, 1), D(2026, 3, 8))),
                # Past the last day (to 01:00 in India): times, from
                # midnight of the first day in India
                ((D(2026, 3, 1), D(2026, 3, 8)),
                    (MATCH[0], DT(2026, 3, 8, 19, 30)),
                    (DT(2026, 2, 28, 18, 30), DT(2026, 3, 8, 19, 30))),
                # Before days with no end
                ((D(2026, 3, 9), None), MATCH, (MATCH[0], None)),
                # Two windows
                (MATCH, (DT(2026, 3, 9, 14, 0), DT(2026, 3, 9, 17, 30)),
                    (MATCH[0], DT(2026, 3, 9, 17, 30))),
                ]:
            with self.subTest(old=old, new=new):
                self.assertEqual(_cover(old, new, india), cover)
                self.assertEqual(_cover(new, old, india), cover)
                self.assertEqual(_cover(None, new, india), new)

    @with_transaction()
    def test_batch_file_results_come_later(self):
        "A batch-file CAS answers by file: commands wait as sent till then"
        pool = Pool()
        System = pool.get('rsoft.cas.system')
        with self.operator() as op, tempfile.TemporaryDirectory() as tmp:
            folders = {n: os.path.join(tmp, n)
                for n in ['outbox', 'inbox', 'archive']}
            for folder in folders.values():
                os.mkdir(folder)
            System.write([op.system], {
                    'driver': 'batch_file',
                    'settings': '\n'.join(f'{k} = {v}'
                        for k, v in folders.items()) + '\nprefix = NAGRA',
                    'credentials': 'signing_key = k3y',
                    })
            vendor = FakeVendor(folders['outbox'], folders['inbox'], 'k3y',
                prefix='NAGRA')
            self.installed(op)
            self.sync()
            self.dispatch(op)
            self.assertEqual({c.state for c in self.commands()}, {'sent'})
            vendor.process()
            self.dispatch(op)
            self.assertEqual({c.state for c in self.commands()}, {'acked'})


del ModuleTestCase
