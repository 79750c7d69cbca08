"""Webhooks of the payment gateways

URL space: /<database_name>/rsoft_payment/razorpay/<gateway>/webhook
Stripe's webhooks go to account_payment_stripe's own route.
"""
import logging
from http import HTTPStatus

from trytond.backend import DatabaseOperationalError
from trytond.protocols.wrappers import (
    Response,
    abort,
    with_pool,
    with_transaction,
)
from trytond.transaction import Transaction, TransactionError
from trytond.wsgi import app

logger = logging.getLogger(__name__)

# What Razorpay is answered for each outcome: anything but 2xx is
# delivered again, so only what may succeed later is refused with 5xx
STATUSES = {
    'recorded': HTTPStatus.OK,
    'duplicate': HTTPStatus.OK,
    'ignored': HTTPStatus.OK,
    'forged': HTTPStatus.BAD_REQUEST,
    'invalid': HTTPStatus.BAD_REQUEST,
    'unknown_order': HTTPStatus.NOT_FOUND,
    'wrong_amount': HTTPStatus.UNPROCESSABLE_ENTITY,
    }


@app.route(
    '/<database_name>/rsoft_payment/razorpay/<int:gateway>/webhook',
    methods={'POST'})
# Where the webhooks went when payments were part of rsoft_billing: the
# URLs set in Razorpay's dashboards then must keep working
@app.route(
    '/<database_name>/rsoft_billing/razorpay/<int:gateway>/webhook',
    methods={'POST'})
@with_pool
@with_transaction(context={'_skip_warnings': True})
def razorpay_webhook(request, pool, gateway):
    # Routes are global to the process: every database served by this
    # trytond sees them, so refuse where the module is not activated.
    try:
        Gateway = pool.get('rsoft.payment.gateway')
    except KeyError:
        abort(HTTPStatus.NOT_FOUND)
    gateways = Gateway.search([('id', '=', gateway)])
    if not gateways:
        abort(HTTPStatus.NOT_FOUND)
    gateway, = gateways
    # The signature is of the raw body: it is read untouched
    body = request.get_data(as_text=True)
    try:
        with Transaction().set_context(company=gateway.company.id):
            event = gateway.webhook(
                body, request.headers.get('X-Razorpay-Signature'),
                request.headers.get('X-Razorpay-Event-Id'))
    except (TransactionError, DatabaseOperationalError):
        # with_transaction tries the delivery again
        raise
    except Exception:
        # trytond would answer a JSON body's failure as a bad RPC call
        # and log nothing: Razorpay is told to deliver it again, the log
        # tells why
        logger.exception("Razorpay webhook of gateway %s failed", gateway.id)
        Transaction().rollback()
        return Response('error', status=HTTPStatus.INTERNAL_SERVER_ERROR,
            content_type='text/plain')
    # The event is logged even when refused: answer, do not abort
    return Response(
        event.outcome, status=STATUSES[event.outcome],
        content_type='text/plain')
