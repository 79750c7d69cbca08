"""What an LCO login may see of rsoft_payment
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    'rsoft.payment': ('lco', 'subscriber.lco'),
    'rsoft.payment.allocation': ('lco', 'payment.subscriber.lco'),
    # The operator's own collectors (no LCO) are readable too: the LCO's
    # receipts and cash-up name the counter and online collectors
    'rsoft.payment.collector': ('lco', 'lco'),
    'rsoft.payment.method': (
        'global', "the operator's ways of payment, read-only for an LCO"),
    'rsoft.payment.settlement': (
        'none', "bank and gateway files of every LCO: an MSO collections "
        "tool"),
    'rsoft.payment.gateway': (
        'none', "gateway credentials: Pay-TV Administration only"),
    'rsoft.payment.gateway.order': ('lco', 'subscriber.lco'),
    'rsoft.payment.gateway.event': (
        'none', "raw webhooks of every LCO's subscribers, forged ones "
        "included: Pay-TV Administration only"),
    'rsoft.collection.cash_up': ('lco', 'lco'),
    'rsoft.collection.cash_up.lco': ('lco', 'lco'),
    'rsoft.collection.ageing': ('lco', 'lco'),
    'account.dunning': ('lco', 'rsoft_subscriber.lco'),
    'account.dunning.level': (
        'global', "the operator's dunning steps, read-only for an LCO"),
    'account.dunning.procedure': (
        'global', "the operator's dunning procedures, read-only for an LCO"),
    'account.payment': (
        'none', "Tryton's payments (Stripe): the accounting groups only"),
    'account.payment.journal': (
        'none', "Tryton's payment journals, with the Stripe accounts: the "
        "accounting groups only"),
    'account.payment.group': (
        'none', "Tryton's payment batches: the accounting groups only"),
    'party.party.dunning_procedure': ('lco', 'party.rsoft_subscribers.lco'),
    'party.party.payment_direct_debit': ('lco', 'party.rsoft_subscribers.lco'),
    'party.party.reception_direct_debit': (
        'none', "direct debits the MSO receives: accounting only"),
    'account.payment.stripe.account': ('none', "the MSO's Stripe credentials"),
    'account.payment.stripe.customer': (
        'none', 'Stripe customers: the back office only'),
    'account.payment.stripe.customer.fingerprint': (
        'none', 'Stripe card fingerprints: the back office only'),
    'account.payment.stripe.customer.identical': (
        'none', 'Stripe customers: the back office only'),
    'account.payment.stripe.refund': (
        'none', 'Stripe refunds: the back office only'),
    }
