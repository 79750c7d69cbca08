import re

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .exceptions import FormatError

DEVICE_KINDS = [
    (None, ''),
    ('stb', "Set-top box"),
    ('smartcard', "Smart card"),
    ]
DEFINITIONS = [
    (None, ''),
    ('sd', "SD"),
    ('hd', "HD"),
    ('uhd', "4K UHD"),
    ]


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    rsoft_device_kind = fields.Selection(
        DEVICE_KINDS, "Device Kind",
        states={
            'invisible': Eval('type') != 'goods',
            },
        help="Set on the products that are set-top box models or smart "
        "card types: their units are tracked one by one by serial.")
    device_brand = fields.Char(
        "Brand", states={
            'invisible': ~Eval('rsoft_device_kind'),
            })
    cas_vendor = fields.Char(
        "CAS System", states={
            'invisible': ~Eval('rsoft_device_kind'),
            },
        help="The conditional access system the device works with; "
        "a card pairs only with a box of the same system.")
    card_based = fields.Boolean(
        "Card-based", states={
            'invisible': Eval('rsoft_device_kind') != 'stb',
            },
        help="Whether the box needs a smart card; card-less boxes carry "
        "the CAS client in the box.")
    definition = fields.Selection(
        DEFINITIONS, "Definition", states={
            'invisible': Eval('rsoft_device_kind') != 'stb',
            })
    dvr = fields.Boolean(
        "DVR", states={
            'invisible': Eval('rsoft_device_kind') != 'stb',
            },
        help="Whether the box can record.")
    fingerprint = fields.Boolean(
        "Fingerprint", states={
            'invisible': ~Eval('rsoft_device_kind'),
            },
        help="Whether the device can show a fingerprint on screen.")
    osd = fields.Boolean(
        "OSD", states={
            'invisible': ~Eval('rsoft_device_kind'),
            },
        help="Whether the device can show on-screen messages.")
    serial_pattern = fields.Char(
        "Serial Format", states={
            'invisible': ~Eval('rsoft_device_kind'),
            },
        help="A regular expression every serial (card number for a smart "
        "card) must match, e.g. ^GX[0-9]{10}$.")
    chip_id_pattern = fields.Char(
        "Chip ID Format", states={
            'invisible': ~Eval('rsoft_device_kind'),
            },
        help="A regular expression every chip ID must match.")

    @classmethod
    def default_card_based(cls):
        return True

    @classmethod
    def default_fingerprint(cls):
        return True

    @classmethod
    def default_osd(cls):
        return True

    @fields.depends('rsoft_device_kind', 'lot_required', 'lot_sequence')
    def on_change_rsoft_device_kind(self):
        if self.rsoft_device_kind:
            self.lot_required = [
                'supplier', 'customer', 'lost_found', 'storage']
            self.lot_sequence = None

    @classmethod
    def validate_fields(cls, templates, field_names):
        super().validate_fields(templates, field_names)
        if field_names & {'serial_pattern', 'chip_id_pattern'}:
            for template in templates:
                template.check_patterns()

    def check_patterns(self):
        for name in ['serial_pattern', 'chip_id_pattern']:
            pattern = getattr(self, name)
            if not pattern:
                continue
            try:
                re.compile(pattern)
            except re.error as exception:
                raise FormatError(gettext(
                        'rsoft_inventory.msg_invalid_pattern',
                        pattern=pattern, template=self.rec_name,
                        error=str(exception)))

    def match_serial(self, value):
        return _match(self.serial_pattern, value)

    def match_chip_id(self, value):
        return _match(self.chip_id_pattern, value)


def _match(pattern, value):
    return not pattern or bool(re.fullmatch(pattern, value))


def normalize_mac(value):
    "Return value as AA:BB:CC:DD:EE:FF, or None when it is not a MAC"
    digits = re.sub(r'[^0-9A-Fa-f]', '', value or '').upper()
    if len(digits) != 12 or len(re.sub(r'[0-9A-Fa-f:.\- ]', '', value)):
        return None
    return ':'.join(digits[i:i + 2] for i in range(0, 12, 2))
