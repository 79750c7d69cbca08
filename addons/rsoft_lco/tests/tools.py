"The operator of the LCO tests: prepaid, on credit and without wallet"
import datetime
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_billing.tests.tools import create_billing_operator
from trytond.modules.rsoft_catalogue.tests.tools import create_clerk
from trytond.modules.rsoft_partner.tests.tools import (
    create_lco_user,
    create_partner,
)
from trytond.modules.rsoft_payment.tests.tools import set_up_payments
from trytond.pool import Pool

D = datetime.date


def create_lco_operator():
    """Return the billing tests' operator with payments, LCO-A prepaid
    (keeping 20% of pay channels, 45% of NCF), LCO-B on credit (Rs 500)
    and LCO-C without wallet, a login of LCO-A and LCO-B, and an
    administrator"""
    pool = Pool()
    Account = pool.get('account.account')
    Agreement = pool.get('rsoft.partner.agreement')
    Configuration = pool.get('rsoft.wallet.configuration')
    Partner = pool.get('rsoft.partner')
    op = create_billing_operator()
    with set_company(op.company):
        op.payments = set_up_payments(op.company, op.lco_a)
        op.lco_sales, = Account.search([
                ('type.revenue', '=', True),
                ('closed', '!=', True),
                ('company', '=', op.company.id),
                ], limit=1)
        config = Configuration(1)
        config.lco_charge_account = op.lco_sales
        config.save()
        Agreement.create([{
                    'partner': op.lco_a.id, 'start_date': D(2024, 1, 1),
                    'ncf_share': Decimal('0.45'),
                    'pay_channel_share': Decimal('0.20'),
                    'hardware_share': Decimal('0.10'),
                    }])
        Partner.write([op.lco_a], {'wallet_mode': 'prepaid'},
            [op.lco_b], {
                'wallet_mode': 'credit', 'credit_limit': Decimal('500'),
                })
        op.user_a = create_lco_user('lco-a', op.lco_a)
        op.user_b = create_lco_user('lco-b', op.lco_b)
        op.admin = create_clerk('paytv-admin', op.company,
            ('rsoft_catalogue', 'group_paytv'),
            ('rsoft_catalogue', 'group_paytv_admin'))
        op.cashier = create_clerk('cashier', op.company,
            ('rsoft_catalogue', 'group_paytv'),
            ('rsoft_payment', 'group_collection'))
    return op


def create_settlement_operator():
    """Return the LCO tests' operator with LCO-D under the JV, without
    wallet (keeping 45% of NCF, 20% of pay channels, 10% of hardware), its
    collector, the JV's agreement (50% of NCF, 30% of pay channels, 15% of
    hardware), addresses for the partners' invoices and the settlement
    accounts"""
    pool = Pool()
    Account = pool.get('account.account')
    AccountType = pool.get('account.account.type')
    Agreement = pool.get('rsoft.partner.agreement')
    Collector = pool.get('rsoft.payment.collector')
    Configuration = pool.get('rsoft.wallet.configuration')
    Party = pool.get('party.party')
    op = create_lco_operator()
    with set_company(op.company):
        op.lco_d = create_partner('LCO-D', 'lco', parent=op.jv)
        Party.write([p.party for p in [op.jv, op.lco_a, op.lco_b, op.lco_d]],
            {'addresses': [('create', [{'city': "Pune"}])]})
        Agreement.create([{
                    'partner': op.lco_d.id, 'start_date': D(2024, 1, 1),
                    'ncf_share': Decimal('0.45'),
                    'pay_channel_share': Decimal('0.20'),
                    'hardware_share': Decimal('0.10'),
                    }, {
                    'partner': op.jv.id, 'start_date': D(2024, 1, 1),
                    'ncf_share': Decimal('0.50'),
                    'pay_channel_share': Decimal('0.30'),
                    'hardware_share': Decimal('0.15'),
                    }])
        op.collector_d, = Collector.create([{
                    'name': "LCO-D Counter", 'kind': 'lco',
                    'lco': op.lco_d.id, 'company': op.company.id,
                    }])
        op.lco_expense, = Account.search([
                ('type.expense', '=', True),
                ('closed', '!=', True),
                ('company', '=', op.company.id),
                ], limit=1)
        # What the LCOs hold for the MSO is booked through supplier
        # invoices: a debt type
        clearing, = AccountType.create([{
                    'name': "LCO Clearing", 'statement': 'balance',
                    'debt': True, 'company': op.company.id,
                    }])
        op.lco_clearing, = Account.create([{
                    'name': "LCO Collections Clearing",
                    'company': op.company.id, 'type': clearing.id,
                    }])
        config = Configuration(1)
        config.lco_share_account = op.lco_expense
        config.lco_collection_account = op.lco_clearing
        config.save()
        op.user_d = create_lco_user('lco-d', op.lco_d)
    return op
