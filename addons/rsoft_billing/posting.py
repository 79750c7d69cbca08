"""Customer invoices posted in bulk

Tryton posts an invoice through the ORM: every line, tax, move and move
line is created, validated and read back, query after query, about three
invoices a second per process. A bill run makes thousands of invoices
that are right by construction, so they are computed here in memory with
Tryton's own tax rules (Tax.compute, the tax rounding of the company) and
written with one insert per table. The records are those Tryton posts: the
invoice numbered from its fiscal year's sequence, its lines and taxes, and
its posted move with the lines and tax lines; the tests compare them with
Tryton's."""
from collections import defaultdict
from decimal import Decimal

from trytond import backend
from trytond.i18n import gettext
from trytond.modules.account_invoice.exceptions import InvoiceNumberError
from trytond.modules.rsoft_toolkit.bulk import BulkWriter
from trytond.pool import Pool
from trytond.transaction import Transaction

from .gst import check_number


class Draft:
    "An invoice computed in memory, and what it is written as"
    __slots__ = ('values', 'lines', 'taxes', 'charges', 'id')

    def __init__(self, values, lines, charges):
        self.values = values
        self.lines = lines
        self.charges = charges
        self.taxes = []
        self.id = None

    @property
    def untaxed_amount(self):
        return sum((line['amount'] for line in self.lines), Decimal(0))

    @property
    def tax_amount(self):
        return sum((tax['amount'] for tax in self.taxes), Decimal(0))

    @property
    def total_amount(self):
        return self.untaxed_amount + self.tax_amount


