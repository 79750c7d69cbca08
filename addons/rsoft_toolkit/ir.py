from trytond.pool import PoolMeta

from .migration import adopt_records


class Message(metaclass=PoolMeta):
    __name__ = 'ir.message'

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # The messages of the shared code were the catalogue's
        adopt_records(module, 'rsoft_catalogue')
