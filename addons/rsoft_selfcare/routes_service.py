"""The LCO portal's complaints, work orders and technicians' day lists

Each route is given a Portal (web.py): it reads only through
portal.scope, and business rules (docket, SLA clock, allocation, what a
completed order changes) stay in rsoft_workorder's models."""
import datetime
from http import HTTPStatus

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.protocols.wrappers import abort

from .routes_stock import PAGE_SIZE, _date_arg, _page, _pages, _record
from .web import route

# The lists' filters: what each shows
COMPLAINT_FILTERS = {
    'open': [('state', 'in', ['open', 'assigned', 'in_progress',
                'reopened'])],
    'due_soon': [('due_soon', '=', True)],
    'breached': [('breached', '=', True),
        ('state', 'in', ['open', 'assigned', 'in_progress', 'reopened'])],
    'all': [],
    }
ORDER_FILTERS = {
    'open': [('state', 'in', ['draft', 'allocated', 'started', 'failed'])],
    'due_soon': [('due_soon', '=', True)],
    'breached': [('breached', '=', True),
        ('state', 'in', ['draft', 'allocated', 'started', 'failed'])],
    'all': [],
    }
# The categories a clerk may lodge: relocation is a request with its own
# work order, lodged by the back office with the new address
PORTAL_CATEGORIES = ['no_signal', 'channel_missing', 'billing',
    'stb_fault', 'other']
MAX_TEXT = 1000


def _filter(portal, filters):
    value = portal.request.args.get('show', 'open')
    return value if value in filters else 'open'


def _text(form, name):
    return (form.get(name) or '').strip()[:MAX_TEXT]


def _technicians(portal):
    "The LCO's own technicians, those a clerk may give work to"
    return portal.scope.search('rsoft.technician', [],
        order=[('name', 'ASC')])


