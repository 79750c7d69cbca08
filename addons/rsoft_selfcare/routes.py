"""The pages of the LCO portal

Each route is given a Portal (web.py): it reads only through
portal.scope, and business rules stay in the models it calls."""
import datetime
from decimal import Decimal, InvalidOperation
from http import HTTPStatus

from trytond.exceptions import RateLimitException, UserError
from trytond.modules.rsoft_cas.command import PENDING
from trytond.pool import Pool
from trytond.protocols.wrappers import Response, abort

from .web import SESSION_COOKIE, route

PAGE_SIZE = 20
EXPIRY_DAYS = 3
FAILED = ['rejected', 'failed']
COLLECTED = ['received', 'deposited', 'cleared']
BILLED = ['posted', 'paid']
# The ways an LCO collects at the door (a cheque with its number as the
# reference); cards stay with the back office, gateways with the
# subscriber portal
COLLECT_KINDS = ['cash', 'upi', 'cheque', 'bank_transfer']


@route('/login', methods=('GET', 'POST'), login=False)
def login(portal):
    pool = Pool()
    WebUser = pool.get('web.user')
    Session = pool.get('web.user.session')
    Attempt = pool.get('rsoft.selfcare.login.attempt')
    request = portal.request
    if request.method == 'GET':
        if portal.session:
            return portal.redirect('/')
        return portal.render('login.html')
    email = request.form.get('email', '').strip().lower()
    password = request.form.get('password', '')
    ip_address = request.remote_addr
    if Attempt.locked(email, ip_address):
        return portal.render('login.html', email=email,
            error='login_locked', status=HTTPStatus.TOO_MANY_REQUESTS)
    try:
        user = WebUser.authenticate(email, password)
    except RateLimitException:
        # web_user's own rate limit: its flood protection
        user = None
    if not user or not user.rsoft_portal_lco:
        Attempt.add(email, ip_address)
        return portal.render('login.html', email=email,
            error='login_failed', status=HTTPStatus.UNAUTHORIZED)
    Attempt.clear(email)
    # A session of its own at each login: a key planted before it
    # (session fixation) or seen on another device does not carry over
    previous = Session.get_portal_session(
        request.cookies.get(SESSION_COOKIE), portal.name)
    if previous:
        Session.delete([previous])
    session = Session.new_portal_session(user, portal.name)
    response = portal.redirect('/')
    portal.set_cookie(response, SESSION_COOKIE, session.key)
    return response


@route('/logout', methods=('POST',))
def logout(portal):
    pool = Pool()
    Session = pool.get('web.user.session')
    Session.end_portal_sessions(portal.user, portal.name)
    response = portal.redirect('/login')
    portal.delete_cookie(response, SESSION_COOKIE)
    return response


@route('/')
def dashboard(portal):
    pool = Pool()
    Date = pool.get('ir.date')
    scope = portal.scope
    today = Date.today()
    # Counted by the database: an LCO may have tens of thousands of lines
    expiring = scope.count('rsoft.subscriber', [
            ('connections', 'where', [
                    ('lines', 'where', [
                            ('state', '=', 'active'),
                            ('end_date', '>=', today),
                            ('end_date', '<=',
                                today + datetime.timedelta(days=EXPIRY_DAYS)),
                            ]),
                    ]),
            ])
    collected = scope.search('rsoft.payment', [
            ('date', '=', today),
            ('state', 'in', COLLECTED),
            ])
    figures = {
        'active': scope.count('rsoft.subscriber', [('state', '=', 'active')]),
        'suspended': scope.count(
            'rsoft.subscriber', [('state', '=', 'suspended')]),
        'expiring': expiring,
        'new': scope.count('rsoft.subscriber', [
                ('activation_date', '>=', today.replace(day=1)),
                ]),
        'collections': sum(p.amount for p in collected),
        'collection_count': len(collected),
        'cas_pending': scope.count(
            'rsoft.cas.command', [('state', 'in', list(PENDING))]),
        'cas_failed': scope.count(
            'rsoft.cas.command', [('state', 'in', FAILED)]),
        # What the LCO may still spend: "—" when it pays the MSO otherwise
        'wallet': (scope.lco.wallet_available
            if scope.lco.wallet_mode != 'none' else None),
        }
    return portal.render('dashboard.html', figures=figures, today=today,
        currency=scope.lco.company.currency)


