"Prices: what a subscription line costs for a period, before pro-rata"
import datetime
from bisect import bisect_right
from decimal import ROUND_HALF_UP

from trytond.i18n import gettext
from trytond.modules.rsoft_catalogue.common import format_amount, format_date
from trytond.pool import Pool

from .exceptions import RatingError

_DAY = datetime.timedelta(days=1)


class Pricer:
    """Prices the periods of subscription lines

    The line's offer price version gives the price; the price list of the
    account's LCO (or its territory's, or its parent's) may then set
    another. One Pricer serves a whole bill run: thousands of accounts
    take the same few offers from the same few price lists, so each
    price list price is computed once per offer, period length, offer
    price and span of dates over which the price list lines do not
    change."""

    def __init__(self):
        self._price_lists = {}
        self._boundaries = {}
        self._prices = {}

    def price(self, subscriber, line, months, date):
        """Return (price of a period of months starting at date, offer
        price version, price list line or None)

        The term price applies when the period is the line's term,
        otherwise the monthly price times the months. Then the first
        line of the account's price list that matches sets the price,
        as Tryton's price lists do: in force at date (its start and end
        dates), for the offer or its category, for at least its quantity
        in months (a line of quantity 12 prices yearly periods only).
        Its formula sees as unit_price the monthly price (the period
        price divided by the months) and gives a monthly price; that
        times the months is the period price, rounded half-up to the
        currency. So "unit_price * 0.9" is 10% off the period price,
        term discount kept, and a fixed "250" is Rs 250 a month. A line
        whose formula gives nothing (list_price of an offer without one)
        leaves the offer price."""
        version = line.price_version
        if not version:
            raise RatingError(gettext(
                    'rsoft_billing.msg_no_price_version',
                    line=line.rec_name,
                    connection=line.connection.rec_name))
        price = None
        if line.term == months:
            price = version.get_term_amount(months)
        if price is None:
            price = version.get_term_amount(1) * months
        price_list = self.price_list(subscriber)
        if price_list:
            list_price, list_line = self.list_price(
                price_list, line.product, months, price, date)
            if list_line:
                return list_price, version, list_line
        return price, version, None

    def price_list(self, subscriber):
        "Return the price list of subscriber's LCO or None"
        lco = subscriber.lco
        if not lco:
            return None
        if lco.id not in self._price_lists:
            self._price_lists[lco.id] = lco.get_price_list()
        return self._price_lists[lco.id]

    def list_price(self, price_list, product, months, price, date):
        """Return (period price, price list line) that price_list sets
        for a period of months at price starting at date, or (None,
        None) when none of its lines applies"""
        boundaries = self._boundaries.get(price_list.id)
        if boundaries is None:
            boundaries = self._boundaries[price_list.id] = sorted(
                {d for list_line in price_list.lines
                    for d in (list_line.start_date,
                        list_line.end_date + _DAY
                        if list_line.end_date else None)
                    if d})
        key = (price_list.id, product.id, months, price,
            bisect_right(boundaries, date))
        if key not in self._prices:
            self._prices[key] = self._compute(
                price_list, product, months, price, date)
        return self._prices[key]

    def _compute(self, price_list, product, months, price, date):
        """Compute like product.price_list's compute, dated like
        product_price_list_dates, but with price as the unit price and
        returning the line that matched

        compute() gives neither: it takes the unit price from the
        product's list or cost price and returns only the price."""
        pool = Pool()
        Uom = pool.get('product.uom')
        uom = product.default_uom
        categories = []
        for category in product.categories_all:
            while category:
                categories.append(category.id)
                category = category.parent
        pattern = {
            'date': date,
            'categories': categories,
            'product': product.id,
            'quantity': Uom.compute_qty(
                uom, months, price_list.get_uom(product), round=False),
            }
        context = price_list.get_context_formula(
            product, months, uom, pattern=pattern)
        context['names']['unit_price'] = price / months
        for list_line in price_list.lines:
            if list_line.match(pattern):
                monthly = list_line.get_unit_price(**context)
                if monthly is None:
                    return None, None
                return self._round(
                    price_list, list_line, product, monthly * months,
                    date), list_line
        return None, None

    @staticmethod
    def _round(price_list, list_line, product, price, date):
        "Return price rounded half-up to the currency, refused if negative"
        price = price_list.company.currency.round(
            price, rounding=ROUND_HALF_UP)
        if price < 0:
            raise RatingError(gettext(
                    'rsoft_billing.msg_price_list_negative',
                    price_list=price_list.rec_name,
                    formula=list_line.formula,
                    offer=product.rec_name,
                    date=format_date(date),
                    amount=format_amount(price)))
        return price
