"""The subscriber portal: login by OTP or password, the accounts, bills,
payments, wallet and history

Each route is given a SubscriberPortal (web.py): it reads only through
portal.scope, the accounts of the party logged in, and business rules
stay in the models it calls."""
import datetime
from http import HTTPStatus

from trytond.exceptions import UserError
from trytond.modules.rsoft_subscriber.kyc import normalize_phone
from trytond.pool import Pool
from trytond.protocols.wrappers import abort

from .catalogue import catalogue_prices
from .routes import BILLED, bill_pdf, receipt_pdf
from .web import SESSION_COOKIE, SubscriberPortal, route

# TRAI's QoS regulations: six months of usage history on the portal
HISTORY_DAYS = 183
EXPIRY_DAYS = 7


def subscriber_route(path, methods=('GET',), login=True):
    return route(path, methods=methods, login=login,
        portal_class=SubscriberPortal)


def normalize_login(text):
    """Return the login typed as the accounts know it: a customer ID in
    capitals, a mobile number as +91... (the registered mobiles' form)"""
    pool = Pool()
    Configuration = pool.get('rsoft.subscriber.configuration')
    text = ''.join((text or '').split())[:40]
    digits = text.lstrip('+')
    if digits.isdigit() and len(digits) >= 10:
        try:
            return normalize_phone(text, Configuration(1).phone_country,
                mobile=True)
        except UserError:
            pass
    return text.upper()


def accounts_of(login):
    """Return the active accounts login names: the account of a customer
    ID, the accounts of a registered mobile"""
    Subscriber = Pool().get('rsoft.subscriber')
    if not login:
        return []
    return Subscriber.search(['OR',
            ('customer_id', '=', login),
            ('mobile', '=', login),
            ], order=[('customer_id', 'ASC')])


def holder_of(accounts):
    "Return the one party holding accounts, else None"
    parties = {a.party for a in accounts}
    if len(parties) == 1:
        return parties.pop()


def start_session(portal, party):
    "Answer with a new session of the party's login, and go home"
    pool = Pool()
    WebUser = pool.get('web.user')
    Session = pool.get('web.user.session')
    user = WebUser.subscriber_login(party)
    # A session of its own at each login: a key planted before it
    # (session fixation) or seen on another device does not carry over
    previous = Session.get_portal_session(
        portal.request.cookies.get(SESSION_COOKIE), portal.name)
    if previous:
        Session.delete([previous])
    session = Session.new_portal_session(user, portal.name)
    response = portal.redirect('/')
    portal.set_cookie(response, SESSION_COOKIE, session.key)
    return response


# The ways a login is proven: the step shown again when it fails, and
# the error told
PROOFS = {
    'verify': ('otp', 'otp_failed'),
    'password': ('password', 'sc_login_failed'),
    }


@subscriber_route('/login', methods=('GET', 'POST'), login=False)
def login(portal):
    Attempt = Pool().get('rsoft.selfcare.login.attempt')
    request = portal.request
    if request.method == 'GET':
        if portal.session:
            return portal.redirect('/')
        step = 'password' if request.args.get('password') else 'login'
        return portal.render('subscriber/login.html', step=step)
    form = request.form
    action = form.get('action')
    if action != 'otp' and action not in PROOFS:
        abort(HTTPStatus.BAD_REQUEST)
    typed = form.get('login', '').strip()[:40]
    login = normalize_login(typed)
    ip_address = request.remote_addr
    if Attempt.locked(login, ip_address):
        return portal.render('subscriber/login.html', step='login',
            error='login_locked', status=HTTPStatus.TOO_MANY_REQUESTS,
            login=typed)
    if action == 'otp':
        return _login_otp(portal, login, typed)
    party = _proven(login, action, form)
    if not party:
        Attempt.add(login, ip_address)
        step, error = PROOFS[action]
        return portal.render('subscriber/login.html', step=step,
            error=error, status=HTTPStatus.UNAUTHORIZED, login=typed)
    Attempt.clear(login)
    return start_session(portal, party)


def _login_otp(portal, login, typed):
    "Send the login's OTP and ask for it"
    try:
        send_otp(login, 'login', accounts_of(login),
            portal.request.remote_addr)
    except UserError as error:
        return portal.render('subscriber/login.html', step='login',
            message=error.message, status=HTTPStatus.TOO_MANY_REQUESTS,
            login=typed)
    return portal.render('subscriber/login.html', step='otp', login=typed)


def _proven(login, action, form):
    "Return the party the OTP or the password of login proves, else None"
    Otp = Pool().get('rsoft.selfcare.otp')
    if action == 'password':
        return _check_password(login, form.get('password', ''))
    otp = Otp.verify(login, 'login', form.get('otp'))
    party = otp.party if otp else None
    if party and holder_of(accounts_of(login)) == party:
        return party


