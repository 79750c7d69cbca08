from decimal import Decimal

from sql import Literal

from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, Unique, fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .common import (
    MONEY_DIGITS,
    RATE_DIGITS,
    at_date,
    dated_amounts,
    format_date,
)
from .exceptions import BouquetValidationError

KINDS = [
    ('broadcaster', "Broadcaster bouquet"),
    ('dpo', "Operator (DPO) bouquet"),
    ]
_RATE = Decimal(1) / 10 ** RATE_DIGITS[1]


# {bouquet id: the ids of its active channels, nested bouquets included}
_channel_ids = Cache('rsoft_catalogue.bouquet_channel_ids', context=False)
# The ids of the channels the government mandates
_mandated_ids = Cache('rsoft_catalogue.mandated_channel_ids', context=False)

class Bouquet(SystemFieldsMixin, DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'rsoft.bouquet'
    __string__ = "Bouquet"
    name = fields.Char("Name", required=True)
    code = fields.Char("Code", required=True, strip=True)
    kind = fields.Selection(
        KINDS, "Kind", required=True, sort=False,
        help="A broadcaster bouquet holds the channels of one broadcaster "
        "at its MRP; an operator bouquet mixes channels and broadcaster "
        "bouquets at the operator's declared price (DRP).")
    broadcaster = fields.Many2One(
        'party.party', "Broadcaster", ondelete='RESTRICT',
        states={
            'required': Eval('kind') == 'broadcaster',
            'invisible': Eval('kind') != 'broadcaster',
            })
    channels = fields.Many2Many(
        'rsoft.bouquet-rsoft.channel', 'bouquet', 'channel', "Channels")
    bouquets = fields.Many2Many(
        'rsoft.bouquet-rsoft.bouquet', 'bouquet', 'child', "Bouquets",
        states={
            'invisible': Eval('kind') != 'dpo',
            },
        help="The broadcaster bouquets included in this operator bouquet.")
    parents = fields.Many2Many(
        'rsoft.bouquet-rsoft.bouquet', 'child', 'bouquet', "In Bouquets",
        readonly=True,
        states={
            'invisible': Eval('kind') != 'broadcaster',
            },
        help="The operator bouquets that include this bouquet.")
    prices = fields.One2Many(
        'rsoft.bouquet.price', 'bouquet', "Prices",
        help="The broadcaster's MRP of a broadcaster bouquet, or the "
        "operator's declared price (DRP) of an operator bouquet, by date.")
    all_channels = fields.Function(fields.Many2Many(
            'rsoft.channel', None, None, "All Channels",
            help="The channels of the bouquet and of its bouquets."),
        'get_figures')
    channel_count = fields.Function(
        fields.Integer("Channel Count"), 'get_figures')
    alacarte_total = fields.Function(fields.Numeric(
            "A-la-carte Total", digits=MONEY_DIGITS,
            help="The sum of the MRPs of all the channels "
            "at the context date."),
        'get_figures')
    price = fields.Function(fields.Numeric(
            "Price", digits=MONEY_DIGITS,
            help="The price in force at the context date."),
        'get_figures')
    discount = fields.Function(fields.Numeric(
            "Discount", digits=RATE_DIGITS,
            help="The price against the a-la-carte total: "
            "1 - price / a-la-carte total."),
        'get_figures')

    @classmethod
    def __setup__(cls):
        cls.code.search_unaccented = False
        super().__setup__()
        # Changed from the operator bouquets, whose checks then run
        cls._system_fields |= {'parents'}
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'rsoft_catalogue.msg_bouquet_code_unique'),
            ]
        cls._order.insert(0, ('name', 'ASC'))

    @classmethod
    def default_kind(cls):
        return 'dpo'

    @classmethod
    def copy(cls, bouquets, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('parents')
        return super().copy(bouquets, default=default)

    @fields.depends('kind', 'broadcaster', 'bouquets')
    def on_change_kind(self):
        if self.kind != 'broadcaster':
            self.broadcaster = None
        if self.kind != 'dpo':
            self.bouquets = []

    def get_rec_name(self, name):
        return f'[{self.code}] {self.name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        if clause[1].startswith('!') or clause[1].startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('name',) + tuple(clause[1:]),
            ('code',) + tuple(clause[1:]),
            ]

    def get_channels(self):
        "Return the set of channels, those of nested bouquets included"
        Channel = Pool().get('rsoft.channel')
        return set(Channel.browse(sorted(self.get_channel_ids())))

    def get_channel_ids(self):
        """Return the frozenset of the ids of the channels, those of nested
        bouquets included"""
        # The portals price every pack of the catalogue, each holding up
        # to hundreds of channels: their ids are kept until the bouquets or
        # the channels change
        ids = _channel_ids.get(self.id)
        if ids is None:
            ids = _channel_ids.set(self.id, frozenset(
                    self._read_channel_ids()))
        return ids

    def _read_channel_ids(self):
        "Read the ids of the active channels of the bouquet and its nested"
        pool = Pool()
        Channel = pool.get('rsoft.channel')
        BouquetChannel = pool.get('rsoft.bouquet-rsoft.channel')
        BouquetBouquet = pool.get('rsoft.bouquet-rsoft.bouquet')
        cursor = Transaction().connection.cursor()
        nested = BouquetBouquet.__table__()
        child = self.__table__()
        seen, todo = set(), {self.id}
        while todo:
            seen |= todo
            # As the Many2Many reads them: the active bouquets only
            cursor.execute(*nested.join(child,
                    condition=nested.child == child.id
                    ).select(nested.child,
                    where=fields.SQL_OPERATORS['in'](
                        nested.bouquet, list(todo))
                    & (child.active == Literal(True))))
            todo = {c for c, in cursor} - seen
        relation = BouquetChannel.__table__()
        channel = Channel.__table__()
        cursor.execute(*relation.join(channel,
                condition=relation.channel == channel.id
                ).select(relation.channel,
                where=fields.SQL_OPERATORS['in'](relation.bouquet, list(seen))
                & (channel.active == Literal(True))))
        return {c for c, in cursor}

    @classmethod
    def on_modification(cls, mode, bouquets, field_names=None):
        super().on_modification(mode, bouquets, field_names=field_names)
        _channel_ids.clear()

    @classmethod
    def get_prices(cls, bouquets, date=None):
        "Return {bouquet id: price} in force at date (None if not priced)"
        pool = Pool()
        BouquetPrice = pool.get('rsoft.bouquet.price')
        return dated_amounts(
            BouquetPrice, 'bouquet', 'price', [b.id for b in bouquets],
            at_date(date))

    def get_price(self, date=None):
        "Return the price in force at date or None"
        return self.get_prices([self], date=date)[self.id]

    @classmethod
    def get_alacarte_totals(cls, bouquets, date=None):
        "Return {bouquet id: sum of the MRPs of its channels at date}"
        return cls._sum_mrps({b.id: b.get_channels() for b in bouquets}, date)

    @classmethod
    def _sum_mrps(cls, channels, date=None):
        "Return {bouquet id: sum of MRPs} of {bouquet id: set of channels}"
        pool = Pool()
        Channel = pool.get('rsoft.channel')
        mrps = Channel.get_mrps(set().union(*channels.values()), date=date)
        return {
            bouquet_id: sum(
                (mrps[c.id] or 0 for c in bouquet_channels), Decimal(0))
            for bouquet_id, bouquet_channels in channels.items()}

    @staticmethod
    def compute_discount(price, alacarte_total):
        "Return the discount of price against alacarte_total or None"
        if price is None or not alacarte_total:
            return None
        return (1 - price / alacarte_total).quantize(_RATE)

    def get_discount(self, date=None):
        "Return the discount at date of the bouquet price or None"
        return self.compute_discount(
            self.get_price(date), self.get_alacarte_totals([self], date)[
                self.id])

    @classmethod
    def get_figures(cls, bouquets, names):
        channels = {b.id: b.get_channels() for b in bouquets}
        totals = cls._sum_mrps(channels)
        prices = cls.get_prices(bouquets)
        result = {name: {} for name in names}
        for bouquet_id, bouquet_channels in channels.items():
            values = {
                'all_channels': [c.id for c in bouquet_channels],
                'channel_count': len(bouquet_channels),
                'alacarte_total': totals[bouquet_id],
                'price': prices[bouquet_id],
                'discount': cls.compute_discount(
                    prices[bouquet_id], totals[bouquet_id]),
                }
            for name in names:
                result[name][bouquet_id] = values[name]
        return result

    @classmethod
    def validate_fields(cls, bouquets, field_names):
        super().validate_fields(bouquets, field_names)
        cls.check_broadcaster_channels(bouquets, field_names)
        cls.check_nesting(bouquets, field_names)
        cls.check_offer_kinds(bouquets, field_names)

    @classmethod
    def check_broadcaster_channels(cls, bouquets, field_names=None):
        if field_names and not (
                field_names & {'kind', 'broadcaster', 'channels'}):
            return
        for bouquet in bouquets:
            if bouquet.kind != 'broadcaster':
                continue
            for channel in bouquet.channels:
                if channel.broadcaster != bouquet.broadcaster:
                    raise BouquetValidationError(gettext(
                            'rsoft_catalogue.msg_bouquet_channel_broadcaster',
                            bouquet=bouquet.rec_name,
                            channel=channel.rec_name,
                            broadcaster=bouquet.broadcaster.rec_name))

    @classmethod
    def check_nesting(cls, bouquets, field_names=None):
        # Only operator bouquets hold bouquets and only broadcaster bouquets
        # are held, so nesting is one level deep and can never loop.
        if field_names and not (field_names & {'kind', 'bouquets'}):
            return
        for bouquet in bouquets:
            if bouquet.bouquets and bouquet.kind != 'dpo':
                raise BouquetValidationError(gettext(
                        'rsoft_catalogue.msg_bouquet_nested_not_dpo',
                        bouquet=bouquet.rec_name))
            for child in bouquet.bouquets:
                if child.kind != 'broadcaster':
                    raise BouquetValidationError(gettext(
                            'rsoft_catalogue'
                            '.msg_bouquet_child_not_broadcaster',
                            bouquet=bouquet.rec_name,
                            child=child.rec_name))
            if bouquet.kind != 'broadcaster' and bouquet.parents:
                raise BouquetValidationError(gettext(
                        'rsoft_catalogue.msg_bouquet_child_not_broadcaster',
                        bouquet=bouquet.parents[0].rec_name,
                        child=bouquet.rec_name))

    @classmethod
    def check_offer_kinds(cls, bouquets, field_names=None):
        "Check the offers selling the bouquets still match their kind"
        pool = Pool()
        Template = pool.get('product.template')
        if field_names and 'kind' not in field_names:
            return
        Template.check_offer_bouquet(Template.search([
                    ('bouquet', 'in', [b.id for b in bouquets]),
                    ]))


