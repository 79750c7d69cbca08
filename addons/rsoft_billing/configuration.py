from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Id
from trytond.transaction import Transaction

from .payment import ALLOCATIONS
from .profile import BILLING_MODES
from .schedule import CYCLES


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'rsoft.billing.configuration'
    __string__ = "Billing Configuration"

    default_billing_mode = fields.Selection(
        BILLING_MODES, "Default Billing Mode", required=True,
        help="The billing mode of new accounts.")
    default_billing_cycle = fields.Integer(
        "Default Billing Cycle", required=True,
        domain=[('default_billing_cycle', 'in', CYCLES)],
        help="The months billed at a time for new accounts.")
    payment_term = fields.Many2One(
        'account.invoice.payment_term', "Payment Term",
        help="The payment term of the invoices of postpaid accounts.")
    billing_start = fields.Date(
        "Billing Start",
        help="No day before this date is rated: the periods before were "
        "billed by the system RSoft SMS replaced.")
    batch_size = fields.Integer(
        "Bill Run Batch", required=True,
        domain=[('batch_size', '>', 0)],
        help="The number of accounts a bill run task rates and invoices "
        "at a time.")
    payment_sequence = fields.Many2One(
        'ir.sequence.strict', "Receipt Sequence",
        domain=[
            ('sequence_type', '=', Id('rsoft_billing',
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
    def default_payment_allocation(cls):
        return 'oldest_first'

    def get_fee_currency(self, name):
        pool = Pool()
        Company = pool.get('company.company')
        company = Transaction().context.get('company')
        if company is not None and company >= 0:
            return Company(company).currency.id

    @classmethod
    def default_default_billing_mode(cls):
        return 'prepaid'

    @classmethod
    def default_default_billing_cycle(cls):
        return 1

    @classmethod
    def default_batch_size(cls):
        return 200
