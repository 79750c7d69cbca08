"""What a change of a subscriber's offers costs, before it is made

The price of a line and what its LCO pays the MSO are those of the
activation itself: the line is activated as it would be (the TRAI rules
checked, the account rated, the LCO's wallet debited) inside a savepoint
that is then rolled back, so a quote cannot differ from the sale. The
caller ends the transaction without committing anything else of it."""
from decimal import Decimal

from trytond.modules.rsoft_billing.charge import CORRECTION_KINDS, Rater
from trytond.modules.rsoft_billing.common import savepoint
from trytond.pool import Pool
from trytond.transaction import Transaction

from .charging import lco_price

__all__ = ['offers_for', 'quote_line', 'quote_stop']

# What an LCO sells on a connection: packs and channels
PACK_KINDS = {'alacarte', 'broadcaster_bouquet', 'base_pack', 'addon_pack'}


class _Undo(Exception):
    "Carries the quote out of the savepoint it rolls back"

    def __init__(self, quote):
        super().__init__()
        self.quote = quote


def quote_line(connection, product, date=None, term=1):
    """Return the quote of adding product to connection from date

    A dict: price (the subscriber's first period, untaxed, with the NCF
    line the offer brings), taxes, total, lco_debit (what the LCO's
    wallet pays the MSO), lco_before and lco_after (what the LCO may spend
    before and after; None without a wallet). The refusal of the
    activation (a TRAI rule, the LCO's wallet short) is raised."""
    pool = Pool()
    Date = pool.get('ir.date')
    Line = pool.get('rsoft.subscription.line')
    date = date or Date.today()
    try:
        with savepoint('rsoft_lco_quote'):
            known = {line.id for line in connection.lines}
            available = _available(connection)
            entry = _last_entry()
            line, = Line.create([{
                        'connection': connection.id,
                        'product': product.id,
                        'term': term,
                        'start_date': date,
                        }])
            Line.activate([line], date)
            new = {line.id for line in Line.search([
                        ('connection', '=', connection.id),
                        ])} - known
            values = [v for v in _rate(connection, date)
                if v['line'] in new and v['kind'] not in CORRECTION_KINDS]
            raise _Undo(_quote(connection, values, date, available,
                    _debited(connection.subscriber.lco, entry)))
    except _Undo as undo:
        return undo.quote


def quote_stop(line, date=None):
    """Return the quote of ending line from date (its first day without)

    The same dict as quote_line, the amounts given back: price is the
    subscriber's credit for the days paid and not used (untaxed), total
    with its taxes, lco_debit what the LCO gets back (negative) when the
    credit is billed."""
    pool = Pool()
    Date = pool.get('ir.date')
    Line = pool.get('rsoft.subscription.line')
    date = date or Date.today()
    connection = line.connection
    lco = connection.subscriber.lco
    try:
        with savepoint('rsoft_lco_quote'):
            available = _available(connection)
            Line.stop([line], date)
            values = [v for v in _rate(connection, date)
                if v['line'] == line.id and v['kind'] == 'credit']
            currency = connection.subscriber.company.currency
            refund = sum((lco_price(lco, v['amount'], v['section'],
                        v['date_from'], currency)
                    for v in values), Decimal(0)) if lco.pays_mso else None
            raise _Undo(_quote(connection, values, date, available, refund))
    except _Undo as undo:
        return undo.quote


def _rate(connection, date):
    pool = Pool()
    Subscriber = pool.get('rsoft.subscriber')
    subscriber = Subscriber(connection.subscriber.id)
    with Transaction().set_context(company=subscriber.company.id):
        return Rater(date).rate([subscriber], save=False)


def _available(connection):
    "Return what the LCO of connection may spend, None without a wallet"
    pool = Pool()
    Partner = pool.get('rsoft.partner')
    lco = Partner(connection.subscriber.lco.id)
    return lco.wallet_available if lco.pays_mso else None


def _last_entry():
    pool = Pool()
    Entry = pool.get('rsoft.wallet.entry')
    entries = Entry.search([], order=[('id', 'DESC')], limit=1)
    return entries[0].id if entries else 0


def _debited(lco, entry):
    "Return what the entries of lco's wallet after entry took out of it"
    pool = Pool()
    Entry = pool.get('rsoft.wallet.entry')
    if not lco.pays_mso:
        return None
    return -sum((e.amount for e in Entry.search([
                    ('wallet.partner', '=', lco.id),
                    ('id', '>', entry),
                    ])), Decimal(0))


def _quote(connection, values, date, available, lco_debit):
    pool = Pool()
    Line = pool.get('rsoft.subscription.line')
    Tax = pool.get('account.tax')
    currency = connection.subscriber.company.currency
    price = taxes = Decimal(0)
    for value in values:
        product = Line(value['line']).product
        price += value['amount']
        taxes += sum(currency.round(t['amount']) for t in Tax.compute(
                product.customer_taxes_used, value['amount'], 1, date))
    return {
        'price': currency.round(price),
        'taxes': currency.round(taxes),
        'total': currency.round(price + taxes),
        'lco_debit': lco_debit,
        'lco_before': available,
        'lco_after': (available - lco_debit
            if available is not None and lco_debit is not None else None),
        }


def offers_for(lco, date=None):
    """Return the packs and channels the subscribers of lco may take at
    date, with their monthly price: [(product, price)] by name"""
    pool = Pool()
    Date = pool.get('ir.date')
    Product = pool.get('product.product')
    date = date or Date.today()
    offers = []
    for product in Product.search([
                ('template.rsoft_kind', 'in', list(PACK_KINDS)),
                ('template.offer_state', '=', 'published'),
                ], order=[('template.name', 'ASC'), ('id', 'ASC')]):
        template = product.template
        if (not template.is_available_for(lco)
                or not template.get_price_version(date)):
            continue
        offers.append((product, template.get_term_price(1, date)[1]))
    return offers
