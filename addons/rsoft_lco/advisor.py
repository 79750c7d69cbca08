"""The best-fit advisor: the cheapest offers that give a connection the
channels its subscriber wants, against what it takes now

The search is rsoft_catalogue.bestfit's, on plain data; this reads the
offers the subscriber's LCO sells with the monthly price the subscriber
would pay (the offer's, or its LCO's price list's), the NCF rule and the
TV rank of the connection."""
from decimal import Decimal

from trytond.modules.rsoft_billing.pricing import Pricer
from trytond.modules.rsoft_catalogue.bestfit import (
    NcfRule,
    Offer,
    best_fit,
    price_selection,
)
from trytond.pool import Pool

from .quote import offers_for


def advise(connection, channels, date=None):
    """Return the advice for connection to take channels at date

    A dict: best and current (bestfit.Fit of the cheapest selection and of
    the offers the connection takes now, both priced a month at a time
    before GST), products (the best selection's), saving (current total
    less best total). Raises bestfit.BestFitError when no selection gives
    the channels."""
    pool = Pool()
    Date = pool.get('ir.date')
    date = date or Date.today()
    subscriber = connection.subscriber
    prices = monthly_prices(subscriber, offers_for(subscriber.lco, date),
        date)
    offers = {p.id: _offer(p, price) for p, price in prices.items()}
    rule = connection.get_ncf_rule(date)
    # Without a rule in force no NCF is billed: a single free slab
    rule = NcfRule.from_rule(rule) if rule else NcfRule(
        slabs=((None, Decimal(0)),))
    mandated = mandated_ids(prices)
    tv_rank = connection.tv_rank or 1
    best = best_fit(list(offers.values()), {c.id for c in channels}, rule,
        mandated=mandated, tv_rank=tv_rank)
    current = price_selection(
        [offers.get(p.id) or _offer(p, price)
            for p, price in _current(connection, date).items()],
        rule, mandated=mandated, tv_rank=tv_rank)
    products = {p.id: p for p in prices}
    return {
        'best': best,
        'current': current,
        'products': [products[o.id] for o in best.offers],
        'saving': current.total - best.total,
        }


def switch(connection, products, date=None):
    """Make products the channels' offers of connection from date: the
    lines of the others end (date is their first day without), the
    missing ones start; return the new lines

    The subscription rules and the LCO's wallet are checked by the
    activation: a refusal raises, and the caller's transaction is rolled
    back as a whole."""
    pool = Pool()
    Date = pool.get('ir.date')
    Line = pool.get('rsoft.subscription.line')
    date = date or Date.today()
    lines = _channel_lines(connection, date)
    wanted = {p.id for p in products}
    Line.stop([line for line in lines if line.product.id not in wanted],
        date)
    taken = {line.product.id for line in lines}
    new = Line.create([{
                'connection': connection.id, 'product': product.id,
                'start_date': date,
                } for product in products if product.id not in taken])
    Line.activate(new, date)
    return new


def _offer(product, price):
    return Offer(product.id, product.template.rsoft_kind, price,
        product.get_offer_channel_ids())


def mandated_ids(products):
    "Return the ids of the government mandated channels of products"
    Channel = Pool().get('rsoft.channel')
    return Channel.mandated_ids() & frozenset().union(
        *(p.get_offer_channel_ids() for p in products))


def monthly_prices(subscriber, offers, date):
    "Return {product: the monthly price subscriber pays for it at date}"
    pricer = Pricer()
    price_list = pricer.price_list(subscriber)
    prices = {}
    for product, price in offers:
        if price_list:
            list_price, list_line = pricer.list_price(
                price_list, product, 1, price, date)
            if list_line:
                price = list_price
        prices[product] = price
    return prices


def _channel_lines(connection, date):
    "Return the running lines of connection at date that give channels"
    return [line for line in connection.lines
        if line.state == 'active' and line.is_open(date)
        and line.product.template.rsoft_kind != 'ncf'
        and line.product.get_offer_channel_ids()]


def _current(connection, date):
    "Return {product: monthly price} of the channels' offers taken at date"
    lines = _channel_lines(connection, date)
    return monthly_prices(connection.subscriber, [
            (line.product, line.product.template.get_term_price(1, date)[1])
            for line in lines], date)