def send_otp(login, purpose, accounts, ip_address):
    """Send an OTP for login to the registered mobile of accounts, the
    account of the customer ID typed first; count the request the same
    when login names no one holder: the answer tells nothing"""
    Otp = Pool().get('rsoft.selfcare.otp')
    party = holder_of(accounts)
    if not party:
        Otp.note_request(login, ip_address)
        return
    account, = [a for a in accounts if a.customer_id == login
        ] or accounts[:1]
    Otp.send(login, purpose, party, account.mobile, ip_address=ip_address,
        values={'customer_id': account.customer_id})


def _check_password(login, password):
    "Return the party whose portal password login and password are"
    WebUser = Pool().get('web.user')
    party = holder_of(accounts_of(login))
    if not party or not password:
        return None
    users = WebUser.search([
            ('rsoft_portal', '=', 'subscriber'),
            ('party', '=', party.id),
            ('password_hash', '!=', None),
            ], limit=1)
    if users:
        valid, _ = WebUser.check_password(password, users[0].password_hash)
        if valid:
            return party


@subscriber_route('/logout', methods=('POST',))
def logout(portal):
    Session = Pool().get('web.user.session')
    Session.end_portal_sessions(portal.user, portal.name)
    response = portal.redirect('/login')
    portal.delete_cookie(response, SESSION_COOKIE)
    return response


@subscriber_route('/')
def home(portal):
    pool = Pool()
    Date = pool.get('ir.date')
    today = Date.today()
    accounts = [account_summary(portal, a, today)
        for a in portal.scope.accounts]
    return portal.render('subscriber/home.html', accounts=accounts,
        today=today)


def account_summary(portal, account, today):
    """Return what the home page shows of account: its money, dates,
    connections and alerts"""
    scope = portal.scope
    invoices = scope.search('account.invoice', [
            ('rsoft_subscriber', '=', account.id),
            ('type', '=', 'out'),
            ('state', '=', 'posted'),
            ])
    currency = account.company.currency
    due = currency.round(sum((i.amount_to_pay for i in invoices),
            start=currency.round(0)))
    connections = scope.search('rsoft.connection', [
            ('subscriber', '=', account.id),
            ], order=[('id', 'ASC')])
    alerts = []
    prepaid = account.billing_mode == 'prepaid'
    expiry = account.expiry_date if prepaid else None
    if expiry and expiry <= today + datetime.timedelta(days=EXPIRY_DAYS):
        alerts.append(('alert_expiring', {'date': portal.format_date(expiry)}))
    if prepaid and any(w.low_balance for w in account.wallets):
        alerts.append(('alert_low_balance', {}))
    if due > 0:
        alerts.append(('alert_due', {
                    'amount': portal.format_amount(due, currency)}))
    return {
        'account': account,
        'currency': currency,
        'prepaid': prepaid,
        'balance': account.wallet_balance,
        'due': due,
        'expiry': expiry,
        'next_bill_date': None if prepaid else account.next_bill_date,
        'renewal': account.renewal_amount,
        'connections': [connection_summary(c, today) for c in connections],
        'alerts': alerts,
        }


def connection_summary(connection, today):
    """Return the connection with its running lines and its monthly
    amounts (the offers, NCF, tax, total)"""
    lines = [line for line in connection.lines
        if line.state == 'active' and line.is_open(today)]
    return {
        'connection': connection,
        'lines': lines,
        # The price a month of each offer, as sold today (MRP or DRP)
        'prices': catalogue_prices(connection, today),
        'monthly': monthly_amounts(connection, today),
        }


def monthly_amounts(connection, date):
    """Return the monthly amounts of connection as they stand: those of
    a subscription request of no change"""
    Request = Pool().get('rsoft.subscription.request')
    try:
        return amounts(Request.present(connection, date), 'before')
    except UserError:
        return None


# The monthly figures of a subscription request, before or after
FIGURES = ['offers', 'ncf', 'ncf_slab', 'taxes', 'total', 'channel_count']


def amounts(request, suffix):
    "Return the monthly figures of request before or after, as a dict"
    return {
        'currency': request.company.currency,
        **{name: getattr(request, f'{name}_{suffix}') for name in FIGURES},
        }


@subscriber_route('/bills')
def bills(portal):
    scope = portal.scope
    invoices = scope.search('account.invoice', [
            ('type', '=', 'out'),
            ('state', 'in', BILLED),
            ], order=[('invoice_date', 'DESC'), ('id', 'DESC')], limit=100)
    payments = scope.search('rsoft.payment', [
            ('state', '!=', 'draft'),
            ], order=[('date', 'DESC'), ('id', 'DESC')], limit=100)
    return portal.render('subscriber/bills.html', invoices=invoices,
        payments=payments)


