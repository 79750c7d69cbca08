"A CAS system with the test operator's offers mapped"
from trytond.pool import Pool

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
