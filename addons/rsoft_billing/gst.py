"""GST invoices: their serial numbers, the place of supply and the
SAC/HSN code and revenue account of each kind of offer

Rule 46(b) of the CGST Rules 2017: an invoice carries "a consecutive
serial number not exceeding sixteen characters, in one or multiple
series, containing alphabets or numerals or special characters hyphen or
dash and slash", unique for a financial year."""
import re

from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import ValidationError
from trytond.modules.rsoft_catalogue.offer import KINDS
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

# The GST state code of each state and union territory, by its ISO 3166-2
# code; the codes ISO replaced (IN-CT, IN-OR, IN-TG, IN-UT, and the two
# union territories merged in 2020) are kept for the addresses that still
# use them
GST_STATES = {
    'IN-JK': '01',  # Jammu and Kashmir
    'IN-HP': '02',  # Himachal Pradesh
    'IN-PB': '03',  # Punjab
    'IN-CH': '04',  # Chandigarh
    'IN-UK': '05',  # Uttarakhand
    'IN-UT': '05',
    'IN-HR': '06',  # Haryana
    'IN-DL': '07',  # Delhi
    'IN-RJ': '08',  # Rajasthan
    'IN-UP': '09',  # Uttar Pradesh
    'IN-BR': '10',  # Bihar
    'IN-SK': '11',  # Sikkim
    'IN-AR': '12',  # Arunachal Pradesh
    'IN-NL': '13',  # Nagaland
    'IN-MN': '14',  # Manipur
    'IN-MZ': '15',  # Mizoram
    'IN-TR': '16',  # Tripura
    'IN-ML': '17',  # Meghalaya
    'IN-AS': '18',  # Assam
    'IN-WB': '19',  # West Bengal
    'IN-JH': '20',  # Jharkhand
    'IN-OD': '21',  # Odisha
    'IN-OR': '21',
    'IN-CG': '22',  # Chhattisgarh
    'IN-CT': '22',
    'IN-MP': '23',  # Madhya Pradesh
    'IN-GJ': '24',  # Gujarat
    # Dadra and Nagar Haveli and Daman and Diu, merged in 2020 under 26
    'IN-DH': '26',
    'IN-DD': '26',
    'IN-DN': '26',
    'IN-MH': '27',  # Maharashtra
    'IN-KA': '29',  # Karnataka
    'IN-GA': '30',  # Goa
    'IN-LD': '31',  # Lakshadweep
    'IN-KL': '32',  # Kerala
    'IN-TN': '33',  # Tamil Nadu
    'IN-PY': '34',  # Puducherry
    'IN-AN': '35',  # Andaman and Nicobar Islands
    'IN-TS': '36',  # Telangana
    'IN-TG': '36',
    'IN-AP': '37',  # Andhra Pradesh
    'IN-LA': '38',  # Ladakh
    }

# Rule 46(b): at most 16 characters of these
NUMBER_SIZE = 16
NUMBER_FORMAT = re.compile(r'[A-Za-z0-9/-]*')


class GSTNumberError(ValidationError):
    pass


def state_of(address):
    "Return the state or union territory of address, or None"
    subdivision = address.subdivision if address else None
    while subdivision and subdivision.parent:
        subdivision = subdivision.parent
    return subdivision


def place_of_supply(subdivision):
    "Return the place of supply as a GST invoice shows it: 27 - Maharashtra"
    if not subdivision:
        return ''
    code = GST_STATES.get(subdivision.code)
    return f'{code} - {subdivision.name}' if code else subdivision.name


def code_kind(code):
    "Return 'SAC' for a service accounting code, 'HSN' for goods"
    if code:
        # The SAC are the services chapter 99 of the tariff
        return 'SAC' if code.startswith('99') else 'HSN'


def check_number(number):
    "Raise GSTNumberError unless number is a GST invoice number"
    if len(number) > NUMBER_SIZE:
        raise GSTNumberError(gettext(
                'rsoft_billing.msg_gst_number_size',
                number=number, size=NUMBER_SIZE))
    if not NUMBER_FORMAT.fullmatch(number):
        raise GSTNumberError(gettext(
                'rsoft_billing.msg_gst_number_format', number=number))


def check_sequence(sequence):
    """Raise GSTNumberError unless every number sequence gives is a GST
    invoice number

    The widest number is the padding or the next number, whichever is
    longer: choose the padding to hold a year's invoices of the series."""
    Date = Pool().get('ir.date')
    if sequence.type != 'incremental':
        raise GSTNumberError(gettext(
                'rsoft_billing.msg_gst_sequence_type',
                sequence=sequence.rec_name))
    date = Date.today()
    prefix = sequence._process(sequence.prefix, date=date)
    suffix = sequence._process(sequence.suffix, date=date)
    number = '%%0%sd' % (sequence.padding or 0) % (
        sequence.number_next_internal or 1)
    try:
        check_number(f'{prefix}{number}{suffix}')
    except GSTNumberError as exception:
        raise GSTNumberError(gettext(
                'rsoft_billing.msg_gst_sequence',
                sequence=sequence.rec_name, error=exception.message)
            ) from exception


