"Field technicians of an LCO or of the MSO, their skills, areas and day"
from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .configuration import ORDER_KINDS
from .exceptions import AllocationError

# The states in which an order takes a technician's day
BUSY_STATES = ['allocated', 'started']
DAY_STATES = ['allocated', 'started', 'done', 'failed']


class Technician(DeactivableMixin, ModelSQL, ModelView):
    "A field technician: installs, repairs, swaps and retrieves boxes"
    __name__ = 'rsoft.technician'
    __string__ = "Technician"

    name = fields.Char("Name", required=True)
    company = fields.Many2One('company.company', "Company", required=True)
    lco = fields.Many2One(
        'rsoft.partner', "Employer", required=True, ondelete='RESTRICT',
        domain=[
            ('role', 'in', ['lco', 'mso']),
            ('company', '=', Eval('company', -1)),
            ],
        help="The LCO whose technician it is, or the MSO for the MSO's "
        "own field team, which serves every LCO.")
    user = fields.Many2One(
        'res.user', "Login",
        help="The login the technician opens the day list with.")
    mobile = fields.Char("Mobile")
    skills = fields.MultiSelection(
        ORDER_KINDS, "Skills",
        help="The kinds of work order the technician may be given.")
    areas = fields.Many2Many(
        'rsoft.technician-rsoft.service.area', 'technician', 'area',
        "Areas",
        help="Where the technician works; none for anywhere.")
    capacity = fields.Integer(
        "Orders per Day", required=True,
        domain=[('capacity', '>', 0)],
        help="The most orders an allocation by rule gives for one day.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('name', 'ASC'))

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_capacity(cls):
        return 6

    @classmethod
    def default_skills(cls):
        return [k for k, _ in ORDER_KINDS]

    def day_list(self, date=None):
        """Return the technician's orders of date (today by default) in the
        order of the round: area, building, due time"""
        pool = Pool()
        Date = pool.get('ir.date')
        WorkOrder = pool.get('rsoft.work_order')
        date = date or Date.today()
        return WorkOrder.search([
                ('technician', '=', self.id),
                ('planned_date', '=', date),
                ('state', 'in', DAY_STATES),
                ], order=[
                ('area', 'ASC NULLS LAST'), ('building', 'ASC'),
                ('due_at', 'ASC NULLS LAST'), ('id', 'ASC')])

    @classmethod
    def loads(cls, technicians, date):
        "Return {technician id: orders it holds on date}"
        pool = Pool()
        WorkOrder = pool.get('rsoft.work_order')
        loads = {t.id: 0 for t in technicians}
        for order in WorkOrder.search([
                    ('technician', 'in', list(loads)),
                    ('planned_date', '=', date),
                    ('state', 'in', BUSY_STATES),
                    ]):
            loads[order.technician.id] += 1
        return loads

    def can_do(self, kinds, area):
        if not set(kinds) <= set(self.skills or []):
            return False
        return not self.areas or (area is not None and area in self.areas)

    @classmethod
    def choose(cls, lco, kinds, area, count, date):
        """Return the technician for count orders of kinds in area on date:
        the LCO's own before the MSO's, those of the area before those
        who go anywhere, then the least loaded, or None"""
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        employers = [lco.id] + [p.id for p in Partner.search([
                    ('role', '=', 'mso'), ('company', '=', lco.company.id),
                    ])]
        candidates = [t for t in cls.search([
                    ('lco', 'in', employers),
                    ('company', '=', lco.company.id),
                    ]) if t.can_do(kinds, area)]
        loads = cls.loads(candidates, date)
        fitting = [t for t in candidates
            if loads[t.id] + count <= t.capacity]
        if not fitting:
            return None
        # The area's own technicians before those who go anywhere
        return min(fitting, key=lambda t: (
                t.lco != lco, area not in t.areas, loads[t.id], t.name,
                t.id))

    def check_can_do(self, order):
        if not self.active or not self.can_do([order.kind], order.area):
            raise AllocationError(gettext(
                    'rsoft_workorder.msg_technician_cannot',
                    technician=self.rec_name, order=order.rec_name,
                    kind=order.kind_string,
                    area=order.area.rec_name if order.area else '-'))
        lco = order.lco
        if self.lco != lco and self.lco.role != 'mso':
            raise AllocationError(gettext(
                    'rsoft_workorder.msg_technician_other_lco',
                    technician=self.rec_name, order=order.rec_name,
                    lco=lco.rec_name))


class TechnicianArea(ModelSQL):
    "The areas of a technician"
    __name__ = 'rsoft.technician-rsoft.service.area'
    __string__ = "Technician Area"

    technician = fields.Many2One(
        'rsoft.technician', "Technician", required=True,
        ondelete='CASCADE')
    area = fields.Many2One(
        'rsoft.service.area', "Area", required=True, ondelete='CASCADE')