@subscriber_route('/invoices/<int:invoice>/bill.pdf')
def bill(portal, invoice):
    return bill_pdf(portal, invoice)


@subscriber_route('/receipts/<int:payment>.pdf')
def receipt(portal, payment):
    return receipt_pdf(portal, payment)


@subscriber_route('/wallet')
def wallet(portal):
    pool = Pool()
    Date = pool.get('ir.date')
    since = Date.today() - datetime.timedelta(days=HISTORY_DAYS)
    entries = portal.scope.search('rsoft.wallet.entry', [
            ('date', '>=', since),
            ], order=[('date', 'DESC'), ('id', 'DESC')])
    return portal.render('subscriber/wallet.html', entries=entries,
        since=since)


@subscriber_route('/history')
def history(portal):
    """The usage history of six months: what changed on the accounts
    and what their boxes were commanded"""
    pool = Pool()
    Date = pool.get('ir.date')
    since = Date.today() - datetime.timedelta(days=HISTORY_DAYS)
    scope = portal.scope
    lines = scope.search('rsoft.subscription.line', [
            ('state', 'in', ['active', 'ended']),
            ['OR',
                ('end_date', '=', None),
                ('end_date', '>=', since),
                ],
            ], order=[('start_date', 'DESC'), ('id', 'DESC')])
    events = scope.search('rsoft.subscriber.event', [
            ('date', '>=', since),
            ], order=[('date', 'DESC'), ('id', 'DESC')], limit=200)
    return portal.render('subscriber/history.html', lines=lines,
        events=events, since=since)


@subscriber_route('/profile', methods=('GET', 'POST'))
def profile(portal):
    "Contact details, promotions, password; a new mobile is sent an OTP"
    pool = Pool()
    OptOut = pool.get('rsoft.notify.opt_out')
    Subscriber = pool.get('rsoft.subscriber')
    Otp = pool.get('rsoft.selfcare.otp')
    scope = portal.scope
    party = scope.party
    request = portal.request
    values = {'step': None, 'saved': None}
    if request.method == 'POST':
        form = request.form
        action = form.get('action')
        try:
            if action == 'email':
                Subscriber.change_contact(scope.accounts, 'email',
                    form.get('email', '').strip()[:200])
                values['saved'] = 'sc_saved_email'
            elif action == 'promotions':
                wanted = form.getlist('promotions')
                opt_outs = OptOut.search([('party', '=', party.id)])
                had = {o.channel for o in opt_outs}
                OptOut.delete([o for o in opt_outs if o.channel in wanted])
                OptOut.create([{
                            'party': party.id, 'channel': channel,
                            'note': "Subscriber portal",
                            } for channel in ('sms', 'email')
                        if channel not in wanted and channel not in had])
                values['saved'] = 'sc_saved_promotions'
            elif action == 'mobile':
                mobile = normalize_login(form.get('mobile', ''))
                if not mobile.startswith('+'):
                    return _profile(portal, error='sc_mobile_invalid',
                        status=HTTPStatus.UNPROCESSABLE_ENTITY)
                Otp.send(f'mobile:{party.id}:{mobile}', 'mobile', party,
                    mobile, ip_address=request.remote_addr,
                    values={'customer_id': scope.accounts[0].customer_id})
                values.update(step='mobile_otp', mobile=mobile)
            elif action == 'mobile_verify':
                mobile = form.get('mobile', '')
                otp = Otp.verify(f'mobile:{party.id}:{mobile}', 'mobile',
                    form.get('otp'))
                if not otp or otp.party != party:
                    return _profile(portal, step='mobile_otp', mobile=mobile,
                        error='otp_failed', status=HTTPStatus.UNAUTHORIZED)
                Subscriber.change_contact(scope.accounts, 'mobile',
                    otp.mobile)
                values['saved'] = 'sc_saved_mobile'
            elif action == 'password':
                password = form.get('password', '')
                if password != form.get('password2'):
                    return _profile(portal, error='sc_password_mismatch',
                        status=HTTPStatus.UNPROCESSABLE_ENTITY)
                portal.user.set_portal_password(password)
                values['saved'] = 'sc_saved_password'
            else:
                abort(HTTPStatus.BAD_REQUEST)
        except UserError as error:
            return portal.refuse('subscriber/profile.html', error,
                **_profile_values(portal))
    return _profile(portal, **values)


def _profile_values(portal):
    OptOut = Pool().get('rsoft.notify.opt_out')
    opted_out = {o.channel for o in OptOut.search([
                ('party', '=', portal.scope.party.id)])}
    return {
        'accounts': portal.scope.accounts,
        'promotions': {c for c in ('sms', 'email') if c not in opted_out},
        }


def _profile(portal, status=HTTPStatus.OK, **values):
    return portal.render('subscriber/profile.html', status=status,
        **_profile_values(portal), **values)
