"The operator of the LCO tests: prepaid, on credit and without wallet"
import datetime
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_billing.tests.tools import create_billing_operator
from trytond.modules.rsoft_catalogue.tests.tools import create_clerk
from trytond.modules.rsoft_partner.tests.tools import create_lco_user
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
