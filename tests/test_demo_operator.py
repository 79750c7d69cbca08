"""The demo operator generator writes a consistent, compliant operator"""
import unittest
from collections import Counter
from decimal import Decimal

from rsoft_tools.generate import Generator, SubscriberBatch

from trytond.tests.test_tryton import DB_NAME
from trytond.tests.tools import activate_modules


class DemoOperatorTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        activate_modules('rsoft_subscriber')
        cls.generator = Generator(DB_NAME, subscribers=60, seed=7)
        cls.generator.run()

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
        "Each LCO gets a login bound to it, in the Pay-TV LCO group"
        from trytond.pool import Pool
        self.generator.create_lco_users('demo-Password-1')
        with self._transaction():
            pool = Pool()
            User = pool.get('res.user')
            users = User.search([('rsoft_partner', '!=', None)])
            self.assertEqual(len(users), 6)
            for user in users:
                self.assertEqual(user.login, user.rsoft_partner.code.lower())
                self.assertIn("Pay-TV LCO", {g.name for g in user.groups})
            self.assertTrue(User._login_password(
                    'lco-mum-01', {'password': 'demo-Password-1'}))
