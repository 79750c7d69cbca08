"""Bulk insertion of generated rows, bypassing the ORM

The ORM validates and browses every record it creates (about 40 records/s
for a subscriber with its party, connections, subscriptions and history),
so a million-subscriber data set or a vendor file of 100,000 devices
cannot go through it. Callers make rows valid beforehand and write them
here: COPY on PostgreSQL, executemany on SQLite, with ids allocated
beforehand so that rows can refer to each other."""
import datetime

from trytond import backend
from trytond.transaction import Transaction


class BulkWriter:

    def __init__(self):
        transaction = Transaction()
        self.cursor = transaction.connection.cursor()
        self.postgresql = backend.name == 'postgresql'
        self.now = datetime.datetime.now()
        self.user = transaction.user

    def allocate(self, Model, count):
        "Return count new ids for Model"
        table = Model._table
        if self.postgresql:
            self.cursor.execute(
                'SELECT nextval(%s) FROM generate_series(1, %s)',
                (f'{table}_id_seq', count))
            return [i for i, in self.cursor]
        self.cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        start, = self.cursor.fetchone()
        return list(range(start + 1, start + 1 + count))

    def insert(self, Model, rows):
        "Insert rows (dicts with the same keys, id included) into Model"
        if not rows:
            return
        columns = list(rows[0]) + ['create_uid', 'create_date']
        values = [[row[c] for c in columns[:-2]] + [self.user, self.now]
            for row in rows]
        table = Model._table
        names = ', '.join(f'"{c}"' for c in columns)
        if self.postgresql:
            self._copy(table, names, values)
        else:
            marks = ', '.join('?' for _ in columns)
            self.cursor.executemany(
                f'INSERT INTO "{table}" ({names}) VALUES ({marks})', values)

    def _copy(self, table, names, values):
        connection = Transaction().connection
        with connection.cursor().copy(
                f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in values:
                copy.write_row(row)

