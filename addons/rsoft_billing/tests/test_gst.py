"GST invoices: serials per fiscal year, SAC and revenue per offer kind"
import datetime
from decimal import Decimal

from trytond.model.exceptions import ValidationError
from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_partner.tests.tools import create_lco_user
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

from .test_bill import pdf_text
from .tools import (
    create_offer,
    create_operator,
    create_operator_company,
    new_account,
    set_up_accounting,
)

D = datetime.date
COMPANY_GSTIN = '27AAACR5055K1Z7'
CUSTOMER_GSTIN = '29AABCS1429B1ZQ'


def read_as_client(Model, ids):
    "Read the records as the client does for the model's form"
    view = Model.fields_view_get(view_type='form')
    names = list(view['fields'])
    names += [f'{n}.rec_name' for n, f in view['fields'].items()
        if f['type'] in {'many2one', 'reference'}]
    return Model.read(ids, names)


# The generic module checks run once, in test_module.py
class GSTTestCase(FixtureMixin, test_tryton._DBTestCase):
    "Test the GST invoices"
    module = 'rsoft_billing'

    @classmethod
    def set_up_fixture(cls):
        """Return the operator of Mumbai (GSTIN 27AAACR5055K1Z7) with
        the fiscal years 2023-24 to 2026-27, its offers and revenue
        accounts and SAC per offer kind; LCO-A's accounts are in
        Maharashtra, LCO-B's in Karnataka"""
        pool = Pool()
        Account = pool.get('account.account')
        Country = pool.get('country.country')
        Identifier = pool.get('party.identifier')
        OfferKind = pool.get('rsoft.billing.offer_kind')
        company = create_operator_company()
        with set_company(company):
            op = create_operator(company, fta=False)
            op.gold = create_offer(
                "Gold Pack", 'base_pack', '310',
                bouquet=op.base.template.bouquet)
            op.rental = create_offer("STB Rental", 'stb_rental', '50')
            op.install = create_offer("Installation", 'installation', '350')
            op.gst, op.cess, _ = set_up_accounting(company)
            india, = Country.create([{
                        'name': "India", 'code': 'IN',
                        'subdivisions': [('create', [{
                                        'name': name, 'code': code,
                                        'type': 'state',
                                        } for name, code in [
                                        ("Maharashtra", 'IN-MH'),
                                        ("Karnataka", 'IN-KA')]])],
                        }])
            op.maharashtra, op.karnataka = sorted(
                india.subdivisions, key=lambda s: s.code, reverse=True)
            Identifier.create([{
                        'party': company.party.id, 'type': 'in_vat',
                        'code': COMPANY_GSTIN,
                        }])
            revenue, = Account.search([
                    ('type.revenue', '=', True),
                    ('closed', '!=', True),
                    ], limit=1)
            op.accounts = {}
            for kind, name in [
                    ('base_pack', "Pay channel and bouquet revenue"),
                    ('ncf', "Network capacity fee revenue"),
                    ('stb_rental', "STB rental revenue")]:
                op.accounts[kind], = Account.create([{
                            'name': name, 'company': company.id,
                            'type': revenue.type.id,
                            'parent': revenue.parent.id,
                            }])
            OfferKind.create([{
                        'company': company.id, 'kind': kind, 'sac': sac,
                        'account_revenue': (
                            op.accounts[kind].id if kind in op.accounts
                            else None),
                        } for kind, sac in [
                        ('base_pack', '998466'), ('ncf', '998466'),
                        ('stb_rental', '997319'),
                        ('installation', '998734')]])
            op.revenue = revenue
            return op

    def account(self, op, lco, start, mode='prepaid', state=None,
            gstin=None, name="Asha Patil"):
        "Return an account of lco started on start in state"
        pool = Pool()
        Address = pool.get('party.address')
        Identifier = pool.get('party.identifier')
        subscriber = new_account(
            lco, start, billing_mode=mode, bill_day_mode='fixed',
            bill_day=1, name=name)
        party = subscriber.party
        state = state or op.maharashtra
        Address.write(list(party.addresses), {
                'country': state.country.id, 'subdivision': state.id})
        if gstin:
            Identifier.create([{
                        'party': party.id, 'type': 'in_vat',
                        'code': gstin}])
        return subscriber

    def installed(self, op, lco, date, **values):
        """Return the invoice of a prepaid account installed on date: its
        empty wallet pays nothing, the installation is invoiced"""
        subscriber = self.account(op, lco, date, **values)
        subscribe(subscriber.connections[0], op.install, date)
        return self.bill(subscriber, date)

    def bill(self, subscriber, date):
        Subscriber = Pool().get('rsoft.subscriber')
        invoice, = Subscriber.bill([Subscriber(subscriber.id)], date)
        return invoice

    def lco_series(self, op, lco, year, prefix, state=None):
        """Give lco (or the place of supply state) a series of its own in
        the fiscal year starting in year"""
        pool = Pool()
        FiscalYear = pool.get('account.fiscalyear')
        InvoiceSequence = pool.get('account.fiscalyear.invoice_sequence')
        Sequence = pool.get('ir.sequence.strict')
        ModelData = pool.get('ir.model.data')
        fiscalyear, = FiscalYear.search([
                ('start_date', '=', D(year, 4, 1))])
        general, = fiscalyear.invoice_sequences
        invoice, credit_note = Sequence.create([{
                    'name': p, 'company': op.company.id,
                    'sequence_type': ModelData.get_id(
                        'account_invoice', 'sequence_type_account_invoice'),
                    'prefix': p, 'padding': 5,
                    } for p in [prefix, prefix.replace('-', 'C-')]])
        InvoiceSequence.create([{
                    'company': op.company.id, 'fiscalyear': fiscalyear.id,
                    # Before the series of every LCO
                    'sequence': general.sequence - 1,
                    'rsoft_lco': lco.id if lco else None,
                    'rsoft_place_of_supply': state.id if state else None,
                    'out_invoice_sequence': invoice.id,
                    'out_credit_note_sequence': credit_note.id,
                    'in_invoice_sequence': general.in_invoice_sequence.id,
                    'in_credit_note_sequence': (
                        general.in_credit_note_sequence.id),
                    }])

    @with_transaction()
    def test_serial_per_fiscal_year(self):
        """Invoices are numbered RS/<fiscal year>/<serial>, consecutive in
        the Indian fiscal year and from 1 again on 1 April"""
        with self.fixture() as op:
            numbers = [self.installed(op, op.lco_a, date).number
                for date in [D(2024, 3, 1), D(2024, 3, 31), D(2024, 4, 1),
                    D(2024, 4, 2), D(2025, 3, 31), D(2025, 4, 1)]]
        self.assertEqual(numbers, [
                'RS/2324/000001', 'RS/2324/000002',
                'RS/2425/000001', 'RS/2425/000002', 'RS/2425/000003',
                'RS/2526/000001'])

    @with_transaction()
    def test_credit_note_series(self):
        "A credit note gets a number of the credit note series"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        with self.fixture() as op:
            invoice = self.installed(op, op.lco_a, D(2024, 4, 1))
            credit, = Invoice.credit([invoice])
            credit.invoice_date = D(2024, 4, 2)
            credit.save()
            Invoice.post([credit])
        self.assertEqual(invoice.number, 'RS/2425/000001')
        self.assertEqual(credit.number, 'RC/2425/000001')

    @with_transaction()
    def test_lco_series(self):
        """An LCO's own series numbers its accounts' invoices, posted in
        bulk by billing or one by one by Tryton; the others keep the
        general series"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Journal = pool.get('account.journal')
        with self.fixture() as op:
            self.lco_series(op, op.lco_b, 2024, 'LB2425-')
            of_a = self.installed(op, op.lco_a, D(2024, 4, 1))
            of_b = self.installed(op, op.lco_b, D(2024, 4, 1),
                state=op.karnataka, name="Ravi Kumar")
            # An installation fee invoiced by hand by the MSO's clerk
            subscriber = of_b.rsoft_subscriber
            journal, = Journal.search([('type', '=', 'revenue')], limit=1)
            manual, = Invoice.create([{
                        'type': 'out', 'company': op.company.id,
                        'party': subscriber.party.id,
                        'invoice_address': subscriber.party.addresses[0].id,
                        'account': (
                            subscriber.party.account_receivable_used.id),
                        'journal': journal.id,
                        'invoice_date': D(2024, 4, 5),
                        'rsoft_subscriber': subscriber.id,
                        'rsoft_lco': op.lco_b.id,
                        'lines': [('create', [{
                                        'account': op.revenue.id,
                                        'quantity': 1,
                                        'unit_price': Decimal('100'),
                                        'description': "Re-installation",
                                        }])],
                        }])
            with Transaction().set_context(_skip_warnings=True):
                Invoice.post([manual])
            another = self.installed(op, op.lco_b, D(2024, 4, 6),
                state=op.karnataka, name="Meera Rao")
        self.assertEqual(of_a.number, 'RS/2425/000001')
        self.assertEqual(
            [of_b.number, manual.number, another.number],
            ['LB2425-00001', 'LB2425-00002', 'LB2425-00003'])
        self.assertEqual(manual.rsoft_place_of_supply, op.karnataka)

    @with_transaction()
    def test_state_series(self):
        """A state's series numbers the invoices supplied there, whatever
        their LCO"""
        with self.fixture() as op:
            self.lco_series(op, None, 2024, 'KA2425-', state=op.karnataka)
            in_karnataka = self.installed(op, op.lco_a, D(2024, 4, 1),
                state=op.karnataka)
            in_maharashtra = self.installed(op, op.lco_a, D(2024, 4, 1))
            again = self.installed(op, op.lco_b, D(2024, 4, 2),
                state=op.karnataka)
        self.assertEqual(
            [in_karnataka.number, in_maharashtra.number, again.number],
            ['KA2425-00001', 'RS/2425/000001', 'KA2425-00002'])
        self.assertEqual(
            in_karnataka.rsoft_place_of_supply_name, "29 - Karnataka")

    @with_transaction()
    def test_sequence_refused(self):
        """A customer invoice series whose numbers could pass 16
        characters, or hold characters other than letters, digits, - and
        /, is refused"""
        pool = Pool()
        FiscalYear = pool.get('account.fiscalyear')
        InvoiceSequence = pool.get('account.fiscalyear.invoice_sequence')
        Sequence = pool.get('ir.sequence.strict')
        ModelData = pool.get('ir.model.data')
        with self.fixture() as op:
            fiscalyear, = FiscalYear.search([
                    ('start_date', '=', D(2024, 4, 1))])
            general, = fiscalyear.invoice_sequences
            invoices = general.out_invoice_sequence
            # A refused change is rolled back with its transaction: the
            # last change below writes every field the others changed
            with self.assertRaises(ValidationError) as cm:
                Sequence.write([invoices], {'padding': 9})
            self.assertEqual(cm.exception.message,
                'Sequence "Invoices 2425" cannot number customer invoices: '
                'Invoice number "RS/2425/000000001" is too long: a GST '
                'invoice number has at most 16 characters.')
            with self.assertRaises(ValidationError) as cm:
                Sequence.write([invoices], {
                        'prefix': 'RS#2425#', 'padding': 6})
            self.assertEqual(cm.exception.message,
                'Sequence "Invoices 2425" cannot number customer invoices: '
                'Invoice number "RS#2425#000001" has characters GST does '
                'not allow: only letters, digits, "-" and "/".')
            # 16 characters are allowed
            Sequence.write([invoices], {
                    'prefix': 'RSOFT/MH/2425/', 'padding': 2})
            invoice = self.installed(op, op.lco_a, D(2024, 4, 1))

            long, = Sequence.create([{
                        'name': "Long", 'company': op.company.id,
                        'sequence_type': ModelData.get_id(
                            'account_invoice',
                            'sequence_type_account_invoice'),
                        'prefix': 'RSOFT/MH/2425/', 'padding': 3,
                        }])
            with self.assertRaises(ValidationError) as cm:
                InvoiceSequence.write([general], {
                        'out_invoice_sequence': long.id})
            self.assertEqual(cm.exception.message,
                'Sequence "Long" cannot number customer invoices: '
                'Invoice number "RSOFT/MH/2425/001" is too long: a GST '
                'invoice number has at most 16 characters.')
        self.assertEqual(invoice.number, 'RSOFT/MH/2425/01')

    @with_transaction()
    def test_sac_and_revenue_per_kind(self):
        """Each line carries the SAC of its offer's kind and posts to the
        kind's revenue account; a kind without one posts to the offer's
        category"""
        with self.fixture() as op:
            subscriber = self.account(
                op, op.lco_a, D(2024, 3, 1), mode='postpaid')
            connection = subscriber.connections[0]
            for offer in [op.gold, op.rental, op.install]:
                subscribe(connection, offer, D(2024, 3, 1))
            invoice = self.bill(subscriber, D(2024, 4, 1))
            lines = {line.product.template.rsoft_kind: line
                for line in invoice.lines}
            moves = {line.origin.product.template.rsoft_kind: line.account
                for line in invoice.move.lines
                if line.origin and line.origin.__name__
                == 'account.invoice.line'}
        self.assertEqual(
            {kind: line.rsoft_sac for kind, line in lines.items()},
            {'base_pack': '998466', 'ncf': '998466',
                'stb_rental': '997319', 'installation': '998734'})
        self.assertEqual(
            {kind: account.name for kind, account in moves.items()},
            {'base_pack': "Pay channel and bouquet revenue",
                'ncf': "Network capacity fee revenue",
                'stb_rental': "STB rental revenue",
                'installation': op.revenue.name})

    @with_transaction()
    def test_bill_shows_gst(self):
        """The bill shows both GSTINs, the place of supply and the SAC of
        each line, in both layouts"""
        pool = Pool()
        Bill = pool.get('rsoft.billing.bill', type='report')
        Partner = pool.get('rsoft.partner')
        with self.fixture() as op:
            Partner.write([op.lco_b], {'bill_template': 'compact'})
            business = self.account(op, op.lco_a, D(2024, 3, 1),
                mode='postpaid', state=op.karnataka,
                gstin=CUSTOMER_GSTIN, name="Surya Hotels Pvt Ltd")
            subscribe(business.connections[0], op.gold, D(2024, 3, 1))
            subscribe(business.connections[0], op.rental, D(2024, 3, 1))
            invoice = self.bill(business, D(2024, 4, 1))
            home = self.installed(op, op.lco_b, D(2024, 4, 1))
            _, classic, _, _ = Bill.execute([invoice.id], {})
            _, compact, _, _ = Bill.execute([home.id], {})
        text, _ = pdf_text(classic)
        self.assertIn(f"GSTIN: {COMPANY_GSTIN}", text)
        self.assertIn(f"Customer GSTIN: {CUSTOMER_GSTIN}", text)
        self.assertIn("Place of Supply 29 - Karnataka", text)
        self.assertIn("Bill Number RS/2425/000001", text)
        self.assertIn("SAC 998466", text)
        self.assertIn("SAC 997319 ₹50.00", text)

        text, _ = pdf_text(compact)
        self.assertIn(f"GSTIN: {COMPANY_GSTIN}", text)
        self.assertNotIn("Customer GSTIN", text)
        self.assertIn("Place of Supply 27 - Maharashtra", text)
        self.assertIn("Bill RS/2425/000002, 04/01/2024", text)
        self.assertIn("SAC 998734 ₹350.00", text)

    @with_transaction()
    def test_lco_reads_gst_bill(self):
        """An LCO login reads its subscriber's GST bill as the client does
        and prints it with the operator's GSTIN"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.invoice.line')
        Bill = pool.get('rsoft.billing.bill', type='report')
        with self.fixture() as op:
            invoice = self.installed(op, op.lco_a, D(2024, 4, 1),
                gstin='27AABCT3518Q1ZW')
            user = create_lco_user('lco_a', op.lco_a)
            with Transaction().set_user(user.id), check_access():
                _, content, _, _ = Bill.execute([invoice.id], {})
                invoice, = read_as_client(Invoice, [invoice.id])
                line, = read_as_client(Line, invoice['lines'])
        text, _ = pdf_text(content)
        self.assertIn(f"GSTIN: {COMPANY_GSTIN}", text)
        self.assertIn("Customer GSTIN: 27AABCT3518Q1ZW", text)
        self.assertEqual(
            invoice['tax_identifier.']['rec_name'], COMPANY_GSTIN)
        self.assertEqual(
            invoice['party_tax_identifier.']['rec_name'], '27AABCT3518Q1ZW')
        self.assertEqual(
            invoice['rsoft_place_of_supply.']['rec_name'], "Maharashtra")
        self.assertEqual(line['rsoft_sac'], '998734')
