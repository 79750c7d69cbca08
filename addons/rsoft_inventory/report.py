"Device stock positions and ageing, and their spreadsheets"
import datetime as dt

from sql import Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case
from sql.operators import And

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.rsoft_toolkit.guard import ReportQueryMixin
from trytond.modules.rsoft_toolkit.sheet import RecordSheet
from trytond.pool import Pool
from trytond.transaction import Transaction

from .device import STATES
from .product import DEVICE_KINDS

# The states of a device waiting at a partner to be installed
WAITING = ['in_stock', 'allocated']
# The age buckets, youngest first: field name and most days since arrival
AGES = [
    ('age_30', 30),
    ('age_60', 60),
    ('age_90', 90),
    ('age_180', 180),
    ('age_over_180', None),
    ]


class _DeviceGroupMixin:
    __slots__ = ()

    holder = fields.Many2One(
        'rsoft.partner', "Holder",
        help="The partner whose stock the devices are in; for installed "
        "devices the LCO of their subscribers.")
    product = fields.Many2One(
        'product.product', "Model",
        help="The set-top box model or smart card type.")
    device_kind = fields.Selection(DEVICE_KINDS, "Device Kind")

    @classmethod
    def _device_lots(cls):
        "Return the lot and template tables and the lots of device products"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        lot = Lot.__table__()
        product = Product.__table__()
        template = Template.__table__()
        tables = (lot
            .join(product, condition=lot.product == product.id)
            .join(template, condition=product.template == template.id))
        return lot, template, tables


