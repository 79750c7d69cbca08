"Prices: what a subscription line costs for a period, before pro-rata"
from trytond.i18n import gettext

from .exceptions import RatingError


class Pricer:
    """Prices the periods of subscription lines

    The line's offer price version gives the price; the price list of the
    account's LCO (or its territory's) may then set another."""

    def price(self, subscriber, line, months, date):
        """Return (price of a period of months starting at date, offer
        price version, price list line or None)

        The term price applies when the period is the line's term,
        otherwise the monthly price times the months."""
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
        return price, version, None
