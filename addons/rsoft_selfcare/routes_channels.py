"""The subscriber portal's channel pages: add and remove channels and
packs, or tick the channels wanted and take the best-fit advisor's offers

Every change is first shown with its new monthly amount (NCF slab and
tax) and made only when confirmed; it is then a subscription request of
rsoft_lco (the TRAI confirmation record: who, what, when, from where)
and its CAS commands are queued at once."""
from collections import defaultdict
from http import HTTPStatus

from trytond.pool import Pool
from trytond.protocols.wrappers import abort

from .catalogue import catalogue
from .routes_subscriber import amounts, subscriber_route

# The order of the catalogue on the page
KINDS = ['base_pack', 'addon_pack', 'broadcaster_bouquet', 'alacarte']


def _ids(values):
    return {int(v) for v in values if v.isdigit()}


def taken(connection, date):
    "Return the running channel offers of connection: {product: line}"
    return {line.product: line for line in connection.lines
        if line.state == 'active' and line.is_open(date)
        and line.product.template.rsoft_kind in KINDS}


def change_of(portal, connection, form, date):
    """Return (add, remove) posted in form: offers of the catalogue not
    taken, offers taken; anything else is refused (404)"""
    prices = catalogue(connection, date)
    running = taken(connection, date)
    by_id = {p.id: p for p in list(prices) + list(running)}
    add_ids, remove_ids = _ids(form.getlist('add')), _ids(form.getlist(
            'remove'))
    if (not add_ids <= {p.id for p in prices}
            or not remove_ids <= {p.id for p in running}):
        abort(HTTPStatus.NOT_FOUND)
    return ([by_id[i] for i in sorted(add_ids)],
        [by_id[i] for i in sorted(remove_ids)])


def _connection(portal, connection):
    return portal.scope.get('rsoft.connection', connection,
        [('state', '=', 'active')])


@subscriber_route('/channels')
def channels(portal):
    connections = portal.scope.search('rsoft.connection', [
            ('state', '=', 'active'),
            ], order=[('id', 'ASC')])
    if len(connections) == 1:
        return portal.redirect(f'/channels/{connections[0].id}')
    return portal.render('subscriber/connections.html',
        connections=connections)


@subscriber_route('/channels/<int:connection>')
def channel_page(portal, connection):
    Date = Pool().get('ir.date')
    today = Date.today()
    connection = _connection(portal, connection)
    prices = catalogue(connection, today)
    running = taken(connection, today)
    groups = defaultdict(list)
    for product, price in prices.items():
        if product not in running:
            groups[product.template.rsoft_kind].append((product, price))
    # The month as it stands is on the home page: this one lists and
    # prices every offer the LCO sells, the preview the month after
    return portal.render('subscriber/channels.html',
        connection=connection, running=running, prices=prices,
        groups=[(k, groups[k]) for k in KINDS if groups[k]])


@subscriber_route('/channels/<int:connection>/preview', methods=('POST',))
def channel_preview(portal, connection):
    "Show the change and its new monthly amount before it is made"
    pool = Pool()
    Date = pool.get('ir.date')
    Request = pool.get('rsoft.subscription.request')
    today = Date.today()
    connection = _connection(portal, connection)
    add, remove = change_of(portal, connection, portal.request.form, today)
    if not add and not remove:
        return portal.redirect(f'/channels/{connection.id}')
    request = Request.preview(connection, add=add, remove=remove,
        date=today)
    return _proposal(portal, connection, request, add=add, remove=remove)


def _proposal(portal, connection, request, **values):
    status = (HTTPStatus.OK if request.state == 'proposed'
        else HTTPStatus.UNPROCESSABLE_ENTITY)
    return portal.render('subscriber/channels_preview.html',
        connection=connection, request=request, status=status,
        before=amounts(request, 'before'),
        after=(amounts(request, 'after')
            if request.state == 'proposed' else None),
        **values)


@subscriber_route('/channels/<int:connection>/advisor',
    methods=('GET', 'POST'))
def advisor(portal, connection):
    """Tick the channels wanted; the advisor's cheapest offers for them
    are shown against the present ones"""
    pool = Pool()
    Date = pool.get('ir.date')
    Request = pool.get('rsoft.subscription.request')
    today = Date.today()
    connection = _connection(portal, connection)
    channels = channels_sold(connection, today)
    if portal.request.method == 'GET':
        watched = frozenset().union(*(p.get_offer_channel_ids()
                for p in taken(connection, today)))
        return portal.render('subscriber/advisor.html',
            connection=connection, channels=channels, wanted=watched)
    wanted = channels_of(portal.request.form, channels)
    if not wanted:
        return portal.render('subscriber/advisor.html',
            connection=connection, channels=channels, wanted=set(),
            error='sc_advisor_none', status=HTTPStatus.UNPROCESSABLE_ENTITY)
    request = Request.preview_advice(connection, wanted, date=today)
    return _proposal(portal, connection, request, wanted=wanted)


def channels_sold(connection, date):
    "Return the channels the connection may be given, by name"
    Channel = Pool().get('rsoft.channel')
    ids = frozenset().union(*(p.get_offer_channel_ids()
            for p in catalogue(connection, date)))
    return sorted(Channel.browse(sorted(ids)),
        key=lambda c: (c.rec_name, c.id))


def channels_of(form, channels):
    "Return the channels ticked in form, of channels; else 404"
    ids = _ids(form.getlist('channel'))
    by_id = {c.id: c for c in channels}
    if not ids <= set(by_id):
        abort(HTTPStatus.NOT_FOUND)
    return [by_id[i] for i in sorted(ids)]


@subscriber_route('/channels/<int:connection>/confirm', methods=('POST',))
def channel_confirm(portal, connection):
    "Make the change confirmed: a subscription request of the portal"
    pool = Pool()
    Date = pool.get('ir.date')
    Request = pool.get('rsoft.subscription.request')
    today = Date.today()
    connection = _connection(portal, connection)
    form = portal.request.form
    if form.get('kind') == 'advice':
        wanted = channels_of(form, channels_sold(connection, today))
        request = Request.submit(connection, channels=wanted,
            **_origin(portal), date=today)
    else:
        add, remove = change_of(portal, connection, form, today)
        request = Request.submit(connection, add=add, remove=remove,
            **_origin(portal), date=today)
    return portal.redirect(f'/requests/{request.id}')


def _origin(portal):
    request = portal.request
    return {
        'source': 'portal',
        'login': portal.login_name,
        'ip_address': request.remote_addr,
        'user_agent': (request.user_agent.string or '')[:200],
        }


@subscriber_route('/requests/<int:request_id>')
def request_page(portal, request_id):
    "The outcome of a change: done with its CAS commands, or refused"
    request = portal.scope.get('rsoft.subscription.request', request_id)
    # The commands the change queued, linked to it when it was made
    commands = portal.scope.search('rsoft.cas.command', [
            ('id', 'in', [c.id for c in request.cas_commands]),
            ], order=[('id', 'ASC')])
    return portal.render('subscriber/request.html', request=request,
        before=amounts(request, 'before'), after=amounts(request, 'after'),
        commands=commands)