@route('/subscribers/<int:subscriber>/complaint', methods=('GET', 'POST'))
def complaint_new(portal, subscriber):
    pool = Pool()
    Complaint = pool.get('rsoft.complaint')
    scope = portal.scope
    subscriber = scope.get('rsoft.subscriber', subscriber)
    connections = scope.search('rsoft.connection', [
            ('subscriber', '=', subscriber.id),
            ('state', '!=', 'terminated'),
            ], order=[('code', 'ASC')])
    categories = [(c, label) for c, label in Complaint.fields_get(
            ['category'])['category']['selection']
        if c in PORTAL_CATEGORIES]
    devices = scope.search('stock.lot', [
            ('connection', 'in', [c.id for c in connections]),
            ], order=[('number', 'ASC')])
    values = {'subscriber': subscriber, 'connections': connections,
        'devices': devices, 'categories': categories, 'form': {}}
    if portal.request.method == 'GET':
        return portal.render('complaint_new.html', **values)
    form = portal.request.form
    values['form'] = form
    connection = _record(portal, 'rsoft.connection', form, 'connection',
        [('subscriber', '=', subscriber.id)])
    category = form.get('category')
    device = None
    if form.get('device'):
        device = _record(portal, 'stock.lot', form, 'device',
            [('connection', '=', connection.id if connection else -1)])
    if not connection or category not in PORTAL_CATEGORIES:
        return portal.render('complaint_new.html',
            error='complaint_invalid',
            status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
    try:
        complaint = Complaint.lodge(connection, category,
            _text(form, 'description'), channel='lco_portal', device=device)
    except UserError as error:
        return portal.refuse('complaint_new.html', error, **values)
    return portal.redirect(f'/complaints/{complaint.id}')


def _listing(portal, model, filters, order):
    "Return the values of a list page of model: its filter, page, records"
    show = _filter(portal, filters)
    page = _page(portal)
    total = portal.scope.count(model, filters[show])
    records = portal.scope.search(model, filters[show],
        offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, order=order)
    return {'records': records, 'show': show, 'filters': list(filters),
        'total': total, 'page': page, 'pages': _pages(total)}


@route('/complaints')
def complaints(portal):
    return portal.render('complaint_list.html', **_listing(
            portal, 'rsoft.complaint', COMPLAINT_FILTERS,
            [('due_at', 'ASC NULLS LAST'), ('id', 'DESC')]))


@route('/complaints/<int:complaint>', methods=('GET', 'POST'))
def complaint(portal, complaint):
    pool = Pool()
    Complaint = pool.get('rsoft.complaint')
    scope = portal.scope
    complaint = scope.get('rsoft.complaint', complaint)
    values = {
        'complaint': complaint,
        'technicians': _technicians(portal),
        'resolutions': [(c, label) for c, label in Complaint.fields_get(
                ['resolution_code'])['resolution_code']['selection'] if c],
        'events': scope.search('rsoft.service.event', [
                ('complaint', '=', complaint.id),
                ], order=[('timestamp', 'DESC'), ('id', 'DESC')]),
        'form': {},
        }
    if portal.request.method == 'GET':
        return portal.render('complaint.html', **values)
    form = portal.request.form
    values['form'] = form
    step = form.get('step')
    try:
        if step == 'assign':
            technician = _record(portal, 'rsoft.technician', form,
                'technician')
            if not technician:
                return portal.render('complaint.html',
                    error='technician_missing',
                    status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
            Complaint.assign([complaint], technician)
        elif step == 'resolve':
            code = form.get('code')
            if code not in dict(values['resolutions']):
                return portal.render('complaint.html',
                    error='resolution_missing',
                    status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
            Complaint.resolve([complaint], code, _text(form, 'note'))
        elif step == 'work_order':
            order, = Complaint.make_work_order([complaint])
            return portal.redirect(f'/work-orders/{order.id}')
        else:
            return portal.render('complaint.html', error='step_unknown',
                status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
    except UserError as error:
        return portal.refuse('complaint.html', error, **values)
    return portal.redirect(f'/complaints/{complaint.id}')


@route('/work-orders')
def work_orders(portal):
    # By area and building: a round is planned street by street
    return portal.render('work_order_list.html', **_listing(
            portal, 'rsoft.work_order', ORDER_FILTERS,
            [('area', 'ASC NULLS LAST'), ('building', 'ASC'),
                ('due_at', 'ASC NULLS LAST'), ('id', 'ASC')]),
        technicians=_technicians(portal))


@route('/work-orders/allocate', methods=('POST',))
def allocate(portal):
    "Allocate the orders ticked on the list: to a technician or by rule"
    pool = Pool()
    WorkOrder = pool.get('rsoft.work_order')
    form = portal.request.form
    ids = form.getlist('order')[:PAGE_SIZE]
    if not ids or not all(i.isdigit() for i in ids):
        abort(HTTPStatus.UNPROCESSABLE_ENTITY)
    # Every order is checked before any is allocated
    orders = [portal.scope.get('rsoft.work_order', int(i))
        for i in dict.fromkeys(ids)]
    technician = None
    if form.get('technician'):
        technician = _record(portal, 'rsoft.technician', form, 'technician')
        if not technician:
            abort(HTTPStatus.UNPROCESSABLE_ENTITY)
    try:
        WorkOrder.allocate(orders, technician)
    except UserError as error:
        return portal.refuse('work_order_list.html', error, records=orders,
            show='open', filters=list(ORDER_FILTERS), total=len(orders),
            page=1, pages=1, technicians=_technicians(portal))
    return portal.redirect('/work-orders')


@route('/work-orders/<int:order>', methods=('GET', 'POST'))
def work_order(portal, order):
    pool = Pool()
    WorkOrder = pool.get('rsoft.work_order')
    scope = portal.scope
    order = scope.get('rsoft.work_order', order)
    values = {
        'order': order,
        'technicians': _technicians(portal),
        'events': scope.search('rsoft.service.event', [
                ('work_order', '=', order.id),
                ], order=[('timestamp', 'DESC'), ('id', 'DESC')]),
        'form': {},
        }
    if portal.request.method == 'GET':
        return portal.render('work_order.html', **values)
    form = portal.request.form
    values['form'] = form
    step = form.get('step')
    try:
        if step == 'allocate':
            technician = None
            if form.get('technician'):
                technician = _record(portal, 'rsoft.technician', form,
                    'technician')
                if not technician:
                    return portal.render('work_order.html',
                        error='technician_missing',
                        status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
            WorkOrder.allocate([order], technician)
        elif step == 'start':
            WorkOrder.start([order])
        elif step == 'complete':
            WorkOrder.complete([order], serials=_text(form, 'serials'),
                notes=_text(form, 'notes'))
        elif step == 'fail':
            reason = _text(form, 'reason')
            if not reason:
                return portal.render('work_order.html',
                    error='failure_reason_missing',
                    status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
            WorkOrder.fail([order], reason)
        else:
            return portal.render('work_order.html', error='step_unknown',
                status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
    except UserError as error:
        return portal.refuse('work_order.html', error, **values)
    back = form.get('back')
    if back == 'day' and order.technician:
        return portal.redirect(f'/technicians/{order.technician.id}/day'
            f'?date={order.planned_date.isoformat()}')
    return portal.redirect(f'/work-orders/{order.id}')


@route('/technicians')
def technicians(portal):
    pool = Pool()
    Date = pool.get('ir.date')
    Technician = pool.get('rsoft.technician')
    today = Date.today()
    records = _technicians(portal)
    return portal.render('technician_list.html', technicians=records,
        loads=Technician.loads(records, today), today=today)


@route('/technicians/<int:technician>/day')
def technician_day(portal, technician):
    "The technician's round of a day, on a phone"
    pool = Pool()
    Date = pool.get('ir.date')
    technician = portal.scope.get('rsoft.technician', technician)
    today = Date.today()
    date = _date_arg(portal, 'date', today) or today
    orders = technician.day_list(date)
    # Through the scope as every query: only the LCO's own orders
    scoped = set(portal.scope.search('rsoft.work_order', [
                ('id', 'in', [o.id for o in orders]),
                ]))
    orders = [o for o in orders if o in scoped]
    return portal.render('technician_day.html', technician=technician,
        orders=orders, date=date,
        previous=date - datetime.timedelta(days=1),
        next=date + datetime.timedelta(days=1))