class InvoiceBatch:
    """Posted customer invoices of one company and date

    add() computes an invoice in memory (its total is known before
    anything is written, for a wallet to refuse it); write() numbers,
    posts and writes all of them."""

    def __init__(self, company, date):
        pool = Pool()
        Date = pool.get('ir.date')
        Configuration = pool.get('account.configuration')
        Invoice = pool.get('account.invoice')
        self.company = company
        self.currency = company.currency
        self.date = date
        with Transaction().set_context(company=company.id):
            self.today = Date.today()
        self.tax_rounding = Configuration(1).get_multivalue(
            'tax_rounding', company=company.id)
        # Tryton's rounding of tax lines works on any invoice of the
        # currency
        self.model = Invoice(
            company=company, currency=self.currency, type='out',
            invoice_date=date, accounting_date=None)
        self.drafts = []
        self._taxes = {}

    def add(self, values, lines, charges=()):
        """Compute the invoice of values with lines: (values, taxes)

        Return the draft; charges are linked to its lines, in order."""
        currency = self.currency
        draft_lines = []
        for line, taxes in lines:
            amount = currency.round(
                Decimal(str(line['quantity'])) * line['unit_price'])
            draft_lines.append({**line, 'amount': amount,
                    'computed': self._compute(taxes, line)})
        draft = Draft(values, draft_lines, list(charges))
        draft.taxes = self._invoice_taxes(draft_lines)
        self.drafts.append(draft)
        return draft

    def _compute(self, taxes, line):
        "Return Tax.compute of line, computed once for the same figures"
        pool = Pool()
        Tax = pool.get('account.tax')
        key = (tuple(t.id for t in taxes), line['unit_price'],
            line['quantity'])
        if key not in self._taxes:
            self._taxes[key] = (list(taxes), Tax.compute(
                    taxes, line['unit_price'], line['quantity'],
                    self.date))
        return self._taxes[key]

    def _invoice_taxes(self, lines):
        "Return the invoice taxes as TaxableMixin._get_taxes does"
        model = self.model
        groups = defaultdict(dict)
        for line in lines:
            taxes, computed = line['computed']
            base = line['unit_price'] * Decimal(str(line['quantity']))
            current = {}
            for tax in computed:
                taxline = model._compute_tax_line(**tax)
                current[taxline._key] = taxline
            if self.tax_rounding == 'line':
                model._round_taxes(current)
            group = groups[tuple(taxes), base >= 0]
            for key, taxline in current.items():
                group[key] = group[key] + taxline if key in group else (
                    taxline)
        all_taxes = {}
        for group in groups.values():
            if self.tax_rounding == 'document':
                model._round_taxes(group)
            for key, taxline in group.items():
                all_taxes[key] = all_taxes[key] + taxline if (
                    key in all_taxes) else taxline
        return [dict(taxline.values()) for taxline in all_taxes.values()]

    def write(self):
        "Number, post and write the drafts; return the invoice ids"
        drafts, self.drafts = self.drafts, []
        if not drafts:
            return []
        pool = Pool()
        Period = pool.get('account.period')
        period = Period.find(self.company, date=self.date)
        writer = BulkWriter()
        rows = _Rows(self, writer, drafts)
        sequences = self._numbers(drafts, period)
        move_numbers = self._move_numbers(len(drafts), period)
        for draft, invoice_id, move_id in zip(drafts,
                writer.allocate(rows.Invoice, len(drafts)),
                writer.allocate(rows.Move, len(drafts))):
            draft.id = invoice_id
            rows.invoice(draft, move_id, *next(sequences))
            rows.move(draft, move_id, next(move_numbers), period)
        rows.insert()
        rows.link_charges(drafts)
        rows.reconcile_zero()
        return [d.id for d in drafts]

    def _numbers(self, drafts, period):
        """Yield (sequence, number, sequence type) of drafts in order

        Each draft is numbered in the series Invoice._number_sequence
        picks for its type, LCO and place of supply."""
        by_key, by_sequence = {}, defaultdict(list)
        for draft in drafts:
            values = draft.values
            credit = (all(line['amount'] <= 0 for line in draft.lines)
                and draft.total_amount < 0)
            key = ('credit_note' if credit else 'invoice',
                values.get('rsoft_lco'), values.get('rsoft_place_of_supply'))
            if key not in by_key:
                by_key[key] = self._sequence(key[0], draft)
            sequence, date = by_key[key]
            by_sequence[sequence, date, key[0]].append(draft)
        _lock([s for s, _, _ in by_sequence] + [period.move_sequence_used])
        numbers = {}
        for (sequence, date, sequence_type), typed in by_sequence.items():
            with Transaction().set_context(
                    date=date, company=self.company.id):
                for draft, number in zip(
                        typed, sequence.get_many(len(typed))):
                    check_number(number)
                    numbers[draft] = (sequence.id, number, sequence_type)
        return (numbers[d] for d in drafts)

    def _sequence(self, sequence_type, draft):
        "Return the sequence and date to number draft of sequence_type"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Lang = pool.get('ir.lang')
        Partner = pool.get('rsoft.partner')
        Subdivision = pool.get('country.subdivision')
        lco = draft.values.get('rsoft_lco')
        state = draft.values.get('rsoft_place_of_supply')
        model = self.model
        model.sequence_type_cache = sequence_type
        model.rsoft_lco = Partner(lco) if lco else None
        model.rsoft_place_of_supply = Subdivision(state) if state else None
        sequence, date = model._number_sequence()
        # Tryton refuses to number before an invoice of a later date
        later = Invoice.search([
                ('sequence', '=', sequence.id),
                ('invoice_date', '>', date),
                ], limit=1, order=[('invoice_date', 'DESC')])
        if later:
            raise InvoiceNumberError(gettext(
                    'account_invoice.msg_invoice_number_after',
                    invoice=draft.values['description'],
                    sequence=sequence.rec_name,
                    date=Lang.get().strftime(date),
                    after_invoice=later[0].rec_name))
        return sequence, date

    def _move_numbers(self, count, period):
        sequence = period.move_sequence_used
        with Transaction().set_context(
                date=self.date, company=self.company.id):
            return iter(sequence.get_many(count))


