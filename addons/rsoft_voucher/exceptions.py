from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class VoucherError(UserError):
    pass


class ConfigurationError(VoucherError):
    pass


class GenerateError(VoucherError):
    pass


class RangeError(VoucherError):
    pass


class RedeemRefused(VoucherError):
    """The one answer to a redemption that fails on the PIN: the same
    words whatever was wrong"""


class TemplateValidationError(ValidationError):
    pass
