"""The subscriber portal's online payments: a wallet recharge or a bill
paid through the operator's Razorpay Checkout, or by card through Stripe

The order is created on Razorpay by the server, with a key the form
carries: a double click or a re-posted form finds the same order. The
money is recorded once, by whichever comes first of the Checkout's
confirmation and Razorpay's webhook (rsoft_payment). A card payment is a
Stripe account.payment made with the same key, paid on the checkout page
of account_payment_stripe; Stripe's webhook records its receipt."""
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from secrets import token_urlsafe

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.protocols.wrappers import abort

from .routes_subscriber import subscriber_route

# What the suggestions offer to renew a prepaid account for, in periods
RENEWALS = [1, 3, 6]
MAX_AMOUNT = Decimal('100000')


def _gateway(portal):
    "Return the operator's gateway, else None"
    gateways = portal.scope.search('rsoft.payment.gateway', [],
        order=[('id', 'ASC')], limit=1)
    return gateways[0] if gateways else None


def _stripe_journal(account):
    "Return the operator's Stripe journal for account's payments, else None"
    Journal = Pool().get('account.payment.journal')
    # The operator's configuration, not a record of a subscriber: the
    # account, reached through the scope, gives its company
    journals = Journal.search([
            ('company', '=', account.company.id),
            ('currency', '=', account.company.currency.id),
            ('process_method', '=', 'stripe'),
            ('rsoft_method', '!=', None),
            ], order=[('id', 'ASC')], limit=1)
    return journals[0] if journals else None


# Razorpay's Checkout opens its frames and calls its API on this origin
RAZORPAY_API = 'https://api.razorpay.com'
# The card page asks again for the payment's state after these seconds
CARD_REFRESH = 5


def suggestions(account):
    """Return the amounts suggested to account: renewals of a prepaid
    account, the amount due of a postpaid one"""
    currency = account.company.currency
    if account.billing_mode == 'prepaid':
        renewal = account.renewal_amount or 0
        balance = account.wallet_balance or 0
        return [(n, currency.round(max(renewal * n - balance, 0)))
            for n in RENEWALS if renewal * n > balance]
    due = sum((i.amount_to_pay for i in _open_invoices(account)),
        start=Decimal(0))
    return [(None, currency.round(due))] if due > 0 else []


def _open_invoices(account):
    Invoice = Pool().get('account.invoice')
    return Invoice.search([
            ('rsoft_subscriber', '=', account.id),
            ('type', '=', 'out'),
            ('state', '=', 'posted'),
            ])


def _form_values(portal, account, methods):
    return {
        'accounts': portal.scope.accounts,
        'account': account,
        'suggestions': suggestions(account),
        'currency': account.company.currency,
        'key': token_urlsafe(16),
        'methods': list(methods),
        }


@subscriber_route('/recharge', methods=('GET', 'POST'))
def recharge(portal):
    pool = Pool()
    Order = pool.get('rsoft.payment.gateway.order')
    AccountPayment = pool.get('account.payment')
    scope = portal.scope
    request = portal.request
    source = request.form if request.method == 'POST' else request.args
    account_id = source.get('account', type=int) or scope.owners[0]
    account = scope.get('rsoft.subscriber', account_id)
    # The ways to pay online the operator configured, Razorpay first
    methods = {via: method for via, method in [
            ('razorpay', _gateway(portal)),
            ('stripe', _stripe_journal(account)),
            ] if method}
    values = _form_values(portal, account, methods)
    via = (request.form.get('via') if request.method == 'POST' else None
        ) or next(iter(methods), None)
    if via not in methods:
        return portal.render('subscriber/recharge.html',
            error='sc_no_gateway', status=HTTPStatus.SERVICE_UNAVAILABLE,
            **values)
    if request.method == 'GET':
        return portal.render('subscriber/recharge.html', **values)
    # A suggestion, or the amount typed after them, which wins
    typed = [v.strip() for v in request.form.getlist('amount') if v.strip()]
    try:
        amount = Decimal(typed[-1] if typed else '')
    except InvalidOperation:
        amount = None
    if (not amount or not amount.is_finite() or amount <= 0
            or amount > MAX_AMOUNT):
        return portal.render('subscriber/recharge.html',
            error='sc_amount_invalid',
            status=HTTPStatus.UNPROCESSABLE_ENTITY, **values)
    purpose = 'recharge' if account.billing_mode == 'prepaid' else 'bill'
    key = request.form.get('key', '')[:64] or None
    try:
        if via == 'stripe':
            payment = AccountPayment.rsoft_checkout(methods['stripe'],
                account, amount, key=key, purpose=purpose)
        else:
            order = Order.create_order(methods['razorpay'], account, amount,
                key=key, purpose=purpose)
    except UserError as error:
        return portal.refuse('subscriber/recharge.html', error, **values)
    if via == 'stripe':
        return portal.redirect(f'/recharge/card/{payment.id}')
    if order.state != 'created':
        # The form sent again once paid: its receipt, not a new payment
        return portal.redirect(f'/recharge/{order.id}')
    return checkout(portal, order)


def checkout(portal, order):
    "Render the Checkout of order: the gateway's script opens it"
    origin = order.gateway.checkout_origin
    portal.csp_sources.append(origin)
    if origin == 'https://checkout.razorpay.com':
        portal.csp_sources.append(RAZORPAY_API)
    return portal.render('subscriber/checkout.html', order=order,
        options=order.checkout_options())


@subscriber_route('/recharge/<int:order>', methods=('GET', 'POST'))
def order_status(portal, order):
    """The outcome of an order: a POST is the Checkout's confirmation,
    a GET (a refresh) shows what is recorded"""
    pool = Pool()
    Order = pool.get('rsoft.payment.gateway.order')
    order = portal.scope.get('rsoft.payment.gateway.order', order)
    request = portal.request
    if request.method == 'POST' and order.state == 'created':
        form = request.form
        if form.get('razorpay_order_id') != order.razorpay_order_id:
            abort(HTTPStatus.NOT_FOUND)
        try:
            order = Order.confirm(order.gateway,
                form.get('razorpay_order_id', '')[:100],
                form.get('razorpay_payment_id', '')[:100],
                form.get('razorpay_signature', '')[:200])
        except UserError as error:
            return portal.refuse('subscriber/order.html', error,
                order=order)
        return portal.redirect(f'/recharge/{order.id}')
    if order.state == 'created' and request.args.get('retry'):
        return checkout(portal, order)
    return portal.render('subscriber/order.html', order=order)


@subscriber_route('/recharge/card/<int:payment>')
def card(portal, payment):
    """A card payment: the link to Stripe's checkout page while it is
    processing, the receipt once Stripe tells it succeeded"""
    payment = portal.scope.get('account.payment', payment, [
            ('kind', '=', 'receivable'),
            ('journal.process_method', '=', 'stripe'),
            ])
    return portal.render('subscriber/card.html', payment=payment,
        refresh=CARD_REFRESH if payment.state not in {
            'succeeded', 'failed'} else None)
