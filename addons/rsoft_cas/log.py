"""The CAS log: append-only, each entry hashing the one before

Every command queued, request sent, reply received and state changed is
appended to the chain of its CAS system. An entry's hash covers the
previous entry's hash and the entry itself, so changing, removing or
inserting an entry breaks every hash after it: `verify` (and the
rsoft-cas-verify-log command) names the first entry that does not
match."""
import datetime
import hashlib
import zlib

from sql import Table

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import AccessError
from trytond.modules.rsoft_toolkit.bulk import BulkWriter
from trytond.transaction import Transaction

KINDS = [
    ('queued', "Queued"),
    ('request', "Request"),
    ('reply', "Reply"),
    ('state', "State Change"),
    ('health', "Health"),
    ('alert', "Alert"),
    ]
GENESIS = '0' * 64
# pg_advisory_xact_lock takes two int32: this class, then the system
_LOCK_CLASS = zlib.crc32(b'rsoft.cas.log') & 0x7fffffff
TIMESTAMP_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'


def entry_hash(previous, system, position, timestamp, user, kind, command,
        address, message):
    "The hash of an entry, from its values as stored"
    if isinstance(timestamp, str):
        timestamp = datetime.datetime.fromisoformat(timestamp)
    text = '\x1f'.join([
            previous, str(system), str(position),
            timestamp.strftime(TIMESTAMP_FORMAT), str(user or ''), kind,
            str(command or ''), address or '', message or ''])
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


