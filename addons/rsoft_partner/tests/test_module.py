import datetime
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import (
    CompanyTestMixin,
    create_company,
    set_company,
)
from trytond.modules.rsoft_partner.exceptions import (
    AgreementError,
    HierarchyError,
)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction, check_access

from .tools import create_chain, create_lco_user, create_partner, create_region


class PartnerTestCase(CompanyTestMixin, ModuleTestCase):
    "Test the distribution partners"
    module = 'rsoft_partner'

    @with_transaction()
    def test_hierarchy_roles(self):
        "An LCO buys from a JV, never from another LCO"
        company = create_company()
        with set_company(company):
            mso, jv, lco_a, _, _ = create_chain(company)
            self.assertEqual(lco_a.rec_name, 'LCO-A - LCO-A Cable')
            self.assertEqual(
                [p.code for p in mso.children], ['JV', 'LCO-C'])
            with self.assertRaisesRegex(HierarchyError, 'cannot sit below'):
                create_partner('DIST-X', 'distributor', parent=lco_a)
            with self.assertRaises(HierarchyError):
                create_partner('JV-X', 'jv', parent=jv)
            with self.assertRaises(HierarchyError):
                create_partner('MSO-2', 'mso', parent=mso)

    @with_transaction()
    def test_code_unique(self):
        "Two partners cannot share a code"
        company = create_company()
        with set_company(company):
            mso = create_partner('MSO', 'mso', company=company)
            create_partner('LCO-1', 'lco', parent=mso)
            with self.assertRaises(UserError):
                create_partner('LCO-1', 'lco', parent=mso)

    @with_transaction()
    def test_share_default_and_agreement(self):
        "Without agreement the LCO keeps 45% of NCF; an agreement overrides"
        pool = Pool()
        Agreement = pool.get('rsoft.partner.agreement')
        company = create_company()
        with set_company(company):
            _, _, lco_a, _, _ = create_chain(company)
            self.assertEqual(lco_a.get_share('ncf'), Decimal('0.45'))
            self.assertEqual(lco_a.get_share('pay_channel'), Decimal(0))
            Agreement.create([{
                        'partner': lco_a.id,
                        'start_date': datetime.date(2026, 1, 1),
                        'end_date': datetime.date(2026, 12, 31),
                        'ncf_share': Decimal('0.40'),
                        'pay_channel_share': Decimal('0.20'),
                        'hardware_share': Decimal('0.10'),
                        }])
            self.assertEqual(
                lco_a.get_share('ncf', datetime.date(2026, 6, 1)),
                Decimal('0.40'))
            self.assertEqual(
                lco_a.get_share('hardware', datetime.date(2026, 6, 1)),
                Decimal('0.10'))
            self.assertEqual(
                lco_a.get_share('ncf', datetime.date(2027, 1, 1)),
                Decimal('0.45'))

    @with_transaction()
    def test_agreement_checks(self):
        "Overlapping agreements and shares above 100% are refused"
        pool = Pool()
        Agreement = pool.get('rsoft.partner.agreement')
        company = create_company()
        with set_company(company):
            _, _, lco_a, _, _ = create_chain(company)
            values = {
                'partner': lco_a.id,
                'start_date': datetime.date(2026, 1, 1),
                'ncf_share': Decimal('0.45'),
                'pay_channel_share': Decimal('0.20'),
                'hardware_share': Decimal('0.10'),
                }
            Agreement.create([values])
            with self.assertRaisesRegex(AgreementError, 'overlaps'):
                Agreement.create([{
                            **values,
                            'start_date': datetime.date(2026, 6, 1)}])
            with self.assertRaisesRegex(AgreementError, '100%'):
                Agreement.create([{
                            **values,
                            'start_date': datetime.date(2020, 1, 1),
                            'end_date': datetime.date(2020, 12, 31),
                            'ncf_share': Decimal('1.5')}])

    @with_transaction()
    def test_price_list_and_region_fallback(self):
        "An LCO without its own price list takes its region's, then parent's"
        pool = Pool()
        PriceList = pool.get('product.price_list')
        Region = pool.get('rsoft.region')
        company = create_company()
        with set_company(company):
            india = create_region("India", 'IN')
            karnataka = create_region("Karnataka", 'KA', india)
            mso, jv, lco_a, lco_b, _ = create_chain(company)
            jv.region = karnataka
            jv.save()
            south, national = PriceList.create([
                    {'name': "South", 'company': company.id},
                    {'name': "National", 'company': company.id},
                    ])
            self.assertIsNone(lco_a.get_price_list())
            self.assertEqual(lco_a.get_region(), karnataka)
            Region.write([india], {'price_list': national.id})
            self.assertEqual(lco_a.get_price_list(), national)
            Region.write([karnataka], {'price_list': south.id})
            self.assertEqual(lco_a.get_price_list(), south)
            lco_b.price_list = national
            lco_b.save()
            self.assertEqual(lco_b.get_price_list(), national)

    @with_transaction()
    def test_lco_user_isolation(self):
        "An LCO user reads its chain upward but not a sibling LCO"
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        company = create_company()
        with set_company(company):
            mso, jv, lco_a, lco_b, lco_c = create_chain(company)
            user_a = create_lco_user('lco_a', lco_a)
            user_jv = create_lco_user('jv', jv)
        with Transaction().set_user(user_a.id), check_access():
            visible = Partner.search([])
            self.assertEqual(
                sorted(p.code for p in visible), ['JV', 'LCO-A', 'MSO'])
            with self.assertRaises(AccessError):
                Partner.read([lco_b.id], ['code'])
            with self.assertRaises(AccessError):
                Partner.write([Partner(lco_a.id)], {'code': 'HACK'})
        with Transaction().set_user(user_jv.id), check_access():
            self.assertEqual(
                sorted(p.code for p in Partner.search([])),
                ['JV', 'LCO-A', 'LCO-B', 'MSO'])

    @with_transaction()
    def test_new_partner_widens_scope(self):
        "A new LCO below a JV is visible at once to the JV's users"
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        company = create_company()
        with set_company(company):
            _, jv, _, _, _ = create_chain(company)
            user_jv = create_lco_user('jv', jv)
            with Transaction().set_user(user_jv.id), check_access():
                self.assertEqual(Partner.search_count([]), 4)
            create_partner('LCO-D', 'lco', parent=jv)
            with Transaction().set_user(user_jv.id), check_access():
                self.assertEqual(Partner.search_count([]), 5)


del ModuleTestCase
