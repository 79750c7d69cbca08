"""Razorpay's API and Checkout on a local port, for the tests

The API, behind basic authentication with the key id and secret, answers
what the razorpay SDK asks with the entities Razorpay documents:
POST /v1/orders, GET /v1/orders/<id>, GET /v1/orders/<id>/payments (a
collection: {entity: collection, count, items}), GET /v1/payments/<id>.
`capture()` pays an order as a subscriber would; `webhook()` builds the
webhook Razorpay would send: the JSON body and its X-Razorpay-Signature,
the hex HMAC-SHA256 of the raw body keyed with the webhook secret.

Checkout, for a browser (Chromium) with no network:

- GET /v1/checkout.js (`server.checkout_url`) defines, like Razorpay's
  script, `window.Razorpay = function (options)` with `open()`, `close()`
  and `on('payment.failed', callback)`. `open()` lays an overlay over the
  page (div#rzp-test-checkout) showing the merchant (options.name), the
  description and the amount (#rzp-test-amount, e.g. "INR 354.50"), with
  the buttons #rzp-test-pay, #rzp-test-fail and #rzp-test-close.
- Pay posts {order_id, key} to POST /v1/checkout/pay: the server captures
  the order and answers {razorpay_payment_id, razorpay_order_id,
  razorpay_signature}, the signature the hex HMAC-SHA256 of
  f'{order_id}|{payment_id}' keyed with the key secret; the overlay closes
  and options.handler(response) is called, or, with options.callback_url
  and options.redirect, the three fields are posted to callback_url as a
  form (the page navigates).
- Fail posts to POST /v1/checkout/fail: a failed payment is stored and the
  payment.failed callbacks get {error: {code, description, source, step,
  reason, metadata: {order_id, payment_id}}}; the overlay stays open for
  another try, as Razorpay's does (with callback_url and redirect, the
  error fields are posted to it instead). Close calls
  options.modal.ondismiss.
- The script runs on the payment page's origin: the server answers the
  CORS headers to any origin, and OPTIONS preflights. The page's
  Content-Security-Policy must allow script-src and connect-src
  `server.url` (the gateway's checkout_origin when its checkout_url is
  `server.checkout_url`); no inline script or style is needed.

Webhooks: with `server.webhook_url` (the gateway's webhook_url, on a
trytond served over HTTP) and `server.webhook_secret` set, a Pay delivers
payment.captured then order.paid (a Fail payment.failed), signed, in a
background thread, as Razorpay does; `server.join_webhooks()` waits for
them and `server.deliveries` lists (event, HTTP status). With
`server.hold_webhooks = True` they are kept in `server.held_webhooks`
instead, to deliver later (a late webhook) with `server.deliver_held()`,
in the calling thread. `server.post_webhook(url, body, headers)` does
each delivery: replace it to deliver otherwise (e.g. through a WSGI test
client where trytond is not served over HTTP).

A browser test: start the server, set the gateway's api_url to
`server.url` and its checkout_url to `server.checkout_url`, serve the page
(script src = checkout_url, `new Razorpay(order.checkout_options() +
handler)`.open()), click #rzp-test-pay, and confirm what the handler got
with GatewayOrder.confirm.
"""
import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from .local_server import LocalServer

ORDERS_PATH = '/v1/orders'
PAYMENTS_PATH = '/v1/payments'
CHECKOUT_PATH = '/v1/checkout.js'
PAY_PATH = '/v1/checkout/pay'
FAIL_PATH = '/v1/checkout/fail'
_EVENT_IDS = itertools.count(1)
WEBHOOK_TIMEOUT = 30


def _new_id(prefix):
    # Razorpay ids are a prefix and 14 alphanumeric characters
    return prefix + secrets.token_hex(7)


def signature(body, secret):
    "The X-Razorpay-Signature of the raw body"
    if isinstance(body, str):
        body = body.encode('utf-8')
    return hmac.new(secret.encode('utf-8'), body, hashlib.sha256).hexdigest()


def checkout_signature(order_id, payment_id, key_secret):
    "The razorpay_signature Checkout gives the payment page"
    return signature(f'{order_id}|{payment_id}', key_secret)


