"""A CAS head-end speaking the http_json contract, for tests and benchmarks

It keeps the state of each device like a CAS, is idempotent on the
command key, refuses commands out of order, and can be made to fail
(down, errors, slow replies, rejections) to exercise the dispatcher.
See doc/http_json.md for the contract.
"""
import base64
import collections
import itertools
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from ..drivers import base

SUBMIT_PATH = '/v1/commands'
DEVICES_PATH = '/v1/devices'
HEALTH_PATH = '/v1/health'

# Actions that a blacklisted device cannot receive
LIVE_ACTIONS = {base.ENTITLE, base.PAIR, base.RESUME, base.REFRESH}


class CasError(Exception):
    "A command the CAS rejects"

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code, self.message = code, message


class _Device:
    __slots__ = (
        'products', 'paired_with', 'suspended', 'blacklisted', 'history')

    def __init__(self):
        self.products = []
        self.paired_with = ''
        self.suspended = False
        self.blacklisted = False
        # Actions without lasting state (osd, fingerprint, reset_pin ...)
        self.history = []

    def as_dict(self, address):
        return {
            'device': address,
            'products': list(self.products),
            'paired_with': self.paired_with or None,
            'suspended': self.suspended,
            'blacklisted': self.blacklisted,
            }


class CasHttpServer:
    """A local CAS head-end with a JSON web service

    token: the bearer token required; username and password: for basic
    auth; api_key: required in the header api_key_header. With none of
    them, no authentication is asked.
    page_size: devices per page of the export.
    reject_devices: addresses the CAS rejects as unknown (E101).
    unknown_products: product ids the CAS rejects (E104).
    now: the head-end's clock (naive UTC), None: stopped. A timed product
    (a PPV event, a rental) is dropped once its end has passed, as a CAS
    stops it by itself.

    applied: the commands applied, as received, in order.
    effects: times each key was applied (at most 1: idempotent).
    duplicates: times each key was answered 'duplicate'.
    hits: requests received by kind ('submit', 'device', 'export',
    'health'), failed ones included.
    """

    def __init__(self, token=None, *, username=None, password=None,
            api_key=None, api_key_header='X-Api-Key', page_size=100,
            reject_devices=(), unknown_products=(), host='127.0.0.1',
            port=0):
        self.host, self.port = host, port
        self.api_key_header = api_key_header
        self._authorizations = set()
        if token:
            self._authorizations.add('Bearer ' + token)
        if username is not None:
            pair = f'{username}:{password or ""}'.encode('utf-8')
            self._authorizations.add(
                'Basic ' + base64.b64encode(pair).decode('ascii'))
        self.api_key = api_key
        self.page_size = page_size
        self.reject_devices = set(reject_devices)
        self.unknown_products = set(unknown_products)

        self._lock = threading.Lock()
        # start, stop, down and up may come from a timer's thread
        self._running = threading.RLock()
        self.devices = {}
        self.sequences = {}
        self.applied = []
        self.effects = collections.Counter()
        self.duplicates = collections.Counter()
        self.hits = collections.Counter()
        self._failures = collections.deque()
        self.delay = 0
        self.now = None
        self._httpd = None
        self._thread = None
        self._timer = None

    @property
    def url(self):
        return f'http://{self.host}:{self.port}'

    def start(self):
        "Listen (on a free port the first time)"
        with self._running:
            if self._httpd is None:
                httpd = _HTTPServer((self.host, self.port), _Handler)
                httpd.cas = self
                self.port = httpd.server_address[1]
                self._thread = threading.Thread(
                    target=httpd.serve_forever,
                    kwargs={'poll_interval': 0.05},
                    name=f'cas-http-{self.port}', daemon=True)
                self._httpd = httpd
                self._thread.start()
        return self

    def stop(self):
        with self._running:
            self._cancel_timer()
            httpd, self._httpd = self._httpd, None
            if httpd is not None:
                httpd.shutdown()
                httpd.server_close()
                httpd.drop_connections()
                self._thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # Faults

    def down(self, seconds=None):
        """Stop listening and drop the open connections: clients are
        refused until up(), or for seconds"""
        with self._running:
            self.stop()
            if seconds:
                timer = threading.Timer(seconds, lambda: self._wake(timer))
                timer.daemon = True
                self._timer = timer
                timer.start()

    def up(self):
        "Listen again on the same port"
        self.start()

    def _wake(self, timer):
        with self._running:
            # Unless stopped or brought up since
            if self._timer is timer:
                self._timer = None
                self.start()

    def _cancel_timer(self):
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def fail_next(self, n=1, status=500):
        """Answer the next n authorized requests with status and an error
        body, changing nothing; with 200, a submit reply without results"""
        with self._lock:
            self._failures.extend([status] * n)

    def slow(self, seconds):
        """Delay every reply by seconds (0: no more), after the work is
        done: a client that stops waiting misses an applied command"""
        self.delay = seconds

    # State

    def seed(self, device, products=(), paired_with='', suspended=False,
            blacklisted=False):
        """Set what the CAS holds for device, behind the SMS's back
        products: base.Product or their dict"""
        with self._lock:
            record = self.devices.setdefault(device, _Device())
            record.products = [
                p.as_dict() if isinstance(p, base.Product) else dict(p)
                for p in products]
            record.paired_with = paired_with
            record.suspended = suspended
            record.blacklisted = blacklisted

    def device_state(self, device):
        "The base.DeviceState of device, None if unknown"
        with self._lock:
            record = self.devices.get(device)
            if record is None:
                return None
            self._expire(record)
            return base.DeviceState(
                device=device,
                products=[base.Product.from_dict(p) for p in record.products],
                paired_with=record.paired_with,
                suspended=record.suspended,
                blacklisted=record.blacklisted)

    def history(self, device):
        "The actions without lasting state received for device"
        with self._lock:
            record = self.devices.get(device)
            return list(record.history) if record else []

    # Requests, called from the handler threads

    def authorized(self, headers):
        if not self._authorizations and not self.api_key:
            return True
        if headers.get('Authorization') in self._authorizations:
            return True
        return bool(self.api_key
            and headers.get(self.api_key_header) == self.api_key)

    def received(self, kind, authorized):
        "The status of a failure to answer with, if one is injected"
        with self._lock:
            self.hits[kind] += 1
            if authorized and self._failures:
                return self._failures.popleft()

    def submit(self, commands):
        "The result of each command"
        with self._lock:
            return [self._submit(c) for c in commands]

    def _submit(self, command):
        key = command['key']
        if key in self.effects:
            self.duplicates[key] += 1
            return {'key': key, 'status': 'duplicate'}
        try:
            self._check(command)
        except CasError as error:
            return {'key': key, 'status': 'rejected',
                'error': {'code': error.code, 'message': error.message}}
        self._apply(command)
        self.effects[key] += 1
        self.applied.append(command)
        return {'key': key, 'status': 'ok'}

    def _check(self, command):
        action, device = command['action'], command.get('device') or ''
        target = command.get('target') or 'device'
        if action not in base.ACTIONS:
            raise CasError('E100', f'unknown action {action}')
        if target == 'device':
            if not device:
                raise CasError('E100', 'no device')
            if device in self.reject_devices:
                raise CasError('E101', f'unknown device {device}')
            record = self.devices.get(device)
            if record and record.blacklisted and action in LIVE_ACTIONS:
                raise CasError('E103', f'device {device} is blacklisted')
            last = self.sequences.get(device)
            if last is not None and command['sequence'] < last:
                raise CasError('E109', f'out of order: sequence '
                    f'{command["sequence"]} after {last} for {device}')
        elif action not in {base.OSD, base.FINGERPRINT}:
            raise CasError('E100', f'{action} only targets a device')
        payload = command.get('payload') or {}
        if action == base.ENTITLE:
            for product in payload.get('products', []):
                if not isinstance(product, dict) or not product.get('id'):
                    raise CasError('E100', 'malformed product')
                try:
                    bounds = base.Product.from_dict(product)
                except (KeyError, TypeError, ValueError):
                    raise CasError('E100', 'malformed product')
                if bounds.end and bounds.end < bounds.start:
                    raise CasError(
                        'E100', f'product {product["id"]} ends before '
                        'it starts')
                if product['id'] in self.unknown_products:
                    raise CasError('E104', f'unknown product {product["id"]}')
        elif action in {base.PAIR, base.UNPAIR}:
            if not payload.get('stb') or not payload.get('card'):
                raise CasError('E105', 'pairing needs stb and card')

    def _apply(self, command):
        action, payload = command['action'], command.get('payload') or {}
        if (command.get('target') or 'device') != 'device':
            return
        device = command['device']
        self.sequences[device] = command['sequence']
        record = self.devices.setdefault(device, _Device())
        if action == base.ENTITLE:
            record.products = list(payload.get('products', []))
        elif action == base.REVOKE:
            record.products = []
        elif action == base.PAIR:
            self._pair(payload['stb'], payload['card'])
        elif action == base.UNPAIR:
            self._unpair(payload['stb'])
            self._unpair(payload['card'])
        elif action in {base.SUSPEND, base.RESUME}:
            record.suspended = action == base.SUSPEND
        elif action == base.BLACKLIST:
            record.blacklisted = True
        else:
            record.history.append(action)

    def _pair(self, stb, card):
        # A box and a card work only together: former partners are freed
        self._unpair(stb)
        self._unpair(card)
        self.devices.setdefault(stb, _Device()).paired_with = card
        self.devices.setdefault(card, _Device()).paired_with = stb

    def _unpair(self, address):
        record = self.devices.get(address)
        if record and record.paired_with:
            partner = self.devices.get(record.paired_with)
            if partner and partner.paired_with == address:
                partner.paired_with = ''
            record.paired_with = ''

    def device(self, address):
        "The device as the contract answers it, None if unknown"
        with self._lock:
            record = self.devices.get(address)
            if record is None:
                return None
            self._expire(record)
            return record.as_dict(address)

    def export(self, cursor):
        "A page of devices from cursor, and the cursor of the next page"
        start = int(cursor or 0)
        with self._lock:
            addresses = itertools.islice(
                self.devices, start, start + self.page_size)
            page = []
            for address in addresses:
                self._expire(self.devices[address])
                page.append(self.devices[address].as_dict(address))
            more = start + self.page_size < len(self.devices)
        # Devices are never removed: an offset stays valid while paging
        return page, str(start + self.page_size) if more else None

    def _expire(self, record):
        "Drop the timed products of record whose end has passed"
        if self.now is None:
            return
        record.products = [p for p in record.products
            if not _ended(base.Product.from_dict(p), self.now)]

    def health(self):
        with self._lock:
            return {
                'status': 'ok',
                'devices': len(self.devices),
                'applied': len(self.applied),
                }


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    cas = None

    def __init__(self, *args, **kwargs):
        self.connections = set()
        super().__init__(*args, **kwargs)

    def drop_connections(self):
        # Kept-alive connections would outlive the listening socket
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        # A client that gave up waiting is no error of the CAS
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self):
        self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format, *args):
        # Silent: the benchmark sends thousands of requests
        pass

    @property
    def cas(self):
        return self.server.cas

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path == HEALTH_PATH:
            self._serve('health', self._health)
        elif parts.path == DEVICES_PATH:
            cursor = parse_qs(parts.query).get('cursor', [None])[0]
            self._serve('export', self._export, cursor)
        elif parts.path.startswith(DEVICES_PATH + '/'):
            device = unquote(parts.path[len(DEVICES_PATH) + 1:])
            self._serve('device', self._device, device)
        else:
            self._reply(404, _error('E404', 'no such path'))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        if urlsplit(self.path).path == SUBMIT_PATH:
            self._serve('submit', self._submit, body)
        else:
            self._reply(404, _error('E404', 'no such path'))

    def _serve(self, kind, method, *args):
        cas = self.cas
        authorized = cas.authorized(self.headers)
        failure = cas.received(kind, authorized)
        if not authorized:
            self._reply(401, _error('E401', 'authentication refused'))
            return
        if failure:
            self._reply(failure, _error(f'E{failure}', 'injected failure'))
            return
        status, value = method(*args)
        if cas.delay:
            time.sleep(cas.delay)
        self._reply(status, value)

    def _submit(self, body):
        try:
            value = json.loads(body)
        except ValueError:
            return 400, _error('E400', 'the body is not JSON')
        problem = _invalid(value)
        if problem:
            return 422, _error('E422', problem)
        return 200, {'results': self.cas.submit(value['commands'])}

    def _device(self, device):
        value = self.cas.device(device)
        if value is None:
            return 404, _error('E101', f'unknown device {device}')
        return 200, value

    def _export(self, cursor):
        if cursor and not cursor.isdigit():
            return 400, _error('E400', 'bad cursor')
        devices, next_ = self.cas.export(cursor)
        return 200, {'devices': devices, 'next': next_}

    def _health(self):
        return 200, self.cas.health()

    def _reply(self, status, value):
        body = json.dumps(value).encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        if status == 429:
            self.send_header('Retry-After', '1')
        self.end_headers()
        self.wfile.write(body)


def _ended(product, now):
    return product.timed and product.end is not None and product.end <= now


def _error(code, message):
    return {'error': {'code': code, 'message': message}}


def _invalid(value):
    "What makes the batch unacceptable, or None"
    if not isinstance(value, dict) \
            or not isinstance(value.get('commands'), list):
        return 'a list of commands is expected'
    for i, command in enumerate(value['commands']):
        if not isinstance(command, dict):
            return f'command {i} is not an object'
        if not command.get('key') or not isinstance(command['key'], str):
            return f'command {i}: no key'
        if not isinstance(command.get('sequence'), int) \
                or isinstance(command['sequence'], bool):
            return f'command {i}: sequence is not an integer'
        if not isinstance(command.get('action'), str):
            return f'command {i}: no action'
        if not isinstance(command.get('payload') or {}, dict):
            return f'command {i}: payload is not an object'
