"""Use an upgraded database with the code of the tree, as an operator would,
and print what was seen as JSON

    python check_new.py CONF DB

The views of rsoft_payment open, the menus under Payments are listed, the
shared messages are rsoft_toolkit's, and a cash payment is recorded and
posted in the LCO of the last payment, by its collector."""
import json
import sys
from decimal import Decimal


def check(database):
    from trytond.i18n import gettext
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError

    pool = Pool(database)
    pool.init()
    with Transaction().start(database, 0, readonly=True):
        Company = pool.get('company.company')
        company, = Company.search([])
        company_id = company.id
    seen = {}
    context = {'company': company_id, 'language': 'en'}
    # As the admin: the views and menus of the groups the admin is in
    with Transaction().start(database, 1, context=context):
        seen['views'] = _views(pool)
        seen['menus'] = _menus(pool)
        seen['messages'] = {name: gettext(f'rsoft_toolkit.{name}',
                report='R', date='D', from_date='F', to_date='T',
                field='F', model='M')
            for name in ['msg_sheet_date', 'msg_sheet_period',
                'msg_sheet_total', 'msg_system_field']}
    # Like trytond's dispatcher: again with the records locked when the
    # posting asks for it
    extras = {}
    while True:
        try:
            with Transaction().start(
                    database, 0, context=context, **extras) as transaction:
                seen['payment'] = _record_payment(pool)
                transaction.commit()
            return seen
        except TransactionError as exception:
            exception.fix(extras)


def _views(pool):
    "Open every view of rsoft_payment, with the inherited ones composed"
    View = pool.get('ir.ui.view')
    Payment = pool.get('rsoft.payment')
    views = {}
    for view in View.search([('module', '=', 'rsoft_payment')]):
        root = view
        while root.inherit:
            root = root.inherit
        result = pool.get(root.model).fields_view_get(view_id=root.id)
        views[str(view.id)] = {
            'model': view.model, 'fields': len(result['fields'])}
    for view_type in ['form', 'tree']:
        result = Payment.fields_view_get(view_type=view_type)
        views[f'rsoft.payment,{view_type}'] = {
            'view_id': result['view_id'], 'fields': len(result['fields'])}
    return views


def _menus(pool):
    "The menus under Payments the admin sees: (id, name) pairs"
    Menu = pool.get('ir.ui.menu')
    ModelData = pool.get('ir.model.data')
    parent = ModelData.get_id('rsoft_payment', 'menu_payment')
    return {
        'payment': [[m.id, m.name] for m in Menu.search([
                        ('name', '=', "Payments"),
                        ('parent', '=', Menu(parent).parent.id),
                        ])],
        'children': [[m.id, m.name] for m in Menu.search([
                        ('parent', '=', parent),
                        ])],
        }


def _record_payment(pool):
    Payment = pool.get('rsoft.payment')
    Method = pool.get('rsoft.payment.method')
    last, = Payment.search([], order=[('id', 'DESC')], limit=1)
    cash, = Method.search([('kind', '=', 'cash')])
    payment = Payment.record(
        last.subscriber, Decimal('250'), cash, collector=last.collector)
    return {
        'id': payment.id, 'number': payment.number, 'state': payment.state,
        'move_state': payment.move.state if payment.move else None,
        }


def main():
    config_file, database = sys.argv[1:]
    from trytond import config
    config.update_etc(config_file)
    print(json.dumps(check(database)))


if __name__ == '__main__':
    main()
