from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class CasError(UserError):
    pass


class MappingError(ValidationError):
    pass


class CampaignError(UserError):
    pass