class InvoiceSequence(metaclass=PoolMeta):
    __name__ = 'account.fiscalyear.invoice_sequence'
    rsoft_lco = fields.Many2One(
        'rsoft.partner', "LCO", ondelete='RESTRICT',
        domain=[
            ('role', '=', 'lco'),
            ('company', '=', Eval('company', -1)),
            ],
        help="Number the invoices of this LCO's accounts in this series; "
        "empty for every LCO. The first matching line numbers an invoice.")
    rsoft_place_of_supply = fields.Many2One(
        'country.subdivision', "Place of Supply", ondelete='RESTRICT',
        domain=[
            ('country.code', '=', 'IN'),
            ('parent', '=', None),
            ],
        help="Number the invoices supplied in this state in this series "
        "(e.g. the series of the GSTIN registered there); empty for every "
        "state.")

    @classmethod
    def validate_fields(cls, invoice_sequences, field_names):
        super().validate_fields(invoice_sequences, field_names)
        if field_names & {'out_invoice_sequence', 'out_credit_note_sequence'}:
            for invoice_sequence in invoice_sequences:
                check_sequence(invoice_sequence.out_invoice_sequence)
                check_sequence(invoice_sequence.out_credit_note_sequence)


class SequenceStrict(metaclass=PoolMeta):
    __name__ = 'ir.sequence.strict'

    @classmethod
    def validate_fields(cls, sequences, field_names):
        pool = Pool()
        InvoiceSequence = pool.get('account.fiscalyear.invoice_sequence')
        super().validate_fields(sequences, field_names)
        if not field_names & {'prefix', 'suffix', 'padding', 'type'}:
            return
        ids = [s.id for s in sequences]
        with without_check_access():
            customer = InvoiceSequence.search(['OR',
                    ('out_invoice_sequence', 'in', ids),
                    ('out_credit_note_sequence', 'in', ids),
                    ])
        used = {s.id for i in customer
            for s in [i.out_invoice_sequence, i.out_credit_note_sequence]}
        for sequence in sequences:
            if sequence.id in used:
                check_sequence(sequence)


class OfferKind(ModelSQL, ModelView):
    "What a kind of offer is invoiced as: its SAC/HSN code and revenue"
    __name__ = 'rsoft.billing.offer_kind'
    __string__ = "Offer Kind"
    company = fields.Many2One(
        'company.company', "Company", required=True, ondelete='CASCADE')
    kind = fields.Selection(
        [k for k in KINDS if k[0]], "Kind", required=True, sort=False,
        help="The pay-TV kind of the offers.")
    kind_string = kind.translated('kind')
    sac = fields.Char(
        "SAC/HSN", size=8,
        help="The code printed on the GST invoice lines of the kind: the "
        "services accounting code (e.g. 998466 home programme distribution "
        "for packs, channels and NCF, 997319 rental of other equipment for "
        "STB rental and lease, 998734 installation of radio and television "
        "equipment) or the HSN of goods (8528 for an STB sold). Check them "
        "with the operator's tax adviser.")
    account_revenue = fields.Many2One(
        'account.account', "Revenue Account", ondelete='RESTRICT',
        domain=[
            ('type.revenue', '=', True),
            ('closed', '!=', True),
            ('company', '=', Eval('company', -1)),
            ],
        help="The account the kind's charges are posted to; empty for the "
        "revenue account of the offer's category.")
    _values_cache = Cache('rsoft.billing.offer_kind.values', context=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('kind_unique', Unique(t, t.company, t.kind),
                'rsoft_billing.msg_offer_kind_unique'),
            ]
        cls._order.insert(0, ('kind', 'ASC'))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    def get_rec_name(self, name):
        return self.kind_string

    @classmethod
    def validate_fields(cls, kinds, field_names):
        super().validate_fields(kinds, field_names)
        if 'sac' in field_names:
            for kind in kinds:
                if kind.sac and not re.fullmatch(r'\d{4,8}', kind.sac):
                    raise ValidationError(gettext(
                            'rsoft_billing.msg_offer_kind_sac',
                            kind=kind.rec_name, sac=kind.sac))

    @classmethod
    def get_values(cls, company, kind):
        "Return (SAC, revenue account id) of kind for company"
        key = (company.id, kind)
        values = cls._values_cache.get(key, -1)
        if values != -1:
            return values
        # Read for the LCO logins too, who see no configuration
        with without_check_access():
            records = cls.search([
                    ('company', '=', company.id),
                    ('kind', '=', kind),
                    ], limit=1)
        values = (None, None)
        if records:
            record, = records
            values = (record.sac, (
                    record.account_revenue.id if record.account_revenue
                    else None))
        cls._values_cache.set(key, values)
        return values

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        cls._values_cache.clear()
