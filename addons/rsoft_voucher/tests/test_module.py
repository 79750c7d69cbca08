import csv
import datetime as dt
import io
import json
import unittest
from contextlib import contextmanager
from decimal import Decimal

import pyzipper
from pypdf import PdfReader

from trytond import backend
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.rsoft_catalogue.tests.tools import rpc_as
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.modules.rsoft_voucher.exceptions import (
    ConfigurationError,
    RedeemRefused,
)
from trytond.modules.rsoft_voucher.template import expected_hits
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction

from .tools import (
    NOW,
    PASSWORD,
    TODAY,
    clock,
    create_voucher_operator,
    new_connection,
    pin_secret,
)

# On PostgreSQL a refused try is committed in a transaction of its own,
# which the test's one transaction does not see: test_race counts them
SQLITE_ONLY = unittest.skipIf(backend.name == 'postgresql',
    "refused tries are counted across transactions (test_race)")
REFUSED = "This voucher cannot be redeemed. Check the PIN and the serial, " \
    "or try again later."


def read_export(content, password=PASSWORD):
    "Return the CSV rows and the names of the files of an export"
    with pyzipper.AESZipFile(io.BytesIO(content)) as zip_:
        zip_.setpassword(password.encode())
        names = zip_.namelist()
        csv_name, = [n for n in names if n.endswith('.csv')]
        text = zip_.read(csv_name).decode()
    return list(csv.DictReader(io.StringIO(text))), names


