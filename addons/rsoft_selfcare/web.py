"""The web layer of the portals: routes, sessions, forms, pages, scope

URL space: /<database_name>/portal/<portal>/...; each portal (`PORTALS`
of user.py) has its own sessions, and its cookie is limited to its path.

Routes run in a transaction of the root user, for two reasons: a portal
login is a web.user, not a res.user, and an LCO may have no back-office
login at all (or several, with other groups); and the back office's
access rights would then decide what a portal page may show. Root reads
everything, so no route queries a model directly: each one gets a
`Scope` and asks it for records, and the scope adds the LCO's subtree to
every domain and answers 404 for any record outside it. A model the scope
has no path for cannot be reached at all."""
import datetime as dt
import hmac
import os
from functools import wraps
from http import HTTPStatus
from secrets import token_urlsafe
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from trytond import config
from trytond.i18n import gettext
from trytond.protocols.wrappers import (
    Response,
    abort,
    redirect,
    with_pool,
    with_transaction,
)
from trytond.transaction import Transaction
from trytond.wsgi import app

from .audit import PORTAL_LOGIN

__all__ = ['route', 'Portal', 'SubscriberPortal', 'Scope', 'LcoScope',
    'SubscriberScope']

SESSION_COOKIE = 'rsoft_portal_session'
# The token of the login form, before any session exists
LOGIN_CSRF_COOKIE = 'rsoft_portal_login'
CSRF_FIELD = 'csrf_token'

ENVIRONMENT = Environment(
    loader=FileSystemLoader(
        os.path.join(os.path.dirname(__file__), 'templates')),
    autoescape=select_autoescape(default=True, default_for_string=True))


def translate(name, /, **variables):
    "Return the portal text name in the language of the transaction"
    return gettext(f'rsoft_selfcare.msg_portal_{name}', **variables)


ENVIRONMENT.globals['_'] = translate


class Scope:
    """The records a portal login may reach: those of its owners

    Every query of a route goes through it; `PATHS` leads from each model
    to an owner (the paths of the confinement decisions)."""
    PATHS = {}
    # The operator's own records every login of its company uses
    COMPANY = set()
    # The operator's catalogue every portal sells from: its published
    # offers
    CATALOGUE = {
        'product.product': [('template.offer_state', '=', 'published')],
        }
    owners = []
    company = None

    def domain(self, model):
        "Return the domain of the records of model in the scope"
        if model in self.COMPANY:
            return [('company', '=', self.company.id)]
        if model in self.CATALOGUE:
            return list(self.CATALOGUE[model])
        paths = self.PATHS[model]
        # A model reached by several paths: any of them leads to an owner
        if isinstance(paths, str):
            paths = (paths,)
        return [['OR', *((path, 'in', self.owners) for path in paths)]]

    def search(self, model, domain=None, **kwargs):
        Model = self.pool.get(model)
        return Model.search(self.domain(model) + (domain or []), **kwargs)

    def count(self, model, domain=None):
        Model = self.pool.get(model)
        return Model.search_count(self.domain(model) + (domain or []))

    def get(self, model, id, domain=None):
        "Return the record of model with id, or answer 404"
        records = self.search(model, [('id', '=', id)] + (domain or []))
        if not records:
            abort(HTTPStatus.NOT_FOUND)
        record, = records
        return record


class LcoScope(Scope):
    "The records of an LCO's subtree, for its portal logins"
    PATHS = {
        'rsoft.subscriber': 'lco',
        'rsoft.connection': 'subscriber.lco',
        'rsoft.subscription.line': 'connection.subscriber.lco',
        'rsoft.subscriber.event': 'subscriber.lco',
        'rsoft.complaint': 'lco',
        'rsoft.work_order': 'lco',
        'rsoft.service.event': 'lco',
        'rsoft.technician': 'lco',
        # Installed at one of its connections, or in its own stock
        'stock.lot': (
            'connection.subscriber.lco', 'current_location.rsoft_partner'),
        # The history of a device while the LCO held it, not before
        'rsoft.device.event': 'partner',
        'rsoft.wallet.entry': 'wallet.partner',
        'rsoft.lco.top_up': 'partner',
        'rsoft.lco.settlement': 'partner',
        'rsoft.collection.cash_up': 'lco',
        'rsoft.collection.cash_up.lco': 'lco',
        'account.invoice': 'rsoft_subscriber.lco',
        'rsoft.payment': 'subscriber.lco',
        'rsoft.cas.command': 'connection.subscriber.lco',
        'rsoft.payment.collector': 'lco',
        }
    COMPANY = {'rsoft.payment.method'}

    def __init__(self, pool, lco):
        Partner = pool.get('rsoft.partner')
        self.pool = pool
        self.lco = lco
        self.company = lco.company
        self.owners = self.partners = [p.id for p in Partner.search([
                    ('parent', 'child_of', [lco.id]),
                    ])]


