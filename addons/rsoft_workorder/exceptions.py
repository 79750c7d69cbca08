from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class ServiceError(UserError):
    pass


class ComplaintError(ServiceError):
    pass


class WorkOrderError(ServiceError):
    pass


class AllocationError(WorkOrderError):
    pass


class TargetValidationError(ValidationError):
    pass
