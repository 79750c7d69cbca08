"Rendering of the templates and measure of SMS texts"
import datetime
import json
from decimal import Decimal

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

# The GSM 03.38 default alphabet: one septet per character
GSM7_BASIC = set(
    '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?'
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà')
# The extension table: an escape and the character, two septets
GSM7_EXTENDED = set('^{}\\[~]|€\f')


def environment(lang=None):
    "Return a sandboxed Jinja2 environment formatting for lang"
    env = SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False,
        keep_trailing_newline=False)
    env.filters['date'] = lambda value, format=None: format_date(
        value, lang, format)
    env.filters['amount'] = lambda value, digits=2: format_amount(
        value, lang, digits)
    env.filters['currency'] = lambda value, currency: format_currency(
        value, lang, currency)
    return env


def check_syntax(text):
    "Raise jinja2.TemplateSyntaxError when text is not a valid template"
    environment().parse(text or '')


def render(text, values, lang=None):
    "Return text rendered with values; raise on syntax or undefined name"
    return environment(lang).from_string(text or '').render(values).strip()


def format_date(value, lang=None, format=None):
    if isinstance(value, str):
        value = datetime.date.fromisoformat(value)
    if lang:
        return lang.strftime(value, format)
    return value.strftime(format or '%d/%m/%Y')


def format_amount(value, lang=None, digits=2):
    value = Decimal(str(value))
    if lang:
        return lang.format_number(value, digits=digits)
    return f'{value:,.{digits}f}'


def format_currency(value, lang, currency):
    "Return value with the symbol of currency (a record or a code)"
    value = Decimal(str(value))
    if lang and not isinstance(currency, str):
        return lang.currency(value, currency, grouping=True)
    code = currency if isinstance(currency, str) else currency.code
    return f'{code} {format_amount(value, lang)}'


def load_sample(text):
    "Return the JSON object of text as a dict, or raise ValueError"
    values = json.loads(text or '{}')
    if not isinstance(values, dict):
        raise ValueError("a JSON object {...} is expected")
    return values


def is_gsm7(text):
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def sms_measure(text):
    """Return (encoding, length, segments) of an SMS text

    GSM-7 holds 160 septets in one message, 153 per part when split;
    UCS-2 (Hindi, Tamil ...) 70 characters, 67 per part."""
    text = text or ''
    if is_gsm7(text):
        length = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        single, part, encoding = 160, 153, 'gsm7'
    else:
        # UCS-2 counts UTF-16 code units: an emoji takes two
        length = len(text.encode('utf-16-le')) // 2
        single, part, encoding = 70, 67, 'ucs2'
    if length <= single:
        segments = 1 if length else 0
    else:
        segments = -(-length // part)
    return encoding, length, segments
