"With rsoft_lco: the LCO on a wallet pays the MSO its share of a purchase"
import datetime as dt
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction

from .tools import TODAY, clock, create_ppv_operator, new_connection


def create_lco_ppv_operator():
    """Return the PPV tests' operator whose LCO-A buys from the MSO on
    credit (Rs 1,00,000), keeping 20% of pay channels"""
    pool = Pool()
    Account = pool.get('account.account')
    Agreement = pool.get('rsoft.partner.agreement')
    Configuration = pool.get('rsoft.wallet.configuration')
    Partner = pool.get('rsoft.partner')
    op = create_ppv_operator()
    with set_company(op.company):
        sales, = Account.search([
                ('type.revenue', '=', True),
                ('closed', '!=', True),
                ('company', '=', op.company.id),
                ], limit=1)
        config = Configuration(1)
        config.lco_charge_account = sales
        config.save()
        Agreement.create([{
                    'partner': op.lco_a.id, 'start_date': dt.date(2024, 1, 1),
                    'ncf_share': Decimal('0.45'),
                    'pay_channel_share': Decimal('0.20'),
                    'hardware_share': Decimal('0.10'),
                    }])
        Partner.write([op.lco_a], {
                'wallet_mode': 'credit', 'credit_limit': Decimal('100000'),
                })
    return op


class PpvLcoTestCase(FixtureMixin, _DBTestCase):
    "A purchase and its cancellation in the wallet of the LCO"
    module = 'rsoft_ppv'
    extras = ['rsoft_lco']

    @classmethod
    def set_up_fixture(cls):
        return create_lco_ppv_operator()

    def lco_balance(self, lco):
        Partner = Pool().get('rsoft.partner')
        return Partner(lco.id).wallet_balance

    @with_transaction()
    def test_lco_share(self):
        """LCO-A pays the MSO 80% of the final bought from a subscriber's
        wallet, and gets it back when the purchase is cancelled"""
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        with self.fixture() as op, clock():
            connection = new_connection(op, wallet='1000')
            before = self.lco_balance(op.lco_a)
            purchase = Purchase.buy(connection, op.final)
            # 199 x 80%, once: at the activation, not again at invoicing
            self.assertEqual(self.lco_balance(op.lco_a),
                before - Decimal('159.20'))
            self.assertEqual(purchase.line.lco_paid_until, dt.date(2026, 3, 8))

            Purchase.cancel([purchase])
            self.assertEqual(self.lco_balance(op.lco_a), before)
            self.assertEqual(
                Purchase(purchase.id).refund_entry.date, TODAY)


del _DBTestCase
