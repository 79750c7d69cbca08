"""Work orders: installations, relocations, repairs, swaps and retrievals,
allocated to technicians and done at the premises

What an order changes (devices, CAS state, charges) is done when it is
completed, through the inventory, subscriber and billing models, never
before."""
import datetime as dt
import re
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.modules.rsoft_inventory.device import OWNERSHIPS
from trytond.modules.rsoft_inventory.installation import OWNERSHIP_OFFERS
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction, without_check_access

from .configuration import ORDER_KINDS
from .exceptions import AllocationError, WorkOrderError
from .sla import SlaMixin, hours_between
from .workflow import ServiceWorkflow

STATES = [
    ('draft', "Draft"),
    ('allocated', "Allocated"),
    ('started', "Started"),
    ('done', "Done"),
    ('failed', "Failed"),
    ('cancelled', "Cancelled"),
    ]
# The states in which the SLA clock runs: a failed order is still owed
OPEN_STATES = {'draft', 'allocated', 'started', 'failed'}
CAUSES = [
    ('new_connection', "New Connection"),
    ('complaint', "Complaint"),
    ('termination', "Termination"),
    ('request', "Subscriber Request"),
    ]
# The kinds whose completion is charged by default
CHARGED_KINDS = {'installation', 'relocation'}
_DRAFT = {
    'readonly': ~Eval('state').in_(['draft', 'allocated', 'failed']),
    }
_UNDONE = {
    'readonly': ~Eval('state').in_(list(OPEN_STATES)),
    }
_LCO_STOCK = [
    ('holder', '=', Eval('lco', -1)),
    ('device_state', 'in', ['in_stock', 'allocated']),
    ('connection', '=', None),
    ]


def building_of(address):
    "Return the street lines of address on one line, as orders group them"
    lines = (address.street or '').splitlines()
    return ', '.join(line.strip() for line in lines if line.strip()) or None


