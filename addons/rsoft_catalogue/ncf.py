from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields, sequence_ordered
from trytond.pool import Pool
from trytond.rpc import RPC

from .common import (
    MONEY_DIGITS,
    RATE_DIGITS,
    at_date,
    format_date,
    round_amount,
)
from .exceptions import NcfError, NcfValidationError, RateValidationError

CUSTOMER_CLASSES = [
    (None, ''),
    ('residential', "Residential"),
    ('commercial', "Commercial"),
    ('hospitality', "Hospitality"),
    ('institutional', "Institutional"),
    ]


def _id(record):
    return record.id if record else None


class NcfRule(ModelSQL, ModelView):
    __name__ = 'rsoft.ncf.rule'
    __string__ = "NCF Rule"
    name = fields.Char("Name", required=True, translate=True)
    start_date = fields.Date(
        "Start Date", required=True,
        help="The first day the rule applies; it applies until a later "
        "rule of the same region and customer class starts.")
    region = fields.Many2One(
        'rsoft.region', "Region", ondelete='RESTRICT',
        help="The region (its sub-regions included) where the rule "
        "applies.\nLeave empty to apply it everywhere.")
    customer_class = fields.Selection(
        CUSTOMER_CLASSES, "Customer Class", sort=False,
        help="The class of subscriber the rule applies to.\n"
        "Leave empty to apply it to every class.")
    count_mandated = fields.Boolean(
        "Count Mandated Channels",
        help="Count the government mandated channels toward the slabs.")
    second_tv_rate = fields.Numeric(
        "Second TV Rate", digits=RATE_DIGITS, required=True,
        help="The charge for a second and later TV as a fraction of NCF; "
        "TRAI 2020 caps it at 40%.")
    slabs = fields.One2Many(
        'rsoft.ncf.slab', 'rule', "Slabs",
        help="The NCF by number of channels: the first slab, by maximum "
        "channels, that holds the channel count applies.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('start_date', 'DESC'))
        cls.__rpc__.update({
                'find_rule': RPC(result=_id),
                'compute': RPC(instantiate=0),
                })

    @classmethod
    def default_count_mandated(cls):
        return False

    @classmethod
    def default_second_tv_rate(cls):
        return Decimal('0.40')

    @classmethod
    def validate_fields(cls, rules, field_names):
        super().validate_fields(rules, field_names)
        if field_names and 'second_tv_rate' not in field_names:
            return
        for rule in rules:
            if not (0 <= rule.second_tv_rate <= 1):
                raise RateValidationError(gettext(
                        'rsoft_catalogue.msg_ncf_second_tv_rate',
                        rule=rule.rec_name))

    @classmethod
    def find_rule(cls, date=None, region=None, customer_class=None):
        """Return the most specific rule in force at date or None

        A rule of the region (or of its nearest ancestor) and of the class
        beats a rule of the region, which beats a rule of the class, which
        beats a generic rule; among equals the latest start date wins.
        """
        pool = Pool()
        Region = pool.get('rsoft.region')
        if isinstance(region, int):
            region = Region(region)
        ancestors = region.get_ancestors() if region else []
        depths = {r.id: depth for depth, r in enumerate(ancestors)}
        rules = cls.search([
                ('start_date', '<=', at_date(date)),
                ['OR',
                    ('region', '=', None),
                    ('region', 'in', list(depths)),
                    ],
                ['OR',
                    ('customer_class', '=', None),
                    ('customer_class', '=', customer_class),
                    ],
                ])

        def specificity(rule):
            region_id = rule.region.id if rule.region else None
            return (
                region_id is not None,
                rule.customer_class is not None,
                -depths.get(region_id, 0),
                rule.start_date,
                rule.id)
        return max(rules, key=specificity, default=None)

    def count_channels(self, channels):
        "Return the number of channels counted toward the slabs"
        return sum(
            1 for c in channels if self.count_mandated or not c.mandated)

    def compute(self, channel_count, tv_rank=1):
        "Return the NCF for channel_count channels on the tv_rank-th TV"
        for slab in self.sorted_slabs():
            if slab.max_channels is None or channel_count <= slab.max_channels:
                amount = slab.amount
                break
        else:
            raise NcfError(gettext(
                    'rsoft_catalogue.msg_ncf_no_slab',
                    rule=self.rec_name, count=channel_count,
                    date=format_date(self.start_date)))
        if tv_rank > 1:
            amount *= self.second_tv_rate
        return round_amount(amount)

    def sorted_slabs(self):
        "Return the slabs by maximum channels, the unbounded one last"
        return sorted(self.slabs, key=lambda s: (
                s.max_channels is None, s.max_channels or 0))


class NcfSlab(sequence_ordered(), ModelSQL, ModelView):
    __name__ = 'rsoft.ncf.slab'
    __string__ = "NCF Slab"
    rule = fields.Many2One(
        'rsoft.ncf.rule', "Rule", required=True, ondelete='CASCADE')
    max_channels = fields.Integer(
        "Maximum Channels",
        help="The largest channel count the slab holds.\n"
        "Leave empty for no upper limit.")
    amount = fields.Numeric(
        "Amount", digits=MONEY_DIGITS, required=True,
        help="The NCF per month for a channel count in this slab, "
        "without taxes.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('rule')

    def get_rec_name(self, name):
        return f'{self.rule.rec_name} <= {self.max_channels or "∞"}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('rule.rec_name',) + tuple(clause[1:])]

    @classmethod
    def validate_fields(cls, slabs, field_names):
        super().validate_fields(slabs, field_names)
        if field_names and not (field_names & {'max_channels', 'amount'}):
            return
        for slab in slabs:
            if slab.amount < 0 or (
                    slab.max_channels is not None and slab.max_channels < 0):
                raise NcfValidationError(gettext(
                        'rsoft_catalogue.msg_ncf_slab_negative',
                        rule=slab.rule.rec_name))
