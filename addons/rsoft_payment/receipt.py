"Receipts: the printed acknowledgement of a payment"
from decimal import Decimal

from num2words import num2words

from trytond.pool import Pool
from trytond.report import Report

# A receipt of these states no longer stands: it is printed as cancelled
CANCELLED = {'bounced', 'reversed'}


class Receipt(Report):
    """The receipt of a payment: handed to the subscriber at collection,
    downloaded from the subscriber portal

    Rendered from HTML to PDF like the bills; as for any report, the
    user must read the payments (their record rules) to print them."""
    __name__ = 'rsoft.payment.receipt'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['cancelled'] = CANCELLED
        context['in_words'] = cls.in_words
        context['selection'] = cls.selection
        context['tax_identifiers'] = {
            p.id: cls.get_tax_identifier(p) for p in records}
        return context

    @staticmethod
    def in_words(amount, currency):
        """Return amount of currency in words, as receipts write it to stand
        against alteration ("Rupees ... only"); None where num2words does
        not know the currency"""
        amount = Decimal(amount)
        if currency.code == 'INR':
            rupees, paise = divmod(int(amount * 100), 100)
            words = f"Rupees {num2words(rupees, lang='en_IN')}"
            if paise:
                words += f" and {num2words(paise, lang='en_IN')} paise"
            return f"{words} only".replace(',', '')
        try:
            return num2words(amount, lang='en', to='currency',
                currency=currency.code).capitalize() + " only"
        except NotImplementedError:
            return None

    @staticmethod
    def selection(record, name):
        "Return the label of the value of the selection field name"
        field = record.__class__.fields_get([name])[name]
        return dict(field['selection']).get(getattr(record, name), '')

    @classmethod
    def get_tax_identifier(cls, payment):
        """Return the operator's tax identifier (GSTIN) the bills of the
        account carry: the one of its billing address"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        subscriber = payment.subscriber
        address = (subscriber.billing_address
            or subscriber.party.address_get(type='invoice'))
        return Invoice(
            company=payment.company, invoice_address=address
            ).get_tax_identifier()
