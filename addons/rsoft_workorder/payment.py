from trytond.pool import Pool, PoolMeta


class Payment(metaclass=PoolMeta):
    __name__ = 'rsoft.payment'

    @classmethod
    def receive(cls, payments):
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        Connection = pool.get('rsoft.connection')
        super().receive(payments)
        # A new account's payment is its paid request: its installation
        # is owed from now (TRAI: within 72 hours)
        connections = [c for p in cls.browse(payments)
            if p.subscriber and p.subscriber.state == 'draft'
            for c in p.subscriber.connections]
        if connections:
            Connection.create_installation_orders(
                connections, paid_at=Configuration.now())