class RazorpayServer(LocalServer):
    """A local Razorpay API and Checkout

    orders and payments: the entities by id.
    requests: (method, path, authorization, JSON body) as received.
    """
    name = 'razorpay'

    def __init__(self, key_id, key_secret, host='127.0.0.1', port=0):
        super().__init__(_Handler, host, port)
        self.key_id, self.key_secret = key_id, key_secret
        pair = f'{key_id}:{key_secret}'.encode('utf-8')
        self.authorization = 'Basic ' + base64.b64encode(pair).decode()
        self.orders = {}
        self.payments = {}
        self.requests = []
        self.webhook_url = None
        self.webhook_secret = None
        self.hold_webhooks = False
        self.held_webhooks = []
        self.deliveries = []
        self._webhook_threads = []

    @property
    def checkout_url(self):
        return self.url + CHECKOUT_PATH

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

    def _payment(self, order, amount, currency, method, status):
        return {
            'id': _new_id('pay_'),
            'entity': 'payment',
            'amount': order['amount'] if amount is None else amount,
            'currency': currency or order['currency'],
            'status': status,
            'order_id': order['id'],
            'invoice_id': None,
            'international': False,
            'method': method,
            'amount_refunded': 0,
            'refund_status': None,
            'captured': status == 'captured',
            'description': None,
            'vpa': 'subscriber@okhdfc' if method == 'upi' else None,
            'email': 'subscriber@example.com',
            'contact': '+919900000000',
            'notes': order['notes'],
            'fee': 0,
            'tax': 0,
            'error_code': None,
            'error_description': None,
            'created_at': int(time.time()),
            }

    def capture(self, order_id, amount=None, currency=None, method='upi'):
        """Pay order_id (amount and currency may differ from the order's)
        and return the captured payment entity"""
        with self._lock:
            order = self.orders[order_id]
            payment = self._payment(
                order, amount, currency, method, 'captured')
            self.payments[payment['id']] = payment
            order['amount_paid'] += payment['amount']
            order['amount_due'] = max(
                order['amount'] - order['amount_paid'], 0)
            order['attempts'] += 1
            order['status'] = 'paid'
        return payment

    def fail(self, order_id, method='upi'):
        "Store a failed attempt to pay order_id and return the payment"
        with self._lock:
            order = self.orders[order_id]
            payment = self._payment(order, None, None, method, 'failed')
            payment.update(
                error_code='BAD_REQUEST_ERROR',
                error_description="Payment failed")
            self.payments[payment['id']] = payment
            order['attempts'] += 1
            order['status'] = 'attempted'
        return payment

    def order_payments(self, order_id):
        "The collection of the payments of order_id, oldest first"
        with self._lock:
            items = [p for p in self.payments.values()
                if p['order_id'] == order_id]
        return {'entity': 'collection', 'count': len(items), 'items': items}

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

    def send_webhooks(self, payment, events):
        """Deliver the webhooks of events for payment as set (background,
        held or not at all)"""
        if not (self.webhook_url and self.webhook_secret):
            return
        order = dict(self.orders[payment['order_id']])
        deliveries = []
        for event in events:
            body, headers = self.webhook(
                event, payment, self.webhook_secret,
                order=order if event.startswith('order.') else None)
            deliveries.append((event, self.webhook_url, body, headers))
        if self.hold_webhooks:
            with self._lock:
                self.held_webhooks.extend(deliveries)
            return
        thread = threading.Thread(
            target=self._deliver, args=(deliveries,),
            name=f'{self.name}-webhooks', daemon=True)
        self._webhook_threads.append(thread)
        thread.start()

    def _deliver(self, deliveries):
        statuses = []
        for event, url, body, headers in deliveries:
            status = self.post_webhook(url, body, headers)
            with self._lock:
                self.deliveries.append((event, status))
            statuses.append(status)
        return statuses

    def deliver_held(self):
        "Deliver the held webhooks, in the calling thread; return statuses"
        with self._lock:
            deliveries, self.held_webhooks = self.held_webhooks, []
        return self._deliver(deliveries)

    def join_webhooks(self, timeout=WEBHOOK_TIMEOUT):
        "Wait for the webhooks being delivered in the background"
        threads, self._webhook_threads = self._webhook_threads, []
        for thread in threads:
            thread.join(timeout)

    def post_webhook(self, url, body, headers):
        "POST a webhook over HTTP and return the status of the answer"
        request = urllib.request.Request(
            url, data=body.encode('utf-8'), headers=headers, method='POST')
        try:
            with urllib.request.urlopen(
                    request, timeout=WEBHOOK_TIMEOUT) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None

    def checkout(self, data, pay):
        """Answer Checkout's Pay (pay) or Fail for data {order_id, key}:
        (status, value)"""
        if not isinstance(data, dict) or data.get('key') != self.key_id:
            return 401, _error("Authentication key was missing or invalid")
        order = self.orders.get(data.get('order_id'))
        if order is None:
            return 400, _error("The id provided does not exist")
        if order['status'] == 'paid':
            return 400, _error("Order has already been paid")
        if pay:
            payment = self.capture(order['id'])
            self.send_webhooks(payment, ['payment.captured', 'order.paid'])
            return 200, {
                'razorpay_payment_id': payment['id'],
                'razorpay_order_id': order['id'],
                'razorpay_signature': checkout_signature(
                    order['id'], payment['id'], self.key_secret),
                }
        payment = self.fail(order['id'])
        self.send_webhooks(payment, ['payment.failed'])
        return 200, _error(
            "Payment failed", source='customer',
            step='payment_authorization', reason='payment_failed',
            metadata={'order_id': order['id'], 'payment_id': payment['id']})


