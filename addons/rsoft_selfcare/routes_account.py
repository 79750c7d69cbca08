"""The LCO portal's actions on its subscribers' accounts: new
subscribers, activation, renewal, suspension, packs, receipts

Each route is given a Portal (web.py): it reads only through
portal.scope, and business rules stay in the models it calls. A refusal
of the models (a KYC check, a TRAI rule, a wallet short) is shown on the
page and the transaction is rolled back: nothing of it is kept, the CAS
commands included (they are written at commit)."""
import datetime
from http import HTTPStatus

from trytond.exceptions import UserError
from trytond.modules.rsoft_lco.quote import (
    offers_for,
    quote_line,
    quote_stop,
)
from trytond.pool import Pool
from trytond.protocols.wrappers import abort
from trytond.transaction import Transaction

from .routes import receipt_pdf
from .web import route, translate

# The fields of the customer application form (CAF), as posted
CAF_FIELDS = [
    'name', 'mobile', 'landline', 'email', 'street', 'city', 'postal_code',
    'billing_street', 'billing_city', 'billing_postal_code',
    'id_proof_type', 'id_proof_number', 'customer_class',
    'contract_number', 'contract_date', 'billing_mode', 'kind', 'pack']
# At most this many accounts renewed by one form
RENEW_LIMIT = 100


def _selection(model, name):
    "Return the translated selection of field name of model, without empty"
    Model = Pool().get(model)
    return [(k, v) for k, v in
        Model.fields_get([name])[name]['selection'] if k]


def _offer(portal, product_id):
    "Return the offer of product_id the LCO may sell, or answer 404"
    for product, _ in offers_for(portal.scope.lco):
        if product.id == product_id:
            return product
    abort(HTTPStatus.NOT_FOUND)


def _int(value):
    return int(value) if value and value.isdigit() else None


@route('/subscribers/new', methods=('GET', 'POST'))
def subscriber_new(portal):
    Subscriber = Pool().get('rsoft.subscriber')
    values = {
        'form': {},
        'id_proof_types': _selection('rsoft.subscriber', 'id_proof_type'),
        'customer_classes': _selection('rsoft.subscriber', 'customer_class'),
        'billing_modes': _selection('rsoft.subscriber', 'billing_mode'),
        'kinds': _selection('rsoft.connection', 'kind'),
        'offers': offers_for(portal.scope.lco),
        'currency': portal.scope.lco.company.currency,
        }
    if portal.request.method == 'GET':
        return portal.render('subscriber_new.html', **values)
    form = {k: portal.request.form.get(k, '').strip()[:200]
        for k in CAF_FIELDS}
    values['form'] = form
    try:
        subscriber = _create_subscriber(portal, form)
    except UserError as error:
        return portal.refuse('subscriber_new.html', error, **values)
    # The back office's warning (none for root): the LCO confirms that
    # it is not the same subscriber, or nothing is created
    duplicates = [subscriber.duplicate_message(field, other)
        for field, _, other in Subscriber.find_duplicates([subscriber])]
    if duplicates and portal.request.form.get('accept_duplicates') != '1':
        portal.undo()
        return portal.render('subscriber_new.html', duplicates=duplicates,
            status=HTTPStatus.CONFLICT, **values)
    return portal.redirect(f'/subscribers/{subscriber.id}')


