"""Online payments: Razorpay orders and webhooks, Stripe through Tryton

A subscriber pays online; the gateway tells us by a signed webhook and
the money is recorded once as a receipt (rsoft.payment) that credits the
wallet or settles the invoices."""
import datetime as dt
import json
import logging
import urllib.parse
from decimal import Decimal

import razorpay
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
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_toolkit.secret import SecretMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.url import http_host

from .exceptions import GatewaySecretError
from .payment import check_system_record

logger = logging.getLogger(__name__)

RAZORPAY_URL = 'https://api.razorpay.com'
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
ORDER_STATES = [
    ('created', "Created"),
    ('paid', "Paid"),
    ('failed', "Failed"),
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
    def validate_fields(cls, gateways, field_names):
        super().validate_fields(gateways, field_names)
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
        except SignatureVerificationError:
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
        event.order = self._webhook_order(entity.get('order_id'))
        if not event.order:
            event.outcome = 'unknown_order'
            logger.warning(
                "Razorpay payment %s for an unknown order %s",
                event.payment_id, entity.get('order_id'))
        elif ((entity.get('amount'), entity.get('currency'))
                != (event.order.razorpay_amount,
                    event.order.currency.code)):
            event.outcome = 'wrong_amount'
            logger.warning(
                "Razorpay payment %s of %s %s for order %s of %s %s: refused",
                event.payment_id, entity.get('amount'),
                entity.get('currency'), event.order.razorpay_order_id,
                event.order.razorpay_amount, event.order.currency.code)
        else:
            event.outcome = event.order.pay(event.payment_id)

    def _webhook_order(self, razorpay_order_id):
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
            # Concurrent deliveries of a webhook record the payment once
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
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        readonly=True)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
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
            ]
        cls._order.insert(0, ('create_date', 'DESC'))
        cls._transitions |= {
            ('created', 'paid'),
            ('created', 'failed'),
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
    def check_modification(cls, mode, orders, values=None, external=False):
        super().check_modification(
            mode, orders, values=values, external=external)
        check_system_record(cls, external)

    @property
    def razorpay_amount(self):
        "The amount in the currency's smallest unit, as Razorpay counts"
        return int(self.amount * 10 ** self.currency.digits)

    @classmethod
    def create_order(cls, gateway, subscriber, amount):
        """Create on Razorpay an order for subscriber to pay amount and
        return it

        The payment page (Razorpay Checkout) is opened with the key id and
        the razorpay_order_id."""
        currency = subscriber.company.currency
        amount = currency.round(Decimal(amount))
        if amount <= 0:
            raise UserError(gettext(
                    'rsoft_payment.msg_gateway_order_amount',
                    amount=amount, subscriber=subscriber.rec_name))
        order = cls(
            gateway=gateway, company=subscriber.company,
            subscriber=subscriber, amount=amount, currency=currency)
        order.save()
        order.receipt = f'{subscriber.customer_id}/{order.id}'[
            -RECEIPT_SIZE:]
        try:
            value = gateway.client.order.create({
                    'amount': order.razorpay_amount,
                    'currency': currency.code,
                    'receipt': order.receipt,
                    'notes': {
                        'customer_id': subscriber.customer_id,
                        'order': str(order.id),
                        },
                    })
        except (BadRequestError, GatewayError, ServerError,
                RequestException) as exception:
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
        if self.state == 'created':
            self.payment = payment
            self.razorpay_payment_id = razorpay_payment_id
            self.paid_at = dt.datetime.now()
            self.save()
            self.__class__.paid([self])
        return 'recorded'

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


class AccountPayment(metaclass=PoolMeta):
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
