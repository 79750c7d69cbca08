"""The state each device should have in its CAS, and the commands that
carry every change of it

Changes anywhere in the SMS (subscriptions, account and connection
states, renewals, installations, swaps, pairings, blacklisting) only mark
the connections and devices they touch. Just before the transaction
commits, sync() computes the desired state of each marked device,
compares it with the state last commanded and writes the absolute
commands that bring the CAS there: the commands commit, or roll back,
with their cause."""
import datetime
import json
from zoneinfo import ZoneInfo

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.rsoft_subscriber.subscription import TV_OFFERS
from trytond.modules.rsoft_toolkit.bulk import BulkWriter
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .drivers import base

LIVE = {'active', 'suspended'}
# Commands of one aspect replace the pending ones of the same aspect
ASPECTS = {
    base.ENTITLE: 'entitle', base.REVOKE: 'entitle',
    base.PAIR: 'pair', base.UNPAIR: 'pair',
    base.SUSPEND: 'suspend', base.RESUME: 'suspend',
    }
PRIORITIES = [('express', "Express"), ('bulk', "Bulk")]
UTC = datetime.timezone.utc


def dumps(value):
    return json.dumps(value, sort_keys=True, separators=(',', ':'))


class _Marks:
    "What the transaction changed, for sync() at commit"

    def __init__(self):
        self.devices = set()
        self.connections = set()

    def __eq__(self, other):
        return isinstance(other, _Marks)

    def __hash__(self):
        return hash(_Marks)

    def pop(self):
        devices, connections = self.devices, self.connections
        self.devices, self.connections = set(), set()
        return devices, connections

    def tpc_begin(self, transaction):
        pass

    def commit(self, transaction):
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        CasDevice.sync()

    def tpc_vote(self, transaction):
        pass

    def tpc_finish(self, transaction):
        pass

    def tpc_abort(self, transaction):
        self.pop()


class Desired:
    "The state a device should have in its CAS"

    def __init__(self, products=(), paired_with='', suspended=False,
            blacklisted=False, missing=()):
        self.products = list(products)
        self.paired_with = paired_with or ''
        self.suspended = suspended
        self.blacklisted = blacklisted
        # Offers the CAS has no product ID for
        self.missing = list(missing)


