import datetime
from contextlib import contextmanager
from unittest.mock import patch

from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import (
    CompanyTestMixin,
    create_company,
    set_company,
)
from trytond.modules.rsoft_inventory.exceptions import (
    BlacklistError,
    DeviceError,
    InstallError,
    PairingError,
    SwapError,
    TransferError,
)
from trytond.modules.rsoft_partner.tests.tools import create_lco_user
from trytond.modules.rsoft_subscriber.tests.tools import (
    create_operator,
    create_subscriber,
)
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction, check_access

from .tools import (
    create_device_models,
    create_rental_offers,
    receive,
    to_csv,
    vendor_rows,
)

D = datetime.date
TODAY = D(2026, 3, 2)


class InventoryTestCase(FixtureMixin, CompanyTestMixin, ModuleTestCase):
    "Test the inventory of set-top boxes and smart cards"
    module = 'rsoft_inventory'

    @classmethod
    def set_up_fixture(cls):
        "Return the subscriber tests' operator with device models"
        pool = Pool()
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company), patch.object(
                pool.get('ir.date'), 'today', return_value=TODAY):
            op = create_operator(company, fta=False)
            op.hd, op.cardless, op.card = create_device_models()
            op.vendor, = Party.create([{'name': "Gospell Smart Video"}])
            op.rental, op.lease = create_rental_offers()
            return op

    @contextmanager
    def operator(self, boxes=10):
        """Give a test the operator with boxes paired with cards in the
        MSO's stock"""
        pool = Pool()
        with self.fixture() as op, patch.object(
                pool.get('ir.date'), 'today', return_value=TODAY):
            if boxes:
                receive(op.mso, op.vendor, op.hd, op.card,
                    vendor_rows(boxes))
            yield op

    def devices(self, *numbers):
        Lot = Pool().get('stock.lot')
        found = {d.number: d for d in Lot.search(
                [('number', 'in', numbers)])}
        return [found[n] for n in numbers]

    def allocate(self, op, numbers, partner=None):
        "Allocate the boxes numbers (and their cards) to partner"
        Lot = Pool().get('stock.lot')
        return Lot.transfer(self.devices(*numbers), partner or op.lco_a)

    def subscriber(self, op, lco=None, active=True):
        Subscriber = Pool().get('rsoft.subscriber')
        subscriber = create_subscriber(lco or op.lco_a)
        Line = Pool().get('rsoft.subscription.line')
        connection, = subscriber.connections
        Line.create([{'connection': connection.id, 'product': op.base.id,
                    'start_date': TODAY}])
        if active:
            Subscriber.activate([subscriber], TODAY)
        connection, = Subscriber(subscriber.id).connections
        return connection

    def installed(self, op, serial='GX00000001'):
        "Return an active connection with box serial and its card, rented"
        Connection = Pool().get('rsoft.connection')
        self.allocate(op, [serial])
        connection = self.subscriber(op)
        stb, = self.devices(serial)
        connection.install(stb, ownership='rented', offer=op.rental)
        return Connection(connection.id)

    @with_transaction()
    def test_receipt_all_or_nothing(self):
        "A file with a bad row is refused whole, with a report per row"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Receipt = pool.get('rsoft.device.receipt')
        with self.operator(boxes=0) as op:
            rows = vendor_rows(5)
            rows[1]['Serial'] = 'GX123'
            rows[3]['Card Number'] = rows[0]['Card Number']
            rows[4]['MAC'] = 'not-a-mac'
            receipt = receive(op.mso, op.vendor, op.hd, op.card, rows)
            self.assertEqual(receipt.state, 'refused')
            self.assertEqual(Lot.search([], count=True), 0)
            self.assertEqual(
                [(e.row, e.column, e.value) for e in receipt.errors], [
                    (3, 'serial', 'GX123'),
                    (5, 'card_number', '700000000001'),
                    (6, 'mac', 'not-a-mac'),
                    ])
            self.assertIn('row 2', receipt.errors[1].message)

            receipt.file = to_csv(vendor_rows(5))
            receipt.save()
            Receipt.receive([receipt])
            self.assertEqual(receipt.state, 'done')
            self.assertEqual(receipt.errors, ())
            self.assertEqual(
                (receipt.row_count, receipt.device_count), (5, 10))
            stb, card = self.devices('GX00000001', '700000000001')
            self.assertEqual(stb.paired_device, card)
            self.assertEqual(card.paired_device, stb)
            self.assertEqual(stb.device_state, 'in_stock')
            self.assertEqual(stb.holder, op.mso)
            self.assertEqual(stb.current_location, op.mso.stock_location)
            self.assertEqual(stb.chip_id, '00000001')
            self.assertEqual(stb.mac_address, '00:1A:2B:00:00:01')
            for device in [stb, card]:
                self.assertEqual([e.action for e in device.device_events],
                    ['pair', 'receive'])
            self.assertEqual(card.device_events[0].other_device, stb)
            with Transaction().set_context(
                    locations=[op.mso.stock_location.id]):
                self.assertEqual(Lot(stb.id).quantity, 1)

            again = receive(op.mso, op.vendor, op.hd, op.card,
                vendor_rows(2), reference='GX-2')
            self.assertEqual(again.state, 'refused')
            self.assertEqual(len(again.errors), 8)
            self.assertIn("already known", again.errors[0].message)
            self.assertEqual(Lot.search([], count=True), 10)

    @with_transaction()
    def test_receipt_xlsx_and_cards_only(self):
        "An XLSX file of cards alone is read, numbers kept as text"
        import io

        import xlsxwriter
        pool = Pool()
        Receipt = pool.get('rsoft.device.receipt')
        with self.operator(boxes=0) as op:
            data = io.BytesIO()
            workbook = xlsxwriter.Workbook(data)
            sheet = workbook.add_worksheet()
            sheet.write_row(0, 0, ['Smart Card Number', 'Chip_ID'])
            sheet.write_row(1, 0, [700000000001, 'C1'])
            sheet.write_row(2, 0, ['700000000002', 'C2'])
            workbook.close()
            receipt, = Receipt.create([{
                        'reference': 'SC-1', 'company': op.company.id,
                        'vendor': op.vendor.id, 'partner': op.mso.id,
                        'card_product': op.card.id,
                        'file': data.getvalue(),
                        }])
            Receipt.receive([receipt])
            self.assertEqual(receipt.state, 'done')
            card, = self.devices('700000000001')
            self.assertEqual(card.chip_id, 'C1')
            self.assertIsNone(card.paired_device)

    @with_transaction()
    def test_transfer_down_and_back(self):
        "Allocation follows the chain; a box brings its card along"
        pool = Pool()
        Lot = pool.get('stock.lot')
        with self.operator() as op:
            devices, missing = Lot.search_serials(
                op.mso, op.hd, 'GX00000002', 'GX00000004')
            self.assertEqual(missing, [])
            self.assertEqual([d.number for d in devices],
                ['GX00000002', 'GX00000003', 'GX00000004'])
            shipment = Lot.transfer(devices, op.jv)
            self.assertEqual(shipment.state, 'done')
            self.assertEqual(len(shipment.moves), 6)
            stb, card = self.devices('GX00000002', '700000000002')
            self.assertEqual((stb.device_state, stb.holder),
                ('allocated', op.jv))
            self.assertEqual(card.current_location, op.jv.stock_location)

            Lot.transfer([stb], op.lco_a)
            with self.assertRaisesRegex(TransferError, 'neither above'):
                Lot.transfer(self.devices('GX00000002'), op.lco_b)
            Lot.transfer(self.devices('GX00000002'), op.mso)
            stb, = self.devices('GX00000002')
            self.assertEqual((stb.device_state, stb.holder),
                ('in_stock', op.mso))
            self.assertEqual([e.action for e in stb.device_events][:3],
                ['return', 'allocate', 'allocate'])
            _, missing = Lot.search_serials(
                op.lco_a, numbers=['GX00000003', 'GX00000099'])
            self.assertEqual(missing, ['GX00000003', 'GX00000099'])

    @with_transaction()
    def test_install_rental(self):
        "An LCO installs a paired box as a rental: billing gets a line"
        with self.operator() as op:
            connection = self.installed(op)
            stb, card = self.devices('GX00000001', '700000000001')
            self.assertEqual((connection.stb, connection.smartcard),
                (stb, card))
            self.assertEqual(stb.device_state, 'installed')
            self.assertEqual(stb.holder, op.lco_a)
            self.assertEqual(stb.subscriber, connection.subscriber)
            self.assertEqual(stb.ownership, 'rented')
            line = stb.ownership_line
            self.assertEqual((line.product, line.state, line.start_date),
                (op.rental, 'active', TODAY))
            self.assertEqual(
                [e.action for e in stb.device_events][:2],
                ['ownership', 'install'])

            with self.assertRaisesRegex(InstallError, 'already has box'):
                connection.install(*self.devices('GX00000002'))
            other = self.subscriber(op)
            with self.assertRaisesRegex(InstallError, 'not in the stock'):
                other.install(*self.devices('GX00000002'))
            self.allocate(op, ['GX00000002'])
            with self.assertRaisesRegex(InstallError, 'needs a published'):
                other.install(*self.devices('GX00000002'),
                    ownership='rented')

    @with_transaction()
    def test_install_lease(self):
        "A leased box carries its deposit and the last day of its term"
        from decimal import Decimal
        with self.operator() as op:
            self.allocate(op, ['GX00000001'])
            connection = self.subscriber(op)
            stb, = self.devices('GX00000001')
            connection.install(stb, ownership='leased', offer=op.lease,
                deposit=Decimal('1500'), lease_months=12)
            stb, = self.devices('GX00000001')
            self.assertEqual((stb.ownership, stb.deposit, stb.lease_end_date),
                ('leased', Decimal('1500'), D(2027, 3, 1)))
            self.assertEqual(stb.ownership_line.product, op.lease)
            self.assertEqual(stb.device_events[0].description, "Leased")

    @with_transaction()
    def test_install_card_rules(self):
        "A card-based box needs a card; a card-less box takes none"
        pool = Pool()
        Lot = pool.get('stock.lot')
        with self.operator(boxes=0) as op:
            receive(op.mso, op.vendor, op.hd, rows=vendor_rows(1, 1, False))
            receive(op.mso, op.vendor, card=op.card, reference='C',
                rows=[{'Card Number': '700000000001'},
                    {'Card Number': '700000000002'}])
            receive(op.mso, op.vendor, op.cardless, reference='CL',
                rows=[{'Serial': 'CL00000001'}])
            Lot.transfer(self.devices(
                    'GX00000001', '700000000001', 'CL00000001'), op.lco_a)
            connection = self.subscriber(op)
            hd, card, cardless = self.devices(
                'GX00000001', '700000000001', 'CL00000001')
            with self.assertRaisesRegex(InstallError, 'needs a smart card'):
                connection.install(hd)
            with self.assertRaisesRegex(InstallError, 'card-less'):
                connection.install(cardless, card)
            connection.install(cardless)
            self.assertEqual(cardless.device_state, 'installed')

            second = self.subscriber(op)
            with self.assertRaisesRegex(InstallError, 'not in the stock'):
                second.install(hd, self.devices('700000000002')[0])
            second.install(hd, card)
            hd, card = self.devices('GX00000001', '700000000001')
            self.assertEqual(hd.paired_device, card)
            with self.assertRaisesRegex(PairingError, 'card-less'):
                Lot.pair(cardless, card)

    @with_transaction()
    def test_swap_and_undo(self):
        "A faulty box is swapped, the card re-paired, then undone"
        pool = Pool()
        Lot = pool.get('stock.lot')
        with self.operator() as op:
            connection = self.installed(op)
            old, card = self.devices('GX00000001', '700000000001')
            line = old.ownership_line
            self.allocate(op, ['GX00000002'])
            spare, spare_card = self.devices('GX00000002', '700000000002')
            with self.assertRaisesRegex(SwapError, 'de-pair it first'):
                connection.swap(old, spare)
            Lot.unpair([spare])
            swap = connection.swap(old, spare, "No signal")

            old, new, card = self.devices(
                'GX00000001', 'GX00000002', '700000000001')
            self.assertEqual((old.device_state, old.fault_note),
                ('faulty', "No signal"))
            self.assertEqual(old.current_location, op.lco_a.stock_location)
            self.assertIsNone(old.connection)
            self.assertIsNone(old.paired_device)
            self.assertEqual((new.device_state, new.connection),
                ('installed', connection))
            self.assertEqual(new.paired_device, card)
            self.assertEqual(
                (new.ownership, new.ownership_line), ('rented', line))
            self.assertEqual(line.state, 'active')
            self.assertIsNone(line.end_date)
            self.assertEqual(connection.subscriber.customer_id,
                swap.connection.subscriber.customer_id)

            swap.__class__.undo([swap])
            old, new, card = self.devices(
                'GX00000001', 'GX00000002', '700000000001')
            self.assertEqual(swap.state, 'undone')
            self.assertEqual((old.device_state, old.connection),
                ('installed', connection))
            self.assertEqual(old.paired_device, card)
            self.assertEqual(old.ownership_line, line)
            self.assertEqual((new.device_state, new.connection),
                ('allocated', None))

    @with_transaction()
    def test_blacklist_every_path(self):
        "A blacklisted card is refused by every path, with the reason"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Connection = pool.get('rsoft.connection')
        Move = pool.get('stock.move')
        with self.operator() as op:
            connection = self.installed(op)
            stb, card = self.devices('GX00000001', '700000000001')
            Lot.do_blacklist([card], 'stolen', "FIR 42/2026")
            stb, card = self.devices('GX00000001', '700000000001')
            self.assertEqual(card.device_state, 'blacklisted')
            self.assertIsNone(stb.paired_device)
            self.assertEqual([e.action for e in card.device_events][:2],
                ['blacklist', 'unpair'])
            with self.assertRaisesRegex(BlacklistError, 'Stolen: FIR 42'):
                Lot.pair(stb, card)
            Connection.do_suspend([connection], 'technical')
            with self.assertRaisesRegex(BlacklistError, 'entitled'):
                Connection.resume([connection])

            # A spare blacklisted card in stock
            spare, = self.devices('700000000003')
            Lot.unpair([spare])
            Lot.do_blacklist([spare], 'cloned')
            with self.assertRaisesRegex(BlacklistError, 'allocated'):
                Lot.transfer([spare], op.lco_a)
            move = spare._move(op.lco_a.stock_location, TODAY)
            move.save()
            with self.assertRaisesRegex(BlacklistError, 'blacklisted'):
                Move.do([move])
            Move.delete([move])
            Lot.transfer(self.devices('GX00000002'), op.lco_a)
            with self.assertRaisesRegex(BlacklistError, 'blacklisted'):
                connection.swap(card, spare)
            Lot.unpair(self.devices('GX00000002'))
            second = self.subscriber(op)
            with self.assertRaisesRegex(DeviceError, 'blacklisted'):
                second.install(*self.devices('GX00000002'), spare)
            with self.assertRaisesRegex(DeviceError, 'is Blacklisted'):
                Lot.do_blacklist([spare], 'stolen')

            # Nor can a user lift the blacklist by writing the state
            with check_access(), self.assertRaises(AccessError):
                Lot.write([spare], {'device_state': 'in_stock'})

            # Taken back and scrapped, it stays blacklisted
            Lot.scrap([spare])
            spare, = self.devices('700000000003')
            self.assertEqual(spare.device_state, 'blacklisted')
            with self.assertRaisesRegex(TransferError, 'Scrapped Devices'):
                Lot.transfer([spare], op.mso)

    @with_transaction()
    def test_repair_cycle(self):
        "Faulty stock goes to repair and comes back to the MSO's stock"
        pool = Pool()
        Lot = pool.get('stock.lot')
        with self.operator() as op:
            self.allocate(op, ['GX00000001'])
            stb, = self.devices('GX00000001')
            Lot.unpair([stb])
            Lot.declare_faulty([stb], "Dead power supply")
            with self.assertRaisesRegex(DeviceError, 'Faulty'):
                self.subscriber(op).install(stb)
            Lot.send_to_repair([stb])
            stb, = self.devices('GX00000001')
            self.assertEqual(stb.device_state, 'repair')
            Lot.repaired([stb])
            stb, = self.devices('GX00000001')
            self.assertEqual(
                (stb.device_state, stb.holder), ('in_stock', op.mso))
            self.assertEqual([e.action for e in stb.device_events][:4],
                ['repaired', 'repair', 'faulty', 'unpair'])

    @with_transaction()
    def test_remove_stops_rental(self):
        "Devices back from the premises stop their rental that day"
        with self.operator() as op:
            connection = self.installed(op)
            stb, = self.devices('GX00000001')
            line = stb.ownership_line
            with patch.object(Pool().get('ir.date'), 'today',
                    return_value=D(2026, 3, 20)):
                connection.remove(connection.devices, D(2026, 3, 20))
            stb, card = self.devices('GX00000001', '700000000001')
            self.assertEqual((stb.device_state, stb.connection),
                ('allocated', None))
            self.assertEqual(stb.paired_device, card)
            self.assertEqual(line.end_date, D(2026, 3, 19))

    @with_transaction()
    def test_device_events_hook(self):
        "The CAS hook hears installation, swap and blacklisting"
        pool = Pool()
        Lot = pool.get('stock.lot')
        heard = []
        with self.operator() as op, patch.object(
                Lot, 'on_device_events',
                side_effect=lambda events: heard.extend(
                    (e.device.number, e.action) for e in events)):
            connection = self.installed(op)
            Lot.do_blacklist(self.devices('700000000001'), 'tampered')
            self.assertIn(('GX00000001', 'install'), heard)
            self.assertIn(('700000000001', 'install'), heard)
            self.assertIn(('700000000001', 'unpair'), heard)
            self.assertIn(('700000000001', 'blacklist'), heard)
            self.assertEqual(connection.smartcard.device_state,
                'blacklisted')

    @with_transaction()
    def test_history_append_only(self):
        "Nobody edits or deletes a device's history"
        pool = Pool()
        Event = pool.get('rsoft.device.event')
        with self.operator(boxes=1):
            event, *_ = Event.search([])
            with self.assertRaises(AccessError):
                Event.write([event], {'description': "x"})
            with self.assertRaises(AccessError):
                Event.delete([event])

    @with_transaction()
    def test_lco_isolation(self):
        "An LCO user sees the devices of its stock and its subscribers"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Event = pool.get('rsoft.device.event')
        with self.operator() as op:
            self.installed(op)
            self.allocate(op, ['GX00000002'])
            self.allocate(op, ['GX00000003'], op.lco_b)
            other, = self.devices('GX00000003')
            user = create_lco_user('lco-a', op.lco_a)
            with Transaction().set_user(user.id), check_access():
                numbers = {d.number for d in Lot.search([])}
                self.assertEqual(numbers, {
                        'GX00000001', '700000000001',
                        'GX00000002', '700000000002'})
                self.assertFalse(Lot.search(
                        [('number', '=', 'GX00000003')]))
                self.assertTrue(Event.search(
                        [('device.number', '=', 'GX00000001')]))
                self.assertFalse(Event.search(
                        [('device.number', '=', 'GX00000003')]))
                with self.assertRaises(AccessError):
                    Lot.read([other.id], ['number'])

    @with_transaction()
    def test_device_reports(self):
        "Stock per partner, ageing and the lists export to XLSX"
        import io

        import openpyxl
        pool = Pool()
        Lot = pool.get('stock.lot')
        Position = pool.get('rsoft.device.stock_position')
        Ageing = pool.get('rsoft.device.ageing')
        PositionSheet = pool.get(
            'rsoft.device.stock_position.xlsx', type='report')
        AgeingSheet = pool.get('rsoft.device.ageing.xlsx', type='report')
        BlacklistSheet = pool.get(
            'rsoft.device.blacklisted.xlsx', type='report')
        with self.operator() as op:
            self.allocate(op, ['GX00000001', 'GX00000002'])
            self.installed(op, 'GX00000003')
            Lot.do_blacklist(self.devices('700000000004'), 'stolen')
            rows = {(r.holder, r.product, r.device_state): r.quantity
                for r in Position.search([])}
            self.assertEqual(rows[(op.lco_a, op.hd, 'allocated')], 2)
            self.assertEqual(rows[(op.lco_a, op.hd, 'installed')], 1)
            self.assertEqual(rows[(op.mso, op.hd, 'in_stock')], 7)
            self.assertEqual(rows[(op.mso, op.card, 'blacklisted')], 1)

            ext, content, _, _ = PositionSheet.execute(
                [r.id for r in Position.search(
                        [('holder', '=', op.lco_a.id)])], {})
            self.assertEqual(ext, 'xlsx')
            sheet = openpyxl.load_workbook(io.BytesIO(content)).active
            values = [row for row in sheet.iter_rows(values_only=True)]
            self.assertIn("Quantity", values[2])
            self.assertEqual(sorted(v[-1] for v in values[3:]), [1, 1, 2, 2])

            with Transaction().set_context(date=D(2026, 7, 1)):
                ageing = {(a.holder, a.product): a for a in Ageing.search([])}
                lco = ageing[(op.lco_a, op.hd)]
                self.assertEqual((lco.quantity, lco.age_over_180,
                        lco.age_180), (2, 0, 2))
                self.assertEqual(AgeingSheet.execute([], {})[0], 'xlsx')

            _, content, _, _ = BlacklistSheet.execute(
                [d.id for d in self.devices('700000000004')], {})
            sheet = openpyxl.load_workbook(io.BytesIO(content)).active
            text = ' '.join(str(v) for row in sheet.iter_rows(
                    values_only=True) for v in row if v)
            self.assertIn('700000000004', text)
            self.assertIn('Stolen', text)

            user = create_lco_user('lco-b', op.lco_b)
            with Transaction().set_user(user.id), check_access():
                self.assertEqual(Position.search([]), [])


del ModuleTestCase
