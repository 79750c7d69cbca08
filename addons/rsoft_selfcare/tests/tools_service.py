"""What the portal tests' operator needs for the routes of
routes_service.py, added to it by create_portal_operator (tools.py)"""
from trytond.pool import Pool

# Each LCO's technician, by the LCO's code
TECHNICIANS = {'LCO-A': "Ravi Kale", 'LCO-B': "Suresh Rao"}


def set_up_service_fixture(op):
    """Add to op (the operator of create_portal_operator, in its company
    context) what the tests of routes_service.py need: the company in
    India's time zone, a technician of each LCO and, on each account, a
    no-signal complaint and the draft repair order made of it

    op.accounts[code] gets 'technician', 'complaint' and 'order'."""
    pool = Pool()
    Company = pool.get('company.company')
    Complaint = pool.get('rsoft.complaint')
    Technician = pool.get('rsoft.technician')
    Company.write([op.company], {'timezone': 'Asia/Kolkata'})
    for code, account in op.accounts.items():
        account['technician'], = Technician.create([{
                    'name': TECHNICIANS[code], 'lco': account['lco'].id,
                    'company': op.company.id, 'mobile': '+919822000111',
                    }])
        account['complaint'] = Complaint.lodge(account['connection'],
            'no_signal', "No picture on any channel since the morning",
            channel='phone')
        account['order'], = Complaint.make_work_order(
            [account['complaint']])
