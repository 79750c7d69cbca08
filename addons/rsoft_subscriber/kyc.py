"Normalisation and validation of the subscriber's KYC data"
import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.in_ import aadhaar, epic, pan

from trytond.i18n import gettext

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
