"When rsoft_lco is activated: the LCO on a wallet and the purchases"
from trytond.pool import Pool, PoolMeta


class Purchase(metaclass=PoolMeta):
    __name__ = 'rsoft.ppv.purchase'

    @classmethod
    def _invoiced(cls, invoices):
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        super()._invoiced(invoices)
        # Billed outside a bill run: the LCO on a wallet pays, or is
        # refunded, the MSO's share as a bill run would have it
        Subscriber.charge_lco(invoices)
