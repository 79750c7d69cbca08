"Complaints: dockets with an SLA clock, assignment, resolution, escalation"
import datetime as dt

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction, without_check_access

from .configuration import CATEGORIES
from .exceptions import ComplaintError
from .sla import SlaMixin, hours_between
from .workflow import ServiceWorkflow

STATES = [
    ('open', "Open"),
    ('assigned', "Assigned"),
    ('in_progress', "In Progress"),
    ('resolved', "Resolved"),
    ('closed', "Closed"),
    ('reopened', "Reopened"),
    ]
# The states in which the SLA clock runs
OPEN_STATES = {'open', 'assigned', 'in_progress', 'reopened'}
CHANNELS = [
    ('back_office', "Back Office"),
    ('phone', "Phone"),
    ('lco_portal', "LCO Portal"),
    ('subscriber_portal', "Subscriber Portal"),
    ]
PRIORITIES = [
    ('low', "Low"),
    ('normal', "Normal"),
    ('high', "High"),
    ('urgent', "Urgent"),
    ]
RESOLUTIONS = [
    (None, ''),
    ('fixed_remotely', "Fixed remotely (CAS refresh, re-entitled)"),
    ('repaired_on_site', "Repaired on site"),
    ('device_replaced', "Device replaced"),
    ('relocated', "Relocated"),
    ('billing_corrected', "Billing corrected"),
    ('explained', "Explained to the subscriber"),
    ('network_fault', "Network fault fixed"),
    ('duplicate', "Duplicate complaint"),
    ('not_reproducible', "No fault found"),
    ]
ESCALATIONS = [
    ('none', "None"),
    ('supervisor', "Supervisor"),
    ('nodal', "Nodal Officer"),
    ]
# The kind of work order a category usually needs
ORDER_OF_CATEGORY = {
    'no_signal': 'repair',
    'channel_missing': 'repair',
    'stb_fault': 'stb_swap',
    'relocation': 'relocation',
    'other': 'repair',
    }
# What a complaint is resolved with when its work orders are done
RESOLUTION_OF_ORDER = {
    'repair': 'repaired_on_site',
    'stb_swap': 'device_replaced',
    'relocation': 'relocated',
    'installation': 'repaired_on_site',
    'retrieval': 'repaired_on_site',
    }
# Fixed once the docket is given: they decide the LCO and the SLA clock
LODGED_FIELDS = {'subscriber', 'connection', 'category', 'channel',
    'company'}
_OPEN = {
    'readonly': ~Eval('state').in_(list(OPEN_STATES)),
    }


