"Helpers for the tests that talk to a server: routes, workers"
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction, TransactionError

__all__ = ['run']


def run(func, *args):
    """Return func(*args) run in a committed transaction of the admin,
    with the admin's preferences in the context: as a route or a worker
    sees the database"""
    pool = Pool(DB_NAME)
    extras = {}
    while True:
        with Transaction().start(DB_NAME, 1, **extras) as transaction:
            User = pool.get('res.user')
            try:
                with transaction.set_context(
                        User.get_preferences(context_only=True)):
                    return func(*args)
            except TransactionError as error:
                transaction.rollback()
                error.fix(extras)
