from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class DeviceError(UserError):
    pass


class BlacklistError(DeviceError):
    pass


class PairingError(DeviceError):
    pass


class TransferError(DeviceError):
    pass


class InstallError(DeviceError):
    pass


class SwapError(DeviceError):
    pass


class ReceiptError(UserError):
    pass


class FormatError(ValidationError):
    pass


class RecordedError(AccessError):
    pass