class ChannelIdsClearMixin:
    "Clears the bouquets' channel ids when a record changes"
    __slots__ = ()

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        _channel_ids.clear()
        _mandated_ids.clear()


class BouquetChannel(ChannelIdsClearMixin, ModelSQL):
    __name__ = 'rsoft.bouquet-rsoft.channel'
    __string__ = "Bouquet - Channel"
    bouquet = fields.Many2One(
        'rsoft.bouquet', "Bouquet", required=True, ondelete='CASCADE')
    channel = fields.Many2One(
        'rsoft.channel', "Channel", required=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('bouquet')
        t = cls.__table__()
        cls._sql_constraints += [
            ('bouquet_channel_unique', Unique(t, t.bouquet, t.channel),
                'rsoft_catalogue.msg_bouquet_channel_unique'),
            ]


class BouquetBouquet(ChannelIdsClearMixin, ModelSQL):
    __name__ = 'rsoft.bouquet-rsoft.bouquet'
    __string__ = "Bouquet - Bouquet"
    bouquet = fields.Many2One(
        'rsoft.bouquet', "Bouquet", required=True, ondelete='CASCADE')
    child = fields.Many2One(
        'rsoft.bouquet', "Child", required=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('bouquet')
        t = cls.__table__()
        cls._sql_constraints += [
            ('bouquet_child_unique', Unique(t, t.bouquet, t.child),
                'rsoft_catalogue.msg_bouquet_child_unique'),
            ]


class BouquetPrice(ModelSQL, ModelView):
    __name__ = 'rsoft.bouquet.price'
    __string__ = "Bouquet Price"
    bouquet = fields.Many2One(
        'rsoft.bouquet', "Bouquet", required=True, ondelete='CASCADE')
    start_date = fields.Date(
        "Start Date", required=True,
        help="The first day the price applies; it applies until the start "
        "date of the next price of the bouquet.")
    price = fields.Numeric(
        "Price", digits=MONEY_DIGITS, required=True,
        help="Per subscriber per month, without taxes.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('bouquet')
        t = cls.__table__()
        cls._sql_constraints += [
            ('bouquet_start_date_unique', Unique(t, t.bouquet, t.start_date),
                'rsoft_catalogue.msg_bouquet_price_date_unique'),
            ]
        cls._order.insert(0, ('start_date', 'DESC'))

    def get_rec_name(self, name):
        return f'{self.bouquet.rec_name} @ {format_date(self.start_date)}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('bouquet.rec_name',) + tuple(clause[1:])]

    @classmethod
    def validate_fields(cls, prices, field_names):
        super().validate_fields(prices, field_names)
        if field_names and 'price' not in field_names:
            return
        for price in prices:
            if price.price < 0:
                raise BouquetValidationError(gettext(
                        'rsoft_catalogue.msg_bouquet_price_negative',
                        bouquet=price.bouquet.rec_name))
