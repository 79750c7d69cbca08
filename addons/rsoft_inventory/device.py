"Set-top boxes and smart cards: stock lots with a state, a place and a pair"
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import Index, ModelView, Unique, fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import (
    BlacklistError,
    DeviceError,
    PairingError,
    TransferError,
)
from .product import DEVICE_KINDS

STATES = [
    ('in_stock', "In stock"),
    ('allocated', "Allocated"),
    ('installed', "Installed"),
    ('faulty', "Faulty"),
    ('repair', "In repair"),
    ('scrapped', "Scrapped"),
    ('blacklisted', "Blacklisted"),
    ]
OWNERSHIPS = [
    (None, ''),
    ('sold', "Sold"),
    ('rented', "Rented"),
    ('leased', "Leased"),
    ]
BLACKLIST_REASONS = [
    (None, ''),
    ('stolen', "Stolen"),
    ('cloned', "Cloned"),
    ('tampered', "Tampered"),
    ('lost', "Lost"),
    ('other', "Other"),
    ]
# The states in which a device may serve a subscriber
SERVICEABLE = {'in_stock', 'allocated', 'installed'}


class Lot(SystemFieldsMixin, metaclass=PoolMeta):
    __name__ = 'stock.lot'

    device_kind = fields.Function(
        fields.Selection(DEVICE_KINDS, "Device Kind"),
        'get_device_kind', searcher='search_device_kind')
    chip_id = fields.Char(
        "Chip ID", readonly=True, strip=True,
        help="The chip identifier the CAS addresses the device by.")
    mac_address = fields.Char("MAC Address", readonly=True)
    pairing_key = fields.Char(
        "Pairing Key", readonly=True,
        help="The vendor's key binding a box to its card, if any.")
    device_state = fields.Selection(
        [(None, '')] + STATES, "Device State", readonly=True, sort=False)
    device_state_string = device_state.translated('device_state')
    current_location = fields.Many2One(
        'stock.location', "Location", readonly=True, ondelete='RESTRICT',
        help="Where the last stock move put the device.")
    holder = fields.Many2One(
        'rsoft.partner', "Holder", readonly=True, ondelete='RESTRICT',
        help="The partner whose stock the device is in, or whose "
        "subscriber has it.")
    location_date = fields.Date(
        "Since", readonly=True,
        help="The day the device arrived where it is.")
    receipt_date = fields.Date(
        "Receipt Date", readonly=True,
        help="The day the device entered the operator's warehouse.")
    connection = fields.Many2One(
        'rsoft.connection', "Connection", readonly=True,
        ondelete='RESTRICT',
        help="The subscriber's connection the device is installed at.")
    subscriber = fields.Function(
        fields.Many2One('rsoft.subscriber', "Subscriber"),
        'get_subscriber', searcher='search_subscriber')
    paired_device = fields.Many2One(
        'stock.lot', "Paired With", readonly=True, ondelete='RESTRICT',
        help="The smart card of a box, or the box of a smart card.")
    ownership = fields.Selection(
        OWNERSHIPS, "Ownership", readonly=True,
        states={
            'invisible': ~Eval('connection'),
            })
    ownership_line = fields.Many2One(
        'rsoft.subscription.line', "Hardware Subscription", readonly=True,
        ondelete='RESTRICT',
        states={
            'invisible': ~Eval('ownership_line'),
            },
        help="The rental, lease or sale offer billed for the device.")
    deposit = fields.Numeric(
        "Deposit", digits=(16, 2), readonly=True,
        states={
            'invisible': Eval('ownership') != 'leased',
            })
    lease_end_date = fields.Date(
        "Lease End", readonly=True,
        states={
            'invisible': Eval('ownership') != 'leased',
            })
    fault_note = fields.Char(
        "Fault", readonly=True,
        states={
            'invisible': ~Eval('device_state').in_(['faulty', 'repair']),
            })
    blacklist_reason = fields.Selection(
        BLACKLIST_REASONS, "Blacklist Reason", readonly=True,
        states={
            'invisible': Eval('device_state') != 'blacklisted',
            })
    blacklist_note = fields.Char(
        "Blacklist Note", readonly=True,
        states={
            'invisible': Eval('device_state') != 'blacklisted',
            })
    device_events = fields.One2Many(
        'rsoft.device.event', 'device', "History", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Only receipts and the device's actions set these: a user writing
        # them would put a device somewhere no stock move took it, lift a
        # blacklist or change the address the CAS knows it by
        cls._system_fields |= {
            'number', 'product', 'chip_id', 'mac_address', 'pairing_key',
            'device_state', 'current_location', 'holder', 'location_date',
            'receipt_date', 'connection', 'paired_device', 'ownership',
            'ownership_line', 'deposit', 'lease_end_date', 'fault_note',
            'blacklist_reason', 'blacklist_note', 'device_events',
            }
        t = cls.__table__()
        cls._sql_constraints += [
            ('product_number_unique', Unique(t, t.product, t.number),
                'rsoft_inventory.msg_device_number_unique'),
            ('product_chip_id_unique', Unique(t, t.product, t.chip_id),
                'rsoft_inventory.msg_device_chip_id_unique'),
            ('mac_address_unique', Unique(t, t.mac_address),
                'rsoft_inventory.msg_device_mac_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.holder, Index.Equality()),
                    (t.device_state, Index.Equality())),
                Index(t, (t.chip_id, Index.Equality())),
                })
        cls._buttons.update({
                'declare_faulty': {
                    'invisible': ~Eval('device_state').in_(
                        ['in_stock', 'allocated']),
                    'icon': 'tryton-warning',
                    'depends': ['device_state'],
                    },
                'send_to_repair': {
                    'invisible': Eval('device_state') != 'faulty',
                    'icon': 'tryton-launch',
                    'depends': ['device_state'],
                    },
                'repaired': {
                    'invisible': Eval('device_state') != 'repair',
                    'icon': 'tryton-ok',
                    'depends': ['device_state'],
                    },
                'scrap': {
                    'invisible': ~Eval('device_state').in_(
                        ['faulty', 'repair', 'blacklisted']),
                    'icon': 'tryton-delete',
                    'depends': ['device_state'],
                    },
                'blacklist': {
                    'invisible': Eval('device_state').in_(
                        [None, 'blacklisted', 'scrapped']),
                    'icon': 'tryton-cancel',
                    'depends': ['device_state'],
                    },
                'pair_card': {
                    'invisible': (Eval('device_kind') != 'stb')
                    | Eval('paired_device')
                    | ~Eval('device_state').in_(list(SERVICEABLE)),
                    'icon': 'tryton-link',
                    'depends': ['device_kind', 'paired_device',
                        'device_state'],
                    },
                'unpair': {
                    'invisible': ~Eval('paired_device'),
                    'icon': 'tryton-unlink',
                    'depends': ['paired_device'],
                    },
                })

    def get_device_kind(self, name):
        return self.product.template.rsoft_device_kind

    @classmethod
    def search_device_kind(cls, name, clause):
        return [('product.template.rsoft_device_kind',) + tuple(clause[1:])]

    def get_subscriber(self, name):
        return self.connection.subscriber.id if self.connection else None

    @classmethod
    def search_subscriber(cls, name, clause):
        nested = clause[0][len(name):]
        return [('connection.subscriber' + nested,) + tuple(clause[1:])]

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('number', operator, operand, *extra),
            ('chip_id', operator, operand, *extra),
            ('mac_address', operator, operand, *extra),
            ]

    @classmethod
    def on_device_events(cls, events):
        """Called with each batch of device events just recorded

        The CAS module extends it to turn installations, swaps, pairings
        and blacklistings into head-end commands in the same
        transaction."""

    # Checks shared by every path a device can take

    def check_serviceable(self, action):
        "Refuse to allocate, install, pair or entitle a device out of service"
        if self.device_state == 'blacklisted':
            raise BlacklistError(gettext(
                    'rsoft_inventory.msg_device_blacklisted',
                    device=self.rec_name, action=action,
                    reason=self.blacklist_reason_string))
        if self.device_state not in SERVICEABLE:
            raise DeviceError(gettext(
                    'rsoft_inventory.msg_device_not_serviceable',
                    device=self.rec_name, action=action,
                    state=self.device_state_string))

    @property
    def blacklist_reason_string(self):
        reasons = dict(BLACKLIST_REASONS)
        text = reasons.get(self.blacklist_reason) or ''
        if self.blacklist_note:
            return f'{text}: {self.blacklist_note}'
        return text

    # Moves

    @classmethod
    def move_to(cls, devices, location, date=None, shipment=None):
        """Move devices to location with done stock moves and return them

        Where the device goes decides its state: see Move.do."""
        date = cls._date(date)
        return cls.do_moves([d._move(location, date, shipment)
                for d in devices])

    @classmethod
    def do_moves(cls, moves):
        "Save and do moves of devices, whoever the user is"
        pool = Pool()
        Move = pool.get('stock.move')
        with without_check_access():
            Move.save(moves)
            Move.do(moves)
        return moves

    def _move(self, location, date, shipment=None):
        pool = Pool()
        Move = pool.get('stock.move')
        company = self.holder.company if self.holder else None
        if not company:
            company = Transaction().context.get('company')
        move = Move(
            product=self.product, lot=self, quantity=1,
            unit=self.product.default_uom,
            from_location=self.current_location, to_location=location,
            planned_date=date, effective_date=date, company=company,
            shipment=shipment)
        if move.on_change_with_unit_price_required():
            move.unit_price = self.product.cost_price or 0
            move.currency = move.company.currency
        return move

    @classmethod
    def _date(cls, date=None):
        pool = Pool()
        Date = pool.get('ir.date')
        return date or Date.today()

    @classmethod
    def _log(cls, devices, action, date, state=None, description=None,
            event=None, per_device=None, **values):
        """Write values and state on devices and log action for each

        event holds more values of the events, per_device more values of
        the event of each device id."""
        pool = Pool()
        Event = pool.get('rsoft.device.event')
        events = [{
                'device': d.id,
                'action': action,
                'date': date,
                'before': d.device_state_string,
                'after': dict(STATES).get(state or d.device_state),
                'location': values.get('current_location',
                    d.current_location.id if d.current_location else None),
                'partner': values.get('holder',
                    d.holder.id if d.holder else None),
                'connection': values.get('connection',
                    d.connection.id if d.connection else None),
                'description': description,
                **(event or {}),
                **(per_device or {}).get(d.id, {}),
                } for d in devices]
        if state:
            values['device_state'] = state
        with without_check_access():
            if devices and values:
                cls.write(list(devices), values)
        return Event.record(events)

    # Pairing

    @classmethod
    def pair(cls, stb, card, date=None):
        "Pair a card-based box with a smart card of the same CAS"
        date = cls._date(date)
        stb.check_pairing(card)
        for device, other in [(stb, card), (card, stb)]:
            cls._log([device], 'pair', date, paired_device=other.id,
                event={'other_device': other.id})

    def check_pairing(self, card):
        stb = self
        stb.check_serviceable(gettext('rsoft_inventory.msg_action_pair'))
        card.check_serviceable(gettext('rsoft_inventory.msg_action_pair'))
        template = stb.product.template
        if stb.device_kind != 'stb' or card.device_kind != 'smartcard':
            raise PairingError(gettext(
                    'rsoft_inventory.msg_pair_kinds',
                    stb=stb.rec_name, card=card.rec_name))
        if not template.card_based:
            raise PairingError(gettext(
                    'rsoft_inventory.msg_pair_cardless', stb=stb.rec_name))
        for device in [stb, card]:
            if device.paired_device:
                raise PairingError(gettext(
                        'rsoft_inventory.msg_pair_already',
                        device=device.rec_name,
                        other=device.paired_device.rec_name))
        vendors = {template.cas_vendor, card.product.template.cas_vendor}
        if len(vendors - {None, ''}) > 1:
            raise PairingError(gettext(
                    'rsoft_inventory.msg_pair_cas',
                    stb=stb.rec_name, card=card.rec_name))
        if (stb.current_location != card.current_location
                or stb.connection != card.connection):
            raise PairingError(gettext(
                    'rsoft_inventory.msg_pair_location',
                    stb=stb.rec_name, card=card.rec_name))

    @classmethod
    @ModelView.button_action('rsoft_inventory.wizard_pair')
    def pair_card(cls, devices):
        pass

    @classmethod
    @ModelView.button
    def unpair(cls, devices, date=None):
        "De-pair devices from their partners"
        date = cls._date(date)
        pairs = {d for d in devices if d.paired_device}
        pairs |= {d.paired_device for d in pairs}
        for device in pairs:
            cls._log([device], 'unpair', date, paired_device=None,
                event={'other_device': device.paired_device.id})

    # Lifecycle outside the premises

    @classmethod
    @ModelView.button
    def declare_faulty(cls, devices, note=None, date=None):
        for device in devices:
            if device.device_state not in {'in_stock', 'allocated'}:
                raise DeviceError(gettext(
                        'rsoft_inventory.msg_faulty_state',
                        device=device.rec_name,
                        state=device.device_state_string))
        cls._log(devices, 'faulty', cls._date(date), 'faulty',
            description=note, fault_note=note)

    @classmethod
    @ModelView.button
    def send_to_repair(cls, devices, date=None):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Location = pool.get('stock.location')
        cls._check_state(devices, {'faulty'})
        repair = Location(
            ModelData.get_id('rsoft_inventory', 'location_repair'))
        cls.move_to(devices, repair, date)

    @classmethod
    @ModelView.button
    def repaired(cls, devices, date=None):
        "Bring repaired devices back to the stock of their MSO"
        cls._check_state(devices, {'repair'})
        by_mso = defaultdict(list)
        for device in devices:
            by_mso[device._mso()].append(device)
        for mso, mso_devices in by_mso.items():
            cls.move_to(mso_devices, mso.stock_location, date)

    def _mso(self):
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        mso = Partner.get_mso()
        if not mso:
            raise DeviceError(gettext('rsoft_inventory.msg_no_mso'))
        return mso

    @classmethod
    @ModelView.button
    def scrap(cls, devices, date=None):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Location = pool.get('stock.location')
        cls._check_state(devices, {'faulty', 'repair', 'blacklisted'})
        scrap = Location(
            ModelData.get_id('rsoft_inventory', 'location_scrap'))
        cls.move_to(devices, scrap, date)

    @classmethod
    def _check_state(cls, devices, states):
        for device in devices:
            if device.device_state not in states:
                raise DeviceError(gettext(
                        'rsoft_inventory.msg_device_wrong_state',
                        device=device.rec_name,
                        state=device.device_state_string))

    @classmethod
    @ModelView.button_action('rsoft_inventory.wizard_blacklist')
    def blacklist(cls, devices):
        pass

    @classmethod
    def do_blacklist(cls, devices, reason, note=None, date=None):
        """Refuse devices all service for ever

        The pair is broken: the other device stays in service."""
        date = cls._date(date)
        for device in devices:
            if device.device_state in {'blacklisted', 'scrapped'}:
                raise DeviceError(gettext(
                        'rsoft_inventory.msg_device_wrong_state',
                        device=device.rec_name,
                        state=device.device_state_string))
        cls.unpair(devices, date)
        text = dict(BLACKLIST_REASONS)[reason]
        cls._log(cls.browse(devices), 'blacklist', date, 'blacklisted',
            description=f'{text}: {note}' if note else text,
            blacklist_reason=reason, blacklist_note=note)


    # Distribution

    @classmethod
    def with_pairs(cls, devices):
        "Return devices with the devices paired to them: pairs travel together"
        devices = list(devices)
        seen = set(devices)
        for device in list(devices):
            if device.paired_device and device.paired_device not in seen:
                seen.add(device.paired_device)
                devices.append(device.paired_device)
        return devices

    @classmethod
    def transfer(cls, devices, partner, date=None):
        """Ship devices to partner with a done internal shipment

        Down the chain it is an allocation, up the chain a take-back;
        a box brings its paired card along."""
        pool = Pool()
        Shipment = pool.get('stock.shipment.internal')
        date = cls._date(date)
        devices = cls.with_pairs(devices)
        source = cls._check_transfer(devices, partner)
        if not partner.stock_location:
            partner.create_stock_locations([partner])
        shipment = Shipment(
            company=partner.company, from_location=source.stock_location,
            to_location=partner.stock_location, planned_date=date,
            planned_start_date=date,
            effective_date=date,
            reference=f'{source.code} > {partner.code}')
        shipment.moves = [d._move(partner.stock_location, date)
            for d in devices]
        with without_check_access():
            shipment.save()
            Shipment.wait([shipment])
            # _check_transfer found every device at the source: stock's
            # assign_try would only compare each move with every lot there
            Shipment.assign([shipment])
            Shipment.do([shipment])
        return shipment

    @classmethod
    def _check_transfer(cls, devices, partner):
        "Return the partner the devices leave, checking the way is allowed"
        holders = {d.holder for d in devices}
        if not devices or len(holders) != 1:
            raise TransferError(gettext(
                    'rsoft_inventory.msg_transfer_one_source'))
        source, = holders
        if not source:
            device = devices[0]
            raise TransferError(gettext(
                    'rsoft_inventory.msg_transfer_no_holder',
                    device=device.rec_name,
                    state=device.device_state_string,
                    location=device.current_location.rec_name
                    if device.current_location else '-'))
        if not (
                source.is_above(partner) or partner.is_above(source)):
            raise TransferError(gettext(
                    'rsoft_inventory.msg_transfer_chain',
                    source=source.rec_name,
                    target=partner.rec_name))
        for device in devices:
            if device.current_location != source.stock_location:
                raise TransferError(gettext(
                        'rsoft_inventory.msg_transfer_not_in_stock',
                        device=device.rec_name, partner=source.rec_name,
                        state=device.device_state_string))
            if source.is_above(partner):
                device.check_serviceable(
                    gettext('rsoft_inventory.msg_action_allocate'))
        return source

    @classmethod
    def search_serials(cls, partner, product=None, first=None, last=None,
            numbers=None):
        """Return the devices in partner's stock by serial range or list

        Numbers not found are returned too, so the user is told."""
        domain = [
            ('holder', '=', partner.id),
            ('current_location', '=', partner.stock_location.id
                if partner.stock_location else -1),
            ('product.template.rsoft_device_kind', '!=', None),
            ]
        if product:
            domain.append(('product', '=', product.id))
        if numbers:
            domain.append(('number', 'in', numbers))
        if first:
            domain.append(('number', '>=', first))
        if last:
            domain.append(('number', '<=', last))
        if first or last:
            # Serials compare as text: keep to those of the same length
            length = len(first or last)
            devices = [d for d in cls.search(domain, order=[('number', 'ASC')])
                if len(d.number) == length]
        else:
            devices = cls.search(domain, order=[('number', 'ASC')])
        missing = sorted(set(numbers or []) - {d.number for d in devices})
        return devices, missing


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    @classmethod
    def do(cls, moves):
        pool = Pool()
        Lot = pool.get('stock.lot')
        device_moves = [m for m in moves if m.lot and m.lot.device_kind]
        cls.check_device_moves(device_moves)
        super().do(moves)
        # Fresh lots: the moves may carry instances read before the change
        cls.place_devices(cls.browse(device_moves), Lot)

    @classmethod
    def check_device_moves(cls, moves):
        "Refuse the moves a device's state forbids, whatever the path"
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        partners = Partner.by_location(
            {m.to_location for m in moves} | {m.from_location for m in moves})
        for move in moves:
            move._check_device(
                partners.get(move.from_location),
                partners.get(move.to_location))

    def _check_device(self, source, target):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        device = self.lot
        state = device.device_state
        to_customer = self.to_location.type == 'customer'
        downward = bool(source and target and not target.is_above(source))
        to_scrap = self.to_location.id == ModelData.get_id(
            'rsoft_inventory', 'location_scrap')
        if state == 'scrapped' or (state == 'blacklisted' and not (
                    to_scrap or (source and target and not downward))):
            device.check_serviceable(
                gettext('rsoft_inventory.msg_action_move'))
        if to_customer or downward:
            device.check_serviceable(gettext(
                    'rsoft_inventory.msg_action_install' if to_customer
                    else 'rsoft_inventory.msg_action_allocate'))
        if to_customer and not device.connection:
            raise DeviceError(gettext(
                    'rsoft_inventory.msg_install_through_connection',
                    device=device.rec_name))

    @classmethod
    def place_devices(cls, moves, Lot):
        "Put each device where its move went and log why"
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        partners = Partner.by_location(
            {m.to_location for m in moves} | {m.from_location for m in moves})
        # Devices that went the same way are written at once: an
        # allocation may carry thousands
        groups = defaultdict(list)
        for move in moves:
            device = move.lot
            source = partners.get(move.from_location)
            target = partners.get(move.to_location)
            action, state = move._device_action(source, target)
            holder = target
            if move.to_location.type == 'customer' and device.connection:
                holder = device.connection.subscriber.lco
            key = (action, state, move.to_location, holder,
                move.effective_date)
            groups[key].append(move)
        for (action, state, location, holder, date), group in (
                groups.items()):
            Lot._log([m.lot for m in group], action, date, state,
                current_location=location.id,
                holder=holder.id if holder else None,
                location_date=date,
                per_device={m.lot.id: {'move': m.id} for m in group})

    def _device_action(self, source, target):
        "Return the action and the state of the device moved"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        device = self.lot
        to_id = self.to_location.id
        state = device.device_state
        if state == 'blacklisted':
            upward = source and target and target.is_above(source)
            return 'return' if upward else 'move', state
        if to_id == ModelData.get_id('rsoft_inventory', 'location_repair'):
            return 'repair', 'repair'
        if to_id == ModelData.get_id('rsoft_inventory', 'location_scrap'):
            return 'scrap', 'scrapped'
        if self.to_location.type == 'customer':
            return 'install', 'installed'
        if self.from_location.type == 'supplier':
            return 'receive', 'in_stock'
        if not target:
            return 'move', state
        if state == 'repair':
            return 'repaired', 'in_stock' if target.role == 'mso' else (
                'allocated')
        if state not in {'in_stock', 'allocated', 'installed'}:
            action = 'return' if source and target.is_above(source) else (
                'move')
            return action, state
        new_state = 'in_stock' if target.role == 'mso' else 'allocated'
        if self.from_location.type == 'customer':
            return 'uninstall', new_state
        if source and target.is_above(source):
            return 'return', new_state
        if source and source.is_above(target):
            return 'allocate', new_state
        return 'move', new_state


