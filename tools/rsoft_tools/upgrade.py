"""Upgrade a database to the modules of this tree

    python -m rsoft_tools.upgrade -c trytond.conf -d DB

With trytond-admin of this virtual environment, in two runs:

1. A module that takes records over from an activated module (ADOPTERS)
   and is not activated yet is marked to activate, as the Modules form
   does, and activated on its own (`-u MODULE --activate-dependencies`):
   it adopts the records in that run, with their ids, so the receipt
   sequence keeps counting. The module that gave them refuses to be
   updated without it.
2. Every activated module is updated (`--all --activate-dependencies`:
   the modules may depend on new ones, as on rsoft_toolkit).

A run that fails is rolled back, not the runs before it: back the
database up first.
"""
import argparse
import shlex
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from sql import Flavor, Literal, Table
from sql.functions import CurrentTimestamp

# (module, the module it takes records over from): the module is activated
# first, on its own, when the other one is activated
ADOPTERS = [
    # payments, collections, gateways and dunning were rsoft_billing's
    ('rsoft_payment', 'rsoft_billing'),
    ]

ir_module = Table('ir_module')


class UpgradeError(Exception):
    pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', required=True,
        help="the trytond configuration file of the database")
    parser.add_argument('-d', '--database', required=True)
    args = parser.parse_args(argv)
    try:
        upgrade(args.config, args.database)
    except UpgradeError as exception:
        print(f"upgrade: {exception}", file=sys.stderr)
        return 1
    print(f"upgrade: {args.database} is up to date")
    return 0


def upgrade(config_file, database):
    states = module_states(config_file, database)
    activated = {m for m, s in states.items() if s == 'activated'}
    if not activated:
        raise UpgradeError(f"{database} has no activated module")
    for module, from_module in ADOPTERS:
        if module in activated or from_module not in activated:
            continue
        print(f"upgrade: step 1, {module} takes over the records of "
            f"{from_module}", flush=True)
        mark_to_activate(config_file, database, module, states.get(module))
        try:
            admin(config_file, database,
                '-u', module, '--activate-dependencies')
        except UpgradeError:
            unmark(config_file, database, module, states.get(module))
            raise
    print("upgrade: step 2, every activated module", flush=True)
    admin(config_file, database, '--all', '--activate-dependencies')


def admin(config_file, database, *args):
    "Run trytond-admin of this virtual environment on database"
    command = [
        str(Path(sys.executable).with_name('trytond-admin')),
        '-c', config_file, '-d', database, *args]
    print('upgrade: running', shlex.join(command), flush=True)
    # Nothing is asked on an existing database: a question fails rather
    # than waits
    result = subprocess.run(command, stdin=subprocess.DEVNULL)
    if result.returncode:
        raise UpgradeError(
            f"trytond-admin {' '.join(args)} failed (exit status "
            f"{result.returncode}): {database} is left as that run found it")


@contextmanager
def connection(config_file, database):
    "Yield a connection to database, closed at the end"
    from trytond import config
    config.update_etc(config_file)
    from trytond import backend
    # The SQL of python-sql in the backend's parameter style
    Flavor.set(backend.Database.flavor)
    try:
        db = backend.Database(database).connect()
        conn = db.get_connection()
    except Exception as exception:
        raise UpgradeError(f"cannot connect to {database}: {exception}")
    try:
        yield conn
    finally:
        conn.rollback()
        db.put_connection(conn)
        db.close()


def module_states(config_file, database):
    "Return {module: state} of the database's ir_module"
    with connection(config_file, database) as conn:
        cursor = conn.cursor()
        try:
            cursor.execute(*ir_module.select(ir_module.name, ir_module.state))
        except Exception as exception:
            raise UpgradeError(
                f"{database} is not a Tryton database: {exception}")
        return dict(cursor)


def mark_to_activate(config_file, database, module, state):
    """Mark module to activate, as the Modules form does: the module that
    gives it records lets its own update run only when it is marked
    (rsoft_toolkit.migration.check_adopted), as it is loaded before

    In SQL: the pool of this tree does not load on a database whose
    modules miss their new dependencies, as before this upgrade."""
    with connection(config_file, database) as conn:
        cursor = conn.cursor()
        if state is None:
            cursor.execute(*ir_module.insert(
                    [ir_module.create_uid, ir_module.create_date,
                        ir_module.name, ir_module.state],
                    [[Literal(0), CurrentTimestamp(), module,
                            'to activate']]))
        else:
            cursor.execute(*ir_module.update(
                    [ir_module.state], ['to activate'],
                    where=ir_module.name == module))
        conn.commit()


def unmark(config_file, database, module, state):
    "Give module back the state it had before mark_to_activate"
    with connection(config_file, database) as conn:
        cursor = conn.cursor()
        if state is None:
            cursor.execute(*ir_module.delete(where=ir_module.name == module))
        else:
            cursor.execute(*ir_module.update(
                    [ir_module.state], [state],
                    where=ir_module.name == module))
        conn.commit()


if __name__ == '__main__':
    sys.exit(main())
