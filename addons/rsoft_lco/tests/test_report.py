import datetime
import io
from decimal import Decimal

from openpyxl import load_workbook

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.rsoft_billing.tests.tools import new_account
from trytond.modules.rsoft_catalogue.tests.tools import rpc_as
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction
from trytond.transaction import Transaction

from .tools import create_lco_operator

D = datetime.date
MARCH, APRIL = D(2025, 3, 1), D(2025, 4, 1)
FIGURES = ['subscribers', 'new', 'churned', 'billed', 'billed_total',
    'share', 'mso_share', 'collected', 'outstanding', 'top_up', 'debit',
    'refund', 'reversal', 'wallet_balance']


# The generic module checks run once, in test_module.py
class RevenueTestCase(FixtureMixin, _DBTestCase):
    "Partner revenue: the figures of two months of two LCOs and their JV"
    module = 'rsoft_lco'

    @classmethod
    def set_up_fixture(cls):
        return create_lco_operator()

    def set_up(self, op):
        """March: LCO-A tops up 1,000; Asha (prepaid) pays 600 and takes
        Gold (310 + NCF 130), billed 524.39; Ravi joins on the 10th.
        April: Asha pays 500 and is billed again; Ravi leaves on the
        15th; Meera joins LCO-B on the 2nd and pays 300, and 100 more
        that is reversed on the 20th."""
        pool = Pool()
        Agreement = pool.get('rsoft.partner.agreement')
        Line = pool.get('rsoft.subscription.line')
        Payment = pool.get('rsoft.payment')
        Subscriber = pool.get('rsoft.subscriber')
        TopUp = pool.get('rsoft.lco.top_up')
        cash = op.payments.methods['cash']
        # The JV keeps more than LCO-A: the rest is LCO-A's override
        Agreement.create([{
                    'partner': op.jv.id, 'start_date': D(2024, 1, 1),
                    'ncf_share': Decimal('0.50'),
                    'pay_channel_share': Decimal('0.25'),
                    'hardware_share': Decimal('0.15'),
                    }])
        TopUp.record(op.lco_a, Decimal('1000'),
            op.payments.methods['bank_transfer'], MARCH, 'NEFT 4711')

        asha = self.account(op.lco_a, MARCH)
        Payment.record(asha, Decimal('600'), cash, date=MARCH)
        line, = Line.create([{
                    'connection': asha.connections[0].id,
                    'product': op.gold.id, 'start_date': MARCH,
                    }])
        Line.activate([line])
        Subscriber.bill([Subscriber(asha.id)], MARCH)
        ravi = self.account(op.lco_a, D(2025, 3, 10))

        Payment.record(asha, Decimal('500'), cash, date=APRIL)
        Subscriber.bill([Subscriber(asha.id)], APRIL)
        Subscriber.terminate([ravi], D(2025, 4, 15))
        meera = self.account(op.lco_b, D(2025, 4, 2))
        Payment.record(meera, Decimal('300'), cash, date=D(2025, 4, 5))
        wrong = Payment.record(
            meera, Decimal('100'), cash, date=D(2025, 4, 6))
        Payment.reverse([wrong], 'wrong_account', date=D(2025, 4, 20))
        return asha, ravi, meera

    @staticmethod
    def account(lco, start):
        return new_account(lco, start, billing_mode='prepaid',
            billing_cycle=1, bill_day_mode='fixed', bill_day=1)

    def rows(self, op, from_month=MARCH, to_month=APRIL, **context):
        "Return the revenue rows by (partner code, month)"
        Revenue = Pool().get('rsoft.lco.revenue')
        with Transaction().set_context(company=op.company.id,
                from_month=from_month, to_month=to_month, **context):
            return {(r.partner.code, r.month): r
                for r in Revenue.search([])}

    def assertFigures(self, row, **expected):
        figures = {n: getattr(row, n) for n in FIGURES}
        expected = {n: expected.get(n, 0) for n in FIGURES}
        self.assertEqual(figures, {
                n: Decimal(v) if isinstance(v, str) else v
                for n, v in expected.items()})

    @with_transaction()
    def test_figures(self):
        "Two months of LCO-A and LCO-B, checked by hand; the JV sums them"
        with self.fixture() as op:
            self.set_up(op)
            rows = self.rows(op)

            self.assertEqual(set(rows), {
                    (code, month) for code in ['JV', 'LCO-A', 'LCO-B',
                        'LCO-C'] for month in [MARCH, APRIL]})
            # LCO-A keeps 20% of Gold (62.00) and 45% of NCF (58.50); its
            # wallet paid the MSO 248.00 + 71.50 at the activation
            self.assertFigures(rows['LCO-A', MARCH],
                subscribers=2, new=2, billed='440.00',
                billed_total='524.39', share='120.50',
                mso_share='319.50', collected='600.00',
                # Asha paid 75.61 ahead of her bills
                outstanding='-75.61', top_up='1000.00', debit='319.50',
                wallet_balance='680.50')
            self.assertFigures(rows['LCO-A', APRIL],
                subscribers=1, churned=1, billed='440.00',
                billed_total='524.39', share='120.50',
                mso_share='319.50', collected='500.00',
                outstanding='-51.22', debit='319.50',
                wallet_balance='361.00')
            self.assertFigures(rows['LCO-B', MARCH])
            # The 100 reversed in April is not collected
            self.assertFigures(rows['LCO-B', APRIL],
                subscribers=1, new=1, collected='300.00',
                outstanding='-300.00')
            self.assertFigures(rows['LCO-C', APRIL])

            # The JV: its LCOs summed, its own agreement on their charges
            # (25% of 310 = 77.50, 50% of 130 = 65.00)
            self.assertFigures(rows['JV', MARCH],
                subscribers=2, new=2, billed='440.00',
                billed_total='524.39', share='142.50',
                mso_share='297.50', collected='600.00',
                outstanding='-75.61', top_up='1000.00', debit='319.50',
                wallet_balance='680.50')
            self.assertFigures(rows['JV', APRIL],
                subscribers=2, new=1, churned=1, billed='440.00',
                billed_total='524.39', share='142.50',
                mso_share='297.50', collected='800.00',
                outstanding='-351.22', debit='319.50',
                wallet_balance='361.00')
            self.assertEqual(rows['LCO-A', MARCH].parent, op.jv)
            self.assertEqual(rows['JV', MARCH].role, 'jv')

            # The top rows count each subscriber once: the JV and LCO-C
            self.assertEqual(
                {k[0] for k, r in rows.items() if r.top}, {'JV', 'LCO-C'})

    @with_transaction()
    def test_filters(self):
        "A month, a partner, a JV with its LCOs; a period too long"
        with self.fixture() as op:
            self.set_up(op)

            rows = self.rows(op, from_month=D(2025, 4, 30),
                to_month=D(2025, 4, 2), partner=op.lco_b.id)
            self.assertEqual(list(rows), [('LCO-B', APRIL)])
            # Opening figures come from before the first month listed
            self.assertEqual(rows['LCO-B', APRIL].subscribers, 1)

            rows = self.rows(op, from_month=APRIL, jv=op.jv.id)
            self.assertEqual(set(rows), {
                    ('JV', APRIL), ('LCO-A', APRIL), ('LCO-B', APRIL)})
            self.assertEqual(rows['LCO-A', APRIL].outstanding,
                Decimal('-51.22'))
            self.assertEqual(rows['LCO-A', APRIL].wallet_balance,
                Decimal('361.00'))
            self.assertEqual(
                [k for k, r in rows.items() if r.top], [('JV', APRIL)])

            with self.assertRaises(UserError) as cm:
                self.rows(op, from_month=D(2022, 1, 1))
            self.assertIn('40', cm.exception.message)

    @with_transaction()
    def test_settlement(self):
        "The settlement of the month, once settled, is in the JV's row"
        pool = Pool()
        Settlement = pool.get('rsoft.lco.settlement')
        with self.fixture() as op:
            self.set_up(op)
            settlements = Settlement.settle([op.jv, op.lco_a], MARCH)
            rows = self.rows(op, to_month=MARCH)

            net = {s.partner.code: s.net_amount for s in settlements}
            self.assertTrue(net)
            self.assertEqual(rows['LCO-A', MARCH].settlement,
                net.get('LCO-A', 0))
            self.assertEqual(rows['JV', MARCH].settlement,
                sum(net.values(), Decimal(0)))

    @with_transaction()
    def test_xlsx(self):
        "The spreadsheet opens with the months, the JV and its LCOs"
        pool = Pool()
        Sheet = pool.get('rsoft.lco.revenue.xlsx', type='report')
        with self.fixture() as op:
            self.set_up(op)
            with Transaction().set_context(company=op.company.id,
                    from_month=MARCH, to_month=APRIL, jv=op.jv.id):
                ext, content, _, name = Sheet.execute([], {})

            self.assertEqual(ext, 'xlsx')
            self.assertIn('2025-04-30', name)
            sheet = load_workbook(io.BytesIO(content)).active
            rows = list(sheet.iter_rows(values_only=True))
            self.assertIn('03/01/2025', rows[0][0])
            self.assertIn('04/30/2025', rows[0][0])
            header = rows[2]
            self.assertEqual(header[:6], ("Month", "Partner", "Role",
                    "Subscribers", "New", "Churned"))
            data = [dict(zip(header, r)) for r in rows[3:]]
            self.assertEqual(
                [(r["Month"].date(), r["Partner"]) for r in data], [
                    (MARCH, op.jv.rec_name),
                    (MARCH, op.lco_a.rec_name),
                    (MARCH, op.lco_b.rec_name),
                    (APRIL, op.jv.rec_name),
                    (APRIL, op.lco_a.rec_name),
                    (APRIL, op.lco_b.rec_name),
                    ])
            jv_april = data[3]
            self.assertEqual(jv_april["Subscribers"], 2)
            self.assertEqual(jv_april["Billed"], 440)
            self.assertEqual(jv_april["Partner Share"], 142.5)
            self.assertEqual(jv_april["Collected"], 800)
            self.assertAlmostEqual(jv_april["Outstanding"], -351.22)
            self.assertEqual(jv_april["Wallet Balance"], 361)

    @with_transaction()
    def test_lco_sees_its_own_rows(self):
        "LCO-A's login reads its rows only, whatever it asks for by RPC"
        pool = Pool()
        Revenue = pool.get('rsoft.lco.revenue')
        Sheet = pool.get('rsoft.lco.revenue.xlsx', type='report')
        with self.fixture() as op:
            self.set_up(op)
            others = self.rows(op)
            theirs = [r.id for (code, _), r in others.items()
                if code != 'LCO-A']

            with rpc_as(op.user_a), Transaction().set_context(
                    from_month=MARCH, to_month=APRIL):
                rows = Revenue.search([])
                self.assertEqual(
                    {(r.partner.code, r.month) for r in rows},
                    {('LCO-A', MARCH), ('LCO-A', APRIL)})
                self.assertEqual(Revenue.search([('id', 'in', theirs)]), [])
                with self.assertRaises(AccessError):
                    Revenue.read(theirs, ['billed'])
                # Naming the JV or LCO-B as the partner shows nothing more
                for context in [{'jv': op.jv.id}, {'partner': op.lco_b.id}]:
                    with Transaction().set_context(context):
                        self.assertEqual(
                            [r.partner for r in Revenue.search([])],
                            [op.lco_a] * (2 if 'jv' in context else 0))
                with Transaction().set_context(jv=op.jv.id):
                    _, content, _, _ = Sheet.execute([], {})
                sheet = load_workbook(io.BytesIO(content)).active
                partners = {r[1] for r in sheet.iter_rows(
                        min_row=4, values_only=True)}
                self.assertEqual(partners, {op.lco_a.rec_name})
                for method in ['create', 'write', 'delete']:
                    self.assertNotIn(method, Revenue.__rpc__)

    @with_transaction()
    def test_graph(self):
        "The graph of the last twelve months loads, a login's own partner"
        pool = Pool()
        Context = pool.get('rsoft.lco.revenue.graph.context')
        Date = pool.get('ir.date')
        ModelData = pool.get('ir.model.data')
        Revenue = pool.get('rsoft.lco.revenue')
        with self.fixture() as op:
            view_id = ModelData.get_id('rsoft_lco', 'revenue_view_graph')
            view = Revenue.fields_view_get(view_id, view_type='graph')
            self.assertEqual(view['type'], 'graph')
            self.assertLessEqual(
                {'month', 'billed', 'collected', 'share'},
                set(view['fields']))

            today = Date.today()
            defaults = Context.default_get(
                ['from_month', 'to_month', 'partner'],
                with_rec_name=False)
            self.assertEqual(defaults['to_month'], today)
            self.assertEqual(defaults['from_month'].day, 1)
            months = (today.year * 12 + today.month) - (
                defaults['from_month'].year * 12
                + defaults['from_month'].month)
            self.assertEqual(months, 11)
            self.assertIsNone(defaults['partner'])
            with rpc_as(op.user_a):
                self.assertEqual(Context.default_get(
                        ['partner'], with_rec_name=False)['partner'],
                    op.lco_a.id)


del _DBTestCase