class SubscriberScope(Scope):
    """The records of the accounts a party holds, for its subscriber
    portal login"""
    PATHS = {
        'rsoft.subscriber': 'id',
        'rsoft.connection': 'subscriber',
        'rsoft.subscription.line': 'connection.subscriber',
        'rsoft.subscriber.event': 'subscriber',
        'stock.lot': 'connection.subscriber',
        'rsoft.wallet.entry': 'wallet.subscriber',
        'account.invoice': 'rsoft_subscriber',
        'rsoft.payment': 'subscriber',
        'rsoft.payment.gateway.order': 'subscriber',
        'account.payment': 'rsoft_subscriber',
        'rsoft.cas.command': 'connection.subscriber',
        'rsoft.complaint': 'subscriber',
        'rsoft.subscription.request': 'subscriber',
        'rsoft.ppv.purchase': 'subscriber',
        'rsoft.poll.vote': 'subscriber',
        }
    COMPANY = {'rsoft.payment.gateway', 'rsoft.poll'}

    def __init__(self, pool, party):
        Subscriber = pool.get('rsoft.subscriber')
        self.pool = pool
        self.party = party
        accounts = Subscriber.search([
                ('party', '=', party.id),
                ], order=[('customer_id', 'ASC')])
        self.owners = [a.id for a in accounts]
        self.company = accounts[0].company if accounts else None

    @property
    def accounts(self):
        # Read in the context of the request, set once the scope is known
        # (the company): a record keeps the context it was read in
        Subscriber = self.pool.get('rsoft.subscriber')
        return Subscriber.browse(self.owners)