class BlacklistStart(ModelView):
    "Why the devices are refused service for ever"
    __name__ = 'rsoft.device.blacklist.start'
    __string__ = "Blacklist Devices"

    reason = fields.Selection(
        [r for r in BLACKLIST_REASONS if r[0]], "Reason", required=True)
    note = fields.Char(
        "Note", help="The police report, the case number, what was seen.")
    date = fields.Date("Date", required=True)

    @classmethod
    def default_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Date.today()


class Blacklist(Wizard):
    "Blacklist the selected devices"
    __name__ = 'rsoft.device.blacklist'
    start = StateView(
        'rsoft.device.blacklist.start',
        'rsoft_inventory.blacklist_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Blacklist", 'blacklist', 'tryton-ok', default=True),
            ])
    blacklist = StateTransition()

    def transition_blacklist(self):
        self.model.do_blacklist(
            self.records, self.start.reason, self.start.note,
            self.start.date)
        return 'end'


class PairStart(ModelView):
    "The smart card to pair with the box"
    __name__ = 'rsoft.device.pair.start'
    __string__ = "Pair Box and Card"

    stb = fields.Many2One('stock.lot', "STB", readonly=True)
    location = fields.Many2One('stock.location', "Location", readonly=True)
    smartcard = fields.Many2One(
        'stock.lot', "Smart Card", required=True,
        domain=[
            ('product.template.rsoft_device_kind', '=', 'smartcard'),
            ('current_location', '=', Eval('location', -1)),
            ('paired_device', '=', None),
            ],
        help="A card in the same place as the box, not yet paired.")


class Pair(Wizard):
    "Pair a box with a smart card"
    __name__ = 'rsoft.device.pair'
    start = StateView(
        'rsoft.device.pair.start',
        'rsoft_inventory.pair_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Pair", 'pair', 'tryton-ok', default=True),
            ])
    pair = StateTransition()

    def default_start(self, fields):
        return {
            'stb': self.record.id,
            'location': self.record.current_location.id
            if self.record.current_location else None,
            }

    def transition_pair(self):
        self.model.pair(self.record, self.start.smartcard)
        return 'end'
