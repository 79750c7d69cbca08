"""What an LCO login may see of this module's models
(the kinds of decision: tests/test_confinement.py)"""

_BILL = 'invoice.rsoft_subscriber.lco'
_REFERENCE = "Reviewed reference data of the MSO's accounting"

DECISIONS = {
    'rsoft.billing.configuration': (
        'none', "The MSO's billing settings"),
    'rsoft.billing.charge': ('lco', 'subscriber.lco'),
    'rsoft.billing.run': (
        'none', "Bill runs are started and followed by the MSO"),
    'rsoft.billing.offer_kind': (
        'none', "The MSO's SAC codes and revenue accounts per kind of offer"),
    'rsoft.billing.run.account': (
        'none', "The accounts of the MSO's bill runs"),
    'rsoft.billing.campaign': (
        'global', "The MSO's discounts on offers, applied by rating"),
    'rsoft.billing.campaign-product.product': (
        'global', "The offers of the MSO's discounts"),
    'rsoft.billing.campaign-rsoft.partner': (
        'global', "The LCOs of the MSO's discounts, no LCO's records"),
    # The bills: read, never written, by the LCO of their account
    'account.invoice': ('lco', 'rsoft_subscriber.lco'),
    'account.invoice.line': ('lco', _BILL),
    'account.invoice.tax': ('lco', _BILL),
    'account.invoice.line-account.tax': (
        'lco', 'line.' + _BILL),
    'account.invoice-account.move.line': ('lco', _BILL),
    'account.invoice-additional-account.move': ('lco', _BILL),
    'account.invoice.payment.mean': ('lco', _BILL),
    'account.invoice.report.revision': ('lco', _BILL),
    'account.invoice.payment_term': ('global', _REFERENCE),
    'account.invoice.payment_term.line': ('global', _REFERENCE),
    'account.invoice.payment_term.line.delta': ('global', _REFERENCE),
    'account.invoice.payment.method': ('global', _REFERENCE),
    'account.invoice.payment.mean.rule': ('global', _REFERENCE),
    'party.party.payment_term': ('lco', 'party.rsoft_subscribers.lco'),
    'account.invoice.alternative_payee': (
        'lco', 'invoice.rsoft_subscriber.lco'),
    }
