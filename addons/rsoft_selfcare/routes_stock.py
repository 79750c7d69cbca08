"""The LCO portal's devices, wallet and reports

Each route is given a Portal (web.py): it reads only through
portal.scope, and business rules stay in the models it calls."""
import datetime
import re
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from io import BytesIO

import xlsxwriter

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.protocols.wrappers import Response
from trytond.tools import escape_wildcard
from trytond.transaction import Transaction

from .web import route, translate

PAGE_SIZE = 20
EXPIRY_DAYS = 3
# The most days the expiring report looks ahead
MAX_EXPIRY_DAYS = 90
SERVICEABLE = ['in_stock', 'allocated', 'installed']
IN_STOCK = ['in_stock', 'allocated']
# What the portal installs; a lease (deposit and term) stays with the
# back office
PORTAL_OWNERSHIPS = ['sold', 'rented']
OWNERSHIP_OFFERS = {'sold': 'stb_sale', 'rented': 'stb_rental'}
# How an LCO pays the MSO what it declares: money that leaves a trace
TOP_UP_KINDS = ['bank_transfer', 'upi']
XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
# What an LCO sees of its settlements: drafts are the MSO's work
SETTLEMENT_STATES = ['posted', 'reversed']


# Forms and arguments

def _page(portal):
    return max(portal.request.args.get('page', 1, type=int) or 1, 1)


def _pages(total):
    return max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)


