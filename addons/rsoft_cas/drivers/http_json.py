"""Generic driver for CAS with a JSON web service

The contract a vendor, or an adapter in front of it, must follow is in
doc/http_json.md.
"""
import base64
import dataclasses
import json
import logging
from urllib.parse import quote

import requests
from urllib3.exceptions import NewConnectionError

from . import base

logger = logging.getLogger(__name__)

AUTHS = {'bearer', 'basic', 'header', 'none'}
# How many characters of a reply are kept in Result.reply and messages
REPLY_LENGTH = 500


def _verify(value):
    "verify_tls: a boolean, or the path of the CA bundle to trust"
    text = str(value if value is not None else '').strip()
    if text.lower() in {'0', 'false', 'no', 'off'}:
        return False
    elif text.lower() in {'', '1', 'true', 'yes', 'on'}:
        return True
    return text


def _error_text(error):
    "The CAS's error as 'CODE message'"
    if not isinstance(error, dict):
        return str(error or '')
    return ' '.join(
        str(error[k]) for k in ['code', 'message'] if error.get(k))


@base.register
class HttpJsonDriver(base.Driver):
    """CAS with a REST API taking batches of commands in JSON

    settings: url, submit_path, device_path, export_path, health_path,
    auth ('bearer', 'basic', 'header' or 'none'), auth_header,
    connect_timeout, read_timeout, verify_tls (a boolean or the path of a
    CA bundle).
    credentials: token, username, password, api_key.
    """
    name = 'http_json'

    def __init__(self, settings, credentials, limits=None):
        super().__init__(settings, credentials, limits)
        self.url = self.settings.get('url', '').rstrip('/')
        self.submit_path = self.settings.get('submit_path', '/v1/commands')
        self.device_path = self.settings.get(
            'device_path', '/v1/devices/{device}')
        self.export_path = self.settings.get('export_path', '/v1/devices')
        self.health_path = self.settings.get('health_path', '/v1/health')
        self.auth = self.settings.get('auth') or 'bearer'
        self.auth_header = self.settings.get('auth_header', 'X-Api-Key')
        self.timeout = (
            float(self.settings.get('connect_timeout') or 5),
            float(self.settings.get('read_timeout') or 30))
        self.verify = _verify(self.settings.get('verify_tls'))
        self._session = None

    def __repr__(self):
        return f'<{self.__class__.__name__} {self.url}>'

    def capabilities(self):
        # An empty path means the vendor's API has no such call
        return dataclasses.replace(
            self.limits,
            query=bool(self.device_path), export=bool(self.export_path))

    @property
    def session(self):
        if self._session is None:
            if not self.url:
                raise base.DriverError("The CAS has no url set")
            if self.auth not in AUTHS:
                raise base.DriverError(f"Unknown auth {self.auth!r}")
            session = requests.Session()
            session.headers.update(self._auth_headers())
            session.headers['Accept'] = 'application/json'
            session.verify = self.verify
            self._session = session
        return self._session

    def _credential(self, name):
        value = self.credentials.get(name)
        if not value:
            raise base.DriverError(
                f"The credential {name!r} is missing for auth {self.auth!r}")
        return str(value)

    def _auth_headers(self):
        if self.auth == 'bearer':
            return {'Authorization': 'Bearer ' + self._credential('token')}
        elif self.auth == 'basic':
            pair = ':'.join([
                    self._credential('username'),
                    self._credential('password')])
            return {'Authorization': 'Basic ' + _b64(pair)}
        elif self.auth == 'header':
            return {self.auth_header: self._credential('api_key')}
        return {}

    def _secrets(self):
        # The user name is no secret and may be a common word
        secrets = [str(v) for k, v in self.credentials.items()
            if v and k != 'username']
        if self.credentials.get('username') is not None:
            secrets.append(_b64('%s:%s' % (
                        self.credentials.get('username'),
                        self.credentials.get('password', ''))))
        # Longest first: a secret may contain a shorter one
        return sorted(secrets, key=len, reverse=True)

    def _scrub(self, text):
        "text without any credential, in case the CAS echoes one"
        text = str(text)[:REPLY_LENGTH]
        for secret in self._secrets():
            text = text.replace(secret, '***')
        return text

    def _request(self, method, path, **kwargs):
        """The response to the request

        Raises DriverError if nothing was sent and DriverTimeout if the
        outcome is unknown. The exception is raised outside the except
        clause so that it carries no context with the request's headers.
        """
        try:
            # A redirection would turn a POST into a GET, and could carry
            # the credential headers to another host
            return self.session.request(
                method, self.url + path, timeout=self.timeout,
                allow_redirects=False, **kwargs)
        except requests.exceptions.ConnectTimeout:
            failure = base.DriverError(
                f"{method} {path}: no connection in time")
        except requests.exceptions.ReadTimeout:
            failure = base.DriverTimeout(
                f"{method} {path}: no answer in time, outcome unknown")
        except requests.exceptions.ChunkedEncodingError:
            failure = base.DriverTimeout(
                f"{method} {path}: reply cut short, outcome unknown")
        except requests.exceptions.SSLError as exception:
            failure = base.DriverError(
                f"{method} {path}: TLS failed: {self._reason(exception)}")
        except requests.exceptions.ConnectionError as exception:
            failure = self._connection_failure(method, path, exception)
        except requests.exceptions.RequestException as exception:
            failure = base.DriverError(
                f"{method} {path}: {self._reason(exception)}")
        raise failure

    def _connection_failure(self, method, path, exception):
        reason = self._reason(exception)
        cause = getattr(exception.args[0], 'reason', None) \
            if exception.args else None
        if isinstance(cause, NewConnectionError):
            return base.DriverError(f"{method} {path}: {reason}")
        # The connection broke once established: the CAS may have read
        # the request
        return base.DriverTimeout(
            f"{method} {path}: connection lost, outcome unknown: {reason}")

    def _reason(self, exception):
        reason = exception
        while reason.args and isinstance(reason.args[-1], BaseException):
            reason = reason.args[-1]
        reason = getattr(reason, 'reason', reason)
        return self._scrub(f'{reason.__class__.__name__}: {reason}')

    def _refused(self, method, path, response):
        "The DriverError for an HTTP error that took nothing"
        status = response.status_code
        if status in {401, 403}:
            return base.DriverError(
                f"{method} {path}: HTTP {status}, "
                "the CAS refused the authentication")
        message = f"{method} {path}: HTTP {status}"
        if status == 429 or status >= 500:
            message += ", retry later"
            if response.headers.get('Retry-After'):
                message += f" (after {response.headers['Retry-After']}s)"
        text = self._scrub(response.text)
        if text:
            message += f": {text}"
        return base.DriverError(message)

    def submit(self, commands):
        if not commands:
            return []
        body = {'commands': [self._command(c) for c in commands]}
        response = self._request('POST', self.submit_path, json=body)
        status = response.status_code
        if status in {400, 422}:
            return self._rejected_batch(commands, response)
        if not 200 <= status < 300:
            raise self._refused('POST', self.submit_path, response)
        return self._results(commands, response)

    @staticmethod
    def _command(command):
        return {
            'key': command.key,
            'sequence': command.sequence,
            'action': command.action,
            'device': command.device,
            'target': command.target,
            'group': command.group,
            'payload': command.payload,
            }

    def _rejected_batch(self, commands, response):
        reply = self._scrub(
            f'HTTP {response.status_code} {response.text}')
        try:
            error = _error_text(response.json().get('error'))
        except (ValueError, AttributeError):
            error = ''
        error = self._scrub(error) or reply
        return [base.Result(c.key, base.REJECTED, error=error, reply=reply)
            for c in commands]

    def _results(self, commands, response):
        try:
            entries = response.json()['results']
            by_key = {e['key']: e for e in entries
                if isinstance(e, dict) and 'key' in e}
        except (ValueError, KeyError, TypeError) as exception:
            logger.warning(
                "POST %s: malformed reply (%s), outcome unknown",
                self.submit_path, exception.__class__.__name__)
            reply = self._scrub(f'HTTP {response.status_code} '
                f'{response.text}')
            return [base.Result(c.key, base.UNKNOWN, reply=reply)
                for c in commands]
        return [self._result(c.key, by_key.get(c.key)) for c in commands]

    def _result(self, key, entry):
        if entry is None:
            return base.Result(key, base.UNKNOWN, reply='not in the reply')
        reply = self._scrub(json.dumps(entry, sort_keys=True))
        status = entry.get('status')
        if status in {'ok', 'duplicate'}:
            return base.Result(key, base.ACKED, reply=reply)
        elif status == 'rejected':
            error = self._scrub(_error_text(entry.get('error'))) \
                or 'rejected'
            return base.Result(key, base.REJECTED, error=error, reply=reply)
        return base.Result(key, base.UNKNOWN, reply=reply)

    def _get_json(self, path, **kwargs):
        "The JSON value answered, None for 404"
        try:
            response = self._request('GET', path, **kwargs)
        except base.DriverTimeout as exception:
            # Reading changes nothing: no outcome to be unsure of
            failure = base.DriverError(str(exception))
        else:
            if response.status_code == 404:
                return None
            elif response.status_code != 200:
                failure = self._refused('GET', path, response)
            else:
                try:
                    return response.json()
                except ValueError:
                    failure = base.DriverError(
                        f"GET {path}: malformed reply: "
                        f"{self._scrub(response.text)}")
        raise failure

    def query_device(self, device):
        if not self.device_path:
            return None
        path = self.device_path.format(device=quote(device, safe=''))
        value = self._get_json(path)
        if value is None:
            # The CAS does not know the device: it has nothing
            return base.DeviceState(device)
        return self._device_state(value, device)

    def export_state(self):
        if not self.export_path:
            return
        cursor = None
        while True:
            params = {'cursor': cursor} if cursor else None
            page = self._get_json(self.export_path, params=params)
            if page is None:
                raise base.DriverError(f"GET {self.export_path}: HTTP 404")
            for value in page.get('devices') or []:
                yield self._device_state(value)
            if not page.get('next') or page['next'] == cursor:
                break
            cursor = page['next']

    def _device_state(self, value, device=None):
        try:
            return base.DeviceState(
                device=str(value.get('device') or device),
                products=[base.Product.from_dict(p)
                    for p in value.get('products') or []],
                paired_with=str(value.get('paired_with') or ''),
                suspended=bool(value.get('suspended')),
                blacklisted=bool(value.get('blacklisted')))
        except (AttributeError, KeyError, TypeError, ValueError):
            pass
        raise base.DriverError(
            f"Malformed device state: {self._scrub(json.dumps(value))}")

    def health(self):
        try:
            response = self._request('GET', self.health_path)
        except base.DriverError as exception:
            return False, str(exception)
        if response.status_code != 200:
            return False, str(self._refused(
                    'GET', self.health_path, response))
        try:
            ok = response.json().get('status') == 'ok'
        except (ValueError, AttributeError):
            ok = False
        return ok, self._scrub(response.text)

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None


def _b64(text):
    return base64.b64encode(text.encode('utf-8')).decode('ascii')
