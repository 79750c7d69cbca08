"""The channel-selector API: TRAI's channel-selector app reads the
operator's offer and a subscriber's subscription and submits changes
(TRAI QoS second amendment, 2019; API specification of 22 October 2019)

URL space: /<database_name>/portal/subscriber/api/v1/...; openapi.json
documents it. A subscriber authenticates with the customer ID or the
set-top box number and an OTP sent to the registered mobile, and gets a
bearer token: a session of its own ('api'), not a cookie, so no CSRF.
Answers carry no personal data beyond what the step needs: customer IDs,
connection codes and box numbers, never names, numbers or addresses.

Every query goes through the subscriber scope (web.py) and every change
through the subscription requests of rsoft_lco, as the portal's; a
voucher is redeemed by rsoft_voucher, as in the portals
(routes_voucher.py)."""
import json
import logging
from decimal import Decimal
from functools import wraps
from http import HTTPStatus
from types import NoneType

from werkzeug.exceptions import HTTPException

from trytond.backend import DatabaseOperationalError
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.modules.rsoft_voucher.exceptions import RedeemRefused
from trytond.pool import Pool
from trytond.protocols.wrappers import (
    Response,
    abort,
    with_pool,
    with_transaction,
)
from trytond.transaction import Transaction, TransactionError
from trytond.wsgi import app

from .audit import PORTAL_LOGIN
from .catalogue import catalogue
from .routes_channels import channels_sold, taken
from .routes_subscriber import (
    accounts_of,
    amounts,
    holder_of,
    normalize_login,
    send_otp,
)
from .routes_voucher import redeem
from .web import SubscriberPortal, _ensure_active

logger = logging.getLogger(__name__)

PREFIX = '/<database_name>/portal/subscriber/api/v1'
API_SESSION = 'api'


class ApiPortal(SubscriberPortal):
    "A request of the API: its session is the bearer token's"

    def load_session(self):
        Session = self.pool.get('web.user.session')
        header = self.request.headers.get('Authorization', '')
        scheme, _, key = header.partition(' ')
        if scheme.lower() != 'bearer' or not key:
            return
        session = Session.get_portal_session(key.strip(), API_SESSION)
        if session:
            scope = self.scope_of(session.user)
            if scope:
                self.session, self.user, self.scope = (
                    session, session.user, scope)


