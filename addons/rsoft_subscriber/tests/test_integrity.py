"""What the system computes on accounts, connections, subscriptions and
their history cannot be written from outside; an LCO login reaches only
the parties of its own accounts (issue 15)"""
import datetime
from contextlib import contextmanager

from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.rsoft_catalogue.tests.tools import create_clerk, rpc_as
from trytond.modules.rsoft_partner.tests.tools import create_lco_user
from trytond.modules.rsoft_subscriber.exceptions import (
    ConnectionAccessError,
    ConnectionCodeError,
    DuplicateWarning,
    KYCError,
    PartyAccessError,
    SubscriptionAccessError,
)
from trytond.modules.rsoft_subscriber.kyc import aadhaar_values
from trytond.modules.rsoft_toolkit.exceptions import SystemFieldError
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import create_operator, create_subscriber

D = datetime.date
AADHAAR = '2345 6789 0124'


# The generic module checks run once, in test_module.py
class IntegrityTestCase(test_tryton._DBTestCase):
    "System fields, append-only history and confined parties over RPC"
    module = 'rsoft_subscriber'

    @contextmanager
    def operator(self):
        company = create_company()
        with set_company(company):
            yield create_operator(company, fta=False)

    def active(self, op, lco, **values):
        "Return an active subscriber of lco with the base pack"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        Line = pool.get('rsoft.subscription.line')
        subscriber = create_subscriber(lco, **values)
        connection, = subscriber.connections
        Line.create([{'connection': connection.id, 'product': op.base.id,
                    'start_date': D(2026, 3, 1)}])
        Subscriber.activate([subscriber], D(2026, 3, 1))
        return Subscriber(subscriber.id)

    def users(self, op):
        "Return an LCO login of LCO A and a back-office clerk"
        clerk = create_clerk('clerk', op.company)
        return [create_lco_user('lco-a', op.lco_a), clerk]


    def assert_refused(self, Model, record, values):
        "Each value written over RPC is refused and changes nothing"
        names = list(values)
        before = Model.read([record.id], names)
        for name, value in values.items():
            with self.subTest(model=Model.__name__, field=name):
                with self.assertRaises(SystemFieldError) as cm:
                    Model.write([Model(record.id)], {name: value})
                self.assertEqual(cm.exception.message, gettext(
                        'rsoft_toolkit.msg_system_field',
                        field=Model._fields[name].string,
                        model=Model.__names__()['model']))
        with Transaction().set_user(0):
            self.assertEqual(Model.read([record.id], names), before)

    @with_transaction()
    def test_subscriber_system_fields(self):
        "The ID, state, dates and Aadhaar hash of an account are the system's"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        with self.operator() as op:
            subscriber = self.active(op, op.lco_a)
            lco_user, clerk = self.users(op)
            for user in [lco_user, clerk]:
                with self.subTest(user=user.login), rpc_as(user):
                    self.assert_refused(Subscriber, subscriber, {
                            'customer_id': 'C0000001',
                            'state': 'terminated',
                            'activation_date': D(2020, 1, 1),
                            'termination_date': D(2020, 1, 1),
                            'suspension_reason': 'piracy',
                            'suspension_note': "written",
                            'aadhaar_hash': 'f' * 64,
                            'active': False,
                            })
                    for values in [{'customer_id': 'C0000001'},
                            {'state': 'active'}]:
                        with self.assertRaises(SystemFieldError):
                            create_subscriber(op.lco_a, **values)
                    Subscriber.write([Subscriber(subscriber.id)],
                        {'contract_number': 'CAF-1'})
            with rpc_as(lco_user):
                Subscriber.terminate([Subscriber(subscriber.id)])
            subscriber = Subscriber(subscriber.id)
            self.assertEqual(subscriber.state, 'terminated')
            self.assertEqual(subscriber.contract_number, 'CAF-1')

    @with_transaction()
    def test_connection_system_fields(self):
        "The code, number, state and dates of a connection are the system's"
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        with self.operator() as op:
            subscriber = self.active(op, op.lco_a)
            connection, = subscriber.connections
            lco_user, clerk = self.users(op)
            for user in [lco_user, clerk]:
                with self.subTest(user=user.login), rpc_as(user):
                    self.assert_refused(Connection, connection, {
                            'code': 'X-1',
                            'number': 7,
                            'state': 'terminated',
                            'activation_date': D(2020, 1, 1),
                            'termination_date': D(2020, 1, 1),
                            'suspension_reason': 'piracy',
                            'suspension_note': "written",
                            })
                    with self.assertRaises(SystemFieldError):
                        Connection.create([{
                                    'subscriber': subscriber.id,
                                    'code': 'X-1'}])
            with rpc_as(lco_user):
                second, = Connection.create([{
                            'subscriber': subscriber.id,
                            'kind': 'second_tv'}])
                Connection.activate([second])
            second = Connection(second.id)
            self.assertEqual(second.number, 2)
            self.assertEqual(second.code, f'{subscriber.customer_id}-2')
            self.assertEqual(second.state, 'active')

    @with_transaction()
    def test_line_changes_through_actions(self):
        "A started subscription line changes only through its actions"
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        with self.operator() as op:
            subscriber = self.active(op, op.lco_a)
            connection, = subscriber.connections
            line, = [li for li in connection.lines if not li.ncf]
            lco_user, clerk = self.users(op)
            for user in [lco_user, clerk]:
                with self.subTest(user=user.login), rpc_as(user):
                    self.assert_refused(Line, line, {
                            'state': 'ended',
                            'end_date': D(2026, 3, 5),
                            'price_version': None,
                            'ncf': True,
                            })
                    before = Line.read([line.id], ['start_date', 'term'])
                    for name, value in [
                            ('start_date', D(2026, 6, 1)),
                            ('term', 3),
                            ('product', op.gold.id),
                            ('connection', connection.id)]:
                        with self.assertRaises(SubscriptionAccessError) as cm:
                            Line.write([Line(line.id)], {name: value})
                        self.assertEqual(cm.exception.message, gettext(
                                'rsoft_subscriber.msg_line_modify_started',
                                line=line.rec_name,
                                state=line.state_string))
                    self.assertEqual(
                        Line.read([line.id], ['start_date', 'term']), before)
                    with self.assertRaises(SystemFieldError):
                        Line.create([{'connection': connection.id,
                                    'product': op.sports.id,
                                    'state': 'active'}])
            with rpc_as(lco_user):
                draft, = Line.create([{'connection': connection.id,
                            'product': op.sports.id}])
                Line.write([draft], {'term': 3})
                Line.activate([draft])
                Line.end([Line(line.id)])
            self.assertEqual(Line(draft.id).state, 'active')
            self.assertEqual(Line(draft.id).term, 3)
            self.assertEqual(Line(line.id).state, 'ended')

    @with_transaction()
    def test_history_append_only(self):
        "Nobody creates, changes or deletes history over RPC"
        pool = Pool()
        Event = pool.get('rsoft.subscriber.event')
        with self.operator() as op:
            subscriber = self.active(op, op.lco_a)
            event = subscriber.events[0]
            action = event.action
            count = Event.search_count([])
            for user in self.users(op):
                with self.subTest(user=user.login), rpc_as(user):
                    with self.assertRaises(AccessError):
                        Event.create([{'subscriber': subscriber.id,
                                    'kind': 'state', 'action': 'forged',
                                    'date': D(2026, 3, 1)}])
                    with self.assertRaises(AccessError):
                        Event.write([Event(event.id)], {'action': 'forged'})
                    with self.assertRaises(AccessError):
                        Event.delete([Event(event.id)])
            self.assertEqual(Event.search_count([]), count)
            self.assertEqual(Event(event.id).action, action)

    @with_transaction()
    def test_connection_for_another_lco(self):
        "A connection to another LCO's account is refused as such"
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        with self.operator() as op:
            theirs = create_subscriber(op.lco_b)
            lco_user, _ = self.users(op)
            count = Connection.search_count([])
            with rpc_as(lco_user):
                with self.assertRaises(ConnectionAccessError) as cm:
                    Connection.create([{'subscriber': theirs.id}])
            self.assertEqual(cm.exception.message, gettext(
                    'rsoft_subscriber.msg_connection_subscriber_forbidden',
                    subscriber=theirs.id))
            self.assertEqual(Connection.search_count([]), count)

    @with_transaction()
    def test_connection_code_taken(self):
        "A connection code already used is named in the refusal"
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        with self.operator() as op:
            mine = create_subscriber(op.lco_a)
            other = create_subscriber(op.lco_a)
            code = f'{mine.customer_id}-2'
            Connection.write(list(other.connections), {'code': code})
            with self.assertRaises(ConnectionCodeError) as cm:
                Connection.create([{'subscriber': mine.id}])
            self.assertEqual(cm.exception.message, gettext(
                    'rsoft_subscriber.msg_connection_code_taken',
                    code=code, subscriber=mine.rec_name))

    @with_transaction()
    def test_aadhaar_masked(self):
        "Only the mask and a keyed hash of an Aadhaar number are stored"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        User = pool.get('res.user')
        cursor = Transaction().connection.cursor()
        table = Subscriber.__table__()
        with self.operator() as op:
            first = create_subscriber(op.lco_a,
                id_proof_type='aadhaar', id_proof_number=AADHAAR)
            self.assertEqual(first.id_proof_number, 'XXXX XXXX 0124')
            self.assertRegex(first.aadhaar_hash, r'^[0-9a-f]{64}$')
            cursor.execute(*table.select())
            stored = ' '.join(str(v) for row in cursor for v in row)
            self.assertIn('XXXX XXXX 0124', stored)
            self.assertNotIn('234567890124', stored)
            self.assertNotIn(AADHAAR, stored)

            admin, = User.search([('login', '=', 'admin')])
            with Transaction().set_user(admin.id):
                with self.assertRaises(DuplicateWarning) as cm:
                    create_subscriber(op.lco_b, id_proof_type='aadhaar',
                        id_proof_number='234567890124')
            self.assertIn('XXXX XXXX 0124', cm.exception.message)

            count = Subscriber.search_count([])
            with self.assertRaises(KYCError) as cm:
                create_subscriber(op.lco_a, id_proof_type='aadhaar',
                    id_proof_number='2345 6789 0123')
            self.assertIn('0123', cm.exception.message)
            self.assertNotIn('2345', cm.exception.message)
            for number in ['1345 6789 0124', '2345 6789 012']:
                with self.assertRaises(KYCError):
                    Subscriber.write([first], {'id_proof_number': number})
            self.assertEqual(Subscriber.search_count([]), count)
            self.assertEqual(
                Subscriber(first.id).id_proof_number, 'XXXX XXXX 0124')

    @with_transaction()
    def test_aadhaar_migration(self):
        "Aadhaar numbers stored in clear are hashed then masked"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        cursor = Transaction().connection.cursor()
        table = Subscriber.__table__()
        with self.operator() as op:
            subscriber = create_subscriber(op.lco_a)
            cursor.execute(*table.update(
                    [table.id_proof_type, table.id_proof_number],
                    ['aadhaar', '234567890124'],
                    where=table.id == subscriber.id))
            Subscriber._migrate_aadhaar()
            cursor.execute(*table.select(
                    table.id_proof_number, table.aadhaar_hash,
                    where=table.id == subscriber.id))
            self.assertEqual(cursor.fetchone(), tuple(
                    aadhaar_values('234567890124').values()))

    @with_transaction()
    def test_party_confined(self):
        "An LCO login reaches only the parties of its accounts"
        pool = Pool()
        Party = pool.get('party.party')
        Address = pool.get('party.address')
        Subscriber = pool.get('rsoft.subscriber')
        with self.operator() as op:
            mine = create_subscriber(op.lco_a, name="Mine")
            theirs = create_subscriber(op.lco_b, name="Theirs")
            Subscriber.write([theirs], {'active': False})
            company_party = op.company.party
            lco_user, _ = self.users(op)
            with rpc_as(lco_user):
                parties = Party.search([])
                self.assertIn(mine.party, parties)
                self.assertIn(company_party, parties)
                self.assertNotIn(theirs.party, parties)
                self.assertFalse(
                    Address.search([('party', '=', theirs.party.id)]))
                for Model, record in [
                        (Party, theirs.party),
                        (Address, theirs.party.addresses[0])]:
                    with self.assertRaises(AccessError):
                        Model.read([record.id], ['id'])
                Party.write([Party(mine.party.id)], {'name': "Asha P."})
                with self.assertRaises(AccessError):
                    Party.write([Party(company_party.id)], {'name': "X"})
                with self.assertRaises(AccessError):
                    Address.write(
                        [Address(theirs.party.addresses[0].id)],
                        {'street': "X"})
                with self.assertRaises(PartyAccessError):
                    create_subscriber(op.lco_a, party=theirs.party.id)
            self.assertEqual(Party(mine.party.id).name, "Asha P.")
            self.assertEqual(Party(company_party.id).name,
                company_party.name)