def _date_arg(portal, name, default):
    "Return the ISO date argument name, default if absent, None if invalid"
    value = portal.request.args.get(name, '').strip()
    if not value:
        return default
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def _amount(text):
    "Return the positive amount typed, or None"
    try:
        amount = Decimal((text or '').strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0:
        return None
    return amount


def _record(portal, model, form, name, domain=None):
    "Return the record of model whose id the form gives, or None"
    value = form.get(name, '').strip()
    if not value.isdigit():
        return None
    return portal.scope.get(model, int(value), domain)


def _kind(kind):
    return [('product.template.rsoft_device_kind', '=', kind)]


def _stock(lco, kind=None, unpaired=False):
    """Return the domain of the devices (of kind) in lco's stock, free to
    go"""
    domain = (_kind(kind) if kind else [
            ('product.template.rsoft_device_kind', '!=', None)]) + [
        ('holder', '=', lco.id),
        ('current_location', '=',
            lco.stock_location.id if lco.stock_location else -1),
        ('connection', '=', None),
        ('device_state', 'in', IN_STOCK),
        ]
    if unpaired:
        domain.append(('paired_device', '=', None))
    return domain


# Spreadsheets

def _sheet(name, columns, rows):
    """Return the XLSX of rows under the header of columns, (text, kind)
    with kind text, integer, amount or date: numbers stay numbers"""
    output = BytesIO()
    # Names and references are typed by people: keep them as text
    workbook = xlsxwriter.Workbook(output, {
            'in_memory': True,
            'strings_to_formulas': False,
            'strings_to_urls': False,
            'strings_to_numbers': False,
            })
    bold = workbook.add_format({'bold': True})
    formats = {
        'amount': workbook.add_format({'num_format': '#,##0.00'}),
        'date': workbook.add_format({'num_format': 'yyyy-mm-dd'}),
        'integer': None,
        }
    sheet = workbook.add_worksheet(re.sub(r'[\[\]:*?/\\]', ' ', name)[:31])
    sheet.write_row(0, 0, [header for header, _ in columns], bold)
    for column, (header, kind) in enumerate(columns):
        sheet.set_column(column, column, max(len(header) + 2,
                {'text': 24, 'date': 12}.get(kind, 14)))
    for row, values in enumerate(rows, 1):
        for column, ((_, kind), value) in enumerate(zip(columns, values)):
            if value is None or value == '':
                continue
            if kind == 'link':
                value, _ = value
            if kind in {'amount', 'integer'}:
                sheet.write_number(row, column, float(value), formats[kind])
            elif kind == 'date':
                sheet.write_datetime(row, column,
                    datetime.datetime.combine(value, datetime.time()),
                    formats['date'])
            else:
                sheet.write_string(row, column, str(value))
    sheet.freeze_panes(1, 0)
    workbook.close()
    return output.getvalue()


def _report(portal, name, columns, fetch, total, filters=None,
        totals=None, error=None, title=None):
    """Render the report name: on screen, a page of fetch(offset, limit);
    with ?format=xlsx, all its rows as a spreadsheet

    totals are the rows that end the report."""
    pool = Pool()
    Date = pool.get('ir.date')
    if error:
        return portal.render('report_table.html', name=name,
            columns=columns, rows=[], totals=[], filters=filters or {},
            page=1, pages=1, total=0, error=error,
            status=HTTPStatus.UNPROCESSABLE_ENTITY)
    if portal.request.args.get('format') == 'xlsx':
        content = _sheet(title or translate(f'report_{name}'), columns,
            list(fetch(0, None)) + list(totals or []))
        filename = f'{name}-{Date.today().isoformat()}.xlsx'
        return Response(content, content_type=XLSX, headers={
                'Content-Disposition': f'attachment; filename="{filename}"',
                'Cache-Control': 'no-store',
                })
    page = _page(portal)
    rows = fetch((page - 1) * PAGE_SIZE, PAGE_SIZE)
    return portal.render('report_table.html', name=name, columns=columns,
        title=title, rows=[_cells(portal, columns, r) for r in rows],
        totals=[_cells(portal, columns, r) for r in totals or []],
        filters=filters or {}, page=page, pages=_pages(total), total=total)


def _cells(portal, columns, values):
    """Return the values of a row as the page shows them: (kind, text,
    path of its link or None); a link's value is (text, path)"""
    currency = portal.scope.lco.company.currency
    cells = []
    for (_, kind), value in zip(columns, values):
        path = None
        if kind == 'link':
            value, path = value
        if kind == 'amount':
            text = portal.format_amount(value, currency) if value else ''
        elif kind == 'date':
            text = portal.format_date(value)
        else:
            text = '' if value is None else str(value)
        cells.append((kind, text, path))
    return cells


def _listed(rows):
    "Return fetch(offset, limit) over rows computed already"
    def fetch(offset, limit):
        return rows[offset:offset + limit if limit else None]
    return fetch


# Devices

@route('/devices')
def devices(portal):
    scope = portal.scope
    request = portal.request
    query = request.args.get('q', '').strip()[:100]
    where = request.args.get('where', 'stock')
    if where not in {'stock', 'installed', 'all'}:
        where = 'stock'
    page = _page(portal)
    domain = [('product.template.rsoft_device_kind', '!=', None)]
    if where == 'stock':
        domain.append(('connection', '=', None))
    elif where == 'installed':
        domain.append(('connection', '!=', None))
    if query:
        domain.append(
            ('number', 'ilike', f'%{escape_wildcard(query)}%'))
    total = scope.count('stock.lot', domain)
    records = scope.search('stock.lot', domain,
        offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
        order=[('number', 'ASC'), ('id', 'ASC')])
    return portal.render('device_list.html', query=query, where=where,
        devices=records, total=total, page=page, pages=_pages(total))


@route('/devices/<int:device>')
def device(portal, device):
    scope = portal.scope
    device = scope.get('stock.lot', device)
    events = scope.search('rsoft.device.event', [
            ('device', '=', device.id),
            ], order=[('date', 'DESC'), ('id', 'DESC')], limit=100)
    return portal.render('device.html', device=device, events=events)


@route('/devices/<int:device>/pair', methods=('GET', 'POST'))
def pair(portal, device):
    pool = Pool()
    Lot = pool.get('stock.lot')
    scope = portal.scope
    stb = scope.get('stock.lot', device, _kind('stb'))
    # A card where the box is, free, that may serve
    cards = scope.search('stock.lot', _kind('smartcard') + [
            ('current_location', '=',
                stb.current_location.id if stb.current_location else -1),
            ('connection', '=', stb.connection.id if stb.connection else None),
            ('paired_device', '=', None),
            ('device_state', 'in', SERVICEABLE),
            ], order=[('number', 'ASC')])
    values = {'device': stb, 'cards': cards}
    if portal.request.method == 'GET':
        return portal.render('device_pair.html', **values)
    form = portal.request.form
    values['form'] = form
    card = _record(portal, 'stock.lot', form, 'card', _kind('smartcard'))
    if not card:
        return portal.render('device_pair.html', error='device_card_missing',
            status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
    try:
        Lot.pair(stb, card)
    except UserError as error:
        return portal.refuse('device_pair.html', error, **values)
    return portal.redirect(f'/devices/{stb.id}')


@route('/connections/<int:connection>/install', methods=('GET', 'POST'))
def install(portal, connection):
    pool = Pool()
    Lot = pool.get('stock.lot')
    scope = portal.scope
    connection = scope.get('rsoft.connection', connection)
    # The devices come from the stock of the connection's own LCO
    lco = connection.subscriber.lco
    values = {
        'connection': connection,
        'boxes': scope.search('stock.lot', _stock(lco, 'stb'),
            order=[('number', 'ASC')]),
        'cards': scope.search('stock.lot', _stock(lco, 'smartcard', True),
            order=[('number', 'ASC')]),
        'offers': scope.search('product.product', [
                ('template.rsoft_kind', 'in',
                    list(OWNERSHIP_OFFERS.values())),
                ], order=[('id', 'ASC')]),
        'ownerships': [(o, label) for o, label in
            Lot.fields_get(['ownership'])['ownership']['selection']
            if o in PORTAL_OWNERSHIPS],
        }
    if portal.request.method == 'GET':
        return portal.render('device_install.html', **values)
    form = portal.request.form
    values['form'] = form
    stb = _record(portal, 'stock.lot', form, 'stb', _kind('stb'))
    card = _record(portal, 'stock.lot', form, 'card', _kind('smartcard'))
    offer = _record(portal, 'product.product', form, 'offer', [
            ('template.rsoft_kind', 'in', list(OWNERSHIP_OFFERS.values())),
            ])
    ownership = form.get('ownership')
    if not stb or ownership not in PORTAL_OWNERSHIPS:
        return portal.render('device_install.html',
            error='device_install_invalid',
            status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
    try:
        connection.install(stb, card, ownership=ownership, offer=offer)
    except UserError as error:
        return portal.refuse('device_install.html', error, **values)
    return portal.redirect(f'/devices/{stb.id}')


@route('/connections/<int:connection>/swap', methods=('GET', 'POST'))
def swap(portal, connection):
    scope = portal.scope
    connection = scope.get('rsoft.connection', connection)
    lco = connection.subscriber.lco
    values = {
        'connection': connection,
        'installed': scope.search('stock.lot', [
                ('connection', '=', connection.id),
                ], order=[('number', 'ASC')]),
        'replacements': scope.search('stock.lot', _stock(lco, None, True),
            order=[('number', 'ASC')]),
        }
    if portal.request.method == 'GET':
        return portal.render('device_swap.html', **values)
    form = portal.request.form
    values['form'] = form
    old = _record(portal, 'stock.lot', form, 'old', [
            ('connection', '=', connection.id)])
    new = _record(portal, 'stock.lot', form, 'new')
    note = form.get('note', '').strip()[:100]
    if not old or not new or not note:
        return portal.render('device_swap.html', error='device_swap_invalid',
            status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
    try:
        connection.swap(old, new, note)
    except UserError as error:
        return portal.refuse('device_swap.html', error, **values)
    return portal.redirect(f'/devices/{new.id}')


# Wallet

def _ledger(portal, domain, order):
    "Return fetch(offset, limit) of the rows of the LCO's wallet entries"
    scope = portal.scope
    domain = [('wallet.partner', '=', scope.lco.id)] + domain

    def fetch(offset, limit):
        return [(e.date, e.description,
                -e.amount if e.amount < 0 else None,
                e.amount if e.amount > 0 else None,
                e.balance)
            for e in scope.search('rsoft.wallet.entry', domain,
                offset=offset, limit=limit, order=order)]
    return fetch, scope.count('rsoft.wallet.entry', domain)


def _ledger_columns():
    return [(translate('date'), 'date'), (translate('wallet_description'),
            'text'), (translate('wallet_debit'), 'amount'),
        (translate('wallet_credit'), 'amount'),
        (translate('wallet_balance'), 'amount')]


@route('/wallet')
def wallet(portal):
    lco = portal.scope.lco
    page = _page(portal)
    fetch, total = _ledger(portal, [], [('date', 'DESC'), ('id', 'DESC')])
    return portal.render('wallet.html', lco=lco,
        mode=portal.selection(lco, 'wallet_mode'),
        currency=lco.company.currency, columns=_ledger_columns(),
        rows=[_cells(portal, _ledger_columns(), r)
            for r in fetch((page - 1) * PAGE_SIZE, PAGE_SIZE)],
        page=page, pages=_pages(total), total=total)


@route('/wallet/top-up', methods=('GET', 'POST'))
def top_up(portal):
    pool = Pool()
    Date = pool.get('ir.date')
    TopUp = pool.get('rsoft.lco.top_up')
    scope = portal.scope
    lco = scope.lco
    methods = scope.search('rsoft.payment.method', [
            ('kind', 'in', TOP_UP_KINDS),
            ], order=[('name', 'ASC')])

    def render(**values):
        return portal.render('wallet_top_up.html', methods=methods,
            top_ups=scope.search('rsoft.lco.top_up', [
                    ('partner', '=', lco.id),
                    ], order=[('date', 'DESC'), ('id', 'DESC')], limit=50),
            currency=lco.company.currency, **values)
    if portal.request.method == 'GET':
        return render()
    form = portal.request.form
    amount = _amount(form.get('amount'))
    method = _record(portal, 'rsoft.payment.method', form, 'method',
        [('kind', 'in', TOP_UP_KINDS)])
    reference = form.get('reference', '').strip()[:100]
    if not amount or not method or not reference:
        return render(form=form, error='wallet_top_up_invalid',
            status=HTTPStatus.UNPROCESSABLE_ENTITY)
    # A request only: the MSO's accounts post it (which numbers the
    # receipt and credits the wallet) once they see the money
    try:
        TopUp.create([{
                    'company': lco.company.id, 'partner': lco.id,
                    'currency': lco.company.currency.id,
                    'amount': amount, 'method': method.id,
                    'reference': reference, 'date': Date.today(),
                    }])
    except UserError as error:
        return render(form=form, message=portal.undo(error),
            status=HTTPStatus.UNPROCESSABLE_ENTITY)
    return portal.redirect('/wallet/top-up')


# Reports

@route('/reports')
def reports(portal):
    return portal.render('report_index.html')


def _period(portal):
    "Return (from, to) of the arguments, this month by default, or None"
    pool = Pool()
    Date = pool.get('ir.date')
    today = Date.today()
    start = _date_arg(portal, 'from', today.replace(day=1))
    end = _date_arg(portal, 'to', today)
    if not start or not end or start > end:
        return None
    return start, end


def _cash_up(portal, model, start, end):
    """Return the cash-up rows of model (the back office's report) of the
    LCO's payments of the days, the deposits counted up to today"""
    pool = Pool()
    Date = pool.get('ir.date')
    with Transaction().set_context(
            from_date=start, to_date=end, as_of=Date.today()):
        return portal.scope.search(model, [])


@route('/reports/collections')
def report_collections(portal):
    columns = [(translate('date'), 'date'), (translate('method'), 'text'),
        (translate('report_receipts'), 'integer'),
        (translate('report_collected'), 'amount')]
    period = _period(portal)
    if not period:
        return _report(portal, 'collections', columns, None, 0,
            error='report_invalid', filters={'from': '', 'to': ''})
    start, end = period
    records = sorted(_cash_up(
            portal, 'rsoft.collection.cash_up.lco', start, end),
        key=lambda r: (r.date, r.kind))
    rows, by_mode = [], {}
    for record in records:
        mode = portal.selection(record, 'kind')
        rows.append((record.date, mode, record.count, record.collected))
        count, amount = by_mode.get(mode, (0, Decimal(0)))
        by_mode[mode] = (count + record.count, amount + record.collected)
    totals = [(None, translate('report_total_mode', mode=mode), *figures)
        for mode, figures in sorted(by_mode.items())]
    totals.append((None, translate('report_total'),
            sum(r[2] for r in rows), sum((r[3] for r in rows), Decimal(0))))
    return _report(portal, 'collections', columns, _listed(rows), len(rows),
        filters={'from': start.isoformat(), 'to': end.isoformat()},
        totals=totals)


@route('/reports/cash-up')
def report_cash_up(portal):
    pool = Pool()
    Date = pool.get('ir.date')
    names = ['count', 'collected', 'electronic', 'deposited', 'missing',
        'reversed']
    columns = [(translate('report_collector'), 'text'),
        (translate('method'), 'text'),
        *((translate(f'report_{n}' if n != 'count' else 'report_receipts'),
                'integer' if n == 'count' else 'amount') for n in names)]
    date = _date_arg(portal, 'date', Date.today())
    if not date:
        return _report(portal, 'cash_up', columns, None, 0,
            error='report_invalid', filters={'date': ''})
    records = sorted(_cash_up(portal, 'rsoft.collection.cash_up', date, date),
        key=lambda r: (r.collector.rec_name if r.collector else '', r.kind))
    rows = [(r.collector.rec_name if r.collector else '',
            portal.selection(r, 'kind'), *(getattr(r, n) for n in names))
        for r in records]
    totals = [(translate('report_total'), None,
            *(sum((r[i] for r in rows), 0) for i in range(2, 2 + len(names))))]
    return _report(portal, 'cash_up', columns, _listed(rows), len(rows),
        filters={'date': date.isoformat()}, totals=totals)


@route('/reports/expiring')
def report_expiring(portal):
    pool = Pool()
    Date = pool.get('ir.date')
    scope = portal.scope
    columns = [(translate('report_end_date'), 'date'),
        (translate('customer_id'), 'text'), (translate('name'), 'text'),
        (translate('mobile'), 'text'), (translate('offer'), 'text')]
    days = portal.request.args.get('days', EXPIRY_DAYS, type=int)
    if days is None or not 0 <= days <= MAX_EXPIRY_DAYS:
        return _report(portal, 'expiring', columns, None, 0,
            error='report_invalid', filters={'days': ''})
    today = Date.today()
    # As the dashboard counts them
    domain = [
        ('state', '=', 'active'),
        ('end_date', '>=', today),
        ('end_date', '<=', today + datetime.timedelta(days=days)),
        ]

    def fetch(offset, limit):
        return [(line.end_date, line.connection.subscriber.customer_id,
                line.connection.subscriber.party.name,
                line.connection.subscriber.mobile or '', line.product.rec_name)
            for line in scope.search('rsoft.subscription.line', domain,
                offset=offset, limit=limit,
                order=[('end_date', 'ASC'), ('id', 'ASC')])]
    return _report(portal, 'expiring', columns, fetch,
        scope.count('rsoft.subscription.line', domain),
        filters={'days': days})


@route('/reports/active')
def report_active(portal):
    scope = portal.scope
    columns = [(translate('customer_id'), 'text'),
        (translate('name'), 'text'), (translate('mobile'), 'text'),
        (translate('report_packs'), 'text')]
    domain = [('state', '=', 'active')]

    def fetch(offset, limit):
        subscribers = scope.search('rsoft.subscriber', domain,
            offset=offset, limit=limit, order=[('customer_id', 'ASC')])
        packs = {s.id: [] for s in subscribers}
        for line in scope.search('rsoft.subscription.line', [
                    ('connection.subscriber', 'in', list(packs)),
                    ('state', '=', 'active'),
                    ], order=[('id', 'ASC')]):
            packs[line.connection.subscriber.id].append(line.product.rec_name)
        return [(s.customer_id, s.party.name, s.mobile or '',
                ', '.join(sorted(set(packs[s.id])))) for s in subscribers]
    return _report(portal, 'active', columns, fetch,
        scope.count('rsoft.subscriber', domain))


@route('/reports/wallet')
def report_wallet(portal):
    columns = _ledger_columns()
    period = _period(portal)
    if not period:
        return _report(portal, 'wallet', columns, None, 0,
            error='report_invalid', filters={'from': '', 'to': ''})
    start, end = period
    # In the order the running balance was kept
    fetch, total = _ledger(portal, [
            ('date', '>=', start), ('date', '<=', end),
            ], [('date', 'ASC'), ('id', 'ASC')])
    return _report(portal, 'wallet', columns, fetch, total,
        filters={'from': start.isoformat(), 'to': end.isoformat()})


@route('/reports/settlements')
def report_settlements(portal):
    "The LCO's monthly settlements with the MSO, as posted"
    scope = portal.scope
    columns = [(translate('report_month'), 'link'),
        (translate('report_state'), 'text'),
        (translate('report_share'), 'amount'),
        (translate('report_collection'), 'amount'),
        (translate('report_net'), 'amount')]
    domain = [('state', 'in', SETTLEMENT_STATES)]

    def fetch(offset, limit):
        return [((portal.format_month(s.period_start),
                    f'/reports/settlements/{s.id}'),
                portal.selection(s, 'state'), s.share_amount,
                s.collection_amount, s.net_amount)
            for s in scope.search('rsoft.lco.settlement', domain,
                offset=offset, limit=limit,
                order=[('period_start', 'DESC'), ('id', 'DESC')])]
    return _report(portal, 'settlements', columns, fetch,
        scope.count('rsoft.lco.settlement', domain))


@route('/reports/settlements/<int:settlement>')
def report_settlement(portal, settlement):
    "A settlement statement: each line as it was worked out"
    settlement = portal.scope.get('rsoft.lco.settlement', settlement,
        [('state', 'in', SETTLEMENT_STATES)])
    columns = [(translate('report_kind'), 'text'),
        (translate('report_explanation'), 'text'),
        (translate('report_base'), 'amount'),
        (translate('report_amount'), 'amount')]
    rows = [(portal.selection(line, 'kind'), line.description, line.base,
            line.amount) for line in settlement.lines]
    totals = [(translate('report_share'), None, None,
            settlement.share_amount),
        (translate('report_collection'), None, None,
            settlement.collection_amount),
        (translate('report_net'), None, None, settlement.net_amount)]
    return _report(portal, 'settlement', columns, _listed(rows), len(rows),
        totals=totals, title=translate('report_settlement_of',
            month=portal.format_month(settlement.period_start),
            state=portal.selection(settlement, 'state')))
