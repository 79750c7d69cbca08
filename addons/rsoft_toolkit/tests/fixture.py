"""Records that the tests of a case share, built once per test run

Most tests need an operator (company, chart of accounts, fiscal years,
channels, offers, partners) before they can start; building it for each
test is most of a run's time. A case that mixes in FixtureMixin builds it
once, commits it and keeps the database in Tryton's test cache (DB_CACHE)
under the modules and the function that builds it: the next case with the
same fixture, in this run or the next, restores it instead. Each test still
runs in a transaction that is rolled back, so none sees another's
records."""
import json
from contextlib import contextmanager
from types import SimpleNamespace

from sql import Table

from trytond.model import Model
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME,
    _DBTestCase,
    activate_module,
    backup_db_cache,
    drop_db,
    restore_db_cache,
)
from trytond.transaction import Transaction, TransactionError

__all__ = ['FixtureMixin']

# Where the fixture's records are named, beside Tryton's tables
TABLE = 'rsoft_test_fixture'


class FixtureMixin:
    """Mixed in before a Tryton database test case, gives its tests the
    records that the class method `set_up_fixture` builds, once.

    `set_up_fixture` runs as the admin, with the admin's preferences in the
    context; it returns records in any nesting of lists, tuples, dicts and
    objects with attributes, and `with self.fixture() as records:` gives
    them again to a test (the objects as namespaces). Cases whose
    `set_up_fixture` is the same function share the cached database."""

    @classmethod
    def setUpClass(cls):
        # TestCase's set-up; the database is set up here instead
        super(_DBTestCase, cls).setUpClass()
        modules = [cls.module, *(cls.extras or [])]
        builder = cls.set_up_fixture.__func__
        name = (f"{'-'.join(modules)}"
            f"+{builder.__module__}.{builder.__qualname__}")
        drop_db()
        if not restore_db_cache(name):
            activate_module(modules, lang=cls.language)
            cls._build_fixture()
            backup_db_cache(name)
        cls._fixture = cls._read_fixture()

    @classmethod
    def set_up_fixture(cls):
        "Build the records and return them"
        return None

    @classmethod
    def _build_fixture(cls):
        extras = {}
        while True:
            with Transaction().start(
                    DB_NAME, 1, close=True, **extras) as transaction:
                User = Pool().get('res.user')
                try:
                    with transaction.set_context(
                            User.get_preferences(context_only=True)):
                        records = cls.set_up_fixture()
                except TransactionError as error:
                    transaction.rollback()
                    error.fix(extras)
                    continue
                cursor = transaction.connection.cursor()
                cursor.execute(f'CREATE TABLE {TABLE} (data TEXT)')
                table = Table(TABLE)
                cursor.execute(*table.insert(
                        [table.data], [[json.dumps(_dump(records))]]))
                # Tests run no queue: what the fixture queued stays queued
                transaction.tasks.clear()
                transaction.commit()
                return

    @classmethod
    def _read_fixture(cls):
        with Transaction().start(DB_NAME, 0, close=True) as transaction:
            cursor = transaction.connection.cursor()
            table = Table(TABLE)
            cursor.execute(*table.select(table.data))
            data, = cursor.fetchone()
        return json.loads(data)

    @contextmanager
    def fixture(self):
        """Yield the records of the fixture, read in the current transaction,
        which takes the context of the user's preferences: the company the
        fixture left to the user, whose values the records need"""
        User = Pool().get('res.user')
        with Transaction().set_context(
                User.get_preferences(context_only=True)):
            yield _load(self._fixture)


def _dump(value):
    if isinstance(value, Model):
        return {'__record__': [value.__name__, value.id]}
    elif isinstance(value, dict):
        return {'__dict__': {k: _dump(v) for k, v in value.items()}}
    elif isinstance(value, (list, tuple)):
        return [_dump(v) for v in value]
    elif hasattr(value, '__dict__'):
        return {'__object__': {k: _dump(v) for k, v in vars(value).items()}}
    elif value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"a fixture cannot keep {value!r}")


def _load(value):
    if isinstance(value, list):
        return [_load(v) for v in value]
    elif isinstance(value, dict):
        if '__record__' in value:
            name, id_ = value['__record__']
            return Pool().get(name)(id_)
        elif '__dict__' in value:
            return {k: _load(v) for k, v in value['__dict__'].items()}
        else:
            return SimpleNamespace(
                **{k: _load(v) for k, v in value['__object__'].items()})
    return value
