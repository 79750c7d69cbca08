"""Bulk insertion of generated rows, bypassing the ORM

The ORM validates and browses every record it creates (about 40 records/s
for a subscriber with its party, connections, subscriptions and history),
so a million-subscriber data set or a vendor file of 100,000 devices
cannot go through it. Callers make rows valid beforehand and write them
here: COPY on PostgreSQL, executemany on SQLite, with ids allocated
beforehand so that rows can refer to each other."""
import datetime

from trytond import backend
from trytond.model import fields
from trytond.transaction import Transaction


class BulkWriter:

    def __init__(self):
        transaction = Transaction()
        self.cursor = transaction.connection.cursor()
        self.postgresql = backend.name == 'postgresql'
        self.now = datetime.datetime.now()
        self.user = transaction.user
        # SQLite has no sequences: the ids allocated and not yet inserted
        self._allocated = {}

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
        start = max(start, self._allocated.get(table, 0))
        self._allocated[table] = start + count
        return list(range(start + 1, start + 1 + count))

    def insert(self, Model, rows):
        """Insert rows (dicts with the same keys, id included) into Model

        The required fields the rows leave out take their default: the
        modules extending Model add them without the caller knowing."""
        if not rows:
            return
        defaults = self._defaults(Model, rows[0])
        columns = list(rows[0]) + list(defaults) + [
            'create_uid', 'create_date']
        tail = list(defaults.values()) + [self.user, self.now]
        values = [[row[c] for c in rows[0]] + tail for row in rows]
        table = Model._table
        names = ', '.join(f'"{c}"' for c in columns)
        if self.postgresql:
            self._copy(table, names, values)
        else:
            marks = ', '.join('?' for _ in columns)
            self.cursor.executemany(
                f'INSERT INTO "{table}" ({names}) VALUES ({marks})', values)

    def update(self, Model, column, pairs):
        "Set column of Model to value for the (id, value) pairs"
        if not pairs:
            return
        table = Model._table
        if self.postgresql:
            ids, values = zip(*pairs)
            self.cursor.execute(
                f'UPDATE "{table}" SET "{column}" = v.value, '
                'write_uid = %s, write_date = %s '
                'FROM (SELECT UNNEST(%s::INTEGER[]) AS id, '
                'UNNEST(%s::INTEGER[]) AS value) AS v '
                f'WHERE "{table}".id = v.id',
                (self.user, self.now, list(ids), list(values)))
        else:
            self.cursor.executemany(
                f'UPDATE "{table}" SET "{column}" = ?, write_uid = ?, '
                'write_date = ? WHERE id = ?',
                [(value, self.user, self.now, id_) for id_, value in pairs])

    @staticmethod
    def _defaults(Model, row):
        names = [name for name, field in Model._fields.items()
            if field.required and name not in row
            and field._type not in {'one2many', 'many2many'}
            and not isinstance(field, fields.Function)]
        defaults = Model.default_get(names, with_rec_name=False)
        return {n: v for n, v in defaults.items() if v is not None}

    def _copy(self, table, names, values):
        connection = Transaction().connection
        with connection.cursor().copy(
                f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in values:
                copy.write_row(row)

