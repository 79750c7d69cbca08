from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class BillingProfileError(ValidationError):
    pass


class RatingError(UserError):
    pass


class InvoicingError(UserError):
    pass


class BillRunError(UserError):
    pass


class CampaignError(ValidationError):
    pass


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
