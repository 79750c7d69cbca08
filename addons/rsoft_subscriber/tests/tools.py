"A small operator for the subscriber tests: channels, packs, NCF, LCOs"
import datetime
import itertools
from decimal import Decimal

from trytond.modules.rsoft_partner.tests.tools import (
    create_chain,
    create_region,
)
from trytond.pool import Pool

LAUNCH = datetime.date(2024, 1, 1)
FTA_IN_BASE = 190
FTA_IN_SPORTS = 10


class Operator:
    "Attributes name what a test needs; see create_operator"


def create_operator(company, fta=True):
    """Return an Operator whose base pack counts 192 channels for NCF
    (2 pay, 190 free-to-air, 2 mandated not counted) and whose sports
    add-on brings 11 more: together past the 200-channel NCF slab.

    Without fta, the packs have no free-to-air channel: quicker for the
    tests that do not count channels."""
    pool = Pool()
    Party = pool.get('party.party')
    Channel = pool.get('rsoft.channel')
    Bouquet = pool.get('rsoft.bouquet')
    NcfRule = pool.get('rsoft.ncf.rule')
    op = Operator()
    op.company = company
    surya, = Party.create([{'name': "Surya Media"}])
    pay = Channel.create([
            _channel(101, "Surya TV", surya, '10'),
            _channel(102, "Surya Kids", surya, '5'),
            _channel(103, "Surya Sports", surya, '15'),
            _channel(104, "Surya Sports HD", surya, '25'),
            ])
    op.surya_tv, op.surya_kids, op.surya_sports, op.sports_hd = pay
    free = Channel.create([
            _channel(500 + i, f"FTA {i}", surya, '0')
            for i in range(FTA_IN_BASE + FTA_IN_SPORTS)]) if fta else []
    mandated = Channel.create([
            _channel(1 + i, f"Lok Prasaran {i}", surya, '0', mandated=True)
            for i in range(2)])
    base, sports = Bouquet.create([
            _pack("Base", 'BASE',
                [op.surya_tv, op.surya_kids]
                + free[:FTA_IN_BASE] + mandated, '12'),
            _pack("Sports", 'SPORTS',
                [op.surya_sports] + free[FTA_IN_BASE:], '12'),
            ])
    NcfRule.create([{
                'name': "NCF 2020", 'start_date': LAUNCH,
                'second_tv_rate': Decimal('0.40'),
                'slabs': [('create', [
                            {'sequence': 1, 'max_channels': 200,
                                'amount': Decimal('130')},
                            {'sequence': 2, 'max_channels': None,
                                'amount': Decimal('160')},
                            ])],
                }])
    op.ncf = create_offer("NCF", 'ncf', None)
    op.base = create_offer("Base Pack", 'base_pack', '12', bouquet=base)
    op.sports = create_offer("Sports Add-on", 'addon_pack', '12',
        bouquet=sports)
    op.gold = create_offer("Gold Pack", 'base_pack', '12', bouquet=base)
    op.alacarte_tv = create_offer("Surya TV", 'alacarte', '10',
        channel=op.surya_tv)
    op.alacarte_hd = create_offer("Surya Sports HD", 'alacarte', '25',
        channel=op.sports_hd)
    op.india = create_region("India", 'IN')
    op.south = create_region("South", 'IN-S', op.india)
    op.west = create_region("West", 'IN-W', op.india)
    op.mso, op.jv, op.lco_a, op.lco_b, op.lco_c = create_chain(company)
    op.jv.region = op.west
    op.jv.save()
    return op


def _channel(lcn, name, broadcaster, mrp, mandated=False):
    return {
        'lcn': lcn, 'name': name, 'broadcaster': broadcaster.id,
        'fta': not Decimal(mrp), 'mandated': mandated,
        'mrps': [('create', [{'start_date': LAUNCH, 'mrp': Decimal(mrp)}])],
        }


def _pack(name, code, channels, price):
    return {
        'name': name, 'code': code, 'kind': 'dpo',
        'channels': [('add', [c.id for c in channels])],
        'prices': [('create', [
                    {'start_date': LAUNCH, 'price': Decimal(price)}])],
        }


def create_offer(name, kind, price, publish=True, **links):
    "Return the product of a new offer, published unless told otherwise"
    pool = Pool()
    Template = pool.get('product.template')
    OfferPrice = pool.get('rsoft.offer.price')
    Uom = pool.get('product.uom')
    unit, = Uom.search([('name', '=', 'Unit')])
    values = {
        'name': name, 'rsoft_kind': kind, 'type': 'service',
        'default_uom': unit.id, 'list_price': Decimal(price or 0),
        'products': [('create', [{}])],
        **{k: v.id for k, v in links.items()},
        }
    if price is not None:
        values['offer_prices'] = [('create', [{
                        'start_date': LAUNCH, 'price': Decimal(price),
                        'terms': [('create', [
                                    {'months': 1},
                                    {'months': 3,
                                        'discount': Decimal('0.05')}])],
                        }])]
    template, = Template.create([values])
    if publish:
        OfferPrice.publish(list(template.offer_prices))
        Template.publish([template])
    product, = template.products
    return product


_MOBILES = itertools.count(9812345678)


def create_subscriber(lco, mobile=None, **values):
    "Return a draft subscriber of lco with one primary TV connection"
    mobile = mobile or f'+91{next(_MOBILES)}'
    pool = Pool()
    Party = pool.get('party.party')
    Subscriber = pool.get('rsoft.subscriber')
    party, = Party.create([{
                'name': values.pop('name', "Asha Patil"),
                'addresses': [('create', [{
                                'street': "12 MG Road", 'city': "Pune"}])],
                }])
    subscriber, = Subscriber.create([{
                'party': party.id, 'lco': lco.id, 'mobile': mobile,
                'company': lco.company.id,
                'installation_address': party.addresses[0].id,
                'connections': [('create', [{'kind': 'primary_tv'}])],
                **values,
                }])
    return subscriber


def subscribe(connection, product, start=None, term=1):
    "Add and activate a subscription line; return it"
    pool = Pool()
    Line = pool.get('rsoft.subscription.line')
    values = {'connection': connection.id, 'product': product.id,
        'term': term}
    if start:
        values['start_date'] = start
    line, = Line.create([values])
    Line.activate([line])
    return line
