"""Local stand-ins for an SMS gateway and a mail server, for the tests

SmsGatewayServer answers like an Indian bulk SMS gateway over HTTP and
records every request; it can be told to fail. MailServer is a real SMTP
server (aiosmtpd) that keeps the messages it accepts. Both listen on
127.0.0.1 on a free port, no network is needed."""
import base64
import email
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from aiosmtpd.controller import Controller

import trytond.config as config


def free_port():
    "A TCP port nobody listens on, for a server that cannot take port 0"
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class SmsRequest:
    "A request as the gateway received it"

    def __init__(self, method, path, headers, params):
        self.method = method
        self.path = path
        self.headers = headers
        self.params = params
        self.accepted = None

    @property
    def basic_auth(self):
        "The (username, password) of the Authorization header, if basic"
        value = self.headers.get('Authorization', '')
        if not value.startswith('Basic '):
            return None
        username, password = base64.b64decode(
            value[len('Basic '):]).decode().split(':', 1)
        return username, password


class SmsGatewayServer:
    """An HTTP SMS gateway on a free local port

    requests: the requests received, failed ones included.
    fail(count, status, body): answer the next count requests with
    status and body (count None: until told otherwise).
    reply: the body of a successful answer."""

    path = '/api/send'

    def __init__(self, reply='{"status": "OK", "id": "M1"}'):
        self.reply = reply
        self.requests = []
        self._failures = 0
        self._failure = (503, 'Service Unavailable')
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(
            ('127.0.0.1', 0), self._handler())
        self._thread = None

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}{self.path}'

    @property
    def sent(self):
        "The parameters of the requests answered as successes"
        return [r.params for r in self.requests if r.accepted]

    def fail(self, count=None, status=503, body='Service Unavailable'):
        with self._lock:
            self._failures = count if count is not None else -1
            self._failure = (status, body)

    def recover(self):
        with self._lock:
            self._failures = 0

    def _answer(self, request):
        with self._lock:
            self.requests.append(request)
            if self._failures:
                if self._failures > 0:
                    self._failures -= 1
                request.accepted = False
                return self._failure
            request.accepted = True
            return 200, self.reply

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                self._serve(url.path, dict(parse_qsl(url.query)))

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length).decode()
                if self.headers.get_content_type() == 'application/json':
                    params = json.loads(body)
                else:
                    params = dict(parse_qsl(body))
                self._serve(urlsplit(self.path).path, params)

            def _serve(self, path, params):
                status, body = gateway._answer(SmsRequest(
                        self.command, path, dict(self.headers), params))
                body = body.encode()
                self.send_response(status)
                self.send_header('Content-Type', 'text/plain')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        return Handler

    def __enter__(self):
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _Mailbox:
    "The aiosmtpd handler keeping the accepted messages"

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(
            envelope.original_content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return '250 Message accepted for delivery'


class MailServer:
    """A real SMTP server on a free local port, set as trytond's [email]
    uri while it runs

    messages: the (recipients, email.message.EmailMessage) received."""

    def __init__(self, from_addr='RSoft Cable <care@rsoft.example>'):
        self.from_addr = from_addr
        self._mailbox = _Mailbox()
        self._controller = Controller(
            self._mailbox, hostname='127.0.0.1', port=free_port())
        self._saved = {}

    @property
    def messages(self):
        return self._mailbox.messages

    def __enter__(self):
        self._controller.start()
        for option, value in [
                ('uri', f'smtp://127.0.0.1:{self._controller.port}'),
                ('from', self.from_addr)]:
            self._saved[option] = config.get('email', option)
            config.set('email', option, value)
        return self

    def __exit__(self, *exc):
        for option, value in self._saved.items():
            config.set('email', option, value)
        self._controller.stop()