class CasDevice(SystemFieldsMixin, ModelSQL, ModelView):
    "What the SMS last commanded a CAS for one card or card-less box"
    __name__ = 'rsoft.cas.device'
    __string__ = "CAS Device"

    system = fields.Many2One(
        'rsoft.cas.system', "CAS System", required=True, readonly=True,
        ondelete='RESTRICT')
    device = fields.Many2One(
        'stock.lot', "Device", required=True, readonly=True,
        ondelete='RESTRICT')
    address = fields.Char(
        "Address", required=True, readonly=True,
        help="The card number, or the chip ID of a card-less box.")
    connection = fields.Many2One(
        'rsoft.connection', "Connection", readonly=True, ondelete='SET NULL')
    products = fields.Text(
        "Products", readonly=True,
        help="The CAS products and their validity, as last commanded.")
    paired_with = fields.Char(
        "Paired With", readonly=True,
        help="The chip ID of the box the card works in.")
    suspended = fields.Boolean("Suspended", readonly=True)
    blacklisted = fields.Boolean("Blacklisted", readonly=True)
    expires = fields.Date(
        "Expires", readonly=True,
        help="The last day of the product that ends first: the day after, "
        "the device is commanded again.")
    expires_at = fields.DateTime(
        "Expires At", readonly=True,
        help="When the timed product (a PPV event, a rental) that ends "
        "first ends: the device is then commanded again.")
    sequence = fields.Integer(
        "Sequence", required=True, readonly=True,
        help="The sequence of the device's last command.")
    commands = fields.One2Many(
        'rsoft.cas.command', 'cas_device', "Commands", readonly=True)
    products_summary = fields.Function(
        fields.Char("Entitled"), 'get_products_summary')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The desired state is computed from the SMS, never typed in
        cls._system_fields |= {
            'system', 'device', 'address', 'connection', 'products',
            'paired_with', 'suspended', 'blacklisted', 'expires',
            'expires_at', 'sequence', 'commands'}
        t = cls.__table__()
        cls._sql_constraints += [
            ('address_unique', Unique(t, t.system, t.address),
                'rsoft_cas.msg_device_address_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.device, Index.Equality())),
                Index(t, (t.connection, Index.Equality())),
                Index(t, (t.paired_with, Index.Equality())),
                Index(t, (t.expires, Index.Range())),
                Index(t, (t.expires_at, Index.Range())),
                })
        cls._buttons.update({
                'resend': {'icon': 'tryton-refresh'},
                'reset_pin': {'icon': 'tryton-launch'},
                'refresh': {'icon': 'tryton-launch'},
                })

    @staticmethod
    def default_sequence():
        return 0

    def get_rec_name(self, name):
        return f'{self.system.code}:{self.address}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('address',) + tuple(clause[1:])]

    def get_products_summary(self, name):
        products = json.loads(self.products or '[]')
        return ', '.join(
            f"{p['id']} ({p['start']}–{p['end'] or '…'})" for p in products)

    # Marking

    @classmethod
    def mark(cls, devices=(), connections=()):
        "Have sync() look at devices and connections (ids) before commit"
        marks = Transaction().join(_Marks())
        marks.devices.update(int(d) for d in devices if d)
        marks.connections.update(int(c) for c in connections if c)

    @classmethod
    def sync(cls, priority=None):
        """Write the commands for what was marked in this transaction

        Called by the transaction at commit; callers that do not commit
        (tests) call it themselves. Return the commands written."""
        pool = Pool()
        Lot = pool.get('stock.lot')
        Connection = pool.get('rsoft.connection')
        devices, connections = Transaction().join(_Marks()).pop()
        if not devices and not connections:
            return []
        with without_check_access():
            lots = set(Lot.browse(devices))
            for connection in Connection.browse(connections):
                lots.update(connection.devices)
            return cls.command(cls._targets(lots), priority=priority)

    @classmethod
    def _targets(cls, lots):
        """Return the devices that carry a CAS state among lots

        A card-based box carries none: its card does, and the cards it
        was or is paired with are looked at in its place."""
        targets = set()
        boxes = []
        for lot in lots:
            template = lot.product.template
            if not template.cas_system:
                continue
            if lot.device_kind == 'stb' and template.card_based:
                boxes.append(lot)
                if lot.paired_device:
                    targets.add(lot.paired_device)
            elif lot.device_kind in {'stb', 'smartcard'}:
                targets.add(lot)
        if boxes:
            targets.update(d.device for d in cls.search([
                        ('paired_with', 'in',
                            [cls.address_of(b) for b in boxes]),
                        ]))
        return targets

    @staticmethod
    def address_of(lot):
        if lot.device_kind == 'stb':
            return lot.chip_id or lot.number
        return lot.number

    # Desired state

    @classmethod
    def now(cls):
        """Return the time timed products are compared with (naive UTC, to
        the second)"""
        return datetime.datetime.now(UTC).replace(
            tzinfo=None, microsecond=0)

    @classmethod
    def desired(cls, lot, system, date, now=None):
        """Return the Desired state of lot in system at date (the
        company's day) and now (UTC, cls.now() by default)"""
        connection = lot.connection
        if not connection or connection.state not in LIVE:
            connection = None
        blacklisted = lot.device_state == 'blacklisted'
        paired_with = ''
        if lot.device_kind == 'smartcard' and lot.paired_device:
            paired_with = cls.address_of(lot.paired_device)
        if blacklisted or not connection:
            return Desired(paired_with=paired_with, blacklisted=blacklisted)
        products, missing = cls._products(
            system, connection, date, now or cls.now())
        suspended = (connection.state == 'suspended'
            or connection.subscriber.state == 'suspended')
        return Desired(products, paired_with, suspended, missing=missing)

    @classmethod
    def _products(cls, system, connection, date, now):
        """Return the CAS products the lines of connection entitle from
        date (timed ones from now) on, merged by product ID, and the
        offers with no mapping"""
        subscriber = connection.subscriber
        company = subscriber.company
        zone = ZoneInfo(company.timezone) if company.timezone else UTC
        paid_until = None
        if getattr(subscriber, 'billing_mode', None) == 'prepaid':
            # The CAS stops the service by itself at the end of what the
            # wallet paid, even if the SMS cannot reach it then
            paid_until = subscriber.billed_until
        products, missing = {}, []
        for line in connection.lines:
            if (line.state not in {'active', 'ended'}
                    or line.product.template.rsoft_kind not in TV_OFFERS):
                continue
            window = cls._line_window(line)
            cap = cls._line_paid_until(line, paid_until)
            if window:
                start, end = window
                if cap:
                    end = min(end, _instant(cap, zone, end=True))
                if end <= max(start, now):
                    continue
            else:
                start, end = line.start_date, line.end_date
                if cap and (not end or end > cap):
                    end = cap
                if (end and end < date) or (end and end < start):
                    continue
            ids = system.product_ids(line.product)
            if ids is None:
                missing.append(line.product.rec_name)
                continue
            for id_ in ids:
                products[id_] = _cover(products.get(id_), (start, end), zone)
        return [base.Product(i, s, e).as_dict()
            for i, (s, e) in sorted(products.items())], missing

    @classmethod
    def _line_paid_until(cls, line, paid_until):
        """Return the last day line is entitled to as paid, from the
        account's paid_until (None: no cap)

        Modules whose lines are paid otherwise than by the account's
        renewals (a voucher's days) override it to entitle them for
        their own days."""
        return paid_until

    @classmethod
    def _line_window(cls, line):
        """Return the (start, end) datetimes (naive UTC) line entitles
        between, or None to entitle its days

        Modules selling timed entitlements (a PPV event, a rental)
        override it: the CAS is then commanded for that window."""
        return None

    # Commands

    @classmethod
    def command(cls, lots, priority=None, full=False):
        """Write the commands bringing each CAS to the desired state of
        lots; full: the whole state, even what did not change"""
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        priority = priority or Transaction().context.get(
            'cas_priority', 'express')
        lots = sorted(lots, key=lambda lot: lot.id)
        existing = {(d.system.id, d.address): d for d in cls.search([
                    ('device', 'in', [lot.id for lot in lots]),
                    ])} if lots else {}
        plans = []
        for lot in lots:
            system = lot.product.template.cas_system
            address = cls.address_of(lot)
            record = existing.get((system.id, address))
            if record is None:
                record = cls(system=system, device=lot, address=address,
                    sequence=0, products='[]', paired_with='',
                    suspended=False, blacklisted=False, connection=None)
            desired = cls.desired(lot, system, today)
            actions = record._diff(desired, full)
            start = record.sequence
            record.sequence += len(actions)
            record._apply(desired, lot)
            plans.append((record, actions, desired, start))
        if not plans:
            return []
        cls.save([plan[0] for plan in plans])
        return cls._write_commands(plans, priority)

    def _diff(self, desired, full=False):
        "Return the (action, payload) pairs from the last state to desired"
        actions = []
        old_products = json.loads(self.products or '[]')
        if desired.blacklisted and (full or not self.blacklisted):
            actions.append((base.BLACKLIST, {
                        'reason': self.device.blacklist_reason_string}))
        if full or desired.paired_with != (self.paired_with or ''):
            if self.paired_with and self.paired_with != desired.paired_with:
                actions.append((base.UNPAIR, {
                            'stb': self.paired_with, 'card': self.address}))
            if desired.paired_with:
                actions.append((base.PAIR, {
                            'stb': desired.paired_with,
                            'card': self.address}))
        if not desired.suspended and (full or self.suspended):
            actions.append((base.RESUME, {}))
        paired_changed = desired.paired_with != (self.paired_with or '')
        if (full or desired.products != old_products
                or (paired_changed and desired.products)
                or desired.missing):
            if desired.products or desired.missing:
                payload = {'products': desired.products}
                if desired.paired_with:
                    payload['stb'] = desired.paired_with
                actions.append((base.ENTITLE, payload))
            elif old_products or full:
                actions.append((base.REVOKE, {}))
        if desired.suspended and (full or not self.suspended):
            actions.append((base.SUSPEND, {}))
        return actions

    def _apply(self, desired, lot):
        self.products = dumps(desired.products)
        ends = [base.Product.from_dict(p).end for p in desired.products]
        days = [e for e in ends
            if e and not isinstance(e, datetime.datetime)]
        times = [e for e in ends if isinstance(e, datetime.datetime)]
        self.expires = min(days) if days else None
        self.expires_at = min(times) if times else None
        self.paired_with = desired.paired_with
        self.suspended = desired.suspended
        self.blacklisted = desired.blacklisted
        connection = lot.connection
        if self.connection != connection:
            self.connection = connection

    @classmethod
    def _write_commands(cls, plans, priority):
        pool = Pool()
        Command = pool.get('rsoft.cas.command')
        writer = BulkWriter()
        now = datetime.datetime.now()
        rows, superseded = [], []
        for record, actions, desired, sequence in plans:
            system = record.system
            for action, payload in actions:
                sequence += 1
                row = Command.row(system, action, payload, now, priority,
                    address=record.address, sequence=sequence,
                    cas_device=record.id,
                    connection=(record.connection.id
                        if record.connection else None))
                if action == base.ENTITLE and desired.missing:
                    row['state'] = 'failed'
                    row['error'] = gettext(
                        'rsoft_cas.msg_unmapped_offers',
                        offers=', '.join(desired.missing),
                        system=system.rec_name)
                rows.append(row)
                if action in ASPECTS:
                    superseded.append((record.id, ASPECTS[action]))
        Command.supersede(superseded, writer)
        return Command.enqueue(rows, writer)

    @classmethod
    def expire(cls):
        """Cron: command again the devices whose products ended: a day
        product yesterday, a timed one by now"""
        pool = Pool()
        Date = pool.get('ir.date')
        records = cls.search(['OR',
                ('expires', '<', Date.today()),
                ('expires_at', '<=', cls.now()),
                ])
        cls.command([r.device for r in records], priority='bulk')

    @classmethod
    @ModelView.button
    def resend(cls, records):
        "Send again the whole state of the devices, as the SMS sees it"
        cls.command([r.device for r in records], full=True)

    @classmethod
    @ModelView.button
    def reset_pin(cls, records):
        "Put the parental PIN back to the CAS's default"
        cls._send(records, base.RESET_PIN)

    @classmethod
    @ModelView.button
    def refresh(cls, records):
        "Have the CAS broadcast again what the device holds"
        cls._send(records, base.REFRESH)

    @classmethod
    def _send(cls, records, action):
        pool = Pool()
        Command = pool.get('rsoft.cas.command')
        now = datetime.datetime.now()
        rows = []
        for record in records:
            record.sequence += 1
            rows.append(Command.row(record.system, action, {}, now,
                    'express', address=record.address,
                    sequence=record.sequence, cas_device=record.id,
                    connection=(record.connection.id
                        if record.connection else None)))
        cls.save(records)
        return Command.enqueue(rows)


