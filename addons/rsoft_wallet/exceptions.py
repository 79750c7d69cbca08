from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError


class WalletError(UserError):
    pass


class InsufficientBalanceError(WalletError):
    pass


class EntryModificationError(AccessError):
    pass


class ReversalError(WalletError):
    pass


class WalletConfigurationError(WalletError):
    pass


class TopUpError(WalletError):
    pass
