"Receipt of devices from a vendor's production file, all or nothing"
import csv
import datetime
import io
import re
from collections import defaultdict

from sql import Literal
from sql.operators import In

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .device import STATES as DEVICE_STATES
from .exceptions import ReceiptError
from .product import normalize_mac

# The names vendors give the columns, once lower-cased and squeezed
COLUMNS = {
    'serial': {'serial', 'serial number', 'serial no', 'stb serial',
        'stb serial number', 'box serial'},
    'chip_id': {'chip id', 'chipid', 'chip', 'chip number'},
    'card_number': {'card number', 'card no', 'card', 'smart card',
        'smartcard', 'smart card number', 'vc', 'vc number'},
    'mac': {'mac', 'mac address'},
    'pairing_key': {'pairing key', 'pairing', 'pair key'},
    }
STATES = [
    ('draft', "Draft"),
    ('refused', "Refused"),
    ('done', "Done"),
    ]
# Rows per INSERT: large enough to be fast, small enough for SQLite's
# limit of 32,766 variables in one statement
_CHUNK = 1000


class Receipt(ModelSQL, ModelView):
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
        "Return the rows of the file as dicts keyed by COLUMNS, numbered"
        if not self.file:
            raise ReceiptError(gettext(
                    'rsoft_inventory.msg_receipt_no_file',
                    receipt=self.rec_name))
        data = bytes(self.file)
        try:
            if data[:2] == b'PK':
                table = _read_xlsx(data)
            else:
                table = _read_csv(data)
        except Exception as exception:
            raise ReceiptError(gettext(
                    'rsoft_inventory.msg_receipt_unreadable',
                    receipt=self.rec_name, error=str(exception)))
        header, *lines = table or [[]]
        columns = [_column(h) for h in header]
        if not any(columns):
            raise ReceiptError(gettext(
                    'rsoft_inventory.msg_receipt_no_header',
                    receipt=self.rec_name))
        rows = []
        for number, line in enumerate(lines, 2):
            row = {c: (v or '').strip() for c, v in zip(columns, line) if c}
            if any(row.values()):
                rows.append({'row': number, **row})
        return rows

    # Checking

    def check_rows(self, rows):
        "Return the errors of rows: format, duplicates in file and database"
        self.check_products()
        errors = []
        for row in rows:
            errors.extend(self._row_errors(row))
        errors.extend(self._file_duplicates(rows))
        errors.extend(self._database_duplicates(rows))
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

    def _row_errors(self, row):
        "Check the format of one row's values against the models"
        stb, card = self.stb_product, self.card_product

        def error(field, message, **kwargs):
            return _error(row, field, gettext(
                    'rsoft_inventory.' + message, **kwargs))

        if stb:
            if not row.get('serial'):
                yield error('serial', 'msg_receipt_missing', column="serial")
            elif not stb.template.match_serial(row['serial']):
                yield error('serial', 'msg_receipt_format', column="serial",
                    model=stb.rec_name,
                    pattern=stb.template.serial_pattern)
        if card and not self._card_number(row):
            yield error('card_number', 'msg_receipt_missing',
                column="card number")
        elif card and not card.template.match_serial(self._card_number(row)):
            yield error('card_number', 'msg_receipt_format',
                column="card number", model=card.rec_name,
                pattern=card.template.serial_pattern)
        if not card and row.get('card_number'):
            yield error('card_number', 'msg_receipt_no_card_type')
        chip_model = (stb or card).template
        if chip_model.chip_id_pattern and not row.get('chip_id'):
            yield error('chip_id', 'msg_receipt_missing', column="chip ID")
        elif row.get('chip_id') and not chip_model.match_chip_id(
                row['chip_id']):
            yield error('chip_id', 'msg_receipt_format', column="chip ID",
                model=chip_model.rec_name,
                pattern=chip_model.chip_id_pattern)
        if row.get('mac') and not normalize_mac(row['mac']):
            yield error('mac', 'msg_receipt_mac')

    def _card_number(self, row):
        "A card-only file may name the card number serial"
        if self.stb_product:
            return row.get('card_number')
        return row.get('card_number') or row.get('serial')

    def _keys(self, row):
        "Return {(column, product id): value} of the row's unique values"
        stb, card = self.stb_product, self.card_product
        keys = {}
        if stb and row.get('serial'):
            keys[('serial', stb.id)] = row['serial']
        if card and self._card_number(row):
            keys[('card_number', card.id)] = self._card_number(row)
        if row.get('chip_id'):
            keys[('chip_id', (stb or card).id)] = row['chip_id']
        if row.get('mac') and normalize_mac(row['mac']):
            keys[('mac', None)] = normalize_mac(row['mac'])
        return keys

    def _file_duplicates(self, rows):
        first = {}
        for row in rows:
            for key, value in self._keys(row).items():
                seen = first.setdefault((key, value), row['row'])
                if seen != row['row']:
                    yield _error(row, key[0], gettext(
                            'rsoft_inventory.msg_receipt_duplicate_file',
                            value=value, row=seen))

    def _database_duplicates(self, rows):
        pool = Pool()
        Lot = pool.get('stock.lot')
        lot = Lot.__table__()
        cursor = Transaction().connection.cursor()
        fields_ = {'serial': lot.number, 'card_number': lot.number,
            'chip_id': lot.chip_id, 'mac': lot.mac_address}
        wanted = defaultdict(dict)
        for row in rows:
            for key, value in self._keys(row).items():
                wanted[key].setdefault(value, row)
        for (column, product_id), values in wanted.items():
            field = fields_[column]
            for sub_values in grouped_slice(list(values)):
                where = In(field, list(sub_values))
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

        The ORM would take minutes for a production file of 100,000 rows;
        plain INSERTs of the same columns take seconds."""
        location = self.partner.stock_location
        if not location:
            self.partner.create_stock_locations([self.partner])
            location = self.partner.stock_location
        count = 0
        cards = stbs = {}
        if self.card_product:
            cards = self._insert_devices(
                self.card_product, rows, location, self._card_number)
            count += len(cards)
        if self.stb_product:
            stbs = self._insert_devices(
                self.stb_product, rows, location, lambda r: r['serial'],
                cards if self.card_product else None)
            count += len(stbs)
        if stbs and cards:
            self._pair_cards(list(cards.values()))
        return count

    def _insert_devices(self, product, rows, location, number, cards=None):
        "Insert lots, their moves and events; return {row number: lot id}"
        pool = Pool()
        Lot = pool.get('stock.lot')
        lot = Lot.__table__()
        cursor = Transaction().connection.cursor()
        with_card = cards is not None
        chip = (product == (self.stb_product or self.card_product))
        now, user = datetime.datetime.now(), Transaction().user
        values = [[
                number(r), product.id, True, self.date, self.date,
                'in_stock', location.id, self.partner.id,
                r.get('chip_id') or None if chip else None,
                normalize_mac(r['mac']) if r.get('mac') and chip else None,
                r.get('pairing_key') or None,
                cards[r['row']] if with_card else None,
                user, now] for r in rows]
        columns = [lot.number, lot.product, lot.active, lot.receipt_date,
            lot.location_date, lot.device_state, lot.current_location,
            lot.holder, lot.chip_id, lot.mac_address, lot.pairing_key,
            lot.paired_device, lot.create_uid, lot.create_date]
        _insert(lot, columns, values)
        ids = {}
        numbers = {number(r): r['row'] for r in rows}
        for sub_numbers in grouped_slice(list(numbers)):
            cursor.execute(*lot.select(lot.id, lot.number,
                    where=(lot.product == product.id)
                    & In(lot.number, list(sub_numbers))))
            for lot_id, lot_number in cursor:
                ids[numbers[lot_number]] = lot_id
        move_ids = self._insert_moves(product, list(ids.values()), location)
        self._insert_events(
            list(ids.values()), move_ids, location, with_card, cards, ids)
        return ids

    def _insert_moves(self, product, lot_ids, location):
        pool = Pool()
        Move = pool.get('stock.move')
        ModelData = pool.get('ir.model.data')
        move = Move.__table__()
        cursor = Transaction().connection.cursor()
        supplier = ModelData.get_id('stock', 'location_supplier')
        cost = product.cost_price or 0
        now, user = datetime.datetime.now(), Transaction().user
        origin = str(self)
        columns = [move.product, move.lot, move.quantity,
            move.internal_quantity, move.unit, move.from_location,
            move.to_location, move.planned_date, move.effective_date,
            move.state, move.company, move.unit_price, move.currency,
            move.cost_price, move.unit_price_updated, move.origin,
            move.create_uid, move.create_date]
        _insert(move, columns, [[
                    product.id, lot_id, 1.0, 1.0, product.default_uom.id,
                    supplier, location.id, self.date, self.date, 'done',
                    self.company.id, cost, self.company.currency.id, cost,
                    False, origin, user, now]
                for lot_id in lot_ids])
        cursor.execute(*move.select(move.lot, move.id,
                where=(move.origin == origin)))
        return dict(cursor)

    def _insert_events(
            self, lot_ids, move_ids, location, paired, cards, ids):
        pool = Pool()
        Event = pool.get('rsoft.device.event')
        event = Event.__table__()
        now, user = datetime.datetime.now(), Transaction().user
        columns = [event.device, event.action, event.date, event.after,
            event.location, event.partner, event.move, event.other_device,
            event.description, event.create_uid, event.create_date]
        in_stock = dict(DEVICE_STATES)['in_stock']
        values = [[i, 'receive', self.date, in_stock, location.id,
                self.partner.id, move_ids.get(i), None, self.reference,
                user, now] for i in lot_ids]
        if paired:
            values += [[ids[row], 'pair', self.date, in_stock, location.id,
                    self.partner.id, None, cards[row], self.reference,
                    user, now] for row in ids]
        _insert(event, columns, values)

    def _pair_cards(self, card_ids):
        "Point each card at the box inserted with it"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Event = pool.get('rsoft.device.event')
        lot = Lot.__table__()
        box = Lot.__table__()
        event = Event.__table__()
        cursor = Transaction().connection.cursor()
        for sub_ids in grouped_slice(card_ids):
            sub_ids = list(sub_ids)
            cursor.execute(*lot.update([lot.paired_device],
                    [box.select(box.id,
                            where=box.paired_device == lot.id)],
                    where=In(lot.id, sub_ids)))
            cursor.execute(*event.insert(
                    [event.device, event.action, event.date, event.after,
                        event.location, event.partner, event.other_device,
                        event.description, event.create_uid,
                        event.create_date],
                    lot.select(lot.id, Literal('pair'), lot.receipt_date,
                        Literal(dict(DEVICE_STATES)['in_stock']),
                        lot.current_location, lot.holder, lot.paired_device,
                        Literal(self.reference), Literal(Transaction().user),
                        Literal(datetime.datetime.now()),
                        where=In(lot.id, sub_ids))))


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


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['rsoft.device.receipt']


def _column(header):
    name = re.sub(r'[\s_\-]+', ' ', str(header or '')).strip().lower()
    for column, names in COLUMNS.items():
        if name in names:
            return column


def _error(row, column, message):
    return {
        'row': row['row'], 'column': column,
        'value': row.get(column) or '', 'message': message,
        }


def _read_csv(data):
    text = data.decode('utf-8-sig')
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=',;\t')
    except csv.Error:
        dialect = csv.excel
    return list(csv.reader(io.StringIO(text), dialect))


def _read_xlsx(data):
    from openpyxl import load_workbook
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    return [[_cell(v) for v in row] for row in sheet.iter_rows(
                values_only=True)]


def _cell(value):
    "Serials read as numbers by the spreadsheet keep their digits"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return '' if value is None else str(value)


def _insert(table, columns, values):
    for sub_values in grouped_slice(values, _CHUNK):
        Transaction().connection.cursor().execute(
            *table.insert(columns, list(sub_values)))
