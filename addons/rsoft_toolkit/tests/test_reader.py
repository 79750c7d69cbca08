"The reader of imported files: its rules of format, encoding and rows"
import datetime
import io
import zipfile

import xlsxwriter

from trytond.exceptions import UserError
from trytond.modules.rsoft_toolkit.reader import normalize_name, read_rows
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction

COLUMNS = {
    'serial': ('serial', 'serial no', 'stb serial'),
    'card_number': ('card number', 'card no', 'vc'),
    'amount': ('amount', 'paid amount'),
    }


def xlsx(*sheets):
    "Return an XLSX file of sheets, each a list of rows written from A1"
    data = io.BytesIO()
    workbook = xlsxwriter.Workbook(data, {'in_memory': True})
    day = workbook.add_format({'num_format': 'dd/mm/yyyy'})
    for rows in sheets:
        sheet = workbook.add_worksheet()
        for number, row in enumerate(rows):
            for column, value in enumerate(row):
                if isinstance(value, datetime.datetime):
                    sheet.write_datetime(number, column, value, day)
                elif value is not None:
                    sheet.write(number, column, value)
    workbook.close()
    return data.getvalue()


def rezip(data, name, content):
    "Return the zip archive data with the part name replaced or removed"
    source = zipfile.ZipFile(io.BytesIO(data))
    output = io.BytesIO()
    with zipfile.ZipFile(output, 'w') as target:
        for part in source.namelist():
            if part != name:
                target.writestr(part, source.read(part))
            elif content is not None:
                target.writestr(part, content)
    return output.getvalue()


