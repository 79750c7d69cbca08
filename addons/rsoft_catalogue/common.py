"Helpers shared by the catalogue models: dates, money and dated values."
from decimal import Decimal

from sql import Column
from sql.aggregate import Max

from trytond import backend
from trytond.model import fields
from trytond.pool import Pool
from trytond.tools import sqlite_apply_types
from trytond.transaction import Transaction

MONEY_DIGITS = (16, 2)
RATE_DIGITS = (16, 4)
_CENT = Decimal('0.01')


def at_date(date=None):
    "Return date, else the context date, else the company's today"
    if date is None:
        date = Transaction().context.get('date')
    if date is None:
        date = Pool().get('ir.date').today()
    return date


def round_amount(amount):
    "Round amount with the currency of the context company"
    pool = Pool()
    Company = pool.get('company.company')
    company_id = Transaction().context.get('company')
    if company_id is not None and company_id >= 0:
        return Company(company_id).currency.round(amount)
    return amount.quantize(_CENT)


def dated_amounts(Model, parent, value, ids, date):
    """Return {parent id: amount} of the Model rows in force at date

    Model has a Many2One parent, a Date start_date and a money field value.
    The row in force is the one with the latest start_date on or before
    date; a parent without such a row maps to None.
    """
    cursor = Transaction().connection.cursor()
    table = Model.__table__()
    latest = Model.__table__()
    result = dict.fromkeys(ids)
    if not ids:
        return result
    # The row in force per parent is a greatest-per-group query that the
    # ORM could only answer with one search per parent.
    last = latest.select(
        Column(latest, parent).as_('parent'),
        Max(latest.start_date).as_('start_date'),
        where=fields.SQL_OPERATORS['in'](Column(latest, parent), ids)
        & (latest.start_date <= date),
        group_by=Column(latest, parent))
    query = table.join(last,
        condition=(Column(table, parent) == last.parent)
        & (table.start_date == last.start_date)
        ).select(
            Column(table, parent).as_('parent'),
            Column(table, value).as_('amount'))
    if backend.name == 'sqlite':
        sqlite_apply_types(query, [None, 'NUMERIC'])
    cursor.execute(*query)
    for parent_id, amount in cursor:
        if amount is not None:
            amount = Decimal(amount).quantize(_CENT)
        result[parent_id] = amount
    return result


def format_date(date, lang=None):
    "Format date as lang, else the language of the context, writes days"
    if lang is None:
        lang = Pool().get('ir.lang').get()
    return lang.strftime(date)


def format_amount(amount, lang=None, currency=None):
    """Format amount with the symbol of currency, else of the context
    company's if any, grouped as lang, else the language of the context"""
    pool = Pool()
    Company = pool.get('company.company')
    if lang is None:
        lang = pool.get('ir.lang').get()
    if currency is None:
        company_id = Transaction().context.get('company')
        if company_id is not None and company_id >= 0:
            currency = Company(company_id).currency
    if currency is not None:
        return lang.currency(amount, currency, grouping=True)
    return lang.format_number(amount, digits=2)


def format_number(value, lang=None):
    """Format a money figure with 2 decimals, grouped as lang, else the
    language of the context"""
    if lang is None:
        lang = Pool().get('ir.lang').get()
    return lang.format_number(value, digits=2)


def format_rate(rate):
    "Format a fraction as a percentage (0.45 -> 45.00%)"
    return Pool().get('ir.lang').get().format('%.2f', rate * 100) + '%'
