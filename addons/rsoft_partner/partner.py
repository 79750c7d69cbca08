from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin,
    ModelSQL,
    ModelView,
    Unique,
    fields,
    tree,
)
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import HierarchyError

ROLES = [
    ('mso', "MSO"),
    ('jv', "Joint Venture"),
    ('distributor', "Distributor"),
    ('lco', "LCO"),
    ]
# The roles a parent may have, for each role of its child.
PARENT_ROLES = {
    'mso': set(),
    'jv': {'mso'},
    'distributor': {'mso', 'jv'},
    'lco': {'mso', 'jv', 'distributor'},
    }


class Partner(
        SystemFieldsMixin, tree(name='code', separator=' / '),
        DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'rsoft.partner'
    __string__ = "Distribution Partner"

    party = fields.Many2One(
        'party.party', "Party", required=True, ondelete='RESTRICT',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The legal entity: name, addresses, contacts, tax identifiers.")
    code = fields.Char(
        "Code", required=True, strip=True,
        help="The operator's short code for the partner, "
        "printed on bills and reports.")
    role = fields.Selection(ROLES, "Role", required=True, sort=False)
    role_string = role.translated('role')
    parent = fields.Many2One(
        'rsoft.partner', "Parent",
        states={
            'invisible': Eval('role') == 'mso',
            'required': Eval('role') != 'mso',
            },
        help="The partner this one buys from in the distribution chain.")
    children = fields.One2Many('rsoft.partner', 'parent', "Children")
    company = fields.Many2One('company.company', "Company", required=True)
    region = fields.Many2One(
        'rsoft.region', "Territory",
        help="The region the partner serves; it decides which offers, "
        "NCF rules and price lists apply to its subscribers.")
    price_list = fields.Many2One(
        'product.price_list', "Price List",
        domain=[('company', '=', Eval('company', -1))],
        help="The price list of the partner's subscribers; "
        "when empty, the territory's, then the parent's applies.")
    agreements = fields.One2Many(
        'rsoft.partner.agreement', 'partner', "Agreements")
    users = fields.One2Many(
        'res.user', 'rsoft_partner', "Users", readonly=True,
        help="The back-office users bound to this partner.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'rsoft_partner.msg_partner_code_unique'),
            ]
        cls._order.insert(0, ('code', 'ASC'))

    @classmethod
    def on_modification(cls, mode, partners, field_names=None):
        pool = Pool()
        User = pool.get('res.user')
        super().on_modification(mode, partners, field_names=field_names)
        # A new or moved partner changes the scope of the users above it
        if mode != 'write' or field_names & {'parent', 'active'}:
            User.clear_rsoft_partners_cache()

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    def get_rec_name(self, name):
        return f'{self.code} - {self.party.rec_name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause[:3]
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('code', operator, value, *clause[3:]),
            ('party.name', operator, value, *clause[3:]),
            ]

    @classmethod
    def validate_fields(cls, partners, field_names):
        super().validate_fields(partners, field_names)
        if field_names & {'role', 'parent'}:
            for partner in partners:
                partner.check_role()

    def check_role(self):
        parent_role = self.parent.role if self.parent else None
        allowed = PARENT_ROLES[self.role]
        if (parent_role not in allowed) if allowed else self.parent:
            raise HierarchyError(gettext(
                    'rsoft_partner.msg_partner_parent_role',
                    partner=self.rec_name,
                    role=self.role_string,
                    parent=self.parent.rec_name if self.parent else '-'))
        if self.role == 'lco' and self.children:
            raise HierarchyError(gettext(
                    'rsoft_partner.msg_partner_lco_children',
                    partner=self.rec_name))

    def get_region(self):
        "Return the territory of the partner or of its nearest ancestor"
        partner = self
        while partner and not partner.region:
            partner = partner.parent
        return partner.region if partner else None

    def get_price_list(self):
        "Return the price list that applies to the partner's subscribers"
        partner = self
        while partner:
            if partner.price_list:
                return partner.price_list
            region = partner.region
            while region:
                if region.price_list:
                    return region.price_list
                region = region.parent
            partner = partner.parent

    def get_agreement(self, date=None):
        pool = Pool()
        Agreement = pool.get('rsoft.partner.agreement')
        Date = pool.get('ir.date')
        date = date or Date.today()
        agreements = Agreement.search([
                ('partner', '=', self.id),
                ('start_date', '<=', date),
                ['OR',
                    ('end_date', '=', None),
                    ('end_date', '>=', date),
                    ],
                ], order=[('start_date', 'DESC')], limit=1)
        if agreements:
            agreement, = agreements
            return agreement

    def get_share(self, kind, date=None):
        """Return the rate of the revenue of kind the partner keeps

        kind is 'ncf', 'pay_channel' or 'hardware'.  Without an agreement
        the configured default applies (TRAI: 45% of NCF to the LCO)."""
        pool = Pool()
        Configuration = pool.get('rsoft.partner.configuration')
        agreement = self.get_agreement(date)
        if agreement:
            return getattr(agreement, f'{kind}_share')
        return Configuration(1).get_default_share(kind)


class Region(metaclass=PoolMeta):
    __name__ = 'rsoft.region'

    price_list = fields.Many2One(
        'product.price_list', "Price List",
        help="The price list of the LCOs of this region "
        "that have none of their own.")
    partners = fields.One2Many('rsoft.partner', 'region', "Partners")
