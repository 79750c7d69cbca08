"""Who made a change in a portal

Routes run as root (web.py): the records a portal action creates would
name root as their author. The route puts its web user in the context;
these records keep its e-mail next to create_uid: as it was at the time,
and readable by whoever reads them (web users are the administrators')."""
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.transaction import Transaction

# The context key route() sets
PORTAL_LOGIN = 'rsoft_portal_login'


def portal_login():
    "Return the e-mail of the portal login of the request, or None"
    transaction = Transaction()
    # Only a route runs as root with it: a back-office client may send any
    # context, but never as root
    if transaction.user == 0:
        return transaction.context.get(PORTAL_LOGIN)


class PortalAuditMixin:
    __slots__ = ()

    portal_login = fields.Char(
        "Portal Login", readonly=True,
        help="The portal login that made the change, when it was made in "
        "a portal.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        if hasattr(cls, '_system_fields'):
            cls._system_fields |= {'portal_login'}

    @classmethod
    def create(cls, vlist):
        login = portal_login()
        if login:
            vlist = [{**v, 'portal_login': login} for v in vlist]
        return super().create(vlist)

    @classmethod
    def copy(cls, records, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('portal_login')
        return super().copy(records, default=default)


class SubscriberEvent(PortalAuditMixin, metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber.event'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # What a subscriber changes of the accounts in the portal
        cls.kind.selection.append(('contact', "Contact Details"))


class DeviceEvent(PortalAuditMixin, metaclass=PoolMeta):
    __name__ = 'rsoft.device.event'


class CasCommand(PortalAuditMixin, metaclass=PoolMeta):
    __name__ = 'rsoft.cas.command'

    @classmethod
    def row(cls, *args, **values):
        # Commands are inserted in bulk, not created
        login = portal_login()
        if login:
            values.setdefault('portal_login', login)
        return super().row(*args, **values)


class Payment(PortalAuditMixin, metaclass=PoolMeta):
    __name__ = 'rsoft.payment'


class TopUp(PortalAuditMixin, metaclass=PoolMeta):
    __name__ = 'rsoft.lco.top_up'


class ServiceEvent(PortalAuditMixin, metaclass=PoolMeta):
    __name__ = 'rsoft.service.event'


class Complaint(PortalAuditMixin, metaclass=PoolMeta):
    __name__ = 'rsoft.complaint'
