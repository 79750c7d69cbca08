from trytond.cache import Cache
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access


class User(metaclass=PoolMeta):
    __name__ = 'res.user'

    rsoft_partner = fields.Many2One(
        'rsoft.partner', "Distribution Partner",
        domain=[('role', '!=', 'mso')],
        help="Bind the user to an LCO, distributor or JV: "
        "in the Pay-TV group 'Pay-TV LCO' the user sees and changes "
        "only the records of that partner and of the partners below it.")
    _get_rsoft_partners_cache = Cache(
        __name__ + '.get_rsoft_partners', context=False)

    @classmethod
    def get_rsoft_partners(cls):
        """Return the ids of the partners the user acts for, as a pair:
        (the bound partner and those below it,
        those and the partners above them, whose names they may read)"""
        user_id = Transaction().user
        result = cls._get_rsoft_partners_cache.get(user_id)
        if result is not None:
            return tuple(map(tuple, result))
        result = cls._compute_rsoft_partners(user_id)
        cls._get_rsoft_partners_cache.set(user_id, result)
        return result

    @classmethod
    def _compute_rsoft_partners(cls, user_id):
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        with without_check_access():
            user = cls(user_id)
            if not user.rsoft_partner:
                return (), ()
            scope = Partner.search([
                    ('parent', 'child_of', [user.rsoft_partner.id]),
                    ], order=[('id', 'ASC')])
            visible = {p.id for p in scope}
            node = user.rsoft_partner.parent
            while node:
                visible.add(node.id)
                node = node.parent
        return tuple(p.id for p in scope), tuple(sorted(visible))

    @classmethod
    def on_modification(cls, mode, users, field_names=None):
        super().on_modification(mode, users, field_names=field_names)
        if mode == 'write':
            cls.clear_rsoft_partners_cache()

    @classmethod
    def clear_rsoft_partners_cache(cls):
        pool = Pool()
        Rule = pool.get('ir.rule')
        cls._get_rsoft_partners_cache.clear()
        Rule._domain_get_cache.clear()

    @classmethod
    def _get_preferences(cls, user, context_only=False):
        preferences = super()._get_preferences(
            user, context_only=context_only)
        if not context_only and user.rsoft_partner:
            preferences['rsoft_partner'] = user.rsoft_partner.id
        return preferences


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _get_cache_key(cls, model_names):
        pool = Pool()
        User = pool.get('res.user')
        return (*super()._get_cache_key(model_names),
            User.get_rsoft_partners())

    @classmethod
    def _get_context(cls, model_name):
        pool = Pool()
        User = pool.get('res.user')
        context = super()._get_context(model_name)
        scope, visible = User.get_rsoft_partners()
        # -1 keeps a bound user whose partner vanished from seeing all
        context['rsoft_partners'] = list(scope) or [-1]
        context['rsoft_partners_visible'] = list(visible) or [-1]
        return context
