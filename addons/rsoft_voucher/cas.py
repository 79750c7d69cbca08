"The CAS entitles a product voucher's line for its days"
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access


class CasDevice(metaclass=PoolMeta):
    __name__ = 'rsoft.cas.device'

    @classmethod
    def _line_paid_until(cls, line, paid_until):
        """A voucher paid its line's days: a prepaid account's renewals
        do not cap them"""
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        paid_until = super()._line_paid_until(line, paid_until)
        if (paid_until and line.end_date and line.end_date > paid_until):
            with without_check_access():
                if Voucher.search([('line', '=', line.id)], count=True):
                    return line.end_date
        return paid_until