class Lot(metaclass=PoolMeta):
    __name__ = 'stock.lot'

    cas_devices = fields.One2Many(
        'rsoft.cas.device', 'device', "CAS State", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'cas_devices'}

    @classmethod
    def on_device_events(cls, events):
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        super().on_device_events(events)
        CasDevice.mark(devices={e.device.id for e in events}
            | {e.other_device.id for e in events if e.other_device})


class SubscriberEvent(metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber.event'

    @classmethod
    def record(cls, vlist):
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Connection = pool.get('rsoft.connection')
        events = super().record(vlist)
        connections = {e.connection.id for e in events if e.connection}
        accounts = {e.subscriber.id for e in events if not e.connection}
        if accounts:
            with without_check_access():
                connections.update(c.id for c in Connection.search([
                            ('subscriber', 'in', list(accounts)),
                            ]))
        CasDevice.mark(connections=connections)
        return events


class Subscriber(metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber'

    @classmethod
    def write(cls, *args):
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Connection = pool.get('rsoft.connection')
        renewed = []
        for records, values in zip(args[::2], args[1::2]):
            # A renewal moves the end of a prepaid entitlement
            if 'billed_until' in values:
                renewed.extend(r.id for r in records
                    if r.billing_mode == 'prepaid')
        super().write(*args)
        if renewed:
            with without_check_access():
                CasDevice.mark(connections=[c.id for c in Connection.search(
                            [('subscriber', 'in', renewed)])])


class Connection(metaclass=PoolMeta):
    __name__ = 'rsoft.connection'

    cas_devices = fields.One2Many(
        'rsoft.cas.device', 'connection', "CAS State", readonly=True,
        help="What the SMS last commanded the head-end for the "
        "connection's devices.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'cas_devices'}
        cls._buttons.update({
                'cas_resend': {
                    'invisible': ~Eval('state').in_(
                        ['active', 'suspended', 'terminated']),
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                })

    @classmethod
    @ModelView.button
    def cas_resend(cls, connections):
        "Send the head-end the whole state of the connections' devices"
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        with without_check_access():
            lots = set()
            for connection in connections:
                lots.update(connection.devices)
            CasDevice.command(CasDevice._targets(lots), full=True)


def _instant(value, zone, end=False):
    """Return the time (naive UTC) a start or end of a product stands for

    A day starts at midnight in zone and an end day is included: its end
    is the next midnight. No end is the end of time."""
    if value is None:
        return datetime.datetime.max
    if isinstance(value, datetime.datetime):
        return value
    if end:
        value += datetime.timedelta(days=1)
    midnight = datetime.datetime.combine(value, datetime.time(), zone)
    return midnight.astimezone(UTC).replace(tzinfo=None)


def _cover(old, new, zone):
    """Return the widest cover of the (start, end) ranges old and new of
    one CAS product

    Dates stay dates when they bound the cover (a tie goes to the day);
    once a time bounds it, both ends are times, a day converted in zone."""
    if old is None:
        return new
    start = min(old[0], new[0], key=lambda v: (
            _instant(v, zone), isinstance(v, datetime.datetime)))
    end = max(old[1], new[1], key=lambda v: (
            _instant(v, zone, end=True),
            not isinstance(v, datetime.datetime)))
    if any(isinstance(v, datetime.datetime) for v in (start, end)):
        start = _instant(start, zone)
        if end is not None:
            end = _instant(end, zone, end=True)
    return start, end


def notify_dispatchers():
    "Wake the dispatchers when the transaction commits (PostgreSQL)"
    if backend.name == 'postgresql':
        cursor = Transaction().connection.cursor()
        cursor.execute('NOTIFY rsoft_cas')
