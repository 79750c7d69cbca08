"""What the portal tests' operator needs for the routes of
routes_account.py, added to it by create_portal_operator (tools.py)"""
import datetime
from decimal import Decimal

from trytond.pool import Pool


def set_up_account_fixture(op):
    """Add to op (the operator of create_portal_operator, in its company
    context) the records the tests of routes_account.py need

    LCO A keeps 20% of pay channels and 45% of NCF under its agreement,
    and the MSO's share goes to a revenue account. Its wallet mode stays
    none: the tests of test_portal.py read its dashboard without one."""
    pool = Pool()
    Account = pool.get('account.account')
    Agreement = pool.get('rsoft.partner.agreement')
    Configuration = pool.get('rsoft.wallet.configuration')
    revenue, = Account.search([
            ('type.revenue', '=', True),
            ('closed', '!=', True),
            ('company', '=', op.company.id),
            ], limit=1)
    config = Configuration(1)
    config.lco_charge_account = revenue
    config.save()
    Agreement.create([{
                'partner': op.lco_a.id,
                'start_date': datetime.date(2024, 1, 1),
                'ncf_share': Decimal('0.45'),
                'pay_channel_share': Decimal('0.20'),
                'hardware_share': Decimal('0.10'),
                }])
