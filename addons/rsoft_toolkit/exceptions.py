from trytond.exceptions import TrytonException
from trytond.model.exceptions import AccessError


class SystemFieldError(AccessError):
    pass


class MigrationError(TrytonException):
    "An update that cannot be done as asked; said to the administrator"
