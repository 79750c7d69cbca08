"""Online payments: Razorpay orders and webhooks, Stripe through Tryton

A subscriber pays online in Razorpay Checkout; the payment page confirms
the signed result, the gateway tells us by a signed webhook, a scheduled
job asks about the orders neither told; the money is recorded once as a
receipt (rsoft.payment) that credits the wallet or settles the invoices."""
import datetime as dt
import json
import logging
import urllib.parse
from collections import Counter
from decimal import Decimal

import razorpay
import stripe
from razorpay.errors import (
    BadRequestError,
    GatewayError,
    ServerError,
    SignatureVerificationError,
)
from requests.exceptions import RequestException

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin,
    Index,
    ModelSQL,
    ModelView,
    Unique,
    Workflow,
    fields,
)
from trytond.model.exceptions import ValidationError
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.modules.rsoft_toolkit.secret import SecretMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, TransactionError
from trytond.url import http_host

from .exceptions import GatewaySecretError
from .payment import check_system_record

logger = logging.getLogger(__name__)

RAZORPAY_URL = 'https://api.razorpay.com'
RAZORPAY_CHECKOUT_URL = 'https://checkout.razorpay.com/v1/checkout.js'
# Events that tell a payment of an order is captured
RAZORPAY_EVENTS = {'payment.captured', 'order.paid'}
# Razorpay takes a receipt of at most 40 characters
RECEIPT_SIZE = 40
# A forged webhook costs its sender nothing: at most this many are logged
# per gateway in a window, the others are dropped (answered, not stored)
FORGED_LOG_LIMIT = 100
FORGED_LOG_WINDOW = dt.timedelta(hours=1)
# The forged webhooks logged before this are deleted as new ones come
FORGED_LOG_RETENTION = dt.timedelta(days=30)
# The webhook of a payment usually comes within seconds: the orders still
# open after this are asked about
RECONCILE_DELAY = dt.timedelta(minutes=5)
# Razorpay takes no payment for an order after this: still open, it failed
ORDER_EXPIRY = dt.timedelta(days=3)
# What the SDK raises when Razorpay cannot be reached or refuses
API_ERRORS = (BadRequestError, GatewayError, ServerError, RequestException)
ORDER_STATES = [
    ('created', "Created"),
    ('paid', "Paid"),
    ('failed', "Failed"),
    ]
PURPOSES = [
    ('recharge', "Wallet Recharge"),
    ('bill', "Bill Payment"),
    ]
OUTCOMES = [
    ('recorded', "Recorded"),
    ('duplicate', "Duplicate"),
    ('forged', "Bad Signature"),
    ('invalid', "Invalid Body"),
    ('ignored', "Ignored"),
    ('unknown_order', "Unknown Order"),
    ('wrong_amount', "Wrong Amount"),
    ]


def _origin(url):
    "Return the origin (scheme://host[:port]) of an http(s) url, or None"
    try:
        parts = urllib.parse.urlsplit(url or '')
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {'http', 'https'} or not parts.hostname:
        return None
    host = parts.hostname
    if ':' in host:
        host = f'[{host}]'
    return f'{parts.scheme}://{host}' + (f':{port}' if port else '')


