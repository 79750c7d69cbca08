"""pytest glue for Tryton module tests.

1. Tryton scenarios (*.rst doctests) are exposed through the unittest
   `load_tests` protocol (trytond.tests.test_tryton.load_doc_tests), which
   pytest ignores.  We turn every case returned by a module-level
   `load_tests()` into a pytest item.
2. addons/<name> is the source of trytond.modules.<name> (editable install).
   pytest's default import mode would import the test files as
   `<name>.tests.test_x`, i.e. a second copy of the package.  We alias the
   top-level name to the real trytond.modules.<name> package so only one
   copy of the module code (and of its routes) exists.
3. Before the tests run, the test database cache of each module under test
   is filled along the module graph (rsoft_toolkit.tests.dbcache).
"""
import importlib
import os
import sys
import unittest

import pytest

# An in-memory SQLite database has one connection, shared by every
# transaction; each clean_timeout trytond's cache sync takes it in autocommit
# mode, which commits the open test transaction: its records outlive the
# test and break the next ones. Tests never need that periodic sync.
os.environ.setdefault('TRYTOND_CACHE__CLEAN_TIMEOUT', str(10 ** 9))

_ADDONS = os.path.join(os.path.dirname(__file__), 'addons')
for _name in sorted(os.listdir(_ADDONS)):
    if os.path.exists(os.path.join(_ADDONS, _name, 'tryton.cfg')):
        try:
            sys.modules.setdefault(
                _name, importlib.import_module(f'trytond.modules.{_name}'))
        except ModuleNotFoundError:  # not pip-installed (yet)
            pass


class UnittestCaseItem(pytest.Item):
    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case

    def runtest(self):
        result = unittest.TestResult()
        self.case.run(result)
        problems = result.errors + result.failures
        if problems:
            raise _CaseFailed('\n'.join(tb for _, tb in problems))
        if result.skipped:
            pytest.skip(result.skipped[0][1])

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, _CaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f'{self.name}'


class _CaseFailed(Exception):
    pass


def _iter_cases(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _iter_cases(test)
        else:
            yield test


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector, name, obj):
    if name == 'load_tests' and callable(obj) \
            and isinstance(collector, pytest.Module):
        suite = obj(unittest.TestLoader(), unittest.TestSuite(), None)
        return [UnittestCaseItem.from_parent(
                collector, name=case.id().rsplit('.', 1)[-1], case=case)
            for case in _iter_cases(suite)]


def pytest_collection_finish(session):
    "Fill the test database cache of the modules under test at once"
    if not os.environ.get('DB_CACHE') or session.config.option.collectonly:
        return
    from trytond.modules.rsoft_toolkit.tests.dbcache import prepare
    from trytond.tests.test_tryton import _DBTestCase
    databases = set()
    for item in session.items:
        case = getattr(item, 'cls', None)
        parts = item.path.relative_to(session.config.rootpath).parts
        if case and issubclass(case, _DBTestCase) and case.module:
            databases.add((case.module, *(case.extras or [])))
        elif isinstance(item, UnittestCaseItem) and parts[0] == 'addons':
            databases.add((parts[1],))
    writer = session.config.get_terminal_writer()
    prepare(databases, log=writer.line)
