from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import ValidationError


class KYCError(ValidationError):
    pass


class DuplicateWarning(UserWarning):
    pass


class LifecycleError(UserError):
    pass


class SubscriptionError(UserError):
    pass


class DeleteError(UserError):
    pass
