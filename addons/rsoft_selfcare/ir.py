from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('rsoft.selfcare.otp|clean',
                    "Delete the Old One-Time Passwords"),
                ('rsoft.poll|close_expired',
                    "Close the Polls Past Their Closing"),
                ])
