"""Voucher templates: what a card is worth, how its PIN and serial are
made, how long it is valid and where it may be sold"""
import datetime as dt
import secrets

from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .exceptions import TemplateValidationError

KINDS = [
    ('top_up', "Wallet Top-up"),
    ('product', "Product"),
    ]
VALIDITIES = [
    ('activation', "Days from Activation"),
    ('fixed', "Fixed Expiry Date"),
    ]
ALPHABETS = [
    ('digits', "Digits"),
    ('alnum', "Digits and Letters"),
    ]
DIGITS = '0123456789'
# Neither 0/O, 1/I/L nor 5/S, 8/B, 2/Z: a PIN read off a scratched card
# or over the phone has one reading
ALNUM = '34679ACDEFGHJKMNPQRTUVWXY'
ALPHABET = {'digits': DIGITS, 'alnum': ALNUM}
# The kinds of offer a product voucher may give: channels, packs,
# VOD titles and the registration (activation fee)
PRODUCT_KINDS = ['alacarte', 'broadcaster_bouquet', 'base_pack',
    'addon_pack', 'vod', 'dvr', 'activation']
# The least keyspace a template may have: 10^6 random guesses against
# 10^6 live PINs then hit 0.1 times on average (before any lock-out)
MIN_KEYSPACE = 10 ** 13


def expected_hits(keyspace, guesses, live):
    "Return the PINs that guesses random tries hit among live PINs"
    return guesses * live / keyspace


