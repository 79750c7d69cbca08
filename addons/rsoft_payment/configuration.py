from trytond.model import fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_toolkit.migration import adopt_records
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Id
from trytond.transaction import Transaction

from .payment import ALLOCATIONS


class Configuration(metaclass=PoolMeta):
    __name__ = 'rsoft.billing.configuration'

    payment_sequence = fields.Many2One(
        'ir.sequence.strict', "Receipt Sequence",
        domain=[
            ('sequence_type', '=', Id('rsoft_payment',
                    'sequence_type_payment')),
            ],
        help="Numbers the payment receipts without gaps, as receipt books "
        "are audited.")
    payment_allocation = fields.Selection(
        ALLOCATIONS, "Payment Allocation", required=True,
        help="The adjustment priority: the order in which a payment "
        "settles the open items of an account. An LCO may have its own.")
    online_collector = fields.Many2One(
        'rsoft.payment.collector', "Online Collector",
        help="The collector of the payments recorded from gateways and "
        "settlement files.")
    bounce_fee = Monetary(
        "Bounce Fee", currency='fee_currency', digits='fee_currency',
        help="Proposed when a cheque bounces.")
    fee_currency = fields.Function(
        fields.Many2One('currency.currency', "Fee Currency"),
        'get_fee_currency')
    bounce_fee_product = fields.Many2One(
        'product.product', "Bounce Fee Product",
        domain=[('type', '=', 'service')],
        help="The service invoiced for a bounce fee, with its taxes.")

    @classmethod
    def __register__(cls, module):
        # Payments were part of rsoft_billing: its records, sequences
        # included, are taken over before this module's XML is loaded
        adopt_records(module, 'rsoft_billing')
        super().__register__(module)

    @classmethod
    def default_payment_allocation(cls):
        return 'oldest_first'

    def get_fee_currency(self, name):
        pool = Pool()
        Company = pool.get('company.company')
        company = Transaction().context.get('company')
        if company is not None and company >= 0:
            return Company(company).currency.id
