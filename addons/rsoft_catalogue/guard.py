"""Fields that only a model's own actions may set

A view's readonly and states are hints to the client: a JSON-RPC call
writes whatever field it names. A model lists in `_system_fields` the
fields that its actions (buttons, wizards, scheduled jobs, other models'
code) compute or change; those run without access checks, so only a write
that comes from outside (`external`, i.e. with access checks on) is
refused."""
from trytond.i18n import gettext
from trytond.transaction import Transaction

from .exceptions import SystemFieldError

__all__ = ['SystemFieldsMixin']


class SystemFieldsMixin:
    __slots__ = ()

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Extensions add their own: cls._system_fields |= {'billed_until'}
        cls._system_fields = set()

    @classmethod
    def create(cls, vlist):
        transaction = Transaction()
        if transaction.user and transaction.check_access:
            for values in vlist:
                cls._check_system_fields_create(values)
        return super().create(vlist)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if external and mode == 'write' and values:
            for name in sorted(cls._system_fields & values.keys()):
                cls._raise_system_field(name)

    @classmethod
    def _check_system_fields_create(cls, values):
        "A new record may carry a system field only at its default value"
        names = sorted(cls._system_fields & values.keys())
        if not names:
            return
        defaults = cls.default_get(names, with_rec_name=False)
        for name in names:
            if values[name] not in (None, defaults.get(name)):
                cls._raise_system_field(name)

    @classmethod
    def _raise_system_field(cls, name):
        raise SystemFieldError(gettext('rsoft_catalogue.msg_system_field',
                field=cls._fields[name].string,
                model=cls.__names__()['model']))
