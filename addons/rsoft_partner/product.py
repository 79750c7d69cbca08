from trytond.model import ModelSQL, fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    available_partners = fields.Many2Many(
        'product.template-rsoft.partner', 'template', 'partner',
        "Available to Partners",
        states={
            'invisible': ~Eval('rsoft_kind'),
            },
        help="Limit the offer to these partners and the partners "
        "below them; leave empty for all.")

    def is_available_for(self, partner):
        "Tell whether the subscribers of partner may take the offer"
        if self.available_partners:
            ancestors = set()
            node = partner
            while node:
                ancestors.add(node)
                node = node.parent
            if not ancestors & set(self.available_partners):
                return False
        return self.is_available(partner.get_region())


class TemplatePartner(ModelSQL):
    __name__ = 'product.template-rsoft.partner'
    __string__ = "Offer - Partner"

    template = fields.Many2One(
        'product.template', "Offer", required=True, ondelete='CASCADE')
    partner = fields.Many2One(
        'rsoft.partner', "Partner", required=True, ondelete='CASCADE')
