"English (India): dates day first, amounts in lakhs and crores"
import datetime as dt
import unittest
from decimal import Decimal

from trytond.modules.company.tests import create_company, set_company
from trytond.modules.rsoft_catalogue.common import (
    format_amount,
    format_date,
    format_number,
)
from trytond.pool import Pool
from trytond.report import Report
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

D = Decimal


def create_inr():
    Currency = Pool().get('currency.currency')
    inr, = Currency.create([{
                'name': "Indian Rupee", 'code': 'INR', 'symbol': '₹',
                'numeric_code': '356', 'rounding': D('0.01'), 'digits': 2,
                }])
    return inr


class LangTestCase(unittest.TestCase):
    "The en_IN language and the formats of dates and amounts"

    @classmethod
    def setUpClass(cls):
        activate_module('rsoft_catalogue')

    @with_transaction()
    def test_lang_installed(self):
        "English (India) comes with the module, a language of users"
        pool = Pool()
        Lang = pool.get('ir.lang')
        User = pool.get('res.user')
        lang, = Lang.search([('code', '=', 'en_IN')])
        self.assertEqual(lang.name, "English (India)")
        self.assertEqual(lang.date, '%d/%m/%Y')
        self.assertEqual(
            (lang.grouping, lang.decimal_point, lang.thousands_sep),
            ('[3, 2, 0]', '.', ','))
        self.assertEqual(lang.mon_grouping, '[3, 2, 0]')
        # The user's language field offers only translatable languages
        self.assertTrue(lang.translatable)
        self.assertIn(lang, Lang.search(User.language.domain))
        self.assertEqual(Lang.get('en_IN'), lang)
        self.assertEqual(Lang.get('en-IN'), lang)

    @with_transaction()
    def test_format_date(self):
        "A day is written DD/MM/YYYY in en_IN, MM/DD/YYYY in en"
        Lang = Pool().get('ir.lang')
        date = dt.date(2026, 12, 6)
        with Transaction().set_context(language='en_IN'):
            self.assertEqual(format_date(date), '06/12/2026')
        with Transaction().set_context(language='en'):
            self.assertEqual(format_date(date), '12/06/2026')
            self.assertEqual(
                format_date(date, Lang.get('en_IN')), '06/12/2026')

    @with_transaction()
    def test_format_amount(self):
        "Amounts are grouped in lakhs and crores in en_IN"
        pool = Pool()
        Lang = pool.get('ir.lang')
        inr = create_inr()
        en_in = Lang.get('en_IN')
        for amount, text in [
                (D('100000'), '₹1,00,000.00'),
                (D('12345678.9'), '₹1,23,45,678.90'),
                (D('999.5'), '₹999.50'),
                (D('-250000'), '-₹2,50,000.00'),
                ]:
            self.assertEqual(format_amount(amount, en_in, inr), text)
        self.assertEqual(
            format_number(D('12345678.9'), en_in), '1,23,45,678.90')
        self.assertEqual(
            format_amount(D('12345678.9'), Lang.get('en'), inr),
            '₹12,345,678.90')

    @with_transaction()
    def test_format_amount_company(self):
        "Without currency, an amount is in the company's"
        company = create_company(currency=create_inr())
        with set_company(company), \
                Transaction().set_context(language='en_IN'):
            self.assertEqual(format_amount(D('100000')), '₹1,00,000.00')
            self.assertEqual(format_number(D('100000')), '1,00,000.00')
        with Transaction().set_context(language='en_IN'):
            self.assertEqual(format_amount(D('100000')), '1,00,000.00')

    @with_transaction()
    def test_report_formats(self):
        "Reports, the bills among them, write in en_IN alike"
        Lang = Pool().get('ir.lang')
        en_in = Lang.get('en_IN')
        self.assertEqual(
            Report.format_date(dt.date(2026, 11, 14), en_in), '14/11/2026')
        self.assertEqual(
            Report.format_currency(D('100000'), en_in, create_inr()),
            '₹1,00,000.00')
        self.assertEqual(
            Report.format_number(D('12345678.9'), en_in, 2),
            '1,23,45,678.90')

    @with_transaction()
    def test_sheet_dates(self):
        "Spreadsheets write dates as the user reads them"
        import io

        import openpyxl

        from trytond.modules.rsoft_toolkit.sheet import RecordSheet

        def date_format(language):
            with Transaction().set_context(language=language):
                content = RecordSheet.sheet_content(
                    "Devices", "Devices", [("Received", 12, 'date')],
                    [[dt.date(2026, 12, 6)]])
            sheet = openpyxl.load_workbook(io.BytesIO(content)).active
            return sheet.cell(row=4, column=1).number_format
        self.assertEqual(date_format('en_IN'), 'dd/mm/yyyy')
        self.assertEqual(date_format('en'), 'mm/dd/yyyy')
