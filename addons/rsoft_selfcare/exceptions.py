from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class PortalLoginError(ValidationError):
    pass


class OtpThrottled(UserError):
    pass
