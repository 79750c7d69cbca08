"Accounting and offers for the billing tests"
import datetime
from contextlib import contextmanager
from decimal import Decimal

from trytond.modules.account.tests import create_chart
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.currency.tests import add_currency_rate
from trytond.modules.rsoft_subscriber.tests.tools import (
    create_offer,
    create_operator,
    create_subscriber,
)
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.modules.rsoft_wallet.tests.tools import configure_wallets
from trytond.pool import Pool

__all__ = ['AccountsMixin', 'PostingMixin', 'create_operator_company',
    'set_up_accounting',
    'create_gst_fiscalyear', 'create_offer',
    'BillingOperator', 'create_billing_operator',
    'create_operator', 'create_subscriber', 'new_account']


class BillingOperator(FixtureMixin):
    "Gives test cases the billing tests' operator"

    @classmethod
    def set_up_fixture(cls):
        return create_billing_operator()


def create_billing_operator():
    """Return an operator with offers of every kind, GST 18% and a 1%
    cess and fiscal years 2024 to 2026"""
    pool = Pool()
    Configuration = pool.get('rsoft.billing.configuration')
    company = create_operator_company()
    with set_company(company):
        op = create_operator(company, fta=False)
        base = op.base.template.bouquet
        sports = op.sports.template.bouquet
        op.gold = create_offer(
            "Gold Pack", 'base_pack', '310', bouquet=base)
        op.silver = create_offer(
            "Silver Pack", 'base_pack', '200', bouquet=base)
        op.sports = create_offer(
            "Sports Pack", 'addon_pack', '93', bouquet=sports)
        op.rental = create_offer("STB Rental", 'stb_rental', '50')
        op.install = create_offer("Installation", 'installation', '350')
        op.gst, op.cess, _ = set_up_accounting(company)
        Configuration(1).save()
        return op


def create_operator_company():
    "Return a company that bills in rupees"
    pool = Pool()
    Currency = pool.get('currency.currency')
    inr, = Currency.create([{
                'name': "Indian Rupee", 'code': 'INR', 'symbol': '₹',
                'digits': 2,
                }])
    add_currency_rate(inr, 1)
    return create_company("RSoft Cable Network", currency=inr)


def create_gst_fiscalyear(company, year):
    """Return the Indian fiscal year of company from 1 April of year to 31
    March, with its months and its GST invoice series: RS/2526/000001,
    credit notes RC/2526/000001"""
    pool = Pool()
    FiscalYear = pool.get('account.fiscalyear')
    Sequence = pool.get('ir.sequence.strict')
    ModelData = pool.get('ir.model.data')
    code = f'{year % 100:02d}{(year + 1) % 100:02d}'
    invoice_type = ModelData.get_id(
        'account_invoice', 'sequence_type_account_invoice')
    move_type = ModelData.get_id('account', 'sequence_type_account_move')
    move, invoice, credit_note, supplier = Sequence.create([{
                'name': f"{name} {code}", 'company': company.id,
                'sequence_type': type_, 'prefix': prefix,
                'padding': padding,
                } for name, type_, prefix, padding in [
                ("Moves", move_type, None, 0),
                ("Invoices", invoice_type, f'RS/{code}/', 6),
                ("Credit Notes", invoice_type, f'RC/{code}/', 6),
                ("Supplier Invoices", invoice_type, f'SUP/{code}/', 0)]])
    fiscalyear, = FiscalYear.create([{
                'name': f"{year}-{code[2:]}", 'company': company.id,
                'start_date': datetime.date(year, 4, 1),
                'end_date': datetime.date(year + 1, 3, 31),
                'move_sequence': move.id,
                'invoice_sequences': [('create', [{
                                'company': company.id,
                                # After the series of an LCO or a state
                                'sequence': 100,
                                'out_invoice_sequence': invoice.id,
                                'out_credit_note_sequence': credit_note.id,
                                'in_invoice_sequence': supplier.id,
                                'in_credit_note_sequence': supplier.id,
                                }])],
                }])
    FiscalYear.create_period([fiscalyear])
    return fiscalyear


def set_up_accounting(company, years=(2024, 2025, 2026)):
    """Give company a chart, the Indian fiscal years that hold the years
    (from 1 April of the year before the first), GST 18% with a 1% cess
    on top (two tax layers) and a category that gives every offer its
    revenue account and taxes; return (gst, cess)"""
    pool = Pool()
    Account = pool.get('account.account')
    Tax = pool.get('account.tax')
    Category = pool.get('product.category')
    Template = pool.get('product.template')
    create_chart(company)
    for year in range(min(years) - 1, max(years) + 1):
        create_gst_fiscalyear(company, year)
    revenue, = Account.search([
            ('type.revenue', '=', True),
            ('closed', '!=', True),
            ('company', '=', company.id),
            ], limit=1)
    tax_account, = Account.search([
            ('code', '=', '6.3.4'),
            ('company', '=', company.id),
            ], limit=1)
    gst, cess = Tax.create([{
                'name': "GST 18%", 'description': "GST 18%",
                'type': 'percentage', 'rate': Decimal('0.18'),
                'sequence': 1, 'update_unit_price': True,
                'invoice_account': tax_account.id,
                'credit_note_account': tax_account.id,
                }, {
                'name': "Cess 1%", 'description': "Cess 1% on GST-inclusive",
                'type': 'percentage', 'rate': Decimal('0.01'),
                'sequence': 2,
                'invoice_account': tax_account.id,
                'credit_note_account': tax_account.id,
                }])
    category, = Category.create([{
                'name': "Pay-TV Services",
                'accounting': True,
                'account_revenue': revenue.id,
                'customer_taxes': [('add', [gst.id, cess.id])],
                }])
    configure_wallets(company)
    templates = Template.search([('rsoft_kind', '!=', None)])
    Template.write(templates, {'account_category': category.id})
    return gst, cess, category


