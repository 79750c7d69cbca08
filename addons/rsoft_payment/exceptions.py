from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class PaymentError(UserError):
    pass


class PaymentReversalError(UserError):
    pass


class PaymentPostedError(AccessError):
    pass


class SystemRecordError(AccessError):
    pass


class GatewaySecretError(ValidationError):
    pass