def _default(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(value)


def answer(portal, value, status=HTTPStatus.OK):
    response = Response(json.dumps(value, default=_default),
        status=status, content_type='application/json')
    return portal.secure(response)


# The errors a client tells apart by their code; the message, in the
# language asked for, is for its user
ERRORS = {
    HTTPStatus.BAD_REQUEST: 'bad_request',
    HTTPStatus.UNAUTHORIZED: 'unauthorized',
    HTTPStatus.NOT_FOUND: 'not_found',
    HTTPStatus.METHOD_NOT_ALLOWED: 'method_not_allowed',
    HTTPStatus.UNPROCESSABLE_ENTITY: 'unprocessable',
    HTTPStatus.TOO_MANY_REQUESTS: 'too_many_requests',
    HTTPStatus.INTERNAL_SERVER_ERROR: 'internal_error',
    }


def problem(portal, status, code=None, message=None):
    """Answer an error: its code and a translated message, never a
    traceback"""
    code = code or ERRORS.get(status, 'error')
    if message is None:
        message = gettext(f'rsoft_selfcare.msg_api_{code}')
    return answer(portal, {'error': code, 'message': message},
        status=status)


def api_route(path, methods=('GET',), login=True):
    """Register func(portal, **arguments) at PREFIX + path: JSON in and
    out, authenticated by the bearer token unless login is False"""
    def decorator(func):
        @app.route(PREFIX + path, methods=set(methods))
        @with_pool
        @with_transaction()
        @wraps(func)
        def wrapper(request, pool, **arguments):
            _ensure_active(pool)
            portal = ApiPortal(request, pool)
            transaction = Transaction()
            transaction.set_context(language=portal.language)
            portal.load_session()
            if login and not portal.session:
                return problem(portal, HTTPStatus.UNAUTHORIZED)
            if portal.scope:
                transaction.set_context({
                        'company': portal.scope.company.id,
                        PORTAL_LOGIN: 'api ' + portal.login_name,
                        })
            try:
                return func(portal, **arguments)
            except HTTPException as exception:
                return problem(portal, HTTPStatus(exception.code))
            except (TransactionError, DatabaseOperationalError):
                # with_transaction retries the request
                raise
            except Exception:
                # Logged for the operator; the client gets no traceback
                logger.exception("channel-selector API %s", path)
                transaction.rollback()
                return problem(portal, HTTPStatus.INTERNAL_SERVER_ERROR)
        return wrapper
    return decorator


def body(portal):
    "Return the JSON object posted, or answer 400"
    value = portal.request.get_json(silent=True)
    if not isinstance(value, dict):
        abort(HTTPStatus.BAD_REQUEST)
    return value


def _ids(values):
    if not isinstance(values, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in values):
        abort(HTTPStatus.BAD_REQUEST)
    return set(values)


def accounts_of_login(login):
    """Return the accounts login names: a customer ID, a registered
    mobile, or the number of a box installed at one of their
    connections"""
    Lot = Pool().get('stock.lot')
    accounts = accounts_of(login)
    if not accounts:
        lots = Lot.search([
                ('number', '=', login),
                ('connection', '!=', None),
                ], limit=1)
        if lots:
            accounts = [lots[0].connection.subscriber]
    return accounts


# Authentication

@api_route('/auth/otp', methods=('POST',), login=False)
def auth_otp(portal):
    "Send an OTP to the registered mobile of the login"
    Otp = Pool().get('rsoft.selfcare.otp')
    login = normalize_login(str(body(portal).get('login', ''))[:40])
    try:
        send_otp(login, 'api', accounts_of_login(login),
            portal.request.remote_addr)
    except UserError as error:
        return problem(portal, HTTPStatus.TOO_MANY_REQUESTS,
            message=error.message)
    # The same answer whether the login exists or not
    return answer(portal, {'status': 'sent', 'valid_for': int(
                Otp.validity().total_seconds())})


@api_route('/auth/token', methods=('POST',), login=False)
def auth_token(portal):
    "Exchange the login and its OTP for a bearer token"
    pool = Pool()
    Otp = pool.get('rsoft.selfcare.otp')
    Attempt = pool.get('rsoft.selfcare.login.attempt')
    WebUser = pool.get('web.user')
    Session = pool.get('web.user.session')
    value = body(portal)
    login = normalize_login(str(value.get('login', ''))[:40])
    ip_address = portal.request.remote_addr
    if Attempt.locked(login, ip_address):
        return problem(portal, HTTPStatus.TOO_MANY_REQUESTS)
    otp = Otp.verify(login, 'api', str(value.get('otp', ''))[:10])
    party = otp.party if otp else None
    if not party or holder_of(accounts_of_login(login)) != party:
        Attempt.add(login, ip_address)
        return problem(portal, HTTPStatus.UNAUTHORIZED, 'invalid_login')
    Attempt.clear(login)
    session = Session.new_portal_session(
        WebUser.subscriber_login(party), API_SESSION)
    return answer(portal, {
            'token': session.key,
            'token_type': 'Bearer',
            'expires_in': int(Session.timeout().total_seconds()),
            })


@api_route('/auth/logout', methods=('POST',))
def auth_logout(portal):
    Session = Pool().get('web.user.session')
    Session.delete([portal.session])
    return answer(portal, {'status': 'logged_out'})


# The offer

def _connection_of(portal, code):
    "Return the active connection of the scope named code, or answer 404"
    if not isinstance(code, str):
        abort(HTTPStatus.BAD_REQUEST)
    connections = portal.scope.search('rsoft.connection', [
            ('code', '=', code),
            ('state', '=', 'active'),
            ], limit=1)
    if not connections:
        abort(HTTPStatus.NOT_FOUND)
    return connections[0]


def _offer(product, price):
    template = product.template
    return {
        'id': product.id,
        'name': template.name,
        'kind': template.rsoft_kind,
        # A broadcaster's price is its MRP, the operator's pack its DRP
        'price_type': ('drp' if template.rsoft_kind in {
                    'base_pack', 'addon_pack'} else 'mrp'),
        'price': price,
        'channels': sorted(product.get_offer_channel_ids()),
        }


@api_route('/offers')
def offers(portal):
    """The channels and bouquets the subscriber may take on a connection,
    with the monthly price (MRP or DRP) and the NCF rule"""
    connection = _connection_of(portal,
        portal.request.args.get('connection'))
    prices = catalogue(connection)
    rule = connection.get_ncf_rule(_today())
    return answer(portal, {
            'connection': connection.code,
            'currency': connection.subscriber.company.currency.code,
            'offers': [_offer(p, price) for p, price in prices.items()],
            'channels': [_channel(c)
                for c in channels_sold(connection, _today())],
            'ncf': _ncf(rule),
            })


def _today():
    return Pool().get('ir.date').today()


def _channel(channel):
    return {
        'id': channel.id,
        'name': channel.rec_name,
        'genre': channel.genre,
        'language': channel.language,
        'free_to_air': bool(channel.fta),
        }


def _ncf(rule):
    "Return the NCF rule's slabs: up to a channel count, the monthly fee"
    if not rule:
        return None
    return {
        'name': rule.rec_name,
        'count_mandated': rule.count_mandated,
        'second_tv_rate': rule.second_tv_rate,
        'slabs': [{'up_to': slab.max_channels, 'fee': slab.amount}
            for slab in rule.slabs],
        }


@api_route('/subscription')
def subscription(portal):
    "The connections of the subscriber with their offers and amounts"
    pool = Pool()
    Request = pool.get('rsoft.subscription.request')
    today = _today()
    result = []
    for connection in portal.scope.search('rsoft.connection', [
                ('state', '=', 'active'),
                ], order=[('id', 'ASC')]):
        prices = catalogue(connection, today)
        current = Request.present(connection, today)
        result.append({
                'customer_id': connection.subscriber.customer_id,
                'connection': connection.code,
                'boxes': [d.number for d in connection.devices],
                'offers': [{
                        **_offer(p, prices.get(p)),
                        'start_date': line.start_date.isoformat(),
                        'end_date': (line.end_date.isoformat()
                            if line.end_date else None),
                        } for p, line in taken(connection, today).items()],
                'monthly': _amounts(current, 'before'),
                })
    return answer(portal, {'connections': result})


def _amounts(request, suffix):
    if request.state == 'refused' and suffix == 'after':
        return None
    values = amounts(request, suffix)
    values['currency'] = values['currency'].code
    return values


def _request(request):
    "Return what the API tells of request: a proposal has no id, no number"
    saved = request.id is not None and request.id >= 0
    return {
        **({'id': request.id, 'number': request.number} if saved else {}),
        'state': request.state,
        'refusal': getattr(request, 'refusal', None),
        'connection': request.connection.code,
        'added': [p.id for p in request.added],
        'removed': [p.id for p in request.removed],
        'before': _amounts(request, 'before'),
        'after': _amounts(request, 'after'),
        }


@api_route('/proposal', methods=('POST',))
def proposal(portal):
    """The best-fit advisor's cheapest offers for the channels wanted,
    against the present ones; nothing is changed"""
    Request = Pool().get('rsoft.subscription.request')
    value = body(portal)
    connection = _connection_of(portal, value.get('connection'))
    wanted = _wanted(connection, value.get('channels'))
    request = Request.preview_advice(connection, wanted, date=_today())
    return answer(portal, _request(request))


def _wanted(connection, ids):
    ids = _ids(ids)
    channels = {c.id: c for c in channels_sold(connection, _today())}
    if not ids or not ids <= set(channels):
        abort(HTTPStatus.UNPROCESSABLE_ENTITY)
    return [channels[i] for i in sorted(ids)]


@api_route('/requests', methods=('POST',))
def submit(portal):
    """Submit a subscription request: offers to add and remove, or the
    channels wanted (the advisor's offers are taken)"""
    Request = Pool().get('rsoft.subscription.request')
    value = body(portal)
    connection = _connection_of(portal, value.get('connection'))
    today = _today()
    origin = {
        'source': 'channel_selector',
        'login': 'api ' + portal.login_name,
        'ip_address': portal.request.remote_addr,
        'user_agent': (portal.request.user_agent.string or '')[:200],
        'date': today,
        }
    if value.get('channels') is not None:
        request = Request.submit(connection,
            channels=_wanted(connection, value['channels']), **origin)
    else:
        prices = catalogue(connection, today)
        running = taken(connection, today)
        add, remove = _ids(value.get('add', [])), _ids(
            value.get('remove', []))
        sold = {p.id: p for p in prices}
        held = {p.id: p for p in running}
        if not (add or remove) or not add <= set(sold) \
                or not remove <= set(held):
            abort(HTTPStatus.UNPROCESSABLE_ENTITY)
        request = Request.submit(connection,
            add=[sold[i] for i in sorted(add)],
            remove=[held[i] for i in sorted(remove)], **origin)
    status = (HTTPStatus.CREATED if request.state == 'done'
        else HTTPStatus.UNPROCESSABLE_ENTITY)
    return answer(portal, _request(request), status=status)


@api_route('/requests/<int:request_id>')
def request_status(portal, request_id):
    "The state of a subscription request of the subscriber"
    requests = portal.scope.search('rsoft.subscription.request', [
            ('id', '=', request_id),
            ])
    if not requests:
        abort(HTTPStatus.NOT_FOUND)
    return answer(portal, _request(requests[0]))


# Vouchers

@api_route('/vouchers/redeem', methods=('POST',))
def voucher_redeem(portal):
    """Redeem a voucher for the account of a connection: a top-up card
    credits its wallet, a channel or pack card adds its offer to the
    connection"""
    value = body(portal)
    connection = _connection_of(portal, value.get('connection'))
    pin, serial = value.get('pin'), value.get('serial')
    if not isinstance(pin, str) or not isinstance(serial, (str, NoneType)):
        abort(HTTPStatus.BAD_REQUEST)
    result, error = redeem(portal, connection.subscriber, pin, serial,
        connection, 'api', 'api ' + portal.login_name)
    if isinstance(error, RedeemRefused):
        # Answered, not raised: the try logged in the request's
        # transaction (SQLite) is kept
        return problem(portal, HTTPStatus.UNPROCESSABLE_ENTITY,
            'voucher_refused')
    elif error:
        return problem(portal, HTTPStatus.UNPROCESSABLE_ENTITY,
            message=error.message)
    return answer(portal, _redeemed(result))


def _redeemed(result):
    value = {
        'serial': result['serial'],
        'kind': result['kind'],
        'customer_id': result['account'].customer_id,
        'currency': result['currency'].code,
        }
    if result['kind'] == 'top_up':
        value.update(amount=result['amount'], balance=result['balance'])
    else:
        offer = result['offer']
        value.update({
                'connection': result['connection'].code,
                'offer': {'id': offer.id, 'name': offer.template.name},
                'days': result['days'],
                'start_date': result['start_date'].isoformat(),
                'end_date': result['end_date'].isoformat(),
                })
    return value
