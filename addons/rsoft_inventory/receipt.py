"Receipt of devices from a vendor's production file, all or nothing"
import re
from collections import defaultdict

from sql.operators import Any, In

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.rsoft_toolkit import reader
from trytond.modules.rsoft_toolkit.bulk import BulkWriter
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .device import STATES as DEVICE_STATES
from .exceptions import ReceiptError, RecordedError
from .product import normalize_mac

# The names vendors give the columns, as the reader compares them; the
# first names the column in errors
COLUMNS = {
    'serial': ('serial', 'serial number', 'serial no', 'stb serial',
        'stb serial number', 'box serial'),
    'chip_id': ('chip id', 'chipid', 'chip', 'chip number'),
    'card_number': ('card number', 'card no', 'card', 'smart card',
        'smartcard', 'smart card number', 'vc', 'vc number'),
    'mac': ('mac', 'mac address'),
    'pairing_key': ('pairing key', 'pairing', 'pair key'),
    }
STATES = [
    ('draft', "Draft"),
    ('refused', "Refused"),
    ('done', "Done"),
    ]


class Receipt(SystemFieldsMixin, ModelSQL, ModelView):
    "Devices received from a vendor, with the file that lists them"
    __name__ = 'rsoft.device.receipt'
    __string__ = "Device Receipt"
    _rec_name = 'reference'

    reference = fields.Char(
        "Reference", required=True,
        states={'readonly': Eval('state') == 'done'},
        help="The vendor's delivery note or invoice number.")
    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={'readonly': Eval('state') == 'done'})
    vendor = fields.Many2One(
        'party.party', "Vendor", required=True,
        context={'company': Eval('company', -1)}, depends={'company'},
        states={'readonly': Eval('state') == 'done'})
    date = fields.Date(
        "Date", required=True,
        states={'readonly': Eval('state') == 'done'})
    partner = fields.Many2One(
        'rsoft.partner', "Received By", required=True,
        domain=[('company', '=', Eval('company', -1))],
        states={'readonly': Eval('state') == 'done'},
        help="The partner whose stock the devices enter, usually the MSO.")
    stb_product = fields.Many2One(
        'product.product', "STB Model",
        domain=[('template.rsoft_device_kind', '=', 'stb')],
        context={'company': Eval('company', -1)}, depends={'company'},
        states={'readonly': Eval('state') == 'done'},
        help="The box model of the file's serials.")
    card_product = fields.Many2One(
        'product.product', "Smart Card Type",
        domain=[('template.rsoft_device_kind', '=', 'smartcard')],
        context={'company': Eval('company', -1)}, depends={'company'},
        states={'readonly': Eval('state') == 'done'},
        help="The card type of the file's card numbers; with a box model "
        "too, each box is paired with the card of its row.")
    file = fields.Binary(
        "File", filename='file_name',
        states={
            'readonly': Eval('state') == 'done',
            'required': Eval('state') != 'draft',
            },
        help="The vendor's production file, CSV or XLSX, with a header "
        "row: serial, chip ID, card number, MAC, pairing key.")
    file_name = fields.Char("File Name", readonly=True)
    row_count = fields.Integer("Rows", readonly=True)
    device_count = fields.Integer("Devices", readonly=True)
    errors = fields.One2Many(
        'rsoft.device.receipt.error', 'receipt', "Refused Rows",
        readonly=True)
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'row_count', 'device_count', 'errors', 'state'}
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._buttons.update({
                'receive': {
                    'invisible': Eval('state') == 'done',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Date.today()

    @classmethod
    def default_partner(cls):
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        mso = Partner.get_mso()
        return mso.id if mso else None

    @classmethod
    def check_modification(cls, mode, receipts, values=None, external=False):
        super().check_modification(
            mode, receipts, values=values, external=external)
        if mode == 'write' and external:
            for receipt in receipts:
                if receipt.state == 'done':
                    raise RecordedError(gettext(
                            'rsoft_inventory.msg_receipt_done_write',
                            receipt=receipt.rec_name))
        if mode == 'delete':
            for receipt in receipts:
                if receipt.state == 'done':
                    raise ReceiptError(gettext(
                            'rsoft_inventory.msg_receipt_delete_done',
                            receipt=receipt.rec_name))

    @classmethod
    @ModelView.button
    def receive(cls, receipts):
        """Check every row of each file; receive all devices or none

        A refused file keeps its report of the rows to fix."""
        pool = Pool()
        Error = pool.get('rsoft.device.receipt.error')
        Error.delete([e for r in receipts for e in r.errors])
        for receipt in receipts:
            rows = receipt.read_rows()
            errors = receipt.check_rows(rows)
            if errors:
                Error.create([{'receipt': receipt.id, **e} for e in errors])
                cls.write([receipt], {
                        'state': 'refused', 'row_count': len(rows),
                        'device_count': 0,
                        })
            else:
                count = receipt.apply(rows)
                cls.write([receipt], {
                        'state': 'done', 'row_count': len(rows),
                        'device_count': count,
                        })

    # Reading

    def read_rows(self):
        """Return the rows of the file as dicts keyed by COLUMNS, with their
        line (row) and their position (index)"""
        if not self.file:
            raise ReceiptError(gettext(
                    'rsoft_inventory.msg_receipt_no_file',
                    receipt=self.rec_name))
        rows = reader.read_rows(
            bytes(self.file), COLUMNS, self.file_name or self.rec_name)
        return [{'row': line, 'index': index, **values}
            for index, (line, values) in enumerate(rows)]

    # Checking

    def check_rows(self, rows):
        "Return the errors of rows: format, duplicates in file and database"
        self.check_products()
        formats = _Formats(self.stb_product, self.card_product)
        errors = []
        for row in rows:
            errors.extend(formats.row_errors(row))
        errors.extend(self._file_duplicates(rows, formats))
        errors.extend(self._database_duplicates(rows, formats))
        return sorted(errors, key=lambda e: (e['row'], e['column']))

    def check_products(self):
        stb, card = self.stb_product, self.card_product
        if not stb and not card:
            raise ReceiptError(gettext(
                    'rsoft_inventory.msg_receipt_no_product',
                    receipt=self.rec_name))
        if stb and card and not stb.template.card_based:
            raise ReceiptError(gettext(
                    'rsoft_inventory.msg_receipt_cardless_pair',
                    receipt=self.rec_name, stb=stb.rec_name))

    def _file_duplicates(self, rows, formats):
        first = {}
        for row in rows:
            for key, value in formats.keys(row).items():
                seen = first.setdefault((key, value), row['row'])
                if seen != row['row']:
                    yield _error(row, key[0], gettext(
                            'rsoft_inventory.msg_receipt_duplicate_file',
                            value=value, row=seen))

    def _database_duplicates(self, rows, formats):
        pool = Pool()
        Lot = pool.get('stock.lot')
        lot = Lot.__table__()
        cursor = Transaction().connection.cursor()
        fields_ = {'serial': lot.number, 'card_number': lot.number,
            'chip_id': lot.chip_id, 'mac': lot.mac_address}
        wanted = defaultdict(dict)
        for row in rows:
            for key, value in formats.keys(row).items():
                wanted[key].setdefault(value, row)
        for (column, product_id), values in wanted.items():
            field = fields_[column]
            for where in _within(field, list(values)):
                if product_id:
                    where &= lot.product == product_id
                cursor.execute(*lot.select(field, where=where))
                for value, in cursor:
                    yield _error(values[value], column, gettext(
                            'rsoft_inventory.msg_receipt_duplicate_database',
                            value=value))

    # Applying

    def apply(self, rows):
        """Create the devices of rows in the partner's stock

        The ORM would take many minutes for a production file of 100,000
        rows: the rows are checked, so they are written in bulk, each
        device with its receipt move and its events."""
        pool = Pool()
        Lot = pool.get('stock.lot')
        Move = pool.get('stock.move')
        Event = pool.get('rsoft.device.event')
        location = self.partner.stock_location
        if not location:
            self.partner.create_stock_locations([self.partner])
            location = self.partner.stock_location
        formats = _Formats(self.stb_product, self.card_product)
        writer = BulkWriter()
        products = [(p, number) for p, number in [
                (self.card_product, formats.card_number),
                (self.stb_product, lambda r: r['serial']),
                ] if p]
        # One allocation: on SQLite ids are counted from the largest one
        lot_ids = writer.allocate(Lot, len(rows) * len(products))
        ids = {p: lot_ids[i * len(rows):(i + 1) * len(rows)]
            for i, (p, _) in enumerate(products)}
        move_ids = iter(writer.allocate(Move, len(rows) * len(products)))
        # Values common to all rows are read once: a 100,000-row file
        # would otherwise browse the receipt a million times
        lot_common = self._lot_values(location)
        event_common = self._event_values(location)
        lots, moves, events = [], [], []
        for product, number in products:
            other = self.stb_product if product == self.card_product else (
                self.card_product)
            own = product.id == formats.chip_product_id
            move_common = self._move_values(product, location)
            for row, lot_id in zip(rows, ids[product]):
                paired = ids[other][row['index']] if other else None
                move_id = next(move_ids)
                lots.append({**lot_common,
                        'id': lot_id, 'number': number(row),
                        'product': product.id,
                        'chip_id': (row.get('chip_id') or None)
                        if own else None,
                        'mac_address': formats.mac(row) if own else None,
                        'pairing_key': row.get('pairing_key') or None,
                        'paired_device': paired,
                        })
                moves.append({**move_common, 'id': move_id, 'lot': lot_id})
                events.append({**event_common, 'device': lot_id,
                        'action': 'receive', 'move': move_id,
                        'other_device': None})
                if paired:
                    events.append({**event_common, 'device': lot_id,
                            'action': 'pair', 'move': None,
                            'other_device': paired})
        for event, event_id in zip(
                events, writer.allocate(Event, len(events))):
            event['id'] = event_id
        writer.insert(Lot, lots)
        writer.insert(Move, moves)
        writer.insert(Event, events)
        return len(lots)

    def _lot_values(self, location):
        "Return the values of the lots received that do not vary by row"
        return {
            'active': True, 'receipt_date': self.date,
            'location_date': self.date, 'device_state': 'in_stock',
            'current_location': location.id, 'holder': self.partner.id,
            }

    def _move_values(self, product, location):
        "Return the values of product's receipt moves that do not vary"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        cost = product.cost_price or 0
        return {
            'product': product.id,
            'quantity': 1.0, 'internal_quantity': 1.0,
            'unit': product.default_uom.id,
            'from_location': ModelData.get_id('stock', 'location_supplier'),
            'to_location': location.id, 'planned_date': self.date,
            'effective_date': self.date, 'state': 'done',
            'company': self.company.id, 'unit_price': cost,
            'currency': self.company.currency.id, 'cost_price': cost,
            'unit_price_updated': False, 'origin': str(self),
            }

    def _event_values(self, location):
        "Return the values of the receipt's events that do not vary"
        return {
            'id': None, 'date': self.date,
            'before': None, 'after': dict(DEVICE_STATES)['in_stock'],
            'location': location.id, 'partner': self.partner.id,
            'connection': None, 'description': self.reference,
            }


class _Formats:
    "What the rows of a receipt must look like, read once from its models"

    def __init__(self, stb, card):
        self.stb_id = stb.id if stb else None
        self.card_id = card.id if card else None
        chip_model = stb or card
        self.chip_product_id = chip_model.id
        self.models = {
            'serial': _model(stb, 'serial_pattern'),
            'card_number': _model(card, 'serial_pattern'),
            'chip_id': _model(chip_model, 'chip_id_pattern'),
            }

    def card_number(self, row):
        "A card-only file may name the card number serial"
        if self.stb_id:
            return row.get('card_number')
        return row.get('card_number') or row.get('serial')

    def row_errors(self, row):
        "Check the format of one row's values against the models"
        values = {
            'serial': row.get('serial') if self.stb_id else None,
            'card_number': self.card_number(row) if self.card_id else None,
            'chip_id': row.get('chip_id'),
            }
        required = {
            'serial': bool(self.stb_id),
            'card_number': bool(self.card_id),
            'chip_id': bool(self.models['chip_id'][1]),
            }
        for column, (name, pattern, regex) in self.models.items():
            value = values[column]
            if required[column] and not value:
                yield _error(row, column, gettext(
                        'rsoft_inventory.msg_receipt_missing',
                        column=_LABELS[column]))
            elif value and regex and not regex.fullmatch(value):
                yield _error(row, column, gettext(
                        'rsoft_inventory.msg_receipt_format',
                        column=_LABELS[column], model=name,
                        pattern=pattern))
        if not self.card_id and row.get('card_number'):
            yield _error(row, 'card_number', gettext(
                    'rsoft_inventory.msg_receipt_no_card_type'))
        if row.get('mac') and not self.mac(row):
            yield _error(
                row, 'mac', gettext('rsoft_inventory.msg_receipt_mac'))

    def keys(self, row):
        "Return {(column, product id): value} of the row's unique values"
        keys = {}
        if self.stb_id and row.get('serial'):
            keys[('serial', self.stb_id)] = row['serial']
        if self.card_id and self.card_number(row):
            keys[('card_number', self.card_id)] = self.card_number(row)
        if row.get('chip_id'):
            keys[('chip_id', self.chip_product_id)] = row['chip_id']
        if self.mac(row):
            keys[('mac', None)] = self.mac(row)
        return keys

    def mac(self, row):
        "Return the row's MAC normalised, None when absent or malformed"
        if 'mac_normalized' not in row:
            row['mac_normalized'] = (
                normalize_mac(row['mac']) if row.get('mac') else None)
        return row['mac_normalized']


_LABELS = {
    'serial': "serial",
    'card_number': "card number",
    'chip_id': "chip ID",
    }


def _model(product, pattern_field):
    "Return (name, pattern, compiled pattern) of product's format"
    if not product:
        return None, None, None
    pattern = getattr(product.template, pattern_field)
    return (product.rec_name, pattern,
        re.compile(pattern) if pattern else None)


class RefusedRow(ModelSQL, ModelView):
    "A row of a vendor file that was refused, and why"
    __name__ = 'rsoft.device.receipt.error'
    __string__ = "Refused Row"

    receipt = fields.Many2One(
        'rsoft.device.receipt', "Receipt", required=True,
        ondelete='CASCADE')
    row = fields.Integer("Row", help="The line number in the file.")
    column = fields.Char("Column")
    value = fields.Char("Value")
    message = fields.Char("Reason")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('row', 'ASC'), ('id', 'ASC')]
        cls.__access__.add('receipt')

    @classmethod
    def check_modification(cls, mode, rows, values=None, external=False):
        super().check_modification(
            mode, rows, values=values, external=external)
        # The report of a file is the Receive button's, as it found it
        if external:
            raise RecordedError(gettext(
                    'rsoft_inventory.msg_receipt_error_by_action'))


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['rsoft.device.receipt']


def _within(field, values):
    "Yield the conditions that field is one of values, a query each"
    # An array is one parameter: PostgreSQL takes them all at once
    if backend.name == 'postgresql':
        yield field == Any(values)
        return
    for sub_values in grouped_slice(values, backend.MAX_QUERY_PARAMS - 1):
        yield In(field, list(sub_values))


def _error(row, column, message):
    return {
        'row': row['row'], 'column': column,
        'value': row.get(column) or '', 'message': message,
        }