class VoucherTestCase(FixtureMixin, ModuleTestCase):
    "Test vouchers: generated, allocated, sold, redeemed, blocked, expired"
    module = 'rsoft_voucher'

    @classmethod
    def set_up_fixture(cls):
        return create_voucher_operator()

    @contextmanager
    def operator(self, now=NOW):
        with self.fixture() as op, clock(now) as (op_now, op_today), \
                pin_secret():
            op.now, op.today = op_now, op_today
            yield op

    def balance(self, account, party=None):
        pool = Pool()
        Line = pool.get('account.move.line')
        domain = [('account', '=', account.id)]
        if party:
            domain.append(('party', '=', party.id))
        lines = Line.search(domain)
        return sum((line.credit - line.debit for line in lines), Decimal(0))

    def generate(self, template, quantity=5):
        "Return the batch and its CSV rows"
        Batch = Pool().get('rsoft.voucher.batch')
        batch, content, _ = Batch.generate(template, quantity, PASSWORD)
        rows, _ = read_export(content)
        return batch, rows

    def sold(self, op, template, quantity=5, partner=None):
        "Return the CSV rows of vouchers generated, allocated and sold"
        Voucher = Pool().get('rsoft.voucher')
        batch, rows = self.generate(template, quantity)
        vouchers = Voucher.in_range(batch.first_serial, batch.last_serial)
        Voucher.allocate(vouchers, partner or op.lco_a)
        Voucher.activate(Voucher.browse(vouchers))
        return rows

    @with_transaction()
    def test_generate(self):
        "A batch: serials in sequence, PIN hashes stored, PINs exported"
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        with self.operator() as op:
            batch, content, name = pool.get('rsoft.voucher.batch').generate(
                op.top_up, 5, PASSWORD)
            self.assertEqual(batch.quantity, 5)
            self.assertEqual(
                (batch.first_serial, batch.last_serial),
                ('RC00000001', 'RC00000005'))
            self.assertEqual(batch.generated, 5)
            self.assertEqual(name, 'RC00000001.zip')
            rows, names = read_export(content)
            self.assertEqual(names, ['RC00000001.csv', 'RC00000001-cards.pdf'])
            self.assertEqual([r['serial'] for r in rows],
                [f'RC{i:08d}' for i in range(1, 6)])
            for row in rows:
                self.assertRegex(row['pin'], r'^\d{14}$')
                self.assertEqual(row['face_value'], '300.00')
                self.assertEqual(row['valid_days'], '90')
            vouchers = Voucher.search([('batch', '=', batch.id)])
            self.assertEqual(len(vouchers), 5)
            stored = {v.pin_hash for v in vouchers}
            self.assertEqual(len(stored), 5)
            # Only hashes: no PIN is in the database
            for row in rows:
                self.assertNotIn(row['pin'], stored)
                self.assertEqual(len(
                        Voucher.search([('pin_hash', '=', row['pin'])])), 0)
            self.assertTrue(all(v.state == 'generated' for v in vouchers))

            # The next batch goes on from the last serial
            batch2, _, _ = pool.get('rsoft.voucher.batch').generate(
                op.top_up, 2, PASSWORD)
            self.assertEqual(batch2.first_serial, 'RC00000006')

            # The wrong password opens nothing
            with self.assertRaises(RuntimeError):
                read_export(content, password='wrong-password-1')

    @with_transaction()
    def test_card_sheet(self):
        "The PDF: ten cards a page, the first PDF Cards of the batch"
        pool = Pool()
        Batch = pool.get('rsoft.voucher.batch')
        Configuration = pool.get('rsoft.voucher.configuration')
        with self.operator() as op:
            config = Configuration(1)
            config.pdf_limit = 23
            config.save()
            batch, content, _ = Batch.generate(op.sports_card, 25, PASSWORD)
            self.assertEqual(batch.pdf_cards, 23)
            rows, _ = read_export(content)
            self.assertEqual(len(rows), 25)
            with pyzipper.AESZipFile(io.BytesIO(content)) as zip_:
                zip_.setpassword(PASSWORD.encode())
                pdf = PdfReader(io.BytesIO(zip_.read('SP00000001-cards.pdf')))
            texts = [page.extract_text() for page in pdf.pages]
            self.assertEqual([t.count('Serial: ') for t in texts],
                [10, 10, 3])
            pin = rows[0]['pin']
            self.assertIn('Serial: SP00000001', texts[0])
            self.assertIn(f'PIN: {pin[:4]} {pin[4:8]} {pin[8:]}', texts[0])
            self.assertIn('Sports Pack: 30 days', texts[0])
            self.assertIn('Serial: SP00000023', texts[2])
            self.assertNotIn('SP00000024', ''.join(texts))
            # The QR codes are drawn, not printed as their SVG source:
            # each one's top row starts inside its quiet zone of 4
            self.assertNotIn('svg', ''.join(texts))
            self.assertEqual(
                [p.get_contents().get_data().count(b'\n4 4.5 m\n')
                    for p in pdf.pages], [10, 10, 3])

    @with_transaction()
    def test_generate_alnum(self):
        "Letters and digits without look-alikes"
        with self.operator() as op:
            _, rows = self.generate(op.sports_card, 20)
            for row in rows:
                self.assertRegex(
                    row['pin'], r'^[34679ACDEFGHJKMNPQRTUVWXY]{12}$')
                self.assertEqual(row['offer'], op.sports.rec_name)
                self.assertEqual(row['expiry_date'], '2026-06-30')

    @with_transaction()
    def test_generate_refusals(self):
        "No secret, a short password, too many: nothing is generated"
        pool = Pool()
        Batch = pool.get('rsoft.voucher.batch')
        with self.operator() as op:
            with pin_secret(None):
                with self.assertRaises(ConfigurationError):
                    Batch.generate(op.top_up, 5, PASSWORD)
            with self.assertRaises(UserError):
                Batch.generate(op.top_up, 5, 'short')
            with self.assertRaises(UserError):
                Batch.generate(op.top_up, 1_000_001, PASSWORD)
            self.assertEqual(Batch.search([], count=True), 0)

    @with_transaction()
    def test_allocate_and_sell(self):
        "Allocating is a sale to the LCO; selling starts the validity"
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        with self.operator() as op:
            batch, _ = self.generate(op.top_up, 10)
            vouchers = Voucher.in_range('RC00000001', 'RC00000004')
            move = Voucher.allocate(vouchers, op.lco_a)
            self.assertEqual(move.state, 'posted')
            # 4 × 300 owed to holders, 4 × 270 owed by the LCO, 4 × 30
            # its discount
            party = op.lco_a.party
            self.assertEqual(self.balance(op.liability, party),
                Decimal('1200.00'))
            self.assertEqual(self.balance(op.discount), Decimal('-120.00'))
            receivable = party.account_receivable_used
            self.assertEqual(self.balance(receivable, party),
                Decimal('-1080.00'))
            vouchers = Voucher.browse(vouchers)
            self.assertEqual({v.state for v in vouchers}, {'allocated'})
            self.assertEqual({v.partner for v in vouchers}, {op.lco_a})
            self.assertEqual(batch.allocated, 4)

            Voucher.activate(Voucher.in_range('RC00000001', 'RC00000002'))
            sold = Voucher.in_range('RC00000001', 'RC00000002')
            self.assertEqual({v.state for v in sold}, {'active'})
            self.assertEqual({v.expiry_date for v in sold},
                {TODAY + dt.timedelta(days=90)})
            history = sold[0].events
            self.assertEqual([(e.from_state, e.to_state) for e in history],
                [('allocated', 'active'), ('generated', 'allocated')])
            self.assertEqual(history[1].move, move)
            self.assertEqual(history[0].user.login, 'admin')

            # A range overlapping allocated vouchers is refused whole
            with self.assertRaises(UserError):
                Voucher.allocate(
                    Voucher.in_range('RC00000004', 'RC00000006'), op.lco_b)
            with self.assertRaises(UserError):
                Voucher.in_range('RC00000004', 'SP00000006')

    @SQLITE_ONLY
    @with_transaction()
    def test_redeem_top_up(self):
        "A top-up voucher credits the wallet from the liability, once"
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        Wallet = pool.get('rsoft.wallet')
        Attempt = pool.get('rsoft.voucher.attempt')
        with self.operator() as op:
            rows = self.sold(op, op.top_up, 3)
            connection = new_connection(op)
            subscriber = connection.subscriber
            wallet, = Wallet.get_wallets([subscriber])
            before = wallet.balance
            voucher = Voucher.redeem(subscriber, rows[0]['pin'],
                serial=rows[0]['serial'], source='back_office',
                login='counter-1', ip_address='10.1.0.1')
            self.assertEqual(voucher.serial, 'RC00000001')
            self.assertEqual(voucher.state, 'redeemed')
            self.assertEqual(voucher.redeemed_by, subscriber)
            self.assertEqual(voucher.redeemed_at, NOW)
            self.assertEqual(voucher.source, 'back_office')
            wallet = Wallet(wallet.id)
            self.assertEqual(wallet.balance, before + Decimal('300.00'))
            entry = voucher.wallet_entry
            self.assertEqual(entry.kind, 'top_up')
            self.assertEqual(entry.origin, voucher)
            self.assertEqual(entry.description, "Voucher RC00000001")
            # The liability of LCO-A's cards went down by the face value
            self.assertEqual(self.balance(op.liability, op.lco_a.party),
                Decimal('600.00'))

            # The same PIN again: the generic refusal, logged
            with self.assertRaises(RedeemRefused) as refused:
                Voucher.redeem(subscriber, rows[0]['pin'])
            self.assertEqual(refused.exception.message, REFUSED)
            # The PIN with spaces and another card's serial: refused too
            with self.assertRaises(RedeemRefused):
                Voucher.redeem(subscriber, ' '.join(rows[1]['pin']),
                    serial=rows[2]['serial'])
            attempts = Attempt.search([], order=[('id', 'ASC')])
            self.assertEqual(
                [(a.result, a.reason) for a in attempts],
                [('redeemed', None), ('refused', 'state'),
                    ('refused', 'serial')])
            self.assertEqual(attempts[0].login, 'counter-1')
            self.assertEqual(attempts[0].ip_address, '10.1.0.1')
            # No try holds a PIN
            for attempt in attempts:
                for row in rows:
                    self.assertNotIn(row['pin'], str(attempt.serial))

            # The PIN spaced as printed redeems the second card
            voucher = Voucher.redeem(subscriber,
                ' '.join([rows[1]['pin'][:7], rows[1]['pin'][7:]]))
            self.assertEqual(voucher.serial, 'RC00000002')

    @with_transaction()
    def test_redeem_renews_when_due(self):
        "A top-up on an account due for renewal renews it"
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        Subscriber = pool.get('rsoft.subscriber')
        with self.operator() as op:
            rows = self.sold(op, op.top_up, 2)
            connection = new_connection(op, wallet='600')
            Subscriber.bill([connection.subscriber], TODAY)
            subscriber = Subscriber(connection.subscriber.id)
            self.assertEqual(subscriber.billed_until, dt.date(2026, 3, 31))
            # Due on 1 April, the subscriber scratches two cards on the 2nd
            op.today.return_value = dt.date(2026, 4, 2)
            Voucher.redeem(subscriber, rows[0]['pin'])
            Voucher.redeem(subscriber, rows[1]['pin'])
            subscriber = Subscriber(subscriber.id)
            self.assertEqual(subscriber.billed_until, dt.date(2026, 4, 30))

    @with_transaction()
    def test_redeem_product(self):
        "A pack voucher adds the pack for 30 days, paid by the voucher"
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        CasDevice = pool.get('rsoft.cas.device')
        Command = pool.get('rsoft.cas.command')
        with self.operator() as op:
            rows = self.sold(op, op.sports_card, 2)
            connection = new_connection(op)
            voucher = Voucher.redeem(connection.subscriber,
                rows[0]['pin'].lower(), source='portal')
            self.assertEqual(voucher.state, 'redeemed')
            self.assertEqual(voucher.connection, connection)
            line = voucher.line
            self.assertEqual(line.product, op.sports)
            self.assertEqual(line.start_date, TODAY)
            self.assertEqual(line.end_date, TODAY + dt.timedelta(days=29))
            invoice = voucher.invoice
            self.assertEqual(invoice.state, 'paid')
            # Rs 110 with GST 18% and the 1% cess: 92.30 + 16.61 + 1.09
            self.assertEqual(invoice.untaxed_amount, Decimal('92.30'))
            self.assertEqual(invoice.total_amount, Decimal('110.00'))
            self.assertEqual(self.balance(op.liability, op.lco_a.party),
                Decimal('110.00'))
            self.assertEqual(voucher.move.state, 'posted')
            # The CAS is commanded with the pack until its last day
            CasDevice.sync()
            commands = Command.search([
                    ('connection', '=', connection.id),
                    ('action', '=', 'entitle'),
                    ], order=[('id', 'DESC')], limit=1)
            self.assertIn('P-SPORTS', commands[0].payload)

    @with_transaction()
    def test_redeem_product_twice(self):
        """A second pack card on the connection adds its days after the
        first's; a pack running without an end refuses a card"""
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        Voucher = pool.get('rsoft.voucher')
        with self.operator() as op:
            rows = self.sold(op, op.sports_card, 3)
            connection = new_connection(op)
            first = Voucher.redeem(connection.subscriber, rows[0]['pin'])
            second = Voucher.redeem(connection.subscriber, rows[1]['pin'])
            self.assertEqual(
                (second.line.start_date, second.line.end_date),
                (TODAY + dt.timedelta(days=30),
                    TODAY + dt.timedelta(days=59)))
            self.assertEqual(first.line.end_date,
                TODAY + dt.timedelta(days=29))

            other = new_connection(op, serial='GX00000002')
            line, = Line.create([{
                        'connection': other.id, 'product': op.sports.id,
                        'term': 1, 'start_date': TODAY,
                        }])
            Line.activate([line])
            with self.assertRaisesRegex(UserError, 'already runs'):
                Voucher.redeem(other.subscriber, rows[2]['pin'])
            voucher, = Voucher.search([('serial', '=', rows[2]['serial'])])
            self.assertEqual(voucher.state, 'active')

    @with_transaction()
    def test_redeem_product_entitled_for_its_days(self):
        """A prepaid account paid to the month's end: the pack of a
        voucher is entitled to its own last day, beyond"""
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        CasDevice = pool.get('rsoft.cas.device')
        Command = pool.get('rsoft.cas.command')
        Subscriber = pool.get('rsoft.subscriber')
        with self.operator() as op:
            rows = self.sold(op, op.sports_card, 1)
            connection = new_connection(op, wallet='600')
            Subscriber.bill([connection.subscriber], TODAY)
            subscriber = Subscriber(connection.subscriber.id)
            self.assertEqual(subscriber.billed_until, dt.date(2026, 3, 31))
            CasDevice.sync()
            # Scratched on 20 March: the pack's 30 days end on 18 April
            op.today.return_value = dt.date(2026, 3, 20)
            voucher = Voucher.redeem(subscriber, rows[0]['pin'])
            self.assertEqual(voucher.line.end_date, dt.date(2026, 4, 18))
            CasDevice.sync()
            command, = Command.search([
                    ('connection', '=', connection.id),
                    ('action', '=', 'entitle'),
                    ], order=[('id', 'DESC')], limit=1)
            products = {p['id']: p
                for p in json.loads(command.payload)['products']}
            self.assertEqual(products['P-SPORTS']['end'], '2026-04-18')
            # The Gold pack the wallet paid stays capped at the month's end
            self.assertEqual(products['P-GOLD']['end'], '2026-03-31')

    @with_transaction()
    def test_block_range(self):
        "A stolen box of cards is blocked: its PINs are refused"
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        with self.operator() as op:
            rows = self.sold(op, op.top_up, 5)
            connection = new_connection(op)
            blocked = Voucher.block(
                Voucher.in_range('RC00000003', 'RC00000005'),
                note="FIR 112/2026")
            self.assertEqual(len(blocked), 3)
            with self.assertRaises(RedeemRefused):
                Voucher.redeem(connection.subscriber, rows[3]['pin'])
            Voucher.unblock(Voucher.in_range('RC00000004', 'RC00000004'))
            voucher = Voucher.redeem(connection.subscriber, rows[3]['pin'])
            self.assertEqual(voucher.serial, 'RC00000004')
            event = Voucher.in_range('RC00000003', 'RC00000003')[0].events[0]
            self.assertEqual((event.to_state, event.note),
                ('blocked', "FIR 112/2026"))

    @with_transaction()
    def test_expire_and_purge(self):
        "Vouchers past their last day expire; the liability is released"
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        with self.operator() as op:
            rows = self.sold(op, op.top_up, 3)
            connection = new_connection(op)
            Voucher.redeem(connection.subscriber, rows[0]['pin'])
            expired = Voucher.expire(TODAY + dt.timedelta(days=91))
            self.assertEqual(len(expired), 2)
            self.assertEqual(self.balance(op.liability, op.lco_a.party),
                Decimal('0.00'))
            self.assertEqual(self.balance(op.expiry), Decimal('600.00'))
            op.today.return_value = TODAY + dt.timedelta(days=91)
            with self.assertRaises(RedeemRefused):
                Voucher.redeem(connection.subscriber, rows[1]['pin'])
            purged = Voucher.purge(TODAY + dt.timedelta(days=91 + 365))
            self.assertEqual(len(purged), 3)
            self.assertEqual(
                {v.pin_hash for v in Voucher.browse(purged)}, {None})

    @SQLITE_ONLY
    @with_transaction()
    def test_lockout(self):
        "Wrong PINs lock the account, the login and the address out"
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        Attempt = pool.get('rsoft.voucher.attempt')
        with self.operator() as op:
            rows = self.sold(op, op.top_up, 2)
            connection = new_connection(op)
            subscriber = connection.subscriber
            for i in range(5):
                with self.assertRaises(RedeemRefused):
                    Voucher.redeem(subscriber, f'{i:014d}',
                        ip_address='10.9.9.9')
            # The right PIN now: refused the same way
            with self.assertRaises(RedeemRefused) as refused:
                Voucher.redeem(subscriber, rows[0]['pin'])
            self.assertEqual(refused.exception.message, REFUSED)
            self.assertEqual(Attempt.search([], order=[('id', 'DESC')],
                    limit=1)[0].result, 'locked')
            # Another account from the same address is locked out too
            other = new_connection(op, serial='GX00000002')
            with self.assertRaises(RedeemRefused):
                Voucher.redeem(other.subscriber, rows[0]['pin'],
                    ip_address='10.9.9.9')
            # After the window the account may try again
            op.now.return_value = NOW + dt.timedelta(minutes=31)
            voucher = Voucher.redeem(subscriber, rows[0]['pin'])
            self.assertEqual(voucher.state, 'redeemed')

    def test_keyspace(self):
        """A million random guesses against a million live PINs of the
        default template (14 digits) hit 0.01 times on average"""
        hits = expected_hits(10 ** 14, 10 ** 6, 10 ** 6)
        self.assertEqual(hits, 0.01)
        self.assertLess(hits, 1)
        # 12 characters of 25 letters and digits
        self.assertLess(expected_hits(25 ** 12, 10 ** 6, 10 ** 6), 1e-4)

    @with_transaction()
    def test_keyspace_minimum(self):
        "A template whose PINs are too easy to guess is refused"
        pool = Pool()
        Template = pool.get('rsoft.voucher.template')
        with self.operator() as op:
            with self.assertRaises(UserError):
                Template.write([op.top_up], {'pin_length': 10})

    @with_transaction()
    def test_access(self):
        "An LCO login reads its vouchers only; nobody writes them"
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        with self.operator() as op:
            batch, _ = self.generate(op.top_up, 4)
            Voucher.allocate(
                Voucher.in_range('RC00000001', 'RC00000002'), op.lco_a)
            Voucher.allocate(
                Voucher.in_range('RC00000003', 'RC00000004'), op.lco_b)
            with rpc_as(op.user_a):
                self.assertEqual(
                    [v.serial for v in Voucher.search([])],
                    ['RC00000001', 'RC00000002'])
                with self.assertRaises(AccessError):
                    Voucher.read([v.id for v in Voucher.search(
                                [], order=[])], ['pin_hash'])
                with self.assertRaises(AccessError):
                    pool.get('rsoft.voucher.batch').read(
                        [batch.id], ['quantity'])
            mine = Voucher.in_range('RC00000001', 'RC00000001')
            with rpc_as(op.manager):
                with self.assertRaises(UserError):
                    Voucher.write(mine, {'state': 'active'})

    @with_transaction()
    def test_reports(self):
        "The spreadsheets are made for every report"
        pool = Pool()
        with self.operator() as op:
            self.sold(op, op.top_up, 3)
            for name in ['rsoft.voucher.batch.xlsx', 'rsoft.voucher.xlsx',
                    'rsoft.voucher.stock.xlsx', 'rsoft.voucher.sales.xlsx',
                    'rsoft.voucher.ageing.xlsx',
                    'rsoft.voucher.expiring.xlsx',
                    'rsoft.voucher.blocked.xlsx']:
                Report = pool.get(name, type='report')
                ext, content, _, _ = Report.execute([], {})
                self.assertEqual(ext, 'xlsx')
                self.assertTrue(content.startswith(b'PK'))


del ModuleTestCase
