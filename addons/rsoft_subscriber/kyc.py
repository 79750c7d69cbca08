"Normalisation and validation of the subscriber's KYC data"
import hashlib
import hmac
import re
import secrets

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sql import Table
from stdnum.in_ import aadhaar, epic, pan

from trytond import config
from trytond.i18n import gettext
from trytond.transaction import Transaction

from .exceptions import KYCError

ID_PROOF_TYPES = [
    (None, ''),
    ('aadhaar', "Aadhaar"),
    ('pan', "PAN Card"),
    ('voter_id', "Voter ID (EPIC)"),
    ('passport', "Passport"),
    ('driving_licence', "Driving Licence"),
    ('ration_card', "Ration Card"),
    ('other', "Other"),
    ]
AADHAAR_MASK = 'XXXX XXXX '
# The fallback secret of the Aadhaar hashes lives in a table that is no
# model: no RPC call, export or report can read it
_SECRET_TABLE = 'rsoft_subscriber_kyc_secret'
_PASSPORT = re.compile(r'^[A-Z][0-9]{7}$')
_GENERIC_ID = re.compile(r'^[A-Z0-9/ -]{4,30}$')
_MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }


def normalize_phone(value, country, mobile=False, record=''):
    "Return value in E.164 or raise KYCError"
    try:
        number = phonenumbers.parse(value, country)
        valid = phonenumbers.is_valid_number(number)
    except phonenumbers.NumberParseException:
        valid = False
    if valid and mobile:
        valid = phonenumbers.number_type(number) in _MOBILE_TYPES
    if not valid:
        raise KYCError(gettext(
                'rsoft_subscriber.msg_invalid_mobile' if mobile
                else 'rsoft_subscriber.msg_invalid_phone',
                number=value, subscriber=record))
    return phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value, record=''):
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise KYCError(gettext(
                'rsoft_subscriber.msg_invalid_email',
                email=value, subscriber=record))


def normalize_id_proof(kind, value, record=''):
    "Return the compact form of the identity document number"
    value = value.strip().upper()
    checks = {
        'aadhaar': aadhaar.is_valid,
        'pan': pan.is_valid,
        'voter_id': epic.is_valid,
        'passport': _PASSPORT.match,
        }
    check = checks.get(kind, _GENERIC_ID.match)
    compact = value.replace(' ', '') if kind in checks else value
    if not check(compact):
        raise KYCError(gettext(
                'rsoft_subscriber.msg_invalid_id_proof',
                number=value, type=dict(ID_PROOF_TYPES)[kind],
                subscriber=record))
    return compact


def check_aadhaar(value, record=''):
    """Return the 12 digits of Aadhaar number value or raise KYCError:
    the first not 0 or 1, the last the Verhoeff check digit"""
    number = aadhaar.compact(value)
    if not aadhaar.is_valid(number):
        raise KYCError(gettext(
                'rsoft_subscriber.msg_invalid_aadhaar',
                last=number[-4:], subscriber=record))
    return number


def is_masked_aadhaar(value):
    return bool(value) and value.startswith(AADHAAR_MASK)


def aadhaar_values(number):
    """Return the values that store Aadhaar number: its mask, which keeps
    the last four digits, and its keyed hash (UIDAI forbids keeping the
    number in clear)"""
    number = aadhaar.compact(number)
    digest = hmac.new(
        kyc_secret().encode(), number.encode(), hashlib.sha256).hexdigest()
    return {
        'id_proof_number': AADHAAR_MASK + number[-4:],
        'aadhaar_hash': digest,
        }


def kyc_secret():
    """Return the key of the Aadhaar hashes: [rsoft] kyc_secret of the
    configuration, else the database's own, generated once"""
    secret = config.get('rsoft', 'kyc_secret')
    if secret:
        return secret
    cursor = Transaction().connection.cursor()
    table = Table(_SECRET_TABLE)
    cursor.execute(*table.select(table.secret, limit=1))
    row = cursor.fetchone()
    if row:
        return row[0]
    secret = secrets.token_hex(32)
    cursor.execute(*table.insert([table.secret], [[secret]]))
    return secret


def create_secret_table():
    cursor = Transaction().connection.cursor()
    cursor.execute(
        f'CREATE TABLE IF NOT EXISTS "{_SECRET_TABLE}" '
        '(secret VARCHAR NOT NULL)')
