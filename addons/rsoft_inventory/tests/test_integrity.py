"""No login changes a device, its history, an installation or a done
receipt except through their actions, and an LCO login reaches only its
own devices (issue 15)"""
from trytond.model.exceptions import AccessError
from trytond.modules.rsoft_catalogue.tests.tools import create_clerk, rpc_as
from trytond.modules.rsoft_partner.tests.tools import (
    create_lco_user,
)
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction
from trytond.transaction import Transaction

from . import test_module
from .tools import to_csv, vendor_rows

SYSTEM = 'is set by the system'
LOT_FIELDS = ['number', 'product', 'chip_id', 'device_state', 'holder',
    'current_location', 'connection', 'ownership', 'paired_device',
    'blacklist_reason', 'device_events', 'write_date']
EVENT_FIELDS = ['device', 'action', 'date', 'description', 'write_date']
SWAP_FIELDS = ['connection', 'old_device', 'new_device', 'note', 'state',
    'write_date']


class InventoryIntegrityTestCase(FixtureMixin, _DBTestCase):
    "Test that devices change only through their actions"
    module = 'rsoft_inventory'
    extras = []

    # The inventory tests' operator, and its cached database
    set_up_fixture = test_module.InventoryTestCase.__dict__[
        'set_up_fixture']
    operator = test_module.InventoryTestCase.operator
    devices = test_module.InventoryTestCase.devices
    allocate = test_module.InventoryTestCase.allocate
    subscriber = test_module.InventoryTestCase.subscriber
    installed = test_module.InventoryTestCase.installed

    def users(self, op):
        "Return an LCO A login and a back-office clerk"
        return [
            create_lco_user('lco-a', op.lco_a),
            create_clerk('clerk', op.mso.company,
                ('rsoft_catalogue', 'group_paytv'),
                ('rsoft_catalogue', 'group_paytv_admin')),
            ]

    @with_transaction()
    def test_device_fields_refused(self):
        "Nobody writes a device's state, place, pair or identity"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Connection = pool.get('rsoft.connection')
        with self.operator() as op:
            connection = self.installed(op)
            self.allocate(op, ['GX00000002'])
            stb, card = self.devices('GX00000001', '700000000001')
            spare, = self.devices('GX00000002')
            attacks = [
                (stb, {'device_state': 'in_stock'}, "Device State"),
                (stb, {'holder': op.lco_b.id}, "Holder"),
                (stb, {'current_location': op.lco_b.stock_location.id},
                    "Location"),
                (stb, {'connection': None}, "Connection"),
                (stb, {'ownership': 'sold'}, "Ownership"),
                (card, {'paired_device': None}, "Paired With"),
                (card, {'number': '799999999999'}, "Number"),
                (spare, {'chip_id': 'FFFFFFFF'}, "Chip ID"),
                (spare, {'blacklist_reason': 'stolen'}, "Blacklist Reason"),
                (spare, {'device_events': [('create', [{
                                    'action': 'receive',
                                    'date': spare.location_date}])]},
                    "History"),
                ]
            ids = [stb.id, card.id, spare.id]
            before = Lot.read(ids, LOT_FIELDS)
            users = self.users(op)
            for user in users:
                with rpc_as(user):
                    for device, values, string in attacks:
                        with self.subTest(user=user.login, values=values):
                            with self.assertRaisesRegex(
                                    AccessError, f'"{string}".*{SYSTEM}'):
                                Lot.write([device], values)
                    with self.assertRaises(AccessError):
                        Lot.create([{
                                    'number': '799999999999',
                                    'product': op.card.id}])
                    with self.assertRaises(AccessError):
                        Connection.write([connection], {
                                'devices': [('remove', [stb.id])]})
            self.assertEqual(Lot.read(ids, LOT_FIELDS), before)

            # The actions still work for them
            lco, clerk = users
            with rpc_as(lco):
                Lot.unpair([spare])
                Lot.declare_faulty([spare])
            with rpc_as(clerk):
                Lot.send_to_repair([spare])
            spare, = self.devices('GX00000002')
            self.assertEqual(
                (spare.device_state, spare.paired_device), ('repair', None))
            self.assertEqual([e.action for e in spare.device_events][:3],
                ['repair', 'faulty', 'unpair'])

    @with_transaction()
    def test_history_append_only(self):
        "Nobody creates, changes or deletes a device's history over RPC"
        pool = Pool()
        Event = pool.get('rsoft.device.event')
        with self.operator(boxes=1) as op:
            self.allocate(op, ['GX00000001'])
            event, *_ = Event.search([
                    ('device.number', '=', 'GX00000001')])
            before = Event.read([event.id], EVENT_FIELDS)
            count = Event.search_count([])
            for user in self.users(op):
                with rpc_as(user):
                    self.assertEqual(Event.search(
                            [('id', '=', event.id)]), [event])
                    with self.assertRaisesRegex(AccessError, 'append-only'):
                        Event.write([event], {'description': "x"})
                    with self.assertRaises(AccessError):
                        Event.delete([event])
                    with self.assertRaises(AccessError):
                        Event.create([{
                                    'device': event.device.id,
                                    'action': 'receive',
                                    'date': event.date}])
            self.assertEqual(Event.read([event.id], EVENT_FIELDS), before)
            self.assertEqual(Event.search_count([]), count)

    @with_transaction()
    def test_swap_by_action(self):
        "A swap is recorded and undone by its actions only"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Swap = pool.get('rsoft.device.swap')
        with self.operator() as op:
            connection = self.installed(op)
            self.allocate(op, ['GX00000002'])
            old, spare = self.devices('GX00000001', 'GX00000002')
            Lot.unpair([spare])
            swap = connection.swap(old, spare, "No signal")
            before = Swap.read([swap.id], SWAP_FIELDS)
            lco, clerk = self.users(op)
            for user in [lco, clerk]:
                with rpc_as(user):
                    with self.assertRaisesRegex(
                            AccessError, f'"Note".*{SYSTEM}'):
                        Swap.write([swap], {'note': "Fine after all"})
                    with self.assertRaisesRegex(
                            AccessError, f'"State".*{SYSTEM}'):
                        Swap.write([swap], {'state': 'undone'})
                    with self.assertRaisesRegex(
                            AccessError, 'cannot be created or deleted'):
                        Swap.delete([swap])
                    with self.assertRaises(AccessError):
                        Swap.create([{
                                    'connection': connection.id,
                                    'old_device': spare.id,
                                    'new_device': old.id,
                                    'date': swap.date}])
            self.assertEqual(Swap.read([swap.id], SWAP_FIELDS), before)
            self.assertEqual(Swap.search_count([]), 1)

            with rpc_as(lco):
                Swap.undo([swap])
            self.assertEqual(Swap(swap.id).state, 'undone')
            old, = self.devices('GX00000001')
            self.assertEqual(old.connection, connection)

    @with_transaction()
    def test_done_receipt_refused(self):
        "A done receipt and its report change only by its Receive button"
        pool = Pool()
        Receipt = pool.get('rsoft.device.receipt')
        Error = pool.get('rsoft.device.receipt.error')
        with self.operator(boxes=2) as op:
            done, = Receipt.search([('state', '=', 'done')])
            lco, clerk = self.users(op)
            with rpc_as(lco), self.assertRaises(AccessError):
                Receipt.read([done.id], ['reference'])
            with rpc_as(clerk):
                with self.assertRaisesRegex(AccessError, 'is done'):
                    Receipt.write([done], {'reference': "GX-2"})
                with self.assertRaisesRegex(AccessError, SYSTEM):
                    Receipt.write([done], {'state': 'draft'})
                with self.assertRaisesRegex(AccessError, SYSTEM):
                    Receipt.create([{
                                'reference': "GX-3",
                                'company': op.mso.company.id,
                                'vendor': op.vendor.id,
                                'partner': op.mso.id,
                                'state': 'done', 'device_count': 100}])
                draft, = Receipt.create([{
                            'reference': "GX-3",
                            'company': op.mso.company.id,
                            'vendor': op.vendor.id, 'partner': op.mso.id,
                            'stb_product': op.hd.id,
                            'file': to_csv([{'Serial': 'GX123'}]),
                            }])
                Receipt.receive([draft])
                self.assertEqual(draft.state, 'refused')
                error = draft.errors[0]
                with self.assertRaisesRegex(AccessError, 'Receive'):
                    Error.write([error], {'message': "fine"})
                with self.assertRaisesRegex(AccessError, 'Receive'):
                    Error.delete([error])
                with self.assertRaisesRegex(AccessError, 'Receive'):
                    Error.create([{'receipt': done.id, 'row': 2}])
                Receipt.write([draft], {
                        'card_product': op.card.id,
                        'file': to_csv(vendor_rows(1, start=50))})
                Receipt.receive([draft])
            self.assertEqual(
                (draft.state, draft.device_count, draft.errors),
                ('done', 2, ()))
            self.assertEqual(Receipt(done.id).reference, 'GX-1')

    @with_transaction()
    def test_done_transfer_refused(self):
        "A done allocation is the record of where the devices went"
        pool = Pool()
        Shipment = pool.get('stock.shipment.internal')
        with self.operator(boxes=1) as op:
            shipment = self.allocate(op, ['GX00000001'])
            self.assertEqual(shipment.state, 'done')
            lco, clerk = self.users(op)
            storekeeper = create_clerk('storekeeper', op.mso.company,
                ('stock', 'group_stock'))
            for user in [lco, clerk]:
                with rpc_as(user), self.assertRaises(AccessError):
                    Shipment.write([shipment], {'reference': "forged"})
            with rpc_as(storekeeper):
                with self.assertRaisesRegex(AccessError, 'is done'):
                    Shipment.write([shipment], {'reference': "forged"})
                with self.assertRaises(AccessError):
                    Shipment.delete([shipment])
            self.assertEqual(
                Shipment(shipment.id).reference, shipment.reference)

    @with_transaction()
    def test_lco_confinement(self):
        """LCO A does not see nor touch LCO B's devices, their history,
        moves, swaps and locations"""
        pool = Pool()
        Lot = pool.get('stock.lot')
        Event = pool.get('rsoft.device.event')
        Move = pool.get('stock.move')
        Swap = pool.get('rsoft.device.swap')
        Location = pool.get('stock.location')
        Position = pool.get('rsoft.device.stock_position')
        ByLocations = pool.get('stock.products_by_locations')
        ConfigLocation = pool.get('stock.configuration.location')
        with self.operator() as op:
            self.installed(op)
            connection_b = self.subscriber(op, op.lco_b)
            self.allocate(op, ['GX00000002', 'GX00000003'], op.lco_b)
            box_b, card_b, spare_b = self.devices(
                'GX00000002', '700000000002', 'GX00000003')
            connection_b.install(box_b, ownership='sold')
            Lot.unpair(self.devices('GX00000003'))
            swap_b = connection_b.swap(box_b, spare_b, "Dead")
            box_b, spare_b = self.devices('GX00000002', 'GX00000003')
            moves_b = Move.search([('lot', 'in', [box_b.id, card_b.id])])
            events_b = Event.search(
                [('device', 'in', [box_b.id, card_b.id])])
            self.assertTrue(moves_b and events_b)
            lco = create_lco_user('lco-a', op.lco_a)
            with rpc_as(lco):
                self.assertEqual({d.number for d in Lot.search([])},
                    {'GX00000001', '700000000001'})
                self.assertEqual(Move.search(
                        [('id', 'in', [m.id for m in moves_b])]), [])
                self.assertEqual(Event.search(
                        [('id', 'in', [e.id for e in events_b])]), [])
                self.assertEqual(Swap.search([]), [])
                self.assertEqual(
                    {p.holder for p in Position.search([])}, {op.lco_a})
                locations = Location.search([])
                self.assertIn(op.lco_a.stock_location, locations)
                self.assertIn(op.mso.stock_location, locations)
                self.assertNotIn(op.lco_b.stock_location, locations)
                self.assertNotIn(op.lco_c.stock_location, locations)

                for device in [box_b, card_b, spare_b]:
                    with self.assertRaises(AccessError):
                        Lot.read([device.id], ['number'])
                for Model, records in [
                        (Move, moves_b[:1]), (Event, events_b[:1]),
                        (Swap, [swap_b]),
                        (Location, [op.lco_b.stock_location])]:
                    with self.assertRaises(AccessError):
                        Model.read([r.id for r in records], ['id'])
                with self.assertRaises(AccessError):
                    Lot.write([spare_b], {})
                for button in ['declare_faulty', 'unpair', 'blacklist',
                        'pair_card', 'send_to_repair', 'scrap']:
                    with self.subTest(button=button), \
                            self.assertRaises(AccessError):
                        getattr(Lot, button)([spare_b])
                with self.assertRaises(AccessError):
                    Swap.undo([swap_b])
                for wizard in ['rsoft.device.blacklist', 'rsoft.device.pair']:
                    Wizard = pool.get(wizard, type='wizard')
                    with self.subTest(wizard=wizard), \
                            Transaction().set_context(
                                active_model='stock.lot',
                                active_id=spare_b.id,
                                active_ids=[spare_b.id]), \
                            self.assertRaises(AccessError):
                        Wizard.create()
                with self.assertRaises(AccessError):
                    ByLocations.search([])
                with self.assertRaises(AccessError):
                    ConfigLocation.create([{}])
            box_b, spare_b = self.devices('GX00000002', 'GX00000003')
            self.assertEqual((box_b.device_state, spare_b.device_state),
                ('faulty', 'installed'))
            self.assertEqual(Swap(swap_b.id).state, 'done')

    @with_transaction()
    def test_partner_locations_refused(self):
        "Nobody moves a partner's stock, or gives a location to a partner"
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        Location = pool.get('stock.location')
        with self.operator(boxes=1) as op:
            lco_a, lco_b = op.lco_a, op.lco_b
            before = (lco_a.stock_location, lco_b.stock_location.rsoft_partner)
            clerk = self.users(op)[1]
            with rpc_as(clerk):
                with self.assertRaisesRegex(
                        AccessError, f'"Stock Location".*{SYSTEM}'):
                    Partner.write([lco_a], {
                            'stock_location': lco_b.stock_location.id})
            # Tryton's stock administrators write locations
            stockist = create_clerk('stockist', op.mso.company,
                ('stock', 'group_stock_admin'))
            with rpc_as(stockist):
                with self.assertRaisesRegex(
                        AccessError, f'"Distribution Partner".*{SYSTEM}'):
                    Location.write([lco_b.stock_location], {
                            'rsoft_partner': lco_a.id})
            lco_a, lco_b = Partner.browse([lco_a.id, lco_b.id])
            self.assertEqual(
                (lco_a.stock_location, lco_b.stock_location.rsoft_partner),
                before)
