from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class PurchaseError(UserError):
    pass


class WalletShortError(PurchaseError):
    pass


class CreditLimitError(PurchaseError):
    pass


class CancelError(PurchaseError):
    pass


class EventValidationError(ValidationError):
    pass


class EventModificationError(UserError):
    pass
