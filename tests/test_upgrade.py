"""A database of the previous layout upgrades to the modules of the tree

The addons/ and tools/ of commit 0435375 (payments, collections, gateways
and dunning in rsoft_billing; no rsoft_toolkit) build a database and fill
it with the demo operator of that commit: receipts posted by a field agent,
collectors, payment methods, a Razorpay gateway, a dunning procedure, a
cashier in the collection group. `python -m rsoft_tools.upgrade` brings it
to the tree's modules: no record is lost or doubled, the XML records that
moved keep their ids, and the next receipt takes the next number. Updating
every module without the first step is refused and changes nothing.

On PostgreSQL when TRYTOND_DATABASE_URI is a postgresql:// URI (databases
created on that server and dropped after), on SQLite files otherwise.
"""
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import unittest
import urllib.parse
from collections import Counter
from configparser import ConfigParser
from contextlib import closing
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).parents[1]
HELPERS = Path(__file__).with_name('upgrade')
# The layout before rsoft_payment and rsoft_toolkit
OLD_COMMIT = '04353758fe748818ea83921f7fda69e584e1d596'
# Enough for the smallest LCO to have accounts paying cash
SUBSCRIBERS = 40
# The modules that took XML records, models and fields over from another
ADOPTERS = {
    'rsoft_payment': 'rsoft_billing',
    'rsoft_toolkit': 'rsoft_catalogue',
    }
REFUSED = "moved from rsoft_billing to rsoft_payment"


def _xml_ids(module):
    "The ids of the records and menus module's XML defines in the tree"
    directory = ROOT / 'addons' / module
    parser = ConfigParser()
    parser.read(directory / 'tryton.cfg', encoding='utf-8')
    ids = set()
    for filename in parser.get('tryton', 'xml').split():
        for element in ElementTree.parse(directory / filename).iter():
            if element.tag in {'record', 'menuitem'}:
                fs_id = element.get('id')
                if fs_id and '.' not in fs_id:
                    ids.add(fs_id)
    return ids


class SQLiteFiles:
    "Databases as files in a folder"
    name = 'SQLite'
    uri = 'sqlite://'

    def __init__(self, folder):
        self.folder = folder
        folder.mkdir()

    def database(self, database):
        return database

    def path(self, database):
        return self.folder / f'{database}.sqlite'

    def create(self, database):
        self.path(database).touch()

    def copy(self, database, to):
        journals = list(self.folder.glob(f'{database}.sqlite-*'))
        assert not journals, f"journal files left: {journals}"
        shutil.copyfile(self.path(database), self.path(to))

    def drop(self, database):
        self.path(database).unlink(missing_ok=True)

    def analyze(self, database):
        pass

    def connect(self, database):
        return closing(sqlite3.connect(self.path(database)))

    def tables(self, cursor):
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for name, in cursor}


class PostgreSQLServer:
    "Databases of a server, named after the run"
    name = 'PostgreSQL'

    def __init__(self, uri):
        import psycopg
        self.psycopg = psycopg
        self.uri = uri
        # Not test_rsoft_*: scripts/test drops those it finds
        self.prefix = f'rsoft_upgrade_{os.getpid()}_{secrets.token_hex(3)}'

    def _conninfo(self, database):
        parts = urllib.parse.urlsplit(self.uri)
        return urllib.parse.urlunsplit(
            ('postgresql', parts.netloc, '/' + database, parts.query, ''))

    def _server(self, sql):
        with self.psycopg.connect(
                self._conninfo('postgres'), autocommit=True) as connection:
            connection.execute(sql)

    def _name(self, database):
        assert re.fullmatch(r'\w+', database)
        return f'"{self.prefix}_{database}"'

    def database(self, database):
        return f'{self.prefix}_{database}'

    def create(self, database):
        self._server(f"CREATE DATABASE {self._name(database)} "
            "TEMPLATE template0 ENCODING 'unicode'")

    def copy(self, database, to):
        self._server(f"CREATE DATABASE {self._name(to)} "
            f"TEMPLATE {self._name(database)}")

    def drop(self, database):
        self._server(
            f"DROP DATABASE IF EXISTS {self._name(database)} WITH (FORCE)")

    def analyze(self, database):
        """Give the planner the statistics of the catalogs the build
        filled, which autovacuum gathers later: without them each foreign
        key lookup of trytond's updates takes seconds"""
        with self.psycopg.connect(self._conninfo(self.database(database)),
                autocommit=True) as connection:
            connection.execute('ANALYZE')

    def connect(self, database):
        return closing(self.psycopg.connect(
                self._conninfo(self.database(database))))

    def tables(self, cursor):
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
        return {name for name, in cursor}