class StockPosition(
        _DeviceGroupMixin, ReportQueryMixin, ModelSQL, ModelView):
    "The devices counted by model, holder and state"
    __name__ = 'rsoft.device.stock_position'
    __string__ = "Device Stock"

    device_state = fields.Selection(
        [(None, '')] + STATES, "Device State", sort=False)
    quantity = fields.Integer("Quantity", help="The number of devices.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('product', 'ASC'))
        cls._order.insert(0, ('holder', 'ASC'))

    @classmethod
    def table_query(cls):
        # Grouping the lots is beyond the ORM: count them in SQL
        lot, template, tables = cls._device_lots()
        group_by = [
            lot.holder, lot.product, template.rsoft_device_kind,
            lot.device_state]
        return tables.select(
            # The groups are disjoint: their smallest lot is a stable id
            Min(lot.id).as_('id'),
            lot.holder.as_('holder'),
            lot.product.as_('product'),
            template.rsoft_device_kind.as_('device_kind'),
            lot.device_state.as_('device_state'),
            Count().as_('quantity'),
            where=((template.rsoft_device_kind != Null)
                & (lot.device_state != Null)),
            group_by=group_by)


class AgeingContext(ModelView):
    "The day the ages of the devices in stock are counted to"
    __name__ = 'rsoft.device.ageing.context'
    __string__ = "Device Stock Ageing Context"

    date = fields.Date(
        "Date", required=True,
        help="The day the ages are counted to; devices that arrived "
        "later are left out.")

    @classmethod
    def default_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Date.today()


class Ageing(_DeviceGroupMixin, ReportQueryMixin, ModelSQL, ModelView):
    "How long the devices in stock have waited at each partner"
    __name__ = 'rsoft.device.ageing'
    __string__ = "Device Stock Ageing"

    age_30 = fields.Integer(
        "0-30 Days",
        help="The devices that arrived at most 30 days before the date.")
    age_60 = fields.Integer(
        "31-60 Days",
        help="The devices that arrived 31 to 60 days before the date.")
    age_90 = fields.Integer(
        "61-90 Days",
        help="The devices that arrived 61 to 90 days before the date.")
    age_180 = fields.Integer(
        "91-180 Days",
        help="The devices that arrived 91 to 180 days before the date.")
    age_over_180 = fields.Integer(
        "Over 180 Days",
        help="The devices that arrived more than 180 days before the date.")
    quantity = fields.Integer(
        "Total", help="The devices in stock or allocated at the holder.")
    oldest_date = fields.Date(
        "Oldest", help="The day the longest waiting device arrived.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('product', 'ASC'))
        cls._order.insert(0, ('holder', 'ASC'))

    @classmethod
    def get_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Transaction().context.get('date') or Date.today()

    @classmethod
    def table_query(cls):
        lot, template, tables = cls._device_lots()
        date = cls.get_date()
        group_by = [lot.holder, lot.product, template.rsoft_device_kind]
        return tables.select(
            # The groups are disjoint: their smallest lot is a stable id
            Min(lot.id).as_('id'),
            lot.holder.as_('holder'),
            lot.product.as_('product'),
            template.rsoft_device_kind.as_('device_kind'),
            *cls._age_columns(lot, date),
            Count().as_('quantity'),
            Min(lot.location_date).as_('oldest_date'),
            where=((template.rsoft_device_kind != Null)
                & lot.device_state.in_(WAITING)
                & (lot.location_date <= date)),
            group_by=group_by)

    @classmethod
    def _age_columns(cls, lot, date):
        """Yield the count of each age bucket

        Date arithmetic differs between databases: the buckets are bounded
        by dates computed here, which both compare alike."""
        younger = None
        for name, days in AGES:
            older = date - dt.timedelta(days=days) if days else None
            conditions = []
            if older:
                conditions.append(lot.location_date >= older)
            if younger:
                conditions.append(lot.location_date < younger)
            yield Sum(Case((And(conditions), 1), else_=0)).as_(name)
            younger = older


class StockPositionSheet(RecordSheet):
    __name__ = 'rsoft.device.stock_position.xlsx'
    columns = [
        ('holder', 30),
        ('product', 30),
        ('device_kind', 14),
        ('device_state', 14),
        ('quantity', 10),
        ]


class AgeingSheet(RecordSheet):
    __name__ = 'rsoft.device.ageing.xlsx'
    columns = [
        ('holder', 30),
        ('product', 30),
        ('device_kind', 14),
        ('age_30', 11),
        ('age_60', 11),
        ('age_90', 11),
        ('age_180', 11),
        ('age_over_180', 13),
        ('quantity', 10),
        ('oldest_date', 12),
        ]

    @classmethod
    def sheet_date(cls):
        pool = Pool()
        Ageing = pool.get('rsoft.device.ageing')
        return Ageing.get_date()


class FaultyDeviceSheet(RecordSheet):
    __name__ = 'rsoft.device.faulty.xlsx'
    columns = [
        ('number', 20),
        ('product', 30),
        ('device_state', 12),
        ('holder', 30),
        ('current_location', 25),
        ('location_date', 12),
        ('fault_note', 40),
        ]

    @classmethod
    def sheet_domain(cls):
        return [('device_state', 'in', ['faulty', 'repair'])]


class BlacklistedDeviceSheet(RecordSheet):
    __name__ = 'rsoft.device.blacklisted.xlsx'
    columns = [
        ('number', 20),
        ('device_kind', 14),
        ('product', 30),
        ('chip_id', 20),
        ('blacklist_reason', 14),
        ('blacklist_note', 40),
        ('holder', 30),
        ('current_location', 25),
        ('subscriber', 30),
        ]

    @classmethod
    def sheet_domain(cls):
        return [('device_state', '=', 'blacklisted')]

    @classmethod
    def sheet_table(cls, Model, records):
        columns, rows = super().sheet_table(Model, records)
        dates = cls._blacklist_dates(records)
        columns.append((
                gettext('rsoft_inventory.msg_device_sheet_blacklisted'),
                14, 'date'))
        for record, row in zip(records, rows):
            row.append(dates.get(record.id))
        return columns, rows

    @classmethod
    def _blacklist_dates(cls, devices):
        "Return the day each device was last blacklisted, by device id"
        pool = Pool()
        Event = pool.get('rsoft.device.event')
        events = Event.search([
                ('device', 'in', [d.id for d in devices]),
                ('action', '=', 'blacklist'),
                ], order=[('date', 'ASC'), ('id', 'ASC')])
        # The latest event of a device comes last and wins
        return {e.device.id: e.date for e in events}
