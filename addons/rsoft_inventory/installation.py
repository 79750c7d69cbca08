"Devices at subscribers' premises: installation, swap and removal"
import datetime

from dateutil.relativedelta import relativedelta

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .device import OWNERSHIPS
from .exceptions import InstallError, RecordedError, SwapError

# The offer kind billing rates for each ownership
OWNERSHIP_OFFERS = {
    'sold': 'stb_sale',
    'rented': 'stb_rental',
    'leased': 'stb_lease',
    }
TV_KINDS = {'primary_tv', 'second_tv'}


class Connection(metaclass=PoolMeta):
    __name__ = 'rsoft.connection'

    devices = fields.One2Many(
        'stock.lot', 'connection', "Devices", readonly=True,
        help="The set-top box and smart card installed at the connection.")
    stb = fields.Function(
        fields.Many2One('stock.lot', "STB"),
        'get_device', searcher='search_device')
    smartcard = fields.Function(
        fields.Many2One('stock.lot', "Smart Card"),
        'get_device', searcher='search_device')
    swaps = fields.One2Many(
        'rsoft.device.swap', 'connection', "Swaps", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Installation, swap and removal move the devices and log them
        cls._system_fields |= {'devices', 'swaps'}
        tv = Eval('kind').in_(list(TV_KINDS))
        cls._buttons.update({
                'install_devices': {
                    'invisible': (~tv | Eval('state').in_(
                            ['terminated', 'archived'])),
                    'icon': 'tryton-add',
                    'depends': ['kind', 'state'],
                    },
                'swap_device': {
                    'invisible': ~tv | ~Eval('devices'),
                    'icon': 'tryton-refresh',
                    'depends': ['kind', 'devices'],
                    },
                'remove_devices': {
                    'invisible': ~Eval('devices'),
                    'icon': 'tryton-undo',
                    'depends': ['devices'],
                    },
                })

    def get_device(self, name):
        kind = 'stb' if name == 'stb' else 'smartcard'
        for device in self.devices:
            if device.device_kind == kind:
                return device.id

    @classmethod
    def search_device(cls, name, clause):
        kind = 'stb' if name == 'stb' else 'smartcard'
        nested = clause[0][len(name):]
        return [('devices', 'where', [
                    ('product.template.rsoft_device_kind', '=', kind),
                    ('rec_name' if not nested else nested[1:],)
                    + tuple(clause[1:]),
                    ])]

    @classmethod
    @ModelView.button_action('rsoft_inventory.wizard_install')
    def install_devices(cls, connections):
        pass

    @classmethod
    @ModelView.button_action('rsoft_inventory.wizard_swap')
    def swap_device(cls, connections):
        pass

    @classmethod
    @ModelView.button
    def remove_devices(cls, connections, date=None):
        for connection in connections:
            connection.remove(connection.devices, date)

    # Entitlement needs devices in service

    @classmethod
    def activate(cls, connections, date=None):
        cls.check_devices(connections)
        super().activate(connections, date)

    @classmethod
    def resume(cls, connections, date=None):
        cls.check_devices(connections)
        super().resume(connections, date)

    @classmethod
    def check_devices(cls, connections):
        for connection in connections:
            for device in connection.devices:
                device.check_serviceable(
                    gettext('rsoft_inventory.msg_action_entitle'))

    # Installation

    def install(self, stb, card=None, ownership='sold', offer=None,
            deposit=None, lease_months=None, date=None):
        """Install stb (and its card) from the LCO's stock at the premises

        A card-based box needs a card: the one paired with it, or card,
        which is then paired. A rented or leased box needs its offer,
        added to the connection's subscriptions for billing."""
        self.install_many([{
                    'connection': self, 'stb': stb, 'card': card,
                    'ownership': ownership, 'offer': offer,
                    'deposit': deposit, 'lease_months': lease_months,
                    'date': date,
                    }])

    @classmethod
    def install_many(cls, installs):
        """Install many boxes at once, as install does for one

        Each install is a dict of the arguments of install and the
        connection: a field team's day or a migration moves together."""
        pool = Pool()
        Lot = pool.get('stock.lot')
        placements = []
        for install in installs:
            connection, stb = install['connection'], install['stb']
            date = install['date'] = Lot._date(install.get('date'))
            connection.check_installable(stb)
            connection.check_from_lco_stock(stb)
            card = connection._card_for(stb, install.get('card'))
            if card:
                connection.check_from_lco_stock(card)
            if card and not stb.paired_device:
                Lot.pair(stb, card, date)
            placements.extend((connection, d, date) for d in [stb, card] if d)
        devices = [d for _, d, _ in placements]
        if len(set(devices)) != len(devices):
            raise InstallError(gettext(
                    'rsoft_inventory.msg_install_twice'))
        cls._place(placements)
        cls._own(installs)

    def check_installable(self, stb):
        if self.kind not in TV_KINDS or self.state in {
                'terminated', 'archived'}:
            raise InstallError(gettext(
                    'rsoft_inventory.msg_install_connection',
                    connection=self.rec_name, state=self.state_string))
        if self.stb:
            raise InstallError(gettext(
                    'rsoft_inventory.msg_install_has_stb',
                    connection=self.rec_name, stb=self.stb.rec_name))
        if stb.device_kind != 'stb':
            raise InstallError(gettext(
                    'rsoft_inventory.msg_install_not_stb',
                    device=stb.rec_name))

    def _card_for(self, stb, card):
        if not stb.product.template.card_based:
            if card:
                raise InstallError(gettext(
                        'rsoft_inventory.msg_install_cardless',
                        stb=stb.rec_name))
            return None
        paired = stb.paired_device
        if paired and card and card != paired:
            raise InstallError(gettext(
                    'rsoft_inventory.msg_install_other_card',
                    stb=stb.rec_name, card=paired.rec_name))
        card = card or paired
        if not card:
            raise InstallError(gettext(
                    'rsoft_inventory.msg_install_needs_card',
                    stb=stb.rec_name))
        return card

    def check_from_lco_stock(self, device):
        "Check device is serviceable and in the stock of the connection's LCO"
        device.check_serviceable(gettext('rsoft_inventory.msg_action_install'))
        lco = self.subscriber.lco
        if (device.holder != lco
                or device.current_location != lco.stock_location
                or device.connection):
            raise InstallError(gettext(
                    'rsoft_inventory.msg_install_not_lco_stock',
                    device=device.rec_name, lco=lco.rec_name,
                    state=device.device_state_string,
                    holder=device.holder.rec_name if device.holder else '-'))

    @classmethod
    def _place(cls, placements):
        "Move each (connection, device, date) of placements to the premises"
        pool = Pool()
        Lot = pool.get('stock.lot')
        ModelData = pool.get('ir.model.data')
        Location = pool.get('stock.location')
        premises = Location(
            ModelData.get_id('rsoft_inventory', 'location_premises'))
        with without_check_access():
            Lot.write(*sum((([d], {'connection': c.id})
                        for c, d, _ in placements), ()))
        Lot.do_moves([Lot(d.id)._move(premises, date)
                for _, d, date in placements])

    @classmethod
    def _own(cls, installs):
        "Record who owns each box and add the offers billing rates"
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        lines = {}
        for install in installs:
            ownership, offer = install['ownership'], install.get('offer')
            if offer or ownership in {'rented', 'leased'}:
                install['connection'].check_ownership_offer(ownership, offer)
                lines[install['stb']] = Line(
                    connection=install['connection'], product=offer,
                    start_date=install['date'], term=1)
        with without_check_access():
            Line.save(list(lines.values()))
            Line.activate([line for line in lines.values()
                    if line.connection.state == 'active'])
        for install in installs:
            cls._log_ownership(install, lines.get(install['stb']))

    @classmethod
    def _log_ownership(cls, install, line):
        pool = Pool()
        Lot = pool.get('stock.lot')
        ownership, date = install['ownership'], install['date']
        lease_end = None
        if ownership == 'leased':
            lease_end = (date
                + relativedelta(months=install.get('lease_months') or 0)
                - datetime.timedelta(days=1))
        Lot._log(Lot.browse([install['stb']]), 'ownership', date,
            description=dict(OWNERSHIPS)[ownership],
            ownership=ownership, ownership_line=line.id if line else None,
            deposit=install.get('deposit') if ownership == 'leased' else None,
            lease_end_date=lease_end)

    def check_ownership_offer(self, ownership, offer):
        kind = OWNERSHIP_OFFERS[ownership]
        if not offer or offer.template.rsoft_kind != kind:
            raise InstallError(gettext(
                    'rsoft_inventory.msg_install_ownership_offer',
                    ownership=dict(OWNERSHIPS)[ownership],
                    offer=offer.rec_name if offer else '-'))

    # Removal and swap

    def remove(self, devices, date=None, state=None, stop_billing=True):
        """Bring devices back from the premises to the LCO's stock

        Their rental or lease stops the day they leave."""
        pool = Pool()
        Lot = pool.get('stock.lot')
        Line = pool.get('rsoft.subscription.line')
        date = Lot._date(date)
        devices = list(devices)
        lines = {d.ownership_line for d in devices if d.ownership_line}
        Lot.move_to(devices, self.subscriber.lco.stock_location, date)
        with without_check_access():
            Lot.write(Lot.browse(devices), {
                    'connection': None, 'ownership': None,
                    'ownership_line': None, 'deposit': None,
                    'lease_end_date': None,
                    })
            if stop_billing:
                Line.stop([line for line in lines
                        if line.state == 'active' and line.is_open(date)],
                    date)

    def swap(self, old, new, note=None, date=None):
        """Replace the faulty device old by new from the LCO's stock

        The customer ID, the connection, its subscriptions and the
        ownership stay; old goes back to the LCO's stock as faulty and new
        is paired in its place."""
        pool = Pool()
        Lot = pool.get('stock.lot')
        Swap = pool.get('rsoft.device.swap')
        date = Lot._date(date)
        self.check_swap(old, new)
        other = old.paired_device
        Lot.unpair([old], date)
        kept = {f: getattr(old, f) for f in [
                'ownership', 'deposit', 'lease_end_date']}
        line = old.ownership_line
        self.remove([old], date, stop_billing=False)
        old, = Lot.browse([old])
        Lot._log([old], 'swap_out', date, 'faulty', description=note,
            fault_note=note, event={
                'other_device': new.id, 'connection': self.id})
        self._place([(self, new, date)])
        new, = Lot.browse([new])
        Lot._log([new], 'swap_in', date, description=note,
            ownership_line=line.id if line else None, **kept,
            event={'other_device': old.id})
        if other:
            stb, card = (new, other) if new.device_kind == 'stb' else (
                other, new)
            Lot.pair(*Lot.browse([stb, card]), date=date)
        swap, = Swap.create([{
                    'connection': self.id, 'old_device': old.id,
                    'new_device': new.id, 'date': date, 'note': note,
                    'state': 'done',
                    }])
        return swap

    def check_swap(self, old, new):
        if old.connection != self:
            raise SwapError(gettext(
                    'rsoft_inventory.msg_swap_not_installed',
                    device=old.rec_name, connection=self.rec_name))
        if new.device_kind != old.device_kind:
            raise SwapError(gettext(
                    'rsoft_inventory.msg_swap_kind',
                    old=old.rec_name, new=new.rec_name))
        if new.paired_device:
            raise SwapError(gettext(
                    'rsoft_inventory.msg_swap_new_paired',
                    device=new.rec_name,
                    other=new.paired_device.rec_name))
        if (new.device_kind == 'stb'
                and old.paired_device
                and not new.product.template.card_based):
            raise SwapError(gettext(
                    'rsoft_inventory.msg_swap_cardless',
                    new=new.rec_name, card=old.paired_device.rec_name))
        self.check_from_lco_stock(new)


class Swap(SystemFieldsMixin, Workflow, ModelSQL, ModelView):
    "The replacement of a subscriber's box or card, which may be undone"
    __name__ = 'rsoft.device.swap'
    __string__ = "Device Swap"

    connection = fields.Many2One(
        'rsoft.connection', "Connection", required=True, readonly=True,
        ondelete='RESTRICT')
    old_device = fields.Many2One(
        'stock.lot', "Old Device", required=True, readonly=True,
        ondelete='RESTRICT', help="The device taken away as faulty.")
    new_device = fields.Many2One(
        'stock.lot', "New Device", required=True, readonly=True,
        ondelete='RESTRICT', help="The device installed in its place.")
    date = fields.Date("Date", required=True, readonly=True)
    note = fields.Char("Note", readonly=True)
    state = fields.Selection([
            ('done', "Done"),
            ('undone', "Undone"),
            ], "State", required=True, readonly=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.connection, Index.Equality())))
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls.__access__.add('connection')
        cls._system_fields |= {
            'connection', 'old_device', 'new_device', 'date', 'note', 'state'}
        cls._transitions |= {('done', 'undone')}
        cls._buttons.update({
                'undo': {
                    'invisible': Eval('state') != 'done',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'done'

    @classmethod
    def check_modification(cls, mode, swaps, values=None, external=False):
        super().check_modification(
            mode, swaps, values=values, external=external)
        # Only Connection.swap records a swap, with the moves it made
        if external and mode in {'create', 'delete'}:
            raise RecordedError(gettext('rsoft_inventory.msg_swap_by_action'))

    def get_rec_name(self, name):
        return (f'{self.old_device.rec_name} > {self.new_device.rec_name}'
            f' @ {self.connection.rec_name}')

    @classmethod
    @ModelView.button
    @Workflow.transition('undone')
    def undo(cls, swaps, date=None):
        "Put back the devices a mistaken swap exchanged"
        for swap in swaps:
            swap.revert(date)

    def revert(self, date=None):
        pool = Pool()
        Lot = pool.get('stock.lot')
        date = Lot._date(date)
        connection = self.connection
        old, new = self.old_device, self.new_device
        self.check_undo()
        other = new.paired_device
        Lot.unpair([new], date)
        kept = {f: getattr(new, f) for f in [
                'ownership', 'deposit', 'lease_end_date']}
        line = new.ownership_line
        connection.remove([new], date, stop_billing=False)
        Lot._log([old], 'undo_swap', date, 'allocated'
            if old.holder.role != 'mso' else 'in_stock',
            fault_note=None, event={'other_device': new.id})
        connection._place([(connection, old, date)])
        old, = Lot.browse([old])
        Lot._log([old], 'ownership', date,
            ownership_line=line.id if line else None, **kept,
            event={'other_device': new.id})
        if other:
            stb, card = (old, other) if old.device_kind == 'stb' else (
                other, old)
            Lot.pair(*Lot.browse([stb, card]), date=date)

    def check_undo(self):
        connection = self.connection
        old, new = self.old_device, self.new_device
        later = [s for s in connection.swaps
            if s.state == 'done' and s.id > self.id]
        lco = connection.subscriber.lco
        if (later or new.connection != connection
                or old.device_state != 'faulty'
                or old.current_location != lco.stock_location):
            raise SwapError(gettext(
                    'rsoft_inventory.msg_swap_undo',
                    swap=self.rec_name))


class InstallStart(ModelView):
    "What is installed at the connection, and who owns it"
    __name__ = 'rsoft.connection.install.start'
    __string__ = "Install Devices"

    connection = fields.Many2One(
        'rsoft.connection', "Connection", readonly=True)
    lco = fields.Many2One('rsoft.partner', "LCO", readonly=True)
    stb = fields.Many2One(
        'stock.lot', "STB", required=True,
        domain=[
            ('product.template.rsoft_device_kind', '=', 'stb'),
            ('holder', '=', Eval('lco', -1)),
            ('device_state', 'in', ['in_stock', 'allocated']),
            ('connection', '=', None),
            ],
        help="A box in the stock of the connection's LCO.")
    smartcard = fields.Many2One(
        'stock.lot', "Smart Card",
        domain=[
            ('product.template.rsoft_device_kind', '=', 'smartcard'),
            ('holder', '=', Eval('lco', -1)),
            ('device_state', 'in', ['in_stock', 'allocated']),
            ('connection', '=', None),
            ],
        help="Leave empty for a card-less box or a box already paired.")
    ownership = fields.Selection(
        [o for o in OWNERSHIPS if o[0]], "Ownership", required=True)
    offer = fields.Many2One(
        'product.product', "Hardware Offer",
        domain=[
            ('template.rsoft_kind', 'in', list(OWNERSHIP_OFFERS.values())),
            ('template.offer_state', '=', 'published'),
            ],
        states={
            'required': Eval('ownership').in_(['rented', 'leased']),
            },
        help="The sale, rental or lease offer billed for the box.")
    deposit = fields.Numeric(
        "Deposit", digits=(16, 2),
        states={
            'invisible': Eval('ownership') != 'leased',
            })
    lease_months = fields.Integer(
        "Lease Term", domain=[
            If(Eval('ownership') == 'leased',
                ('lease_months', '>', 0), ()),
            ],
        states={
            'invisible': Eval('ownership') != 'leased',
            'required': Eval('ownership') == 'leased',
            },
        help="In months.")
    date = fields.Date("Date", required=True)


class _ConnectionWizard(Wizard):
    "Starts on the connection, its LCO whose stock serves it, and today"

    def default_start(self, fields):
        pool = Pool()
        Date = pool.get('ir.date')
        return {
            'connection': self.record.id,
            'lco': self.record.subscriber.lco.id,
            'date': Date.today(),
            }


class Install(_ConnectionWizard):
    "Install a box and its card at a connection"
    __name__ = 'rsoft.connection.install'
    start = StateView(
        'rsoft.connection.install.start',
        'rsoft_inventory.install_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Install", 'install', 'tryton-ok', default=True),
            ])
    install = StateTransition()

    def default_start(self, fields):
        return {**super().default_start(fields), 'ownership': 'rented'}

    def transition_install(self):
        start = self.start
        self.record.install(
            start.stb, start.smartcard, start.ownership, start.offer,
            start.deposit, start.lease_months, start.date)
        return 'end'


class SwapStart(ModelView):
    "Which device leaves the premises, and which replaces it"
    __name__ = 'rsoft.connection.swap.start'
    __string__ = "Swap Device"

    connection = fields.Many2One(
        'rsoft.connection', "Connection", readonly=True)
    lco = fields.Many2One('rsoft.partner', "LCO", readonly=True)
    old_device = fields.Many2One(
        'stock.lot', "Faulty Device", required=True,
        domain=[('connection', '=', Eval('connection', -1))])
    new_device = fields.Many2One(
        'stock.lot', "Replacement", required=True,
        domain=[
            ('holder', '=', Eval('lco', -1)),
            ('device_state', 'in', ['in_stock', 'allocated']),
            ('connection', '=', None),
            ('paired_device', '=', None),
            ('id', '!=', Eval('old_device', -1)),
            ])
    note = fields.Char("Fault", help="What is wrong with the old device.")
    date = fields.Date("Date", required=True)


class SwapWizard(_ConnectionWizard):
    "Swap a faulty box or card at a connection"
    __name__ = 'rsoft.connection.swap'
    start = StateView(
        'rsoft.connection.swap.start',
        'rsoft_inventory.swap_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Swap", 'swap', 'tryton-ok', default=True),
            ])
    swap = StateTransition()

    def transition_swap(self):
        start = self.start
        self.record.swap(
            start.old_device, start.new_device, start.note, start.date)
        return 'end'
