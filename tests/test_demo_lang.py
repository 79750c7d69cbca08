"""The demo operator speaks English (India): its users, its company and its
subscribers' parties write DD/MM/YYYY and lakhs"""
import datetime as dt
import unittest
from decimal import Decimal

from rsoft_tools.generate import Generator
from rsoft_tools.lang import set_language

from trytond.tests.test_tryton import DB_NAME, drop_db
from trytond.tests.tools import activate_modules


class DemoLangTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        activate_modules('rsoft_subscriber')
        cls.company_id = Generator(DB_NAME, subscribers=0).setup_company()
        set_language(DB_NAME, cls.company_id)
        # Idempotent: the demo sets it again on each run of the generator
        set_language(DB_NAME, cls.company_id)

    @classmethod
    def tearDownClass(cls):
        # The generator's connections would keep the next test class
        # from restoring its database
        drop_db()
        super().tearDownClass()

    def _transaction(self):
        from trytond.transaction import Transaction
        return Transaction().start(
            DB_NAME, 0, context={'company': self.company_id})

    def test_users(self):
        "The admin's web client writes 06/12/2026 and 1,00,000.00"
        from trytond.pool import Pool
        from trytond.transaction import Transaction
        with self._transaction():
            User = Pool().get('res.user')
            admin, = User.search([('login', '=', 'admin')])
            self.assertEqual(admin.language.code, 'en_IN')
            with Transaction().set_user(admin.id):
                preferences = User.get_preferences(context_only=True)
            self.assertEqual(preferences['language'], 'en_IN')
            self.assertEqual(preferences['locale']['date'], '%d/%m/%Y')
            self.assertEqual(preferences['locale']['grouping'], [3, 2, 0])

    def test_company_and_parties(self):
        "The company and every party, written in bulk or not, in en_IN"
        from trytond.modules.rsoft_toolkit.bulk import BulkWriter
        from trytond.pool import Pool
        from trytond.report import Report
        with self._transaction():
            pool = Pool()
            Company = pool.get('company.company')
            Party = pool.get('party.party')
            company = Company(self.company_id)
            self.assertEqual(company.party.lang.code, 'en_IN')
            new, = Party.create([{'name': "Asha Patil"}])
            self.assertEqual(new.lang.code, 'en_IN')
            writer = BulkWriter()
            id_, = writer.allocate(Party, 1)
            writer.insert(Party, [{
                        'id': id_, 'name': "Ravi Kumar", 'code': f'B{id_}',
                        'code_alnum': f'B{id_}', 'code_digit': id_,
                        'active': True,
                        }])
            bulk = Party(id_)
            self.assertEqual(bulk.lang.code, 'en_IN')
            self.assertEqual(
                Report.format_date(dt.date(2026, 11, 14), bulk.lang),
                '14/11/2026')
            self.assertEqual(
                Report.format_currency(
                    Decimal('100000'), bulk.lang, company.currency),
                '₹1,00,000.00')

