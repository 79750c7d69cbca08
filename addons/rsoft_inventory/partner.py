from sql import Null

from trytond.model import fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access


class Partner(metaclass=PoolMeta):
    __name__ = 'rsoft.partner'

    stock_location = fields.Many2One(
        'stock.location', "Stock Location", readonly=True,
        ondelete='RESTRICT',
        help="Where the partner's set-top boxes and smart cards are; "
        "created with the partner.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The LCO's record rules on devices and moves follow it
        cls._system_fields |= {'stock_location'}

    @classmethod
    def create(cls, vlist):
        partners = super().create(vlist)
        cls.create_stock_locations(partners)
        return partners

    @classmethod
    def create_stock_locations(cls, partners):
        "Give each partner without one its own storage location"
        pool = Pool()
        Location = pool.get('stock.location')
        ModelData = pool.get('ir.model.data')
        partners = [p for p in partners if not p.stock_location]
        if not partners:
            return
        parent = ModelData.get_id('rsoft_inventory', 'location_partners')
        with without_check_access():
            locations = Location.create([{
                        'name': f"{p.code} Stock",
                        'code': p.code,
                        'type': 'storage',
                        'parent': parent,
                        'rsoft_partner': p.id,
                        } for p in partners])
            for partner, location in zip(partners, locations):
                partner.stock_location = location
            cls.save(partners)

    @classmethod
    def get_mso(cls, company_id=None):
        "Return the MSO of the company (of the context by default) or None"
        if company_id is None:
            company_id = Transaction().context.get('company', -1)
        partners = cls.search([
                ('role', '=', 'mso'),
                ('company', '=', company_id),
                ], limit=1, order=[('id', 'ASC')])
        return partners[0] if partners else None

    @classmethod
    def by_location(cls, locations):
        "Return {location: partner} for the partners' stock locations"
        partners = cls.search([
                ('stock_location', 'in', [loc.id for loc in locations]),
                ('active', 'in', [True, False]),
                ])
        return {p.stock_location: p for p in partners}

    def is_above(self, other):
        "Whether self is an ancestor of other in the distribution chain"
        parent = other.parent
        while parent:
            if parent == self:
                return True
            parent = parent.parent
        return False


class Location(SystemFieldsMixin, metaclass=PoolMeta):
    __name__ = 'stock.location'

    rsoft_partner = fields.Many2One(
        'rsoft.partner', "Distribution Partner", readonly=True,
        ondelete='RESTRICT',
        help="The partner whose stock the location holds: LCO users see "
        "only the locations of their own chain.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The LCO record rule on locations reads it
        cls._system_fields |= {'rsoft_partner'}

    @classmethod
    def __register__(cls, module_name):
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        cursor = Transaction().connection.cursor()
        exists = cls.__table_handler__(module_name).column_exist(
            'rsoft_partner')
        super().__register__(module_name)
        if not exists:
            # Migration: bind the partners' locations created before it
            location = cls.__table__()
            partner = Partner.__table__()
            cursor.execute(*location.update(
                    [location.rsoft_partner],
                    [partner.select(partner.id,
                            where=partner.stock_location == location.id)],
                    where=location.id.in_(partner.select(
                            partner.stock_location,
                            where=partner.stock_location != Null))))
