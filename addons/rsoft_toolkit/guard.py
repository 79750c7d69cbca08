"""Fields that only a model's own actions may set

A view's readonly and states are hints to the client: a JSON-RPC call
writes whatever field it names. A model lists in `_system_fields` the
fields that its actions (buttons, wizards, scheduled jobs, other models'
code) compute or change; those run without access checks, so only a write
that comes from outside (`external`, i.e. with access checks on) is
refused."""
from decimal import Decimal

from trytond import backend
from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.transaction import Transaction, check_access

from .exceptions import SystemFieldError

__all__ = ['AppendOnlyMixin', 'ReportAmountsMixin', 'ReportQueryMixin',
    'SystemFieldsMixin', 'check_record_rules']


def check_record_rules(Model, records, mode):
    """Refuse, as an access error, the records the user's rules hide

    Tryton checks the record rules of a write or a delete after
    check_modification: call this first there, so that a record of another
    LCO is refused as such, not by a message of the model that names it."""
    Rule = Pool().get('ir.rule')
    with check_access():
        Rule.check(Model.__name__, [r.id for r in records], mode)


class AppendOnlyMixin:
    """A history: its model's own code appends records (without access
    checks), nobody writes or deletes them; _append_only_message is the
    id of the refusal's message"""
    __slots__ = ()
    _append_only_message = None

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise AccessError(gettext(cls._append_only_message))

    @classmethod
    def create(cls, vlist):
        # Refused before anything is stored
        if Transaction().check_access:
            raise AccessError(gettext(cls._append_only_message))
        return super().create(vlist)


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
        if external and mode in {'write', 'delete'}:
            check_record_rules(cls, records, mode)
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
        raise SystemFieldError(gettext('rsoft_toolkit.msg_system_field',
                field=cls._fields[name].string,
                model=cls.__names__()['model']))


class ReportQueryMixin:
    """A report computed by a query (table_query): read-only over RPC

    Tryton's access rights already deny writing such a model, but its
    create, write and delete would raise before they are checked; without
    them in __rpc__ a call is refused with the dispatcher's message."""
    __slots__ = ()

    @classmethod
    def __setup__(cls):
        super().__setup__()
        for method in ['create', 'write', 'delete', 'copy']:
            cls.__rpc__.pop(method, None)


class ReportAmountsMixin:
    """Amounts summed by the database, exact on every backend: the rows
    are of the company of the context"""
    __slots__ = ()

    @classmethod
    def read(cls, ids, fields_names):
        pool = Pool()
        Company = pool.get('company.company')
        rows = super().read(ids, fields_names)
        company = Transaction().context.get('company')
        if backend.name == 'sqlite' and company is not None:
            # SQLite sums the decimals as floats: the company's currency
            # gives the digits
            currency = Company(company).currency
            names = [n for n in fields_names
                if n in cls._fields and cls._fields[n]._type == 'numeric']
            for row in rows:
                for name in names:
                    if row.get(name) is not None:
                        row[name] = currency.round(Decimal(str(row[name])))
        return rows