def _error(description, **values):
    return {'error': {
            'code': 'BAD_REQUEST_ERROR',
            'description': description,
            'source': 'NA', 'step': 'NA', 'reason': 'NA',
            'metadata': {},
            **values,
            }}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):
        pass

    @property
    def razorpay(self):
        return self.server.api

    def do_OPTIONS(self):
        self.send_response(204)
        self._cors()
        self.send_header('Access-Control-Max-Age', '600')
        self.send_header('Content-Length', '0')
        self.end_headers()

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == CHECKOUT_PATH:
            self._log(None)
            self._send(200, 'text/javascript; charset=utf-8',
                CHECKOUT_JS.replace(
                    '__SERVER__', json.dumps(self.razorpay.url)))
            return
        if not self._authorized(None):
            return
        if path.startswith(ORDERS_PATH + '/') and path.endswith('/payments'):
            order_id = path[len(ORDERS_PATH) + 1:-len('/payments')]
            if order_id not in self.razorpay.orders:
                self._reply(400, _error("The id provided does not exist"))
            else:
                self._reply(200, self.razorpay.order_payments(order_id))
            return
        for prefix, entities in [
                (ORDERS_PATH + '/', self.razorpay.orders),
                (PAYMENTS_PATH + '/', self.razorpay.payments)]:
            if path.startswith(prefix):
                entity = entities.get(path[len(prefix):])
                if entity is None:
                    self._reply(400, _error("The id provided does not exist"))
                else:
                    self._reply(200, entity)
                return
        self._reply(
            404, _error("The requested URL was not found on the server."))

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length)
        try:
            data = json.loads(body or b'{}')
        except ValueError:
            data = None
        path = urlsplit(self.path).path
        if path in {PAY_PATH, FAIL_PATH}:
            self._log(data)
            self._reply(*self.razorpay.checkout(data, path == PAY_PATH))
            return
        if not self._authorized(data):
            return
        if path != ORDERS_PATH:
            self._reply(
                404, _error("The requested URL was not found on the server."))
        elif not isinstance(data, dict):
            self._reply(400, _error("The request body is not valid JSON."))
        else:
            order, error = self.razorpay.create_order(data)
            if error:
                self._reply(400, _error(error))
            else:
                self._reply(200, order)

    def _log(self, data):
        self.razorpay.requests.append((
                self.command, urlsplit(self.path).path,
                self.headers.get('Authorization'), data))

    def _authorized(self, data):
        self._log(data)
        if self.headers.get('Authorization') != self.razorpay.authorization:
            self._reply(401, _error("Authentication failed"))
            return False
        return True

    def _cors(self):
        self.send_header(
            'Access-Control-Allow-Origin', self.headers.get('Origin') or '*')
        self.send_header('Vary', 'Origin')
        self.send_header(
            'Access-Control-Allow-Methods', 'GET, POST, OPTIONS')
        self.send_header(
            'Access-Control-Allow-Headers', 'Content-Type, Authorization')

    def _reply(self, status, value):
        self._send(status, 'application/json', json.dumps(value))

    def _send(self, status, content_type, text):
        body = text.encode('utf-8')
        self.send_response(status)
        self._cors()
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        self.end_headers()
        self.wfile.write(body)


