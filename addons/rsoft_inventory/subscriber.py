from trytond.pool import PoolMeta


class Subscriber(metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber'

    @classmethod
    def _lookup_domains(cls, text, pattern):
        domains = super()._lookup_domains(text, pattern)
        # Every box and card serial holds a digit
        if any(c.isdigit() for c in text):
            domains.append([('connections.devices.number', 'ilike', pattern)])
        return domains
