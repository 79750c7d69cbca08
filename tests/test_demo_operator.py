"""The demo operator generator writes a consistent, compliant operator"""
import unittest
from collections import Counter
from decimal import Decimal

from rsoft_tools.generate import Generator, SubscriberBatch

from trytond.tests.test_tryton import DB_NAME, drop_db
from trytond.tests.tools import activate_modules

ADMIN_PASSWORD = 'demo-Admin-Password-1'


class DemoOperatorTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        activate_modules('rsoft_subscriber')
        cls.generator = Generator(DB_NAME, subscribers=60, seed=7)
        cls.generator.run()
        cls.set_admin_password(ADMIN_PASSWORD)
        cls.passwords = cls.generator.create_lco_users()

    @classmethod
    def tearDownClass(cls):
        # The generator's connections would keep the next test class
        # from restoring its database
        drop_db()
        super().tearDownClass()

    @classmethod
    def set_admin_password(cls, password):
        from trytond.pool import Pool
        from trytond.transaction import Transaction
        with Transaction().start(DB_NAME, 0) as transaction:
            User = Pool().get('res.user')
            User.write(User.search([('login', '=', 'admin')]),
                {'password': password})
            transaction.commit()

    def _transaction(self):
        from trytond.transaction import Transaction
        return Transaction().start(
            DB_NAME, 0, context={'company': self.generator.company_id})

    def test_reference_data(self):
        "Channels, packs and offers are those of a real Indian DPO"
        from trytond.pool import Pool
        with self._transaction():
            pool = Pool()
            Channel = pool.get('rsoft.channel')
            Template = pool.get('product.template')
            Partner = pool.get('rsoft.partner')
            TariffRule = pool.get('rsoft.tariff.rule')
            Company = pool.get('company.company')
            company, = Company.search([])
            self.assertEqual(company.currency.code, 'INR')
            offers = Template.search([('rsoft_kind', '!=', None)])
            self.assertEqual(
                {o.offer_state for o in offers}, {'published'})
            self.assertEqual(TariffRule.check_offers(offers), [])
            kinds = Counter(o.rsoft_kind for o in offers)
            self.assertEqual(kinds['base_pack'], 3)
            self.assertGreaterEqual(kinds['addon_pack'], 4)
            self.assertEqual(kinds['ncf'], 1)
            self.assertEqual(
                Counter(p.role for p in Partner.search([])),
                {'mso': 1, 'jv': 2, 'lco': 6})
            self.assertEqual(
                Channel.search_count([('mandated', '=', True)]), 3)
            taxes = {t.name for o in offers
                for t in o.account_category.customer_taxes}
            self.assertEqual(taxes, {"GST 18%"})

    def test_subscribers(self):
        "Every subscriber is whole: party, connection, NCF, history"
        from trytond.pool import Pool
        with self._transaction():
            pool = Pool()
            Subscriber = pool.get('rsoft.subscriber')
            Event = pool.get('rsoft.subscriber.event')
            subscribers = Subscriber.search([('active', 'in', [True, False])])
            self.assertEqual(len(subscribers), 60)
            self.assertEqual(len({s.customer_id for s in subscribers}), 60)
            aadhaar = [s for s in subscribers if s.id_proof_type == 'aadhaar']
            self.assertTrue(aadhaar)
            for subscriber in aadhaar:
                # Kept as the module keeps it: never in clear
                self.assertRegex(subscriber.id_proof_number,
                    r'^XXXX XXXX \d{4}$')
            for subscriber in subscribers:
                self.assertTrue(subscriber.mobile.startswith('+91'))
                self.assertEqual(subscriber.lco.role, 'lco')
                connection = subscriber.connections[0]
                self.assertEqual(connection.kind, 'primary_tv')
                if subscriber.state == 'draft':
                    continue
                count, ncf = connection.compute_ncf(
                    subscriber.activation_date)
                self.assertIn(ncf, {Decimal('130.00'), Decimal('160.00')})
                self.assertTrue(Event.search([
                            ('subscriber', '=', subscriber.id),
                            ('action', '=', 'active')]))

    def test_deterministic(self):
        "The same seed plans the same subscribers"
        from trytond.pool import Pool
        with self._transaction():
            Pool()
            self.generator._load_context()
            first = [SubscriberBatch(self.generator, 0, 5)._plan(i)
                for i in range(5)]
            again = [SubscriberBatch(self.generator, 0, 5)._plan(i)
                for i in range(5)]
        self.assertEqual(first, again)

    def test_lco_logins(self):
        "Each LCO gets a login bound to it, with a password of its own"
        from trytond.pool import Pool
        passwords = self.passwords
        self.assertEqual(self.generator.create_lco_users(), {})
        with self._transaction():
            pool = Pool()
            User = pool.get('res.user')
            users = User.search([('rsoft_partner', '!=', None)])
            self.assertEqual(len(users), 6)
            self.assertEqual(set(passwords), {u.login for u in users})
            self.assertEqual(len(set(passwords.values())), 6)
            for user in users:
                self.assertEqual(user.login, user.rsoft_partner.code.lower())
                self.assertIn("Pay-TV LCO", {g.name for g in user.groups})
                password = passwords[user.login]
                self.assertGreaterEqual(len(password), 16)
                _, password_hash, _ = User._get_login(user.login)
                self.assertNotIn(password, password_hash)
                self.assertEqual(User._login_password(
                        user.login, {'password': password}), user.id)
                for other in [ADMIN_PASSWORD, *(
                            p for p in passwords.values() if p != password)]:
                    self.assertIsNone(User._login_password(
                            user.login, {'password': other}))

    def test_password_reset(self):
        "A forgotten LCO password is replaced by a new one, printed once"
        from rsoft_tools.password import reset_passwords

        from trytond.pool import Pool
        with self._transaction():
            User = Pool().get('res.user')
            user, = User.search([('login', '=', 'lco-pun-01')])
            passwords = reset_passwords(['lco-pun-01'])
            self.assertEqual(list(passwords), ['lco-pun-01'])
            self.assertEqual(User._login_password(
                    'lco-pun-01', {'password': passwords['lco-pun-01']}),
                user.id)
            self.assertIsNone(User._login_password(
                    'lco-pun-01', {'password': self.passwords['lco-pun-01']}))
            with self.assertRaises(ValueError):
                reset_passwords(['admin'])
            with self.assertRaises(ValueError):
                reset_passwords(['lco-nowhere'])
