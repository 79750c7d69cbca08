import datetime
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.rsoft_billing.tests.tools import new_account
from trytond.modules.rsoft_catalogue.tests.tools import rpc_as
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction

from .tools import create_lco_operator

D = datetime.date


class LcoTestCase(FixtureMixin, ModuleTestCase):
    "LCO wallets and credit limits"
    module = 'rsoft_lco'

    @classmethod
    def set_up_fixture(cls):
        return create_lco_operator()

    def top_up(self, op, partner, amount, date=D(2025, 3, 1)):
        TopUp = Pool().get('rsoft.lco.top_up')
        return TopUp.record(partner, Decimal(amount),
            op.payments.methods['bank_transfer'], date, 'NEFT 4711')

    def account(self, lco, start=D(2025, 3, 1)):
        "Return a prepaid account of lco with Rs 10,000 in its wallet"
        Wallet = Pool().get('rsoft.wallet')
        subscriber = new_account(lco, start, billing_mode='prepaid',
            billing_cycle=1, bill_day_mode='fixed', bill_day=1)
        wallet, = Wallet.get_wallets([subscriber])
        Wallet.top_up([(wallet, Decimal('10000'), start)])
        return subscriber

    def add(self, subscriber, offer, start=D(2025, 3, 1)):
        "Return a draft line of offer, and activate it"
        Line = Pool().get('rsoft.subscription.line')
        line, = Line.create([{
                    'connection': subscriber.connections[0].id,
                    'product': offer.id, 'start_date': start,
                    }])
        Line.activate([line])
        return line

    def partner(self, partner):
        return Pool().get('rsoft.partner')(partner.id)

    def entries(self, partner):
        Entry = Pool().get('rsoft.wallet.entry')
        return Entry.search([('wallet.partner', '=', partner.id)],
            order=[('date', 'ASC'), ('id', 'ASC')])

    @with_transaction()
    def test_top_up_receipt(self):
        "A bank transfer tops up LCO-A with a numbered receipt"
        with self.fixture() as op:
            top_up = self.top_up(op, op.lco_a, '1000')

            self.assertEqual(top_up.state, 'posted')
            self.assertTrue(top_up.number)
            entry = top_up.entry
            self.assertEqual(entry.kind, 'top_up')
            self.assertEqual(entry.amount, Decimal('1000.00'))
            self.assertIn(top_up.number, entry.description)
            self.assertIn('NEFT 4711', entry.description)
            self.assertEqual(entry.origin, top_up)
            self.assertCountEqual(
                [(ml.account, ml.party, ml.debit, ml.credit)
                    for ml in entry.move.lines], [
                    (op.payments.accounts['bank_transfer'], None,
                        Decimal('1000.00'), Decimal(0)),
                    (entry._get_wallet_account(), op.lco_a.party,
                        Decimal(0), Decimal('1000.00')),
                    ])
            lco_a = self.partner(op.lco_a)
            self.assertEqual(lco_a.wallet_balance, Decimal('1000.00'))
            self.assertEqual(lco_a.wallet_available, Decimal('1000.00'))
            self.assertEqual(lco_a.wallet_entries, (entry,))

    @with_transaction()
    def test_top_up_refused_without_wallet(self):
        "LCO-C pays the MSO nothing: it has no wallet to top up"
        with self.fixture() as op:
            with self.assertRaises(UserError) as cm:
                self.top_up(op, op.lco_c, '1000')
            self.assertIn("no wallet", cm.exception.message)

    @with_transaction()
    def test_prepaid_activation_debits_mso_share(self):
        "Gold on LCO-A's subscriber costs LCO-A 80% of 310 and 55% of NCF"
        with self.fixture() as op:
            self.top_up(op, op.lco_a, '1000')
            subscriber = self.account(op.lco_a)
            line = self.add(subscriber, op.gold)

            self.assertEqual(line.state, 'active')
            # Gold 310 x 80% = 248.00; NCF 130 x 55% = 71.50
            self.assertEqual(self.partner(op.lco_a).wallet_balance,
                Decimal('680.50'))
            top_up, gold, ncf = self.entries(op.lco_a)
            self.assertEqual(
                sorted([gold.amount, ncf.amount]),
                [Decimal('-248.00'), Decimal('-71.50')])
            self.assertEqual({gold.kind, ncf.kind}, {'debit'})
            debit = gold if gold.amount == Decimal('-248.00') else ncf
            self.assertEqual(debit.origin, line)
            self.assertIn('Gold Pack', debit.description)
            self.assertCountEqual(
                [(ml.account, ml.party, ml.debit, ml.credit)
                    for ml in debit.move.lines], [
                    (debit._get_wallet_account(), op.lco_a.party,
                        Decimal('248.00'), Decimal(0)),
                    (op.lco_sales, None, Decimal(0), Decimal('248.00')),
                    ])
            self.assertEqual(line.lco_paid_until, D(2025, 3, 31))

    @with_transaction()
    def test_prepaid_short_refused_changes_nothing(self):
        "LCO-A holds Rs 300: Gold (319.50) is refused, 19.50 missing"
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        Subscriber = pool.get('rsoft.subscriber')
        with self.fixture() as op:
            self.top_up(op, op.lco_a, '300')
            subscriber = self.account(op.lco_a)
            next_bill_date = Subscriber(subscriber.id).next_bill_date

            with self.assertRaises(UserError) as cm:
                self.add(subscriber, op.gold)
            self.assertIn('19.50', cm.exception.message)
            self.assertIn('LCO-A', cm.exception.message)

            self.assertEqual(
                [(line.product, line.state) for line in Line.search([
                            ('connection', '=',
                                subscriber.connections[0].id)])],
                [(op.gold, 'draft')])
            self.assertEqual(len(self.entries(op.lco_a)), 1)
            self.assertEqual(self.partner(op.lco_a).wallet_balance,
                Decimal('300.00'))
            self.assertEqual(Subscriber(subscriber.id).next_bill_date,
                next_bill_date)

    @with_transaction()
    def test_credit_up_to_limit(self):
        "LCO-B may owe Rs 500: one Silver fits, a second is refused"
        # Silver 200 (LCO-B keeps no pay channel share) + 55% of NCF 130
        with self.fixture() as op:
            first = self.account(op.lco_b)
            second = self.account(op.lco_b)
            self.add(first, op.silver)
            self.assertEqual(self.partner(op.lco_b).wallet_available,
                Decimal('228.50'))
            with self.assertRaises(UserError) as cm:
                self.add(second, op.silver)
            self.assertIn('credit limit', cm.exception.message)
            self.assertIn('43.00', cm.exception.message)
            self.assertEqual(self.partner(op.lco_b).wallet_balance,
                Decimal('-271.50'))

    @with_transaction()
    def test_no_wallet_mode_charges_nothing(self):
        "LCO-C's activations are not charged: today's behaviour"
        with self.fixture() as op:
            subscriber = self.account(op.lco_c)
            line = self.add(subscriber, op.gold)
            self.assertEqual(line.state, 'active')
            self.assertEqual(self.entries(op.lco_c), [])
            self.assertIsNone(line.lco_paid_until)

    @with_transaction()
    def test_bill_run_renewal(self):
        """The April run renews LCO-A's subscriber from LCO-A's wallet;
        an account of short LCO-B fails alone with the message"""
        pool = Pool()
        Queue = pool.get('ir.queue')
        Run = pool.get('rsoft.billing.run')
        RunAccount = pool.get('rsoft.billing.run.account')
        Partner = pool.get('rsoft.partner')
        with self.fixture() as op:
            self.top_up(op, op.lco_a, '1000')
            renewed = self.account(op.lco_a)
            self.add(renewed, op.gold)
            short = self.account(op.lco_b)
            self.add(short, op.silver)
            other = self.account(op.lco_c)
            self.add(other, op.gold)
            # March was paid on activation: the March run charges nothing
            march, = Run.create([{'date': D(2025, 3, 1)}])
            Run.start([march])
            self._run_tasks(Queue)
            self.assertEqual(self.partner(op.lco_a).wallet_balance,
                Decimal('680.50'))
            Partner.write([op.lco_b], {'credit_limit': Decimal('300')})

            april, = Run.create([{'date': D(2025, 4, 1)}])
            Run.start([april])
            self._run_tasks(Queue)

            april = Run(april.id)
            self.assertEqual((april.done_count, april.failed_count),
                (2, 1))
            failed, = RunAccount.search([
                    ('run', '=', april.id), ('state', '=', 'failed')])
            self.assertEqual(failed.subscriber, short)
            self.assertIn('credit limit', failed.error)
            self.assertIn('243.00', failed.error)
            self.assertEqual(self.partner(op.lco_a).wallet_balance,
                Decimal('361.00'))
            renewal = self.entries(op.lco_a)[-1]
            self.assertEqual(renewal.date, D(2025, 4, 1))
            self.assertEqual(renewal.origin.__name__,
                'rsoft.billing.charge')

    def _run_tasks(self, Queue):
        for task in Queue.search([
                    ('name', '=', 'billing'),
                    ('dequeued_at', '=', None),
                    ], order=[('id', 'ASC')]):
            task.run()

    @with_transaction()
    def test_reversal(self):
        "A top-up entered twice is reversed: the balance and move go back"
        pool = Pool()
        Entry = pool.get('rsoft.wallet.entry')
        with self.fixture() as op:
            self.top_up(op, op.lco_a, '1000')
            wrong = self.top_up(op, op.lco_a, '1000')
            reversal, = Entry.reverse([wrong.entry])

            self.assertEqual(reversal.kind, 'reversal')
            self.assertEqual(reversal.amount, Decimal('-1000.00'))
            self.assertEqual(reversal.reversed_entry, wrong.entry)
            self.assertEqual(self.partner(op.lco_a).wallet_balance,
                Decimal('1000.00'))
            self.assertCountEqual(
                [(ml.account, ml.debit, ml.credit)
                    for ml in reversal.move.lines],
                [(ml.account, ml.credit, ml.debit)
                    for ml in wrong.entry.move.lines])
            with self.assertRaises(UserError):
                Entry.reverse([wrong.entry])

    @with_transaction()
    def test_lco_isolation(self):
        "LCO-A reads its own wallet only and changes neither mode nor limit"
        pool = Pool()
        Entry = pool.get('rsoft.wallet.entry')
        Partner = pool.get('rsoft.partner')
        TopUp = pool.get('rsoft.lco.top_up')
        Wallet = pool.get('rsoft.wallet')
        with self.fixture() as op:
            top_up_a = self.top_up(op, op.lco_a, '1000')
            top_up_b = self.top_up(op, op.lco_b, '1000')
            subscriber = self.account(op.lco_a)
            wallet_a, wallet_b = Wallet.get_partner_wallets(
                [op.lco_a, op.lco_b])
            subscriber_wallet, = Wallet.get_wallets([subscriber])

            with rpc_as(op.user_a):
                self.assertEqual(
                    {w.id for w in Wallet.search([])},
                    {wallet_a.id, subscriber_wallet.id})
                self.assertEqual(
                    {e.wallet.id for e in Entry.search([])},
                    {wallet_a.id, subscriber_wallet.id})
                self.assertEqual(TopUp.search([]), [top_up_a])
                self.assertEqual(
                    Partner.read([op.lco_a.id], ['wallet_balance'])[0][
                        'wallet_balance'], Decimal('1000.00'))
                for Model, records in [
                        (Wallet, [wallet_b]),
                        (Entry, [top_up_b.entry]),
                        (TopUp, [top_up_b])]:
                    with self.assertRaises(AccessError):
                        Model.read([r.id for r in records], ['id'])
                with self.assertRaises(AccessError):
                    Wallet.write([wallet_a], {'threshold': Decimal(5)})
                with self.assertRaises(AccessError):
                    TopUp.create([{
                                'partner': op.lco_a.id,
                                'amount': Decimal('99999'),
                                'method': op.payments.methods['cash'].id,
                                }])
                with self.assertRaises(AccessError):
                    Entry.reverse([top_up_b.entry])
                for values in [
                        {'credit_limit': Decimal('100000')},
                        {'wallet_mode': 'credit'}]:
                    with self.assertRaises(AccessError):
                        Partner.write([op.lco_a], values)
                with self.assertRaises(UserError):
                    Partner.write([op.lco_a], {'wallet_balance': 5})

            with rpc_as(op.admin):
                Partner.write([op.lco_a], {
                        'wallet_mode': 'credit',
                        'credit_limit': Decimal('200'),
                        })
            self.assertEqual(self.partner(op.lco_a).wallet_available,
                Decimal('1200.00'))

    @with_transaction()
    def test_top_up_posted_never_changes(self):
        "A posted top-up is neither changed nor deleted"
        pool = Pool()
        TopUp = pool.get('rsoft.lco.top_up')
        with self.fixture() as op:
            top_up = self.top_up(op, op.lco_a, '1000')
            with rpc_as(op.cashier):
                with self.assertRaises(UserError):
                    TopUp.write([top_up], {'amount': Decimal('10')})
                with self.assertRaises(UserError):
                    TopUp.delete([top_up])


del ModuleTestCase