class Template(SystemFieldsMixin, DeactivableMixin, ModelSQL, ModelView):
    "A kind of scratch card: its value, validity, PIN and serial format"
    __name__ = 'rsoft.voucher.template'
    __string__ = "Voucher Template"

    name = fields.Char("Name", required=True, translate=True)
    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    kind = fields.Selection(
        KINDS, "Kind", required=True,
        help="Wallet Top-up: credits the subscriber's wallet with the "
        "face value.\nProduct: gives an offer for a number of days.")
    face_value = Monetary(
        "Face Value", currency='currency', digits='currency', required=True,
        domain=[('face_value', '>', 0)],
        help="What the card is worth to the subscriber, taxes included: "
        "the top-up, or the price of the offer's days.")
    product = fields.Many2One(
        'product.product', "Offer", ondelete='RESTRICT',
        domain=[
            ('template.rsoft_kind', 'in', PRODUCT_KINDS),
            ],
        states={
            'required': Eval('kind') == 'product',
            'invisible': Eval('kind') != 'product',
            })
    days = fields.Integer(
        "Days",
        domain=[If(Eval('kind') == 'product',
                ('days', '>', 0), ())],
        states={
            'required': Eval('kind') == 'product',
            'invisible': Eval('kind') != 'product',
            },
        help="How long the offer runs from the redemption.")
    partner_price = Monetary(
        "Price to Partner", currency='currency', digits='currency',
        required=True,
        domain=[
            ('partner_price', '>=', 0),
            ('partner_price', '<=', Eval('face_value', 0)),
            ],
        help="What a distributor, JV or LCO pays for one card.")
    validity = fields.Selection(
        VALIDITIES, "Validity", required=True)
    validity_days = fields.Integer(
        "Valid Days",
        domain=[If(Eval('validity') == 'activation',
                ('validity_days', '>', 0), ())],
        states={
            'required': Eval('validity') == 'activation',
            'invisible': Eval('validity') != 'activation',
            },
        help="A card expires this many days after it is sold.")
    expiry_date = fields.Date(
        "Expiry Date",
        states={
            'required': Eval('validity') == 'fixed',
            'invisible': Eval('validity') != 'fixed',
            })
    pin_length = fields.Integer(
        "PIN Length", required=True,
        domain=[('pin_length', '>=', 8), ('pin_length', '<=', 24)])
    pin_alphabet = fields.Selection(
        ALPHABETS, "PIN Alphabet", required=True,
        help="Digits and Letters leaves out the characters read one for "
        "another (0 O, 1 I L, 2 Z, 5 S, 8 B).")
    serial_prefix = fields.Char(
        "Serial Prefix", required=True, strip=True,
        help="The start of every serial; the number follows.")
    serial_width = fields.Integer(
        "Serial Digits", required=True,
        domain=[('serial_width', '>=', 4), ('serial_width', '<=', 12)])
    last_number = fields.Integer(
        "Last Serial Number", readonly=True,
        help="The number of the last serial generated.")
    partners = fields.Many2Many(
        'rsoft.voucher.template-rsoft.partner', 'template', 'partner',
        "Partners",
        help="The distributors, JVs and LCOs the cards may be allocated "
        "to, with the partners under them; none: all.")
    regions = fields.Many2Many(
        'rsoft.voucher.template-rsoft.region', 'template', 'region',
        "Regions",
        help="The territories the cards may be sold and redeemed in; "
        "none: all.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'last_number'}
        cls._order.insert(0, ('name', 'ASC'))

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_kind(cls):
        return 'top_up'

    @classmethod
    def default_validity(cls):
        return 'activation'

    @classmethod
    def default_validity_days(cls):
        return 180

    @classmethod
    def default_pin_length(cls):
        return 14

    @classmethod
    def default_pin_alphabet(cls):
        return 'digits'

    @classmethod
    def default_serial_width(cls):
        return 10

    @classmethod
    def default_last_number(cls):
        return 0

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @classmethod
    def copy(cls, templates, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('last_number', 0)
        return super().copy(templates, default=default)

    @classmethod
    def validate_fields(cls, templates, field_names):
        super().validate_fields(templates, field_names)
        if field_names & {'pin_length', 'pin_alphabet'}:
            for template in templates:
                template.check_keyspace()

    def check_keyspace(self):
        if self.keyspace < MIN_KEYSPACE:
            raise TemplateValidationError(gettext(
                    'rsoft_voucher.msg_template_keyspace',
                    template=self.rec_name,
                    keyspace=f'{self.keyspace:.1e}',
                    minimum=f'{MIN_KEYSPACE:.0e}'))

    @property
    def alphabet(self):
        return ALPHABET[self.pin_alphabet]

    @property
    def keyspace(self):
        return len(self.alphabet) ** self.pin_length

    def make_pins(self, count):
        """Return count PINs from the system's secure generator

        One draw below the keyspace per PIN, written in the alphabet:
        uniform, and far faster than a draw per character."""
        alphabet, length = self.alphabet, self.pin_length
        keyspace = self.keyspace
        base = len(alphabet)
        if self.pin_alphabet == 'digits':
            return [str(secrets.randbelow(keyspace)).zfill(length)
                for _ in range(count)]
        pins = []
        for _ in range(count):
            n = secrets.randbelow(keyspace)
            chars = []
            for _ in range(length):
                n, r = divmod(n, base)
                chars.append(alphabet[r])
            pins.append(''.join(chars))
        return pins

    def serial(self, number):
        return f'{self.serial_prefix}{number:0{self.serial_width}d}'

    def expiry(self, date):
        "Return the last day of a card sold on date"
        if self.validity == 'fixed':
            return self.expiry_date
        return date + dt.timedelta(days=self.validity_days)

    def allows_partner(self, partner):
        "Whether cards of the template may go to partner"
        if self.partners:
            chain, node = set(), partner
            while node:
                chain.add(node)
                node = node.parent
            if not chain & set(self.partners):
                return False
        return self.allows_region(partner.get_region())

    def allows_region(self, region):
        if not self.regions:
            return True
        if region is None:
            return False
        return bool(set(self.regions) & set(region.get_ancestors()))

    @classmethod
    def reserve_numbers(cls, template, count):
        """Return the first of count serial numbers taken for template

        The template row is locked: two batches of it never share a
        serial."""
        pool = Pool()
        Template = pool.get('rsoft.voucher.template')
        cls.lock([template])
        template = Template(template.id)
        first = (template.last_number or 0) + 1
        cls.write([template], {'last_number': first + count - 1})
        return first


def normalize_pin(pin):
    "Return pin as typed, without spaces or dashes, upper case"
    return ''.join((pin or '').split()).replace('-', '').upper()


class TemplatePartner(ModelSQL):
    "Voucher Template - Partner"
    __name__ = 'rsoft.voucher.template-rsoft.partner'
    __string__ = "Voucher Template - Partner"
    template = fields.Many2One(
        'rsoft.voucher.template', "Template", required=True,
        ondelete='CASCADE')
    partner = fields.Many2One(
        'rsoft.partner', "Partner", required=True, ondelete='CASCADE')


class TemplateRegion(ModelSQL):
    "Voucher Template - Region"
    __name__ = 'rsoft.voucher.template-rsoft.region'
    __string__ = "Voucher Template - Region"
    template = fields.Many2One(
        'rsoft.voucher.template', "Template", required=True,
        ondelete='CASCADE')
    region = fields.Many2One(
        'rsoft.region', "Region", required=True, ondelete='CASCADE')
