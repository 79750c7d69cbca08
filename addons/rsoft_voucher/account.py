"The wallet top-up of a voucher, and the daily job"
from trytond.pool import Pool, PoolMeta


class WalletEntry(metaclass=PoolMeta):
    __name__ = 'rsoft.wallet.entry'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['rsoft.voucher']

    def _voucher(self):
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        if (isinstance(self.origin, Voucher) and self.kind == 'top_up'
                and not self.reversed_entry):
            return self.origin

    def _get_counterpart_account(self):
        "A voucher's top-up is paid by the voucher liability, not in cash"
        pool = Pool()
        Configuration = pool.get('rsoft.voucher.configuration')
        if self._voucher():
            return Configuration(1).get_account(
                'liability_account', self.wallet.company)
        return super()._get_counterpart_account()

    def _get_move_lines(self):
        lines = super()._get_move_lines()
        voucher = self._voucher()
        if voucher:
            # The liability is the partner's the voucher was sold to
            account = self._get_counterpart_account()
            for line in lines:
                if line.account == account:
                    line.party = voucher.partner.party
        return lines


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('rsoft.voucher|expire_daily',
                    "Expire and Purge Vouchers"),
                ])