class ReaderTestCase(test_tryton._DBTestCase):
    "Read vendor and bank files as CSV and XLSX"
    module = 'rsoft_toolkit'

    def read(self, data):
        return read_rows(data, COLUMNS, 'vendor.csv')

    @with_transaction()
    def test_csv_delimiters(self):
        "Comma, semicolon, tab and bar: the one that splits the header"
        expected = [
            (2, {'serial': 'GX00000001', 'amount': '1,000.50'}),
            (3, {'serial': 'GX00000002', 'amount': '20'}),
            ]
        for delimiter in [',', ';', '\t', '|']:
            with self.subTest(delimiter=delimiter):
                lines = [
                    delimiter.join(['Serial', 'Amount', 'Remarks']),
                    delimiter.join(['GX00000001', '"1,000.50"', 'a;b|c']),
                    delimiter.join(['GX00000002', '20', 'x,y']),
                    ]
                data = '\r\n'.join(lines).encode()
                self.assertEqual(self.read(data), expected)

    @with_transaction()
    def test_csv_semicolon_with_decimal_commas(self):
        "Values full of commas do not make the comma the delimiter"
        data = (
            "serial;amount\n"
            "GX1;1,5\n"
            "GX2;2,25\n").encode()
        self.assertEqual(self.read(data), [
                (2, {'serial': 'GX1', 'amount': '1,5'}),
                (3, {'serial': 'GX2', 'amount': '2,25'}),
                ])

    @with_transaction()
    def test_csv_bom_and_utf8(self):
        "Excel's BOM is not part of the first column's name"
        data = b'\xef\xbb\xbf' + (
            "Serial,Card Number\n"
            "GX\u00e91,700000000001\n").encode()
        self.assertEqual(self.read(data), [
                (2, {'serial': 'GX\u00e91', 'card_number': '700000000001'}),
                ])

    @with_transaction()
    def test_header_names_normalised(self):
        """Names compare stripped, case-folded, with spaces, underscores,
        hyphens, slashes and dots alike; a key's own name is known"""
        data = (
            " STB_Serial ,Card-No.,CARD NUMBER,Unknown\n"
            "GX1,,700000000001,x\n"
            "GX2,700000000002,700000000099,y\n").encode()
        self.assertEqual(self.read(data), [
                (2, {'serial': 'GX1', 'card_number': '700000000001'}),
                (3, {'serial': 'GX2', 'card_number': '700000000002'}),
                ])
        self.assertEqual(normalize_name('  Payment__Mode / UPI. '),
            'payment mode upi')
        self.assertEqual(
            read_rows(b'Chip_ID\n0A1B\n', {'chip_id': ('chip',)}, 'f'),
            [(2, {'chip_id': '0A1B'})])

    @with_transaction()
    def test_csv_blank_rows_keep_line_numbers(self):
        """Blank lines, before the header too, and rows of empty cells are
        skipped; a quoted value over two lines keeps the next rows'
        numbers right"""
        data = (
            "\n"
            "Serial,Amount\n"
            "GX1,10\n"
            "\n"
            " , \n"
            ",,\n"
            '"GX\n2",20\n'
            "GX3,  30  \n").encode()
        self.assertEqual(self.read(data), [
                (3, {'serial': 'GX1', 'amount': '10'}),
                (7, {'serial': 'GX\n2', 'amount': '20'}),
                (9, {'serial': 'GX3', 'amount': '30'}),
                ])

    @with_transaction()
    def test_xlsx(self):
        """The first sheet; numbers keep their digits, days read
        YYYY-MM-DD, blank rows are skipped and rows numbered as the
        sheet's"""
        data = xlsx([
                ['Serial', 'Card No', 'Amount', 'Paid On'],
                [700000000001, 700000000009, 236.5,
                    datetime.datetime(2025, 6, 12)],
                [],
                [None, '   ', None, None],
                ['GX2', ' 700000000002 ', 12,
                    datetime.datetime(2025, 6, 12, 14, 30)],
                ], [
                ['Serial'],
                ['from the second sheet'],
                ])
        # Excel writes a computed number in scientific notation: it reads
        # as a float
        part = 'xl/worksheets/sheet1.xml'
        sheet = zipfile.ZipFile(io.BytesIO(data)).read(part)
        data = rezip(data, part, sheet.replace(
                b'<v>700000000009</v>', b'<v>7.00000000001E+11</v>'))
        self.assertEqual(self.read(data), [
                (2, {'serial': '700000000001',
                        'card_number': '700000000001', 'amount': '236.5'}),
                (5, {'serial': 'GX2', 'card_number': '700000000002',
                        'amount': '12'}),
                ])
        columns = {**COLUMNS, 'date': ('paid on',)}
        rows = read_rows(data, columns, 'bank.xlsx')
        self.assertEqual([v['date'] for _, v in rows],
            ['2025-06-12', '2025-06-12 14:30:00'])

    @with_transaction()
    def test_bad_bytes(self):
        "A file not in UTF-8 is refused with the line of its first bad byte"
        data = "Serial,Amount\nGX1,10\n".encode() + b'Caf\xe9,20\n'
        with self.assertRaises(UserError) as cm:
            self.read(data)
        self.assertEqual(cm.exception.message,
            'File "vendor.csv" is not UTF-8 text (line 3): save it from the '
            'spreadsheet as "CSV UTF-8" or as XLSX.')

    @with_transaction()
    def test_damaged_file(self):
        "A damaged XLSX or a zip of something else cannot be read"
        data = xlsx([['Serial'], ['GX1']])
        for damaged in [data[:len(data) // 2], b'PK\x03\x04' + b'\0' * 40,
                rezip(data, 'xl/worksheets/sheet1.xml', b'<sheetData'),
                rezip(data, '[Content_Types].xml', None)]:
            with self.subTest(size=len(damaged)), \
                    self.assertRaises(UserError) as cm:
                self.read(damaged)
            self.assertTrue(cm.exception.message.startswith(
                    'File "vendor.csv" cannot be read as CSV or XLSX: '),
                cm.exception.message)
        # Beyond the csv module's limit of a field: no serial is that long
        with self.assertRaises(UserError) as cm:
            self.read(b'Serial\n' + b'9' * 200_000 + b'\n')
        self.assertIn('cannot be read as CSV or XLSX', cm.exception.message)

    @with_transaction()
    def test_missing_header(self):
        """A file whose first row names no known column, or that is empty,
        has no header; the error lists the first name of each column"""
        for data in [b'GX00000001,700000000001\nGX2,7\n', b'', b'\n \n',
                xlsx([[None], ['GX1']])]:
            with self.subTest(data=data[:20]), \
                    self.assertRaises(UserError) as cm:
                self.read(data)
            self.assertEqual(cm.exception.message,
                'File "vendor.csv" has no header row: its first row must '
                'name its columns (serial, card number, amount).')

    @with_transaction()
    def test_no_rows(self):
        "A header followed by blank rows only has no rows"
        for data in [b'Serial,Amount\n', b'Serial,Amount\n\n,\n',
                xlsx([['Serial'], [], [None]])]:
            with self.subTest(data=data[:20]), \
                    self.assertRaises(UserError) as cm:
                self.read(data)
            self.assertEqual(cm.exception.message,
                'File "vendor.csv" has a header row but no rows.')

