"Customer invoices of the accounts: Tryton's, itemised by section"
from collections import defaultdict
from decimal import ROUND_HALF_UP

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .common import forget
from .exceptions import InvoicingError
from .gst import check_number, code_kind, place_of_supply, state_of
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
    rsoft_place_of_supply = fields.Many2One(
        'country.subdivision', "Place of Supply", ondelete='RESTRICT',
        states={
            'readonly': Eval('state') != 'draft',
            },
        help="The state of the subscriber's billing address (else of the "
        "installation address): set when the invoice is posted.")
    rsoft_place_of_supply_name = fields.Function(
        fields.Char("Place of Supply"), 'get_rsoft_place_of_supply_name')

    def get_rsoft_customer_id(self, name):
        if self.rsoft_subscriber:
            return self.rsoft_subscriber.customer_id

    @fields.depends('currency')
    def _round_taxes(self, taxes):
        """Round each tax on its own, half-up: a credit is the exact
        negative of the same charge

        Tryton adds up the rounding differences of the taxes and moves
        them onto the first: GST 18% of 156.13 (28.1034) became 28.11
        because the cess on it was rounded down. Each tax of a GST
        invoice is its rate of its base rounded once, and the bill run
        (InvoiceBatch) rounds the taxes with this method too."""
        if not self.currency:
            return
        for taxline in taxes.values():
            taxline.amount = self.currency.round(
                taxline.amount, rounding=ROUND_HALF_UP)

    def get_rsoft_place_of_supply_name(self, name):
        return place_of_supply(self.rsoft_place_of_supply)

    def get_rsoft_place_of_supply(self):
        "Return the state where the services are supplied"
        subscriber = self.rsoft_subscriber
        return state_of(self.invoice_address) or (
            state_of(subscriber.installation_address) if subscriber
            else None)

    def _number_sequence(self, pattern=None):
        # A series may be the LCO's or the place of supply's
        pattern = dict(pattern or {})
        pattern.setdefault(
            'rsoft_lco', self.rsoft_lco.id if self.rsoft_lco else None)
        pattern.setdefault('rsoft_place_of_supply', (
                self.rsoft_place_of_supply.id
                if self.rsoft_place_of_supply else None))
        return super()._number_sequence(pattern)

    @classmethod
    def set_number(cls, invoices):
        for invoice in invoices:
            if (invoice.type == 'out' and not invoice.number
                    and not invoice.rsoft_place_of_supply):
                invoice.rsoft_place_of_supply = (
                    invoice.get_rsoft_place_of_supply())
        super().set_number(invoices)
        for invoice in invoices:
            if invoice.type == 'out' and invoice.number:
                check_number(invoice.number)

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
        state = state_of(address) or state_of(
            subscriber.installation_address)
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
            'rsoft_place_of_supply': state.id if state else None,
            }

    @classmethod
    def _rsoft_line_values(cls, charge):
        "Return the values of charge's invoice line, and its taxes"
        pool = Pool()
        OfferKind = pool.get('rsoft.billing.offer_kind')
        product = charge.product
        sac, account = OfferKind.get_values(
            charge.subscriber.company, product.rsoft_kind)
        if not account and product.account_revenue_used:
            account = product.account_revenue_used.id
        if not account:
            raise InvoicingError(gettext(
                    'rsoft_billing.msg_no_revenue_account',
                    offer=product.rec_name))
        return {
            'product': product.id,
            'account': account,
            'rsoft_sac': sac,
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
    rsoft_sac = fields.Char(
        "SAC/HSN", size=8,
        states={
            'readonly': Eval('invoice_state') != 'draft',
            },
        help="The services accounting code (or the HSN of goods) printed "
        "on the GST invoice: the one of the offer's kind.")
    rsoft_sac_kind = fields.Function(
        fields.Char("SAC or HSN"), 'get_rsoft_sac_kind')

    def get_rsoft_sac_kind(self, name):
        return code_kind(self.rsoft_sac)

    @fields.depends('product', 'company', 'invoice',
        '_parent_invoice.company')
    def on_change_product(self):
        pool = Pool()
        OfferKind = pool.get('rsoft.billing.offer_kind')
        Account = pool.get('account.account')
        super().on_change_product()
        company = self.invoice.company if self.invoice else self.company
        if not self.product or not self.product.rsoft_kind or not company:
            return
        sac, account = OfferKind.get_values(company, self.product.rsoft_kind)
        self.rsoft_sac = sac
        if account:
            self.account = Account(account)


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
