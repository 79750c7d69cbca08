from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.transaction import without_check_access

ACTIONS = [
    ('receive', "Received"),
    ('allocate', "Allocated"),
    ('return', "Taken back"),
    ('move', "Moved"),
    ('install', "Installed"),
    ('uninstall', "Removed from premises"),
    ('pair', "Paired"),
    ('unpair', "De-paired"),
    ('swap_out', "Swapped out"),
    ('swap_in', "Swapped in"),
    ('undo_swap', "Swap undone"),
    ('faulty', "Declared faulty"),
    ('repair', "Sent to repair"),
    ('repaired', "Back from repair"),
    ('scrap', "Scrapped"),
    ('blacklist', "Blacklisted"),
    ('ownership', "Ownership"),
    ]
PAIRING_ACTIONS = {'pair', 'unpair'}


class Event(ModelSQL, ModelView):
    "The who, when and what of every change of a set-top box or smart card"
    __name__ = 'rsoft.device.event'
    __string__ = "Device Event"

    device = fields.Many2One(
        'stock.lot', "Device", required=True, readonly=True,
        ondelete='CASCADE')
    date = fields.Date(
        "Effective Date", required=True, readonly=True,
        help="The day from which the change applies.")
    action = fields.Selection(ACTIONS, "Action", required=True, readonly=True)
    action_string = action.translated('action')
    before = fields.Char(
        "Before", readonly=True, help="The device state before the change.")
    after = fields.Char(
        "After", readonly=True, help="The device state after the change.")
    location = fields.Many2One(
        'stock.location', "Location", readonly=True, ondelete='RESTRICT',
        help="Where the device is after the change.")
    partner = fields.Many2One(
        'rsoft.partner', "Partner", readonly=True, ondelete='RESTRICT',
        help="The partner holding the device after the change.")
    connection = fields.Many2One(
        'rsoft.connection', "Connection", readonly=True, ondelete='RESTRICT')
    other_device = fields.Many2One(
        'stock.lot', "Other Device", readonly=True, ondelete='RESTRICT',
        help="The device paired, de-paired or swapped with this one.")
    move = fields.Many2One(
        'stock.move', "Stock Move", readonly=True, ondelete='RESTRICT')
    description = fields.Text("Description", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.device, Index.Equality())))
        # Ids follow the order of the changes, even within one transaction
        cls._order = [('id', 'DESC')]
        cls.__access__.add('device')

    @classmethod
    def check_modification(cls, mode, events, values=None, external=False):
        super().check_modification(
            mode, events, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise AccessError(gettext(
                    'rsoft_inventory.msg_event_append_only'))

    @classmethod
    def record(cls, vlist):
        """Append events and tell the devices: nobody writes or deletes them

        Each value holds device and action and optionally date (today by
        default), before, after, location, partner, connection,
        other_device, move and description."""
        pool = Pool()
        Date = pool.get('ir.date')
        Lot = pool.get('stock.lot')
        if not vlist:
            return []
        today = Date.today()
        with without_check_access():
            events = cls.create([{'date': today, **v} for v in vlist])
        Lot.on_device_events(events)
        return events
