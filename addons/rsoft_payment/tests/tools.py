"Payment methods, collectors and the receipt sequence for the tests"
from decimal import Decimal
from types import SimpleNamespace

from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_billing.tests.tools import (
    create_billing_operator,
    create_offer,
    create_operator,
    create_operator_company,
    new_account,
    set_up_accounting,
)
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool

__all__ = ['PaymentOperator', 'set_up_payments', 'create_offer',
    'create_operator', 'create_operator_company', 'new_account',
    'set_up_accounting']


class PaymentOperator(FixtureMixin):
    "Gives test cases the billing tests' operator and its payment methods"

    @classmethod
    def set_up_fixture(cls):
        """Return (operator, payments): the billing tests' operator and
        what set_up_payments gives"""
        op = create_billing_operator()
        with set_company(op.company):
            return op, set_up_payments(op.company, op.lco_a)


def set_up_payments(company, lco=None):
    """Give company an account per place money is held, a payment method
    of every kind, a counter cashier, the LCO's field agent, the receipt
    sequence and the bounce fee; return them as a namespace"""
    pool = Pool()
    Account = pool.get('account.account')
    Configuration = pool.get('rsoft.billing.configuration')
    Collector = pool.get('rsoft.payment.collector')
    Journal = pool.get('account.journal')
    Method = pool.get('rsoft.payment.method')
    ModelData = pool.get('ir.model.data')
    Sequence = pool.get('ir.sequence.strict')
    Template = pool.get('product.template')
    Category = pool.get('product.category')
    Uom = pool.get('product.uom')

    cash, = Account.search([
            ('company', '=', company.id), ('code', '=', '1.1.1')])

    def account(name):
        return Account.create([{
                    'name': name, 'company': company.id,
                    'type': cash.type.id, 'parent': cash.parent.id,
                    'reconcile': False,
                    }])[0]
    bank = account("State Bank Current Account")
    in_hand = {kind: account(name) for kind, name in [
            ('cash', "Cash in Hand"), ('cheque', "Cheques in Hand"),
            ('card', "Card Clearing"), ('direct_debit', "NACH Clearing"),
            ('bank_transfer', "Bank Transfers"),
            ('upi', "UPI Clearing"), ('gateway', "Gateway Clearing")]}
    journal, = Journal.search([('type', '=', 'cash')], limit=1)
    methods = {kind: Method.create([{
                    'name': name, 'kind': kind, 'company': company.id,
                    'journal': journal.id, 'account': in_hand[kind].id,
                    'deposit_account': (
                        bank.id if kind in {'cash', 'cheque'} else None),
                    }])[0]
        for kind, name in [
            ('cash', "Cash"), ('cheque', "Cheque"), ('card', "Card"),
            ('direct_debit', "Direct Debit"),
            ('bank_transfer', "Bank Transfer"), ('upi', "UPI"),
            ('gateway', "Razorpay")]}
    counter, online = Collector.create([{
                'name': "Head Office Counter", 'kind': 'counter',
                'company': company.id,
                }, {
                'name': "Online", 'kind': 'counter', 'company': company.id,
                }])
    agent = None
    if lco:
        agent, = Collector.create([{
                    'name': "Ravi (field agent)", 'kind': 'field_agent',
                    'lco': lco.id, 'company': company.id,
                    }])
    category, = Category.search([('accounting', '=', True)], limit=1)
    unit, = Uom.search([('symbol', '=', 'u')], limit=1)
    fee, = Template.create([{
                'name': "Cheque Bounce Fee", 'type': 'service',
                'default_uom': unit.id, 'list_price': Decimal('250'),
                'account_category': category.id,
                'products': [('create', [{}])],
                }])
    configuration = Configuration(1)
    configuration.payment_sequence = Sequence(
        ModelData.get_id('rsoft_payment', 'sequence_payment'))
    configuration.online_collector = online
    configuration.bounce_fee = Decimal('250')
    configuration.bounce_fee_product = fee.products[0]
    configuration.save()

    return SimpleNamespace(
        bank=bank, accounts=in_hand, methods=methods, counter=counter,
        online=online, agent=agent, fee_product=fee.products[0])
