"The service desk's settings: sequences, business hours, SLA targets, areas"
import datetime as dt
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin,
    ModelSingleton,
    ModelSQL,
    ModelView,
    Unique,
    fields,
)
from trytond.pool import Pool
from trytond.pyson import Id

from .exceptions import TargetValidationError
from .sla import CLOCKS

CATEGORIES = [
    ('no_signal', "No Signal"),
    ('channel_missing', "Channel Missing"),
    ('billing', "Billing"),
    ('stb_fault', "STB Fault"),
    ('relocation', "Relocation"),
    ('other', "Other"),
    ]
ORDER_KINDS = [
    ('installation', "Installation"),
    ('relocation', "Relocation"),
    ('repair', "Repair Visit"),
    ('stb_swap', "STB Swap"),
    ('retrieval', "Retrieval"),
    ]
# One target per complaint category and per work order kind
TARGET_KINDS = (
    [(f'complaint_{c}', f"Complaint: {s}") for c, s in CATEGORIES]
    + [(f'order_{k}', f"Work Order: {s}") for k, s in ORDER_KINDS])
WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday',
    'saturday', 'sunday']
# The one-time offers a visit may be charged with
FEE_KINDS = ['installation', 'activation']


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "The settings of complaints and work orders"
    __name__ = 'rsoft.service.configuration'
    __string__ = "Service Configuration"

    complaint_sequence = fields.Many2One(
        'ir.sequence', "Docket Sequence", required=True,
        domain=[
            ('sequence_type', '=',
                Id('rsoft_workorder', 'sequence_type_complaint')),
            ],
        help="Numbers the docket of every complaint.")
    work_order_sequence = fields.Many2One(
        'ir.sequence', "Work Order Sequence", required=True,
        domain=[
            ('sequence_type', '=',
                Id('rsoft_workorder', 'sequence_type_work_order')),
            ])
    day_start = fields.Time(
        "Business Day Start", required=True,
        help="When the business-hours clocks start each working day, in "
        "the company's time zone.")
    day_end = fields.Time(
        "Business Day End", required=True,
        help="When the business-hours clocks stop each working day.")
    monday = fields.Boolean("Monday")
    tuesday = fields.Boolean("Tuesday")
    wednesday = fields.Boolean("Wednesday")
    thursday = fields.Boolean("Thursday")
    friday = fields.Boolean("Friday")
    saturday = fields.Boolean("Saturday")
    sunday = fields.Boolean("Sunday")
    warning_hours = fields.Integer(
        "Warning Window", required=True,
        domain=[('warning_hours', '>=', 0)],
        help="In hours: the open tickets and orders due within it are "
        "listed as about to breach.")
    nodal_hours = fields.Integer(
        "Nodal Officer After", required=True,
        domain=[('nodal_hours', '>=', 0)],
        help="In hours after the due time: an overdue complaint first goes "
        "to the supervisor, then after this to the nodal officer.")
    supervisor = fields.Many2One(
        'party.party', "Supervisor",
        help="Told of every complaint whose SLA runs out.")
    nodal_officer = fields.Many2One(
        'party.party', "Nodal Officer",
        help="The officer TRAI requires; told of the complaints still "
        "open past the supervisor's window.")
    confirmation_days = fields.Integer(
        "Confirmation Days", required=True,
        domain=[('confirmation_days', '>=', 0)],
        help="A resolved complaint the subscriber neither confirms nor "
        "reopens is closed after this many days.")
    repeat_days = fields.Integer(
        "Repeat Window", required=True,
        domain=[('repeat_days', '>=', 0)],
        help="In days: a complaint on a connection that had another one "
        "lodged within this window is a repeat complaint.")
    installation_fee = fields.Many2One(
        'product.product', "Installation Fee",
        domain=[('template.rsoft_kind', 'in', FEE_KINDS)],
        help="The one-time offer billed when an installation is done.")
    visit_fee = fields.Many2One(
        'product.product', "Visit Fee",
        domain=[('template.rsoft_kind', 'in', FEE_KINDS)],
        help="The one-time offer billed for a repair visit or a swap "
        "when it is chargeable.")
    relocation_fee = fields.Many2One(
        'product.product', "Relocation Fee",
        domain=[('template.rsoft_kind', 'in', FEE_KINDS)],
        help="The one-time offer billed when a relocation is done.")

    @classmethod
    def default_complaint_sequence(cls):
        return Pool().get('ir.model.data').get_id(
            'rsoft_workorder', 'sequence_complaint')

    @classmethod
    def default_work_order_sequence(cls):
        return Pool().get('ir.model.data').get_id(
            'rsoft_workorder', 'sequence_work_order')

    @classmethod
    def default_day_start(cls):
        return dt.time(9, 0)

    @classmethod
    def default_day_end(cls):
        return dt.time(18, 0)

    @classmethod
    def default_warning_hours(cls):
        return 2

    @classmethod
    def default_nodal_hours(cls):
        return 24

    @classmethod
    def default_confirmation_days(cls):
        return 3

    @classmethod
    def default_repeat_days(cls):
        return 30

    @classmethod
    def default_monday(cls):
        return True

    default_tuesday = default_wednesday = default_thursday = default_monday
    default_friday = default_saturday = default_monday

    @classmethod
    def default_sunday(cls):
        return False

    @property
    def weekdays(self):
        "The numbers (Monday 0) of the working days"
        return [i for i, name in enumerate(WEEKDAYS) if getattr(self, name)]

    @property
    def warning_window(self):
        return dt.timedelta(hours=self.warning_hours or 0)

    @classmethod
    def now(cls):
        """Return the time of the SLA clocks (naive UTC), to the second

        The one clock of the module: tests set it."""
        return dt.datetime.now(dt.timezone.utc).replace(
            tzinfo=None, microsecond=0)

    def fee_for(self, kind):
        "Return the fee offer of a work order kind, if any"
        return {
            'installation': self.installation_fee,
            'relocation': self.relocation_fee,
            'repair': self.visit_fee,
            'stb_swap': self.visit_fee,
            }.get(kind)