def new_account(lco, start, **values):
    """Return an active account of lco activated on start, its connection
    active too"""
    pool = Pool()
    Subscriber = pool.get('rsoft.subscriber')
    subscriber = create_subscriber(lco, **values)
    Subscriber.activate([subscriber], start)
    return Subscriber(subscriber.id)


class _Undo(Exception):
    pass


class AccountsMixin:
    "Gives billing test cases accounts of the operator, and bills them"

    @contextmanager
    def set_up(self, mode='postpaid', day=1, cycle=1,
            wallet=Decimal('100000'), **extra):
        """Yield (operator, account factory): account(start, lco=LCO-A,
        **values) returns an account of lco active from start, billed on
        day (fixed) every cycle months; a prepaid one has wallet in its
        wallet"""
        with self.fixture() as op:

            def account(start, lco=None, **values):
                values.setdefault('billing_mode', mode)
                values.setdefault('billing_cycle', cycle)
                values.setdefault('bill_day_mode', 'fixed')
                values.setdefault('bill_day', day)
                subscriber = new_account(
                    lco or op.lco_a, start, **{**extra, **values})
                if subscriber.billing_mode == 'prepaid' and wallet:
                    self.top_up(subscriber, start, wallet)
                return subscriber
            yield op, account

    @staticmethod
    def top_up(subscriber, date, amount):
        Wallet = Pool().get('rsoft.wallet')
        wallet, = Wallet.get_wallets([subscriber])
        Wallet.top_up([(wallet, amount, date)])

    @staticmethod
    def bill(subscriber, date):
        Subscriber = Pool().get('rsoft.subscriber')
        return Subscriber.bill([Subscriber(subscriber.id)], date)


class PostingMixin:
    "Compares the invoices the bill run posts with Tryton's own posting"

    def assertPostedAsTryton(self, invoices):
        "Compare invoices with a copy posted by Tryton, then undone"
        from trytond.modules.rsoft_billing.common import savepoint
        self.maxDiff = None
        for invoice in invoices:
            try:
                with savepoint('repost'):
                    self.assertEqual(
                        self.posted(invoice),
                        self.posted(self.repost(invoice)))
                    raise _Undo
            except _Undo:
                pass

    @staticmethod
    def repost(invoice):
        "Return a copy of invoice posted by Tryton"
        Invoice = Pool().get('account.invoice')
        copy, = Invoice.copy([invoice], default={
                'invoice_date': invoice.invoice_date,
                'rsoft_subscriber': invoice.rsoft_subscriber.id,
                # Tryton computes them again from the lines
                'taxes': None,
                })
        Invoice.post([copy])
        return Invoice(copy.id)

    @staticmethod
    def posted(invoice):
        """Return what makes a posted invoice, numbers and ids left out

        Paid or not: the wallet pays prepaid invoices as they are posted."""
        def origin(record):
            if record.__name__ == 'account.invoice.line':
                return (record.product.id, record.unit_price)
            if record.__name__ == 'account.invoice.tax':
                return record.tax.id
        move = invoice.move
        return {
            'invoice': (invoice.state in {'posted', 'paid'}, invoice.type,
                invoice.sequence,
                invoice.sequence_type_cache, invoice.tax_identifier,
                invoice.party_tax_identifier, invoice.journal.id,
                invoice.account.id, bool(invoice.number)),
            'amounts': (invoice.untaxed_amount, invoice.tax_amount,
                invoice.total_amount, invoice.untaxed_amount_cache,
                invoice.tax_amount_cache, invoice.total_amount_cache),
            'lines': sorted(
                (origin(line), line.account.id, line.amount,
                    tuple(sorted(t.id for t in line.taxes)))
                for line in invoice.lines),
            'taxes': sorted(
                (t.tax.id, t.account.id, t.base, t.amount, t.description,
                    t.manual) for t in invoice.taxes),
            'move': (move.state, move.journal.id, move.period.id, move.date,
                move.post_date, bool(move.number)),
            'move lines': sorted(
                (line.account.id, line.debit, line.credit,
                    line.party.id if line.party else None,
                    line.maturity_date, line.description or '',
                    origin(line.origin) if line.origin else None, line.state,
                    tuple(sorted((t.type, t.tax.id, t.amount)
                            for t in line.tax_lines)))
                for line in move.lines),
            'lines to pay': len(invoice.lines_to_pay),
            }
