"Portal logins: web users bound to an LCO, their sessions and failures"
import datetime
from secrets import token_urlsafe

from email_validator import EmailNotValidError, validate_email
from sql.aggregate import Count

from trytond import config
from trytond.i18n import gettext
from trytond.model import ModelSQL, fields
from trytond.modules.web_user.exceptions import UserValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import PortalLoginError

PORTALS = [
    (None, ""),
    ('lco', "LCO Portal"),
    ('subscriber', "Subscriber Portal"),
    ]


def _setting(name, default):
    return config.getint('rsoft_selfcare', name, default=default)


class WebUser(metaclass=PoolMeta):
    __name__ = 'web.user'

    # Field access rights (user.xml) leave both to the back office: a
    # portal login cannot be moved to another LCO by anyone below it
    rsoft_portal = fields.Selection(
        PORTALS, "Portal",
        help="The portal the web user logs in to.")
    rsoft_lco = fields.Many2One(
        'rsoft.partner', "LCO", ondelete='RESTRICT',
        domain=[('role', '=', 'lco')],
        states={
            'required': Eval('rsoft_portal') == 'lco',
            'invisible': Eval('rsoft_portal') != 'lco',
            },
        help="The LCO whose subscribers the login manages "
        "in the LCO portal.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # A subscriber logs in with the customer ID or mobile of an
        # account of the party: many have no e-mail address
        cls.email.states = {
            'required': (Eval('active', True)
                & (Eval('rsoft_portal') != 'subscriber')),
            }

    @classmethod
    def validate_fields(cls, users, field_names):
        super().validate_fields(users, field_names)
        if field_names & {'rsoft_portal', 'rsoft_lco', 'party'}:
            cls.check_rsoft_lco(users)
            cls.check_rsoft_party(users)

    @classmethod
    def check_rsoft_lco(cls, users):
        for user in users:
            if user.rsoft_portal == 'lco' and (
                    not user.rsoft_lco or user.rsoft_lco.role != 'lco'):
                raise PortalLoginError(gettext(
                        'rsoft_selfcare.msg_web_user_lco_required',
                        user=user.rec_name))

    @classmethod
    def check_rsoft_party(cls, users):
        for user in users:
            if user.rsoft_portal == 'subscriber' and not user.party:
                raise PortalLoginError(gettext(
                        'rsoft_selfcare.msg_web_user_party_required',
                        user=user.rec_name))

    @classmethod
    def check_valid_email(cls, users, fields_names=None):
        # web_user asks DNS whether the address's domain takes mail; a
        # head-end server often resolves no public name, and would then
        # refuse every login: there the syntax is checked alone
        if config.getboolean(
                'rsoft_selfcare', 'check_email_deliverability', default=True):
            return super().check_valid_email(users, fields_names)
        if fields_names and 'email' not in fields_names:
            return
        for user in users:
            if user.email:
                try:
                    validate_email(user.email, check_deliverability=False)
                except EmailNotValidError as exception:
                    raise UserValidationError(gettext(
                            'web_user.msg_user_email_invalid',
                            user=user.rec_name,
                            email=user.email),
                        str(exception)) from exception

    @property
    def rsoft_portal_lco(self):
        "The LCO the login acts for in the LCO portal, else None"
        if (self.active and self.rsoft_portal == 'lco'
                and self.rsoft_lco and self.rsoft_lco.active):
            return self.rsoft_lco

    @property
    def rsoft_portal_party(self):
        "The party whose accounts the login opens in the subscriber portal"
        if (self.active and self.rsoft_portal == 'subscriber'
                and self.party and self.party.active):
            return self.party

    def set_portal_password(self, password):
        """Set the password the login may use instead of an OTP, checked
        as the back office's are (web.user checks none for root)"""
        pool = Pool()
        User = pool.get('res.user')
        length = max(config.getint('password', 'length', default=0),
            _setting('password_length', 8))
        if len(password) < length:
            raise PortalLoginError(gettext(
                    'rsoft_selfcare.msg_portal_password_length',
                    length=length))
        User.validate_password(password, [self])
        self.password = password
        self.save()

    @classmethod
    def subscriber_login(cls, party):
        "Return the subscriber portal login of party, created at first use"
        users = cls.search([
                ('rsoft_portal', '=', 'subscriber'),
                ('party', '=', party.id),
                ], limit=1)
        if users:
            return users[0]
        user, = cls.create([{
                    'rsoft_portal': 'subscriber',
                    'party': party.id,
                    }])
        return user


class WebUserSession(metaclass=PoolMeta):
    __name__ = 'web.user.session'

    rsoft_portal = fields.Selection(PORTALS + [
            ('api', "Channel Selector API"),
            ], "Portal", readonly=True)
    rsoft_csrf = fields.Char(
        "CSRF Token", readonly=True, strip=False,
        help="The token every form of the session posts back.")

    @classmethod
    def new_portal_session(cls, user, portal):
        """Return a new session of user for portal: a key never seen
        before, and a CSRF token of its own"""
        session, = cls.create([{
                    'user': user.id,
                    'rsoft_portal': portal,
                    'rsoft_csrf': token_urlsafe(32),
                    }])
        return session

    @classmethod
    def get_portal_session(cls, key, portal):
        "Return the live session of key for portal, else None"
        if not key:
            return
        sessions = cls.search([
                ('key', '=', key),
                ('rsoft_portal', '=', portal),
                ], limit=1)
        if sessions and not sessions[0].expired:
            return sessions[0]

    @classmethod
    def end_portal_sessions(cls, user, portal):
        "Drop every session of user for portal"
        cls.delete(cls.search([
                    ('user', '=', user.id),
                    ('rsoft_portal', '=', portal),
                    ]))


class LoginAttempt(ModelSQL):
    """A failed portal login, kept in the database so that every trytond
    process behind the proxy counts the same failures"""
    __name__ = 'rsoft.selfcare.login.attempt'
    __string__ = "Portal Login Attempt"

    login = fields.Char("Login", size=512, readonly=True)
    ip_address = fields.Char("IP Address", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__ = {}

    @classmethod
    def window(cls):
        "How long a failure counts, and a lock lasts"
        return datetime.timedelta(seconds=_setting('lock_time', 15 * 60))

    @classmethod
    def add(cls, login, ip_address):
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete(
                where=table.create_date < cls._since()))
        cls.create([{
                    'login': login[:512],
                    'ip_address': ip_address,
                    }])

    @classmethod
    def clear(cls, login):
        "Forget the failures of login, after it logged in"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete(where=table.login == login[:512]))

    @classmethod
    def locked(cls, login, ip_address):
        """Whether login or ip_address failed too often within the window:
        the lock ends when the failures age out of it"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        since = cls._since()
        checks = [(table.login == login[:512], _setting('max_attempt', 5))]
        if ip_address:
            checks.append((table.ip_address == ip_address,
                    _setting('max_attempt_ip', 20)))
        for where, limit in checks:
            cursor.execute(*table.select(Count(),
                    where=where & (table.create_date >= since)))
            if cursor.fetchone()[0] >= limit:
                return True
        return False

    @classmethod
    def _since(cls):
        return datetime.datetime.now() - cls.window()