class Log(ModelSQL, ModelView):
    "What was asked of the CAS and what it answered, hash-chained"
    __name__ = 'rsoft.cas.log'
    __string__ = "CAS Log Entry"

    system = fields.Many2One(
        'rsoft.cas.system', "CAS System", required=True, readonly=True,
        ondelete='RESTRICT')
    position = fields.Integer(
        "Position", required=True, readonly=True,
        help="The rank of the entry in its system's chain.")
    timestamp = fields.Timestamp("Time", required=True, readonly=True)
    user = fields.Many2One(
        'res.user', "User", readonly=True, ondelete='RESTRICT')
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    command = fields.Many2One(
        'rsoft.cas.command', "Command", readonly=True, ondelete='RESTRICT')
    address = fields.Char(
        "Device Address", readonly=True,
        help="The card number or chip ID the entry is about.")
    message = fields.Text("Message", readonly=True)
    previous_hash = fields.Char("Previous Hash", readonly=True)
    hash = fields.Char("Hash", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('position_unique', Unique(t, t.system, t.position),
                'rsoft_cas.msg_log_position_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.command, Index.Equality())),
                Index(t, (t.address, Index.Equality())),
                })
        cls._order = [('id', 'DESC')]

    @classmethod
    def check_modification(cls, mode, entries, values=None, external=False):
        super().check_modification(
            mode, entries, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise AccessError(gettext('rsoft_cas.msg_log_append_only'))

    @classmethod
    def create(cls, vlist):
        # Only append() writes: positions and hashes must follow the chain
        raise AccessError(gettext('rsoft_cas.msg_log_append_only'))

    @classmethod
    def append(cls, entries, writer=None):
        """Append entries (dicts: system, kind and optionally command,
        address, message) to the chains of their systems

        The chains are locked in system order until the transaction ends:
        callers append last, just before they commit."""
        if not entries:
            return
        transaction = Transaction()
        writer = writer or BulkWriter()
        user = transaction.user
        now = datetime.datetime.now()
        by_system = {}
        for entry in entries:
            by_system.setdefault(entry['system'], []).append(entry)
        rows = []
        for system in sorted(by_system):
            position, previous = cls._lock_head(writer.cursor, system)
            for entry in by_system[system]:
                position += 1
                row = {
                    'system': system,
                    'position': position,
                    'timestamp': now,
                    'user': user,
                    'kind': entry['kind'],
                    'command': entry.get('command'),
                    'address': entry.get('address'),
                    'message': entry.get('message'),
                    'previous_hash': previous,
                    }
                row['hash'] = previous = entry_hash(
                    previous, system, position, now, user, row['kind'],
                    row['command'], row['address'], row['message'])
                rows.append(row)
        ids = writer.allocate(cls, len(rows))
        writer.insert(cls, [{'id': i, **r} for i, r in zip(ids, rows)])

    @classmethod
    def _lock_head(cls, cursor, system):
        """Lock the chain of system and return its last position and hash

        The lock is held until the transaction ends. PostgreSQL runs
        Tryton's transactions at REPEATABLE READ: their snapshot may
        predate entries committed by the previous holder of the lock, so
        the head is read by a transaction of its own, started once the
        lock is held; later appends of the same transaction follow what
        it appended itself (and not rolled back to a savepoint)."""
        head = cls._head(cursor, system)
        if backend.name == 'postgresql':
            cursor.execute(
                'SELECT pg_advisory_xact_lock(%s, %s)',
                (_LOCK_CLASS, system))
            head = max(head, cls._committed_head(system))
        return head

    @classmethod
    def _head(cls, cursor, system):
        table = cls.__table__()
        cursor.execute(*table.select(
                table.position, table.hash,
                where=table.system == system,
                order_by=table.position.desc, limit=1))
        head = cursor.fetchone()
        return tuple(head) if head else (0, GENESIS)

    @classmethod
    def _committed_head(cls, system):
        transaction = Transaction()
        database = transaction.database
        connection = database.get_connection(readonly=True)
        try:
            return cls._head(connection.cursor(), system)
        finally:
            connection.rollback()
            database.put_connection(connection)

    @classmethod
    def verify(cls, system=None):
        """Check the chains (of system or all) from their first entry

        Return (entries checked, None) or (entries checked, the first bad
        entry as a dict with its id, system, position and the reason)."""
        cursor = Transaction().connection.cursor()
        return verify_rows(cursor, cls._table, system)


def verify_rows(cursor, table_name, system=None, batch=10000):
    """Check the hash chains stored in table_name through cursor

    Works from a plain database connection: the log can be checked
    offline, on a copy, without the server."""
    table = Table(table_name)
    where = table.system == system if system else None
    columns = [table.id, table.system, table.position, table.timestamp,
        table.user, table.kind, table.command, table.address,
        table.message, table.previous_hash, table.hash]
    checked = 0
    heads = {}
    last = (0, 0)
    while True:
        condition = ((table.system > last[0])
            | ((table.system == last[0]) & (table.position > last[1])))
        if where is not None:
            condition &= where
        cursor.execute(*table.select(*columns, where=condition,
                order_by=[table.system.asc, table.position.asc],
                limit=batch))
        rows = cursor.fetchall()
        if not rows:
            return checked, None
        for (id_, system_, position, timestamp, user, kind, command,
                address, message, previous, hash_) in rows:
            expected_position, expected_previous = heads.get(
                system_, (None, None))
            bad = None
            if expected_position is not None:
                if position != expected_position:
                    bad = f'entry {expected_position} is missing'
                elif previous != expected_previous:
                    bad = 'it does not follow the entry before'
            if not bad and hash_ != entry_hash(
                    previous, system_, position, timestamp, user, kind,
                    command, address, message):
                bad = 'its content does not match its hash'
            if bad:
                return checked, {
                    'id': id_, 'system': system_, 'position': position,
                    'reason': bad}
            heads[system_] = (position + 1, hash_)
            checked += 1
            last = (system_, position)


def main(argv=None):
    "rsoft-cas-verify-log: check the CAS log of a database"
    import argparse

    from trytond import backend as _backend
    from trytond.config import config

    parser = argparse.ArgumentParser(
        description="Check the hash chain of the CAS log; "
        "exit 1 naming the first bad entry.")
    parser.add_argument('-c', '--config', dest='config')
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--system', type=int, help="a CAS system id")
    args = parser.parse_args(argv)
    config.update_etc(args.config)
    database = _backend.Database(args.database).connect()
    connection = database.get_connection(readonly=True)
    try:
        checked, bad = verify_rows(
            connection.cursor(), 'rsoft_cas_log', args.system)
    finally:
        database.put_connection(connection)
    if bad:
        print(f"BROKEN after {checked} good entries: entry id {bad['id']} "
            f"(system {bad['system']}, position {bad['position']}): "
            f"{bad['reason']}")
        return 1
    print(f"OK: {checked} entries, every hash matches")
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