def _create_subscriber(portal, form):
    "Create the account of the CAF form for the LCO of the login"
    pool = Pool()
    Date = pool.get('ir.date')
    Party = pool.get('party.party')
    Subscriber = pool.get('rsoft.subscriber')
    lco = portal.scope.lco
    choices = {
        'id_proof_type': _selection('rsoft.subscriber', 'id_proof_type'),
        'customer_class': _selection('rsoft.subscriber', 'customer_class'),
        'billing_mode': _selection('rsoft.subscriber', 'billing_mode'),
        'kind': _selection('rsoft.connection', 'kind'),
        }
    for name, selection in choices.items():
        if form[name] and form[name] not in dict(selection):
            abort(HTTPStatus.UNPROCESSABLE_ENTITY)
    pack = _offer(portal, _int(form['pack'])) if form['pack'] else None
    try:
        contract_date = (datetime.date.fromisoformat(form['contract_date'])
            if form['contract_date'] else None)
    except ValueError:
        contract_date = None
    addresses = [{
            'street': form['street'], 'city': form['city'],
            'postal_code': form['postal_code'] or None,
            }]
    if form['billing_street']:
        addresses.append({
                'street': form['billing_street'],
                'city': form['billing_city'],
                'postal_code': form['billing_postal_code'] or None,
                })
    party, = Party.create([{
                'name': form['name'],
                'addresses': [('create', addresses)],
                }])
    installation = party.addresses[0]
    billing = party.addresses[-1]
    connection = {'kind': form['kind'] or 'primary_tv'}
    if pack:
        connection['lines'] = [('create', [{
                        'product': pack.id, 'start_date': Date.today(),
                        }])]
    values = {
        'party': party.id,
        'lco': lco.id,
        'company': lco.company.id,
        'mobile': form['mobile'],
        'landline': form['landline'] or None,
        'email': form['email'] or None,
        'installation_address': installation.id,
        'billing_address': billing.id,
        'id_proof_type': form['id_proof_type'] or None,
        'id_proof_number': form['id_proof_number'] or None,
        'contract_number': form['contract_number'] or None,
        'contract_date': contract_date,
        'connections': [('create', [connection])],
        }
    for name in ['customer_class', 'billing_mode']:
        if form[name]:
            values[name] = form[name]
    subscriber, = Subscriber.create([values])
    return subscriber


