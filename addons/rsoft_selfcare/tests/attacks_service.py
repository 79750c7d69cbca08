"""The requests LCO A makes with LCO B's records on the routes of
routes_service.py (the attacker test of test_portal.py walks them)"""
from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool

from .tools_service import TECHNICIANS


def service_ids(a, b):
    """Return {'A'/'B': {'technician', 'complaint', 'order'}} of the
    fixture's records of each LCO"""
    def read():
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        Technician = pool.get('rsoft.technician')
        ids = {}
        for code, account in [('A', a), ('B', b)]:
            technician, = Technician.search([
                    ('name', '=', TECHNICIANS[f'LCO-{code}']),
                    ])
            complaint, = Complaint.search([
                    ('subscriber', '=', account['subscriber']),
                    ('channel', '=', 'phone'),
                    ])
            order, = complaint.work_orders
            ids[code] = {'technician': technician.id,
                'complaint': complaint.id, 'order': order.id}
        return ids
    return run(read)


def service_attacks(case, rule, b):
    """Return {rule path: [(method, URL, form or query)]}

    case is the PortalTestCase, rule the prefix of the rules' paths and b
    the ids of LCO B's records."""
    ids = service_ids(case.a['id'], b)
    a, theirs = ids['A'], ids['B']
    foreign = [b['subscriber'], b['connection'], theirs['complaint'],
        theirs['order'], theirs['technician']]
    return {
        f'{rule}/subscribers/<int:subscriber>/complaint': [
            (method, f'/subscribers/{i}/complaint', {
                    'connection': str(b['connection']),
                    'category': 'no_signal', 'description': 'x'})
            for method in ['GET', 'POST'] for i in foreign] + [
            # A's account with B's connection, or with B's box
            ('POST', f"/subscribers/{case.a['id']['subscriber']}/complaint",
                {'connection': str(b['connection']),
                    'category': 'no_signal', 'description': 'x'}),
            ('POST', f"/subscribers/{case.a['id']['subscriber']}/complaint",
                {'connection': str(case.a['id']['connection']),
                    'device': str(b['device']),
                    'category': 'stb_fault', 'description': 'x'}),
            ],
        f'{rule}/complaints': [
            ('GET', '/complaints', {'show': show})
            for show in ['open', 'due_soon', 'breached', 'all']],
        f'{rule}/complaints/<int:complaint>': [
            ('GET', f'/complaints/{i}', {}) for i in foreign] + [
            ('POST', f"/complaints/{theirs['complaint']}", data)
            for data in [
                {'step': 'assign', 'technician': str(a['technician'])},
                {'step': 'resolve', 'code': 'explained'},
                {'step': 'work_order'},
                ]] + [
            # A's complaint given to B's technician
            ('POST', f"/complaints/{a['complaint']}", {
                    'step': 'assign',
                    'technician': str(theirs['technician'])}),
            ],
        f'{rule}/work-orders': [
            ('GET', '/work-orders', {'show': show})
            for show in ['open', 'due_soon', 'breached', 'all']],
        f'{rule}/work-orders/allocate': [
            ('POST', '/work-orders/allocate', data) for data in [
                {'order': [str(theirs['order'])], 'technician': ''},
                {'order': [str(a['order']), str(theirs['order'])],
                    'technician': str(a['technician'])},
                {'order': [str(a['order'])],
                    'technician': str(theirs['technician'])},
                ]],
        f'{rule}/work-orders/<int:order>': [
            ('GET', f'/work-orders/{i}', {}) for i in foreign] + [
            ('POST', f"/work-orders/{theirs['order']}", data)
            for data in [
                {'step': 'allocate', 'technician': str(a['technician'])},
                {'step': 'start'},
                {'step': 'complete', 'notes': 'x'},
                {'step': 'fail', 'reason': 'x'},
                ]] + [
            # A's order given to B's technician
            ('POST', f"/work-orders/{a['order']}", {
                    'step': 'allocate',
                    'technician': str(theirs['technician'])}),
            ],
        f'{rule}/technicians': [('GET', '/technicians', {})],
        f'{rule}/technicians/<int:technician>/day': [
            ('GET', f'/technicians/{i}/day', {}) for i in [
                theirs['technician'], theirs['order'],
                theirs['complaint']]],
        }