class WorkOrder(
        SlaMixin, SystemFieldsMixin, ServiceWorkflow, ModelSQL, ModelView):
    "A visit to a subscriber's premises, from a cause, by a technician"
    __name__ = 'rsoft.work_order'
    __string__ = "Work Order"
    _sla_open_states = OPEN_STATES
    _event_field = 'work_order'
    _state_error = WorkOrderError
    _state_message = 'rsoft_workorder.msg_order_state'

    number = fields.Char("Number", readonly=True)
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    kind = fields.Selection(
        ORDER_KINDS, "Kind", required=True,
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    kind_string = kind.translated('kind')
    cause = fields.Selection(
        CAUSES, "Cause", required=True,
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    complaint = fields.Many2One(
        'rsoft.complaint', "Complaint", ondelete='RESTRICT',
        domain=[('connection', '=', Eval('connection', -1))],
        states={
            'readonly': Eval('id', -1) >= 0,
            'invisible': Eval('cause') != 'complaint',
            'required': Eval('cause') == 'complaint',
            })
    connection = fields.Many2One(
        'rsoft.connection', "Connection", required=True,
        ondelete='RESTRICT',
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    subscriber = fields.Function(
        fields.Many2One('rsoft.subscriber', "Subscriber"),
        'get_subscriber', searcher='search_subscriber')
    lco = fields.Many2One(
        'rsoft.partner', "LCO", readonly=True, ondelete='RESTRICT',
        help="The connection's LCO, whose stock serves the order.")
    address = fields.Many2One(
        'party.address', "Address", ondelete='RESTRICT', states=_DRAFT,
        help="Where the technician goes; the connection's by default.")
    new_address = fields.Many2One(
        'party.address', "New Address", ondelete='RESTRICT',
        states={
            'invisible': Eval('kind') != 'relocation',
            'required': (Eval('kind') == 'relocation')
            & (Eval('state') != 'draft'),
            **_DRAFT,
            },
        help="Where the connection moves to.")
    area = fields.Many2One(
        'rsoft.service.area', "Area", ondelete='RESTRICT', states=_DRAFT,
        help="Found from the address's PIN code; orders are allocated by "
        "area.")
    building = fields.Char(
        "Building", states=_DRAFT,
        help="The street and building: orders of one building go to one "
        "technician.")
    stb = fields.Many2One(
        'stock.lot', "Box to Install", ondelete='RESTRICT',
        domain=[
            If(Eval('state').in_(['draft', 'allocated', 'started']),
                [('product.template.rsoft_device_kind', '=', 'stb')]
                + _LCO_STOCK, []),
            ],
        states={
            'invisible': ~Eval('kind').in_(['installation', 'stb_swap']),
            **_UNDONE,
            },
        help="From the LCO's stock; the serial the technician reports "
        "replaces it.")
    smartcard = fields.Many2One(
        'stock.lot', "Card to Install", ondelete='RESTRICT',
        domain=[
            If(Eval('state').in_(['draft', 'allocated', 'started']),
                [('product.template.rsoft_device_kind', '=', 'smartcard')]
                + _LCO_STOCK, []),
            ],
        states={
            'invisible': ~Eval('kind').in_(['installation', 'stb_swap']),
            **_UNDONE,
            },
        help="For a card-based box not yet paired, or a card swap.")
    ownership = fields.Selection(
        [o for o in OWNERSHIPS if o[0]], "Ownership",
        states={
            'invisible': Eval('kind') != 'installation',
            'required': Eval('kind') == 'installation',
            **_UNDONE,
            })
    hardware_offer = fields.Many2One(
        'product.product', "Hardware Offer", ondelete='RESTRICT',
        domain=[
            ('template.rsoft_kind', 'in', list(OWNERSHIP_OFFERS.values())),
            ],
        states={
            'invisible': Eval('kind') != 'installation',
            'required': Eval('ownership').in_(['rented', 'leased']),
            **_UNDONE,
            },
        help="The sale, rental or lease offer billed for the box.")
    old_device = fields.Many2One(
        'stock.lot', "Device to Take", ondelete='RESTRICT',
        domain=[
            If(Eval('state').in_(['draft', 'allocated', 'started']),
                [('connection', '=', Eval('connection', -1))], []),
            ],
        states={
            'invisible': ~Eval('kind').in_(['stb_swap', 'retrieval']),
            'required': Eval('kind') == 'stb_swap',
            **_UNDONE,
            },
        help="The faulty device swapped out, or the device retrieved "
        "(with its pair); empty retrieves every device.")
    fee = fields.Many2One(
        'product.product', "Fee", ondelete='RESTRICT',
        domain=[('template.rsoft_kind', 'in', ['installation', 'activation'])],
        states={
            'invisible': Eval('kind') == 'retrieval',
            **_UNDONE,
            },
        help="The one-time offer charged on completion when chargeable; "
        "from the service configuration by default.")
    chargeable = fields.Boolean(
        "Chargeable",
        states={
            'invisible': Eval('kind') == 'retrieval',
            **_UNDONE,
            },
        help="Charge the fee; a visit under warranty is not.")
    fee_line = fields.Many2One(
        'rsoft.subscription.line', "Fee Subscription", readonly=True,
        ondelete='RESTRICT',
        help="The one-time line the billing charges the fee by.")
    technician = fields.Many2One(
        'rsoft.technician', "Technician", ondelete='RESTRICT',
        states=_DRAFT)
    planned_date = fields.Date("Planned Date", states=_DRAFT)
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    requested_at = fields.DateTime(
        "Requested", readonly=True,
        help="When the order was made.")
    paid_at = fields.DateTime(
        "Paid",
        states={
            'readonly': Eval('state') != 'draft',
            },
        help="When the subscriber paid for the request: an installation's "
        "clock runs from it (TRAI: 72 hours). Empty for the request time.")
    target_hours = fields.Numeric(
        "Target", digits=(6, 2), readonly=True,
        help="In hours, as the target of the kind was when the clock "
        "started.")
    started_at = fields.DateTime("Started", readonly=True)
    done_at = fields.DateTime("Done", readonly=True)
    done_date = fields.Date(
        "Done On", readonly=True,
        help="The company's date of completion, for the statistics.")
    duration_hours = fields.Numeric(
        "Hours to Complete", digits=(10, 2), readonly=True,
        help="From the paid request (or the request) to completion, "
        "round the clock.")
    work_hours = fields.Numeric(
        "Hours on Site", digits=(10, 2), readonly=True,
        help="From start to completion.")
    serials = fields.Char(
        "Serials Installed", states=_UNDONE,
        help="The serials of the boxes and cards the technician installed, "
        "separated by spaces or commas.")
    notes = fields.Text("Notes", states=_UNDONE)
    failure_reason = fields.Char(
        "Failure Reason", states=_UNDONE,
        help="Why the visit failed: needed to fail it.")
    failure_count = fields.Integer("Failures", readonly=True)
    events = fields.One2Many(
        'rsoft.service.event', 'work_order', "History", readonly=True)
    mine = fields.Function(
        fields.Boolean(
            "Mine", help="Given to the technician whose login it is."),
        'get_mine', searcher='search_mine')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {
            'number', 'lco', 'state', 'requested_at', 'target_hours',
            'due_at', 'sla_result', 'started_at', 'done_at', 'done_date',
            'duration_hours', 'work_hours', 'fee_line', 'failure_count',
            'events'}
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.number, Index.Equality())),
                Index(t, (t.technician, Index.Equality()),
                    (t.planned_date, Index.Range())),
                Index(t, (t.state, Index.Equality()),
                    (t.due_at, Index.Range())),
                Index(t, (t.connection, Index.Equality())),
                Index(t, (t.complaint, Index.Equality())),
                })
        cls._order = [('requested_at', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'allocated'),
            ('failed', 'allocated'),
            ('allocated', 'started'),
            ('allocated', 'done'),
            ('started', 'done'),
            ('allocated', 'failed'),
            ('started', 'failed'),
            ('draft', 'cancelled'),
            ('allocated', 'cancelled'),
            ('failed', 'cancelled'),
            }
        cls._buttons.update({
                'allocate': {
                    'invisible': ~Eval('state').in_(
                        ['draft', 'allocated', 'failed']),
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'start': {
                    'invisible': Eval('state') != 'allocated',
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                'complete': {
                    'invisible': ~Eval('state').in_(['allocated', 'started']),
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'fail': {
                    'invisible': ~Eval('state').in_(['allocated', 'started']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(
                        ['draft', 'allocated', 'failed']),
                    'icon': 'tryton-delete',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_cause(cls):
        return 'request'

    @classmethod
    def default_ownership(cls):
        return 'sold'

    @classmethod
    def default_failure_count(cls):
        return 0

    @fields.depends('kind', 'fee', 'chargeable')
    def on_change_kind(self):
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        self.fee = Configuration(1).fee_for(self.kind)
        self.chargeable = self.kind in CHARGED_KINDS

    @fields.depends('connection', methods=['on_change_address'])
    def on_change_connection(self):
        if self.connection:
            self.address = self.connection.installation_address
            self.on_change_address()

    @fields.depends('kind', 'address', 'new_address', 'area', 'building')
    def on_change_address(self):
        pool = Pool()
        Area = pool.get('rsoft.service.area')
        address = (self.new_address if self.kind == 'relocation' else None
            ) or self.address
        if address:
            self.area = Area.for_address(address)
            self.building = building_of(address)

    @fields.depends(methods=['on_change_address'])
    def on_change_new_address(self):
        self.on_change_address()

    def get_rec_name(self, name):
        if self.number:
            return f'{self.number} ({self.kind_string})'
        return self.kind_string

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('number',) + tuple(clause[1:])]

    def get_mine(self, name):
        technician = self.technician
        return bool(technician and technician.user
            and technician.user.id == Transaction().user)

    @classmethod
    def search_mine(cls, name, clause):
        _, operator, value = clause[:3]
        mine = ('technician.user', '=', Transaction().user)
        if (operator == '=') == bool(value):
            return [mine]
        return ['OR', ('technician', '=', None),
            ('technician.user', '!=', Transaction().user),
            ('technician.user', '=', None)]

    def get_subscriber(self, name):
        return self.connection.subscriber.id

    @classmethod
    def search_subscriber(cls, name, clause):
        nested = clause[0][len(name):]
        return [('connection.subscriber' + nested,) + tuple(clause[1:])]

    # Creation and the clock

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Area = pool.get('rsoft.service.area')
        Configuration = pool.get('rsoft.service.configuration')
        Connection = pool.get('rsoft.connection')
        Address = pool.get('party.address')
        values = super().preprocess_values(mode, values)
        if mode == 'create':
            config = Configuration(1)
            values['state'] = 'draft'
            values['requested_at'] = Configuration.now()
            values['failure_count'] = 0
            kind = values.get('kind')
            if 'fee' not in values:
                fee = config.fee_for(kind)
                values['fee'] = fee.id if fee else None
            values.setdefault('chargeable', kind in CHARGED_KINDS)
            if values.get('connection'):
                connection = Connection(values['connection'])
                values['lco'] = connection.subscriber.lco.id
                if not values.get('address'):
                    address = connection.installation_address
                    values['address'] = address.id if address else None
            # A relocation is worked at the new address
            visited = values.get('new_address') if kind == 'relocation' else (
                None)
            visited = visited or values.get('address')
            if visited:
                address = Address(visited)
                if 'area' not in values:
                    area = Area.for_address(address)
                    values['area'] = area.id if area else None
                values.setdefault('building', building_of(address))
        return values

    @classmethod
    def create(cls, vlist):
        orders = super().create(vlist)
        with without_check_access():
            orders = cls.browse(orders)
            cls._start_clock(orders, number=True)
            cls._log(orders, 'rsoft_workorder.msg_action_create', None,
                'draft', lambda o: o.cause_string)
        return orders

    @property
    def cause_string(self):
        return dict(CAUSES)[self.cause]

    @classmethod
    def _log(cls, orders, action, before, after, description=None):
        if callable(description):
            for order in orders:
                super()._log([order], action, before, after,
                    description(order))
        else:
            super()._log(orders, action, before, after, description)

    @classmethod
    def _start_clock(cls, orders, number=False):
        "Number the orders and set their due time from their clock start"
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        Target = pool.get('rsoft.service.target')
        config = Configuration(1)
        to_write = []
        for order in orders:
            target = Target.find(f'order_{order.kind}')
            values = {
                'due_at': cls.deadline(
                    target, order.clock_start, order.company),
                'target_hours': target.hours if target else None,
                }
            if number:
                values['number'] = config.work_order_sequence.get()
            to_write.extend(([order], values))
        if to_write:
            cls.write(*to_write)

    @property
    def clock_start(self):
        return self.paid_at or self.requested_at

    @classmethod
    def validate_fields(cls, orders, field_names):
        super().validate_fields(orders, field_names)
        if field_names & {'connection', 'complaint', 'old_device'}:
            for order in orders:
                order.check_connection()

    def check_connection(self):
        if self.complaint and self.complaint.connection != self.connection:
            raise WorkOrderError(gettext(
                    'rsoft_workorder.msg_order_complaint_connection',
                    order=self.rec_name,
                    complaint=self.complaint.rec_name,
                    connection=self.connection.rec_name))
        if self.cause == 'complaint' and not self.complaint:
            raise WorkOrderError(gettext(
                    'rsoft_workorder.msg_order_no_complaint',
                    order=self.rec_name))

    @classmethod
    def write(cls, *args):
        super().write(*args)
        paid = [o for records, values in zip(args[::2], args[1::2])
            if 'paid_at' in values for o in records]
        if paid:
            with without_check_access():
                cls._start_clock(cls.browse(paid))

    @classmethod
    def check_modification(cls, mode, orders, values=None, external=False):
        super().check_modification(
            mode, orders, values=values, external=external)
        if mode == 'write' and external:
            for order in orders:
                if order.state not in OPEN_STATES:
                    raise WorkOrderError(gettext(
                            'rsoft_workorder.msg_order_finished',
                            order=order.rec_name,
                            state=order.state_string))
        if mode == 'delete':
            for order in orders:
                if order.number:
                    raise WorkOrderError(gettext(
                            'rsoft_workorder.msg_order_delete',
                            order=order.rec_name))

    # Allocation

    @classmethod
    @ModelView.button
    def allocate(cls, orders, technician=None, date=None):
        """Give the orders to technician, or to the technician they name,
        or by rule: the orders of one LCO, area and building to the same
        technician, of the LCO (else the MSO) who has the skills, covers
        the area and has room that day; planned for date (their own, else
        today)"""
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        Date = pool.get('ir.date')
        Technician = pool.get('rsoft.technician')
        cls.check_state(orders, {'draft', 'allocated', 'failed'},
            'rsoft_workorder.msg_action_allocate')
        today = Date.today()
        for order in orders:
            if order.kind == 'relocation' and not order.new_address:
                raise WorkOrderError(gettext(
                        'rsoft_workorder.msg_order_no_new_address',
                        order=order.rec_name))
        groups = defaultdict(list)
        for order in orders:
            chosen = technician or order.technician
            day = date or order.planned_date or today
            if chosen:
                chosen.check_can_do(order)
                cls._give([order], chosen, day)
            else:
                groups[order.lco, order.area, order.building or '', day
                    ].append(order)
        for (lco, area, _, day), group in groups.items():
            chosen = Technician.choose(
                lco, {o.kind for o in group}, area, len(group), day)
            if chosen:
                cls._give(group, chosen, day)
                continue
            for order in group:
                chosen = Technician.choose(lco, [order.kind], area, 1, day)
                if not chosen:
                    raise AllocationError(gettext(
                            'rsoft_workorder.msg_order_no_technician',
                            order=order.rec_name, kind=order.kind_string,
                            area=area.rec_name if area else '-',
                            date=Pool().get('ir.lang').get().strftime(day)))
                cls._give([order], chosen, day)
        Complaint.follow_allocation(cls.browse(orders))

    @classmethod
    def _give(cls, orders, technician, date):
        reallocated = [o for o in orders if o.state == 'allocated']
        values = {'technician': technician.id, 'planned_date': date}
        if reallocated:
            cls._log(reallocated, 'rsoft_workorder.msg_action_allocate',
                'allocated', 'allocated', technician.rec_name)
            cls.write(reallocated, values)
        cls._enter([o for o in orders if o.state != 'allocated'],
            'allocated', 'rsoft_workorder.msg_action_allocate',
            technician.rec_name, **values)

    # At the premises

    @classmethod
    @ModelView.button
    def start(cls, orders):
        "The technician is at the premises"
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        Configuration = pool.get('rsoft.service.configuration')
        cls._enter(orders, 'started', 'rsoft_workorder.msg_action_start',
            started_at=Configuration.now())
        Complaint.follow_start(cls.browse(orders))

    @classmethod
    @ModelView.button
    def complete(cls, orders, serials=None, notes=None):
        """Complete the orders: the devices are installed, swapped or
        retrieved, the CAS told, the fee charged, the complaint resolved

        serials (text or list) are the serials the technician installed;
        they replace the planned devices. notes are the technician's."""
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        Configuration = pool.get('rsoft.service.configuration')
        Date = pool.get('ir.date')
        cls.check_state(orders, {'allocated', 'started'},
            'rsoft_workorder.msg_action_complete')
        values = {}
        if serials is not None:
            values['serials'] = (' '.join(serials)
                if isinstance(serials, (list, tuple)) else serials)
        if notes is not None:
            values['notes'] = notes
        if values:
            cls.write(list(orders), values)
        orders = cls.browse(orders)
        now = Configuration.now()
        date = Date.today()
        for order in orders:
            order._take_serials()
            getattr(order, f'_complete_{order.kind}')(date)
            fee_line = order._charge_fee(date)
            started = order.started_at or now
            cls._enter([order], 'done', 'rsoft_workorder.msg_action_complete',
                order.notes,
                started_at=started,
                done_at=now,
                done_date=cls.business_hours(order.company).local_date(now),
                duration_hours=hours_between(order.clock_start, now),
                work_hours=hours_between(started, now),
                sla_result=cls.sla_result_at(order.due_at, now),
                fee_line=fee_line.id if fee_line else None)
        Complaint.follow_completion(cls.browse(orders))

    def _take_serials(self):
        "Put the devices of the serials reported in place of the planned"
        pool = Pool()
        Lot = pool.get('stock.lot')
        numbers = [n for n in re.split(r'[\s,;]+', self.serials or '') if n]
        if not numbers:
            return
        devices = Lot.search([
                ('number', 'in', numbers),
                ('product.template.rsoft_device_kind', '!=', None),
                ])
        unknown = sorted(set(numbers) - {d.number for d in devices})
        if unknown:
            raise WorkOrderError(gettext(
                    'rsoft_workorder.msg_order_serial_unknown',
                    order=self.rec_name, serials=', '.join(unknown)))
        for device in devices:
            if device.device_kind == 'stb':
                self.stb = device
            else:
                self.smartcard = device
        self.save()

    def _complete_installation(self, date):
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Subscriber = pool.get('rsoft.subscriber')
        connection = self.connection
        if not self.stb:
            raise WorkOrderError(gettext(
                    'rsoft_workorder.msg_order_no_stb', order=self.rec_name))
        connection.install(self.stb, self.smartcard, self.ownership or 'sold',
            self.hardware_offer, date=date)
        # Entitlement starts with the box in place: the CAS hears of both
        connection = Connection(connection.id)
        subscriber = connection.subscriber
        if subscriber.state == 'draft':
            Subscriber.activate([subscriber], date)
        elif connection.state == 'draft':
            Connection.activate([connection], date)

    def _complete_stb_swap(self, date):
        old = self.old_device
        if not old:
            raise WorkOrderError(gettext(
                    'rsoft_workorder.msg_order_no_old_device',
                    order=self.rec_name))
        new = self.stb if old.device_kind == 'stb' else self.smartcard
        if not new:
            raise WorkOrderError(gettext(
                    'rsoft_workorder.msg_order_no_new_device',
                    order=self.rec_name, device=old.rec_name))
        self.connection.swap(old, new, self.notes or self.kind_string, date)

    def _complete_relocation(self, date):
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        if not self.new_address:
            raise WorkOrderError(gettext(
                    'rsoft_workorder.msg_order_no_new_address',
                    order=self.rec_name))
        connection = self.connection
        Connection.write([connection], {
                'installation_address': self.new_address.id})
        connection = Connection(connection.id)
        if (connection.state == 'suspended'
                and connection.suspension_reason == 'relocation'):
            Connection.resume([connection], date)
        # The box and card at the new point: the head-end pairs and
        # entitles them again
        Connection.cas_resend([connection])

    def _complete_repair(self, date):
        pass

    def _complete_retrieval(self, date):
        pool = Pool()
        Lot = pool.get('stock.lot')
        connection = self.connection
        devices = (Lot.with_pairs([self.old_device]) if self.old_device
            else list(connection.devices))
        devices = [d for d in devices if d.connection == connection]
        if devices:
            connection.remove(devices, date)

    def _charge_fee(self, date):
        """Charge the fee as a one-time line of the connection for date,
        which the billing rates once; return it"""
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Line = pool.get('rsoft.subscription.line')
        if not self.fee or not self.chargeable or self.kind == 'retrieval':
            return None
        connection = Connection(self.connection.id)
        if connection.state != 'active':
            raise WorkOrderError(gettext(
                    'rsoft_workorder.msg_order_fee_inactive',
                    order=self.rec_name, connection=connection.rec_name,
                    state=connection.state_string))
        line, = Line.create([{
                    'connection': connection.id, 'product': self.fee.id,
                    'start_date': date, 'term': 1,
                    }])
        Line.activate([line])
        # A one-day line: charged once, and the next visit may be charged
        Line.stop([line], date + dt.timedelta(days=1))
        return line

    @classmethod
    @ModelView.button
    def fail(cls, orders, reason=None):
        """The visit failed (nobody home, no signal at the tap, ...): the
        order waits to be allocated again or cancelled"""
        if reason:
            cls.check_state(orders, {'allocated', 'started'},
                'rsoft_workorder.msg_action_fail')
            cls.write(list(orders), {'failure_reason': reason})
            orders = cls.browse(orders)
        for order in orders:
            if not (order.failure_reason or '').strip():
                raise WorkOrderError(gettext(
                        'rsoft_workorder.msg_order_no_failure_reason',
                        order=order.rec_name))
        for order in orders:
            cls._enter([order], 'failed', 'rsoft_workorder.msg_action_fail',
                order.failure_reason,
                failure_count=(order.failure_count or 0) + 1)

    @classmethod
    @ModelView.button
    def cancel(cls, orders):
        cls._enter(orders, 'cancelled', 'rsoft_workorder.msg_action_cancel')


class Connection(metaclass=PoolMeta):
    __name__ = 'rsoft.connection'

    work_orders = fields.One2Many(
        'rsoft.work_order', 'connection', "Work Orders", readonly=True)
    complaints = fields.One2Many(
        'rsoft.complaint', 'connection', "Complaints", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'work_orders', 'complaints'}

    @classmethod
    def terminate(cls, connections, date=None):
        "The boxes of a terminated connection are to be retrieved"
        super().terminate(connections, date)
        cls.create_retrieval_orders(cls.browse(connections))

    @classmethod
    def create_installation_orders(cls, connections, paid_at=None):
        """Create a draft installation order for each new connection
        without devices and without one, its clock running from paid_at;
        return them"""
        pool = Pool()
        WorkOrder = pool.get('rsoft.work_order')
        with without_check_access():
            ordered = {o.connection.id for o in WorkOrder.search([
                        ('connection', 'in', [c.id for c in connections]),
                        ('kind', '=', 'installation'),
                        ('state', '!=', 'cancelled'),
                        ])}
            return WorkOrder.create([{
                        'kind': 'installation',
                        'cause': 'new_connection',
                        'connection': c.id,
                        'company': c.subscriber.company.id,
                        'paid_at': paid_at,
                        } for c in dict.fromkeys(connections)
                    if c.state == 'draft' and not c.devices
                    and c.id not in ordered])

    @classmethod
    def create_retrieval_orders(cls, connections):
        """Create a draft retrieval order for each connection with devices
        and none open; return them"""
        pool = Pool()
        WorkOrder = pool.get('rsoft.work_order')
        with without_check_access():
            pending = {o.connection.id for o in WorkOrder.search([
                        ('connection', 'in', [c.id for c in connections]),
                        ('kind', '=', 'retrieval'),
                        ('state', 'in', list(OPEN_STATES)),
                        ])}
            return WorkOrder.create([{
                        'kind': 'retrieval',
                        'cause': 'termination',
                        'connection': c.id,
                        'company': c.subscriber.company.id,
                        'old_device': c.stb.id if c.stb else None,
                        } for c in connections
                    if c.devices and c.id not in pending])
