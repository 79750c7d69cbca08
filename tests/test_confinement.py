"""No LCO login can reach another LCO's records (issue 15)

Every model of the pool has a recorded decision (addons/*/tests/
confinement*.py and tests/confinement_core.py), a value of DECISIONS:
  ('none', why)      an LCO login sees none of its records
  ('lco', path)      confined by record rules to the LCO's subtree; path
                     leads from the record to an rsoft.partner (usable as
                     a search domain: [(path, 'in', partner_ids)])
  ('global', why)    reviewed reference data that holds no LCO's records
  ('user', why)      confined to the logged-in user by Tryton's own rules
  ('resource', why)  attached to a record and confined by its access
A generated operator with LCOs under two JVs is built once (and kept in
DB_CACHE, keyed on the sources of the modules and of the generator); LCO
A's login,
bound to A with the groups of a demo LCO login, then goes through the
whole pool and attacks LCO B's records by id the way the JSON-RPC
dispatcher calls the server: every failure is collected and reported in
one message, model by model."""
import datetime
import glob
import hashlib
import importlib.util
import os
import unittest
from collections import Counter
from contextlib import contextmanager

from rsoft_tools.generate import Generator

from proteus import config as pconfig
from trytond.exceptions import UserError
from trytond.model import ModelSingleton, ModelSQL
from trytond.model.exceptions import AccessButtonError, AccessError
from trytond.modules.rsoft_voucher.tests.tools import pin_secret
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME,
    activate_module,
    backup_db_cache,
    drop_create,
    drop_db,
    restore_db_cache,
)
from trytond.tools import is_instance_method
from trytond.transaction import Transaction, without_check_access

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDONS = os.path.join(ROOT, 'addons')
MODULES = sorted(name for name in os.listdir(ADDONS)
    if os.path.exists(os.path.join(ADDONS, name, 'tryton.cfg')))
SUBSCRIBERS = 48
PASSWORD = 'confinement-Password-1'
KINDS = {'none', 'lco', 'global', 'user', 'resource'}
REFUSED = (AccessError, AccessButtonError)
# Bump when the operator built below changes
BUILD = 4
# A value no business rule expects, written by the attacker
ATTACK = 'written by another LCO'
# Attacks Tryton refuses to every user before it looks at the record
REFUSED_TO_ALL = {
    ('res.user', 'delete'),  # users are deactivated, never deleted
    }


