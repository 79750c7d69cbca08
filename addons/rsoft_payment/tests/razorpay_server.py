"""Razorpay's Orders and Payments API on a local port, for the tests

It answers what the razorpay SDK asks (POST /v1/orders, GET
/v1/orders/<id>, GET /v1/payments/<id>) with the entities Razorpay
documents, behind basic authentication with the key id and secret, and
builds the webhooks Razorpay would send: the JSON body and its
X-Razorpay-Signature, the hex HMAC-SHA256 of the raw body keyed with the
webhook secret.
"""
import base64
import hashlib
import hmac
import itertools
import json
import secrets
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from .local_server import LocalServer

ORDERS_PATH = '/v1/orders'
PAYMENTS_PATH = '/v1/payments'
_EVENT_IDS = itertools.count(1)


def _new_id(prefix):
    # Razorpay ids are a prefix and 14 alphanumeric characters
    return prefix + secrets.token_hex(7)


def signature(body, secret):
    "The X-Razorpay-Signature of the raw body"
    if isinstance(body, str):
        body = body.encode('utf-8')
    return hmac.new(secret.encode('utf-8'), body, hashlib.sha256).hexdigest()


class RazorpayServer(LocalServer):
    """A local Razorpay API

    orders and payments: the entities by id.
    requests: (method, path, authorization, JSON body) as received.
    """
    name = 'razorpay'

    def __init__(self, key_id, key_secret, host='127.0.0.1', port=0):
        super().__init__(_Handler, host, port)
        pair = f'{key_id}:{key_secret}'.encode('utf-8')
        self.authorization = 'Basic ' + base64.b64encode(pair).decode()
        self.orders = {}
        self.payments = {}
        self.requests = []

    def create_order(self, data):
        "The order entity created from data, or an error message"
        amount = data.get('amount')
        if not isinstance(amount, int) or isinstance(amount, bool) \
                or amount < 100:
            return None, "The amount must be an integer of at least 100."
        if not data.get('currency'):
            return None, "The currency field is required."
        receipt = data.get('receipt') or None
        if receipt and len(receipt) > 40:
            return None, "receipt: the length must be at most 40."
        order = {
            'id': _new_id('order_'),
            'entity': 'order',
            'amount': amount,
            'amount_paid': 0,
            'amount_due': amount,
            'currency': data['currency'],
            'receipt': receipt,
            'offer_id': None,
            'status': 'created',
            'attempts': 0,
            'notes': data.get('notes') or [],
            'created_at': int(time.time()),
            }
        with self._lock:
            self.orders[order['id']] = order
        return order, None

    def capture(self, order_id, amount=None, currency=None, method='upi'):
        """Pay order_id (amount and currency may differ from the order's)
        and return the captured payment entity"""
        with self._lock:
            order = self.orders[order_id]
            payment = {
                'id': _new_id('pay_'),
                'entity': 'payment',
                'amount': order['amount'] if amount is None else amount,
                'currency': currency or order['currency'],
                'status': 'captured',
                'order_id': order_id,
                'invoice_id': None,
                'international': False,
                'method': method,
                'amount_refunded': 0,
                'refund_status': None,
                'captured': True,
                'description': None,
                'vpa': 'subscriber@okhdfc' if method == 'upi' else None,
                'email': 'subscriber@example.com',
                'contact': '+919900000000',
                'notes': order['notes'],
                'fee': 0,
                'tax': 0,
                'error_code': None,
                'created_at': int(time.time()),
                }
            self.payments[payment['id']] = payment
            order['amount_paid'] += payment['amount']
            order['amount_due'] = max(
                order['amount'] - order['amount_paid'], 0)
            order['attempts'] += 1
            order['status'] = 'paid'
        return payment

    def webhook(self, event, payment, secret, order=None):
        """Return (body, headers) of the webhook of event for payment,
        signed with secret as Razorpay signs them"""
        payload = {'payment': {'entity': payment}}
        if order is not None:
            payload['order'] = {'entity': order}
        value = {
            'entity': 'event',
            'account_id': 'acc_' + 'RSoftCable0001',
            'event': event,
            'contains': list(payload),
            'payload': payload,
            'created_at': int(time.time()),
            }
        body = json.dumps(value)
        return body, {
            'Content-Type': 'application/json',
            'X-Razorpay-Signature': signature(body, secret),
            'X-Razorpay-Event-Id': f'evt_{next(_EVENT_IDS):014d}',
            }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):
        pass

    @property
    def razorpay(self):
        return self.server.api

    def do_GET(self):
        path = urlsplit(self.path).path
        if not self._authorized(None):
            return
        for prefix, entities in [
                (ORDERS_PATH + '/', self.razorpay.orders),
                (PAYMENTS_PATH + '/', self.razorpay.payments)]:
            if path.startswith(prefix):
                entity = entities.get(path[len(prefix):])
                if entity is None:
                    self._error(400, "The id provided does not exist")
                else:
                    self._reply(200, entity)
                return
        self._error(404, "The requested URL was not found on the server.")

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length)
        try:
            data = json.loads(body or b'{}')
        except ValueError:
            data = None
        if not self._authorized(data):
            return
        if urlsplit(self.path).path != ORDERS_PATH:
            self._error(404, "The requested URL was not found on the server.")
        elif not isinstance(data, dict):
            self._error(400, "The request body is not valid JSON.")
        else:
            order, error = self.razorpay.create_order(data)
            if error:
                self._error(400, error)
            else:
                self._reply(200, order)

    def _authorized(self, data):
        authorization = self.headers.get('Authorization')
        self.razorpay.requests.append(
            (self.command, urlsplit(self.path).path, authorization, data))
        if authorization != self.razorpay.authorization:
            self._error(401, "Authentication failed")
            return False
        return True

    def _error(self, status, description):
        self._reply(status, {'error': {
                    'code': 'BAD_REQUEST_ERROR',
                    'description': description,
                    'source': 'NA', 'step': 'NA', 'reason': 'NA',
                    'metadata': {},
                    }})

    def _reply(self, status, value):
        body = json.dumps(value).encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
