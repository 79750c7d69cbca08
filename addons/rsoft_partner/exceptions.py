from trytond.model.exceptions import ValidationError


class HierarchyError(ValidationError):
    pass


class AgreementError(ValidationError):
    pass