def _lifecycle(portal, subscriber, action, state, call):
    """Show the confirmation of action on subscriber (GET) or do it
    (POST): call(subscriber, form) moves it to state"""
    pool = Pool()
    Subscriber = pool.get('rsoft.subscriber')
    scope = portal.scope
    subscriber = scope.get('rsoft.subscriber', subscriber)
    values = {
        'subscriber': subscriber, 'action': action,
        'reasons': _selection('rsoft.subscriber', 'suspension_reason'),
        'form': {},
        }
    if (subscriber.state, state) not in Subscriber._transitions:
        return portal.render('subscriber_action.html',
            message=translate('action_refused',
                state=subscriber.state_string),
            status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
    if portal.request.method == 'GET':
        return portal.render('subscriber_action.html', **values)
    form = portal.request.form
    values['form'] = form
    try:
        call(subscriber, form)
    except UserError as error:
        values['subscriber'] = Subscriber(subscriber.id)
        return portal.refuse('subscriber_action.html', error, **values)
    return portal.redirect(f'/subscribers/{subscriber.id}')


@route('/subscribers/<int:subscriber>/activate', methods=('GET', 'POST'))
def subscriber_activate(portal, subscriber):
    Subscriber = Pool().get('rsoft.subscriber')
    return _lifecycle(portal, subscriber, 'activate', 'active',
        lambda s, form: Subscriber.activate([s]))


@route('/subscribers/<int:subscriber>/suspend', methods=('GET', 'POST'))
def subscriber_suspend(portal, subscriber):
    Subscriber = Pool().get('rsoft.subscriber')
    reasons = dict(_selection('rsoft.subscriber', 'suspension_reason'))

    def suspend(subscriber, form):
        reason = form.get('reason', '')
        if reason not in reasons:
            abort(HTTPStatus.UNPROCESSABLE_ENTITY)
        note = form.get('note', '').strip()[:200] or None
        Subscriber.do_suspend([subscriber], reason, note)
    return _lifecycle(portal, subscriber, 'suspend', 'suspended', suspend)


@route('/subscribers/<int:subscriber>/resume', methods=('GET', 'POST'))
def subscriber_resume(portal, subscriber):
    Subscriber = Pool().get('rsoft.subscriber')
    return _lifecycle(portal, subscriber, 'resume', 'active',
        lambda s, form: Subscriber.resume([s]))


@route('/subscribers/<int:subscriber>/terminate', methods=('GET', 'POST'))
def subscriber_terminate(portal, subscriber):
    Subscriber = Pool().get('rsoft.subscriber')
    return _lifecycle(portal, subscriber, 'terminate', 'terminated',
        lambda s, form: Subscriber.terminate([s]))


@route('/subscribers/<int:subscriber>/renew', methods=('GET', 'POST'))
def subscriber_renew(portal, subscriber):
    pool = Pool()
    Subscriber = pool.get('rsoft.subscriber')
    scope = portal.scope
    subscriber = scope.get('rsoft.subscriber', subscriber)
    values = {'subscriber': subscriber, 'action': 'renew', 'form': {}}
    if portal.request.method == 'GET':
        return portal.render('subscriber_action.html', **values)
    try:
        invoices = Subscriber.renew([subscriber])
    except UserError as error:
        values['subscriber'] = Subscriber(subscriber.id)
        return portal.refuse('subscriber_action.html', error, **values)
    return portal.render('subscriber_renewed.html',
        results=[(Subscriber(subscriber.id), invoices, None)])


@route('/renew', methods=('POST',))
def renew(portal):
    "Renew the accounts ticked on the search page, each on its own"
    pool = Pool()
    Subscriber = pool.get('rsoft.subscriber')
    ids = portal.request.form.getlist('subscriber')[:RENEW_LIMIT]
    if not ids or not all(i.isdigit() for i in ids):
        abort(HTTPStatus.UNPROCESSABLE_ENTITY)
    # Every account is checked before any is renewed
    subscribers = [portal.scope.get('rsoft.subscriber', int(i))
        for i in dict.fromkeys(ids)]
    results = Subscriber.renew_each(subscribers)
    return portal.render('subscriber_renewed.html', results=[
            (Subscriber(s.id), invoices, refusal)
            for s, invoices, refusal in results])


@route('/connections/<int:connection>/packs', methods=('GET', 'POST'))
def packs(portal, connection):
    """The packs and channels of a connection: add one (quote, then
    confirm) or end one (quote, then confirm)"""
    pool = Pool()
    Date = pool.get('ir.date')
    Line = pool.get('rsoft.subscription.line')
    scope = portal.scope
    connection = scope.get('rsoft.connection', connection)
    form = portal.request.form
    step = form.get('step', '')
    if portal.request.method == 'POST' and step not in {
            'quote', 'confirm', 'stop_quote', 'stop'}:
        abort(HTTPStatus.UNPROCESSABLE_ENTITY)
    today = Date.today()
    product = line = None
    if step in {'quote', 'confirm'}:
        product = _offer(portal, _int(form.get('product')))
    elif step in {'stop_quote', 'stop'}:
        line = scope.get('rsoft.subscription.line', _int(form.get('line')),
            [('connection', '=', connection.id), ('state', '=', 'active'),
                ('ncf', '=', False)])
    values = {'connection': connection, 'product': product, 'line': line,
        'currency': connection.subscriber.company.currency}
    try:
        if step == 'quote':
            values['quote'] = quote_line(connection, product, today)
        elif step == 'stop_quote':
            values['quote'] = quote_stop(line, today)
        elif step == 'confirm':
            new, = Line.create([{
                        'connection': connection.id, 'product': product.id,
                        'start_date': today,
                        }])
            Line.activate([new], today)
        elif step == 'stop':
            Line.stop([line], today)
    except UserError as error:
        values['message'] = portal.undo(error)
        values['status'] = HTTPStatus.UNPROCESSABLE_ENTITY
    else:
        if step in {'quote', 'stop_quote'}:
            # A quote changes nothing
            Transaction().rollback()
            return portal.render('account_quote.html', **values)
        if step in {'confirm', 'stop'}:
            return portal.redirect(f'/connections/{connection.id}/packs')
    connection = scope.get('rsoft.connection', connection.id)
    return portal.render('account_packs.html', **{
            **values,
            'connection': connection,
            'lines': [line for line in scope.search(
                    'rsoft.subscription.line', [
                        ('connection', '=', connection.id),
                        ('state', '=', 'active'),
                        ], order=[('start_date', 'DESC'), ('id', 'DESC')])
                if line.is_open(today)],
            'offers': offers_for(scope.lco, today),
            'today': today,
            })


@route('/receipts/<int:payment>.pdf')
def receipt(portal, payment):
    "The receipt the LCO hands over or sends after collecting"
    return receipt_pdf(portal, payment)