class Portal:
    """What a route of the LCO portal is given: the request, its session,
    scope and language; another portal subclasses it with its own name
    (its URLs and sessions) and scope"""
    name = 'lco'

    def __init__(self, request, pool):
        self.request = request
        self.pool = pool
        self.database_name = pool.database_name
        self.session = None
        self.user = None
        self.scope = None
        self.language = self._language()
        self.login_csrf = None
        # The origins a page may also load scripts from and post to, such
        # as a payment gateway's checkout
        self.csp_sources = []
        self.nonce = token_urlsafe(16)

    def _language(self):
        Lang = self.pool.get('ir.lang')
        codes = [lang.code
            for lang in Lang.search([('translatable', '=', True)])]
        default = config.get('database', 'language')
        return self.request.accept_languages.best_match(
            codes, default=default) or default

    @property
    def base(self):
        return f'/{self.database_name}/portal/{self.name}'

    def url(self, path=''):
        return f'{self.base}{path}'

    def load_session(self):
        "Find the session of the cookie and the scope of its login"
        Session = self.pool.get('web.user.session')
        session = Session.get_portal_session(
            self.request.cookies.get(SESSION_COOKIE), self.name)
        if session:
            scope = self.scope_of(session.user)
            if scope:
                self.session, self.user = session, session.user
                self.scope = scope

    def scope_of(self, user):
        "Return the scope of user in the portal, None if it has none"
        lco = user.rsoft_portal_lco
        if lco:
            return LcoScope(self.pool, lco)

    @property
    def login_name(self):
        "Who acts, as the histories name a portal login"
        return self.user.email

    @property
    def csrf_token(self):
        if self.session:
            return self.session.rsoft_csrf
        if self.login_csrf is None:
            self.login_csrf = (
                self.request.cookies.get(LOGIN_CSRF_COOKIE)
                or token_urlsafe(32))
        return self.login_csrf

    def check_csrf(self):
        "Refuse a form that does not carry the token of its session"
        if self.session:
            expected = self.session.rsoft_csrf
        else:
            expected = self.request.cookies.get(LOGIN_CSRF_COOKIE)
        given = self.request.form.get(CSRF_FIELD, '')
        if not expected or not hmac.compare_digest(
                given.encode(), expected.encode()):
            abort(HTTPStatus.FORBIDDEN)

    def set_cookie(self, response, name, value):
        response.set_cookie(
            name, value, path=self.base, httponly=True, samesite='Lax',
            secure=self.request.is_secure)

    def delete_cookie(self, response, name):
        response.delete_cookie(
            name, path=self.base, httponly=True, samesite='Lax',
            secure=self.request.is_secure)

    def render(self, template, status=HTTPStatus.OK, **values):
        response = Response(
            ENVIRONMENT.get_template(template).render(
                portal=self, **values),
            status=status, content_type='text/html; charset=utf-8')
        if not self.session and self.login_csrf:
            self.set_cookie(response, LOGIN_CSRF_COOKIE, self.login_csrf)
        self.secure(response)
        return response

    def secure(self, response):
        "Add the security headers of every portal answer to response"
        sources = ' '.join(self.csp_sources)
        response.headers['Content-Security-Policy'] = '; '.join([
                "default-src 'self'",
                f"script-src 'self' 'nonce-{self.nonce}' {sources}".strip(),
                f"style-src 'self' 'nonce-{self.nonce}' {sources}".strip(),
                "img-src 'self' data:",
                f"connect-src 'self' {sources}".strip(),
                f"frame-src {sources or chr(39) + 'none' + chr(39)}",
                f"form-action 'self' {sources}".strip(),
                "frame-ancestors 'none'",
                "base-uri 'none'",
                "object-src 'none'",
                ])
        response.headers['Cache-Control'] = 'no-store'
        response.headers['X-Frame-Options'] = 'DENY'
        response.headers['X-Content-Type-Options'] = 'nosniff'
        response.headers['Referrer-Policy'] = 'same-origin'
        return response

    def undo(self, error=None):
        """Undo all the request changed and return the message of the
        models' refusal error, if any

        The whole transaction is rolled back: a savepoint would leave the
        CAS marks of what it undid, and they would be commanded at
        commit."""
        Transaction().rollback()
        return error.message if error else None

    def refuse(self, template, error, **values):
        "Render template with the models' refusal error (422), undone"
        message = self.undo(error)
        values.setdefault('status', HTTPStatus.UNPROCESSABLE_ENTITY)
        return self.render(template, message=message, **values)

    def redirect(self, path):
        return self.secure(
            redirect(self.url(path), code=HTTPStatus.SEE_OTHER))

    # Formatting of the pages, in the language of the request
    def selection(self, record, name):
        "Return the label of the value of the selection field name"
        field = record.__class__.fields_get([name])[name]
        return dict(field['selection']).get(getattr(record, name), '')

    def _lang(self):
        return self.pool.get('ir.lang').get(self.language)

    def format_date(self, value):
        return self._lang().strftime(value) if value else ''

    def format_month(self, value):
        "Return the month of the date value, as 'March 2025'"
        return self._lang().strftime(value, '%B %Y') if value else ''

    def format_datetime(self, value):
        "Return the UTC datetime value in the company's time zone"
        if not value:
            return ''
        timezone = self.scope.company.timezone if self.scope else None
        if timezone:
            value = value.replace(tzinfo=dt.timezone.utc).astimezone(
                ZoneInfo(timezone))
        lang = self._lang()
        return lang.strftime(value, f'{lang.date} %H:%M')

    def format_time_left(self, delta):
        "Return the time delta left as hours and minutes, or how late"
        minutes = int(abs(delta).total_seconds() // 60)
        text = translate('duration', hours=minutes // 60,
            minutes=minutes % 60)
        if delta < dt.timedelta():
            return translate('overdue', duration=text)
        return text

    def format_amount(self, value, currency=None):
        if value is None:
            return '\u2014'
        lang = self._lang()
        if currency:
            return lang.currency(value, currency, grouping=True)
        return lang.format_number(value, digits=2)


def _ensure_active(pool):
    # Routes are global to the process: every database served by this
    # trytond sees them, so refuse where the module is not activated.
    try:
        pool.get('rsoft.selfcare.login.attempt')
    except KeyError:
        abort(HTTPStatus.NOT_FOUND)


class SubscriberPortal(Portal):
    "What a route of the subscriber portal is given"
    name = 'subscriber'

    def scope_of(self, user):
        party = user.rsoft_portal_party
        if party:
            scope = SubscriberScope(self.pool, party)
            if scope.owners:
                return scope

    @property
    def login_name(self):
        # Histories name the accounts: a subscriber's login has no e-mail
        return 'subscriber ' + ', '.join(
            a.customer_id for a in self.scope.accounts)


def route(path, methods=('GET',), login=True, portal_class=Portal):
    """Register func(portal, **arguments) at
    /<database_name>/portal/<portal_class.name><path>

    The request gets its session and scope; a POST must carry its CSRF
    token; without a session a page redirects to the login."""
    def decorator(func):
        @app.route(f'/<database_name>/portal/{portal_class.name}{path}',
            methods=set(methods))
        @with_pool
        @with_transaction()
        @wraps(func)
        def wrapper(request, pool, **arguments):
            _ensure_active(pool)
            portal = portal_class(request, pool)
            transaction = Transaction()
            # Set for the rest of the request's own transaction, not in a
            # with block: what runs at its commit (the CAS sync) must
            # still see who acted
            transaction.set_context(language=portal.language)
            portal.load_session()
            if request.method == 'POST':
                portal.check_csrf()
            if login and not portal.session:
                return portal.redirect('/login')
            if portal.scope:
                transaction.set_context({
                        'company': portal.scope.company.id,
                        PORTAL_LOGIN: portal.login_name,
                        })
            return func(portal, **arguments)
        return wrapper
    return decorator

