"""Keeps Tryton's PostgreSQL test templates in step with addons/.

With DB_CACHE=postgresql://, trytond.tests.test_tryton keeps one template
database per set of activated modules, named `test-<hash of the module
names>` (see _db_cache_file and _pg_dump there): neither DB_NAME nor a
prefix in DB_CACHE changes that name, and nothing notices when a module's
code changes. So scripts/test tags every template it made with the hash of
addons/ (a database comment) after a run and, before the next run, drops
the templates that carry another hash or none (left by an interrupted run),
and the working databases of earlier runs.

The names are global to the server, so runs of scripts/test against one
server take turns (an advisory lock held by `lock`, released when its stdin
closes).

    python _pg_test_cache.py lock URI      prints "locked", holds until EOF
    python _pg_test_cache.py prune URI HASH
    python _pg_test_cache.py tag URI HASH
"""
import sys
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

TEMPLATE = r'^test-[0-9a-f]{40}$'
WORKING = r'^test_rsoft_[0-9a-f]+_[0-9]+$'
# pg_advisory_lock key: "RSoftSMS" in ASCII
LOCK_KEY = 0x52536F6674534D53


def connect(uri):
    parts = urlsplit(uri)
    params = {'autocommit': True}
    if parts.hostname:
        params['host'] = unquote(parts.hostname)
    if parts.port:
        params['port'] = parts.port
    if parts.username:
        params['user'] = unquote(parts.username)
    if parts.password:
        params['password'] = unquote(parts.password)
    try:
        return psycopg.connect(dbname='postgres', **params)
    except psycopg.OperationalError:
        return psycopg.connect(dbname='template1', **params)


def comment(addons_hash):
    return f'rsoft-addons:{addons_hash}'


def lock(conn):
    locked, = conn.execute(
        'SELECT pg_try_advisory_lock(%s)', (LOCK_KEY,)).fetchone()
    if not locked:
        print('waiting for another scripts/test run on this server',
            file=sys.stderr, flush=True)
        conn.execute('SELECT pg_advisory_lock(%s)', (LOCK_KEY,))
    print('locked', flush=True)
    sys.stdin.read()


def prune(conn, addons_hash):
    stale = conn.execute(
        "SELECT d.datname, d.datname ~ %s FROM pg_database d "
        "WHERE (d.datname ~ %s "
        "AND COALESCE(shobj_description(d.oid, 'pg_database'), '') != %s) "
        "OR d.datname ~ %s "
        "ORDER BY 1",
        (TEMPLATE, TEMPLATE, comment(addons_hash), WORKING)).fetchall()
    kept = []
    for name, template in stale:
        print(f'dropping stale test database {name}', file=sys.stderr)
        try:
            conn.execute(sql.SQL('DROP DATABASE {}').format(
                    sql.Identifier(name)))
        except psycopg.Error as error:
            print(f'  not dropped: {error}'.rstrip(), file=sys.stderr)
            if template:
                kept.append(name)
    if kept:
        # The tests would start from these templates: the wrong schema.
        sys.exit(
            f'stale test templates left: {", ".join(kept)}; drop them as '
            'their owner (or wait for the run using them to end)')


def tag(conn, addons_hash):
    untagged = conn.execute(
        "SELECT d.datname FROM pg_database d WHERE d.datname ~ %s "
        "AND shobj_description(d.oid, 'pg_database') IS NULL "
        "AND pg_get_userbyid(d.datdba) = current_user",
        (TEMPLATE,)).fetchall()
    for name, in untagged:
        conn.execute(sql.SQL('COMMENT ON DATABASE {} IS {}').format(
                sql.Identifier(name), sql.Literal(comment(addons_hash))))


def main(action, uri, *args):
    with connect(uri) as conn:
        {'lock': lock, 'prune': prune, 'tag': tag}[action](conn, *args)


if __name__ == '__main__':
    main(*sys.argv[1:])
