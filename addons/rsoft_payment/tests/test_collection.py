import datetime
import io
from contextlib import contextmanager
from decimal import Decimal

from openpyxl import load_workbook

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import (
    PaymentOperator,
    new_account,
)

D = datetime.date


# The generic module checks run once, in test_module.py
class CollectionTestCase(PaymentOperator, test_tryton._DBTestCase):
    "Collections: the daily cash-up, the outstanding, settlement files"
    module = 'rsoft_payment'

    @contextmanager
    def set_up(self):
        "Yield (operator, payments, account factory)"
        with self.fixture() as (op, payments):

            def account(start=D(2025, 3, 1), mode='prepaid', lco=None,
                    **values):
                values.update(billing_mode=mode, billing_cycle=1,
                    bill_day_mode='fixed', bill_day=1,
                    email='asha@example.com')
                return new_account(lco or op.lco_a, start, **values)
            yield op, payments, account

    def invoice(self, subscriber, amount, invoice_date, due_date, product):
        "Return a posted bill of amount before taxes due on due_date"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.invoice.line')
        invoice = Invoice(
            company=subscriber.company, type='out', party=subscriber.party,
            invoice_date=invoice_date, payment_term_date=due_date,
            currency=subscriber.company.currency,
            rsoft_subscriber=subscriber, rsoft_lco=subscriber.lco)
        invoice.set_journal()
        invoice.on_change_party()
        line = Line(
            invoice=invoice, company=subscriber.company,
            currency=subscriber.company.currency, type='line',
            product=product, quantity=1)
        line.on_change_product()
        line.unit_price = Decimal(amount)
        invoice.lines = [line]
        invoice.save()
        # The bills of the past are posted now
        with Transaction().set_context(_skip_warnings=True):
            Invoice.post([invoice])
        return invoice

    def cash_up(self, model, company, day, as_of=None, **context):
        pool = Pool()
        CashUp = pool.get(model)
        with Transaction().set_context(
                company=company.id, from_date=day, to_date=day,
                as_of=as_of or day, **context):
            return CashUp.search([])

    @staticmethod
    def by_kind(rows):
        return {r.kind: (r.count, r.collected, r.electronic, r.deposited,
                r.missing, r.reversed) for r in rows}

    @with_transaction()
    def test_field_agent_cash_up(self):
        "The agent's day balances once the cash and the cheque are in"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        CashUp = pool.get('rsoft.collection.cash_up')
        with self.set_up() as (op, pay, account):
            asha, ravi = account(), account(name="Ravi Kumar")
            day = D(2025, 5, 3)
            cash = Payment.record(
                asha, Decimal('300'), pay.methods['cash'], date=day,
                collector=pay.agent)
            Payment.record(
                ravi, Decimal('450'), pay.methods['cheque'], date=day,
                collector=pay.agent, reference='004512')
            # A receipt written twice by mistake is reversed the same day
            twice = Payment.record(
                ravi, Decimal('100'), pay.methods['cash'], date=day,
                collector=pay.agent)
            Payment.reverse([twice], 'duplicate', date=day)
            Payment.deposit([cash], D(2025, 5, 4))

            rows = self.cash_up(
                'rsoft.collection.cash_up', op.company, day,
                collector=pay.agent.id)
            self.assertEqual({r.collector for r in rows}, {pay.agent})
            self.assertEqual({r.lco for r in rows}, {op.lco_a})
            # The deposit was made the next day
            self.assertEqual(self.by_kind(rows), {
                    'cash': (2, Decimal('400'), 0, 0, Decimal('300'),
                        Decimal('100')),
                    'cheque': (1, Decimal('450'), 0, 0, Decimal('450'), 0),
                    })
            self.assertFalse(CashUp.balances(rows))

            rows = self.cash_up(
                'rsoft.collection.cash_up', op.company, day,
                as_of=D(2025, 5, 4), collector=pay.agent.id)
            self.assertEqual(self.by_kind(rows), {
                    'cash': (2, Decimal('400'), 0, Decimal('300'), 0,
                        Decimal('100')),
                    'cheque': (1, Decimal('450'), 0, 0, Decimal('450'), 0),
                    })
            # The cheque is still in the agent's bag
            self.assertEqual(
                {r.kind: r.balanced for r in rows},
                {'cash': True, 'cheque': False})
            self.assertFalse(CashUp.balances(rows))
            self.assertEqual(
                sum(r.missing for r in rows), Decimal('450'))

            Payment.deposit(Payment.search([('kind', '=', 'cheque')]),
                D(2025, 5, 4))
            rows = self.cash_up(
                'rsoft.collection.cash_up', op.company, day,
                as_of=D(2025, 5, 4), collector=pay.agent.id)
            self.assertTrue(all(r.balanced for r in rows))
            self.assertTrue(CashUp.balances(rows))

            # Other days are not in the cash-up
            self.assertEqual(self.cash_up(
                    'rsoft.collection.cash_up', op.company,
                    D(2025, 5, 2)), [])

    @with_transaction()
    def test_lco_cash_up_sums_its_collectors(self):
        "The LCO's day adds its agent, the counter and the online payments"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        CashUpLco = pool.get('rsoft.collection.cash_up.lco')
        with self.set_up() as (op, pay, account):
            asha = account()
            other = account(lco=op.lco_b, name="Meera Shah")
            day = D(2025, 5, 3)
            first = Payment.record(
                asha, Decimal('300'), pay.methods['cash'], date=day,
                collector=pay.agent)
            second = Payment.record(
                asha, Decimal('200'), pay.methods['cash'], date=day,
                collector=pay.counter)
            Payment.record(
                asha, Decimal('150'), pay.methods['upi'], date=day,
                reference='UTR1')
            Payment.record(
                other, Decimal('999'), pay.methods['cash'], date=day,
                collector=pay.counter)
            Payment.deposit([first, second], day)

            rows = self.cash_up(
                'rsoft.collection.cash_up', op.company, day,
                lco=op.lco_a.id)
            self.assertEqual(len(rows), 3)
            rows = self.cash_up(
                'rsoft.collection.cash_up.lco', op.company, day,
                lco=op.lco_a.id)
            self.assertEqual(self.by_kind(rows), {
                    'cash': (2, Decimal('500'), 0, Decimal('500'), 0, 0),
                    'upi': (1, Decimal('150'), Decimal('150'), 0, 0, 0),
                    })
            self.assertTrue(CashUpLco.balances(rows))
            rows = self.cash_up(
                'rsoft.collection.cash_up.lco', op.company, day)
            self.assertEqual(
                {(r.lco, r.kind): r.missing for r in rows}, {
                    (op.lco_a, 'cash'): 0,
                    (op.lco_a, 'upi'): 0,
                    (op.lco_b, 'cash'): Decimal('999'),
                    })

    def set_up_ageing(self, op, pay, account):
        """Bill Asha 100 + taxes (119.18) due at various days, bill
        Ravi once and pay part of it, bill Meera of LCO B, who pays it
        and more, then bill her again; return the bills"""
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        product = pay.fee_product
        asha = account(mode='postpaid')
        ravi = account(mode='postpaid', name="Ravi Kumar")
        meera = account(mode='postpaid', lco=op.lco_b, name="Meera Shah")
        bills = [self.invoice(asha, '100', D(2025, 3, 1), due, product)
            for due in [D(2025, 7, 5), D(2025, 6, 30), D(2025, 6, 15),
                D(2025, 5, 20), D(2025, 4, 10), D(2025, 3, 1)]]
        bills.append(self.invoice(
                ravi, '200', D(2025, 6, 1), D(2025, 6, 10), product))
        Payment.record(
            ravi, Decimal('100'), pay.methods['cash'], date=D(2025, 6, 20),
            collector=pay.agent)
        bills.append(self.invoice(
                meera, '100', D(2025, 6, 1), D(2025, 6, 1), product))
        Payment.record(
            meera, Decimal('150'), pay.methods['upi'], date=D(2025, 6, 2),
            reference='UTR2')
        bills.append(self.invoice(
                meera, '100', D(2025, 6, 25), D(2025, 7, 10), product))
        return bills

    @with_transaction()
    def test_outstanding_by_lco_ageing(self):
        "The unpaid bills of each LCO's accounts by days past due"
        pool = Pool()
        Ageing = pool.get('rsoft.collection.ageing')
        with self.set_up() as (op, pay, account):
            bills = self.set_up_ageing(op, pay, account)
            self.assertEqual(bills[0].total_amount, Decimal('119.18'))
            self.assertEqual(bills[6].total_amount, Decimal('238.36'))

            with Transaction().set_context(
                    company=op.company.id, date=D(2025, 6, 30)):
                lco_a, lco_b = Ageing.search([], order=[('lco', 'ASC')])
            self.assertEqual(lco_a.lco, op.lco_a)
            self.assertEqual(lco_a.invoice_count, 7)
            self.assertEqual(lco_a.not_due, Decimal('238.36'))
            # 119.18 due on 15 June and Ravi's 138.36 left of 10 June
            self.assertEqual(lco_a.days_30, Decimal('257.54'))
            self.assertEqual(lco_a.days_60, Decimal('119.18'))
            self.assertEqual(lco_a.days_90, Decimal('119.18'))
            self.assertEqual(lco_a.over_90, Decimal('119.18'))
            self.assertEqual(lco_a.total, Decimal('853.44'))
            self.assertEqual(lco_a.advance, 0)
            # Meera paid her first bill and 30.82 ahead of the second
            self.assertEqual(lco_b.lco, op.lco_b)
            self.assertEqual(lco_b.invoice_count, 1)
            self.assertEqual(lco_b.not_due, Decimal('119.18'))
            self.assertEqual(lco_b.total, Decimal('119.18'))
            self.assertEqual(lco_b.advance, Decimal('30.82'))

            # On 1 June Ravi had not paid yet, nor was his bill due
            with Transaction().set_context(
                    company=op.company.id, date=D(2025, 6, 1),
                    lco=op.lco_a.id):
                lco_a, = Ageing.search([])
            self.assertEqual(lco_a.invoice_count, 7)
            self.assertEqual(lco_a.not_due, Decimal('595.90'))
            self.assertEqual(lco_a.days_30, Decimal('119.18'))
            self.assertEqual(lco_a.days_60, Decimal('119.18'))
            self.assertEqual(lco_a.days_90, 0)
            self.assertEqual(lco_a.over_90, Decimal('119.18'))
            self.assertEqual(lco_a.total, Decimal('953.44'))

    @with_transaction()
    def test_xlsx_sheets(self):
        "The cash-up and the outstanding open as spreadsheets with totals"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        CashUpSheet = pool.get('rsoft.collection.cash_up.xlsx', type='report')
        AgeingSheet = pool.get('rsoft.collection.ageing.xlsx', type='report')
        with self.set_up() as (op, pay, account):
            asha = account()
            day = D(2025, 5, 3)
            cash = Payment.record(
                asha, Decimal('300'), pay.methods['cash'], date=day,
                collector=pay.agent)
            Payment.record(
                asha, Decimal('450.50'), pay.methods['cheque'], date=day,
                collector=pay.agent, reference='004512')
            Payment.deposit([cash], day)

            with Transaction().set_context(
                    company=op.company.id, from_date=day, to_date=day,
                    as_of=day):
                ext, content, _, name = CashUpSheet.execute([], {})
            self.assertEqual(ext, 'xlsx')
            self.assertIn('2025-05-03', name)
            sheet = load_workbook(io.BytesIO(content)).active
            rows = list(sheet.iter_rows(values_only=True))
            self.assertIn('05/03/2025', rows[0][0])
            self.assertEqual(rows[2], (
                    "Date", "Collector", "LCO", "Mode", "Receipts",
                    "Collected", "Electronic", "Deposited", "Missing",
                    "Reversed"))
            cash_row, cheque_row = sorted(rows[3:5], key=lambda r: r[3])
            self.assertEqual(cash_row[1:], (
                    "Ravi (field agent)", op.lco_a.rec_name, "Cash", 1,
                    300, 0, 300, 0, 0))
            self.assertEqual(cheque_row[5:], (450.5, 0, 0, 450.5, 0))
            self.assertEqual(rows[5], (
                    "Total", None, None, None, 2, 750.5, 0, 300, 450.5, 0))
            self.assertEqual(
                sheet.cell(row=6, column=6).number_format, '#,##0.00')

            self.set_up_ageing(op, pay, account)
            with Transaction().set_context(
                    company=op.company.id, date=D(2025, 6, 30)):
                _, content, _, _ = AgeingSheet.execute([], {})
            sheet = load_workbook(io.BytesIO(content)).active
            rows = list(sheet.iter_rows(values_only=True))
            self.assertIn('06/30/2025', rows[0][0])
            self.assertEqual(rows[2][0], "LCO")
            self.assertEqual(len(rows), 6)
            self.assertEqual(rows[5][0], "Total")
            self.assertAlmostEqual(rows[5][7], 972.62)
            self.assertAlmostEqual(rows[5][8], 30.82)

    def settlement_file(self, *rows):
        lines = ["Customer ID,Reference,Amount,Date,UTR,Currency"]
        lines.extend(rows)
        return '\n'.join(lines).encode()

    @with_transaction()
    def test_settlement_import(self):
        "A bank file pays bills and tops up wallets; again it is refused"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        Settlement = pool.get('rsoft.payment.settlement')
        Wallet = pool.get('rsoft.wallet')
        Invoice = pool.get('account.invoice')
        with self.set_up() as (op, pay, account):
            asha = account()
            ravi = account(mode='postpaid', name="Ravi Kumar",
                contract_number='CAF-2231')
            bill = self.invoice(
                ravi, '200', D(2025, 6, 1), D(2025, 6, 10),
                pay.fee_product)
            data = self.settlement_file(
                f'{asha.customer_id},,500.00,2025-06-12,UTR0001,INR',
                ',CAF-2231,238.36,12/06/2025,UTR0002,',
                f'{asha.customer_id},,"1,000",,UTR0003,')
            method = pay.methods['bank_transfer']

            settlement = Settlement.import_file(
                method, data, file_name='sbi-0612.csv', date=D(2025, 6, 13))

            self.assertEqual(settlement.state, 'done')
            self.assertEqual(settlement.row_count, 3)
            self.assertEqual(settlement.total, Decimal('1738.36'))
            payments = sorted(settlement.payments, key=lambda p: p.number)
            self.assertEqual(
                [(p.subscriber, p.amount, p.date, p.external_id, p.state)
                    for p in payments], [
                    (asha, Decimal('500'), D(2025, 6, 12), 'UTR0001',
                        'cleared'),
                    (ravi, Decimal('238.36'), D(2025, 6, 12), 'UTR0002',
                        'cleared'),
                    (asha, Decimal('1000'), D(2025, 6, 13), 'UTR0003',
                        'cleared'),
                    ])
            self.assertEqual({p.collector for p in payments}, {pay.online})
            for payment in payments:
                self.assertIn(f"receipt {payment.number}", settlement.report)
            wallet, = Wallet.get_wallets([asha])
            self.assertEqual(wallet.balance, Decimal('1500'))
            self.assertEqual(Invoice(bill.id).state, 'paid')

            again = Settlement.import_file(
                method, data, file_name='sbi-0612.csv', date=D(2025, 6, 13))
            self.assertEqual(again.state, 'refused')
            self.assertEqual(again.payments, ())
            self.assertEqual(Payment.search([], count=True), 3)
            self.assertIn(
                f'"UTR0001" is already recorded as receipt '
                f'{payments[0].number}', again.report)
            self.assertIn("3 of 3 rows have errors", again.report)

    @with_transaction()
    def test_settlement_bad_row_records_nothing(self):
        "One bad row refuses the file: every row is reported, none recorded"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        Settlement = pool.get('rsoft.payment.settlement')
        with self.set_up() as (op, pay, account):
            asha = account()
            method = pay.methods['gateway']
            data = self.settlement_file(
                f'{asha.customer_id},,500,2025-06-12,pay_1,',
                '9999999,,300,2025-06-12,pay_2,',
                f'{asha.customer_id},,12.345,2025-06-31,pay_1,USD',
                f'{asha.customer_id},,-4,,,')

            settlement = Settlement.import_file(method, data)

            self.assertEqual(settlement.state, 'refused')
            self.assertEqual(Payment.search([], count=True), 0)
            lines = settlement.report.splitlines()
            self.assertEqual(len(lines), 5, settlement.report)
            self.assertTrue(lines[1].endswith("not recorded"), lines[1])
            self.assertEqual(lines[0], "Refused: 3 of 4 rows have errors. "
                "Nothing was recorded; correct the rows and import the file "
                "again.")
            self.assertEqual(lines[1], f"Row 2 ({asha.customer_id}, 500, "
                "pay_1): correct, not recorded")
            self.assertEqual(lines[2], "Row 3 (9999999, 300, pay_2): "
                "no account has customer ID \"9999999\"")
            self.assertIn("amount 12.345 has more decimals", lines[3])
            self.assertIn("date \"2025-06-31\" is not a date", lines[3])
            self.assertIn("currency USD is not the company's INR", lines[3])
            self.assertIn("\"pay_1\" is already on row 2", lines[3])
            self.assertIn("amount -4 is not positive", lines[4])
            self.assertIn("no external ID", lines[4])

            with self.assertRaisesRegex(UserError, "header row"):
                Settlement.import_file(method, b"name,total\nAsha,5\n")

    @with_transaction()
    def test_settlement_wizard(self):
        "The wizard imports the file and opens its settlement"
        pool = Pool()
        Import = pool.get('rsoft.payment.settlement.import', type='wizard')
        Settlement = pool.get('rsoft.payment.settlement')
        with self.set_up() as (op, pay, account):
            asha = account()
            data = self.settlement_file(
                f'{asha.customer_id},,500,2025-06-12,pay_9,')
            session_id, _, _ = Import.create()
            result = Import.execute(session_id, {
                    'start': {
                        'company': op.company.id,
                        'file': data,
                        'file_name': 'razorpay.csv',
                        'method': pay.methods['gateway'].id,
                        'date': D(2025, 6, 13),
                        },
                    }, 'import_')
            Import.delete(session_id)
            (action, _), = result['actions']
            settlement, = Settlement.search([])
            self.assertEqual(action['res_id'], [settlement.id])
            self.assertEqual(settlement.state, 'done', settlement.report)
            self.assertEqual(settlement.file_name, 'razorpay.csv')
            self.assertEqual(len(settlement.payments), 1)

