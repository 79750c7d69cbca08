from sql.operators import Equal

from trytond.i18n import gettext
from trytond.model import (
    Exclude,
    ModelSQL,
    ModelView,
    Unique,
    Workflow,
    fields,
)
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If

from .common import (
    MONEY_DIGITS,
    RATE_DIGITS,
    at_date,
    format_amount,
    format_date,
    round_amount,
)
from .exceptions import (
    OfferPriceError,
    OfferPublishedError,
    OfferValidationError,
    RateValidationError,
)

KINDS = [
    (None, ''),
    ('ncf', "NCF"),
    ('alacarte', "A-la-carte channel"),
    ('broadcaster_bouquet', "Broadcaster bouquet"),
    ('base_pack', "Base pack"),
    ('addon_pack', "Add-on pack"),
    ('ppv', "PPV event"),
    ('vod', "VOD title"),
    ('dvr', "DVR service"),
    ('stb_rental', "STB rental"),
    ('stb_lease', "STB lease"),
    ('stb_sale', "STB sale"),
    ('installation', "Installation"),
    ('activation', "Activation"),
    ]
PACK_KINDS = {'base_pack', 'addon_pack'}
BOUQUET_KINDS = PACK_KINDS | {'broadcaster_bouquet'}
OFFER_STATES = [
    ('draft', "Draft"),
    ('published', "Published"),
    ('retired', "Retired"),
    ]
TERM_MONTHS = (1, 2, 3, 6, 12)
# Changing these on a published offer would change what its subscribers get
_OFFER_LOCKED_FIELDS = {'rsoft_kind', 'channel', 'bouquet'}


