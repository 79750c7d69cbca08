"Customer invoices of the accounts: Tryton's, itemised by section"
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .common import forget
from .exceptions import InvoicingError
from .posting import InvoiceBatch

SECTIONS = [
    (None, ""),
    ('ncf', "Network Capacity Fee"),
    ('alacarte', "A-la-carte Channels"),
    ('bouquet', "Bouquets and Packs"),
    ('service', "Services"),
    ('hardware', "Hardware"),
    ('one_time', "One-time Charges"),
    ]
# The order of the sections on a bill
SECTION_ORDER = [s for s, _ in SECTIONS if s]


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'
    rsoft_subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber Account", readonly=True,
        ondelete='RESTRICT',
        help="The account the invoice bills.")
    rsoft_customer_id = fields.Function(
        fields.Char("Customer ID"), 'get_rsoft_customer_id')
    rsoft_lco = fields.Many2One(
        'rsoft.partner', "LCO", readonly=True, ondelete='RESTRICT',
        help="The LCO of the account when it was billed.")
    rsoft_period_start = fields.Date(
        "Period Start", readonly=True,
        help="The first day the invoice bills.")
    rsoft_period_end = fields.Date(
        "Period End", readonly=True,
        help="The last day the invoice bills.")

    def get_rsoft_customer_id(self, name):
        if self.rsoft_subscriber:
            return self.rsoft_subscriber.customer_id

    @classmethod
    def rsoft_invoice(cls, charges, date, check=None):
        """Post one invoice per account for charges and return them

        Each charge is a line of its account's invoice: the bill shows
        how every amount was reached. check, when given, is called with
        the invoices computed in memory (their total_amount is known)
        before anything is written; it may raise to refuse them."""
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        Journal = pool.get('account.journal')
        journal = Journal.find({'type': 'revenue'})
        by_subscriber = defaultdict(list)
        for charge in charges:
            by_subscriber[charge.subscriber].append(charge)
        batches = {}
        for subscriber, charges in by_subscriber.items():
            charges = sorted(charges, key=_bill_order)
            company = subscriber.company
            if company not in batches:
                batches[company] = InvoiceBatch(company, date)
            batches[company].add({
                    **cls._rsoft_invoice_values(subscriber, charges, date),
                    'journal': journal.id if journal else None,
                    }, [cls._rsoft_line_values(c) for c in charges], charges)
        drafts = [d for b in batches.values() for d in b.drafts]
        if check:
            check(drafts)
        ids = [i for b in batches.values() for i in b.write()]
        forget(Charge, [c.id for d in drafts for c in d.charges])
        return cls.browse(ids)

    @classmethod
    def _rsoft_invoice_values(cls, subscriber, charges, date):
        pool = Pool()
        Configuration = pool.get('rsoft.billing.configuration')
        party = subscriber.party
        account = party.account_receivable_used
        if not account:
            raise InvoicingError(gettext(
                    'rsoft_billing.msg_no_receivable',
                    party=party.rec_name, subscriber=subscriber.rec_name))
        payment_term = (Configuration(1).payment_term
            or party.customer_payment_term)
        address = subscriber.billing_address or party.address_get(
            type='invoice')
        return {
            'type': 'out',
            'company': subscriber.company.id,
            'currency': subscriber.company.currency.id,
            'party': party.id,
            'party_tax_identifier': (
                party.tax_identifier.id if party.tax_identifier else None),
            'invoice_address': address.id,
            'account': account.id,
            'payment_term': payment_term.id if payment_term else None,
            'invoice_date': date,
            'description': subscriber.customer_id,
            'rsoft_subscriber': subscriber.id,
            'rsoft_lco': subscriber.lco.id if subscriber.lco else None,
            'rsoft_period_start': min(c.date_from for c in charges),
            'rsoft_period_end': max(c.date_to for c in charges),
            }

    @classmethod
    def _rsoft_line_values(cls, charge):
        "Return the values of charge's invoice line, and its taxes"
        product = charge.product
        account = product.account_revenue_used
        if not account:
            raise InvoicingError(gettext(
                    'rsoft_billing.msg_no_revenue_account',
                    offer=product.rec_name))
        return {
            'product': product.id,
            'account': account.id,
            'quantity': 1,
            'unit': product.default_uom.id,
            'unit_price': charge.amount,
            'description': charge.description,
            'rsoft_section': charge.section,
            'rsoft_broadcaster': (
                charge.broadcaster.id if charge.broadcaster else None),
            'rsoft_connection': charge.connection.id,
            }, product.customer_taxes_used


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'
    rsoft_section = fields.Selection(
        SECTIONS, "Bill Section", readonly=True,
        help="Where the line shows on the bill.")
    rsoft_broadcaster = fields.Many2One(
        'party.party', "Broadcaster", readonly=True, ondelete='RESTRICT',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The broadcaster of an a-la-carte channel or bouquet: "
        "a-la-carte lines are grouped by broadcaster on the bill.")
    rsoft_connection = fields.Many2One(
        'rsoft.connection', "Connection", readonly=True,
        ondelete='RESTRICT')


def _bill_order(charge):
    section = charge.section
    return (
        SECTION_ORDER.index(section) if section in SECTION_ORDER
        else len(SECTION_ORDER),
        charge.connection.id,
        charge.broadcaster.rec_name if charge.broadcaster else '',
        charge.period_start, charge.kind != 'credit', charge.id)


class WalletEntry(metaclass=PoolMeta):
    __name__ = 'rsoft.wallet.entry'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['account.invoice']
