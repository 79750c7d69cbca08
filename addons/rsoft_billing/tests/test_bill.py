"The printed bills: two layouts, two tax layers, a statement of account"
import datetime
import io
import zipfile
from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace

from pypdf import PdfReader

from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.modules.account.tests import create_chart
from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_partner.tests.tools import (
    create_chain,
    create_lco_user,
)
from trytond.modules.rsoft_subscriber.tests.tools import create_subscriber
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

from .tools import create_gst_fiscalyear, create_operator_company

D = datetime.date


def pdf_text(content):
    "Return the text of the PDF, its pages joined, and the page count"
    reader = PdfReader(io.BytesIO(content))
    return '\n'.join(p.extract_text() for p in reader.pages), len(
        reader.pages)


class BillTestCase(FixtureMixin, test_tryton._DBTestCase):
    "Test the printed bills"
    module = 'rsoft_billing'

    @classmethod
    def set_up_fixture(cls):
        """Return an operator billing in rupees with GST 18% and a 1%
        cess on the amount with GST, and two LCOs: LCO-A prints classic
        bills, LCO-B compact ones"""
        op = SimpleNamespace(company=create_operator_company())
        with set_company(op.company):
            cls.set_up_accounting(op, op.company)
        return op

    @contextmanager
    def operator(self):
        "Give the test the operator's records as attributes"
        with self.fixture() as op:
            vars(self).update(vars(op))
            yield

    @staticmethod
    def set_up_accounting(op, company):
        pool = Pool()
        PaymentTerm = pool.get('account.invoice.payment_term')
        Account = pool.get('account.account')
        Tax = pool.get('account.tax')
        Party = pool.get('party.party')
        create_chart(company)
        create_gst_fiscalyear(company, 2025)

        tax_account, = Account.search([('code', '=', '6.3.6')])
        op.gst, op.cess = Tax.create([{
                    'name': "GST 18%", 'description': "GST 18%",
                    'type': 'percentage', 'rate': Decimal('0.18'),
                    'invoice_account': tax_account.id,
                    'credit_note_account': tax_account.id,
                    # The cess is levied on the amount with GST
                    'update_unit_price': True, 'sequence': 10,
                    }, {
                    'name': "Cess 1%", 'description': "Cess 1%",
                    'type': 'percentage', 'rate': Decimal('0.01'),
                    'invoice_account': tax_account.id,
                    'credit_note_account': tax_account.id,
                    'sequence': 20,
                    }])
        op.revenue, = Account.search([('code', '=', '4.1.2')])
        op.cash, = Account.search([('code', '=', '1.1.1')])
        op.payment_term, = PaymentTerm.create([{
                    'name': "15 days",
                    'lines': [('create', [{
                                    'type': 'remainder',
                                    'relativedeltas': [
                                        ('create', [{'days': 15}])],
                                    }])],
                    }])
        op.surya, op.star = Party.create([
                {'name': "Surya Media"}, {'name': "Star India"}])

        _, _, op.lco_a, op.lco_b, _ = create_chain(company)
        op.lco_a.bill_template = 'classic'
        op.lco_a.save()
        op.lco_b.bill_template = 'compact'
        op.lco_b.save()

    def invoice(self, subscriber, date, end, lines):
        "Create and post the invoice of subscriber from (section, text, "
        "amount, broadcaster) lines"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Journal = pool.get('account.journal')
        party = subscriber.party
        journal, = Journal.search([('code', '=', 'REV')])
        connection, = subscriber.connections
        invoice, = Invoice.create([{
                    'type': 'out',
                    'company': self.company.id,
                    'currency': self.company.currency.id,
                    'party': party.id,
                    'invoice_address': party.addresses[0].id,
                    'account': party.account_receivable_used.id,
                    'journal': journal.id,
                    'payment_term': self.payment_term.id,
                    'invoice_date': date,
                    'rsoft_subscriber': subscriber.id,
                    'rsoft_lco': subscriber.lco.id,
                    'rsoft_period_start': date,
                    'rsoft_period_end': end,
                    'lines': [('create', [{
                                    'type': 'line',
                                    'account': self.revenue.id,
                                    'quantity': 1,
                                    'unit_price': Decimal(amount),
                                    'description': description,
                                    'taxes': [('add', [
                                                self.gst.id, self.cess.id])],
                                    'rsoft_section': section,
                                    'rsoft_broadcaster': (
                                        broadcaster.id if broadcaster
                                        else None),
                                    'rsoft_connection': connection.id,
                                    } for section, description, amount,
                                broadcaster in lines])],
                    }])
        Invoice.update_taxes([invoice])
        # The bills are of months past: their due dates are past too
        with Transaction().set_context(_skip_warnings=True):
            Invoice.post([invoice])
        return invoice

    def pay(self, subscriber, date, amount):
        "Post the cash received from subscriber on date"
        pool = Pool()
        Move = pool.get('account.move')
        Journal = pool.get('account.journal')
        Period = pool.get('account.period')
        party = subscriber.party
        journal, = Journal.search([('code', '=', 'CASH')])
        move, = Move.create([{
                    'journal': journal.id,
                    'period': Period.find(self.company, date=date).id,
                    'date': date,
                    'lines': [('create', [{
                                    'account': self.cash.id,
                                    'debit': amount, 'credit': Decimal(0),
                                    }, {
                                    'account': (
                                        party.account_receivable_used.id),
                                    'party': party.id,
                                    'debit': Decimal(0), 'credit': amount,
                                    }])],
                    }])
        Move.post([move])

    def print_bills(self, invoices):
        pool = Pool()
        Bill = pool.get('rsoft.billing.bill', type='report')
        return Bill.execute([i.id for i in invoices], {})

    def month_of_asha(self):
        """Asha of LCO-A is billed January and February; she pays
        Rs 150 between the two bills"""
        asha = create_subscriber(self.lco_a, name="Asha Patil")
        january = self.invoice(asha, D(2026, 1, 1), D(2026, 1, 31), [
                ('ncf', "NCF, 200 channels", '130', None),
                ('alacarte', "Surya TV", '10', self.surya),
                ])
        self.pay(asha, D(2026, 1, 15), Decimal('150.00'))
        february = self.invoice(asha, D(2026, 2, 1), D(2026, 2, 28), [
                ('alacarte', "Star Gold", '19', self.star),
                ('ncf', "NCF, 200 channels", '130', None),
                ('bouquet', "Base Pack", '12', None),
                ('alacarte', "Surya TV", '10', self.surya),
                ('hardware', "STB rental", '50', None),
                ])
        return asha, january, february

    @with_transaction()
    def test_classic_bill(self):
        "The classic bill itemises by section and states the account"
        with self.operator():
            asha, january, february = self.month_of_asha()
            oext, content, _, name = self.print_bills([february])
        # 140 + GST 25.20 + cess 1% of 165.20 = 1.65
        self.assertEqual(january.total_amount, Decimal('166.85'))
        # 221 + GST 39.78 + cess 1% of 260.78 = 2.61
        self.assertEqual(february.untaxed_amount, Decimal('221.00'))
        self.assertEqual(february.tax_amount, Decimal('42.39'))
        self.assertEqual(february.total_amount, Decimal('263.39'))

        self.assertEqual(oext, 'pdf')
        self.assertTrue(name.startswith("Bill-"))
        text, pages = pdf_text(content)
        self.assertEqual(pages, 1)
        self.assertIn(f"Customer ID {asha.customer_id}", text)
        self.assertIn("Asha Patil\n12 MG Road\nPune", text)
        self.assertIn("LCO-A Cable", text)
        self.assertIn("RSoft Cable Network", text)
        # The GST serial of the fiscal year 2025-26
        self.assertEqual(january.number, 'RS/2526/000001')
        self.assertEqual(february.number, 'RS/2526/000002')
        self.assertIn("Bill Number RS/2526/000002", text)
        self.assertIn("Bill Date 02/01/2026", text)
        self.assertIn("Billing Period 02/01/2026 – 02/28/2026", text)
        self.assertIn("Due Date 02/16/2026", text)
        self.assertIn("Charges in Detail", text)
        self.assertNotIn("Bill Summary", text)

        # The sections in their order, the channels under broadcasters
        headings = ["Network Capacity Fee", "A-la-carte Channels",
            "Star India", "Star Gold", "Surya Media", "Surya TV",
            "Bouquets and Packs", "Hardware"]
        positions = [text.index(h) for h in headings]
        self.assertEqual(positions, sorted(positions))
        self.assertIn("Total Surya Media ₹10.00", text)
        self.assertIn("Total A-la-carte Channels ₹29.00", text)
        self.assertIn("STB rental C10", text)

        # Two tax layers, each with its base
        self.assertIn("GST 18% ₹221.00 ₹39.78", text)
        self.assertIn("Cess 1% ₹260.78 ₹2.61", text)
        self.assertIn("Untaxed Amount ₹221.00", text)
        self.assertIn("Tax Amount ₹42.39", text)
        self.assertIn("Total Current Charges ₹263.39", text)

        # 166.85 billed in January, 150.00 paid since: 16.85 + 263.39 due
        self.assertIn("₹166.85 ₹150.00 ₹263.39 ₹280.24", text)
        self.assertIn("Previous Balance ₹166.85", text)
        self.assertIn("Payments Received -₹150.00", text)
        self.assertIn("Amount Due ₹280.24", text)

    @with_transaction()
    def test_first_bill(self):
        "The first bill of an account has no previous balance"
        with self.operator():
            _, january, _ = self.month_of_asha()
            _, content, _, _ = self.print_bills([january])
        text, _ = pdf_text(content)
        self.assertIn("₹0.00 ₹0.00 ₹166.85 ₹166.85", text)
        self.assertIn("Billing Period 01/01/2026 – 01/31/2026", text)

    @with_transaction()
    def test_compact_bill(self):
        "The accounts of LCO-B get the compact layout, on A5"
        with self.operator():
            ravi = create_subscriber(self.lco_b, name="Ravi Kumar")
            invoice = self.invoice(ravi, D(2026, 2, 1), D(2026, 2, 28), [
                    ('ncf', "NCF, 200 channels", '130', None),
                    ('alacarte', "Star Gold", '19', self.star),
                    ])
            _, content, _, _ = self.print_bills([invoice])
        text, _ = pdf_text(content)
        page, = PdfReader(io.BytesIO(content)).pages
        # A5 is 420 points wide, A4 595
        self.assertAlmostEqual(float(page.mediabox.width), 419.5, delta=1)
        self.assertIn("Bill Summary", text)
        self.assertNotIn("Charges in Detail", text)
        self.assertIn(f"Customer ID {ravi.customer_id}", text)
        self.assertIn("Name Ravi Kumar", text)
        self.assertIn("Address 12 MG Road, Pune", text)
        self.assertIn("LCO: LCO-B Cable (LCO-B)", text)
        self.assertIn("Bill RS/2526/000001, 02/01/2026", text)
        self.assertIn("Period 02/01/2026 – 02/28/2026", text)
        self.assertIn("A-la-carte Channels ₹19.00", text)
        self.assertIn("Star Gold (Star India) ₹19.00", text)
        # 149 + GST 26.82 + cess 1% of 175.82 = 1.76
        self.assertIn("Untaxed Amount ₹149.00", text)
        self.assertIn("GST 18% ₹26.82", text)
        self.assertIn("Cess 1% ₹1.76", text)
        self.assertIn("Tax Amount ₹28.58", text)
        self.assertIn("Total Current Charges ₹177.58", text)
        self.assertIn("Previous Balance ₹0.00", text)
        self.assertIn("Amount Due ₹177.58", text)

    @with_transaction()
    def test_account_template(self):
        "The account's own choice of layout wins over its LCO's"
        with self.operator():
            ravi = create_subscriber(self.lco_b, bill_template='classic')
            invoice = self.invoice(ravi, D(2026, 2, 1), D(2026, 2, 28), [
                    ('ncf', "NCF, 200 channels", '130', None),
                    ])
            _, content, _, _ = self.print_bills([invoice])
        text, _ = pdf_text(content)
        self.assertIn("Charges in Detail", text)
        self.assertIn("LCO-B Cable", text)

    @with_transaction()
    def test_print_together(self):
        """Bills of one layout print as one PDF, a page each; bills of
        two layouts as a PDF per layout"""
        with self.operator():
            _, january, february = self.month_of_asha()
            ravi = create_subscriber(self.lco_b, name="Ravi Kumar")
            compact = self.invoice(ravi, D(2026, 2, 1), D(2026, 2, 28), [
                    ('ncf', "NCF, 200 channels", '130', None),
                    ])
            same = self.print_bills([january, february])
            mixed = self.print_bills([compact, january, february])
        oext, content, _, _ = same
        self.assertEqual(oext, 'pdf')
        text, pages = pdf_text(content)
        self.assertEqual(pages, 2)
        self.assertIn(f"Bill Number {january.number}", text)
        self.assertIn(f"Bill Number {february.number}", text)

        oext, content, _, _ = mixed
        self.assertEqual(oext, 'zip')
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = sorted(archive.namelist())
            texts = [pdf_text(archive.read(n)) for n in names]
        (classic, classic_pages), (compact_text, compact_pages) = texts
        self.assertEqual(classic_pages, 2)
        self.assertIn("Charges in Detail", classic)
        self.assertIn(f"Bill Number {february.number}", classic)
        self.assertEqual(compact_pages, 1)
        self.assertIn("Bill Summary", compact_text)
        self.assertIn(ravi.customer_id, compact_text)

    def read_as_client(self, Model, ids, view_type):
        "Read the records as the client does for the model's view"
        view = Model.fields_view_get(view_type=view_type)
        names = list(view['fields'])
        names += [f'{n}.rec_name' for n, f in view['fields'].items()
            if f['type'] in {'many2one', 'reference'}]
        return Model.read(ids, names)

    @with_transaction()
    def test_lco_reads_and_prints_own_bills(self):
        "An LCO user reads and prints the bills of its subscribers only"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.invoice.line')
        Tax = pool.get('account.invoice.tax')
        with self.operator():
            asha, january, february = self.month_of_asha()
            ravi = create_subscriber(self.lco_b, name="Ravi Kumar")
            theirs = self.invoice(ravi, D(2026, 2, 1), D(2026, 2, 28), [
                    ('ncf', "NCF, 200 channels", '130', None),
                    ])
            user = create_lco_user('lco_a', self.lco_a)
            with Transaction().set_user(user.id), check_access():
                self.assertEqual(
                    Invoice.search([], order=[('id', 'ASC')]),
                    [january, february])
                for view_type in ['tree', 'form']:
                    self.read_as_client(
                        Invoice, [february.id], view_type)
                    self.read_as_client(
                        Line, [line.id for line in february.lines], view_type)
                    self.read_as_client(
                        Tax, [t.id for t in february.taxes], view_type)
                self.assertEqual(
                    {line.invoice for line in Line.search([])},
                    {january, february})
                self.assertEqual(
                    {t.invoice for t in Tax.search([])},
                    {january, february})
                _, content, _, _ = self.print_bills([february])

                for Model, ids in [
                        (Invoice, [theirs.id]),
                        (Line, [line.id for line in theirs.lines]),
                        (Tax, [t.id for t in theirs.taxes]),
                        ]:
                    with self.subTest(model=Model.__name__):
                        with self.assertRaises(AccessError):
                            Model.read(ids, ['id'])
                with self.assertRaises(AccessError):
                    self.print_bills([theirs])
                with self.assertRaises(AccessError):
                    self.print_bills([february, theirs])
        text, _ = pdf_text(content)
        self.assertIn(f"Bill Number {february.number}", text)
        self.assertIn("Amount Due ₹280.24", text)

    @with_transaction()
    def test_lco_cannot_change_bills(self):
        "An LCO user neither writes, posts, cancels nor deletes a bill"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.invoice.line')
        with self.operator():
            asha = create_subscriber(self.lco_a, name="Asha Patil")
            posted = self.invoice(asha, D(2026, 1, 1), D(2026, 1, 31), [
                    ('ncf', "NCF, 200 channels", '130', None),
                    ])
            draft, = Invoice.copy([posted])
            user = create_lco_user('lco_a', self.lco_a)
            with Transaction().set_user(user.id), check_access():
                with self.assertRaises(AccessError):
                    Invoice.write([Invoice(draft.id)],
                        {'description': "Waived"})
                with self.assertRaises(AccessError):
                    Line.write([Line(draft.lines[0].id)],
                        {'unit_price': Decimal(0)})
                with self.assertRaises(AccessError):
                    Invoice.create([{'type': 'out', 'party': asha.party.id}])
                with self.assertRaises(AccessError):
                    Invoice.delete([Invoice(draft.id)])
                for button in ['post', 'validate_invoice', 'cancel']:
                    with self.subTest(button=button):
                        with self.assertRaises(
                                (AccessError, AccessButtonError)):
                            getattr(Invoice, button)([Invoice(draft.id)])
            self.assertEqual(Invoice(draft.id).state, 'draft')
            self.assertEqual(Invoice(posted.id).state, 'posted')
            self.assertEqual(Invoice(draft.id).description, None)
