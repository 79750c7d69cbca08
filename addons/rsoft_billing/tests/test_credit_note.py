"""Credit notes: each tax is its rate of its base rounded once, and a
credit is the exact negative of the charge it credits

The issue: a prepaid account ended on 21 January was credited Rs 110.00
of Gold and Rs 46.13 of NCF with GST of -28.11 on a base of -156.13 (18%
is -28.1034). Tryton had moved the rounding of the 1% cess (-1.842334 to
-1.84) onto the GST; a positive invoice of the same lines had the same
odd paisa."""
import datetime
from decimal import Decimal

from trytond.modules.rsoft_billing.posting import InvoiceBatch
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction
from trytond.transaction import Transaction

from .tools import AccountsMixin, BillingOperator, PostingMixin

D = datetime.date


class CreditNoteTestCase(
        AccountsMixin, PostingMixin, BillingOperator, _DBTestCase):
    "Test the taxes of credit notes"
    module = 'rsoft_billing'

    @staticmethod
    def taxes(invoice):
        "Return (tax, base, amount) of invoice's taxes, GST first"
        return [(t.tax.name, t.base, t.amount) for t in sorted(
                invoice.taxes, key=lambda t: t.tax.sequence)]

    @staticmethod
    def set_tax_rounding(method):
        Configuration = Pool().get('account.configuration')
        configuration = Configuration(1)
        configuration.tax_rounding = method
        configuration.save()

    def assertBalanced(self, invoice):
        move = invoice.move
        self.assertEqual(move.state, 'posted')
        self.assertEqual(
            sum(line.debit for line in move.lines),
            sum(line.credit for line in move.lines))
        self.assertEqual(
            sum(line.debit - line.credit for line in move.lines
                if line.account == invoice.account),
            invoice.total_amount)

    @with_transaction()
    def test_termination_credit_taxed_once(self):
        "Ended on 21 January: GST is 18% of the credit, rounded once"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        with self.set_up(mode='prepaid', wallet=Decimal('1000')) as (
                op, account):
            subscriber = account(D(2025, 1, 1))
            subscribe(subscriber.connections[0], op.gold, D(2025, 1, 1))
            invoice, = self.bill(subscriber, D(2025, 1, 1))
            self.assertEqual(self.taxes(invoice), [
                    ('GST 18%', Decimal('440.00'), Decimal('79.20')),
                    ('Cess 1%', Decimal('519.20'), Decimal('5.19'))])

            Subscriber.terminate([Subscriber(subscriber.id)], D(2025, 1, 21))
            credit_note, = self.bill(subscriber, D(2025, 1, 21))

            self.assertEqual(credit_note.sequence_type_cache, 'credit_note')
            # 11 unused days of 31
            self.assertEqual(
                sorted(line.amount for line in credit_note.lines),
                [Decimal('-110.00'), Decimal('-46.13')])
            # 18% of -156.13 is -28.1034; 1% of -184.2334 is -1.842334
            self.assertEqual(self.taxes(credit_note), [
                    ('GST 18%', Decimal('-156.13'), Decimal('-28.10')),
                    ('Cess 1%', Decimal('-184.23'), Decimal('-1.84'))])
            self.assertEqual(credit_note.total_amount, Decimal('-186.07'))
            self.assertBalanced(credit_note)
            self.assertPostedAsTryton([credit_note])

    @with_transaction()
    def test_cancelled_line_credited_exactly(self):
        "A pack cancelled once billed: its credit note mirrors its invoice"
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        with self.set_up(mode='prepaid', wallet=Decimal('1000')) as (
                op, account):
            subscriber = account(D(2025, 2, 1))
            connection = subscriber.connections[0]
            subscribe(connection, op.gold, D(2025, 2, 1))
            self.bill(subscriber, D(2025, 2, 1))
            sports = subscribe(connection, op.sports, D(2025, 2, 22))
            invoice, = self.bill(subscriber, D(2025, 2, 22))
            # 7 of 28 days of Rs 93; 18% of it is 4.185, a tie
            self.assertEqual(
                [line.amount for line in invoice.lines], [Decimal('23.25')])
            self.assertEqual(self.taxes(invoice), [
                    ('GST 18%', Decimal('23.25'), Decimal('4.19')),
                    ('Cess 1%', Decimal('27.44'), Decimal('0.27'))])

            Line.stop([Line(sports.id)], D(2025, 2, 22))
            self.assertEqual(Line(sports.id).state, 'cancelled')
            credit_note, = self.bill(subscriber, D(2025, 2, 22))

            self.assertEqual(credit_note.sequence_type_cache, 'credit_note')
            self.assertEqual(
                [line.amount for line in credit_note.lines],
                [-line.amount for line in invoice.lines])
            self.assertEqual(self.taxes(credit_note),
                [(name, -base, -amount)
                    for name, base, amount in self.taxes(invoice)])
            self.assertEqual(credit_note.total_amount, Decimal('-27.71'))
            self.assertEqual(credit_note.total_amount, -invoice.total_amount)
            for posted in [invoice, credit_note]:
                self.assertBalanced(posted)
                self.assertPostedAsTryton([posted])

    @with_transaction()
    def test_taxes_as_tryton_computes_them(self):
        """The bill run's taxes of lines and of their credits are those
        Tryton computes, each rounded once, half-up, the credit's the
        exact negatives: by document and by line"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        date = D(2025, 1, 1)
        cases = [
            # (line amounts, document GST and cess, by line)
            ([Decimal('110.00'), Decimal('46.13')],
                ('28.10', '1.84'), ('28.10', '1.84')),
            # Tryton made the GST 6.96: the cess was rounded up
            ([Decimal('38.71')], ('6.97', '0.46'), ('6.97', '0.46')),
            # 4.185 and 0.045 are ties
            ([Decimal('23.25')], ('4.19', '0.27'), ('4.19', '0.27')),
            ([Decimal('0.25')], ('0.05', '0.00'), ('0.05', '0.00')),
            ([Decimal('0.25'), Decimal('0.25')],
                ('0.09', '0.01'), ('0.10', '0.00')),
            ]
        with self.set_up() as (op, _):
            company = op.company
            taxes = [op.gst, op.cess]

            def computed(batch, amounts):
                "Return {tax: amount} of the bill run and of Tryton"
                draft = batch.add({}, [({'quantity': 1, 'unit_price': a},
                            taxes) for a in amounts])
                invoice = Invoice(company=company, currency=company.currency,
                    type='out', invoice_date=date, accounting_date=None,
                    lines=[InvoiceLine(type='line', quantity=1,
                            unit_price=a, taxes=taxes) for a in amounts])
                return (
                    {t['tax']: t['amount'] for t in draft.taxes},
                    {t.tax: t.amount for t in invoice._get_taxes().values()})

            for method, index in [('document', 1), ('line', 2)]:
                self.set_tax_rounding(method)
                batch = InvoiceBatch(company, date)
                with Transaction().set_context(company=company.id):
                    for case in cases:
                        amounts, expected = case[0], case[index]
                        expected = dict(zip(taxes, map(Decimal, expected)))
                        bulk, tryton = computed(batch, amounts)
                        self.assertEqual((method, amounts, bulk),
                            (method, amounts, expected))
                        self.assertEqual(tryton, bulk)
                        credits = [-a for a in amounts]
                        bulk, tryton = computed(batch, credits)
                        self.assertEqual(
                            (method, credits, bulk),
                            (method, credits,
                                {t: -a for t, a in expected.items()}))
                        self.assertEqual(tryton, bulk)
