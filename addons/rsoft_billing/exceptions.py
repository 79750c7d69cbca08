from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


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
