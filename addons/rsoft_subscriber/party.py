from trytond.model import fields
from trytond.model.fields import SQL_OPERATORS
from trytond.pool import Pool, PoolMeta


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    rsoft_subscribers = fields.One2Many(
        'rsoft.subscriber', 'party', "Subscriber Accounts", readonly=True)
    rsoft_lcos = fields.Function(
        fields.Many2Many(
            'rsoft.partner', None, None, "Subscriber LCOs",
            help="The LCOs that serve the subscriber accounts of the party."),
        'get_rsoft_lcos', searcher='search_rsoft_lcos')

    def get_rsoft_lcos(self, name):
        return sorted({s.lco.id for s in self.rsoft_subscribers})

    @classmethod
    def search_rsoft_lcos(cls, name, clause):
        """Search the parties by the LCOs of their accounts, archived ones
        included; None: the parties of no account"""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        # Raw SQL: the record rules of the parties search on it, and through
        # the ORM the rules and active test of the accounts would hide the
        # accounts of other LCOs, which are what the rules must see
        subscriber = Subscriber.__table__()
        _, operator, value = clause[:3]
        if value is None and operator in {'=', '!='}:
            query = subscriber.select(subscriber.party)
            return [('id', 'not in' if operator == '=' else 'in', query)]
        query = subscriber.select(subscriber.party,
            where=SQL_OPERATORS[operator](subscriber.lco, value))
        return [('id', 'in', query)]
