import datetime
from decimal import Decimal
from unittest.mock import patch

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessButtonError, AccessError
from trytond.modules.rsoft_billing.tests.tools import new_account
from trytond.modules.rsoft_catalogue.tests.tools import rpc_as
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .tools import create_settlement_operator

D = datetime.date


class SettlementTestCase(FixtureMixin, ModuleTestCase):
    "Monthly settlements of the LCOs and joint ventures"
    module = 'rsoft_lco'

    @classmethod
    def set_up_fixture(cls):
        return create_settlement_operator()

    def march(self, op):
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Line = pool.get('rsoft.subscription.line')
        Payment = pool.get('rsoft.payment')
        Subscriber = pool.get('rsoft.subscriber')
        TopUp = pool.get('rsoft.lco.top_up')
        Wallet = pool.get('rsoft.wallet')
        methods = op.payments.methods
        s1 = new_account(op.lco_d, D(2025, 3, 1), billing_mode='postpaid',
            billing_cycle=1, bill_day_mode='fixed', bill_day=1)
        subscribe(s1.connections[0], op.gold, D(2025, 3, 1))
        subscribe(s1.connections[0], op.rental, D(2025, 3, 1))
        connection = s1.connections[0]
        Connection.do_suspend([connection], 'non_payment', date=D(2025, 3, 21))
        Connection.resume([Connection(connection.id)], date=D(2025, 3, 28))
        s2 = new_account(op.lco_d, D(2025, 3, 1), billing_mode='postpaid',
            billing_cycle=1, bill_day_mode='fixed', bill_day=1)
        silver = subscribe(s2.connections[0], op.silver, D(2025, 3, 1))
        Line.stop([silver], D(2025, 3, 10))
        subscribe(s2.connections[0], op.gold, D(2025, 3, 10))
        s3 = new_account(op.lco_d, D(2025, 3, 1), billing_mode='prepaid',
            billing_cycle=1, bill_day_mode='fixed', bill_day=1)
        wallet, = Wallet.get_wallets([s3])
        Wallet.top_up([(wallet, Decimal('1000'), D(2025, 3, 1))])
        subscribe(s3.connections[0], op.gold, D(2025, 3, 1))
        Subscriber.bill([Subscriber(s3.id)], D(2025, 3, 1))
        Subscriber.terminate([Subscriber(s3.id)], D(2025, 3, 21))
        Subscriber.bill([Subscriber(s3.id)], D(2025, 3, 21))
        Subscriber.bill([Subscriber(s1.id), Subscriber(s2.id)], D(2025, 4, 1))
        TopUp.record(op.lco_a, Decimal('1000'), methods['bank_transfer'],
            D(2025, 3, 1))
        s4 = new_account(op.lco_a, D(2025, 3, 1), billing_mode='prepaid',
            billing_cycle=1, bill_day_mode='fixed', bill_day=1)
        wallet, = Wallet.get_wallets([s4])
        Wallet.top_up([(wallet, Decimal('1000'), D(2025, 3, 1))])
        subscribe(s4.connections[0], op.gold, D(2025, 3, 1))
        Subscriber.bill([Subscriber(s4.id)], D(2025, 3, 1))
        Payment.record(s1, Decimal('500'), methods['cash'], D(2025, 3, 25),
            collector=op.collector_d)
        Payment.record(s2, Decimal('300'), methods['gateway'],
            D(2025, 3, 28), collector=op.payments.online)
        Payment.record(s1, Decimal('100'), methods['cash'], D(2025, 4, 2),
            collector=op.collector_d)
        Payment.record(s4, Decimal('200'), methods['gateway'],
            D(2025, 3, 5), collector=op.payments.online)
        Payment.record(s4, Decimal('150'), methods['cash'],
            D(2025, 3, 6), collector=op.payments.agent)
        return s1, s2, s3, s4

    def settle(self, *partners, date=D(2025, 3, 31)):
        Settlement = Pool().get('rsoft.lco.settlement')
        return Settlement.settle(list(partners), date)

    @staticmethod
    def figures(settlement):
        return [(line.kind, line.lco.code, line.base, line.rate, line.amount)
            for line in settlement.lines]

    @with_transaction()
    def test_lco_month(self):
        """LCO-D's March: its shares of what was billed, less the cash its
        counter kept; posted as a supplier credit note; a rerun changes
        nothing"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Settlement = pool.get('rsoft.lco.settlement')
        with self.fixture() as op:
            self.march(op)
            settlement, = self.settle(op.lco_d)

            self.assertEqual(settlement.state, 'draft')
            self.assertEqual(
                (settlement.period_start, settlement.period_end),
                (D(2025, 3, 1), D(2025, 3, 31)))
            self.assertFalse(settlement.wallet)
            # NCF: S3 130 - 46.13 (terminated on the 21st) + S1 100.65
            # (24 days, suspended 21 to 27) + S2 130 = 314.52; 45% = 141.53
            # Pay channels: S3 Gold 310 - 110 + S1 Gold 240 (24 days) + S2
            # Silver 58.06 (9 days) + Gold 220 (22 days) = 718.06;
            # 20% = 143.61
            # Hardware: S1's rental 50 (runs while suspended); 10% = 5.00
            # Kept: the Rs 500 cash of S1 at LCO-D's counter (the gateway
            # payment is the MSO's, the April cash is April's)
            self.assertEqual(self.figures(settlement), [
                    ('ncf', 'LCO-D', Decimal('314.52'), Decimal('0.45'),
                        Decimal('141.53')),
                    ('pay_channel', 'LCO-D', Decimal('718.06'),
                        Decimal('0.20'), Decimal('143.61')),
                    ('hardware', 'LCO-D', Decimal('50.00'), Decimal('0.10'),
                        Decimal('5.00')),
                    ('collection_kept', 'LCO-D', Decimal('500.00'),
                        Decimal(-1), Decimal('-500.00')),
                    ])
            ncf = settlement.lines[0]
            self.assertEqual(ncf.count, 4)
            self.assertIn('45.00% of NCF', ncf.description)
            self.assertIn('3 account(s)', ncf.description)
            # 141.53 + 143.61 + 5.00 = 290.14; 290.14 - 500 = -209.86
            self.assertEqual(
                (settlement.share_amount, settlement.collection_amount,
                    settlement.net_amount),
                (Decimal('290.14'), Decimal('-500.00'), Decimal('-209.86')))

            Settlement.post([settlement])
            invoice = settlement.invoice
            self.assertEqual(settlement.state, 'posted')
            self.assertEqual(
                (invoice.type, invoice.state, invoice.party,
                    invoice.invoice_date, invoice.total_amount),
                ('in', 'posted', op.lco_d.party, D(2025, 3, 31),
                    Decimal('-209.86')))
            self.assertEqual(
                [line.origin for line in invoice.lines],
                list(settlement.lines))
            moved = {}
            for line in invoice.move.lines:
                moved.setdefault(line.account, Decimal(0))
                moved[line.account] += line.debit - line.credit
            self.assertEqual(moved[op.lco_expense], Decimal('290.14'))
            self.assertEqual(moved[op.lco_clearing], Decimal('500.00') * -1)
            self.assertEqual(moved[invoice.account], Decimal('209.86'))

            invoices = Invoice.search([], count=True)
            again, = self.settle(op.lco_d, date=D(2025, 3, 5))
            self.assertEqual(again, settlement)
            self.assertEqual(again.state, 'posted')
            self.assertEqual(Settlement.search(
                    [('partner', '=', op.lco_d.id)], count=True), 1)
            self.assertEqual(Invoice.search([], count=True), invoices)

    @with_transaction()
    def test_jv_override(self):
        """The JV earns its share less its LCOs' on their subscribers'
        charges, whether the LCO is on a wallet or not"""
        pool = Pool()
        Settlement = pool.get('rsoft.lco.settlement')
        with self.fixture() as op:
            self.march(op)
            jv, = self.settle(op.jv)
            # LCO-A (S4, Gold from the 1st): NCF 130 x (50% - 45%) = 6.50,
            # Gold 310 x (30% - 20%) = 31.00
            # LCO-D: NCF 314.52 x 5% = 15.73, pay channels 718.06 x 10%
            # = 71.81, hardware 50 x (15% - 10%) = 2.50
            self.assertEqual(self.figures(jv), [
                    ('ncf', 'LCO-A', Decimal('130.00'), Decimal('0.05'),
                        Decimal('6.50')),
                    ('ncf', 'LCO-D', Decimal('314.52'), Decimal('0.05'),
                        Decimal('15.73')),
                    ('pay_channel', 'LCO-A', Decimal('310.00'),
                        Decimal('0.10'), Decimal('31.00')),
                    ('pay_channel', 'LCO-D', Decimal('718.06'),
                        Decimal('0.10'), Decimal('71.81')),
                    ('hardware', 'LCO-D', Decimal('50.00'), Decimal('0.05'),
                        Decimal('2.50')),
                    ])
            self.assertIn("30.00% less the 20.00% of LCO-D",
                jv.lines[3].description)
            # 6.50 + 15.73 + 31.00 + 71.81 + 2.50
            self.assertEqual(jv.net_amount, Decimal('127.54'))
            Settlement.post([jv])
            self.assertEqual(
                (jv.invoice.type, jv.invoice.party, jv.invoice.state,
                    jv.invoice.total_amount),
                ('in', op.jv.party, 'posted', Decimal('127.54')))

    @with_transaction()
    def test_wallet_lco(self):
        """LCO-A paid the MSO's share from its wallet: the MSO owes it
        what the gateway collected on its subscriber, not the cash its
        agent kept"""
        with self.fixture() as op:
            self.march(op)
            settlement, = self.settle(op.lco_a)
            self.assertTrue(settlement.wallet)
            self.assertEqual(self.figures(settlement), [
                    ('collection_owed', 'LCO-A', Decimal('200.00'),
                        Decimal(1), Decimal('200.00')),
                    ])
            self.assertEqual(settlement.net_amount, Decimal('200.00'))
            # Nothing billed nor collected: nothing to settle
            self.assertEqual(self.settle(op.lco_b), [])

    @with_transaction()
    def test_agreement_changes_mid_month(self):
        "LCO-D keeps 25% of pay channels from the 16th: shares by date"
        pool = Pool()
        Agreement = pool.get('rsoft.partner.agreement')
        with self.fixture() as op:
            old, = Agreement.search([('partner', '=', op.lco_d.id)])
            Agreement.write([old], {'end_date': D(2025, 3, 15)})
            Agreement.create([{
                        'partner': op.lco_d.id, 'start_date': D(2025, 3, 16),
                        'ncf_share': Decimal('0.45'),
                        'pay_channel_share': Decimal('0.25'),
                        'hardware_share': Decimal('0.10'),
                        }])
            self.march(op)
            lco, jv = self.settle(op.lco_d, op.jv)
            # Charges from before the 16th: 310 + 240 + 220 + 58.06
            # = 828.06 x 20% = 165.61; S3's credit of the 21st: -110 x 25%
            self.assertEqual(
                [f for f in self.figures(lco) if f[0] == 'pay_channel'], [
                    ('pay_channel', 'LCO-D', Decimal('828.06'),
                        Decimal('0.20'), Decimal('165.61')),
                    ('pay_channel', 'LCO-D', Decimal('-110.00'),
                        Decimal('0.25'), Decimal('-27.50')),
                    ])
            # The JV's override follows: 10% then 30% - 25% = 5%
            self.assertEqual(
                [f for f in self.figures(jv)
                    if f[:2] == ('pay_channel', 'LCO-D')], [
                    ('pay_channel', 'LCO-D', Decimal('828.06'),
                        Decimal('0.10'), Decimal('82.81')),
                    ('pay_channel', 'LCO-D', Decimal('-110.00'),
                        Decimal('0.05'), Decimal('-5.50')),
                    ])

    @with_transaction()
    def test_reversal(self):
        """A reversal credits the invoice; the month is settled again with
        a new settlement"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Settlement = pool.get('rsoft.lco.settlement')
        with self.fixture() as op:
            self.march(op)
            settlement, = self.settle(op.lco_d)
            Settlement.post([settlement])
            Settlement.reverse([settlement])

            self.assertEqual(settlement.state, 'reversed')
            self.assertEqual(settlement.invoice.state, 'cancelled')
            reversal = settlement.reversal
            self.assertEqual(
                (reversal.type, reversal.state, reversal.total_amount),
                ('in', 'posted', Decimal('209.86')))
            # Reversed once: a second reversal credits nothing again
            invoices = Invoice.search([], count=True)
            Settlement.reverse([settlement])
            self.assertEqual(Invoice.search([], count=True), invoices)

            new, = self.settle(op.lco_d)
            self.assertNotEqual(new, settlement)
            self.assertEqual(
                (new.state, new.net_amount), ('draft', Decimal('-209.86')))
            self.assertEqual(Settlement.search([
                        ('partner', '=', op.lco_d.id),
                        ('state', '!=', 'reversed'),
                        ], count=True), 1)

    @with_transaction()
    def test_cron_settles_last_month(self):
        "The scheduled job settles last month as drafts, once"
        pool = Pool()
        Date = pool.get('ir.date')
        Settlement = pool.get('rsoft.lco.settlement')
        with self.fixture() as op:
            self.march(op)
            with patch.object(Date, 'today', return_value=D(2025, 4, 2)), \
                    Transaction().set_context(company=op.company.id):
                settlements = Settlement.settle_last_month()
                self.assertEqual(Settlement.settle_last_month(), settlements)
            by_partner = {s.partner: s for s in settlements}
            settlement = by_partner[op.lco_d]
            self.assertEqual(
                (settlement.state, settlement.period_start),
                ('draft', D(2025, 3, 1)))
            # As test_lco_month's hand-checked figures
            self.assertEqual(settlement.net_amount, Decimal('-209.86'))
            self.assertEqual(Settlement.search_count([]), len(settlements))

    @with_transaction()
    def test_month_not_over_refused(self):
        pool = Pool()
        Date = pool.get('ir.date')
        with self.fixture() as op:
            with self.assertRaises(UserError) as cm:
                self.settle(op.lco_d, date=Date.today())
            self.assertIn("not over", cm.exception.message)

    @with_transaction()
    def test_posted_never_changes(self):
        "Neither the administration nor anyone changes a posted settlement"
        pool = Pool()
        Line = pool.get('rsoft.lco.settlement.line')
        Settlement = pool.get('rsoft.lco.settlement')
        with self.fixture() as op:
            self.march(op)
            settlement, = self.settle(op.lco_d)
            Settlement.post([settlement])
            with rpc_as(op.admin):
                for values in [
                        {'net_amount': Decimal(0)},
                        {'state': 'draft'},
                        {'period_start': D(2025, 2, 1)}]:
                    with self.assertRaises(UserError):
                        Settlement.write([settlement], values)
                with self.assertRaises(UserError):
                    Settlement.delete([settlement])
                with self.assertRaises(UserError):
                    Line.write(list(settlement.lines),
                        {'amount': Decimal(0)})
                with self.assertRaises(UserError):
                    Line.delete(list(settlement.lines))
                with self.assertRaises(UserError):
                    Settlement.create([{
                                'partner': op.lco_d.id,
                                'company': op.company.id,
                                'currency': op.company.currency.id,
                                'period_start': D(2025, 3, 1),
                                'period_end': D(2025, 3, 31),
                                }])
            self.assertEqual(
                Settlement(settlement.id).net_amount, Decimal('-209.86'))

    @with_transaction()
    def test_lco_isolation(self):
        "An LCO login reads its own settlements and neither makes nor posts"
        pool = Pool()
        Line = pool.get('rsoft.lco.settlement.line')
        Settlement = pool.get('rsoft.lco.settlement')
        with self.fixture() as op:
            self.march(op)
            own, jv, other = self.settle(op.lco_d, op.jv, op.lco_a)
            with rpc_as(op.user_d):
                self.assertEqual(Settlement.search([]), [own])
                self.assertEqual(
                    {line.settlement for line in Line.search([])}, {own})
                for record in [jv, other]:
                    with self.assertRaises(AccessError):
                        Settlement.read([record.id], ['net_amount'])
                    with self.assertRaises(AccessError):
                        Line.read([record.lines[0].id], ['amount'])
                with self.assertRaises(AccessButtonError):
                    Settlement.post([own])
                with self.assertRaises(AccessError):
                    Settlement.write([own], {'net_amount': Decimal(9)})
                with self.assertRaises(AccessError):
                    Settlement.create([{
                                'partner': op.lco_d.id,
                                'company': op.company.id,
                                'currency': op.company.currency.id,
                                'period_start': D(2025, 2, 1),
                                'period_end': D(2025, 2, 28),
                                }])
            self.assertEqual(Settlement(own.id).state, 'draft')


del ModuleTestCase
