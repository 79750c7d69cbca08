"The settings of pay-per-view: purchase numbers and the impulse credit"
import datetime as dt
from decimal import Decimal

from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.modules.rsoft_catalogue.common import MONEY_DIGITS
from trytond.pool import Pool
from trytond.pyson import Id


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "How PPV events and VOD titles are sold"
    __name__ = 'rsoft.ppv.configuration'
    __string__ = "PPV Configuration"

    purchase_sequence = fields.Many2One(
        'ir.sequence', "Purchase Sequence", required=True,
        domain=[
            ('sequence_type', '=',
                Id('rsoft_ppv', 'sequence_type_purchase')),
            ],
        help="Numbers every purchase of an event or a title.")
    credit_limit = fields.Numeric(
        "Impulse Credit Limit", digits=MONEY_DIGITS, required=True,
        domain=[('credit_limit', '>=', 0)],
        help="What a postpaid account may buy on credit, taxes included, "
        "before its next bill carries it; an account may have a limit "
        "of its own.")

    @classmethod
    def default_purchase_sequence(cls):
        return Pool().get('ir.model.data').get_id(
            'rsoft_ppv', 'sequence_purchase')

    @classmethod
    def default_credit_limit(cls):
        return Decimal(500)

    @classmethod
    def now(cls):
        """Return the time the windows are compared with (naive UTC), to
        the second

        The one clock of the module: tests set it."""
        return dt.datetime.now(dt.timezone.utc).replace(
            tzinfo=None, microsecond=0)
