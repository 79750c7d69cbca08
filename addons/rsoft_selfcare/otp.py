"""One-time passwords sent by SMS: the subscriber portal's login, a change
of the registered mobile and the channel-selector API's authentication

An OTP is kept as a keyed hash of its code; it is valid a few minutes,
for a few tries, and the sending is throttled per login, per number and
per address so that nobody floods a subscriber with SMS or the operator
with their cost."""
import datetime as dt
import hmac
import secrets
from hashlib import sha256

from trytond import config
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import OtpThrottled

PURPOSES = [
    ('login', "Portal Login"),
    ('mobile', "Mobile Change"),
    ('api', "Channel Selector API"),
    ]
STATES = [
    ('pending', "Pending"),
    ('used', "Used"),
    ('blocked', "Blocked"),
    ]
DIGITS = 6


def _setting(name, default):
    return config.getint('rsoft_selfcare', name, default=default)


class Otp(ModelSQL):
    "A one-time password sent to a subscriber's mobile"
    __name__ = 'rsoft.selfcare.otp'
    __string__ = "One-Time Password"

    login = fields.Char(
        "Login", required=True, readonly=True,
        help="What the code was asked for: the customer ID or mobile "
        "typed, normalised.")
    purpose = fields.Selection(PURPOSES, "Purpose", required=True,
        readonly=True)
    party = fields.Many2One('party.party', "Party", readonly=True,
        ondelete='CASCADE',
        help="The holder of the accounts the code opens.")
    mobile = fields.Char("Mobile", readonly=True,
        help="The number the code was sent to.")
    salt = fields.Char("Salt", readonly=True, strip=False)
    code_hash = fields.Char("Code Hash", readonly=True, strip=False)
    expires = fields.Timestamp("Expires", required=True, readonly=True)
    tries = fields.Integer("Tries", required=True, readonly=True)
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    ip_address = fields.Char("IP Address", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Neither read nor written by the clients: the routes only
        cls.__rpc__ = {}
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.login, Index.Equality()),
                    (t.create_date, Index.Range())),
                Index(t, (t.mobile, Index.Equality()),
                    (t.create_date, Index.Range())),
                Index(t, (t.ip_address, Index.Equality()),
                    (t.create_date, Index.Range())),
                })

    @classmethod
    def default_tries(cls):
        return 0

    @classmethod
    def default_state(cls):
        return 'pending'

    @classmethod
    def validity(cls):
        return dt.timedelta(seconds=_setting('otp_validity', 5 * 60))

    @classmethod
    def _window(cls):
        return dt.timedelta(seconds=_setting('otp_window', 15 * 60))

    @staticmethod
    def _hash(salt, code):
        pepper = config.get('rsoft_selfcare', 'otp_secret', default='')
        return hmac.new(f'{pepper}{salt}'.encode(), code.encode(),
            sha256).hexdigest()

    @classmethod
    def throttled(cls, login, mobile=None, ip_address=None):
        """Whether another code may not be sent now for login, to mobile,
        or asked from ip_address"""
        since = dt.datetime.now() - cls._window()
        checks = [(('login', '=', login), _setting('otp_max_send', 3))]
        if mobile:
            checks.append(
                (('mobile', '=', mobile), _setting('otp_max_send', 3)))
        if ip_address:
            checks.append((('ip_address', '=', ip_address),
                    _setting('otp_max_send_ip', 10)))
        return any(
            cls.search_count([clause, ('create_date', '>=', since)]) >= limit
            for clause, limit in checks)

    @classmethod
    def send(cls, login, purpose, party, mobile, ip_address=None,
            values=None):
        """Send a new code for login and purpose by SMS to mobile, for
        party, and return the OTP; the codes sent before for the same
        login and purpose end

        Raise OtpThrottled when too many were sent lately."""
        pool = Pool()
        Notification = pool.get('rsoft.notify.notification')
        if cls.throttled(login, mobile, ip_address):
            raise OtpThrottled(gettext('rsoft_selfcare.msg_otp_throttled'))
        cls._end(login, purpose)
        code = ''.join(secrets.choice('0123456789') for _ in range(DIGITS))
        salt = secrets.token_hex(16)
        otp, = cls.create([{
                    'login': login,
                    'purpose': purpose,
                    'party': party.id,
                    'mobile': mobile,
                    'salt': salt,
                    'code_hash': cls._hash(salt, code),
                    'expires': dt.datetime.now() + cls.validity(),
                    'ip_address': ip_address,
                    }])
        Notification.notify('portal_otp', party, {
                'otp': code,
                'minutes': int(cls.validity().total_seconds() // 60),
                **(values or {}),
                }, origin=otp, mobile=mobile)
        return otp

    @classmethod
    def note_request(cls, login, ip_address=None):
        """Count a request for a login that sends nothing (unknown or
        ambiguous) as a sending: the answer and its throttling are the
        same whether the login exists or not"""
        if cls.throttled(login, ip_address=ip_address):
            raise OtpThrottled(gettext('rsoft_selfcare.msg_otp_throttled'))
        cls.create([{
                    'login': login,
                    'purpose': 'login',
                    'expires': dt.datetime.now(),
                    'state': 'blocked',
                    'ip_address': ip_address,
                    }])

    @classmethod
    def _end(cls, login, purpose):
        cls.write(cls.search([
                    ('login', '=', login),
                    ('purpose', '=', purpose),
                    ('state', '=', 'pending'),
                    ]), {'state': 'blocked'})

    @classmethod
    def verify(cls, login, purpose, code):
        """Return the pending OTP of login and purpose if code is its own,
        and use it up; else count the try and return None

        The tries are kept even when the request fails: the caller commits
        them."""
        otps = cls.search([
                ('login', '=', login),
                ('purpose', '=', purpose),
                ('state', '=', 'pending'),
                ('expires', '>', dt.datetime.now()),
                ], order=[('create_date', 'DESC'), ('id', 'DESC')], limit=1)
        if not otps:
            return None
        otp, = otps
        cls.lock([otp])
        code = (code or '').strip()
        if (code.isdigit() and len(code) == DIGITS
                and hmac.compare_digest(
                    cls._hash(otp.salt, code), otp.code_hash)):
            cls.write([otp], {'state': 'used', 'tries': otp.tries + 1})
            return otp
        tries = otp.tries + 1
        cls.write([otp], {
                'tries': tries,
                'state': ('blocked' if tries >= _setting('otp_max_tries', 5)
                    else 'pending'),
                })
        return None

    @classmethod
    def clean(cls):
        "Delete the codes older than a day: they opened what they could"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete(where=table.create_date
                < dt.datetime.now() - dt.timedelta(days=1)))
