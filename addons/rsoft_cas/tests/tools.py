"A CAS system with the test operator's offers mapped"
from trytond.pool import Pool

# The boxes equip() pairs with their cards at LCO-A
SERIALS = [f'GX{i:08d}' for i in range(1, 7)]

PRODUCT_IDS = {
    'ncf': 'P-NCF', 'base': 'P-BASE', 'gold': 'P-GOLD', 'sports': 'P-SPORTS',
    'alacarte_tv': 'P-SURYA',
    }


def create_cas(op, driver, settings, code='NAGRA', devices=(), **values):
    """Return a CAS system of driver for the device products, with the
    offers of op mapped to PRODUCT_IDS"""
    pool = Pool()
    System = pool.get('rsoft.cas.system')
    Template = pool.get('product.template')
    system, = System.create([{
                'name': f"{code} head-end", 'code': code, 'driver': driver,
                'vendor': "Nagra",
                'settings': '\n'.join(
                    f'{k} = {v}' for k, v in settings.items()),
                'backoff': 1, 'cooldown': 60,
                'mappings': [('create', [{
                                'offer': getattr(op, name).id,
                                'cas_product': product,
                                } for name, product in PRODUCT_IDS.items()
                            if hasattr(op, name)])],
                **values,
                }])
    Template.write([d.template for d in devices], {'cas_system': system.id})
    return system


def equip(op, serials=SERIALS):
    """Give op the device models (hd, cardless, card), a vendor, an HTTP
    JSON head-end of them (system) and the boxes serials paired with
    their cards, received from the vendor and moved to LCO-A; run in the
    company of op"""
    from trytond.modules.rsoft_inventory.tests.tools import (
        create_device_models,
        receive,
        vendor_rows,
    )
    pool = Pool()
    Lot = pool.get('stock.lot')
    Party = pool.get('party.party')
    op.hd, op.cardless, op.card = create_device_models()
    op.vendor, = Party.create([{'name': "Gospell Smart Video"}])
    op.system = create_cas(op, 'http_json', {
            'url': 'http://cas.invalid', 'auth': 'bearer'},
        devices=[op.hd, op.cardless, op.card],
        credentials='token = s3cret')
    receive(op.mso, op.vendor, op.hd, op.card, vendor_rows(len(serials)))
    Lot.transfer(Lot.search([('number', 'in', serials)]), op.lco_a)