@route('/subscribers')
def subscribers(portal):
    request = portal.request
    query = request.args.get('q', '').strip()[:100]
    page = max(request.args.get('page', 1, type=int) or 1, 1)
    domain = []
    if query:
        domain.append(Pool().get('rsoft.subscriber').lookup_domain(query))
    total = portal.scope.count('rsoft.subscriber', domain)
    records = portal.scope.search('rsoft.subscriber', domain,
        offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
        order=[('customer_id', 'ASC')])
    return portal.render('subscribers.html', query=query, page=page,
        subscribers=records, total=total,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1))


@route('/subscribers/<int:subscriber>')
def subscriber(portal, subscriber):
    return subscriber_page(portal, subscriber)


def subscriber_page(portal, subscriber, status=HTTPStatus.OK, **values):
    """Render the page of the account of id subscriber in scope, with
    values (the outcome of an action taken on it)"""
    pool = Pool()
    Date = pool.get('ir.date')
    scope = portal.scope
    subscriber = scope.get('rsoft.subscriber', subscriber)
    of_subscriber = [('subscriber', '=', subscriber.id)]
    return portal.render('subscriber.html', status=status, **values,
        subscriber=subscriber, today=Date.today(),
        connections=scope.search('rsoft.connection', of_subscriber),
        invoices=scope.search('account.invoice', [
                ('rsoft_subscriber', '=', subscriber.id),
                ('state', 'in', BILLED),
                ], order=[('invoice_date', 'DESC'), ('id', 'DESC')]),
        payments=scope.search('rsoft.payment', of_subscriber + [
                ('state', '!=', 'draft'),
                ], order=[('date', 'DESC'), ('id', 'DESC')]),
        events=scope.search('rsoft.subscriber.event', of_subscriber,
            order=[('date', 'DESC'), ('id', 'DESC')], limit=100))


@route('/invoices/<int:invoice>/bill.pdf')
def bill(portal, invoice):
    return bill_pdf(portal, invoice)


def bill_pdf(portal, invoice):
    "Answer the PDF of the bill of invoice, a posted or paid one in scope"
    Bill = Pool().get('rsoft.billing.bill', type='report')
    invoice = portal.scope.get(
        'account.invoice', invoice, [('state', 'in', BILLED)])
    extension, content, _, _ = Bill.execute([invoice.id], {})
    return pdf_response(portal, extension, content,
        f'{invoice.number or invoice.id}.pdf')


def receipt_pdf(portal, payment):
    """Answer the PDF of the receipt of payment, a received one in scope
    (the LCO portal's too)"""
    Receipt = Pool().get('rsoft.payment.receipt', type='report')
    payment = portal.scope.get(
        'rsoft.payment', payment, [('state', '!=', 'draft')])
    extension, content, _, _ = Receipt.execute([payment.id], {})
    return pdf_response(portal, extension, content,
        f'{payment.number or payment.id}.pdf')


def pdf_response(portal, extension, content, filename):
    "Answer a report's content as the PDF attachment filename"
    if extension != 'pdf':
        abort(HTTPStatus.INTERNAL_SERVER_ERROR)
    return portal.secure(Response(bytes(content),
            content_type='application/pdf',
            headers={
                'Content-Disposition': f'attachment; filename="{filename}"',
                }))


@route('/subscribers/<int:subscriber>/collect', methods=('GET', 'POST'))
def collect(portal, subscriber):
    pool = Pool()
    Payment = pool.get('rsoft.payment')
    scope = portal.scope
    request = portal.request
    subscriber = scope.get('rsoft.subscriber', subscriber)
    methods = scope.search('rsoft.payment.method', [
            ('kind', 'in', COLLECT_KINDS),
            ], order=[('name', 'ASC')])
    values = {'subscriber': subscriber, 'methods': methods}
    if request.method == 'GET':
        return portal.render('collect.html', **values)
    form = request.form
    values['form'] = form
    try:
        amount = Decimal(form.get('amount', '').strip())
    except InvalidOperation:
        amount = None
    method = None
    if form.get('method', '').isdigit():
        method = scope.get('rsoft.payment.method', int(form['method']),
            [('kind', 'in', COLLECT_KINDS)])
    if not amount or not amount.is_finite() or amount <= 0 or not method:
        return portal.render('collect.html', error='collect_invalid',
            status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
    collectors = scope.search(
        'rsoft.payment.collector', [('lco', '=', scope.lco.id)],
        order=[('id', 'ASC')], limit=1)
    try:
        payment = Payment.record(
            subscriber, amount, method,
            collector=collectors[0] if collectors else None,
            reference=form.get('reference', '').strip()[:100] or None)
    except UserError as error:
        return portal.refuse('collect.html', error, **values)
    return portal.render('receipt.html', subscriber=subscriber,
        payment=payment)
