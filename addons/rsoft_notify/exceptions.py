from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class NotifyError(UserError):
    pass


class TemplateValidationError(ValidationError):
    pass


class GatewayValidationError(ValidationError):
    pass


class DeliveryError(Exception):
    "A message the provider did not accept; the text is safe to store"
