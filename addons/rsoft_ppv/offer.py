"""PPV events and VOD titles: offers of the catalogue with a viewing
window or a rental period, priced by their dated price versions"""
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import without_check_access

from .exceptions import EventModificationError, EventValidationError

VIDEO_KINDS = {'ppv', 'vod'}
# What a purchase was sold on: fixed once bought
_SOLD_FIELDS = {'rsoft_kind', 'ppv_start', 'ppv_end', 'vod_hours'}


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    ppv_start = fields.DateTime(
        "Window Start",
        states={
            'invisible': Eval('rsoft_kind') != 'ppv',
            'required': Eval('rsoft_kind') == 'ppv',
            },
        help="When the event opens to its buyers: their entitlement "
        "starts then.")
    ppv_end = fields.DateTime(
        "Window End",
        states={
            'invisible': Eval('rsoft_kind') != 'ppv',
            'required': Eval('rsoft_kind') == 'ppv',
            },
        help="When the event's viewing ends: the entitlement ends with "
        "it.")
    ppv_sale_end = fields.DateTime(
        "Sales Close",
        states={
            'invisible': Eval('rsoft_kind') != 'ppv',
            },
        help="The last moment the event may be bought.\n"
        "Leave empty to sell it until its window ends.")
    vod_hours = fields.Integer(
        "Rental Hours",
        states={
            'invisible': Eval('rsoft_kind') != 'vod',
            'required': Eval('rsoft_kind') == 'vod',
            },
        help="How long a rental of the title lasts, from its purchase.")
    cas_product = fields.Function(fields.Char(
            "CAS Product",
            states={
                'invisible': ~Eval('rsoft_kind').in_(list(VIDEO_KINDS)),
                },
            help="The product ID the head-end entitles the buyers to, in "
            "every active CAS system (CAS → Product Mappings holds one "
            "per system)."),
        'get_cas_product', setter='set_cas_product')

    @classmethod
    def default_vod_hours(cls):
        return 48

    @fields.depends('rsoft_kind', 'ppv_start', 'ppv_end', 'ppv_sale_end')
    def on_change_rsoft_kind(self):
        super().on_change_rsoft_kind()
        if self.rsoft_kind != 'ppv':
            self.ppv_start = self.ppv_end = self.ppv_sale_end = None

    @classmethod
    def validate_fields(cls, templates, field_names):
        super().validate_fields(templates, field_names)
        if field_names and not (field_names & {
                    'rsoft_kind', 'ppv_start', 'ppv_end', 'ppv_sale_end',
                    'vod_hours'}):
            return
        for template in templates:
            template.check_video()

    def check_video(self):
        "Check the window of an event and the rental period of a title"
        # That they are given is checked as required by their states
        if self.rsoft_kind == 'ppv' and self.ppv_start and self.ppv_end:
            if self.ppv_end <= self.ppv_start:
                raise EventValidationError(gettext(
                        'rsoft_ppv.msg_window_dates', offer=self.rec_name))
            if self.ppv_sale_end and self.ppv_sale_end > self.ppv_end:
                raise EventValidationError(gettext(
                        'rsoft_ppv.msg_sale_end_after',
                        offer=self.rec_name))
        if (self.rsoft_kind == 'vod' and self.vod_hours is not None
                and self.vod_hours < 1):
            raise EventValidationError(gettext(
                    'rsoft_ppv.msg_rental_hours', offer=self.rec_name))

    @classmethod
    def check_modification(cls, mode, templates, values=None, external=False):
        pool = Pool()
        Purchase = pool.get('rsoft.ppv.purchase')
        super().check_modification(
            mode, templates, values=values, external=external)
        if mode != 'write' or not (values.keys() & _SOLD_FIELDS):
            return
        with without_check_access():
            purchases = Purchase.search([
                    ('product.template', 'in', [t.id for t in templates]),
                    ('state', '=', 'confirmed'),
                    ], limit=1)
        if purchases:
            purchase, = purchases
            raise EventModificationError(gettext(
                    'rsoft_ppv.msg_window_purchased',
                    offer=purchase.product.rec_name,
                    purchase=purchase.rec_name))

    @property
    def sale_end(self):
        "The last moment the event may be bought, None for a title"
        if self.rsoft_kind == 'ppv':
            return self.ppv_sale_end or self.ppv_end

    @classmethod
    def get_cas_product(cls, templates, name):
        pool = Pool()
        Mapping = pool.get('rsoft.cas.mapping')
        result = dict.fromkeys(map(int, templates))
        ids = defaultdict(dict)
        with without_check_access():
            for mapping in Mapping.search([
                        ('offer.template', 'in', list(result)),
                        ('system.active', '=', True),
                        ], order=[('system.code', 'ASC')]):
                ids[mapping.offer.template.id][mapping.system.code] = (
                    mapping.cas_product)
        for template_id, by_system in ids.items():
            if len(set(by_system.values())) == 1:
                result[template_id], = set(by_system.values())
            else:
                result[template_id] = ', '.join(
                    f'{code}: {id_}' for code, id_ in by_system.items())
        return result

    @classmethod
    def set_cas_product(cls, templates, name, value):
        """Map the variants of templates to the CAS product value in every
        active CAS system (none: unmap them)"""
        pool = Pool()
        Mapping = pool.get('rsoft.cas.mapping')
        System = pool.get('rsoft.cas.system')
        products = [p for t in templates for p in t.products]
        value = (value or '').strip()
        # Whoever may change the offer sets its CAS product: the mappings
        # are otherwise the CAS administrators'
        with without_check_access():
            mappings = Mapping.search([
                    ('offer', 'in', [p.id for p in products]),
                    ('system.active', '=', True),
                    ])
            if not value:
                Mapping.delete(mappings)
                return
            systems = System.search([])
            if not systems:
                raise EventValidationError(gettext(
                        'rsoft_ppv.msg_no_cas_system'))
            Mapping.write(mappings, {'cas_product': value})
            mapped = {(m.system, m.offer) for m in mappings}
            Mapping.create([{
                        'system': s.id, 'offer': p.id, 'cas_product': value,
                        } for s in systems for p in products
                    if (s, p) not in mapped])
