"Accounting and offers for the billing tests"
import datetime
from decimal import Decimal

from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.modules.account_invoice.tests import set_invoice_sequences
from trytond.modules.company.tests import create_company
from trytond.modules.currency.tests import add_currency_rate
from trytond.modules.rsoft_subscriber.tests.tools import (
    create_offer,
    create_operator,
    create_subscriber,
)
from trytond.modules.rsoft_wallet.tests.tools import configure_wallets
from trytond.pool import Pool

__all__ = ['create_operator_company', 'set_up_accounting', 'create_offer',
    'create_operator', 'create_subscriber', 'new_account']


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


def set_up_accounting(company, years=(2024, 2025, 2026)):
    """Give company a chart, fiscal years, GST 18% with a 1% cess on top
    (two tax layers) and a category that gives every offer its revenue
    account and taxes; return (gst, cess)"""
    pool = Pool()
    Account = pool.get('account.account')
    Tax = pool.get('account.tax')
    Category = pool.get('product.category')
    Template = pool.get('product.template')
    FiscalYear = pool.get('account.fiscalyear')
    create_chart(company)
    for year in years:
        fiscalyear = set_invoice_sequences(
            get_fiscalyear(company, today=datetime.date(year, 1, 1)))
        fiscalyear.save()
        FiscalYear.create_period([fiscalyear])
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
