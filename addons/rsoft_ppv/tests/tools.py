"""The billing tests' operator with a head-end, boxes at LCO-A and a
pay-per-view catalogue: a cricket final, a boxing night, a film"""
import datetime as dt
from contextlib import contextmanager
from decimal import Decimal
from unittest.mock import patch

from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_billing.tests.tools import create_billing_operator
from trytond.modules.rsoft_cas.tests.tools import equip
from trytond.modules.rsoft_catalogue.tests.tools import create_clerk
from trytond.modules.rsoft_partner.tests.tools import create_lco_user
from trytond.modules.rsoft_subscriber.tests.tools import (
    LAUNCH,
    create_subscriber,
)
from trytond.pool import Pool

TODAY = dt.date(2026, 3, 2)
# 10:00 in Pune on Monday 2 March 2026, as Tryton stores it (UTC)
NOW = dt.datetime(2026, 3, 2, 4, 30)
# The cricket final: Sunday 8 March, 14:00 to 22:30 in India; sales close
# at 20:00
FINAL = (dt.datetime(2026, 3, 8, 8, 30), dt.datetime(2026, 3, 8, 17, 0),
    dt.datetime(2026, 3, 8, 14, 30))
# The boxing night: Saturday 7 March, 21:00 to Sunday 01:00 in India
BOXING = (dt.datetime(2026, 3, 7, 15, 30), dt.datetime(2026, 3, 7, 19, 30),
    None)


def create_ppv_operator():
    """Return the billing tests' operator (GST 18% and a 1% cess) in
    India's time zone, with a CAS system, six boxes paired with cards at
    LCO-A, the IPL final (Rs 199) and the boxing night (Rs 299) as PPV
    events, the film Sairat (Rs 49, 48 hours) as a VOD title, logins of
    LCO-A and LCO-B, a clerk and an administrator of the MSO"""
    pool = Pool()
    Company = pool.get('company.company')
    with patch.object(pool.get('ir.date'), 'today', return_value=TODAY):
        op = create_billing_operator()
        Company.write([op.company], {'timezone': 'Asia/Kolkata'})
        with set_company(op.company):
            equip(op)
            op.final = create_video(
                "IPL Final", 'ppv', '199', 'PPV-IPL-FINAL', window=FINAL)
            op.boxing = create_video(
                "Boxing Night", 'ppv', '299', 'PPV-BOXING', window=BOXING)
            op.sairat = create_video(
                "Sairat (Marathi)", 'vod', '49', 'VOD-SAIRAT', hours=48)
            op.user_a = create_lco_user('lco-a', op.lco_a)
            op.user_b = create_lco_user('lco-b', op.lco_b)
            op.clerk = create_clerk('ppv-clerk', op.company)
            op.manager = create_clerk('ppv-manager', op.company,
                ('rsoft_catalogue', 'group_paytv'),
                ('rsoft_catalogue', 'group_paytv_admin'))
    return op


def create_video(name, kind, price, cas_product, window=None, hours=None):
    """Return the product of a published PPV event (window: start, end
    and sales close, naive UTC) or VOD title (hours), priced from LAUNCH,
    with its CAS product in every CAS system"""
    pool = Pool()
    Category = pool.get('product.category')
    OfferPrice = pool.get('rsoft.offer.price')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    unit, = Uom.search([('name', '=', 'Unit')])
    category, = Category.search([('name', '=', "Pay-TV Services")])
    values = {
        'name': name, 'rsoft_kind': kind, 'type': 'service',
        'default_uom': unit.id, 'list_price': Decimal(price),
        'account_category': category.id,
        'products': [('create', [{}])],
        'offer_prices': [('create', [{
                        'start_date': LAUNCH, 'price': Decimal(price),
                        }])],
        'cas_product': cas_product,
        }
    if window:
        values['ppv_start'], values['ppv_end'], values['ppv_sale_end'] = (
            window)
    if hours:
        values['vod_hours'] = hours
    template, = Template.create([values])
    OfferPrice.publish(list(template.offer_prices))
    Template.publish([template])
    product, = template.products
    return product


def devices(*numbers):
    "Return the devices of the serial numbers, in their order"
    Lot = Pool().get('stock.lot')
    found = {d.number: d for d in Lot.search([('number', 'in', numbers)])}
    return [found[n] for n in numbers]


def new_connection(op, mode='prepaid', serial='GX00000001', wallet=None,
        **values):
    """Return the active primary TV connection of a new account of LCO-A
    on the Gold pack from TODAY (billed monthly on the 1st), with the box
    serial and its card installed; a prepaid one gets wallet in its
    wallet"""
    pool = Pool()
    Connection = pool.get('rsoft.connection')
    Line = pool.get('rsoft.subscription.line')
    Subscriber = pool.get('rsoft.subscriber')
    Wallet = pool.get('rsoft.wallet')
    subscriber = create_subscriber(op.lco_a, billing_mode=mode,
        billing_cycle=1, bill_day_mode='fixed', bill_day=1, **values)
    connection, = subscriber.connections
    Line.create([{'connection': connection.id, 'product': op.gold.id,
                'start_date': TODAY}])
    Subscriber.activate([subscriber], TODAY)
    stb, = devices(serial)
    Connection(connection.id).install(stb, ownership='sold', date=TODAY)
    if wallet:
        wallet_, = Wallet.get_wallets([subscriber])
        Wallet.top_up([(wallet_, Decimal(wallet), TODAY)])
    return Connection(connection.id)


@contextmanager
def clock(now=NOW, today=None):
    """Set the PPV clock to now (naive UTC) and the company's date to
    today (by default the date of now in India); yield both mocks"""
    pool = Pool()
    Configuration = pool.get('rsoft.ppv.configuration')
    Date = pool.get('ir.date')
    today = today or (now + dt.timedelta(hours=5, minutes=30)).date()
    with patch.object(Configuration, 'now', return_value=now) as now_, \
            patch.object(Date, 'today', return_value=today) as today_:
        yield now_, today_
