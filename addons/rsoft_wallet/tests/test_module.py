import datetime
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.modules.company.tests import (
    CompanyTestMixin,
    create_company,
    set_company,
)
from trytond.modules.rsoft_catalogue.tests.tools import create_clerk
from trytond.modules.rsoft_partner.tests.tools import (
    create_chain,
    create_lco_user,
)
from trytond.modules.rsoft_subscriber.tests.tools import create_subscriber
from trytond.modules.rsoft_toolkit.exceptions import SystemFieldError
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.modules.rsoft_wallet.exceptions import (
    EntryModificationError,
    InsufficientBalanceError,
    ReversalError,
    TopUpError,
    WalletError,
)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction, check_access

from .tools import setup_wallet_accounting

D = datetime.date
TODAY = D(2026, 3, 1)
SYSTEM_FIELD = r'is set by the system: it cannot be written directly'
CLERK_GROUPS = [
    ('rsoft_catalogue', 'group_paytv'),
    ('rsoft_catalogue', 'group_paytv_admin'),
    ]


class Network:
    "Attributes name what a test needs; see WalletTestCase.set_up_fixture"


class WalletTestCase(FixtureMixin, CompanyTestMixin, ModuleTestCase):
    "Test the wallets"
    module = 'rsoft_wallet'

    @classmethod
    def set_up_fixture(cls):
        "Return a company with accounts, two LCOs and a subscriber each"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        company = create_company()
        with set_company(company):
            net = Network()
            net.company = company
            net.wallet_account, net.cash = setup_wallet_accounting(
                company, today=TODAY)
            _, _, net.lco_a, net.lco_b, _ = create_chain(company)
            net.asha = create_subscriber(net.lco_a)
            net.ravi = create_subscriber(
                net.lco_b, name="Ravi Kumar", mobile='+919822012345')
            net.wallet, net.other = Wallet.get_wallets([net.asha, net.ravi])
            return net

    def assertMoveLines(self, move, expected):
        "Assert the (account, party, debit, credit) of the lines of move"
        self.assertEqual(move.state, 'posted')
        self.assertCountEqual(
            [(line.account, line.party, line.debit, line.credit)
                for line in move.lines],
            expected)

    @with_transaction()
    def test_get_wallets(self):
        "Each account has one wallet, created on first use"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        with self.fixture() as net:
            again = Wallet.get_wallets([net.ravi, net.asha, net.ravi])
            self.assertEqual(again, [net.other, net.wallet, net.other])
            self.assertEqual(Wallet.search([], count=True), 2)
            self.assertEqual(net.wallet.owner, net.asha)
            self.assertEqual(net.wallet.party, net.asha.party)
            self.assertEqual(net.wallet.currency, net.company.currency)
            self.assertEqual(net.wallet.balance, Decimal('0.00'))

    @with_transaction()
    def test_top_up(self):
        "A top-up credits the wallet and posts cash against the wallet account"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        with self.fixture() as net:
            entry, = Wallet.top_up([
                    (net.wallet, Decimal('500.00'), TODAY,
                        "Cash, receipt 17")])

            self.assertEqual(Wallet(net.wallet.id).balance, Decimal('500.00'))
            self.assertEqual(entry.kind, 'top_up')
            self.assertEqual(entry.amount, Decimal('500.00'))
            self.assertEqual(entry.balance, Decimal('500.00'))
            self.assertEqual(entry.description, "Cash, receipt 17")
            self.assertEqual(entry.create_uid.id, Transaction().user)
            self.assertEqual(entry.move.date, TODAY)
            self.assertEqual(entry.move.origin, entry)
            self.assertEqual(entry.move.journal.code, 'CASH')
            self.assertMoveLines(entry.move, [
                    (net.cash, None, Decimal('500.00'), Decimal(0)),
                    (net.wallet_account, net.asha.party,
                        Decimal(0), Decimal('500.00')),
                    ])

    @with_transaction()
    def test_debit(self):
        "A debit spends from the wallet and settles the customer's receivable"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        Entry = pool.get('rsoft.wallet.entry')
        with self.fixture() as net:
            Wallet.top_up([(net.wallet, Decimal('500.00'), TODAY)])
            entry, = Wallet.debit([
                    (net.wallet, Decimal('236.00'), TODAY,
                        "Gold Pack, March (200 + 18% GST)")])

            self.assertEqual(Wallet(net.wallet.id).balance, Decimal('264.00'))
            self.assertEqual(entry.amount, Decimal('-236.00'))
            entries = Entry.search([('wallet', '=', net.wallet.id)],
                order=[('date', 'ASC'), ('id', 'ASC')])
            self.assertEqual([e.balance for e in entries],
                [Decimal('500.00'), Decimal('264.00')])
            receivable = net.asha.party.account_receivable_used
            self.assertMoveLines(entry.move, [
                    (net.wallet_account, net.asha.party,
                        Decimal('236.00'), Decimal(0)),
                    (receivable, net.asha.party,
                        Decimal(0), Decimal('236.00')),
                    ])

    @with_transaction()
    def test_debit_beyond_balance(self):
        "A debit beyond the balance is refused and changes nothing"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        Entry = pool.get('rsoft.wallet.entry')
        Move = pool.get('account.move')
        with self.fixture() as net:
            Wallet.top_up([
                    (net.wallet, Decimal('264.00'), TODAY),
                    (net.other, Decimal('50.00'), TODAY),
                    ])
            entries, moves = Entry.search([], count=True), Move.search(
                [], count=True)

            with self.assertRaisesRegex(InsufficientBalanceError,
                    r'holds .*264\.00, not enough to pay .*300\.00'):
                Wallet.debit([
                        (net.other, Decimal('10.00'), TODAY),
                        (net.wallet, Decimal('300.00'), TODAY),
                        ])

            self.assertEqual(
                [w.balance for w in Wallet.browse([net.wallet, net.other])],
                [Decimal('264.00'), Decimal('50.00')])
            self.assertEqual(Entry.search([], count=True), entries)
            self.assertEqual(Move.search([], count=True), moves)

            entry, = Wallet.debit(
                [(net.wallet, Decimal('300.00'), TODAY)], allow_negative=True)
            self.assertEqual(entry.balance, Decimal('-36.00'))
            self.assertEqual(Wallet(net.wallet.id).balance, Decimal('-36.00'))

    @with_transaction()
    def test_entry_never_changes(self):
        "An entry can be neither written, deleted nor made by hand"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        Entry = pool.get('rsoft.wallet.entry')
        with self.fixture() as net:
            entry, = Wallet.top_up([(net.wallet, Decimal('500.00'), TODAY)])

            with self.assertRaisesRegex(EntryModificationError,
                    'cannot be changed: correct it with a reversal'):
                Entry.write([entry], {'amount': Decimal('50.00')})
            with self.assertRaisesRegex(EntryModificationError,
                    'cannot be deleted: correct it with a reversal'):
                Entry.delete([entry])
            with check_access():
                with self.assertRaises(AccessError):
                    Entry.write([entry], {'balance': Decimal('50.00')})
                with self.assertRaises(AccessError):
                    Entry.create([{
                                'wallet': net.wallet.id, 'date': TODAY,
                                'kind': 'top_up', 'description': "Forged",
                                'amount': Decimal('1000.00'),
                                'move': entry.move.id,
                                }])
            entry = Entry(entry.id)
            self.assertEqual(entry.amount, Decimal('500.00'))

    @with_transaction()
    def test_reverse(self):
        "A reversal cancels an entry once, with the opposite move"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        Entry = pool.get('rsoft.wallet.entry')
        with self.fixture() as net:
            Wallet.top_up([(net.wallet, Decimal('500.00'), TODAY)])
            debit, = Wallet.debit([
                    (net.wallet, Decimal('236.00'), TODAY, "Gold Pack")])

            reversal, = Entry.reverse([debit], date=TODAY)

            self.assertEqual(Wallet(net.wallet.id).balance, Decimal('500.00'))
            self.assertEqual(reversal.kind, 'reversal')
            self.assertEqual(reversal.amount, Decimal('236.00'))
            self.assertEqual(reversal.balance, Decimal('500.00'))
            self.assertEqual(reversal.description, "Reversal of: Gold Pack")
            self.assertEqual(reversal.reversed_entry, debit)
            self.assertEqual(Entry(debit.id).reversal, reversal)
            receivable = net.asha.party.account_receivable_used
            self.assertMoveLines(reversal.move, [
                    (net.wallet_account, net.asha.party,
                        Decimal(0), Decimal('236.00')),
                    (receivable, net.asha.party,
                        Decimal('236.00'), Decimal(0)),
                    ])

            with self.assertRaisesRegex(ReversalError, 'already reversed'):
                Entry.reverse([Entry(debit.id)], date=TODAY)
            with self.assertRaisesRegex(ReversalError,
                    'is a reversal and cannot be reversed'):
                Entry.reverse([reversal], date=TODAY)
            self.assertEqual(Entry.search([], count=True), 3)

    @with_transaction()
    def test_reverse_spent_top_up(self):
        "A top-up already spent cannot be reversed unless told"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        Entry = pool.get('rsoft.wallet.entry')
        with self.fixture() as net:
            top_up, = Wallet.top_up([(net.wallet, Decimal('500.00'), TODAY)])
            Wallet.debit([(net.wallet, Decimal('236.00'), TODAY)])

            with self.assertRaises(InsufficientBalanceError):
                Entry.reverse([top_up], date=TODAY)
            self.assertIsNone(Entry(top_up.id).reversal)

            reversal, = Entry.reverse(
                [top_up], date=TODAY, allow_negative=True)
            self.assertEqual(reversal.balance, Decimal('-236.00'))
            self.assertMoveLines(reversal.move, [
                    (net.cash, None, Decimal(0), Decimal('500.00')),
                    (net.wallet_account, net.asha.party,
                        Decimal('500.00'), Decimal(0)),
                    ])

    @with_transaction()
    def test_refund(self):
        "A refund gives money back to the wallet from the receivable"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        with self.fixture() as net:
            entry, = Wallet.refund([(net.wallet, Decimal('118.00'), TODAY)])

            self.assertEqual(entry.kind, 'refund')
            self.assertEqual(entry.description, "Refund")
            self.assertEqual(Wallet(net.wallet.id).balance, Decimal('118.00'))
            receivable = net.asha.party.account_receivable_used
            self.assertMoveLines(entry.move, [
                    (net.wallet_account, net.asha.party,
                        Decimal(0), Decimal('118.00')),
                    (receivable, net.asha.party,
                        Decimal('118.00'), Decimal(0)),
                    ])

    @with_transaction()
    def test_rounding(self):
        "Amounts are rounded to the paisa; nothing or less is refused"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        with self.fixture() as net:
            first, second = Wallet.top_up([
                    (net.wallet, Decimal('10.004'), TODAY),
                    (net.wallet, Decimal('10.006'), TODAY),
                    ])
            self.assertEqual(first.amount, Decimal('10.00'))
            self.assertEqual(second.amount, Decimal('10.01'))
            self.assertEqual(Wallet(net.wallet.id).balance, Decimal('20.01'))
            self.assertEqual(first.move.lines[0].debit
                + first.move.lines[0].credit, Decimal('10.00'))
            for amount in ['0.004', '0', '-5']:
                with self.subTest(amount=amount):
                    with self.assertRaisesRegex(WalletError,
                            'must be positive'):
                        Wallet.debit([(net.wallet, Decimal(amount), TODAY)])

    @with_transaction()
    def test_backdated_entry(self):
        "An entry dated before others takes its place in the running balances"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        Entry = pool.get('rsoft.wallet.entry')
        with self.fixture() as net:
            Wallet.top_up([(net.wallet, Decimal('500.00'), D(2026, 3, 10))])
            Wallet.debit([(net.wallet, Decimal('236.00'), D(2026, 3, 20))])
            Wallet.top_up([(net.wallet, Decimal('100.00'), D(2026, 3, 15))])

            entries = Entry.search([('wallet', '=', net.wallet.id)],
                order=[('date', 'ASC'), ('id', 'ASC')])
            self.assertEqual(
                [(e.date.day, e.amount, e.balance) for e in entries], [
                    (10, Decimal('500.00'), Decimal('500.00')),
                    (15, Decimal('100.00'), Decimal('600.00')),
                    (20, Decimal('-236.00'), Decimal('364.00')),
                    ])

    @with_transaction()
    def test_set_based(self):
        "Many wallets are topped up and debited at once"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        with self.fixture() as net:
            entries = Wallet.top_up([
                    (net.other, Decimal('300.00'), TODAY),
                    (net.wallet, Decimal('500.00'), TODAY),
                    (net.other, Decimal('50.00'), TODAY),
                    ])
            self.assertEqual([e.wallet for e in entries],
                [net.other, net.wallet, net.other])
            self.assertEqual([e.balance for e in entries],
                [Decimal('300.00'), Decimal('500.00'), Decimal('350.00')])
            Wallet.debit([
                    (net.wallet, Decimal('236.00'), TODAY),
                    (net.other, Decimal('350.00'), TODAY),
                    ])
            self.assertEqual(
                [w.balance for w in Wallet.browse([net.wallet, net.other])],
                [Decimal('264.00'), Decimal('0.00')])

    @with_transaction()
    def test_balance_search(self):
        "Wallets are found by balance and under their threshold"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        with self.fixture() as net:
            Wallet.write([net.wallet, net.other],
                {'threshold': Decimal('100.00')})
            Wallet.top_up([(net.wallet, Decimal('264.00'), TODAY)])

            self.assertEqual(
                Wallet.search([('balance', '>', Decimal('200.00'))]),
                [net.wallet])
            self.assertEqual(
                Wallet.search([('balance', '=', Decimal(0))]), [net.other])
            self.assertEqual(
                Wallet.search([('low_balance', '=', True)]), [net.other])
            self.assertEqual(
                Wallet.search([('low_balance', '=', False)]), [net.wallet])
            self.assertFalse(Wallet(net.wallet.id).low_balance)

    @with_transaction()
    def test_forecast(self):
        "The balance runs under the threshold, then out, at the daily burn"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        with self.fixture() as net:
            Wallet.write([net.wallet], {'threshold': Decimal('50.00')})
            Wallet.top_up([(net.wallet, Decimal('264.00'), TODAY)])
            wallet = Wallet(net.wallet.id)

            # 264.00 pays 30 days of 8.80: 1 to 30 March
            self.assertEqual(wallet.forecast(Decimal('8.80'), TODAY),
                (D(2026, 3, 26), D(2026, 3, 31)))
            # 25 March opens with 52.80, 26 March with 44.00
            self.assertEqual(wallet.forecast(Decimal('10.00'), TODAY),
                (D(2026, 3, 23), D(2026, 3, 27)))
            # Not one day paid; 2 March would open under the threshold
            self.assertEqual(wallet.forecast(Decimal('300.00'), TODAY),
                (D(2026, 3, 2), D(2026, 3, 1)))
            self.assertEqual(wallet.forecast(Decimal(0), TODAY), (None, None))

            Wallet.debit([(net.wallet, Decimal('230.00'), TODAY)])
            self.assertEqual(Wallet(net.wallet.id).forecast(
                    Decimal('8.80'), TODAY),
                (TODAY, D(2026, 3, 4)))

    @with_transaction()
    def test_subscriber_balance(self):
        "The subscriber shows the balance of the wallet"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        Subscriber = pool.get('rsoft.subscriber')
        with self.fixture() as net:
            Wallet.top_up([(net.wallet, Decimal('500.00'), TODAY)])
            asha, ravi = Subscriber.browse([net.asha, net.ravi])
            self.assertEqual(asha.wallet_balance, Decimal('500.00'))
            self.assertEqual(asha.wallets, (net.wallet,))
            self.assertEqual(ravi.wallet_balance, Decimal('0.00'))

    @with_transaction()
    def test_lco_isolation(self):
        "An LCO user sees only the wallets of the LCO's subscribers"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        Entry = pool.get('rsoft.wallet.entry')
        with self.fixture() as net:
            mine, = Wallet.top_up([(net.wallet, Decimal('500.00'), TODAY)])
            theirs, = Wallet.top_up([(net.other, Decimal('300.00'), TODAY)])
            user = create_lco_user('lco_a', net.lco_a)
            models = [
                (Wallet, net.wallet, net.other),
                (Entry, mine, theirs),
                ]
            with Transaction().set_user(user.id), check_access():
                for Model, own, other in models:
                    with self.subTest(model=Model.__name__):
                        self.assertEqual(Model.search([]), [own])
                        Model.read([own.id], ['id'])
                        with self.assertRaises(AccessError):
                            Model.read([other.id], ['id'])
                with self.assertRaises(AccessError):
                    Wallet.write([Wallet(net.wallet.id)],
                        {'threshold': Decimal('10.00')})
                # Only the Pay-TV administrators reverse
                with self.assertRaises(AccessButtonError):
                    Entry.reverse([Entry(mine.id)])


    def counts(self):
        "Return the number of wallets, entries and moves"
        pool = Pool()
        return tuple(pool.get(m).search([], count=True) for m in [
                'rsoft.wallet', 'rsoft.wallet.entry', 'account.move'])

    def run_top_up(self, user, model, ids, amount=Decimal('100.00')):
        "Run the top-up wizard as user over RPC on the records of model"
        pool = Pool()
        TopUp = pool.get('rsoft.wallet.top_up', type='wizard')
        context = {
            'active_model': model, 'active_id': ids[0], 'active_ids': ids,
            }
        with Transaction().set_user(user.id), \
                Transaction().set_context(context):
            session_id, _, _ = TopUp.create()
            TopUp.execute(session_id, {}, 'start')
            TopUp.execute(session_id, {
                    'start': {
                        'amount': amount, 'date': TODAY,
                        'description': "Cash",
                        },
                    }, 'top_up')

    @with_transaction()
    def test_top_up_wizard(self):
        "An LCO user tops up its subscriber's wallet with the wizard"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        with self.fixture() as net:
            user = create_lco_user('lco_a', net.lco_a)
            self.run_top_up(user, 'rsoft.subscriber', [net.asha.id])
            self.run_top_up(user, 'rsoft.wallet', [net.wallet.id])
            self.assertEqual(
                Wallet(net.wallet.id).balance, Decimal('200.00'))

    @with_transaction()
    def test_top_up_wizard_foreign_model(self):
        "The top-up wizard refuses the records of any other model"
        pool = Pool()
        Company = pool.get('company.company')
        with self.fixture() as net:
            user = create_lco_user('lco_a', net.lco_a)
            before = self.counts()
            # A record the LCO may read, and whose id is a subscriber's
            with self.assertRaisesRegex(AccessError,
                    'rsoft.wallet.top_up.*company.company'):
                self.run_top_up(user, 'company.company', [net.ravi.id])
            self.assertEqual(self.counts(), before)

            # Even where Tryton's check is skipped, as for the root user
            TopUp = pool.get('rsoft.wallet.top_up', type='wizard')
            with Transaction().set_user(0), Transaction().set_context(
                    active_model='company.company',
                    active_id=net.company.id,
                    active_ids=[net.company.id]):
                session_id, _, _ = TopUp.create()
                wizard = TopUp(session_id)
                with self.assertRaisesRegex(TopUpError,
                        'not a record of "company.company"'):
                    wizard.transition_top_up()
            self.assertEqual(self.counts(), before)
            self.assertTrue(Company.search([]))

    @with_transaction()
    def test_top_up_wizard_other_lco(self):
        "The top-up wizard refuses another LCO's subscriber and wallet"
        with self.fixture() as net:
            user = create_lco_user('lco_a', net.lco_a)
            before = self.counts()
            for model, record in [
                    ('rsoft.subscriber', net.ravi),
                    ('rsoft.wallet', net.other),
                    ]:
                with self.subTest(model=model):
                    with self.assertRaises(AccessError):
                        self.run_top_up(user, model, [record.id])
                    with self.assertRaises(AccessError):
                        self.run_top_up(
                            user, model, [net.asha.id, record.id])
            self.assertEqual(self.counts(), before)

    @with_transaction()
    def test_wallet_system_fields(self):
        "Nobody opens, moves or deletes a wallet nor makes entries over RPC"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        Entry = pool.get('rsoft.wallet.entry')
        Subscriber = pool.get('rsoft.subscriber')
        with self.fixture() as net:
            entry, = Wallet.top_up([(net.wallet, Decimal('500.00'), TODAY)])
            asha = create_subscriber(
                net.lco_a, name="Asha Two", mobile='+919822099999')
            users = [
                create_lco_user('lco_a', net.lco_a),
                create_clerk('clerk', net.company, *CLERK_GROUPS),
                ]
            before = self.counts()
            for user in users:
                with self.subTest(user=user.login), \
                        Transaction().set_user(user.id), check_access():
                    with self.assertRaises(AccessError):
                        Wallet.create([{
                                    'subscriber': asha.id,
                                    'threshold': Decimal(0),
                                    }])
                    with self.assertRaises(AccessError):
                        Wallet.write([Wallet(net.wallet.id)],
                            {'subscriber': asha.id})
                    with self.assertRaises(AccessError):
                        Wallet.delete([Wallet(net.wallet.id)])
                    with self.assertRaisesRegex(SystemFieldError,
                            '"Wallet" of Subscriber ' + SYSTEM_FIELD):
                        Subscriber.write([Subscriber(asha.id)], {
                                'wallets': [('create', [{
                                                'threshold': Decimal(0),
                                                }])],
                                })
                    with self.assertRaises(AccessError):
                        Entry.create([{
                                    'wallet': net.wallet.id, 'date': TODAY,
                                    'kind': 'top_up', 'description': "Forged",
                                    'amount': Decimal('1000.00'),
                                    'move': entry.move.id,
                                    }])
                    with self.assertRaises(AccessError):
                        Entry.write([Entry(entry.id)],
                            {'balance': Decimal('5000.00')})
                    with self.assertRaises(AccessError):
                        Entry.delete([Entry(entry.id)])
            self.assertEqual(self.counts(), before)
            self.assertEqual(Wallet(net.wallet.id).subscriber, net.asha)
            self.assertEqual(Entry(entry.id).balance, Decimal('500.00'))

    @with_transaction()
    def test_wallet_system_fields_clerk(self):
        "A clerk sets the threshold, but not the account nor the company"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        with self.fixture() as net:
            clerk = create_clerk('clerk', net.company, *CLERK_GROUPS)
            with Transaction().set_user(clerk.id), check_access():
                Wallet.write([Wallet(net.wallet.id)],
                    {'threshold': Decimal('50.00')})
                for name, value in [
                        ('subscriber', net.ravi.id),
                        ('currency', net.company.currency.id),
                        ]:
                    with self.subTest(field=name):
                        with self.assertRaisesRegex(
                                SystemFieldError, SYSTEM_FIELD):
                            Wallet.write([Wallet(net.wallet.id)],
                                {name: value})
            wallet = Wallet(net.wallet.id)
            self.assertEqual(wallet.threshold, Decimal('50.00'))
            self.assertEqual(wallet.subscriber, net.asha)


del ModuleTestCase
