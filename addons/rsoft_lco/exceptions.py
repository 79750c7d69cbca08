from trytond.exceptions import UserError


class LcoWalletError(UserError):
    pass


class TopUpError(LcoWalletError):
    pass


class SettlementError(LcoWalletError):
    pass


class RevenueError(UserError):
    pass
