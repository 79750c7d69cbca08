"""The offers an LCO sells, with the monthly price each costs its
subscribers: what the subscriber portal's pages and the channel-selector
API list, kept between requests until the catalogue changes"""
from sql.aggregate import Count, Max
from sql.conditionals import Coalesce

from trytond.cache import Cache
from trytond.modules.rsoft_lco.advisor import monthly_prices
from trytond.modules.rsoft_lco.quote import offers_for
from trytond.pool import Pool
from trytond.transaction import Transaction

# What the catalogue of an LCO is read from: a change to any of them
# (a new price, an offer withdrawn, a price list line) is a new catalogue
CATALOGUE_MODELS = [
    'product.template', 'product.product', 'rsoft.offer.price',
    'rsoft.offer.price.term', 'product.template-rsoft.partner',
    'product.template-rsoft.region', 'rsoft.partner', 'rsoft.region',
    'rsoft.bouquet', 'rsoft.bouquet-rsoft.channel',
    'rsoft.bouquet-rsoft.bouquet', 'rsoft.bouquet.price',
    'product.price_list', 'product.price_list.line',
    ]
# {(database, LCO, date, stamp): [(product id, monthly price)]}: the
# offers of an LCO take a query or more each to find and price, and every
# channel page shows all of them
_catalogues = Cache('rsoft_selfcare.catalogue', context=False)


def catalogue(connection, date=None):
    """Return the offers the connection's subscriber may take, with the
    monthly price each costs them: {product: price}"""
    Product = Pool().get('product.product')
    offers = catalogue_prices(connection, date)
    return dict(zip(Product.browse(list(offers)), offers.values()))


def catalogue_prices(connection, date=None):
    """Return {product id: monthly price} of the offers the connection's
    subscriber may take"""
    pool = Pool()
    date = date or pool.get('ir.date').today()
    subscriber = connection.subscriber
    key = (Transaction().database.name, subscriber.lco.id, date.isoformat(),
        _stamp())
    offers = _catalogues.get(key)
    if offers is None:
        prices = monthly_prices(
            subscriber, offers_for(subscriber.lco, date), date)
        offers = _catalogues.set(
            key, [(p.id, price) for p, price in prices.items()])
    return dict(offers)


def _stamp():
    "Return when the catalogue's tables last changed, and their sizes"
    pool = Pool()
    cursor = Transaction().connection.cursor()
    stamp = []
    for name in CATALOGUE_MODELS:
        try:
            Model = pool.get(name)
        except KeyError:
            continue
        table = Model.__table__()
        cursor.execute(*table.select(
                Max(Coalesce(table.write_date, table.create_date)),
                Count(table.id)))
        changed, count = cursor.fetchone()
        stamp.append((str(changed), count))
    return tuple(stamp)