class Target(ModelSQL, ModelView):
    "The time a complaint category or a work order kind must be done in"
    __name__ = 'rsoft.service.target'
    __string__ = "Service Target"

    kind = fields.Selection(TARGET_KINDS, "Applies To", required=True)
    hours = fields.Numeric(
        "Hours", digits=(6, 2), required=True,
        domain=[('hours', '>', 0)],
        help="From lodging (a complaint), or from the paid request (a work "
        "order), to resolution or completion.")
    clock = fields.Selection(
        CLOCKS, "Clock", required=True,
        help="Round the clock, or only in the business hours of the "
        "service configuration.")
    goal = fields.Numeric(
        "Goal", digits=(3, 2), required=True,
        domain=[('goal', '>', 0), ('goal', '<=', 1)],
        help="The share to meet the target, e.g. 0.90 for TRAI's 90% of "
        "no-signal complaints.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('kind_unique', Unique(t, t.kind),
                'rsoft_workorder.msg_target_kind_unique'),
            ]
        cls._order.insert(0, ('kind', 'ASC'))

    @classmethod
    def default_clock(cls):
        return '24x7'

    @classmethod
    def default_goal(cls):
        return Decimal('0.90')

    def get_rec_name(self, name):
        kind = dict(TARGET_KINDS)[self.kind]
        return f'{kind}: {self.hours} h'

    @classmethod
    def find(cls, kind):
        "Return the target of kind (e.g. complaint_no_signal) or None"
        targets = cls.search([('kind', '=', kind)], limit=1)
        return targets[0] if targets else None


class Area(DeactivableMixin, ModelSQL, ModelView):
    "A part of the network a field team covers: localities by PIN code"
    __name__ = 'rsoft.service.area'
    __string__ = "Service Area"

    name = fields.Char("Name", required=True)
    code = fields.Char("Code", required=True, strip=True)
    postal_codes = fields.Text(
        "PIN Codes",
        help="The postal codes of the area, separated by spaces, commas "
        "or lines: a work order at such an address is in the area.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'rsoft_workorder.msg_area_code_unique'),
            ]
        cls._order.insert(0, ('code', 'ASC'))

    def get_rec_name(self, name):
        return f'{self.code} - {self.name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause[:3]
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('code', operator, value, *clause[3:]),
            ('name', operator, value, *clause[3:]),
            ]

    @property
    def postal_code_set(self):
        text = (self.postal_codes or '').replace(',', ' ')
        return {c.strip() for c in text.split() if c.strip()}

    @classmethod
    def validate_fields(cls, areas, field_names):
        super().validate_fields(areas, field_names)
        if 'postal_codes' in field_names or 'active' in field_names:
            cls.check_postal_codes(areas)

    @classmethod
    def check_postal_codes(cls, areas):
        "A PIN code belongs to one active area"
        others = {}
        for area in cls.search([]):
            for code in area.postal_code_set:
                others.setdefault(code, area)
        for area in areas:
            if not area.active:
                continue
            for code in sorted(area.postal_code_set):
                other = others.get(code)
                if other and other != area:
                    raise TargetValidationError(gettext(
                            'rsoft_workorder.msg_area_postal_code_taken',
                            code=code, area=area.rec_name,
                            other=other.rec_name))

    @classmethod
    def for_address(cls, address):
        "Return the area of the address by its PIN code, if any"
        code = (address.postal_code or '').strip() if address else ''
        if not code:
            return None
        for area in cls.search([('postal_codes', 'ilike', f'%{code}%')]):
            if code in area.postal_code_set:
                return area
        return None
