"""The head-end entitles a purchase for its window, to the second, rather
than for the days its subscription line spans"""
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from .offer import VIDEO_KINDS


class CasDevice(metaclass=PoolMeta):
    __name__ = 'rsoft.cas.device'

    @classmethod
    def now(cls):
        # One clock for the windows: a purchase's viewing and its
        # entitlement end at the same moment
        return Pool().get('rsoft.ppv.configuration').now()

    @classmethod
    def _line_window(cls, line):
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        if line.product.template.rsoft_kind in VIDEO_KINDS:
            with without_check_access():
                purchases = Purchase.search([
                        ('line', '=', line.id),
                        ('state', '=', 'confirmed'),
                        ], limit=1)
            if purchases:
                purchase, = purchases
                return purchase.window_start, purchase.window_end
        return super()._line_window(line)
