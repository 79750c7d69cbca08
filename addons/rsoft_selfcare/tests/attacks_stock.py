"""The requests LCO A makes with LCO B's records on the routes of
routes_stock.py (the attacker test of test_portal.py walks them)"""
from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool

from .tools_stock import box, card

REPORTS = ['collections', 'cash-up', 'expiring', 'active', 'wallet',
    'settlements']


def stock_ids(a, b):
    """Return the ids of the stock devices of the fixture by serial and of
    the second TV connection of each LCO ('A' and 'B')"""
    def read():
        pool = Pool()
        Lot = pool.get('stock.lot')
        Connection = pool.get('rsoft.connection')
        ids = {d.number: d.id for d in Lot.search([
                    ('number', 'in', [box(n) for n in [101, 103, 105, 201,
                                203]] + [card(n) for n in [101, 104, 201,
                                204]]),
                    ])}
        Settlement = pool.get('rsoft.lco.settlement')
        for code, account in [('A', a), ('B', b)]:
            ids[f'settlement {code}'], = [s.id for s in Settlement.search([
                        ('partner', '=', account['lco']),
                        ])]
        for code, account in [('A', a), ('B', b)]:
            ids[code], = [c.id for c in Connection.search([
                        ('subscriber', '=', account['subscriber']),
                        ('kind', '=', 'second_tv'),
                        ])]
        # A's own devices: an id of another table may be one of them
        ids['A devices'] = {d.id for d in Lot.search(['OR',
                    ('connection.subscriber.lco', '=', a['lco']),
                    ('current_location.rsoft_partner', '=', a['lco']),
                    ])}
        return ids
    return run(read)


def stock_attacks(case, rule, b):
    """Return {rule path: [(method, URL, form or query)]}

    case is the PortalTestCase, rule the prefix of the rules' paths and b
    the ids of LCO B's records."""
    a = case.a['id']
    ids = stock_ids(a, b)
    b_devices = [b['device'], ids[box(201)], ids[box(203)], ids[card(204)]]
    b_connections = [b['connection'], ids['B']]
    top_up = {'amount': '1', 'method': str(case.cash), 'reference': 'x',
        'partner': str(b['lco'])}
    return {
        f'{rule}/devices': [
            ('GET', '/devices', {'q': q, 'where': where})
            for q in [case.b['serial'], box(201), card(204), '']
            for where in ['stock', 'installed', 'all']],
        f'{rule}/devices/<int:device>': [
            ('GET', f'/devices/{i}', {})
            for i in b_devices + [b['connection'], b['subscriber']]
            if i not in ids['A devices']],
        f'{rule}/devices/<int:device>/pair': [
            (method, f'/devices/{i}/pair', {'card': str(ids[card(204)])})
            for method in ['GET', 'POST']
            for i in [ids[box(201)], ids[box(203)], b['device']]] + [
            # Its own box with B's card
            ('POST', f'/devices/{ids[box(105)]}/pair',
                {'card': str(ids[card(204)])}),
            ],
        f'{rule}/connections/<int:connection>/install': [
            (method, f'/connections/{i}/install', {
                    'stb': str(ids[box(103)]), 'ownership': 'sold'})
            for method in ['GET', 'POST'] for i in b_connections] + [
            ('POST', f"/connections/{ids['A']}/install", {
                    'stb': str(stb), 'card': str(smartcard),
                    'ownership': 'sold'})
            for stb, smartcard in [
                (ids[box(203)], ''), (ids[box(201)], ''),
                (ids[box(103)], ids[card(204)])]],
        f'{rule}/connections/<int:connection>/swap': [
            (method, f'/connections/{i}/swap', {
                    'old': str(b['device']), 'new': str(ids[box(105)]),
                    'note': "x"})
            for method in ['GET', 'POST'] for i in b_connections] + [
            ('POST', f"/connections/{a['connection']}/swap", {
                    'old': str(old), 'new': str(new), 'note': "x"})
            for old, new in [
                (a['device'], ids[box(203)]), (b['device'], ids[box(105)])]],
        f'{rule}/wallet': [('GET', '/wallet', {'page': '1'})],
        f'{rule}/wallet/top-up': [
            ('GET', '/wallet/top-up', {}),
            ('POST', '/wallet/top-up', top_up),
            ],
        f'{rule}/reports': [('GET', '/reports', {})],
        f'{rule}/reports/settlements/<int:settlement>': [
            ('GET', f'/reports/settlements/{i}', query)
            for i in [ids['settlement B'], b['subscriber'], b['invoice']]
            if i != ids['settlement A']
            for query in [{}, {'format': 'xlsx'}]],
        **{f'{rule}/reports/{name}': [
                ('GET', f'/reports/{name}', query)
                for query in [{}, {'format': 'xlsx'}, {'lco': str(b['lco'])},
                    {'format': 'xlsx', 'lco': str(b['lco']), 'days': '90'}]]
            for name in REPORTS},
        }
