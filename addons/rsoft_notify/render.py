"Rendering of the templates and measure of SMS texts"
import datetime
import json
from decimal import Decimal

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from trytond.pool import Pool

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


def _lang(lang):
    "Return lang, else the language of the context"
    if lang is None:
        lang = Pool().get('ir.lang').get()
    return lang


def format_date(value, lang=None, format=None):
    "Format value as lang, else the language of the context, writes days"
    if isinstance(value, str):
        value = datetime.date.fromisoformat(value)
    return _lang(lang).strftime(value, format)


def format_amount(value, lang=None, digits=2):
    "Format value grouped as lang, else the language of the context"
    return _lang(lang).format_number(Decimal(str(value)), digits=digits)


def format_currency(value, lang, currency):
    "Return value with the symbol of currency (a record or a code)"
    Currency = Pool().get('currency.currency')
    value = Decimal(str(value))
    if isinstance(currency, str):
        currencies = Currency.search([('code', '=', currency)], limit=1)
        if not currencies:
            return f'{currency} {format_amount(value, lang)}'
        currency, = currencies
    return _lang(lang).currency(value, currency, grouping=True)


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
