"""The one reader of imported files: vendor device files, bank and
gateway settlements

The rules, the same for every import:

- A file is XLSX when it begins as a zip archive does, else CSV: the
  content tells, not the name, which operators change.
- XLSX: the first sheet, the values as the spreadsheet last computed
  them. A whole number keeps its digits (serials and card numbers are
  often typed as numbers), a day reads YYYY-MM-DD.
- CSV: UTF-8, with or without the BOM that Excel writes; nothing else is
  guessed, as a wrong guess would import wrong names silently. The
  delimiter is the one of comma, semicolon, tab and bar that splits the
  header into the most columns: a header names its columns with none of
  them, while the values (amounts as "1,000") may hold any.
- The header is the first row that is not blank; its names are compared
  stripped, case-folded and with runs of spaces, underscores, hyphens,
  slashes and dots made one space ("Card_No." is "card no").
- Blank rows are skipped; every other row comes with its line number in
  the file, for the caller to report its errors by line."""
import csv
import datetime as dt
import io
import re
import zipfile

from trytond.i18n import gettext

from .exceptions import FileReadError

__all__ = ['normalize_name', 'read_rows']

DELIMITERS = ',;\t|'
# The first bytes of a zip archive, which an XLSX file is
ZIP = b'PK\x03\x04'


def normalize_name(text):
    "Return a name typed in a file (a column's, a mode's) as it is compared"
    return re.sub(r'[\s_\-/.]+', ' ', str(text or '')).strip().casefold()


def read_rows(data, columns, name):
    """Return the rows of the CSV or XLSX file data as (line, values)

    columns maps each key to the header names it is read from, normalised,
    the first naming it in errors; values maps the keys of the columns the
    header names to the row's text, '' for an empty cell (a key named by
    two columns takes the first filled). name is the file's in errors.
    Raise UserError when the file is unreadable, has no header naming a
    column or no rows."""
    table = _read_table(data, name)
    header = next(table, None)
    keys = _header_keys(header[1] if header else [], columns)
    if not any(keys):
        raise FileReadError(gettext('rsoft_toolkit.msg_file_no_header',
                file=name,
                columns=', '.join(names[0] for names in columns.values())))
    rows = []
    for line, cells in table:
        values = dict.fromkeys(filter(None, keys), '')
        for key, cell in zip(keys, cells):
            if key and not values[key]:
                values[key] = cell
        rows.append((line, values))
    if not rows:
        raise FileReadError(gettext(
                'rsoft_toolkit.msg_file_no_rows', file=name))
    return rows


def _header_keys(header, columns):
    "Return the key of each column of header, None for those not known"
    keys = {}
    for key, names in columns.items():
        for header_name in [normalize_name(key), *names]:
            keys.setdefault(header_name, key)
    return [keys.get(normalize_name(h)) for h in header]


def _read_table(data, name):
    "Yield (line, cells) of the rows of data that are not blank"
    try:
        if data.startswith(ZIP):
            rows = _xlsx_rows(data)
        else:
            rows = _csv_rows(_decode(data, name))
        for line, cells in rows:
            cells = [c.strip() for c in cells]
            if any(cells):
                yield line, cells
    except (csv.Error, zipfile.BadZipFile, LookupError, SyntaxError,
            ValueError, TypeError, OSError) as exception:
        # What openpyxl raises of a damaged or foreign archive varies; a
        # part that is not XML raises SyntaxError
        raise FileReadError(gettext('rsoft_toolkit.msg_file_unreadable',
                file=name, error=str(exception))) from exception


def _decode(data, name):
    try:
        return data.decode('utf-8-sig')
    except UnicodeDecodeError as exception:
        line = data[:exception.start].count(b'\n') + 1
        raise FileReadError(gettext('rsoft_toolkit.msg_file_encoding',
                file=name, line=line)) from exception


def _csv_rows(text):
    header = next((line for line in text.splitlines() if line.strip()), '')
    delimiter = max(DELIMITERS,
        key=lambda d: len(next(csv.reader([header], delimiter=d))))
    reader = csv.reader(io.StringIO(text, newline=''), delimiter=delimiter)
    line = 1
    for cells in reader:
        # A quoted value may span lines: a row is numbered by its first
        yield line, cells
        line = reader.line_num + 1


def _xlsx_rows(data):
    from openpyxl import load_workbook
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        for line, cells in enumerate(sheet.iter_rows(values_only=True), 1):
            yield line, [_text(c) for c in cells]
    finally:
        workbook.close()


def _text(value):
    "Return the cell value as the file shows it"
    if value is None:
        return ''
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(' ', 'seconds')
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
