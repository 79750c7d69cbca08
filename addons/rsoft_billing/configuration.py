from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.modules.rsoft_toolkit.migration import check_adopted

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
    @classmethod
    def default_default_billing_mode(cls):
        return 'prepaid'

    @classmethod
    def default_default_billing_cycle(cls):
        return 1

    @classmethod
    def default_batch_size(cls):
        return 200

    @classmethod
    def __register__(cls, module):
        # Updated without rsoft_payment having taken the payments over,
        # this module would delete their records. Only its own update:
        # rsoft_payment registers this model too, once it holds them.
        if module == 'rsoft_billing':
            check_adopted(module, 'rsoft_payment', 'rsoft.payment')
        super().__register__(module)