def _backend(folder):
    uri = (os.environ.get('TRYTOND_DATABASE_URI')
        or os.environ.get('TRYTOND_DATABASE__URI') or 'sqlite://')
    scheme = urllib.parse.urlsplit(uri).scheme
    if scheme in {'postgresql', 'postgres'}:
        return PostgreSQLServer(uri)
    return SQLiteFiles(folder)


class UpgradeTestCase(unittest.TestCase):
    "An operator's database of commit 0435375 upgraded to the tree"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = Path(tempfile.mkdtemp(prefix='rsoft-upgrade-'))
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.backend = _backend(cls.tmp / 'db')
        cls.old = cls._extract_old_code()
        cls.config = cls._write_config()
        cls.databases = []
        cls.addClassCleanup(cls._drop_databases)

        cls._create('old')
        modules = sorted(p.parent.name
            for p in (cls.old / 'addons').glob('rsoft_*/tryton.cfg'))
        cls._run('old-activate', [sys.executable, HELPERS / 'old_code.py',
                cls.old, 'admin', '-c', cls.config, '-d', cls._db('old'),
                '-u', *modules, '--activate-dependencies'])
        cls._run('old-fill', [sys.executable, HELPERS / 'old_code.py',
                cls.old, 'fill', '-c', cls.config, '-d', cls._db('old'),
                '--subscribers', str(SUBSCRIBERS)])
        cls.backend.analyze('old')
        cls.before = cls._state('old')
        cls._copy('old', 'upgraded')
        cls._copy('old', 'refused')

        cls.upgrade = cls._run('upgrade', [
                sys.executable, '-m', 'rsoft_tools.upgrade',
                '-c', cls.config, '-d', cls._db('upgraded')], check=False)
        cls.after = cls.seen = None
        if cls.upgrade.returncode == 0:
            cls.after = cls._state('upgraded')
            check = cls._run('check', [sys.executable,
                    HELPERS / 'check_new.py', cls.config,
                    cls._db('upgraded')], check=False)
            if check.returncode == 0:
                cls.seen = json.loads(check.stdout.splitlines()[-1])
            cls.check = check
            cls.after_check = cls._state('upgraded')

    # -- building -----------------------------------------------------------

    @classmethod
    def _extract_old_code(cls):
        "addons/ and tools/ of OLD_COMMIT, in a folder of their own"
        found = subprocess.run(
            ['git', '-C', ROOT, 'cat-file', '-e', f'{OLD_COMMIT}^{{commit}}'],
            capture_output=True)
        if found.returncode:
            raise AssertionError(
                f"commit {OLD_COMMIT} (the layout before rsoft_payment) is "
                "not in this clone, a shallow one? The upgrade test builds "
                "its database with that commit's code: fetch the history "
                "(git fetch --unshallow) and run it again.")
        archive = subprocess.run(
            ['git', '-C', ROOT, 'archive', '--format=tar', OLD_COMMIT,
                'addons', 'tools'],
            capture_output=True, check=True)
        old = cls.tmp / 'old'
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(old, filter='data')
        return old

    @classmethod
    def _write_config(cls):
        config = cls.tmp / 'trytond.conf'
        folder = getattr(cls.backend, 'folder', cls.tmp)
        config.write_text('\n'.join([
                    '[database]',
                    f'uri = {cls.backend.uri}',
                    f'path = {folder}',
                    'language = en',
                    '[email]',
                    # Nothing is sent: the receipts wait in the outbox
                    'uri = smtp://127.0.0.1:9',
                    '']), encoding='utf-8')
        (cls.tmp / 'admin-password').write_text('admin-upgrade\n')
        return config

    @classmethod
    def _db(cls, database):
        return cls.backend.database(database)

    @classmethod
    def _create(cls, database):
        cls.databases.append(database)
        cls.backend.create(database)

    @classmethod
    def _copy(cls, database, to):
        cls.databases.append(to)
        cls.backend.copy(database, to)

    @classmethod
    def _drop_databases(cls):
        for database in cls.databases:
            cls.backend.drop(database)

    @classmethod
    def _run(cls, name, command, check=True):
        "Run command in the tree with only the given configuration"
        env = {key: value for key, value in os.environ.items()
            if not key.startswith('TRYTOND_')
            and key not in {'DB_NAME', 'DB_CACHE', 'DB_CACHE_JOBS'}}
        env['TRYTONPASSFILE'] = str(cls.tmp / 'admin-password')
        # The admin's e-mail, asked when a database is initialised
        result = subprocess.run(
            [str(c) for c in command], cwd=ROOT, env=env, input='\n',
            capture_output=True, text=True)
        if check and result.returncode:
            raise AssertionError(
                f"{name} failed ({result.returncode}):\n" + _tail(result))
        return result

    # -- reading ------------------------------------------------------------

    @classmethod
    def _state(cls, database):
        "What the upgrade must keep, read in SQL"
        with cls.backend.connect(database) as connection:
            cursor = connection.cursor()

            def rows(sql):
                cursor.execute(sql)
                return [tuple(row) for row in cursor]

            state = {}
            state['counts'] = {}
            for table in sorted(cls.backend.tables(cursor)):
                cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
                state['counts'][table] = cursor.fetchone()[0]
            state['model_data'] = sorted(rows(
                    "SELECT module, fs_id, model, db_id "
                    "FROM ir_model_data"), key=str)
            state['modules'] = dict(rows(
                    "SELECT name, state FROM ir_module"))
            state['models'] = {name: (id_, module) for id_, name, module
                in rows("SELECT id, name, module FROM ir_model")}
            state['fields'] = {(model, name): (id_, module)
                for id_, model, name, module in rows(
                    "SELECT id, model, name, module FROM ir_model_field")}
            state['views'] = {id_: (module, model) for id_, module, model
                in rows("SELECT id, module, model FROM ir_ui_view")}
            state['translation_duplicates'] = rows(
                "SELECT name, type, lang, res_id, src, COUNT(*) "
                "FROM ir_translation "
                "GROUP BY name, type, lang, res_id, src "
                "HAVING COUNT(*) > 1")
            # Named after the model: its name, fields, helps, selections
            state['translation_models'] = set(rows(
                    "SELECT DISTINCT type, module FROM ir_translation "
                    "WHERE name LIKE 'rsoft.payment,%' "
                    "AND type IN ('model', 'field', 'help', 'selection')"))
            state['sequence'] = rows(
                "SELECT s.id, s.number_next_internal, s.prefix, s.padding "
                "FROM ir_sequence_strict AS s "
                "JOIN ir_model_data AS d ON d.db_id = s.id "
                "AND d.model = 'ir.sequence.strict' "
                "WHERE d.fs_id = 'sequence_payment'")
            state['collection'] = sorted(rows(
                    'SELECT u.login FROM "res_user-res_group" AS m '
                    'JOIN res_user AS u ON u.id = m."user" '
                    'JOIN ir_model_data AS d ON d.db_id = m."group" '
                    "AND d.model = 'res.group' "
                    "WHERE d.fs_id = 'group_collection'"))
            state['payments'] = rows(
                "SELECT p.id, p.number, p.state, m.state "
                "FROM rsoft_payment AS p "
                "LEFT JOIN account_move AS m ON m.id = p.move "
                "ORDER BY p.id")
            state['menus'] = rows(
                "SELECT parent, name, COUNT(*) FROM ir_ui_menu "
                "GROUP BY parent, name HAVING COUNT(*) > 1")
            return state

    def _upgraded(self):
        if self.after is None:
            self.fail("the upgrade failed, see test_upgrade:\n"
                + _tail(self.upgrade))

    def _seen(self):
        self._upgraded()
        if self.seen is None:
            self.fail("the upgraded database could not be used:\n"
                + _tail(self.check))
        return self.seen

    def _moved(self):
        """{(from_module, fs_id): module} of the XML records of the old
        database that an adopter defines now"""
        moved = {}
        old_ids = {(m, f) for m, f, _, _ in self.before['model_data']}
        for module, from_module in ADOPTERS.items():
            for fs_id in _xml_ids(module) - _xml_ids(from_module):
                if (from_module, fs_id) in old_ids:
                    moved[from_module, fs_id] = module
        return moved

    # -- the tests ----------------------------------------------------------

    def test_old_database(self):
        "The old code built the database with everything that moves"
        before = self.before
        self.assertEqual(
            before['models']['rsoft.payment'][1], 'rsoft_billing')
        self.assertNotIn('rsoft_payment', before['modules'])
        self.assertNotIn('rsoft_toolkit', before['modules'])
        self.assertTrue(before['payments'])
        for _, number, _, move_state in before['payments']:
            self.assertRegex(number, r'^RCT\d{8}$')
            self.assertEqual(move_state, 'posted')
        for table in ['rsoft_payment_collector', 'rsoft_payment_method',
                'rsoft_payment_gateway', 'account_dunning_procedure',
                'account_dunning_level', 'account_invoice']:
            self.assertTrue(before['counts'][table], table)
        self.assertIn(('cashier',), before['collection'])
        (_, number_next, _, _), = before['sequence']
        self.assertEqual(number_next, len(before['payments']) + 1)

    def test_upgrade(self):
        "The upgrade runs its two steps and succeeds"
        self.assertEqual(self.upgrade.returncode, 0, _tail(self.upgrade))
        self.assertIn("step 1, rsoft_payment", self.upgrade.stdout)
        self.assertIn("step 2", self.upgrade.stdout)
        activated = {name for name, state in self.before['modules'].items()
            if state == 'activated'}
        self.assertEqual(
            {name for name, state in self.after['modules'].items()
                if state == 'activated'},
            activated | set(ADOPTERS))

    def test_counts(self):
        "No record of the operator is lost or doubled"
        self._upgraded()
        for table, count in self.before['counts'].items():
            if table.startswith('rsoft_') or table in {
                    'account_move', 'account_move_line', 'account_invoice',
                    'ir_sequence_strict', 'res_user',
                    'res_user-res_group'}:
                with self.subTest(table=table):
                    self.assertEqual(
                        self.after['counts'].get(table), count)
        self.assertEqual(self.after['payments'], self.before['payments'])
        self.assertEqual(
            self.after['collection'], self.before['collection'])

    def test_model_data(self):
        "The XML records keep their ids, under the module that holds them"
        self._upgraded()
        moved = self._moved()
        self.assertEqual(set(moved.values()), set(ADOPTERS))
        after = Counter((m, f) for m, f, _, _ in self.after['model_data'])
        self.assertEqual(
            [k for k, n in after.items() if n > 1], [], "duplicated")
        records = {(f, model, db_id): m
            for m, f, model, db_id in self.after['model_data']}
        for module, fs_id, model, db_id in self.before['model_data']:
            module = moved.get((module, fs_id), module)
            found = records.pop((fs_id, model, db_id), None)
            if found is None and module.startswith('rsoft_'):
                # Deleted by the update: the tree has no such record
                self.assertNotIn(fs_id, _xml_ids(module),
                    f"{module}.{fs_id} lost")
            elif found is not None:
                self.assertEqual(found, module, fs_id)
        # The ones the upgrade created: records the old code did not have
        old = {(m, f) for m, f, _, _ in self.before['model_data']}
        for (fs_id, _, _), module in records.items():
            self.assertNotIn((module, fs_id), old, "created again")
            self.assertNotIn((ADOPTERS.get(module), fs_id), old,
                "created again")
        for from_module, fs_id, module in [
                ('rsoft_billing', 'sequence_payment', 'rsoft_payment'),
                ('rsoft_billing', 'sequence_type_payment', 'rsoft_payment'),
                ('rsoft_billing', 'group_collection', 'rsoft_payment'),
                ('rsoft_billing', 'user_admin_group_collection',
                    'rsoft_payment'),
                ('rsoft_billing', 'menu_payment', 'rsoft_payment'),
                ('rsoft_billing', 'act_payment_form', 'rsoft_payment'),
                ('rsoft_billing', 'payment_view_form', 'rsoft_payment'),
                ('rsoft_catalogue', 'msg_sheet_date', 'rsoft_toolkit'),
                ('rsoft_catalogue', 'msg_sheet_period', 'rsoft_toolkit'),
                ('rsoft_catalogue', 'msg_sheet_total', 'rsoft_toolkit'),
                ('rsoft_catalogue', 'msg_system_field', 'rsoft_toolkit'),
                ]:
            self.assertEqual(moved.get((from_module, fs_id)), module, fs_id)
            self.assertNotIn((from_module, fs_id), after)
            self.assertEqual(after[module, fs_id], 1)

    def test_models_and_fields(self):
        "The payment models and their fields are rsoft_payment's, same ids"
        self._upgraded()
        before, after = self.before['models'], self.after['models']
        for name, (id_, module) in before.items():
            if name in after:
                self.assertEqual(after[name][0], id_, name)
        for name in ['rsoft.payment', 'rsoft.payment.method',
                'rsoft.payment.collector', 'rsoft.payment.gateway',
                'rsoft.collection.cash_up']:
            self.assertEqual(after[name], (before[name][0], 'rsoft_payment'))
        moved = {name for name, (_, module) in after.items()
            if module == 'rsoft_payment'}
        for key, (id_, module) in self.before['fields'].items():
            if key[0] in moved:
                if module == 'rsoft_billing':
                    module = 'rsoft_payment'
                self.assertEqual(
                    self.after['fields'].get(key), (id_, module), key)
            elif key in self.after['fields']:
                self.assertEqual(self.after['fields'][key][0], id_, key)
        self.assertEqual(self.after['fields'][
                'rsoft.billing.configuration', 'payment_sequence'][1],
            'rsoft_payment')

    def test_translations(self):
        "The strings of the payment models are rsoft_payment's, once each"
        self._upgraded()
        self.assertEqual(self.after['translation_duplicates'], [])
        self.assertEqual(self.after['translation_models'], {
                (type_, 'rsoft_payment')
                for type_, _ in self.before['translation_models']})

    def test_views(self):
        "The moved views are rsoft_payment's and open"
        seen = self._seen()
        views = [db_id for (module, fs_id), to in self._moved().items()
            for m, f, model, db_id in self.before['model_data']
            if (m, f) == (module, fs_id) and model == 'ir.ui.view']
        self.assertTrue(views)
        for db_id in views:
            with self.subTest(view=db_id):
                self.assertEqual(self.after['views'][db_id][0],
                    'rsoft_payment')
                self.assertIn(str(db_id), seen['views'])
        data = {(m, f): db_id for m, f, _, db_id in self.after['model_data']}
        self.assertEqual(seen['views']['rsoft.payment,form']['view_id'],
            data['rsoft_payment', 'payment_view_form'])
        self.assertEqual(seen['views']['rsoft.payment,tree']['view_id'],
            data['rsoft_payment', 'payment_view_list'])

    def test_menus(self):
        "Payments is in the menu once, with its entries once each"
        seen = self._seen()
        self.assertEqual(self.after['menus'], [])
        data = {(m, f): db_id for m, f, _, db_id in self.before['model_data']}
        self.assertEqual(seen['menus']['payment'],
            [[data['rsoft_billing', 'menu_payment'], "Payments"]])
        children = seen['menus']['children']
        self.assertTrue(children)
        self.assertEqual(len({name for _, name in children}), len(children))
        self.assertIn(
            data['rsoft_billing', 'menu_payment_form'],
            [id_ for id_, _ in children])

    def test_messages(self):
        "The catalogue's shared messages are rsoft_toolkit's"
        seen = self._seen()
        self.assertEqual(seen['messages']['msg_sheet_total'], "Total")
        self.assertEqual(seen['messages']['msg_sheet_date'], "R on D")
        modules = {f: m for m, f, model, _ in self.after['model_data']
            if model == 'ir.message'}
        for fs_id in ['msg_sheet_date', 'msg_sheet_period',
                'msg_sheet_total', 'msg_system_field']:
            self.assertEqual(modules[fs_id], 'rsoft_toolkit')

    def test_receipt_sequence(self):
        "The next receipt takes the number after the last one of the old code"
        seen = self._seen()
        self.assertEqual(self.after['sequence'], self.before['sequence'])
        (id_, number_next, prefix, padding), = self.before['sequence']
        self.assertEqual(seen['payment']['number'],
            f'{prefix}{number_next:0{padding}d}')
        self.assertEqual(seen['payment']['state'], 'received')
        self.assertEqual(seen['payment']['move_state'], 'posted')
        self.assertEqual(self.after_check['sequence'],
            [(id_, number_next + 1, prefix, padding)])

    def test_update_all_first(self):
        "Updating every module first is refused and changes nothing"
        database = self._db('refused')
        plain = self._run('refused-all', [
                Path(sys.executable).with_name('trytond-admin'),
                '-c', self.config, '-d', database, '--all'], check=False)
        self.assertNotEqual(plain.returncode, 0)
        self.assertIn('rsoft_toolkit', plain.stderr)
        deps = self._run('refused-all-deps', [
                Path(sys.executable).with_name('trytond-admin'),
                '-c', self.config, '-d', database, '--all',
                '--activate-dependencies'], check=False)
        self.assertNotEqual(deps.returncode, 0)
        self.assertIn(REFUSED, deps.stderr)
        self.assertEqual(self._state('refused'), self.before)


def _tail(result, lines=40):
    output = (result.stdout + result.stderr).splitlines()
    return '\n'.join(output[-lines:])
