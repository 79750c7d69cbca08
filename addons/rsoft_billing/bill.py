"Bills: the invoices of the accounts printed with the LCO's template"
from collections import namedtuple
from decimal import Decimal
from itertools import groupby

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.report import Report
from trytond.transaction import Transaction, without_check_access

from .invoice import SECTION_ORDER

# A section of a bill: its name, its groups of lines and their amount
Section = namedtuple('Section', ['name', 'groups', 'amount'])
# Lines shown together: under a broadcaster's name in the a-la-carte
# section, without a name in the others
LineGroup = namedtuple('LineGroup', ['name', 'lines', 'amount'])
# How the amount due is reached: previous balance - payments + charges;
# and the day the charges are due
Statement = namedtuple('Statement', [
        'previous_balance', 'payments', 'charges', 'amount_due',
        'due_date'])


class Bill(Report):
    """The bill of an account: its invoice with the previous balance and
    the payments received since its last bill

    Each layout is an action report of its own, 'report_bill_<template>',
    so its template can be replaced from the client like any report's;
    this report renders each invoice with the action of its account's
    layout. It does not extend the invoice report: that one caches its
    own rendering on the invoice, which is not the bill."""
    __name__ = 'rsoft.billing.bill'

    @classmethod
    def execute(cls, ids, data):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        if data.get('action_id') is None:
            # The layouts share the report name: name the Bill action
            data = {
                **data,
                'action_id': ModelData.get_id('rsoft_billing', 'report_bill'),
                }
        return super().execute(ids, data)

    @classmethod
    def bill_template(cls, invoice):
        "Return the name of the layout of the invoice"
        if invoice.rsoft_subscriber:
            return invoice.rsoft_subscriber.get_bill_template()
        lco = invoice.rsoft_lco
        return (lco.bill_template if lco else None) or 'classic'

    @classmethod
    def _get_records(cls, ids, model, data):
        records = super()._get_records(ids, model, data)
        # The bills of a layout are rendered together into one PDF
        return sorted(records, key=cls.bill_template)

    @classmethod
    def header_key(cls, record, data):
        return super().header_key(record, data) + (
            ('bill_template', cls.bill_template(record)),)

    @classmethod
    def _execute(cls, records, header, data, action):
        pool = Pool()
        ActionReport = pool.get('ir.action.report')
        ModelData = pool.get('ir.model.data')
        template = header.get('bill_template', 'classic')
        layout = ActionReport(ModelData.get_id(
                'rsoft_billing', f'report_bill_{template}'))
        return super()._execute(records, header, data, layout)

    @classmethod
    def get_context(cls, records, header, data):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        context = super().get_context(records, header, data)
        invoices = Invoice.browse(records)
        context['sections'] = {i.id: cls.get_sections(i) for i in invoices}
        # execute checked that the user reads the invoices: the statement
        # of their accounts is read from the accounting the user may not
        with without_check_access():
            context['statements'] = {
                i.id: cls.get_statement(i) for i in invoices}
        return context

    @classmethod
    def get_sections(cls, invoice):
        "Return the sections of the bill of the invoice, in their order"
        pool = Pool()
        Line = pool.get('account.invoice.line')
        names = dict(Line.fields_get(
                ['rsoft_section'])['rsoft_section']['selection'])
        names[None] = gettext('rsoft_billing.msg_bill_other_charges')

        def order(line):
            section = line.rsoft_section
            if section in SECTION_ORDER:
                return SECTION_ORDER.index(section), ''
            # Lines without section, or of one unknown here, come last
            return len(SECTION_ORDER), section or ''

        lines = sorted(
            (line for line in invoice.lines if line.type == 'line'), key=order)
        sections = []
        for _, section_lines in groupby(lines, key=order):
            section_lines = list(section_lines)
            section = section_lines[0].rsoft_section
            if section == 'alacarte':
                groups = cls.get_broadcaster_groups(section_lines)
            else:
                groups = [LineGroup(
                        None, section_lines, cls._sum(section_lines))]
            sections.append(Section(
                    names.get(section, section), groups,
                    cls._sum(section_lines)))
        return sections

    @classmethod
    def get_broadcaster_groups(cls, lines):
        "Return the lines grouped by broadcaster, by name; the others last"
        def order(line):
            broadcaster = line.rsoft_broadcaster
            if broadcaster:
                return 0, broadcaster.rec_name, broadcaster.id
            return 1, '', 0

        groups = []
        for key, group_lines in groupby(
                sorted(lines, key=order), key=order):
            group_lines = list(group_lines)
            if key[0]:
                name = gettext('rsoft_billing.msg_bill_no_broadcaster')
            else:
                name = key[1]
            groups.append(LineGroup(name, group_lines, cls._sum(group_lines)))
        return groups

    @staticmethod
    def _sum(lines):
        return sum((line.amount for line in lines), Decimal(0))

    @classmethod
    def get_statement(cls, invoice):
        """Return the statement of the account on the bill

        The previous balance is what the party owed at its previous bill:
        its receivable balance before the invoice date plus the payments
        received since the previous bill of the account."""
        pool = Pool()
        Date = pool.get('ir.date')
        Invoice = pool.get('account.invoice')
        MoveLine = pool.get('account.move.line')
        currency = invoice.company.currency
        with Transaction().set_context(company=invoice.company.id):
            date = invoice.invoice_date or Date.today()
        domain = [
            ('move.company', '=', invoice.company.id),
            ('move.state', '=', 'posted'),
            ('move.date', '<', date),
            ('party', '=', invoice.party.id),
            ('account.type.receivable', '=', True),
            ]
        if invoice.move:
            domain.append(('move', '!=', invoice.move.id))
        lines = MoveLine.search(domain)
        balance = sum(
            (line.debit - line.credit for line in lines), Decimal(0))

        payments = Decimal(0)
        previous = cls.get_previous_invoice(invoice, date)
        if previous:
            payments = sum((line.credit for line in lines
                    if line.credit > 0
                    and line.move.date >= previous.invoice_date
                    # Credit notes are not payments
                    and not isinstance(line.move.origin, Invoice)),
                Decimal(0))
        return Statement(
            previous_balance=currency.round(balance + payments),
            payments=currency.round(payments),
            charges=invoice.total_amount,
            amount_due=currency.round(balance + invoice.total_amount),
            due_date=min(
                (line.maturity_date for line in invoice.lines_to_pay
                    if line.maturity_date), default=None))

    @classmethod
    def get_previous_invoice(cls, invoice, date):
        "Return the last invoice of the account posted before date"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        if not invoice.rsoft_subscriber:
            return
        invoices = Invoice.search([
                ('rsoft_subscriber', '=', invoice.rsoft_subscriber.id),
                ('type', '=', 'out'),
                ('state', 'in', ['posted', 'paid']),
                ('invoice_date', '<', date),
                ('id', '!=', invoice.id),
                ], order=[('invoice_date', 'DESC'), ('id', 'DESC')], limit=1)
        if invoices:
            invoice, = invoices
            return invoice
