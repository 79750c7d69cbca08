"""Records that move from one module to another

When a module takes over models and XML records from another (payments
out of billing, shared messages out of the catalogue), an update would
create its records again and then delete the old ones with the other
module's update: sequences would restart their numbers and menus, rights
and messages would change ids. A module that takes over calls
`adopt_records` from the `__register__` of one of its models: it runs
before the module's XML is loaded, and the records found there are then
updated in place."""
import os
from collections import defaultdict
from xml.etree import ElementTree

from sql import Null, Table

from trytond import backend
from trytond.model import Model
from trytond.model.fields import Field
from trytond.modules import get_module_info
from trytond.pool import Pool
from trytond.tools import file_open, grouped_slice, resolve
from trytond.transaction import Transaction

from .exceptions import MigrationError

__all__ = ['adopt_records', 'check_adopted', 'xml_ids']

# The tables that name the module their records were loaded from
_MODULE_COLUMNS = {
    'ir.ui.view': 'ir_ui_view',
    'ir.action.report': 'ir_action_report',
    }


def xml_ids(module):
    "Return the ids of the records and menus that module's XML defines"
    ids = set()
    for filename in get_module_info(module).get('xml', []):
        with file_open(os.path.join(module, filename), 'rb') as fp:
            tree = ElementTree.parse(fp)
        for element in tree.iter():
            if element.tag in {'record', 'menuitem'}:
                fs_id = element.get('id')
                if fs_id and '.' not in fs_id:
                    ids.add(fs_id)
    return ids


def owned(module):
    """Return the models that module defines and its fields on the models
    of others: (model, field) pairs"""
    models, fields = set(), set()
    for cls in Pool.classes['model'].get(module, {}):
        if isinstance(cls, str):
            cls = resolve(f'trytond.modules.{module}.{cls}')
        if issubclass(cls, Model):
            models.add(cls.__name__)
        else:
            fields |= {(cls.__name__, name)
                for name, value in vars(cls).items()
                if isinstance(value, Field)}
    return models, fields


def _wizards(module):
    "Return the names of the wizards module defines"
    names = set()
    for cls in Pool.classes['wizard'].get(module, {}):
        if isinstance(cls, str):
            cls = resolve(f'trytond.modules.{module}.{cls}')
        names.add(cls.__name__)
    return names


def adopt_records(module, from_module):
    """Label as module's what was from_module's and module now holds: the
    XML records that module's XML defines, its models and its fields on
    the models of others"""
    models, fields = owned(module)
    cursor = Transaction().connection.cursor()
    model_data = Table('ir_model_data')
    # An id both define is each one's own
    ids = sorted(xml_ids(module) - xml_ids(from_module))
    for i in range(0, len(ids), 500):
        where = ((model_data.module == from_module)
            & model_data.fs_id.in_(ids[i:i + 500]))
        for model, table in _MODULE_COLUMNS.items():
            if not backend.TableHandler.table_exist(table):
                continue
            records = Table(table)
            cursor.execute(*records.update(
                    [records.module], [module],
                    where=records.id.in_(model_data.select(
                            model_data.db_id,
                            where=where & (model_data.model == model)))))
        cursor.execute(*model_data.update(
                [model_data.module], [module], where=where))

    ir_model = Table('ir_model')
    ir_field = Table('ir_model_field')
    translation = Table('ir_translation')
    models = sorted(models)
    if models:
        cursor.execute(*ir_model.update(
                [ir_model.module], [module],
                where=(ir_model.module == from_module)
                & ir_model.name.in_(models)))
        cursor.execute(*ir_field.update(
                [ir_field.module], [module],
                where=(ir_field.module == from_module)
                & ir_field.model.in_(models)))
    for model, field in sorted(fields):
        cursor.execute(*ir_field.update(
                [ir_field.module], [module],
                where=(ir_field.module == from_module)
                & (ir_field.model == model) & (ir_field.name == field)))
    # Translations are named after the model ('rsoft.payment,amount') or
    # the wizard ('rsoft.payment.reverse,start,reverse')
    clauses = [translation.name.like(f'{m},%')
        for m in models + sorted(_wizards(module))]
    clauses += [translation.name == f'{m},{f}' for m, f in fields]
    for clause in clauses:
        cursor.execute(*translation.update(
                [translation.module], [module],
                where=(translation.module == from_module) & clause))
    # and those of the records after their model and id ('ir.message,text'
    # of a message, 'ir.action,name' of an action)
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    Translation = pool.get('ir.translation')
    cursor.execute(*model_data.select(model_data.model, model_data.db_id,
            where=(model_data.module == module)
            & (model_data.db_id != Null)))
    records = defaultdict(list)
    for model, db_id in cursor.fetchall():
        records[model].append(db_id)
    for model, db_ids in sorted(records.items()):
        names = [model, *Translation.extra_model_data(ModelData(model=model))]
        for name in names:
            for sub_ids in grouped_slice(db_ids):
                cursor.execute(*translation.update(
                        [translation.module], [module],
                        where=(translation.module == from_module)
                        & (translation.type == 'model')
                        & translation.name.like(f'{name},%')
                        & translation.res_id.in_(list(sub_ids))))


def check_adopted(module, to_module, model):
    """Refuse to update module while model, which it gave to to_module,
    is still labelled as its own, unless to_module is marked to activate:
    without to_module in the same update, it would delete the records
    to_module takes over"""
    ir_model = Table('ir_model')
    ir_module = Table('ir_module')
    cursor = Transaction().connection.cursor()
    cursor.execute(*ir_model.select(ir_model.module,
            where=ir_model.name == model))
    row = cursor.fetchone()
    if not row or row[0] != module:
        return
    # Marked to activate, to_module is loaded in this same update, after
    # module: it adopts the records before the end of the update, where
    # the records module no longer defines are deleted
    cursor.execute(*ir_module.select(ir_module.state,
            where=ir_module.name == to_module))
    row = cursor.fetchone()
    if not row or row[0] != 'to activate':
        raise MigrationError(
            f"{model} and its records moved from {module} to {to_module}: "
            f"mark {to_module} to activate and activate it first, on its "
            "own, then update the other modules: python -m "
            "rsoft_tools.upgrade -c <config> -d <database> does both.")
