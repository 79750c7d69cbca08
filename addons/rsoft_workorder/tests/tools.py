"The service desk of the billing tests' operator: devices, CAS, field teams"
import datetime as dt
from contextlib import contextmanager
from unittest.mock import patch

from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_billing.tests.tools import create_billing_operator
from trytond.modules.rsoft_cas.tests.tools import create_cas
from trytond.modules.rsoft_catalogue.tests.tools import create_clerk
from trytond.modules.rsoft_inventory.tests.tools import (
    create_device_models,
    receive,
    vendor_rows,
)
from trytond.modules.rsoft_partner.tests.tools import create_lco_user
from trytond.modules.rsoft_subscriber.tests.tools import (
    create_offer,
    create_subscriber,
)
from trytond.pool import Pool

TODAY = dt.date(2026, 3, 2)
# 10:00 in Pune on Monday 2 March 2026, as the SLA clocks store it (UTC)
MORNING = dt.datetime(2026, 3, 2, 4, 30)
KOTHRUD = '411038'


def create_service_operator():
    """Return the billing tests' operator in India's time zone, with eight
    boxes paired with cards received by the MSO (the first six allocated
    to LCO-A), a CAS, visit and relocation fees, the Kothrud area, field
    technicians of LCO-A (Ravi, in Kothrud; Meena, anywhere, swaps only),
    LCO-B (Suresh) and the MSO (Imran), logins of LCO-A and LCO-B, a
    supervisor and a nodal officer"""
    pool = Pool()
    Area = pool.get('rsoft.service.area')
    Company = pool.get('company.company')
    Configuration = pool.get('rsoft.service.configuration')
    Lot = pool.get('stock.lot')
    Party = pool.get('party.party')
    Technician = pool.get('rsoft.technician')
    with patch.object(pool.get('ir.date'), 'today', return_value=TODAY):
        op = create_billing_operator()
        Company.write([op.company], {'timezone': 'Asia/Kolkata'})
        with set_company(op.company):
            op.hd, op.cardless, op.card = create_device_models()
            op.vendor, = Party.create([{'name': "Gospell Smart Video"}])
            op.system = create_cas(op, 'http_json', {
                    'url': 'http://cas.invalid', 'auth': 'bearer'},
                devices=[op.hd, op.cardless, op.card],
                credentials='token = s3cret')
            receive(op.mso, op.vendor, op.hd, op.card, vendor_rows(8))
            Lot.transfer(Lot.search([
                        ('number', 'in', [f'GX{i:08d}' for i in range(1, 7)]),
                        ]), op.lco_a)
            op.visit = create_offer("Visit Charge", 'installation', '150')
            op.relocation = create_offer(
                "Relocation Charge", 'installation', '250')
            op.supervisor, op.nodal = Party.create([{
                        'name': "Service Supervisor",
                        'contact_mechanisms': [('create', [
                                        {'type': 'email',
                                            'value': 'supervisor@mso.test'},
                                        ])],
                        }, {
                        'name': "Nodal Officer",
                        'contact_mechanisms': [('create', [
                                        {'type': 'email',
                                            'value': 'nodal@mso.test'},
                                        ])],
                        }])
            config = Configuration(1)
            config.installation_fee = op.install
            config.visit_fee = op.visit
            config.relocation_fee = op.relocation
            config.supervisor = op.supervisor
            config.nodal_officer = op.nodal
            config.save()
            op.kothrud, op.aundh = Area.create([{
                        'name': "Kothrud", 'code': 'KTD',
                        'postal_codes': f'{KOTHRUD}, 411029',
                        }, {
                        'name': "Aundh", 'code': 'AUN',
                        'postal_codes': '411007',
                        }])
            op.ravi, op.meena, op.suresh, op.imran = Technician.create([{
                        'name': "Ravi", 'lco': op.lco_a.id,
                        'company': op.company.id, 'capacity': 3,
                        'areas': [('add', [op.kothrud.id])],
                        }, {
                        'name': "Meena", 'lco': op.lco_a.id,
                        'company': op.company.id, 'skills': ['stb_swap'],
                        }, {
                        'name': "Suresh", 'lco': op.lco_b.id,
                        'company': op.company.id,
                        }, {
                        'name': "Imran", 'lco': op.mso.id,
                        'company': op.company.id,
                        }])
            op.user_a = create_lco_user('lco-a', op.lco_a)
            op.user_b = create_lco_user('lco-b', op.lco_b)
            op.clerk = create_clerk('service-desk', op.company)
    return op


def new_subscriber(lco, active=True, postal_code=KOTHRUD, **values):
    """Return a postpaid subscriber of lco at an address of postal_code,
    active from TODAY unless told otherwise"""
    pool = Pool()
    Subscriber = pool.get('rsoft.subscriber')
    Address = pool.get('party.address')
    values.setdefault('billing_mode', 'postpaid')
    subscriber = create_subscriber(lco, **values)
    Address.write(list(subscriber.party.addresses),
        {'postal_code': postal_code})
    if active:
        Subscriber.activate([subscriber], TODAY)
    return Subscriber(subscriber.id)


def devices(*numbers):
    "Return the devices of the serial numbers, in their order"
    Lot = Pool().get('stock.lot')
    found = {d.number: d for d in Lot.search([('number', 'in', numbers)])}
    return [found[n] for n in numbers]


@contextmanager
def clock(now, today=None):
    """Set the SLA clock to now (naive UTC) and the company's date to
    today (by default the date of now in India)"""
    pool = Pool()
    Configuration = pool.get('rsoft.service.configuration')
    Date = pool.get('ir.date')
    today = today or (now + dt.timedelta(hours=5, minutes=30)).date()
    with patch.object(Configuration, 'now', return_value=now) as now_, \
            patch.object(Date, 'today', return_value=today) as today_:
        yield now_, today_
