import datetime as dt
import json
from contextlib import contextmanager
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessButtonError, AccessError
from trytond.modules.rsoft_cas.drivers import base
from trytond.modules.rsoft_catalogue.tests.tools import rpc_as
from trytond.modules.rsoft_ppv.purchase import local
from trytond.modules.rsoft_subscriber.tests.tools import create_subscriber
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction

from .tools import (
    FINAL,
    NOW,
    TODAY,
    clock,
    create_ppv_operator,
    create_video,
    new_connection,
)

D = dt.date
DT = dt.datetime
# The IPL final: Rs 199 + GST 18% 35.82 + cess 1% of 234.82 = 2.35
FINAL_TOTAL = Decimal('237.17')
# The boxing night: Rs 299 + 53.82 + 3.53
BOXING_TOTAL = Decimal('356.35')
# Sairat: Rs 49 + 8.82 + 0.58
SAIRAT_TOTAL = Decimal('58.40')


class PpvTestCase(FixtureMixin, ModuleTestCase):
    "Test PPV events and VOD titles, bought, entitled, billed, cancelled"
    module = 'rsoft_ppv'

    @classmethod
    def set_up_fixture(cls):
        return create_ppv_operator()

    @contextmanager
    def operator(self, now=NOW):
        with self.fixture() as op, clock(now) as (op_now, op_today):
            op.now, op.today = op_now, op_today
            yield op

    def at(self, op, now):
        "Move the clocks to now (UTC)"
        op.now.return_value = now
        op.today.return_value = (
            now + dt.timedelta(hours=5, minutes=30)).date()

    def balance(self, connection):
        Wallet = Pool().get('rsoft.wallet')
        wallet, = Wallet.get_wallets([connection.subscriber])
        return wallet.balance

    def entitlements(self, connection):
        """Return the products of the last ENTITLE command of the card of
        connection, once the commit's sync has run"""
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Command = pool.get('rsoft.cas.command')
        CasDevice.sync()
        command = Command.search([
                ('connection', '=', connection.id),
                ('action', '=', 'entitle'),
                ], order=[('id', 'DESC')], limit=1)[0]
        return json.loads(command.payload)['products']

    @with_transaction()
    def test_buy_from_wallet(self):
        "A prepaid subscriber buys the final from the wallet: paid at once"
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        Event = pool.get('rsoft.subscriber.event')
        with self.operator() as op:
            connection = new_connection(op, wallet='1000')
            purchase = Purchase.buy(connection, op.final, source='portal')

            self.assertRegex(purchase.number, r'^PPV\d{8}$')
            self.assertEqual(purchase.state, 'confirmed')
            self.assertEqual(purchase.payment, 'wallet')
            self.assertEqual(purchase.source, 'portal')
            self.assertEqual(purchase.kind, 'ppv')
            self.assertEqual(purchase.subscriber, connection.subscriber)
            self.assertEqual(
                (purchase.window_start, purchase.window_end), FINAL[:2])
            self.assertEqual(purchase.untaxed_amount, Decimal('199.00'))
            self.assertEqual(purchase.tax_amount, Decimal('38.17'))
            self.assertEqual(purchase.total_amount, FINAL_TOTAL)
            self.assertEqual(purchase.purchased_at, NOW)
            self.assertEqual(purchase.purchased_by.login, 'admin')
            self.assertEqual(purchase.viewing, 'upcoming')

            # The wallet's ledger shows the debit, the purchase its origin
            self.assertEqual(self.balance(connection), Decimal('762.83'))
            entry = purchase.wallet_entry
            self.assertEqual(entry.kind, 'debit')
            self.assertEqual(entry.amount, -FINAL_TOTAL)
            self.assertEqual(entry.balance, Decimal('762.83'))
            self.assertEqual(entry.origin, purchase)
            self.assertEqual(entry.date, TODAY)
            self.assertEqual(entry.description,
                "PPV: IPL Final, 03/08/2026 14:00 to 22:30")

            # Invoiced at once, GST and cess, paid by the wallet
            invoice = purchase.invoice
            self.assertEqual(invoice.state, 'paid')
            self.assertEqual(invoice.total_amount, FINAL_TOTAL)
            line, = invoice.lines
            self.assertEqual(line.unit_price, Decimal('199.00'))
            self.assertEqual(line.description, purchase.charge.description)
            self.assertEqual(line.rsoft_section, 'service')
            self.assertEqual(purchase.charge.kind, 'one_time')

            # The entitlement: a line ended from the start, the day of
            # the match in India
            self.assertEqual(purchase.line.state, 'ended')
            self.assertEqual(purchase.line.start_date, D(2026, 3, 8))
            self.assertEqual(purchase.line.end_date, D(2026, 3, 8))
            event, = Event.search([
                    ('subscriber', '=', connection.subscriber.id),
                    ('action', '=', 'purchase'),
                    ])
            self.assertIn(purchase.number, event.description)

    @with_transaction()
    def test_wallet_short(self):
        "A wallet short of the price refuses the purchase, changing nothing"
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        Charge = pool.get('rsoft.billing.charge')
        Line = pool.get('rsoft.subscription.line')
        with self.operator() as op:
            connection = new_connection(op, wallet='100')
            lines = Line.search([])
            charges = Charge.search([])
            with self.assertRaises(UserError) as cm:
                Purchase.buy(connection, op.final)
            self.assertEqual(cm.exception.message,
                f"The wallet of {connection.subscriber.rec_name} holds "
                "₹100.00 and \"IPL Final\" costs ₹237.17: ₹137.17 "
                "missing. Top up the wallet first.")
            self.assertEqual(Purchase.search([]), [])
            self.assertEqual(Line.search([]), lines)
            self.assertEqual(Charge.search([]), charges)
            self.assertEqual(self.balance(connection), Decimal('100.00'))

    @with_transaction()
    def test_credit_on_next_bill(self):
        """A postpaid subscriber buys on credit: the next bill carries the
        charge as a one-time line with its taxes"""
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        Subscriber = pool.get('rsoft.subscriber')
        with self.operator() as op:
            connection = new_connection(op, mode='postpaid')
            subscriber = connection.subscriber
            purchase = Purchase.buy(connection, op.final)
            self.assertEqual(purchase.payment, 'credit')
            self.assertEqual(purchase.total_amount, FINAL_TOTAL)
            self.assertIsNone(purchase.invoice)
            self.assertIsNone(purchase.wallet_entry)
            self.assertEqual(Purchase.credit_used(subscriber), FINAL_TOTAL)

            self.at(op, DT(2026, 4, 1, 0, 30))
            invoice, = Subscriber.bill([Subscriber(subscriber.id)],
                D(2026, 4, 1))
            purchase = Purchase(purchase.id)
            self.assertEqual(purchase.invoice, invoice)
            line, = [line for line in invoice.lines
                if line.description.startswith('PPV: IPL Final')]
            self.assertEqual(line.unit_price, Decimal('199.00'))
            self.assertEqual(line.amount, Decimal('199.00'))
            self.assertEqual(
                {t.name for t in line.taxes}, {"GST 18%", "Cess 1%"})
            self.assertEqual(line.rsoft_section, 'service')
            self.assertEqual(Purchase.credit_used(subscriber), Decimal(0))

            # Billed again: nothing is charged twice
            self.assertEqual(Subscriber.bill(
                    [Subscriber(subscriber.id)], D(2026, 4, 1)), [])

    @with_transaction()
    def test_credit_limit(self):
        "Impulse buys on credit stop at the limit; a prepaid has none"
        pool = Pool()
        Configuration = pool.get('rsoft.ppv.configuration')
        Purchase = pool.get('rsoft.ppv.purchase')
        Subscriber = pool.get('rsoft.subscriber')
        with self.operator() as op:
            self.assertEqual(Configuration(1).credit_limit, Decimal(500))
            connection = new_connection(op, mode='postpaid')
            subscriber = connection.subscriber
            Purchase.buy(connection, op.final)
            with self.assertRaises(UserError) as cm:
                Purchase.buy(connection, op.boxing)
            self.assertEqual(cm.exception.message,
                f"\"Boxing Night\" costs ₹356.35 and account "
                f"{subscriber.rec_name} owes ₹237.17 for purchases not yet "
                "billed: its impulse credit limit is ₹500.00 (₹262.83 "
                "left).")
            self.assertEqual(len(Purchase.search([])), 1)

            # The MSO raises this account's limit
            Subscriber.write([subscriber], {'ppv_credit_limit': 600})
            purchase = Purchase.buy(connection, op.boxing)
            self.assertEqual(purchase.total_amount, BOXING_TOTAL)
            self.assertEqual(Purchase.credit_used(subscriber),
                FINAL_TOTAL + BOXING_TOTAL)

            # A prepaid account buys on credit only when allowed
            prepaid = new_connection(op, serial='GX00000002', wallet='1000')
            with self.assertRaises(UserError) as cm:
                Purchase.buy(prepaid, op.final, 'credit')
            self.assertEqual(cm.exception.message,
                f"Account {prepaid.subscriber.rec_name} has no impulse "
                "credit: pay \"IPL Final\" from its wallet.")
            Subscriber.write([prepaid.subscriber], {'ppv_credit_limit': 300})
            purchase = Purchase.buy(prepaid, op.final, 'credit')
            self.assertEqual(purchase.payment, 'credit')
            self.assertEqual(self.balance(prepaid), Decimal('1000.00'))

    @with_transaction()
    def test_double_buy(self):
        "A double click buys once: the second purchase is refused"
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        with self.operator() as op:
            connection = new_connection(op, wallet='1000')
            purchase = Purchase.buy(connection, op.final)
            with self.assertRaises(UserError) as cm:
                Purchase.buy(connection, op.final)
            self.assertIn('"IPL Final" is bought already for connection',
                cm.exception.message)
            self.assertIn(purchase.number, cm.exception.message)
            self.assertEqual(Purchase.search([]), [purchase])
            self.assertEqual(self.balance(connection), Decimal('762.83'))

            # Another connection of the account buys it for itself
            other = new_connection(op, serial='GX00000002', wallet='1000')
            self.assertTrue(Purchase.buy(other, op.final))

    @with_transaction()
    def test_window_over(self):
        "Sales close at the cut-off, and nothing is bought after the end"
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        with self.operator() as op:
            connection = new_connection(op, wallet='1000')
            # 20:30 in India: the match runs, its sales closed at 20:00
            self.at(op, DT(2026, 3, 8, 15, 0))
            with self.assertRaises(UserError) as cm:
                Purchase.buy(connection, op.final)
            self.assertEqual(cm.exception.message,
                "The sales of \"IPL Final\" closed at 03/08/2026 20:00.")
            # Sunday 02:00 in India: the boxing night is over
            self.at(op, DT(2026, 3, 7, 20, 30))
            with self.assertRaises(UserError) as cm:
                Purchase.buy(connection, op.boxing)
            self.assertIn('closed at 03/08/2026 01:00',
                cm.exception.message)
            self.assertEqual(Purchase.search([]), [])
            names = [o['name'] for o in Purchase.purchasable(connection)]
            self.assertEqual(names, ['IPL Final', 'Sairat (Marathi)'])

    @with_transaction()
    def test_bought_during_the_window(self):
        "Bought while the boxing runs: entitled from today, not before"
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        with self.operator() as op:
            connection = new_connection(op, wallet='1000')
            # 00:30 on Sunday in India: the last half hour
            self.at(op, DT(2026, 3, 7, 19, 0))
            purchase = Purchase.buy(connection, op.boxing)
            self.assertEqual(purchase.viewing, 'open')
            self.assertEqual(purchase.line.start_date, D(2026, 3, 8))
            self.assertEqual(purchase.line.end_date, D(2026, 3, 8))
            with self.assertRaises(UserError) as cm:
                Purchase.cancel([purchase])
            self.assertIn('it can no longer be cancelled',
                cm.exception.message)

    @with_transaction()
    def test_cas_command(self):
        "The purchase entitles the card for the window, in UTC"
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        with self.operator() as op:
            connection = new_connection(op, wallet='1000')
            before = self.entitlements(connection)
            self.assertNotIn('PPV-IPL-FINAL', [p['id'] for p in before])

            Purchase.buy(connection, op.final)
            products = self.entitlements(connection)
            # 14:00 to 22:30 in India
            self.assertIn({'id': 'PPV-IPL-FINAL',
                    'start': '2026-03-08T08:30:00Z',
                    'end': '2026-03-08T17:00:00Z'}, products)
            self.assertEqual(
                [p for p in products if p['id'] != 'PPV-IPL-FINAL'], before)

            # The boxing night ends after midnight in India
            boxing = Purchase.buy(connection, op.boxing)
            self.assertEqual(boxing.charge.description,
                "PPV: Boxing Night, 03/07/2026 21:00 to 03/08/2026 01:00")
            self.assertIn({'id': 'PPV-BOXING',
                    'start': '2026-03-07T15:30:00Z',
                    'end': '2026-03-07T19:30:00Z'},
                self.entitlements(connection))

    @with_transaction()
    def test_event_window_ends_in_cas(self):
        """An evening match, 19:30 to 23:00 in India: the card is entitled
        for those hours and loses the match when it ends"""
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Command = pool.get('rsoft.cas.command')
        Purchase = pool.get('rsoft.ppv.purchase')
        with self.operator() as op:
            match = create_video("India v Pakistan", 'ppv', '99',
                'PPV-INDPAK', window=(
                    DT(2026, 3, 8, 14, 0), DT(2026, 3, 8, 17, 30), None))
            connection = new_connection(op, wallet='1000')
            purchase = Purchase.buy(connection, match)

            products = self.entitlements(connection)
            window, = [p for p in products if p['id'] == 'PPV-INDPAK']
            self.assertEqual(window, {'id': 'PPV-INDPAK',
                    'start': '2026-03-08T14:00:00Z',
                    'end': '2026-03-08T17:30:00Z'})
            window = base.Product.from_dict(window)
            self.assertEqual(
                [f'{local(t, op.company):%H:%M}'
                    for t in [window.start, window.end]],
                ['19:30', '23:00'])
            card, = CasDevice.search([('connection', '=', connection.id)])
            self.assertEqual(card.expires_at, DT(2026, 3, 8, 17, 30))
            self.assertIsNone(card.expires)

            # 22:59 in India: the match runs, nothing to command
            self.at(op, DT(2026, 3, 8, 17, 29))
            commands = Command.search_count([])
            CasDevice.expire()
            self.assertEqual(Command.search_count([]), commands)
            self.assertEqual(purchase.viewing, 'open')

            # 23:00: the SMS commands the card without the match
            self.at(op, DT(2026, 3, 8, 17, 30))
            CasDevice.expire()
            after = self.entitlements(connection)
            self.assertEqual(after,
                [p for p in products if p['id'] != 'PPV-INDPAK'])
            card = CasDevice(card.id)
            self.assertIsNone(card.expires_at)
            self.assertNotIn('PPV-INDPAK', card.products)
            desired = CasDevice.desired(card.device, card.system,
                D(2026, 3, 8))
            self.assertEqual(desired.products, after)
            self.assertEqual(Purchase(purchase.id).viewing, 'over')

    @with_transaction()
    def test_event_window_capped_by_wallet(self):
        """A prepaid account paid up to Saturday buys the boxing night: the
        card is entitled until midnight in India, when its wallet's
        days end"""
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        Subscriber = pool.get('rsoft.subscriber')
        with self.operator() as op:
            connection = new_connection(op, wallet='1000')
            Subscriber.write([connection.subscriber],
                {'billed_until': D(2026, 3, 7)})
            Purchase.buy(connection, op.boxing)
            self.assertEqual(self.entitlements(connection), [
                    {'id': 'P-GOLD', 'start': '2026-03-02',
                        'end': '2026-03-07'},
                    {'id': 'P-NCF', 'start': '2026-03-02',
                        'end': '2026-03-07'},
                    {'id': 'PPV-BOXING', 'start': '2026-03-07T15:30:00Z',
                        'end': '2026-03-07T18:30:00Z'},
                    ])

    @with_transaction()
    def test_vod_rental(self):
        "A film is rented for 48 hours from its purchase"
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Purchase = pool.get('rsoft.ppv.purchase')
        with self.operator(now=DT(2026, 3, 2, 15, 30)) as op:
            connection = new_connection(op, wallet='1000')
            purchase = Purchase.buy(connection, op.sairat)
            self.assertEqual(purchase.kind, 'vod')
            self.assertEqual(purchase.window_start, DT(2026, 3, 2, 15, 30))
            self.assertEqual(purchase.window_end, DT(2026, 3, 4, 15, 30))
            self.assertEqual(purchase.viewing, 'open')
            self.assertEqual(purchase.total_amount, SAIRAT_TOTAL)
            self.assertEqual(self.balance(connection), Decimal('941.60'))
            self.assertEqual(purchase.charge.description,
                "VOD: Sairat (Marathi), 48 h from 03/02/2026 21:00")
            # 48 hours to the second, from 21:00 in India
            self.assertIn({'id': 'VOD-SAIRAT',
                    'start': '2026-03-02T15:30:00Z',
                    'end': '2026-03-04T15:30:00Z'},
                self.entitlements(connection))
            # Rented again only once the rental is over
            with self.assertRaises(UserError):
                Purchase.buy(connection, op.sairat)
            self.at(op, DT(2026, 3, 4, 15, 30))
            CasDevice.expire()
            self.assertNotIn('VOD-SAIRAT',
                [p['id'] for p in self.entitlements(connection)])
            self.at(op, DT(2026, 3, 4, 16, 0))
            again = Purchase.buy(connection, op.sairat)
            self.assertEqual(again.line.start_date, D(2026, 3, 4))
            self.assertIn({'id': 'VOD-SAIRAT',
                    'start': '2026-03-04T16:00:00Z',
                    'end': '2026-03-06T16:00:00Z'},
                self.entitlements(connection))

    @with_transaction()
    def test_cancel_refunds(self):
        """The back office cancels before the window: the wallet is
        refunded, the entitlement revoked, the charge credited"""
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        Event = pool.get('rsoft.subscriber.event')
        with self.operator() as op:
            connection = new_connection(op, wallet='1000')
            purchase = Purchase.buy(connection, op.final)
            self.assertIn('PPV-IPL-FINAL',
                [p['id'] for p in self.entitlements(connection)])

            self.at(op, DT(2026, 3, 3, 6, 0))
            Purchase.cancel([purchase])
            purchase = Purchase(purchase.id)
            self.assertEqual(purchase.state, 'cancelled')
            self.assertEqual(purchase.cancelled_at, DT(2026, 3, 3, 6, 0))
            self.assertEqual(purchase.cancelled_by.login, 'admin')
            self.assertEqual(purchase.line.state, 'cancelled')
            self.assertEqual(purchase.credit_charge.kind, 'credit')
            self.assertEqual(purchase.credit_charge.amount,
                Decimal('-199.00'))
            refund = purchase.refund_entry
            self.assertEqual(refund.kind, 'refund')
            self.assertEqual(refund.amount, FINAL_TOTAL)
            self.assertEqual(refund.origin, purchase)
            self.assertEqual(self.balance(connection), Decimal('1000.00'))
            credit_note = purchase.credit_charge.invoice_line.invoice
            self.assertEqual(credit_note.total_amount, -FINAL_TOTAL)
            self.assertEqual(credit_note.state, 'paid')
            self.assertNotIn('PPV-IPL-FINAL',
                [p['id'] for p in self.entitlements(connection)])
            self.assertEqual(len(Event.search([
                            ('subscriber', '=', connection.subscriber.id),
                            ('action', '=', 'cancel'),
                            ('line', '=', purchase.line.id),
                            ])), 1)
            # Cancelled once: a second click changes nothing
            Purchase.cancel([purchase])
            self.assertEqual(self.balance(connection), Decimal('1000.00'))
            # Bought again after the cancellation
            self.assertTrue(Purchase.buy(connection, op.final))

    @with_transaction()
    def test_cancel_credit(self):
        "A purchase on credit cancelled: its credit nets it on the bill"
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        Subscriber = pool.get('rsoft.subscriber')
        with self.operator() as op:
            connection = new_connection(op, mode='postpaid')
            subscriber = connection.subscriber
            purchase = Purchase.buy(connection, op.final)
            Purchase.cancel([purchase])
            purchase = Purchase(purchase.id)
            self.assertIsNone(purchase.refund_entry)
            self.assertEqual(Purchase.credit_used(subscriber), Decimal(0))
            invoice, = Subscriber.bill([Subscriber(subscriber.id)],
                D(2026, 4, 1))
            ppv = [line.amount for line in invoice.lines
                if 'IPL Final' in line.description]
            self.assertEqual(sorted(ppv),
                [Decimal('-199.00'), Decimal('199.00')])

    @with_transaction()
    def test_refusals(self):
        "Only an active TV connection with a box entitled may buy"
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Purchase = pool.get('rsoft.ppv.purchase')
        Subscriber = pool.get('rsoft.subscriber')
        with self.operator() as op:
            connection = new_connection(op, wallet='1000')
            Connection.do_suspend([connection], 'other')
            with self.assertRaises(UserError) as cm:
                Purchase.buy(connection, op.final)
            self.assertEqual(cm.exception.message,
                f"Connection {connection.rec_name} is Suspended: only an "
                "active connection can buy an event or a title.")
            self.assertEqual(Purchase.purchasable(connection), [])
            Connection.resume([connection])

            # A prepaid account paid until before the match
            Subscriber.write([connection.subscriber],
                {'billed_until': D(2026, 3, 7)})
            with self.assertRaises(UserError) as cm:
                Purchase.buy(connection, op.final)
            self.assertIn('renew the account first', cm.exception.message)

            Subscriber.write([connection.subscriber], {'billed_until': None})

            with self.assertRaises(UserError) as cm:
                Purchase.buy(connection, op.gold)
            self.assertEqual(cm.exception.message,
                "\"Gold Pack\" is not a PPV event or a VOD title.")

            # An account whose box is not installed yet
            bare = create_subscriber(op.lco_a)
            Subscriber.activate([bare], TODAY)
            bare, = Subscriber(bare.id).connections
            with self.assertRaises(UserError) as cm:
                Purchase.buy(bare, op.final)
            self.assertEqual(cm.exception.message,
                f"Connection {bare.rec_name} has no installed box or card "
                "the head-end can entitle: install one before buying.")

    @with_transaction()
    def test_purchasable(self):
        "What a connection may buy now, with the prices it pays"
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        with self.operator() as op:
            connection = new_connection(op, wallet='1000')
            offers = Purchase.purchasable(connection)
            self.assertEqual(
                [(o['name'], o['kind'], o['total_amount'])
                    for o in offers],
                [('Boxing Night', 'ppv', BOXING_TOTAL),
                    ('IPL Final', 'ppv', FINAL_TOTAL),
                    ('Sairat (Marathi)', 'vod', SAIRAT_TOTAL)])
            final = offers[1]
            self.assertEqual(final['price'], Decimal('199.00'))
            self.assertEqual(final['sale_end'], FINAL[2])
            self.assertEqual(offers[2]['rental_hours'], 48)
            Purchase.buy(connection, op.final)
            self.assertEqual(
                [o['name'] for o in Purchase.purchasable(connection)],
                ['Boxing Night', 'Sairat (Marathi)'])
            purchases = Purchase.for_subscriber(connection.subscriber)
            self.assertEqual([p.product for p in purchases], [op.final])

    @with_transaction()
    def test_event_rules(self):
        "An event's window is checked, and fixed once it is bought"
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        Template = pool.get('product.template')
        with self.operator() as op:
            final = op.final.template
            values = {
                'name': "Semi-final", 'rsoft_kind': 'ppv',
                'default_uom': final.default_uom.id,
                }
            for window, message in [
                    ({'ppv_start': FINAL[0]}, "A value is required for "
                        "field \"Window End\" in record \"Semi-final\" of "
                        "\"Product Template\"."),
                    ({'ppv_start': FINAL[1], 'ppv_end': FINAL[0]},
                        "The viewing window of \"Semi-final\" must end "
                        "after it starts."),
                    ({'ppv_start': FINAL[0], 'ppv_end': FINAL[1],
                            'ppv_sale_end': FINAL[1] + dt.timedelta(
                                hours=1)},
                        "The sales of \"Semi-final\" must close by the "
                        "end of its viewing window."),
                    ]:
                with self.assertRaises(UserError) as cm:
                    Template.create([{**values, **window}])
                self.assertEqual(cm.exception.message, message)
            with self.assertRaises(UserError) as cm:
                Template.create([{**values, 'name': "Lagaan",
                            'rsoft_kind': 'vod', 'vod_hours': 0}])
            self.assertEqual(cm.exception.message,
                "VOD title \"Lagaan\" needs a rental period of at least "
                "one hour.")

            # A later end before anyone bought it
            Template.write([final], {'ppv_end': FINAL[1]
                    + dt.timedelta(minutes=30)})
            connection = new_connection(op, wallet='1000')
            Purchase.buy(connection, op.final)
            with self.assertRaises(UserError) as cm:
                Template.write([final], {'ppv_end': FINAL[1]
                        + dt.timedelta(hours=1)})
            self.assertIn('"IPL Final" is bought already',
                cm.exception.message)

            # The CAS product, in every CAS system
            self.assertEqual(final.cas_product, 'PPV-IPL-FINAL')
            Template.write([final], {'cas_product': 'PPV-IPL-26'})
            self.assertEqual(Template(final.id).cas_product, 'PPV-IPL-26')
            self.assertEqual(op.system.product_ids(op.final), ['PPV-IPL-26'])

    @with_transaction()
    def test_access(self):
        """LCO-A reads its subscribers' purchases, LCO-B none; nobody
        writes them; the MSO's administrators alone cancel"""
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        Subscriber = pool.get('rsoft.subscriber')
        with self.operator() as op:
            connection = new_connection(op, wallet='1000')
            purchase = Purchase.buy(connection, op.final)
            subscriber = connection.subscriber
            with rpc_as(op.user_a):
                self.assertEqual(Purchase.search([]), [purchase])
                with self.assertRaises(AccessError):
                    Purchase.write([purchase], {'number': 'X'})
                with self.assertRaises(AccessButtonError):
                    Purchase.cancel([purchase])
                with self.assertRaises(AccessError):
                    Subscriber.write([subscriber],
                        {'ppv_credit_limit': 10000})
            with rpc_as(op.user_b):
                self.assertEqual(Purchase.search([]), [])
                with self.assertRaises(AccessError):
                    Purchase.read([purchase.id], ['number'])
            with rpc_as(op.clerk):
                with self.assertRaises(AccessButtonError):
                    Purchase.cancel([purchase])
                with self.assertRaises(UserError):
                    Purchase.delete([purchase])
            with rpc_as(op.manager):
                with self.assertRaises(UserError):
                    Purchase.write([purchase], {'number': 'X'})
                Subscriber.write([subscriber], {'ppv_credit_limit': 800})
                Purchase.cancel([purchase])
            self.assertEqual(Purchase(purchase.id).state, 'cancelled')


del ModuleTestCase