class Template(SystemFieldsMixin, Workflow, metaclass=PoolMeta):
    __name__ = 'product.template'
    _transition_state = 'offer_state'

    rsoft_kind = fields.Selection(
        KINDS, "Pay-TV Kind", sort=False,
        states={
            'readonly': Eval('offer_state', 'draft') != 'draft',
            },
        help="What the offer sells to a Pay-TV subscriber.\n"
        "Leave empty for products that are not Pay-TV offers.")
    channel = fields.Many2One(
        'rsoft.channel', "Channel", ondelete='RESTRICT',
        states={
            'required': Eval('rsoft_kind') == 'alacarte',
            'invisible': Eval('rsoft_kind') != 'alacarte',
            'readonly': Eval('offer_state', 'draft') != 'draft',
            },
        help="The channel sold a-la-carte.")
    bouquet = fields.Many2One(
        'rsoft.bouquet', "Bouquet", ondelete='RESTRICT',
        states={
            'required': Eval('rsoft_kind').in_(list(BOUQUET_KINDS)),
            'invisible': ~Eval('rsoft_kind').in_(list(BOUQUET_KINDS)),
            'readonly': Eval('offer_state', 'draft') != 'draft',
            },
        help="A broadcaster bouquet for a broadcaster bouquet offer, "
        "an operator bouquet for a base or add-on pack.")
    offer_state = fields.Selection(
        OFFER_STATES, "Offer State", readonly=True, required=True,
        sort=False,
        help="Only published offers can be sold.")
    available_regions = fields.Many2Many(
        'product.template-rsoft.region', 'template', 'region',
        "Available Regions",
        states={
            'invisible': ~Eval('rsoft_kind'),
            },
        help="The regions where the offer is sold "
        "(their sub-regions included).\n"
        "Leave empty to sell it everywhere.")
    offer_prices = fields.One2Many(
        'rsoft.offer.price', 'template', "Offer Prices",
        states={
            'invisible': ~Eval('rsoft_kind'),
            },
        help="The dated price versions of the offer.")
    price_version = fields.Function(fields.Many2One(
            'rsoft.offer.price', "Price Version",
            states={
                'invisible': ~Eval('rsoft_kind'),
                },
            help="The published price version in force at the context date."),
        'get_current_price')
    monthly_price = fields.Function(fields.Numeric(
            "Monthly Price", digits=MONEY_DIGITS,
            states={
                'invisible': ~Eval('rsoft_kind'),
                },
            help="The monthly price in force at the context date."),
        'get_current_price')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'offer_state'}
        cls._transitions |= {
            ('draft', 'published'),
            ('published', 'retired'),
            ('published', 'draft'),
            ('retired', 'draft'),
            }
        cls._buttons.update({
                'publish': {
                    'invisible': (~Eval('rsoft_kind')
                        | (Eval('offer_state') != 'draft')),
                    'icon': 'tryton-ok',
                    'depends': ['rsoft_kind', 'offer_state'],
                    },
                'retire': {
                    'invisible': Eval('offer_state') != 'published',
                    'icon': 'tryton-archive',
                    'depends': ['offer_state'],
                    },
                'draft': {
                    'invisible': (~Eval('rsoft_kind')
                        | (Eval('offer_state') == 'draft')),
                    'icon': If(Eval('offer_state') == 'retired',
                        'tryton-undo', 'tryton-back'),
                    'depends': ['rsoft_kind', 'offer_state'],
                    },
                })

    @classmethod
    def default_offer_state(cls):
        return 'draft'

    @classmethod
    def copy(cls, templates, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('offer_state', 'draft')
        return super().copy(templates, default=default)

    @fields.depends(
        'rsoft_kind', 'type', 'cost_price_method', 'default_uom', 'channel',
        'bouquet')
    def on_change_rsoft_kind(self):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Uom = pool.get('product.uom')
        if self.rsoft_kind:
            self.type = 'service'
            self.cost_price_method = 'fixed'
            if not self.default_uom:
                self.default_uom = Uom(ModelData.get_id('product', 'uom_unit'))
        if self.rsoft_kind != 'alacarte':
            self.channel = None
        if self.rsoft_kind not in BOUQUET_KINDS:
            self.bouquet = None

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and values.get('rsoft_kind'):
            values.setdefault('type', 'service')
        return values

    @classmethod
    def check_modification(cls, mode, templates, values=None, external=False):
        super().check_modification(
            mode, templates, values=values, external=external)
        if ((mode == 'write' and values.keys() & _OFFER_LOCKED_FIELDS)
                or mode == 'delete'):
            for template in templates:
                if template.offer_state != 'draft':
                    raise OfferPublishedError(gettext(
                            'rsoft_catalogue.msg_offer_modify_published',
                            offer=template.rec_name))

    @classmethod
    def validate_fields(cls, templates, field_names):
        super().validate_fields(templates, field_names)
        cls.check_offer_channel(templates, field_names)
        cls.check_offer_bouquet(templates, field_names)

    @classmethod
    def check_offer_channel(cls, templates, field_names=None):
        if field_names and not (field_names & {'rsoft_kind', 'channel'}):
            return
        for template in templates:
            if template.channel and template.rsoft_kind != 'alacarte':
                raise OfferValidationError(gettext(
                        'rsoft_catalogue.msg_offer_channel_not_alacarte',
                        offer=template.rec_name))

    @classmethod
    def check_offer_bouquet(cls, templates, field_names=None):
        if field_names and not (field_names & {'rsoft_kind', 'bouquet'}):
            return
        for template in templates:
            bouquet, kind = template.bouquet, template.rsoft_kind
            if not bouquet:
                continue
            if kind not in BOUQUET_KINDS:
                raise OfferValidationError(gettext(
                        'rsoft_catalogue.msg_offer_bouquet_not_allowed',
                        offer=template.rec_name))
            if kind == 'broadcaster_bouquet' and bouquet.kind != 'broadcaster':
                raise OfferValidationError(gettext(
                        'rsoft_catalogue.msg_offer_bouquet_not_broadcaster',
                        offer=template.rec_name, bouquet=bouquet.rec_name))
            if kind in PACK_KINDS and bouquet.kind != 'dpo':
                raise OfferValidationError(gettext(
                        'rsoft_catalogue.msg_offer_bouquet_not_dpo',
                        offer=template.rec_name, bouquet=bouquet.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('published')
    def publish(cls, templates):
        pool = Pool()
        TariffRule = pool.get('rsoft.tariff.rule')
        TariffRule.check_publish_offers(templates)

    @classmethod
    @ModelView.button
    @Workflow.transition('retired')
    def retire(cls, templates):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, templates):
        pass

    def get_offer_channels(self):
        "Return the set of channels the offer entitles"
        if self.channel:
            return {self.channel}
        elif self.bouquet:
            return self.bouquet.get_channels()
        return set()

    def get_offer_channel_ids(self):
        "Return the frozenset of the ids of the channels the offer entitles"
        if self.channel:
            return frozenset([self.channel.id])
        elif self.bouquet:
            return self.bouquet.get_channel_ids()
        return frozenset()

    def is_available(self, region=None):
        """Tell if the offer is sold in region, a rsoft.region or its id
        (None: regardless of region)"""
        pool = Pool()
        Region = pool.get('rsoft.region')
        if not self.available_regions or region is None:
            return True
        if isinstance(region, int):
            region = Region(region)
        return bool(
            set(self.available_regions) & set(region.get_ancestors()))

    @classmethod
    def get_price_versions(cls, templates, date=None):
        """Return {template id: the published rsoft.offer.price in force at
        date or None}"""
        pool = Pool()
        OfferPrice = pool.get('rsoft.offer.price')
        date = at_date(date)
        result = dict.fromkeys(t.id for t in templates)
        versions = OfferPrice.search([
                ('template', 'in', list(result)),
                ('state', '=', 'published'),
                ('start_date', '<=', date),
                ], order=[('start_date', 'ASC'), ('id', 'ASC')])
        for version in versions:
            result[version.template.id] = version
        return result

    def get_price_version(self, date=None):
        "Return the published rsoft.offer.price in force at date or None"
        return self.get_price_versions([self], date=date)[self.id]

    @classmethod
    def get_current_price(cls, templates, names):
        versions = cls.get_price_versions(
            [t for t in templates if t.rsoft_kind])
        result = {name: dict.fromkeys(t.id for t in templates)
            for name in names}
        for template_id, version in versions.items():
            if version:
                if 'price_version' in result:
                    result['price_version'][template_id] = version.id
                if 'monthly_price' in result:
                    result['monthly_price'][template_id] = version.price
        return result

    def get_term_price(self, months=1, date=None):
        """Return the price version in force at date and the amount for
        a term of months"""
        date = at_date(date)
        version = self.get_price_version(date)
        if not version:
            raise OfferPriceError(gettext(
                    'rsoft_catalogue.msg_offer_no_price',
                    offer=self.rec_name, date=format_date(date)))
        amount = version.get_term_amount(months)
        if amount is None:
            raise OfferPriceError(gettext(
                    'rsoft_catalogue.msg_offer_no_term',
                    offer=self.rec_name, months=months,
                    version=version.rec_name))
        return version, amount


class TemplateRegion(ModelSQL):
    __name__ = 'product.template-rsoft.region'
    __string__ = "Offer - Region"
    template = fields.Many2One(
        'product.template', "Offer", required=True, ondelete='CASCADE')
    region = fields.Many2One(
        'rsoft.region', "Region", required=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('template')


class Product(metaclass=PoolMeta):
    __name__ = 'product.product'

    def get_offer_channels(self):
        "Return the set of channels the offer entitles"
        return self.template.get_offer_channels()

    def get_offer_channel_ids(self):
        "Return the frozenset of the ids of the channels the offer entitles"
        return self.template.get_offer_channel_ids()

    def is_available(self, region=None):
        "Tell if the offer is sold in region (None: regardless of region)"
        return self.template.is_available(region)

    def get_price_version(self, date=None):
        "Return the published rsoft.offer.price in force at date or None"
        return self.template.get_price_version(date=date)

    def get_term_price(self, months=1, date=None):
        """Return the price version in force at date and the amount for
        a term of months"""
        return self.template.get_term_price(months=months, date=date)


class OfferPrice(SystemFieldsMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'rsoft.offer.price'
    __string__ = "Offer Price"
    _states = {
        'readonly': Eval('state') != 'draft',
        }
    template = fields.Many2One(
        'product.template', "Offer", required=True, ondelete='CASCADE',
        domain=[
            ('rsoft_kind', '!=', None),
            ],
        states=_states)
    start_date = fields.Date(
        "Start Date", required=True, states=_states,
        help="The first day the version applies; it applies until the "
        "start date of the next published version of the offer.")
    price = fields.Numeric(
        "Monthly Price", digits=MONEY_DIGITS, required=True, states=_states,
        help="The price of one month, without taxes.")
    terms = fields.One2Many(
        'rsoft.offer.price.term', 'price', "Terms", states=_states,
        help="The prices of longer terms.\n"
        "Without a 1-month term, one month costs the monthly price.")
    state = fields.Selection([
            ('draft', "Draft"),
            ('published', "Published"),
            ], "State", readonly=True, required=True, sort=False,
        help="A published version is frozen: a new price is a new "
        "version with a later start date.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'state'}
        cls.__access__.add('template')
        t = cls.__table__()
        cls._sql_constraints += [
            ('template_start_date_published_exclude',
                Exclude(t, (t.template, Equal), (t.start_date, Equal),
                    where=t.state == 'published'),
                'rsoft_catalogue.msg_offer_price_date_unique'),
            ]
        cls._order.insert(0, ('start_date', 'DESC'))
        cls._transitions |= {
            ('draft', 'published'),
            }
        cls._buttons.update({
                'publish': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    def get_rec_name(self, name):
        return gettext(
            'rsoft_catalogue.msg_offer_price_rec_name',
            offer=self.template.name,
            date=format_date(self.start_date),
            price=format_amount(self.price))

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('template.rec_name',) + tuple(clause[1:])]

    @classmethod
    def check_modification(cls, mode, prices, values=None, external=False):
        super().check_modification(
            mode, prices, values=values, external=external)
        if mode in {'write', 'delete'}:
            for price in prices:
                if price.state == 'published':
                    raise OfferPublishedError(gettext(
                            'rsoft_catalogue.msg_offer_price_published',
                            version=price.rec_name))

    @classmethod
    def copy(cls, prices, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('state', 'draft')
        return super().copy(prices, default=default)

    @classmethod
    def validate_fields(cls, prices, field_names):
        super().validate_fields(prices, field_names)
        if field_names and 'price' not in field_names:
            return
        for price in prices:
            if price.price < 0:
                raise OfferValidationError(gettext(
                        'rsoft_catalogue.msg_offer_price_negative',
                        version=price.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('published')
    def publish(cls, prices):
        pool = Pool()
        TariffRule = pool.get('rsoft.tariff.rule')
        TariffRule.check_publish_prices(prices)

    def get_term_amount(self, months=1):
        "Return the amount for a term of months or None if not offered"
        for term in self.terms:
            if term.months == months:
                return term.amount
        if months == 1:
            return round_amount(self.price)


class OfferPriceTerm(ModelSQL, ModelView):
    __name__ = 'rsoft.offer.price.term'
    __string__ = "Offer Price Term"
    price = fields.Many2One(
        'rsoft.offer.price', "Price Version", required=True,
        ondelete='CASCADE')
    months = fields.Integer(
        "Months", required=True,
        help="The length of the term: 1, 2, 3, 6 or 12 months.")
    discount = fields.Numeric(
        "Discount", digits=RATE_DIGITS, required=True,
        help="The discount on the monthly price times the months.")
    fixed_amount = fields.Numeric(
        "Fixed Amount", digits=MONEY_DIGITS,
        help="The price of the whole term; it overrides the discount.")
    amount = fields.Function(fields.Numeric(
            "Amount", digits=MONEY_DIGITS,
            help="The price of the whole term."),
        'on_change_with_amount')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('price')
        t = cls.__table__()
        cls._sql_constraints += [
            ('price_months_unique', Unique(t, t.price, t.months),
                'rsoft_catalogue.msg_offer_term_unique'),
            ]
        cls._order.insert(0, ('months', 'ASC'))

    @classmethod
    def default_discount(cls):
        return 0

    @fields.depends(
        'fixed_amount', 'months', 'discount', 'price', '_parent_price.price')
    def on_change_with_amount(self, name=None):
        if self.fixed_amount is not None:
            return self.fixed_amount
        if self.months and self.price and self.price.price is not None:
            discount = self.discount or 0
            return round_amount(
                self.price.price * self.months * (1 - discount))

    def get_rec_name(self, name):
        return f'{self.price.rec_name} x {self.months}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('price.rec_name',) + tuple(clause[1:])]

    @classmethod
    def check_modification(cls, mode, terms, values=None, external=False):
        pool = Pool()
        OfferPrice = pool.get('rsoft.offer.price')
        super().check_modification(
            mode, terms, values=values, external=external)
        versions = {t.price for t in terms}
        if values and values.get('price'):
            versions.add(OfferPrice(values['price']))
        for version in versions:
            if version.state == 'published':
                raise OfferPublishedError(gettext(
                        'rsoft_catalogue.msg_offer_price_published',
                        version=version.rec_name))

    @classmethod
    def validate_fields(cls, terms, field_names):
        super().validate_fields(terms, field_names)
        if field_names and not (
                field_names & {'months', 'discount', 'fixed_amount'}):
            return
        for term in terms:
            term.check_figures()

    def check_figures(self):
        if self.months not in TERM_MONTHS:
            raise OfferValidationError(gettext(
                    'rsoft_catalogue.msg_offer_term_months',
                    months=self.months,
                    allowed=', '.join(map(str, TERM_MONTHS))))
        if not (0 <= self.discount < 1):
            raise RateValidationError(gettext(
                    'rsoft_catalogue.msg_offer_term_discount',
                    term=self.rec_name))
        if self.fixed_amount is not None and self.fixed_amount < 0:
            raise OfferValidationError(gettext(
                    'rsoft_catalogue.msg_offer_term_fixed_negative',
                    term=self.rec_name))
