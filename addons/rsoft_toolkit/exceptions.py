from trytond.exceptions import TrytonException, UserError
from trytond.model.exceptions import AccessError


class SystemFieldError(AccessError):
    pass


class FileReadError(UserError):
    "A file to import that cannot be read as a table"


class MigrationError(TrytonException):
    "An update that cannot be done as asked; said to the administrator"
