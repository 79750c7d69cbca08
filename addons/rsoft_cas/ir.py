from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('rsoft.cas.system|dispatch', "Dispatch CAS Commands"),
                ('rsoft.cas.device|expire', "Command Expired Entitlements"),
                ('rsoft.cas.reconciliation|run_all', "Reconcile CAS Systems"),
                ])
