"""Tryton's test database cache, filled along the module graph

Tryton builds the test database of a module from nothing: ir and res, then
every module it depends on. Ours depend on one another (billing on wallet on
subscriber on partner on catalogue), so most of that work is done again for
each. `prepare` builds the cached database of each module from the cached
database of its largest dependency instead, activating only what is
missing; the result is the database Tryton would have built."""
import os
import time

from trytond.modules import get_module_info
from trytond.tests import test_tryton
from trytond.tests.test_tryton import (
    DB_CACHE,
    activate_module,
    db_exist,
    drop_db,
    restore_db_cache,
)

__all__ = ['prepare']


def prepare(databases, log=None):
    """Fill the test database cache, if it is on, for each of databases:
    tuples of modules as a test case activates them (its module and
    extras) or a scenario does (sorted)"""
    if not DB_CACHE:
        return
    closures = {d: frozenset().union(*map(_closure, d)) for d in databases}
    built = {}
    try:
        # A database's closure is larger than that of any it can start from
        for modules in sorted(databases, key=lambda d: len(closures[d])):
            closure = closures[modules]
            name = '-'.join(modules)
            if not _cached(name):
                start = time.monotonic()
                bases = [b for b in built if built[b] < closure]
                base = max(bases, key=lambda b: len(built[b]), default=None)
                drop_db()
                if base:
                    restore_db_cache('-'.join(base))
                activate_module(list(modules))
                if log:
                    log(f"test database {name} built"
                        + (f" from {'-'.join(base)}" if base else "")
                        + f" in {time.monotonic() - start:.0f} s")
            built[modules] = closure
    finally:
        drop_db()


def _closure(module, seen=None):
    "Return the module and all it depends on"
    seen = set() if seen is None else seen
    if module not in seen:
        seen.add(module)
        for depend in get_module_info(module).get('depends', []):
            _closure(depend, seen)
    return frozenset(seen)


def _cached(name):
    cache = test_tryton._db_cache_file(DB_CACHE, name)
    if DB_CACHE.startswith('postgresql://'):
        return db_exist(cache[len(DB_CACHE) + 1:])
    return os.path.exists(cache)

