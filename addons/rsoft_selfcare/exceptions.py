from trytond.model.exceptions import ValidationError


class PortalLoginError(ValidationError):
    pass