# Razorpay Checkout as a page sees it, without its payment forms: the
# overlay is built with textContent only, whatever the options hold, and
# styled through the CSSOM, which a strict CSP allows
CHECKOUT_JS = r"""(function () {
    'use strict';
    var SERVER = __SERVER__;

    function Razorpay(options) {
        if (!(this instanceof Razorpay)) {
            return new Razorpay(options);
        }
        if (!options || !options.key) {
            throw new Error('Razorpay: the key option is required');
        }
        this.options = options;
        this.callbacks = {};
        this.overlay = null;
    }

    Razorpay.prototype.on = function (event, callback) {
        (this.callbacks[event] = this.callbacks[event] || []).push(callback);
        return this;
    };

    Razorpay.prototype.emit = function (event, value) {
        (this.callbacks[event] || []).forEach(function (callback) {
            callback(value);
        });
    };

    Razorpay.prototype.close = function () {
        if (this.overlay && this.overlay.parentNode) {
            this.overlay.parentNode.removeChild(this.overlay);
        }
        this.overlay = null;
    };

    function element(tag, attributes, text, style) {
        var node = document.createElement(tag);
        Object.keys(attributes).forEach(function (name) {
            node.setAttribute(name, attributes[name]);
        });
        if (text !== undefined && text !== null) {
            node.textContent = String(text);
        }
        if (style) {
            // Through the CSSOM: a page's CSP without 'unsafe-inline'
            // refuses style attributes, not this
            node.style.cssText = style;
        }
        return node;
    }

    function amountText(options) {
        var amount = Number(options.amount || 0) / 100;
        return (options.currency || 'INR') + ' ' + amount.toFixed(2);
    }

    function post(path, value) {
        return fetch(SERVER + path, {
            method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify(value)
        }).then(function (response) {
            return response.json();
        });
    }

    function submit(url, fields) {
        var form = element('form', {method: 'POST', action: url});
        Object.keys(fields).forEach(function (name) {
            form.appendChild(element('input', {
                type: 'hidden', name: name, value: fields[name]}));
        });
        document.body.appendChild(form);
        form.submit();
    }

    function errorFields(error) {
        return {
            'error[code]': error.code,
            'error[description]': error.description,
            'error[source]': error.source,
            'error[step]': error.step,
            'error[reason]': error.reason,
            'error[metadata]': JSON.stringify(error.metadata || {})
        };
    }

    Razorpay.prototype.open = function () {
        var self = this, options = this.options;
        var redirect = options.redirect && options.callback_url;
        this.close();
        var overlay = element(
            'div', {id: 'rzp-test-checkout', role: 'dialog'}, null,
            'position:fixed;inset:0;z-index:2147483647;' +
            'background:rgba(0,0,0,0.6);display:flex;' +
            'align-items:center;justify-content:center');
        var box = element('div', {}, null,
            'background:#fff;padding:24px;min-width:280px;' +
            'font-family:sans-serif;border-radius:6px');
        box.appendChild(element('h2', {id: 'rzp-test-name'}, options.name));
        box.appendChild(element(
            'p', {id: 'rzp-test-description'}, options.description));
        box.appendChild(element(
            'p', {id: 'rzp-test-amount'}, amountText(options)));
        var message = element('p', {id: 'rzp-test-message', role: 'alert'});
        var pay = element('button', {id: 'rzp-test-pay', type: 'button'},
            'Pay ' + amountText(options));
        var fail = element(
            'button', {id: 'rzp-test-fail', type: 'button'}, 'Fail');
        var dismiss = element(
            'button', {id: 'rzp-test-close', type: 'button'}, 'Close');
        [pay, fail, dismiss].forEach(function (button) {
            box.appendChild(button);
        });
        box.appendChild(message);
        overlay.appendChild(box);
        document.body.appendChild(overlay);
        this.overlay = overlay;

        function busy(value) {
            pay.disabled = fail.disabled = value;
        }
        var order = {order_id: options.order_id, key: options.key};
        pay.addEventListener('click', function () {
            busy(true);
            post('/v1/checkout/pay', order).then(function (response) {
                if (response.error) {
                    busy(false);
                    message.textContent = response.error.description;
                    self.emit('payment.failed', response);
                } else if (redirect) {
                    submit(options.callback_url, response);
                } else {
                    self.close();
                    if (options.handler) {
                        options.handler(response);
                    }
                }
            }, function (error) {
                busy(false);
                message.textContent = String(error);
            });
        });
        fail.addEventListener('click', function () {
            busy(true);
            post('/v1/checkout/fail', order).then(function (response) {
                if (redirect) {
                    submit(options.callback_url,
                        errorFields(response.error));
                    return;
                }
                busy(false);
                message.textContent = response.error.description;
                self.emit('payment.failed', response);
            });
        });
        dismiss.addEventListener('click', function () {
            self.close();
            if (options.modal && options.modal.ondismiss) {
                options.modal.ondismiss();
            }
        });
    };

    window.Razorpay = Razorpay;
})();
"""
