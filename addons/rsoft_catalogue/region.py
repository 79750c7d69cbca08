from trytond.model import (
    DeactivableMixin,
    ModelSQL,
    ModelView,
    Unique,
    fields,
    tree,
)


class Region(DeactivableMixin, tree(separator=' / '), ModelSQL, ModelView):
    __name__ = 'rsoft.region'
    __string__ = "Region"
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char(
        "Code", required=True, strip=True,
        help="A short unique code, e.g. a state or district code.")
    parent = fields.Many2One(
        'rsoft.region', "Parent", ondelete='RESTRICT',
        help="The larger region this one belongs to.")
    children = fields.One2Many('rsoft.region', 'parent', "Children")

    @classmethod
    def __setup__(cls):
        cls.code.search_unaccented = False
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'rsoft_catalogue.msg_region_code_unique'),
            ]
        cls._order.insert(0, ('name', 'ASC'))

    @classmethod
    def search_rec_name(cls, name, clause):
        if clause[1].startswith('!') or clause[1].startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            super().search_rec_name(name, clause),
            ('code',) + tuple(clause[1:]),
            ]

    def get_ancestors(self):
        "Return the region and its ancestors, nearest first"
        regions, region = [], self
        while region and region not in regions:
            regions.append(region)
            region = region.parent
        return regions
