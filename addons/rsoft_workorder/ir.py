from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('rsoft.complaint|escalate_overdue',
                    "Escalate Overdue Complaints"),
                ('rsoft.complaint|close_unconfirmed',
                    "Close Resolved Complaints Left Unconfirmed"),
                ])
