from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class RateValidationError(ValidationError):
    pass


class ChannelValidationError(ValidationError):
    pass


class BouquetValidationError(ValidationError):
    pass


class OfferValidationError(ValidationError):
    pass


class OfferPriceError(UserError):
    pass


class OfferPublishedError(AccessError):
    pass


class NcfValidationError(ValidationError):
    pass


class NcfError(UserError):
    pass


class TariffRuleValidationError(ValidationError):
    pass


class TariffComplianceError(UserError):
    pass

