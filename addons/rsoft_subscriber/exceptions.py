from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import AccessError, ValidationError


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


class ConnectionCodeError(UserError):
    pass


class ConnectionAccessError(AccessError):
    pass


class SubscriptionAccessError(AccessError):
    pass


class PartyAccessError(AccessError):
    pass
