"Helpers shared by the billing models"
from contextlib import contextmanager

from trytond import backend
from trytond.transaction import Transaction


@contextmanager
def savepoint(name):
    "Undo what the block did when it raises, and only that"
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    # On SQLite, a savepoint outside a transaction starts one that its
    # release commits: the block would be kept whatever follows
    if (backend.name == 'sqlite'
            and not transaction.connection.in_transaction):
        cursor.execute('BEGIN IMMEDIATE')
    cursor.execute(f'SAVEPOINT {name}')
    try:
        yield
    except Exception:
        cursor.execute(f'ROLLBACK TO SAVEPOINT {name}')
        # What the cache read inside the savepoint is gone too
        transaction.cache.clear()
        raise
    else:
        cursor.execute(f'RELEASE SAVEPOINT {name}')


def forget(Model, ids):
    "Drop what the transaction cached of the records, as a write does"
    transaction = Transaction()
    transaction.counter += 1
    for cache in transaction.cache.values():
        records = cache.get(Model.__name__, {})
        for id_ in ids:
            records.pop(id_, None)