class Gateway(SecretMixin, DeactivableMixin, ModelSQL, ModelView):
    "A Razorpay account the subscribers pay through"
    __name__ = 'rsoft.payment.gateway'
    __string__ = "Payment Gateway"

    name = fields.Char("Name", required=True)
    company = fields.Many2One('company.company', "Company", required=True)
    key_id = fields.Char(
        "Key ID", required=True, strip=False,
        help="The API key id from the Razorpay dashboard (rzp_...).")
    key_secret = fields.Function(fields.Char(
            "Key Secret", strip=False,
            help="The API key secret. Written only: it reads masked, with "
            "at most its last four characters."),
        'get_secret', setter='set_secret')
    key_secret_value = fields.Char(
        "Key Secret Value", strip=False, readonly=True)
    webhook_secret = fields.Function(fields.Char(
            "Webhook Secret", strip=False,
            help="The secret entered for the webhook in the Razorpay "
            "dashboard: it signs every webhook. Written only: it reads "
            "masked, with at most its last four characters."),
        'get_secret', setter='set_secret')
    webhook_secret_value = fields.Char(
        "Webhook Secret Value", strip=False, readonly=True)
    api_url = fields.Char(
        "API URL", required=True,
        help="The base URL of Razorpay's API.")
    checkout_url = fields.Char(
        "Checkout Script", required=True,
        help="The script of Razorpay Checkout the payment pages load "
        "(a test installation points it at its test server).")
    method = fields.Many2One(
        'rsoft.payment.method', "Payment Method", required=True,
        domain=[
            ('kind', '=', 'gateway'),
            ('company', '=', Eval('company', -1)),
            ],
        help="The method the payments received are recorded with.")
    webhook_url = fields.Function(fields.Char(
            "Webhook URL",
            help="The URL to enter for the webhook in the Razorpay "
            "dashboard, with the events payment.captured and order.paid."),
        'get_webhook_url')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._secrets.update({
                'key_secret': 'key_secret_value',
                'webhook_secret': 'webhook_secret_value',
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_api_url(cls):
        return RAZORPAY_URL

    @classmethod
    def default_checkout_url(cls):
        return RAZORPAY_CHECKOUT_URL

    @classmethod
    def validate_fields(cls, gateways, field_names):
        super().validate_fields(gateways, field_names)
        if field_names is None or 'checkout_url' in field_names:
            cls.check_checkout_url(gateways)
        # Not on the stored values: each secret's setter writes its own,
        # the write that sets both checks them once both are set
        if field_names is None or field_names & {
                'active', 'key_secret', 'webhook_secret'}:
            cls.check_secrets(gateways)

    @classmethod
    def check_secrets(cls, gateways):
        "An active gateway takes payments: both its secrets are set"
        for gateway in gateways:
            if gateway.active and not (
                    gateway.secret_value('key_secret')
                    and gateway.secret_value('webhook_secret')):
                raise GatewaySecretError(gettext(
                        'rsoft_payment.msg_gateway_secrets',
                        gateway=gateway.rec_name))

    @classmethod
    def check_checkout_url(cls, gateways):
        "The payment pages load the checkout script from a web server"
        for gateway in gateways:
            if not _origin(gateway.checkout_url):
                raise ValidationError(gettext(
                        'rsoft_payment.msg_gateway_checkout_url',
                        gateway=gateway.rec_name, url=gateway.checkout_url))

    @property
    def checkout_origin(self):
        """The origin (scheme://host[:port]) of the checkout script, for the
        Content-Security-Policy of the payment pages"""
        return _origin(self.checkout_url)

    def get_webhook_url(self, name):
        if self.id is None or self.id < 0:
            return ''
        path = urllib.parse.quote(
            f'/{Transaction().database.name}/rsoft_payment/razorpay'
            f'/{self.id}/webhook')
        return http_host() + path

    @property
    def client(self):
        "The Razorpay SDK's client of the account"
        return razorpay.Client(
            auth=(self.key_id, self.secret_value('key_secret')),
            base_url=self.api_url.rstrip('/'))

    def webhook(self, body, signature, event_id=None):
        """Handle a webhook of Razorpay and return the event logged

        body is the raw body as received: it is what is signed."""
        pool = Pool()
        Event = pool.get('rsoft.payment.gateway.event')
        event = Event(
            gateway=self, event_id=event_id, body=body,
            received_at=dt.datetime.now(), signature_valid=False)
        try:
            value = json.loads(body)
            event.event_type = str(value['event'])
            entity = value['payload']['payment']['entity']
            event.payment_id = str(entity['id'])
        except (ValueError, TypeError, KeyError):
            entity = None
        if not self._signed(body, signature):
            event.outcome = 'forged'
            if not self._log_forged(event.received_at):
                logger.debug(
                    "Razorpay webhook with a bad signature for gateway %s "
                    "dropped: too many in the window", self.id)
                return event
            logger.warning(
                "Razorpay webhook with a bad signature for gateway %s",
                self.id)
        else:
            event.signature_valid = True
            if entity is None:
                event.outcome = 'invalid'
            else:
                self._webhook_payment(event, entity)
        event.save()
        return event

    def _signed(self, body, signature):
        "Tell if body is signed with the webhook secret, which must be set"
        secret = self.secret_value('webhook_secret')
        if not secret or not signature:
            return False
        try:
            self.client.utility.verify_webhook_signature(
                body, signature, secret)
        # hmac refuses to compare a signature of other than ASCII
        except (SignatureVerificationError, TypeError):
            return False
        return True

    def checkout_signed(self, order_id, payment_id, signature):
        """Tell if signature is the one Razorpay Checkout gives for payment_id
        of order_id: keyed with the key secret, which must be set"""
        if not (self.secret_value('key_secret')
                and order_id and payment_id and signature):
            return False
        try:
            self.client.utility.verify_payment_signature({
                    'razorpay_order_id': order_id,
                    'razorpay_payment_id': payment_id,
                    'razorpay_signature': signature,
                    })
        except (SignatureVerificationError, TypeError):
            return False
        return True

    def _log_forged(self, now):
        """Tell if a forged webhook received at now is logged: it is unless
        FORGED_LOG_LIMIT are in the window; prune the old ones"""
        pool = Pool()
        Event = pool.get('rsoft.payment.gateway.event')
        domain = [
            ('gateway', '=', self.id),
            ('outcome', '=', 'forged'),
            ]
        logged = Event.search_count(
            domain + [('received_at', '>=', now - FORGED_LOG_WINDOW)])
        if logged >= FORGED_LOG_LIMIT:
            return False
        Event.delete(Event.search(
                domain + [('received_at', '<', now - FORGED_LOG_RETENTION)]))
        return True

    def _webhook_payment(self, event, entity):
        if (event.event_type not in RAZORPAY_EVENTS
                or entity.get('status') != 'captured'):
            event.outcome = 'ignored'
            return
        event.order = self.locked_order(entity.get('order_id'))
        if not event.order:
            event.outcome = 'unknown_order'
            logger.warning(
                "Razorpay payment %s for an unknown order %s",
                event.payment_id, entity.get('order_id'))
        elif not event.order.paid_by(entity):
            event.outcome = 'wrong_amount'
            logger.warning(
                "Razorpay payment %s of %s %s for order %s of %s %s: refused",
                event.payment_id, entity.get('amount'),
                entity.get('currency'), event.order.razorpay_order_id,
                event.order.razorpay_amount, event.order.currency.code)
        else:
            event.outcome = event.order.pay(event.payment_id)

    def locked_order(self, razorpay_order_id):
        "Return the order of razorpay_order_id locked, or None"
        pool = Pool()
        Order = pool.get('rsoft.payment.gateway.order')
        if not razorpay_order_id:
            return
        orders = Order.search([
                ('gateway', '=', self.id),
                ('razorpay_order_id', '=', razorpay_order_id),
                ], limit=1)
        if orders:
            order, = orders
            # Concurrent deliveries of a webhook, and the payment page's
            # confirmation, record the payment once
            Order.lock([order])
            return Order(order.id)


class GatewayOrder(Workflow, ModelSQL, ModelView):
    "An order created on Razorpay for a subscriber to pay"
    __name__ = 'rsoft.payment.gateway.order'
    __string__ = "Payment Gateway Order"
    _rec_name = 'razorpay_order_id'

    gateway = fields.Many2One(
        'rsoft.payment.gateway', "Gateway", required=True, readonly=True,
        ondelete='RESTRICT')
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber Account", required=True,
        readonly=True, ondelete='RESTRICT')
    purpose = fields.Selection(
        PURPOSES, "Purpose", required=True, readonly=True,
        help="What the subscriber pays for: a wallet recharge, or bills. "
        "A bill payment settles the open bills first even where the "
        "payments of prepaid accounts top up the wallet first.")
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        readonly=True)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    key = fields.Char(
        "Idempotency Key", readonly=True, strip=False,
        help="The token of the payment form the order was created from: "
        "the form submitted again returns this order.")
    razorpay_order_id = fields.Char(
        "Razorpay Order", readonly=True, strip=False,
        help="The id Razorpay gave the order (order_...).")
    receipt = fields.Char(
        "Receipt Reference", readonly=True,
        help="Our reference of the order, sent to Razorpay.")
    razorpay_payment_id = fields.Char(
        "Razorpay Payment", readonly=True, strip=False,
        help="The id of the payment that paid the order (pay_...).")
    payment = fields.Many2One(
        'rsoft.payment', "Receipt", readonly=True, ondelete='RESTRICT',
        help="The payment recorded when Razorpay captured the money.")
    paid_at = fields.Timestamp("Paid at", readonly=True)
    state = fields.Selection(
        ORDER_STATES, "State", required=True, readonly=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('razorpay_order_id_unique', Unique(t, t.razorpay_order_id),
                'rsoft_payment.msg_gateway_order_unique'),
            ('key_unique', Unique(t, t.subscriber, t.key),
                'rsoft_payment.msg_gateway_order_key_unique'),
            ]
        cls._sql_indexes.add(Index(t,
                (t.state, Index.Equality()),
                (t.create_date, Index.Range()),
                where=t.state == 'created'))
        cls._order.insert(0, ('create_date', 'DESC'))
        cls._transitions |= {
            ('created', 'paid'),
            ('created', 'failed'),
            # Money captured after the order was given up is still its own
            ('failed', 'paid'),
            }
        cls._buttons.update({
                'fail': {
                    'invisible': Eval('state') != 'created',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'created'

    @classmethod
    def default_purpose(cls):
        return 'recharge'

    @classmethod
    def check_modification(cls, mode, orders, values=None, external=False):
        super().check_modification(
            mode, orders, values=values, external=external)
        check_system_record(cls, external)

    @property
    def razorpay_amount(self):
        "The amount in the currency's smallest unit, as Razorpay counts"
        return int(self.amount * 10 ** self.currency.digits)

    def paid_by(self, entity):
        "Tell if the Razorpay payment entity is of the order and its amount"
        return ((entity.get('order_id'), entity.get('amount'),
                entity.get('currency'))
            == (self.razorpay_order_id, self.razorpay_amount,
                self.currency.code))

    @classmethod
    def create_order(
            cls, gateway, subscriber, amount, key=None, purpose='recharge'):
        """Create on Razorpay an order for subscriber to pay amount for
        purpose and return it

        key is the token of the payment form: the order created with it
        for the subscriber is returned again, whatever its state, and no
        other is created. The payment page opens Razorpay Checkout with
        the order's checkout_options()."""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        currency = subscriber.company.currency
        amount = currency.round(Decimal(amount))
        if amount <= 0:
            raise UserError(gettext(
                    'rsoft_payment.msg_gateway_order_amount',
                    amount=amount, subscriber=subscriber.rec_name))
        if key:
            # A form posted twice at once: the second waits for the first
            # and finds its order
            Subscriber.lock([subscriber])
            orders = cls.search([
                    ('subscriber', '=', subscriber.id),
                    ('key', '=', key),
                    ], limit=1)
            if orders:
                order, = orders
                if ((order.gateway, order.amount, order.purpose)
                        != (gateway, amount, purpose)):
                    raise UserError(gettext(
                            'rsoft_payment.msg_gateway_order_key_reused'))
                return order
        order = cls(
            gateway=gateway, company=subscriber.company,
            subscriber=subscriber, amount=amount, currency=currency,
            key=key or None, purpose=purpose)
        order.save()
        order.receipt = f'{subscriber.customer_id}/{order.id}'[
            -RECEIPT_SIZE:]
        try:
            value = gateway.client.order.create({
                    'amount': order.razorpay_amount,
                    'currency': currency.code,
                    'receipt': order.receipt,
                    'notes': order._notes(),
                    })
        except API_ERRORS as exception:
            logger.warning(
                "Razorpay refused order for %s: %s",
                subscriber.customer_id, exception)
            raise UserError(gettext(
                    'rsoft_payment.msg_gateway_order_refused',
                    gateway=gateway.rec_name, error=str(exception))
                ) from exception
        order.razorpay_order_id = value['id']
        order.save()
        return order

    def _notes(self):
        "The notes of the order on Razorpay, shown in its dashboard"
        return {
            'customer_id': self.subscriber.customer_id,
            'order': str(self.id),
            'purpose': self.purpose,
            }

    def checkout_options(self):
        """Return the options of Razorpay Checkout (new Razorpay(options))
        to pay the order: no secret, the handler and callback_url are the
        payment page's"""
        if self.state != 'created':
            raise UserError(gettext(
                    'rsoft_payment.msg_gateway_order_not_open',
                    order=self.rec_name))
        subscriber = self.subscriber
        prefill = {
            'name': subscriber.party.rec_name,
            'contact': subscriber.mobile,
            }
        if subscriber.email:
            prefill['email'] = subscriber.email
        return {
            'key': self.gateway.key_id,
            'amount': self.razorpay_amount,
            'currency': self.currency.code,
            'order_id': self.razorpay_order_id,
            'name': self.company.rec_name,
            'description': gettext(
                f'rsoft_payment.msg_gateway_order_{self.purpose}',
                customer_id=subscriber.customer_id),
            'prefill': prefill,
            'notes': self._notes(),
            }

    @classmethod
    def confirm(cls, gateway, razorpay_order_id, razorpay_payment_id,
            razorpay_signature):
        """Record the payment Razorpay Checkout handed the payment page, once,
        and return its order

        The signature is checked, then the payment is asked of Razorpay: it
        must be captured, of the order and of its amount. A refresh of the
        page, or the webhook before or after, records nothing more."""
        if not gateway.checkout_signed(
                razorpay_order_id, razorpay_payment_id, razorpay_signature):
            logger.warning(
                "Razorpay Checkout payment %r of order %r with a bad "
                "signature on gateway %s: refused", razorpay_payment_id,
                razorpay_order_id, gateway.id)
            raise UserError(gettext('rsoft_payment.msg_gateway_refused'))
        order = gateway.locked_order(razorpay_order_id)
        if not order:
            logger.warning(
                "Razorpay Checkout payment %s of an unknown order %s on "
                "gateway %s: refused", razorpay_payment_id,
                razorpay_order_id, gateway.id)
            raise UserError(gettext('rsoft_payment.msg_gateway_refused'))
        if order.razorpay_payment_id == razorpay_payment_id:
            return order
        try:
            entity = gateway.client.payment.fetch(razorpay_payment_id)
        except API_ERRORS as exception:
            logger.warning(
                "Razorpay payment %s of order %s could not be fetched: %s",
                razorpay_payment_id, razorpay_order_id, exception)
            raise UserError(gettext('rsoft_payment.msg_gateway_pending')
                ) from exception
        if not order.paid_by(entity):
            logger.warning(
                "Razorpay payment %s of order %s of %s %s for order %s of "
                "%s %s: refused", razorpay_payment_id,
                entity.get('order_id'), entity.get('amount'),
                entity.get('currency'), razorpay_order_id,
                order.razorpay_amount, order.currency.code)
            raise UserError(gettext('rsoft_payment.msg_gateway_refused'))
        if entity.get('status') != 'captured':
            logger.info(
                "Razorpay payment %s of order %s is %s, not captured",
                razorpay_payment_id, razorpay_order_id, entity.get('status'))
            if entity.get('status') in {'created', 'authorized'}:
                raise UserError(gettext('rsoft_payment.msg_gateway_pending'))
            raise UserError(gettext('rsoft_payment.msg_gateway_refused'))
        outcome = order.pay(razorpay_payment_id)
        logger.info(
            "Razorpay payment %s of order %s confirmed by the payment page: "
            "%s", razorpay_payment_id, razorpay_order_id, outcome)
        return cls(order.id)

    def pay(self, razorpay_payment_id):
        """Record the payment razorpay_payment_id of the order once and
        return the outcome"""
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        method = self.gateway.method
        if Payment.search([
                    ('method', '=', method.id),
                    ('external_id', '=', razorpay_payment_id),
                    ], limit=1):
            return 'duplicate'
        with Transaction().set_context(company=self.company.id):
            payment = Payment.record(
                self.subscriber, self.amount, method,
                reference=self.razorpay_order_id,
                external_id=razorpay_payment_id, origin=self)
        if self.state in {'created', 'failed'}:
            self.payment = payment
            self.razorpay_payment_id = razorpay_payment_id
            self.paid_at = dt.datetime.now()
            self.save()
            self.__class__.paid([self])
        return 'recorded'

    @classmethod
    def reconcile_orders(cls):
        """Ask Razorpay about the orders still open a while after their
        creation: record the payments captured that neither the payment
        page nor a webhook told, fail the orders too old to be paid"""
        now = dt.datetime.now()
        domain = [
            ('state', '=', 'created'),
            ('create_date', '<=', now - RECONCILE_DELAY),
            ('razorpay_order_id', '!=', None),
            ]
        company = Transaction().context.get('company')
        if company:
            domain.append(('company', '=', company))
        outcomes = Counter(
            cls._reconcile_order(order.id, now)
            for order in cls.search(domain, order=[('id', 'ASC')]))
        logger.info(
            "Razorpay orders reconciled: %s",
            ', '.join(f'{n} {o}' for o, n in sorted(outcomes.items()))
            or 'none open')

    @classmethod
    def _reconcile_order(cls, order_id, now):
        """Reconcile the order in a transaction of its own and return the
        outcome: one order that fails leaves the others done, and the
        locks its payment takes restart only its own work"""
        extras = {}
        while True:
            with Transaction().new_transaction(**extras) as transaction:
                try:
                    order = cls(order_id)
                    # The webhooks and the payment page wait meanwhile
                    cls.lock([order])
                    if order.state != 'created':
                        return 'done'
                    with transaction.set_context(company=order.company.id):
                        outcome = order._reconcile(now)
                        if outcome == 'expired':
                            cls.fail([order])
                    return outcome
                except TransactionError as error:
                    transaction.rollback()
                    error.fix(extras)
                except UserError as error:
                    transaction.rollback()
                    logger.warning(
                        "Razorpay order %s not reconciled: %s",
                        order_id, error.message)
                    return 'error'

    def _reconcile(self, now):
        """Record the payments Razorpay captured for the order and return
        the outcome: 'recorded', 'duplicate', 'expired', 'open' (still
        payable) or 'unreachable'"""
        try:
            value = self.gateway.client.order.payments(self.razorpay_order_id)
        except API_ERRORS as exception:
            logger.warning(
                "Razorpay order %s could not be asked about: %s",
                self.razorpay_order_id, exception)
            return 'unreachable'
        outcome = None
        for entity in value.get('items') or []:
            if entity.get('status') != 'captured':
                continue
            if not self.paid_by(entity):
                logger.warning(
                    "Razorpay payment %s of %s %s for order %s of %s %s: "
                    "refused", entity.get('id'), entity.get('amount'),
                    entity.get('currency'), self.razorpay_order_id,
                    self.razorpay_amount, self.currency.code)
                continue
            outcome = self.pay(entity['id'])
            logger.info(
                "Razorpay payment %s of order %s found by reconciliation: %s",
                entity['id'], self.razorpay_order_id, outcome)
        if outcome:
            return outcome
        if now - self.create_date > ORDER_EXPIRY:
            logger.info(
                "Razorpay order %s of %s failed: no payment captured since "
                "%s", self.razorpay_order_id, self.subscriber.customer_id,
                self.create_date)
            return 'expired'
        return 'open'

    @classmethod
    @Workflow.transition('paid')
    def paid(cls, orders):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('failed')
    def fail(cls, orders):
        pass


class GatewayEvent(ModelSQL, ModelView):
    "A webhook received from a gateway, kept as received"
    __name__ = 'rsoft.payment.gateway.event'
    __string__ = "Payment Gateway Event"
    _rec_name = 'event_id'

    gateway = fields.Many2One(
        'rsoft.payment.gateway', "Gateway", required=True, readonly=True,
        ondelete='CASCADE')
    event_id = fields.Char(
        "Event ID", readonly=True,
        help="Razorpay's id of the event (X-Razorpay-Event-Id): the same "
        "on every delivery of an event.")
    event_type = fields.Char("Event", readonly=True)
    payment_id = fields.Char("Razorpay Payment", readonly=True)
    order = fields.Many2One(
        'rsoft.payment.gateway.order', "Order", readonly=True,
        ondelete='SET NULL')
    signature_valid = fields.Boolean(
        "Signature Valid", readonly=True,
        help="Whether the body was signed with the webhook secret: "
        "a webhook not signed so is forged and ignored.")
    outcome = fields.Selection(OUTCOMES, "Outcome", readonly=True)
    body = fields.Text("Body", readonly=True)
    received_at = fields.Timestamp("Received at", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._order.insert(0, ('received_at', 'DESC'))
        cls.__access__.add('gateway')
        cls._sql_indexes.add(Index(t,
                (t.gateway, Index.Equality()),
                (t.outcome, Index.Equality()),
                (t.received_at, Index.Range())))

    @classmethod
    def check_modification(cls, mode, events, values=None, external=False):
        super().check_modification(
            mode, events, values=values, external=external)
        check_system_record(cls, external)


class PaymentJournal(metaclass=PoolMeta):
    __name__ = 'account.payment.journal'

    rsoft_method = fields.Many2One(
        'rsoft.payment.method', "Receipt Method",
        domain=[
            ('kind', '=', 'gateway'),
            ('company', '=', Eval('company', -1)),
            ],
        states={
            'invisible': Eval('process_method') != 'stripe',
            },
        help="The method the subscribers' payments succeeded through "
        "this journal are recorded with.")


class AccountPayment(SystemFieldsMixin, metaclass=PoolMeta):
    __name__ = 'account.payment'

    rsoft_subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber Account", ondelete='RESTRICT',
        domain=[
            ('party', '=', Eval('party', -1)),
            ('company', '=', Eval('company', -1)),
            ],
        states={
            'readonly': Eval('state') != 'draft',
            'invisible': Eval('kind') != 'receivable',
            },
        help="The account credited with a receipt when the payment "
        "succeeds.")
    rsoft_payment = fields.Function(fields.Many2One(
            'rsoft.payment', "Receipt",
            states={
                'invisible': ~Eval('rsoft_subscriber'),
                }),
        'get_rsoft_payment')
    rsoft_key = fields.Char(
        "Portal Form Key", readonly=True, strip=False,
        states={
            'invisible': ~Eval('rsoft_key'),
            },
        help="The token of the subscriber portal's payment form the "
        "payment was created from: the form submitted again returns this "
        "payment.")
    rsoft_purpose = fields.Selection(
        [(None, "")] + PURPOSES, "Purpose", readonly=True,
        states={
            'invisible': ~Eval('rsoft_subscriber'),
            },
        help="What the subscriber pays for online: a wallet recharge, or "
        "bills. A bill payment settles the open bills first even where the "
        "payments of prepaid accounts top up the wallet first.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('rsoft_key_unique', Unique(t, t.company, t.rsoft_key),
                'rsoft_payment.msg_account_payment_key_unique'),
            ]
        cls._system_fields |= {'rsoft_key', 'rsoft_purpose'}

    @classmethod
    def copy(cls, payments, default=None):
        default = default.copy() if default is not None else {}
        # A copy is not the portal's payment: another form, another
        # purpose (and only the system sets them)
        default.setdefault('rsoft_key')
        default.setdefault('rsoft_purpose')
        return super().copy(payments, default=default)

    @property
    def rsoft_external_id(self):
        "The gateway's id of the money received"
        if self.journal.process_method == 'stripe':
            return self.stripe_payment_intent_id or self.stripe_charge_id

    def get_rsoft_payment(self, name):
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        payments = Payment.search([
                ('origin', '=', str(self)),
                ], limit=1)
        if payments:
            return payments[0].id

    @classmethod
    def rsoft_checkout(
            cls, journal, subscriber, amount, key=None, purpose='recharge'):
        """Create the Stripe payment of amount by subscriber for purpose,
        processing, and return it

        key is the token of the payment form: the payment created with it
        for the subscriber is returned again, whatever its state, and no
        other is created. The subscriber pays at its stripe_checkout_url;
        Stripe's webhook succeeds it and a receipt is recorded."""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        currency = subscriber.company.currency
        amount = currency.round(Decimal(amount))
        if amount <= 0:
            raise UserError(gettext(
                    'rsoft_payment.msg_gateway_order_amount',
                    amount=amount, subscriber=subscriber.rec_name))
        if key:
            # A form posted twice at once: the second waits for the first
            # and finds its payment
            Subscriber.lock([subscriber])
            payments = cls.search([
                    ('company', '=', subscriber.company.id),
                    ('rsoft_key', '=', key),
                    ], limit=1)
            if payments:
                payment, = payments
                if ((payment.rsoft_subscriber, payment.journal,
                            payment.amount, payment.rsoft_purpose)
                        != (subscriber, journal, amount, purpose)):
                    raise UserError(gettext(
                            'rsoft_payment.msg_gateway_order_key_reused'))
                return payment
        if (journal.process_method != 'stripe'
                or not journal.rsoft_method
                or journal.company != subscriber.company
                or journal.currency != currency):
            raise UserError(gettext(
                    'rsoft_payment.msg_stripe_journal',
                    journal=journal.rec_name, subscriber=subscriber.rec_name))
        with Transaction().set_context(company=subscriber.company.id):
            payment = cls(
                company=subscriber.company, journal=journal,
                kind='receivable', party=subscriber.party,
                rsoft_subscriber=subscriber, amount=amount,
                rsoft_key=key or None, rsoft_purpose=purpose,
                reference=gettext(
                    f'rsoft_payment.msg_gateway_order_{purpose}',
                    customer_id=subscriber.customer_id))
            payment.save()
            cls.submit([payment])
            try:
                cls.stripe_checkout([payment])
            except stripe.StripeError as exception:
                logger.warning(
                    "Stripe refused payment for %s: %s",
                    subscriber.customer_id, exception)
                raise UserError(gettext(
                        'rsoft_payment.msg_stripe_checkout_refused',
                        journal=journal.rec_name,
                        error=exception.user_message or str(exception))
                    ) from exception
            cls.process([payment])
        return cls(payment.id)

    @classmethod
    def succeed(cls, payments):
        super().succeed(payments)
        cls.rsoft_record(payments)

    @classmethod
    def rsoft_record(cls, payments):
        """Record a receipt for the subscriber of each succeeded payment,
        once: Stripe may tell the success more than once"""
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        # Read the states the transition wrote
        for payment in cls.browse([p.id for p in payments]):
            method = payment.journal.rsoft_method
            if (payment.state != 'succeeded'
                    or payment.kind != 'receivable'
                    or not payment.rsoft_subscriber
                    or not method
                    or not payment.rsoft_external_id):
                continue
            with Transaction().set_context(company=payment.company.id):
                Payment.record(
                    payment.rsoft_subscriber, payment.amount, method,
                    reference=payment.rec_name,
                    external_id=payment.rsoft_external_id, origin=payment)


class Payment(metaclass=PoolMeta):
    __name__ = 'rsoft.payment'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + [
            'rsoft.payment.gateway.order', 'account.payment']

    def _allocation_policy(self):
        pool = Pool()
        Order = pool.get('rsoft.payment.gateway.order')
        AccountPayment = pool.get('account.payment')
        policy = super()._allocation_policy()
        if isinstance(self.origin, Order):
            purpose = self.origin.purpose
        elif isinstance(self.origin, AccountPayment):
            purpose = self.origin.rsoft_purpose
        else:
            purpose = None
        # A subscriber paying a bill online expects the bill paid, even
        # where the payments of prepaid accounts top up the wallet first
        if purpose == 'bill' and policy == 'wallet':
            policy = 'oldest_first'
        return policy


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('rsoft.payment.gateway.order|reconcile_orders',
                "Reconcile Online Payment Orders"))
