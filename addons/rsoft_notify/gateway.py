"HTTP SMS gateway profiles: how to hand an SMS to a provider"
import base64
import re
from urllib.parse import quote, quote_plus, urlsplit

import requests

from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.modules.rsoft_toolkit.secret import MASK, SecretMixin
from trytond.pyson import Eval

from .exceptions import DeliveryError, GatewayValidationError
from .render import is_gsm7

PLACEHOLDERS = {'to', 'text', 'sender', 'template_id', 'unicode', 'secret'}
PLACEHOLDER = re.compile(r'\{(\w+)\}')
REPLY_LENGTH = 1000


def parse_parameters(text):
    "Return the (name, value) pairs of the 'name=value' lines of text"
    pairs = []
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        if '=' not in line:
            raise ValueError(line)
        name, value = line.split('=', 1)
        pairs.append((name.strip(), value.strip()))
    return pairs


class SmsGateway(SecretMixin, DeactivableMixin, ModelSQL, ModelView):
    "The HTTP interface of an SMS provider"
    __name__ = 'rsoft.notify.sms.gateway'
    __string__ = "SMS Gateway"

    name = fields.Char("Name", required=True)
    url = fields.Char(
        "URL", required=True,
        help="The address that takes one SMS, with http:// or https://.")
    method = fields.Selection([
            ('get', "GET"),
            ('post_form', "POST Form"),
            ('post_json', "POST JSON"),
            ], "Method", required=True,
        help="GET sends the parameters in the query string, POST Form as "
        "a form, POST JSON as a JSON object.")
    auth = fields.Selection([
            ('none', "None"),
            ('basic', "Basic"),
            ('bearer', "Bearer Token"),
            ('header', "Header"),
            ], "Authentication", required=True,
        help="How the secret is presented. Gateways taking the key as a "
        "parameter use None and {secret} in the parameters.")
    auth_header = fields.Char(
        "Header Name",
        states={
            'invisible': Eval('auth') != 'header',
            'required': Eval('auth') == 'header',
            },
        help="The HTTP header carrying the secret, e.g. X-Api-Key.")
    username = fields.Char(
        "Username", states={'invisible': Eval('auth') != 'basic'})
    secret = fields.Function(
        fields.Char(
            "Secret", strip=False,
            help="The password, token or API key. Written only: it reads "
            "masked, with at most its last four characters, and is never "
            "written in errors."),
        'get_secret', setter='set_secret')
    secret_store = fields.Char("Stored Secret", strip=False, readonly=True)
    parameters = fields.Text(
        "Parameters",
        help="One 'name=value' per line. Values may use {to} (the mobile "
        "number, digits with country code), {text}, {sender} (DLT header), "
        "{template_id} (DLT template ID), {unicode} (1 for UCS-2 text, "
        "else 0) and {secret}; other values are sent as they are (e.g. "
        "the DLT entity ID).")
    success_pattern = fields.Char(
        "Success Pattern",
        help="A regular expression the reply must contain for the SMS to "
        "count as sent, besides a 2xx status. Empty: the status suffices.")
    timeout = fields.Integer(
        "Timeout", required=True, domain=[('timeout', '>', 0)],
        help="Seconds to wait for the gateway's answer.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._secrets['secret'] = 'secret_store'

    @classmethod
    def default_method(cls):
        return 'get'

    @classmethod
    def default_auth(cls):
        return 'none'

    @classmethod
    def default_timeout(cls):
        return 10

    @classmethod
    def validate_fields(cls, gateways, field_names):
        super().validate_fields(gateways, field_names)
        for gateway in gateways:
            gateway.check_url()
            gateway.check_parameters()
            gateway.check_success_pattern()

    def check_url(self):
        if urlsplit(self.url or '').scheme not in {'http', 'https'}:
            raise GatewayValidationError(gettext(
                    'rsoft_notify.msg_gateway_url', gateway=self.rec_name))

    def check_parameters(self):
        try:
            pairs = parse_parameters(self.parameters)
        except ValueError as e:
            raise GatewayValidationError(gettext(
                    'rsoft_notify.msg_gateway_parameter_line',
                    gateway=self.rec_name, line=str(e)))
        for name, value in pairs:
            unknown = set(PLACEHOLDER.findall(value)) - PLACEHOLDERS
            if unknown or not name:
                raise GatewayValidationError(gettext(
                        'rsoft_notify.msg_gateway_placeholder',
                        gateway=self.rec_name, line=f'{name}={value}',
                        placeholders=', '.join(
                            '{%s}' % p for p in sorted(PLACEHOLDERS))))

    def check_success_pattern(self):
        try:
            re.compile(self.success_pattern or '')
        except re.error as e:
            raise GatewayValidationError(gettext(
                    'rsoft_notify.msg_gateway_pattern',
                    gateway=self.rec_name, error=str(e)))

    def request_parameters(self, to, text, sender, template_id):
        "Return the parameters of the SMS as a dict"
        substitutes = {
            'to': re.sub(r'\D', '', to or ''),
            'text': text,
            'sender': sender or '',
            'template_id': template_id or '',
            'unicode': '0' if is_gsm7(text) else '1',
            'secret': self.secret_value('secret'),
            }
        return {
            name: PLACEHOLDER.sub(
                lambda m: substitutes[m.group(1)], value)
            for name, value in parse_parameters(self.parameters)}

    def request_arguments(self, parameters):
        "Return the keyword arguments of requests.request"
        kwargs = {'timeout': self.timeout, 'headers': {}}
        if self.method == 'get':
            kwargs['params'] = parameters
        elif self.method == 'post_form':
            kwargs['data'] = parameters
        else:
            kwargs['json'] = parameters
        secret = self.secret_value('secret')
        if self.auth == 'basic':
            kwargs['auth'] = (self.username or '', secret)
        elif self.auth == 'bearer':
            kwargs['headers']['Authorization'] = f'Bearer {secret}'
        elif self.auth == 'header':
            kwargs['headers'][self.auth_header] = secret
        return kwargs

    def send(self, to, text, sender, template_id, session=None):
        """Hand the SMS to the gateway and return its reply

        Raise DeliveryError with the reason when the gateway does not
        accept it."""
        session = session or requests
        method = 'GET' if self.method == 'get' else 'POST'
        kwargs = self.request_arguments(
            self.request_parameters(to, text, sender, template_id))
        try:
            response = session.request(method, self.url, **kwargs)
        except requests.RequestException as e:
            raise DeliveryError(self.redact(f'{type(e).__name__}: {e}'))
        reply = self.redact(
            f'HTTP {response.status_code}: '
            f'{response.text[:REPLY_LENGTH]}')
        if not 200 <= response.status_code < 300:
            raise DeliveryError(reply)
        if (self.success_pattern
                and not re.search(self.success_pattern, response.text)):
            raise DeliveryError(gettext(
                    'rsoft_notify.msg_gateway_unexpected_reply',
                    reply=reply))
        return reply

    def redact(self, text):
        "Return text without the secret, plain or encoded"
        secret = self.secret_value('secret')
        if not secret:
            return text
        forms = {secret, quote(secret, safe=''), quote_plus(secret)}
        if self.auth == 'basic':
            forms.add(base64.b64encode(
                    f'{self.username or ""}:{secret}'.encode()).decode())
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, MASK)
        return text
