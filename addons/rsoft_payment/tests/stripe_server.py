"""The part of Stripe's API that account_payment_stripe calls, locally

Customers, payment intents and setup intents are created (form-encoded,
as the stripe SDK posts them) and fetched behind the secret key as a
Bearer token, idempotent on the Idempotency-Key header like Stripe.
Webhooks are built as Stripe sends them: an event whose body is signed
in the Stripe-Signature header, t=<timestamp>,v1=<hex HMAC-SHA256 of
"<timestamp>.<body>" keyed with the endpoint's signing secret>.
"""
import hashlib
import hmac
import json
import secrets
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from .local_server import LocalServer

RESOURCES = {
    'customers': ('cus_', 'customer'),
    'payment_intents': ('pi_', 'payment_intent'),
    'setup_intents': ('seti_', 'setup_intent'),
    }


def _new_id(prefix):
    return prefix + secrets.token_hex(12)


def signature(body, secret, timestamp=None):
    "The Stripe-Signature header of the raw body"
    timestamp = int(time.time()) if timestamp is None else timestamp
    if isinstance(body, bytes):
        body = body.decode('utf-8')
    signed = f'{timestamp}.{body}'.encode('utf-8')
    digest = hmac.new(
        secret.encode('utf-8'), signed, hashlib.sha256).hexdigest()
    return f't={timestamp},v1={digest}'


def _unflatten(pairs):
    "The nested dict of Stripe's form encoding: a[b]=c"
    value = {}
    for key, item in pairs:
        parts = key.replace(']', '').split('[')
        target = value
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = item
    return value


class StripeServer(LocalServer):
    """A local Stripe API

    objects: the created objects by id.
    requests: (method, path, authorization, form values) as received.
    """
    name = 'stripe'

    def __init__(self, secret_key, host='127.0.0.1', port=0):
        super().__init__(_Handler, host, port)
        self.authorization = 'Bearer ' + secret_key
        self.objects = {}
        self.requests = []
        self._idempotency = {}

    def create(self, resource, values, idempotency_key=None):
        prefix, name = RESOURCES[resource]
        with self._lock:
            if idempotency_key in self._idempotency:
                return self._idempotency[idempotency_key]
            obj = getattr(self, f'_new_{name}')(values)
            obj.update({
                    'id': _new_id(prefix),
                    'object': name,
                    'created': int(time.time()),
                    'livemode': False,
                    'metadata': values.get('metadata') or {},
                    })
            self.objects[obj['id']] = obj
            if idempotency_key:
                self._idempotency[idempotency_key] = obj
        return obj

    def _new_customer(self, values):
        return {
            'email': values.get('email'),
            'name': values.get('name'),
            'phone': values.get('phone'),
            'invoice_settings': {'default_payment_method': None},
            }

    def _new_payment_intent(self, values):
        return {
            'amount': int(values['amount']),
            'amount_capturable': 0,
            'amount_received': 0,
            'currency': values['currency'].lower(),
            'capture_method': values.get('capture_method', 'automatic'),
            'customer': values.get('customer'),
            'description': values.get('description'),
            'payment_method': values.get('payment_method'),
            'latest_charge': None,
            'last_payment_error': None,
            'client_secret': _new_id('pi_secret_'),
            'status': 'requires_payment_method',
            }

    def _new_setup_intent(self, values):
        return {
            'customer': values.get('customer'),
            'payment_method': None,
            'client_secret': _new_id('seti_secret_'),
            'status': 'requires_payment_method',
            }

    def succeed(self, payment_intent_id, amount=None):
        """The customer pays the intent (amount may differ): return the
        intent, succeeded with its charge"""
        with self._lock:
            intent = self.objects[payment_intent_id]
            amount = intent['amount'] if amount is None else amount
            charge = {
                'id': _new_id('ch_'),
                'object': 'charge',
                'amount': amount,
                'amount_captured': amount,
                'amount_refunded': 0,
                'captured': True,
                'currency': intent['currency'],
                'payment_intent': intent['id'],
                'payment_method': _new_id('pm_'),
                'status': 'succeeded',
                'failure_code': None,
                'failure_message': None,
                'created': int(time.time()),
                }
            self.objects[charge['id']] = charge
            intent.update({
                    'amount_received': amount,
                    'latest_charge': charge['id'],
                    'payment_method': charge['payment_method'],
                    'status': 'succeeded',
                    })
            return dict(intent)

    def webhook(self, event_type, obj, secret, timestamp=None):
        """Return (body, headers) of the event of event_type about obj,
        signed with secret as Stripe signs them"""
        body = json.dumps({
                'id': _new_id('evt_'),
                'object': 'event',
                'api_version': '2026-03-25.dahlia',
                'created': int(time.time()),
                'type': event_type,
                'livemode': False,
                'pending_webhooks': 1,
                'request': {'id': None, 'idempotency_key': None},
                'data': {'object': obj},
                })
        return body, {
            'Content-Type': 'application/json',
            'Stripe-Signature': signature(body, secret, timestamp),
            }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):
        pass

    @property
    def stripe(self):
        return self.server.api

    def _resource(self):
        "The resource and id of the path /v1/<resource>[/<id>]"
        parts = urlsplit(self.path).path.strip('/').split('/')
        if len(parts) in {2, 3} and parts[0] == 'v1' \
                and parts[1] in RESOURCES:
            return parts[1], parts[2] if len(parts) == 3 else None
        return None, None

    def do_GET(self):
        if not self._authorized({}):
            return
        resource, id_ = self._resource()
        obj = self.stripe.objects.get(id_) if resource else None
        if obj is None or obj['object'] != RESOURCES[resource][1]:
            self._error(404, f"No such object: '{id_}'")
        else:
            self._reply(200, obj)

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        values = _unflatten(
            parse_qsl(self.rfile.read(length).decode('utf-8')))
        if not self._authorized(values):
            return
        resource, id_ = self._resource()
        if resource is None or id_ is not None:
            self._error(404, "Unrecognized request URL.")
        elif resource == 'payment_intents' and not (
                values.get('amount', '').isdigit() and values.get('currency')):
            self._error(400, "Missing required param: amount.")
        else:
            self._reply(200, self.stripe.create(
                    resource, values, self.headers.get('Idempotency-Key')))

    def _authorized(self, values):
        authorization = self.headers.get('Authorization')
        self.stripe.requests.append((
                self.command, urlsplit(self.path).path, authorization,
                values))
        if authorization != self.stripe.authorization:
            self._error(401, "Invalid API Key provided.")
            return False
        return True

    def _error(self, status, message):
        self._reply(status, {'error': {
                    'type': 'invalid_request_error',
                    'message': message,
                    }})

    def _reply(self, status, value):
        body = json.dumps(value).encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Request-Id', _new_id('req_'))
        self.end_headers()
        self.wfile.write(body)