def load_decisions():
    "Return the decisions by model and the problems of the tables"
    decisions, problems = {}, []
    files = sorted(glob.glob(
            os.path.join(ADDONS, '*', 'tests', 'confinement*.py')))
    files.append(os.path.join(ROOT, 'tests', 'confinement_core.py'))
    for path in files:
        name = os.path.relpath(path, ROOT)
        spec = importlib.util.spec_from_file_location(
            'confinement_' + hashlib.md5(name.encode()).hexdigest(), path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for model, decision in module.DECISIONS.items():
            if model in decisions:
                problems.append(
                    f"{model}: decided in {decisions[model][0]} and {name}")
            elif (not isinstance(decision, tuple) or len(decision) != 2
                    or decision[0] not in KINDS
                    or not isinstance(decision[1], str)
                    or not decision[1]):
                problems.append(f"{model}: malformed decision {decision!r} "
                    f"in {name}")
            else:
                decisions[model] = (name, decision)
    return decisions, problems


def sources_digest():
    "Digest of the sources the built database comes from"
    import rsoft_tools
    digest = hashlib.sha256(str(BUILD).encode())
    folders = [os.path.dirname(rsoft_tools.__file__)] + [
        os.path.dirname(importlib.import_module(
                f'trytond.modules.{name}').__file__)
        for name in MODULES]
    paths = sorted(p for folder in folders
        for pattern in ['*.py', '*.xml', '*.cfg', '*.fodt', '*/*.xml']
        for p in glob.glob(os.path.join(folder, pattern)))
    for path in paths:
        digest.update(path.encode())
        with open(path, 'rb') as fd:
            digest.update(fd.read())
    return digest.hexdigest()[:16]


def sql_models(pool):
    "Yield the name and class of every model stored in the database"
    for name, Model in sorted(pool.iterobject(), key=lambda m: m[0]):
        if issubclass(Model, ModelSQL) and (
                Model._table or callable(getattr(Model, 'table_query',
                        None))):
            yield name, Model


def exposed(Model):
    """Whether clients reach the model's records by RPC, not only through
    the fields of another model, whose access and rules then apply"""
    return {'read', 'search'} <= Model.__rpc__.keys()


def rpc(obj, method, *args, context):
    """Call obj.method as trytond's dispatcher does for a JSON-RPC request
    (protocols/dispatcher.py), in the current transaction"""
    transaction = Transaction()
    if method not in obj.__rpc__:
        raise AccessError(f"{method} is not exposed")
    spec = obj.__rpc__[method]
    args, kwargs, rpc_context, _ = spec.convert(obj, *args, context)
    with transaction.set_context(rpc_context):
        meth = spec.decorate(getattr(obj, method))
        if (spec.instantiate is None
                or not is_instance_method(obj, method)):
            return spec.result(meth(*args, **kwargs))
        instance = args.pop(0)
        if hasattr(instance, method):
            return spec.result(meth(instance, *args, **kwargs))
        return [spec.result(meth(i, *args, **kwargs)) for i in instance]


@contextmanager
def rolled_back(user, context=None):
    "A transaction as user whose changes are thrown away"
    with Transaction().start(DB_NAME, user, context=context or {}) \
            as transaction:
        try:
            yield transaction
        finally:
            transaction.rollback()


@contextmanager
def as_root():
    "Look behind the user's back, in the same transaction"
    transaction = Transaction()
    with transaction.set_user(0), without_check_access():
        yield


class ConfinementTestCase(unittest.TestCase):
    "An LCO login reaches only its subtree, model by model"

    @classmethod
    def setUpClass(cls):
        drop_db()
        name = f"confinement-{sources_digest()}"
        if not restore_db_cache(name):
            cls._build()
            backup_db_cache(name)
        cls.operator = cls._read_operator()
        cls.decisions, cls.table_problems = load_decisions()

    @classmethod
    def tearDownClass(cls):
        drop_db()

    @classmethod
    def _build(cls):
        # Activate on a fresh database: the cache of a module list may
        # predate today's record rules
        drop_create()
        activate_module(MODULES)
        pconfig.set_trytond(DB_NAME)
        generator = Generator(DB_NAME, subscribers=SUBSCRIBERS, seed=7)
        # The demo operator's scratch cards need the PINs' key
        with pin_secret():
            generator.run()
        generator.create_lco_users(PASSWORD)
        generator.in_transaction(cls._complete_lco_b)

    @classmethod
    def _lcos(cls):
        """Return LCO B, the LCO the generator bills and collects from,
        and LCO A, the largest LCO of the other JV"""
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        Subscriber = pool.get('rsoft.subscriber')
        lcos = Partner.search([('role', '=', 'lco')], order=[('code', 'ASC')])
        # As the generator's billing and payments choose their LCO
        count = {lco: Subscriber.search_count([('lco', '=', lco.id)])
            for lco in lcos}
        lco_b = min(lcos, key=lambda lco: (count[lco], lco.code))
        others = [lco for lco in lcos if lco.parent != lco_b.parent]
        lco_a = max(others, key=lambda lco: (count[lco], lco.code))
        return lco_a, lco_b

    @classmethod
    def _complete_lco_b(cls):
        "Give LCO B and its login records where the generator writes none"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        User = pool.get('res.user')
        _, lco_b = cls._lcos()
        user_b, = User.search([('rsoft_partner', '=', lco_b.id)])
        subscriber = Subscriber.search([('lco', '=', lco_b.id)],
            order=[('id', 'ASC')], limit=1)[0]
        resource = str(subscriber)
        pool.get('ir.attachment').create([{
                    'name': 'caf.txt', 'resource': resource,
                    'data': b"CAF of LCO B's subscriber",
                    }])
        pool.get('ir.note').create([{
                    'resource': resource, 'message': "LCO B's note",
                    }])
        pool.get('ir.model.log').create([{
                    'resource': resource, 'user': user_b.id,
                    'event': 'write', 'target': 'mobile',
                    }])
        pool.get('party.contact_mechanism').create([{
                    'party': subscriber.party.id, 'type': 'email',
                    'value': 'lco-b-subscriber@example.com',
                    }])
        pool.get('party.identifier').create([{
                    'party': subscriber.party.id, 'code': 'LCO-B-ID-1',
                    }])
        pool.get('ir.email').create([{
                    'resource': resource, 'recipients': subscriber.email,
                    'subject': "Your bill", 'body': "LCO B's e-mail",
                    }])
        pool.get('res.notification').create([{
                    'user': user_b.id, 'label': "LCO B's notification",
                    }])
        pool.get('res.user.warning').create([{
                    'user': user_b.id, 'name': "LCO B's warning",
                    }])

    @classmethod
    def _read_operator(cls):
        with Transaction().start(DB_NAME, 0, close=True):
            pool = Pool()
            User = pool.get('res.user')
            Partner = pool.get('rsoft.partner')
            lco_a, lco_b = cls._lcos()
            user, = User.search([('rsoft_partner', '=', lco_a.id)])

            def subtree(partner):
                return [p.id for p in Partner.search(
                        [('parent', 'child_of', [partner.id])])]
            return {
                'user': user.id,
                'lco_a': lco_a.code, 'lco_b': lco_b.code,
                'subtree_a': subtree(lco_a), 'subtree_b': subtree(lco_b),
                }

    def lco_context(self):
        "The context the web client of LCO A's login sends"
        with Transaction().start(DB_NAME, self.operator['user'], close=True):
            User = Pool().get('res.user')
            return User.get_preferences(context_only=True)

    def test_decisions(self):
        "Every model of the pool has one decision, and no decision is stale"
        problems = list(self.table_problems)
        with Transaction().start(DB_NAME, 0, close=True):
            names = {name for name, _ in sql_models(Pool())}
        for name in sorted(names - set(self.decisions)):
            problems.append(f"{name}: no decision")
        for name in sorted(set(self.decisions) - names):
            problems.append(f"{name}: decided in {self.decisions[name][0]} "
                "but not a stored model of the pool")
        self.assertFalse(problems, _report("Decisions", problems))

    def test_models_confined(self):
        "LCO A's login sees no record of LCO B in any model"
        context = self.lco_context()
        failures, unchecked = [], []
        with rolled_back(self.operator['user'], context):
            pool = Pool()
            for name, Model in sql_models(pool):
                if name not in self.decisions:
                    continue
                kind, value = self.decisions[name][1]
                check = getattr(self, f'_check_{kind}')
                if kind in {'lco', 'user', 'resource'} and not exposed(Model):
                    # Reached only through the fields of exposed models
                    continue
                try:
                    failure = check(pool, name, Model, value, context)
                except Exception as exception:
                    failure = f"check failed: {_error(exception)}"
                if failure == 'unchecked':
                    unchecked.append(name)
                elif failure:
                    failures.append(f"{name}: {failure}")
        self.assertFalse(failures, _report(
                f"Confinement of {self.operator['lco_a']} "
                f"against {self.operator['lco_b']}", failures,
                ["Models without records of LCO B (not checked): "
                    + ', '.join(unchecked)] if unchecked else []))

    def _access(self, name, mode):
        ModelAccess = Pool().get('ir.model.access')
        with Transaction().set_context(_check_access=True):
            return ModelAccess.check(name, mode, raise_exception=False)

    def _check_none(self, pool, name, Model, why, context):
        if not exposed(Model) or not self._access(name, 'read'):
            return
        # Another group of the login (Pay-TV, for its menus) reads the
        # model: then a rule of the LCO group must hide every record
        if issubclass(Model, ModelSingleton):
            with Transaction().set_context(_check_access=True):
                if Model.get_singleton() is not None:
                    return "decided 'none' but the LCO reads its record"
            return
        with as_root():
            ids = [r.id for r in Model.search(_any_active(Model))]
        if not ids:
            return 'unchecked'
        failure = self._hidden(Model, ids, context, "all")
        if failure:
            return f"decided 'none' but {failure}"

    def _check_resource(self, pool, name, Model, why, context):
        "What is attached to LCO B's records is not visible"
        hidden = []
        with as_root():
            by_model = {}
            for record in Model.search(_any_active(Model)):
                if record.resource is not None and record.resource.id >= 0:
                    by_model.setdefault(
                        record.resource.__name__, {}).setdefault(
                        record.resource.id, []).append(record.id)
            for model, records in by_model.items():
                decision = self.decisions.get(model, (None, (None, None)))[1]
                if decision[0] != 'lco':
                    continue
                Resource = pool.get(model)
                resources = Resource.search([
                        ('id', 'in', list(records)),
                        (decision[1], 'in', self.operator['subtree_b']),
                        ] + _any_active(Resource))
                hidden.extend(i for r in resources for i in records[r.id])
        if not hidden:
            return 'unchecked'
        return self._hidden(Model, hidden, context,
            "attached to LCO B's")

    def _check_global(self, pool, name, Model, why, context):
        if not exposed(Model):
            return
        modes = [m for m in ['write', 'create', 'delete']
            if m in Model.__rpc__ and self._access(name, m)]
        if modes:
            return (f"global reference data but the LCO may "
                f"{'/'.join(modes)} it")

    def _check_user(self, pool, name, Model, why, context):
        user = self.operator['user']
        if name == 'res.user':
            domain = [('id', '!=', user)]
        elif getattr(getattr(Model, 'user', None), 'model_name', None) \
                == 'res.user':
            domain = [('user', '!=', user)]
        else:
            return
        with as_root():
            others = Model.search(domain + _any_active(Model))
        return self._hidden(Model, [r.id for r in others], context,
            "other users'")

    def _check_lco(self, pool, name, Model, path, context):
        domain_b = [(path, 'in', self.operator['subtree_b'])]
        domain_a = [(path, 'in', self.operator['subtree_a'])]
        with as_root():
            try:
                records_b = Model.search(domain_b + _any_active(Model))
                records_a = Model.search(
                    domain_a + _any_active(Model), limit=1)
            except Exception as exception:
                return f"path {path!r} is no search domain: " \
                    f"{_error(exception)}"
        if not self._access(name, 'read'):
            return "decided 'lco' but the LCO group cannot read it: 'none'?"
        if records_a:
            try:
                rpc(Model, 'read', [records_a[0].id], ['id'],
                    context=context)
            except REFUSED:
                return "LCO A cannot read its own records: rules too " \
                    "narrow or path wrong"
        if not records_b:
            return 'unchecked'
        return self._hidden(
            Model, [r.id for r in records_b], context, "LCO B's")

    def _hidden(self, Model, ids, context, whose):
        if not ids:
            return
        try:
            found = rpc(Model, 'search',
                [('id', 'in', ids)] + _any_active(Model), 0, None, None,
                context=context)
        except REFUSED:
            return
        if found:
            return (f"search shows {len(found)} of {len(ids)} of {whose} "
                f"records (ids {found[:5]})")
        try:
            rpc(Model, 'read', ids[:10], ['id'], context=context)
        except REFUSED:
            pass
        else:
            return f"read by id gives {whose} records (ids {ids[:5]})"

    def test_attacker(self):
        """LCO A's login cannot read, write, delete, run buttons and
        wizards on or print reports of LCO B's records by id"""
        context = self.lco_context()
        failures = []
        self.attacks = Counter()
        lco_models = sorted(name for name, (_, (kind, _)) in
            self.decisions.items() if kind == 'lco')
        for name in lco_models:
            # A transaction per model: the attacks of one do not hide
            # what the attacks of another left behind
            with rolled_back(self.operator['user'], context):
                pool = Pool()
                try:
                    Model = pool.get(name)
                except KeyError:
                    continue
                if not exposed(Model):
                    continue
                path = self.decisions[name][1][1]
                with as_root():
                    try:
                        records = Model.search(
                            [(path, 'in', self.operator['subtree_b'])]
                            + _any_active(Model),
                            order=[('id', 'ASC')], limit=1)
                    except Exception:
                        continue
                if not records:
                    continue
                try:
                    failures.extend(f"{name}: {f}" for f in self._attack(
                            pool, Model, records[0].id, context))
                except Exception as exception:
                    failures.append(
                        f"{name}: attack failed: {_error(exception)}")
        self.assertTrue(self.attacks['read'], "no record of LCO B attacked")
        self.assertFalse(failures, _report(
                f"Attacks of {self.operator['lco_a']} on "
                f"{self.operator['lco_b']}'s records", failures,
                ["Attacks: " + ', '.join(
                        f"{n} {kind}" for kind, n in
                        sorted(self.attacks.items()))]))

    def test_own_views(self):
        """LCO A's login reads what it finds with the fields of every list
        and form, as the web client does: a field pointing at a record it
        may not read fails the whole read ("#ERROR" in every cell)"""
        context = self.lco_context()
        failures, checked = [], 0
        for name, (_, (kind, path)) in sorted(self.decisions.items()):
            if kind != 'lco':
                continue
            with rolled_back(self.operator['user'], context):
                pool = Pool()
                try:
                    Model = pool.get(name)
                except KeyError:
                    continue
                if not exposed(Model):
                    continue
                with as_root():
                    own = Model.search(
                        [(path, 'in', self.operator['subtree_a'])]
                        + _any_active(Model), limit=1)
                if not own:
                    continue
                # What the list shows: all that the login's search finds
                ids = rpc(Model, 'search', [], 0, 200, None,
                    context=context)
                for view_type in ['tree', 'form']:
                    checked += 1
                    try:
                        view = rpc(Model, 'fields_view_get', None,
                            view_type, context=context)
                        rpc(Model, 'read', ids, _client_names(view),
                            context=context)
                    except Exception as exception:
                        failures.append(
                            f"{name} {view_type}: {_error(exception)}")
        self.assertTrue(checked, "no view of LCO A's records read")
        self.assertFalse(failures, _report(
                f"Views of {self.operator['lco_a']}'s own records",
                failures))

    def _attack(self, pool, Model, id_, context):
        ActionWizard = pool.get('ir.action.wizard')
        ActionReport = pool.get('ir.action.report')
        field = _harmless_field(Model)
        before = _snapshot(Model, id_, field)
        attacks = [
            ('read', lambda: rpc(Model, 'read', [id_], ['rec_name'],
                    context=context)),
            (f'write {field or "nothing"}', lambda: rpc(
                    Model, 'write', [id_], {field: ATTACK} if field else {},
                    context=context)),
            ('delete', lambda: rpc(Model, 'delete', [id_],
                    context=context)),
            ]
        for button in sorted(getattr(Model, '_buttons', {})):
            attacks.append((f'button {button}', lambda button=button: rpc(
                        Model, button, [id_], context=context)))
        with as_root():
            wizards = ActionWizard.search([('model', '=', Model.__name__)])
            reports = ActionReport.search([('model', '=', Model.__name__)])
            wizards = [(w.id, w.wiz_name) for w in wizards]
            reports = [(r.id, r.report_name) for r in reports]
        for action_id, wiz_name in wizards:
            attacks.append((f'wizard {wiz_name}',
                    lambda a=action_id, w=wiz_name: _run_wizard(
                        pool, w, a, Model.__name__, id_, context)))
        for action_id, report_name in reports:
            attacks.append((f'report {report_name}',
                    lambda a=action_id, r=report_name: rpc(
                        pool.get(r, type='report'), 'execute', [id_], {
                            'model': Model.__name__, 'id': id_,
                            'ids': [id_], 'action_id': a,
                            }, context=context)))
        for label, attack in attacks:
            self.attacks[label.split()[0]] += 1
            try:
                attack()
            except REFUSED:
                pass
            except Exception as exception:
                if not (isinstance(exception, UserError)
                        and (Model.__name__, label) in REFUSED_TO_ALL):
                    yield f"{label}: not refused for access but by " \
                        f"{_error(exception)}"
            else:
                yield f"{label}: done on LCO B's record {id_}"
            if _snapshot(Model, id_, field) != before:
                yield f"{label}: changed LCO B's record {id_}"
                break


def _client_names(view):
    "The field names the web client reads for a view"
    names = []
    for name, field in view['fields'].items():
        names.append(name)
        if field['type'] in {'many2one', 'one2one', 'reference'}:
            names.append(f'{name}.rec_name')
    return names


def _run_wizard(pool, wiz_name, action_id, model, id_, context):
    Wizard = pool.get(wiz_name, type='wizard')
    context = dict(context, active_model=model, active_id=id_,
        active_ids=[id_], action_id=action_id)
    session_id, start, _ = rpc(Wizard, 'create', context=context)
    return rpc(Wizard, 'execute', session_id, {}, start, context=context)


def _any_active(Model):
    if 'active' in Model._fields:
        return [('active', 'in', [True, False])]
    return []


def _harmless_field(Model):
    "A text field the attacker may try to write, if any"
    candidates = [n for n, f in Model._fields.items()
        if f._type in {'char', 'text'} and not f.readonly
        and not getattr(f, 'getter', None) and not f.translate
        and n not in {'rec_name', 'create_uid', 'write_uid'}]
    for name in ['comment', 'note', 'notes', 'description', 'reference',
            'name']:
        if name in candidates:
            return name
    return candidates[0] if candidates else None


def _snapshot(Model, id_, field):
    with as_root():
        records = Model.search(
            [('id', '=', id_)] + _any_active(Model))
        if not records:
            return None
        names = ['write_date'] + ([field] if field else [])
        values, = Model.read([id_], names)
        return tuple(values[n] for n in names)


def _error(exception):
    message = str(exception).splitlines()[0] if str(exception) else ''
    return f"{type(exception).__name__}({message[:120]})"


def _report(title, lines, notes=()):
    return '\n'.join([f"{title}: {len(lines)} failure(s)", *lines, *notes,
            f"(at {datetime.datetime.now():%H:%M})"])
