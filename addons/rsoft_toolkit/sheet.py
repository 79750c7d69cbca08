"Spreadsheets of records, as the back office exports its lists"
import re
from decimal import Decimal
from io import BytesIO

import xlsxwriter

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.report import Report

__all__ = ['RecordSheet']


class RecordSheet(Report):
    """A spreadsheet of records: a title line, a bold header and a row for
    each record, the records selected or else all those the sheet lists;
    amounts are numbers with two decimals and, if the sheet sums, a last
    row totals the numeric columns"""

    # The fields shown, each with the width of its column in characters
    columns = []
    # Whether a row of totals ends the sheet
    sums = False

    @classmethod
    def execute(cls, ids, data):
        pool = Pool()
        action = cls._get_action(data)
        model = action.model or data.get('model')
        ids = list(map(int, ids))
        cls.check_access(action, model, ids)
        Model = pool.get(model)
        records = cls.sheet_records(Model, ids, data)
        title, date = cls.sheet_title(action.name)
        columns, rows = cls.sheet_table(Model, records)
        content = cls.sheet_content(action.name, title, columns, rows)
        name = f'{action.name}-{date.isoformat()}'
        return ('xlsx', content, bool(action.direct_print), name)

    @classmethod
    def _get_action(cls, data):
        pool = Pool()
        ActionReport = pool.get('ir.action.report')
        if data.get('action_id') is not None:
            return ActionReport(data['action_id'])
        action, = ActionReport.search([
                ('report_name', '=', cls.__name__),
                ], limit=1)
        return action

    @classmethod
    def sheet_date(cls):
        "Return the day the sheet is of"
        return Pool().get('ir.date').today()

    @classmethod
    def sheet_title(cls, name):
        "Return the title of the sheet and the day it is of"
        Lang = Pool().get('ir.lang')
        date = cls.sheet_date()
        title = gettext('rsoft_toolkit.msg_sheet_date',
            report=name, date=Lang.get().strftime(date))
        return title, date

    @classmethod
    def period_title(cls, name, from_date, to_date):
        "Return the title of a sheet of the days from_date to to_date"
        lang = Pool().get('ir.lang').get()
        return gettext('rsoft_toolkit.msg_sheet_period',
            report=name, from_date=lang.strftime(from_date),
            to_date=lang.strftime(to_date))

    @classmethod
    def sheet_domain(cls):
        "The records the sheet lists when none is selected"
        return []

    @classmethod
    def sheet_records(cls, Model, ids, data):
        if ids:
            return Model.browse(ids)
        return Model.search([cls.sheet_domain(), data.get('domain') or []])

    @classmethod
    def sheet_table(cls, Model, records):
        """Return the columns, as (header, width, field type), and the rows
        of values"""
        names = [n for n, _ in cls.columns]
        definitions = Model.fields_get(names)
        columns = [(definitions[n]['string'], w, definitions[n]['type'])
            for n, w in cls.columns]
        rows = [[_cell(r, n, definitions[n]) for n in names]
            for r in records]
        return columns, rows

    @classmethod
    def sheet_content(cls, name, title, columns, rows):
        output = BytesIO()
        # Serials, names and notes are typed by people: keep them as text
        workbook = xlsxwriter.Workbook(output, {
                'in_memory': True,
                'strings_to_formulas': False,
                'strings_to_urls': False,
                'default_date_format': _date_format(),
                })
        bold = workbook.add_format({'bold': True})
        money = workbook.add_format({'num_format': '#,##0.00'})
        sheet = workbook.add_worksheet(
            re.sub(r'[\[\]:*?/\\]', ' ', name)[:31])
        sheet.write(0, 0, title, workbook.add_format(
                {'bold': True, 'font_size': 14}))
        sheet.write_row(2, 0, [h for h, _, _ in columns], bold)
        for column, (_, width, type_) in enumerate(columns):
            sheet.set_column(
                column, column, width, money if type_ == 'numeric' else None)
        for row, values in enumerate(rows, 3):
            sheet.write_row(row, 0, [
                    float(v) if isinstance(v, Decimal) else v
                    for v in values])
        last = 2 + len(rows)
        if cls.sums:
            cls._write_totals(workbook, sheet, last + 1, columns, rows)
        sheet.freeze_panes(3, 0)
        sheet.autofilter(2, 0, last, len(columns) - 1)
        workbook.close()
        return output.getvalue()

    @classmethod
    def _write_totals(cls, workbook, sheet, row, columns, rows):
        total = workbook.add_format({'bold': True, 'top': 1})
        money_total = workbook.add_format(
            {'num_format': '#,##0.00', 'bold': True, 'top': 1})
        sheet.write(row, 0, gettext('rsoft_toolkit.msg_sheet_total'), total)
        for column, (_, _, type_) in enumerate(columns[1:], 1):
            if type_ in {'numeric', 'integer'}:
                amount = sum((r[column] or 0 for r in rows), Decimal(0))
                sheet.write_number(row, column, float(amount),
                    money_total if type_ == 'numeric' else total)


def _cell(record, name, definition):
    "Return the value of the field as a spreadsheet cell shows it"
    value = getattr(record, name)
    if definition['type'] == 'many2one':
        return value.rec_name if value else None
    if definition['type'] == 'selection':
        return dict(definition['selection']).get(value)
    return value


def _date_format():
    "Return the spreadsheet date format of the context language"
    date = Pool().get('ir.lang').get().date
    for code, excel in [('%d', 'dd'), ('%m', 'mm'), ('%Y', 'yyyy'),
            ('%y', 'yy'), ('%b', 'mmm')]:
        date = date.replace(code, excel)
    return date