class Complaint(
        SlaMixin, SystemFieldsMixin, ServiceWorkflow, ModelSQL, ModelView):
    "A subscriber's complaint, numbered by a docket and timed by its SLA"
    __name__ = 'rsoft.complaint'
    __string__ = "Complaint"
    _sla_open_states = OPEN_STATES
    _event_field = 'complaint'
    _state_error = ComplaintError
    _state_message = 'rsoft_workorder.msg_complaint_state'

    number = fields.Char(
        "Docket", readonly=True,
        help="The docket number given to the subscriber by SMS.")
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber", required=True,
        ondelete='RESTRICT',
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    connection = fields.Many2One(
        'rsoft.connection', "Connection", required=True,
        ondelete='RESTRICT',
        domain=[('subscriber', '=', Eval('subscriber', -1))],
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    lco = fields.Many2One(
        'rsoft.partner', "LCO", readonly=True, ondelete='RESTRICT',
        help="The subscriber's LCO when the complaint was lodged.")
    device = fields.Many2One(
        'stock.lot', "Device", ondelete='RESTRICT',
        domain=[If(Eval('state') == 'open',
                ('connection', '=', Eval('connection', -1)),
                ())],
        states=_OPEN,
        help="The box or card the complaint is about, if any: installed at "
        "the connection when lodged.")
    category = fields.Selection(
        CATEGORIES, "Category", required=True,
        states={
            'readonly': Eval('id', -1) >= 0,
            },
        help="Decides the SLA target; fixed once lodged.")
    category_string = category.translated('category')
    description = fields.Text("Description", required=True, states=_OPEN)
    channel = fields.Selection(
        CHANNELS, "Lodged Through", required=True,
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    priority = fields.Selection(
        PRIORITIES, "Priority", required=True, states=_OPEN)
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    lodged_at = fields.DateTime("Lodged", readonly=True)
    lodged_date = fields.Date(
        "Lodged On", readonly=True,
        help="The company's date of lodging, for the statistics.")
    target_hours = fields.Numeric(
        "Target", digits=(6, 2), readonly=True,
        help="In hours, as the target of the category was when lodged.")
    technician = fields.Many2One(
        'rsoft.technician', "Technician", ondelete='RESTRICT',
        states=_OPEN)
    resolved_at = fields.DateTime("Resolved", readonly=True)
    resolution_hours = fields.Numeric(
        "Hours to Resolve", digits=(10, 2), readonly=True,
        help="From lodging to the last resolution, round the clock.")
    resolution_code = fields.Selection(
        RESOLUTIONS, "Resolution", states=_OPEN,
        help="What fixed it; needed to resolve.")
    resolution_code_string = resolution_code.translated('resolution_code')
    resolution_note = fields.Text("Resolution Note", states=_OPEN)
    closed_at = fields.DateTime("Closed", readonly=True)
    confirmed = fields.Boolean(
        "Confirmed", readonly=True,
        help="The subscriber confirmed the resolution; else it was closed "
        "after the confirmation days.")
    reopen_count = fields.Integer("Reopened", readonly=True)
    repeat = fields.Boolean(
        "Repeat", readonly=True,
        help="Another complaint of the connection was lodged within the "
        "repeat window before this one.")
    escalation = fields.Selection(
        ESCALATIONS, "Escalation", required=True, readonly=True)
    escalated_at = fields.DateTime("Escalated", readonly=True)
    work_orders = fields.One2Many(
        'rsoft.work_order', 'complaint', "Work Orders", readonly=True)
    events = fields.One2Many(
        'rsoft.service.event', 'complaint', "History", readonly=True)

    @classmethod
    def __setup__(cls):
        cls.number.search_unaccented = False
        super().__setup__()
        cls._system_fields |= {
            'number', 'lco', 'state', 'lodged_at', 'lodged_date', 'due_at',
            'target_hours', 'resolved_at', 'resolution_hours', 'sla_result',
            'closed_at', 'confirmed', 'reopen_count', 'repeat',
            'escalation', 'escalated_at', 'work_orders', 'events'}
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.number, Index.Equality())),
                Index(t, (t.connection, Index.Equality()),
                    (t.lodged_at, Index.Range())),
                Index(t, (t.state, Index.Equality()),
                    (t.due_at, Index.Range())),
                Index(t, (t.lco, Index.Equality()),
                    (t.lodged_date, Index.Range())),
                })
        cls._order = [('lodged_at', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('open', 'assigned'),
            ('reopened', 'assigned'),
            ('open', 'in_progress'),
            ('assigned', 'in_progress'),
            ('reopened', 'in_progress'),
            ('open', 'resolved'),
            ('assigned', 'resolved'),
            ('in_progress', 'resolved'),
            ('reopened', 'resolved'),
            ('resolved', 'closed'),
            ('resolved', 'reopened'),
            }
        cls._buttons.update({
                'assign': {
                    'invisible': ~Eval('state').in_(
                        ['open', 'reopened']),
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'start': {
                    'invisible': ~Eval('state').in_(
                        ['open', 'assigned', 'reopened']),
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                'resolve': {
                    'invisible': ~Eval('state').in_(list(OPEN_STATES)),
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'confirm': {
                    'invisible': Eval('state') != 'resolved',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'reopen': {
                    'invisible': Eval('state') != 'resolved',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                'make_work_order': {
                    'invisible': ~Eval('state').in_(list(OPEN_STATES)),
                    'icon': 'tryton-add',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'open'

    @classmethod
    def default_channel(cls):
        return 'back_office'

    @classmethod
    def default_priority(cls):
        return 'normal'

    @classmethod
    def default_escalation(cls):
        return 'none'

    @classmethod
    def default_reopen_count(cls):
        return 0

    @fields.depends('connection', 'subscriber')
    def on_change_connection(self):
        if self.connection:
            self.subscriber = self.connection.subscriber

    @fields.depends('category', 'priority')
    def on_change_category(self):
        if self.category == 'no_signal':
            self.priority = 'high'

    def get_rec_name(self, name):
        if self.number:
            return f'{self.number} ({self.category_string})'
        return self.category_string

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('number',) + tuple(clause[1:])]

    # Lodging

    @classmethod
    def lodge(cls, connection, category, description, channel='back_office',
            device=None, priority=None):
        """Lodge a complaint on connection and return it: the docket is
        numbered, the SLA clock started and the subscriber told by SMS

        The back office, the LCO portal and the subscriber portal all
        lodge through here."""
        if category not in dict(CATEGORIES):
            raise ComplaintError(gettext(
                    'rsoft_workorder.msg_complaint_category',
                    category=category))
        if channel not in dict(CHANNELS):
            raise ComplaintError(gettext(
                    'rsoft_workorder.msg_complaint_channel',
                    channel=channel))
        if priority is not None and priority not in dict(PRIORITIES):
            raise ComplaintError(gettext(
                    'rsoft_workorder.msg_complaint_priority',
                    priority=priority))
        description = (description or '').strip()
        if not description:
            raise ComplaintError(gettext(
                    'rsoft_workorder.msg_complaint_description'))
        complaint, = cls.create([{
                    'subscriber': connection.subscriber.id,
                    'connection': connection.id,
                    'category': category,
                    'description': description,
                    'channel': channel,
                    'device': device.id if device else None,
                    'priority': priority or (
                        'high' if category == 'no_signal' else 'normal'),
                    'company': connection.subscriber.company.id,
                    }])
        return complaint

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        Connection = pool.get('rsoft.connection')
        values = super().preprocess_values(mode, values)
        if mode == 'create':
            if values.get('connection'):
                connection = Connection(values['connection'])
                values['lco'] = connection.subscriber.lco.id
                values.setdefault('subscriber', connection.subscriber.id)
            values['lodged_at'] = Configuration.now()
            values['state'] = 'open'
            values['escalation'] = 'none'
            values['reopen_count'] = 0
        return values

    @classmethod
    def validate_fields(cls, complaints, field_names):
        super().validate_fields(complaints, field_names)
        if field_names & {'subscriber', 'connection'}:
            for complaint in complaints:
                complaint.check_connection()

    def check_connection(self):
        connection = self.connection
        if connection.subscriber != self.subscriber:
            raise ComplaintError(gettext(
                    'rsoft_workorder.msg_complaint_connection',
                    connection=connection.rec_name,
                    subscriber=self.subscriber.rec_name))
        if connection.state == 'archived':
            raise ComplaintError(gettext(
                    'rsoft_workorder.msg_complaint_archived',
                    connection=connection.rec_name))
        if (self.device and self.state == 'open'
                and self.device.connection != connection):
            raise ComplaintError(gettext(
                    'rsoft_workorder.msg_complaint_device',
                    device=self.device.rec_name,
                    connection=connection.rec_name))

    @classmethod
    def create(cls, vlist):
        complaints = super().create(vlist)
        with without_check_access():
            complaints = cls.browse(complaints)
            cls._start_clock(complaints)
            cls._log(complaints,
            'rsoft_workorder.msg_action_lodged', None, 'open')
            cls._notify_subscribers('complaint_lodged', complaints)
        return complaints

    @classmethod
    def _start_clock(cls, complaints):
        "Number the dockets and start their SLA clocks"
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        Target = pool.get('rsoft.service.target')
        config = Configuration(1)
        repeat_from = dt.timedelta(days=config.repeat_days or 0)
        to_write = []
        for complaint in complaints:
            target = Target.find(f'complaint_{complaint.category}')
            lodged = complaint.lodged_at
            repeats = cls.search([
                    ('connection', '=', complaint.connection.id),
                    ('id', '!=', complaint.id),
                    ('lodged_at', '>=', lodged - repeat_from),
                    ('lodged_at', '<=', lodged),
                    ], limit=1)
            to_write.extend(([complaint], {
                        'number': config.complaint_sequence.get(),
                        'due_at': cls.deadline(
                            target, lodged, complaint.company),
                        'target_hours': target.hours if target else None,
                        'lodged_date': cls.business_hours(
                            complaint.company).local_date(lodged),
                        'repeat': bool(repeats),
                        }))
        cls.write(*to_write)

    @classmethod
    def check_modification(cls, mode, complaints, values=None,
            external=False):
        super().check_modification(
            mode, complaints, values=values, external=external)
        if mode == 'write' and external:
            for name in sorted(LODGED_FIELDS & values.keys()):
                raise ComplaintError(gettext(
                        'rsoft_workorder.msg_complaint_lodged_field',
                        field=cls._fields[name].string))
            if values.keys() - {'technician'}:
                for complaint in complaints:
                    if complaint.state not in OPEN_STATES:
                        raise ComplaintError(gettext(
                                'rsoft_workorder.msg_complaint_finished',
                                complaint=complaint.rec_name,
                                state=complaint.state_string))
        if mode == 'delete':
            for complaint in complaints:
                if complaint.number:
                    raise ComplaintError(gettext(
                            'rsoft_workorder.msg_complaint_delete',
                            complaint=complaint.rec_name))

    # Notices

    def _notification_values(self):
        pool = Pool()
        Lang = pool.get('ir.lang')
        subscriber = self.subscriber
        lang = subscriber.party.lang or Lang.get()
        hours = self.business_hours(self.company)

        def local(value):
            if not value:
                return ''
            value = value.replace(tzinfo=dt.timezone.utc).astimezone(
                hours.zone).replace(tzinfo=None)
            return lang.strftime(value, f'{lang.date} %H:%M')
        return {
            'complaint': self,
            'number': self.number,
            'customer_id': subscriber.customer_id,
            'name': subscriber.party.rec_name,
            'category': self.category_string,
            'lco': self.lco.party.rec_name if self.lco else '',
            'due': local(self.due_at),
            'resolution': self.resolution_code_string or '',
            'escalation': dict(ESCALATIONS)[self.escalation],
            'lodged': local(self.lodged_at),
            }

    @classmethod
    def _notify_subscribers(cls, event, complaints):
        pool = Pool()
        Notification = pool.get('rsoft.notify.notification')
        for complaint in complaints:
            subscriber = complaint.subscriber
            Notification.notify(
                event, subscriber.party, complaint._notification_values(),
                origin=complaint, email=subscriber.email,
                mobile=subscriber.mobile)

    # Transitions

    @classmethod
    @ModelView.button
    def assign(cls, complaints, technician=None):
        """Give the complaints to technician, or to the one they name; an
        assigned complaint is given to another"""
        if technician:
            cls.check_state(complaints, {'open', 'reopened', 'assigned'},
                'rsoft_workorder.msg_action_assign')
            cls.write(list(complaints), {'technician': technician.id})
            complaints = cls.browse(complaints)
        for complaint in complaints:
            if not complaint.technician:
                raise ComplaintError(gettext(
                        'rsoft_workorder.msg_complaint_no_technician',
                        complaint=complaint.rec_name))
        reassigned = [c for c in complaints if c.state == 'assigned']
        cls._log(reassigned,
            'rsoft_workorder.msg_action_assign', 'assigned', 'assigned',
            technician.rec_name if technician else None)
        cls._enter([c for c in complaints if c.state != 'assigned'],
            'assigned', 'rsoft_workorder.msg_action_assign',
            lambda c: c.technician.rec_name)

    @classmethod
    @ModelView.button
    def start(cls, complaints):
        cls._enter(complaints, 'in_progress',
            'rsoft_workorder.msg_action_start')

    @classmethod
    @ModelView.button
    def resolve(cls, complaints, code=None, note=None):
        """Resolve the complaints with code (a resolution) and note, or
        with those they hold; the SLA clock stops"""
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        cls.check_state(complaints, OPEN_STATES,
            'rsoft_workorder.msg_action_resolve')
        if code is not None and code not in dict(RESOLUTIONS):
            raise ComplaintError(gettext(
                    'rsoft_workorder.msg_complaint_resolution_code',
                    code=code))
        values = {}
        if code:
            values['resolution_code'] = code
        if note:
            values['resolution_note'] = note
        if values:
            cls.write(list(complaints), values)
            complaints = cls.browse(complaints)
        for complaint in complaints:
            if not complaint.resolution_code:
                raise ComplaintError(gettext(
                        'rsoft_workorder.msg_complaint_no_resolution',
                        complaint=complaint.rec_name))
        now = Configuration.now()
        for complaint in complaints:
            cls._enter([complaint], 'resolved',
            'rsoft_workorder.msg_action_resolve',
                complaint.resolution_code_string,
                resolved_at=now,
                resolution_hours=hours_between(complaint.lodged_at, now),
                sla_result=cls.sla_result_at(complaint.due_at, now))
        cls._notify_subscribers('complaint_resolved', cls.browse(complaints))

    @classmethod
    @ModelView.button
    def confirm(cls, complaints):
        "The subscribers confirm the resolution: the complaints are closed"
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        cls._enter(complaints, 'closed',
            'rsoft_workorder.msg_action_confirm',
            closed_at=Configuration.now(), confirmed=True)

    @classmethod
    def close_unconfirmed(cls):
        """Close the resolved complaints nobody confirmed or reopened within
        the confirmation days (scheduled job)"""
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        config = Configuration(1)
        now = Configuration.now()
        complaints = cls.search([
                ('state', '=', 'resolved'),
                ('resolved_at', '<=',
                    now - dt.timedelta(days=config.confirmation_days)),
                ])
        cls._enter(complaints, 'closed',
            'rsoft_workorder.msg_action_close',
            closed_at=now, confirmed=False)

    @classmethod
    @ModelView.button
    def reopen(cls, complaints, note=None):
        """The subscribers say it is not fixed: the clock runs again (the
        due time stays: the target counts from lodging)"""
        for complaint in complaints:
            cls._enter([complaint], 'reopened',
            'rsoft_workorder.msg_action_reopen', note,
                reopen_count=(complaint.reopen_count or 0) + 1,
                resolution_code=None, sla_result=None)

    @classmethod
    @ModelView.button
    def make_work_order(cls, complaints, kind=None):
        """Create a draft work order for each complaint: kind, or the kind
        its category needs (a swap of the device it names, if a box or a
        card is at fault); return them"""
        pool = Pool()
        WorkOrder = pool.get('rsoft.work_order')
        cls.check_state(complaints, OPEN_STATES,
            'rsoft_workorder.msg_action_work_order')
        vlist = []
        for complaint in complaints:
            order_kind = kind or complaint.work_order_kind
            if not order_kind:
                raise ComplaintError(gettext(
                        'rsoft_workorder.msg_complaint_no_order_kind',
                        complaint=complaint.rec_name))
            vlist.append({
                    'kind': order_kind,
                    'cause': 'complaint',
                    'complaint': complaint.id,
                    'connection': complaint.connection.id,
                    'company': complaint.company.id,
                    'old_device': complaint.device.id
                    if complaint.device and order_kind == 'stb_swap'
                    else None,
                    'technician': complaint.technician.id
                    if complaint.technician else None,
                    })
        with without_check_access():
            orders = WorkOrder.create(vlist)
        cls._log(complaints,
            'rsoft_workorder.msg_action_work_order', None, None,
            ', '.join(o.rec_name for o in orders))
        return orders

    @property
    def work_order_kind(self):
        "The kind of work order the complaint usually needs"
        if self.device and self.category in {'no_signal', 'stb_fault'}:
            return 'stb_swap'
        return ORDER_OF_CATEGORY.get(self.category)

    # Follow the work orders

    @classmethod
    def follow_allocation(cls, orders):
        "Assign the open complaints of orders to their technicians"
        for order in orders:
            complaint = order.complaint
            if complaint and complaint.state in {'open', 'reopened'}:
                cls.assign([complaint], order.technician)

    @classmethod
    def follow_start(cls, orders):
        complaints = {o.complaint for o in orders
            if o.complaint and o.complaint.state in {
                    'open', 'assigned', 'reopened'}}
        if complaints:
            cls.start(list(complaints))

    @classmethod
    def follow_completion(cls, orders):
        """Resolve the open complaints whose work orders are all done, with
        what the last one did"""
        for order in orders:
            complaint = order.complaint
            if not complaint or complaint.state not in OPEN_STATES:
                continue
            if any(o.state not in {'done', 'cancelled'}
                    for o in complaint.work_orders):
                continue
            cls.resolve([complaint],
                complaint.resolution_code
                or RESOLUTION_OF_ORDER.get(order.kind, 'repaired_on_site'),
                order.notes)

    # Escalation

    @classmethod
    def escalate_overdue(cls):
        """Escalate the open complaints past their due time to the
        supervisor, and those past it by the nodal window to the nodal
        officer (scheduled job)"""
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        config = Configuration(1)
        now = Configuration.now()
        running = list(OPEN_STATES)
        cls.escalate(cls.search([
                    ('state', 'in', running),
                    ('due_at', '<', now),
                    ('escalation', '=', 'none'),
                    ]), 'supervisor')
        cls.escalate(cls.search([
                    ('state', 'in', running),
                    ('due_at', '<',
                        now - dt.timedelta(hours=config.nodal_hours)),
                    ('escalation', 'in', ['none', 'supervisor']),
                    ]), 'nodal')

    @classmethod
    def escalate(cls, complaints, level):
        "Escalate complaints to level (supervisor or nodal) and tell them"
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        Notification = pool.get('rsoft.notify.notification')
        if not complaints:
            return
        config = Configuration(1)
        officer = (config.supervisor if level == 'supervisor'
            else config.nodal_officer)
        before = {c.id: dict(ESCALATIONS)[c.escalation] for c in complaints}
        cls.write(complaints, {
                'escalation': level,
                'escalated_at': Configuration.now(),
                'priority': 'urgent',
                })
        complaints = cls.browse(complaints)
        for complaint in complaints:
            cls._log([complaint],
            'rsoft_workorder.msg_action_escalate', complaint.state,
                complaint.state, gettext(
                    'rsoft_workorder.msg_escalated_description',
                    before=before[complaint.id],
                    after=dict(ESCALATIONS)[level],
                    officer=officer.rec_name if officer else '-'))
            if officer:
                Notification.notify(
                    'complaint_escalated', officer,
                    complaint._notification_values(), origin=complaint)