def _lock(sequences):
    """Lock the strict sequences now, waiting for them

    Invoice and move numbers have no gaps: their sequence stays locked
    until the transaction commits. Tryton takes the lock when the
    transaction starts (and starts it again to do so), which would make
    the workers of a bill run wait for each other for their whole batch;
    here it is taken when the batch is computed, in a fixed order."""
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    by_table = defaultdict(set)
    for sequence in sequences:
        by_table[sequence._table].add(sequence.id)
    for table, ids in sorted(by_table.items()):
        if backend.name == 'postgresql':
            cursor.execute(
                f'SELECT 1 FROM "{table}" WHERE id = ANY(%s) '
                'ORDER BY id FOR UPDATE', (sorted(ids),))
        # What ModelSQL.lock checks: the records are locked
        transaction._locked_records[table].update(ids)


class _Rows:
    "The rows of the posted invoices, table by table"

    def __init__(self, batch, writer, drafts):
        pool = Pool()
        self.Invoice = pool.get('account.invoice')
        self.Line = pool.get('account.invoice.line')
        self.LineTax = pool.get('account.invoice.line-account.tax')
        self.InvoiceTax = pool.get('account.invoice.tax')
        self.Move = pool.get('account.move')
        self.MoveLine = pool.get('account.move.line')
        self.TaxLine = pool.get('account.tax.line')
        self.batch = batch
        self.writer = writer
        self.employee = Transaction().context.get('employee')
        self._tax_identifiers = {}
        self.tables = defaultdict(list)
        # One allocation per table: the counts are known
        self._line_ids = iter(writer.allocate(
                self.Line, sum(len(d.lines) for d in drafts)))
        self._tax_ids = iter(writer.allocate(
                self.InvoiceTax, sum(len(d.taxes) for d in drafts)))

    def invoice(self, draft, move_id, sequence, number, sequence_type):
        values = draft.values
        invoice = self.Invoice(number=number)
        self.tables[self.Invoice].append({
                **values,
                **invoice.compute_fields(['number']),
                'id': draft.id,
                'type': 'out',
                'state': 'posted',
                'number': number,
                'sequence': sequence,
                'sequence_type_cache': sequence_type,
                'move': move_id,
                'tax_identifier': self._tax_identifier(
                    values['invoice_address']),
                'posted_by': self.employee,
                'untaxed_amount_cache': draft.untaxed_amount,
                'tax_amount_cache': draft.tax_amount,
                'total_amount_cache': draft.total_amount,
                })
        for line, line_id in zip(draft.lines, self._line_ids):
            line['id'] = line_id
            taxes, _ = line['computed']
            self.tables[self.Line].append({
                    k: v for k, v in line.items()
                    if k not in {'amount', 'computed'}}
                | {'invoice': draft.id, 'type': 'line',
                    'company': self.batch.company.id,
                    'currency': self.batch.currency.id})
            self.tables[self.LineTax].extend(
                {'line': line_id, 'tax': t.id} for t in taxes)
        for tax, tax_id in zip(draft.taxes, self._tax_ids):
            tax['id'] = tax_id
            self.tables[self.InvoiceTax].append({
                    'id': tax_id, 'invoice': draft.id,
                    'description': tax['tax'].description,
                    'legal_notice': tax['tax'].legal_notice,
                    'base': tax['base'], 'amount': tax['amount'],
                    'tax': tax['tax'].id, 'account': tax['account'].id,
                    'manual': False,
                    })

    def _tax_identifier(self, address):
        "Return the company's tax identifier for the invoice address"
        if address not in self._tax_identifiers:
            invoice = self.Invoice(
                company=self.batch.company, invoice_address=address)
            identifier = invoice.get_tax_identifier()
            self._tax_identifiers[address] = (
                identifier.id if identifier else None)
        return self._tax_identifiers[address]

    def move(self, draft, move_id, number, period):
        batch = self.batch
        self.tables[self.Move].append({
                'id': move_id, 'company': batch.company.id,
                'journal': draft.values['journal'], 'period': period.id,
                'date': batch.date, 'number': number,
                'origin': f'account.invoice,{draft.id}',
                'state': 'posted', 'post_date': batch.today,
                'description': None,
                })
        party = draft.values['party']
        lines = []
        for line in draft.lines:
            _, computed = line['computed']
            bases = defaultdict(Decimal)
            for tax in computed:
                bases[tax['tax']] += batch.currency.round(tax['base'])
            lines.append((line['account'], line['amount'], None,
                    f'account.invoice.line,{line["id"]}', None,
                    [('base', tax, amount)
                        for tax, amount in bases.items()]))
        for tax in draft.taxes:
            if tax['amount']:
                lines.append((tax['account'].id, tax['amount'],
                        tax['tax'].description,
                        f'account.invoice.tax,{tax["id"]}', None,
                        [('tax', tax['tax'], tax['amount'])]))
        for date, amount in self._terms(draft):
            lines.append((draft.values['account'], -amount,
                    draft.values['description'], None, date, []))
        self._move_lines(move_id, lines, party)

    def _terms(self, draft):
        "Return the receivable (date, amount) as Invoice.get_move does"
        pool = Pool()
        PaymentTerm = pool.get('account.invoice.payment_term')
        batch = self.batch
        term = draft.values.get('payment_term')
        if term:
            return PaymentTerm(term).compute(
                draft.total_amount, batch.currency,
                draft.values['invoice_date'])
        return [(batch.today, draft.total_amount)]

    def _move_lines(self, move_id, lines, party):
        "Write lines: (account, credit, description, origin, date, taxes)"
        Account = Pool().get('account.account')
        balance = Decimal(0)
        for (account, credit, description, origin, date, taxes) in lines:
            balance += credit
            row = {
                    'id': None, 'move': move_id, 'account': account,
                    'debit': -credit if credit < 0 else Decimal(0),
                    'credit': credit if credit > 0 else Decimal(0),
                    'party': party if Account(account).party_required
                    else None,
                    'description': description, 'origin': origin,
                    'maturity_date': date, 'state': 'valid',
                    'amount_second_currency': None, 'second_currency': None,
                    'reconciliation': None,
                    }
            self.tables[self.MoveLine].append(row)
            # The move line's id is given when the rows are inserted
            self.tables[self.TaxLine].extend({
                    'id': None, 'move_line': row, 'type': type_,
                    'tax': tax.id, 'amount': amount,
                    } for type_, tax, amount in taxes)
        # By construction; a posted move must balance
        assert not balance, balance

    def insert(self):
        writer = self.writer
        for Model in [self.MoveLine, self.TaxLine, self.LineTax]:
            rows = self.tables[Model]
            for row, row_id in zip(rows, writer.allocate(Model, len(rows))):
                row['id'] = row_id
        for row in self.tables[self.TaxLine]:
            row['move_line'] = row['move_line']['id']
        # In the order of the foreign keys
        for Model in [self.Move, self.Invoice, self.Line, self.LineTax,
                self.InvoiceTax, self.MoveLine, self.TaxLine]:
            writer.insert(Model, self.tables[Model])

    def reconcile_zero(self):
        """Reconcile the empty receivable lines, as Move.post does

        The invoice of a free period is paid as soon as it is posted."""
        pool = Pool()
        Account = pool.get('account.account')
        zero = [row for row in self.tables[self.MoveLine]
            if not row['debit'] and not row['credit']
            and Account(row['account']).reconcile]
        if not zero:
            return
        lines = self.MoveLine.browse([row['id'] for row in zero])
        self.MoveLine.reconcile(*([line] for line in lines))
        self.Invoice.process(self.Invoice.browse([
                    row['id'] for row in self.tables[self.Invoice]
                    if not row['total_amount_cache']]))

    def link_charges(self, drafts):
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        pairs = [(charge.id, line['id'])
            for draft in drafts
            for charge, line in zip(draft.charges, draft.lines)]
        self.writer.update(Charge, 'invoice_line', pairs)
