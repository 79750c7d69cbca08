from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, Unique, fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool

from .bouquet import ChannelIdsClearMixin, _mandated_ids
from .common import MONEY_DIGITS, at_date, dated_amounts, format_date
from .exceptions import ChannelValidationError

GENRES = [
    ('general_entertainment', "General Entertainment"),
    ('movies', "Movies"),
    ('news', "News"),
    ('sports', "Sports"),
    ('kids', "Kids"),
    ('music', "Music"),
    ('infotainment', "Infotainment"),
    ('devotional', "Devotional"),
    ('lifestyle', "Lifestyle"),
    ('regional', "Regional"),
    ('educational', "Educational"),
    ]
LANGUAGES = [
    ('assamese', "Assamese"),
    ('bengali', "Bengali"),
    ('bhojpuri', "Bhojpuri"),
    ('bodo', "Bodo"),
    ('dogri', "Dogri"),
    ('gujarati', "Gujarati"),
    ('hindi', "Hindi"),
    ('kannada', "Kannada"),
    ('kashmiri', "Kashmiri"),
    ('konkani', "Konkani"),
    ('maithili', "Maithili"),
    ('malayalam', "Malayalam"),
    ('manipuri', "Manipuri"),
    ('marathi', "Marathi"),
    ('nepali', "Nepali"),
    ('odia', "Odia"),
    ('punjabi', "Punjabi"),
    ('sanskrit', "Sanskrit"),
    ('santali', "Santali"),
    ('sindhi', "Sindhi"),
    ('tamil', "Tamil"),
    ('telugu', "Telugu"),
    ('urdu', "Urdu"),
    ('english', "English"),
    ('multi', "Multilingual"),
    ]
DEFINITIONS = [
    ('sd', "SD"),
    ('hd', "HD"),
    ('uhd', "4K"),
    ]


class Channel(
        ChannelIdsClearMixin, SystemFieldsMixin, DeactivableMixin, ModelSQL,
        ModelView):
    __name__ = 'rsoft.channel'
    __string__ = "Channel"
    lcn = fields.Integer(
        "LCN", required=True,
        help="Logical channel number: the number the subscriber tunes to.")
    name = fields.Char("Name", required=True)
    broadcaster = fields.Many2One(
        'party.party', "Broadcaster", required=True, ondelete='RESTRICT',
        help="The party that owns the channel and sets its MRP.")
    genre = fields.Selection(GENRES, "Genre", required=True)
    language = fields.Selection(LANGUAGES, "Language", required=True)
    definition = fields.Selection(DEFINITIONS, "Definition", required=True)
    fta = fields.Boolean(
        "Free-to-air",
        help="Carried without charge: its MRP is always 0, "
        "but it still counts toward the NCF channel count.")
    mandated = fields.Boolean(
        "Government mandated",
        help="Doordarshan and Sansad channels that every DPO must carry; "
        "not counted toward NCF.")
    mrps = fields.One2Many(
        'rsoft.channel.mrp', 'channel', "MRPs",
        help="The broadcaster's maximum retail price per month, by date.")
    mrp = fields.Function(fields.Numeric(
            "MRP", digits=MONEY_DIGITS,
            help="The MRP in force at the context date."),
        'get_current_mrp')
    bouquets = fields.Many2Many(
        'rsoft.bouquet-rsoft.channel', 'channel', 'bouquet', "Bouquets",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Changed from the bouquets, whose checks then run
        cls._system_fields |= {'bouquets'}
        t = cls.__table__()
        cls._sql_constraints += [
            ('lcn_unique', Unique(t, t.lcn),
                'rsoft_catalogue.msg_channel_lcn_unique'),
            ]
        cls._order.insert(0, ('lcn', 'ASC'))

    @classmethod
    def copy(cls, channels, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('bouquets')
        return super().copy(channels, default=default)

    @classmethod
    def default_genre(cls):
        return 'general_entertainment'

    @classmethod
    def default_language(cls):
        return 'hindi'

    @classmethod
    def default_definition(cls):
        return 'sd'

    @classmethod
    def default_fta(cls):
        return False

    @classmethod
    def default_mandated(cls):
        return False

    @classmethod
    def mandated_ids(cls):
        "Return the frozenset of the ids of the mandated channels"
        ids = _mandated_ids.get('ids')
        if ids is None:
            ids = _mandated_ids.set('ids', frozenset(c.id for c in cls.search(
                            [('mandated', '=', True)])))
        return ids

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        domain = [bool_op,
            ('name', operator, operand, *extra),
            ('broadcaster.rec_name', operator, operand, *extra),
            ]
        number = operand.strip('%') if isinstance(operand, str) else ''
        if number.isdigit():
            lcn_operator = '!=' if bool_op == 'AND' else '='
            domain.append(('lcn', lcn_operator, int(number)))
        return domain

    @classmethod
    def get_current_mrp(cls, channels, name):
        return cls.get_mrps(channels)

    @classmethod
    def get_mrps(cls, channels, date=None):
        "Return {channel id: MRP} in force at date (None if not priced)"
        pool = Pool()
        ChannelMrp = pool.get('rsoft.channel.mrp')
        return dated_amounts(
            ChannelMrp, 'channel', 'mrp', [c.id for c in channels],
            at_date(date))

    def get_mrp(self, date=None):
        "Return the MRP in force at date or None"
        return self.get_mrps([self], date=date)[self.id]

    @classmethod
    def validate_fields(cls, channels, field_names):
        super().validate_fields(channels, field_names)
        cls.check_fta_mrps(channels, field_names)
        cls.check_broadcaster_bouquets(channels, field_names)

    @classmethod
    def check_fta_mrps(cls, channels, field_names=None):
        if field_names and not (field_names & {'fta', 'mrps'}):
            return
        for channel in channels:
            if channel.fta:
                for mrp in channel.mrps:
                    mrp.check_fta()

    @classmethod
    def check_broadcaster_bouquets(cls, channels, field_names=None):
        if field_names and 'broadcaster' not in field_names:
            return
        for channel in channels:
            for bouquet in channel.bouquets:
                if (bouquet.kind == 'broadcaster'
                        and bouquet.broadcaster != channel.broadcaster):
                    raise ChannelValidationError(gettext(
                            'rsoft_catalogue.msg_bouquet_channel_broadcaster',
                            bouquet=bouquet.rec_name,
                            channel=channel.rec_name,
                            broadcaster=bouquet.broadcaster.rec_name))


class ChannelMrp(ModelSQL, ModelView):
    __name__ = 'rsoft.channel.mrp'
    __string__ = "Channel MRP"
    channel = fields.Many2One(
        'rsoft.channel', "Channel", required=True, ondelete='CASCADE')
    start_date = fields.Date(
        "Start Date", required=True,
        help="The first day the MRP applies; it applies until the start "
        "date of the next MRP of the channel.")
    mrp = fields.Numeric(
        "MRP", digits=MONEY_DIGITS, required=True,
        help="The broadcaster's maximum retail price per subscriber "
        "per month, without taxes.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('channel')
        t = cls.__table__()
        cls._sql_constraints += [
            ('channel_start_date_unique', Unique(t, t.channel, t.start_date),
                'rsoft_catalogue.msg_channel_mrp_date_unique'),
            ]
        cls._order.insert(0, ('start_date', 'DESC'))

    def get_rec_name(self, name):
        return f'{self.channel.rec_name} @ {format_date(self.start_date)}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('channel.rec_name',) + tuple(clause[1:])]

    @classmethod
    def validate_fields(cls, mrps, field_names):
        super().validate_fields(mrps, field_names)
        if field_names and not (field_names & {'mrp', 'channel'}):
            return
        for mrp in mrps:
            mrp.check_positive()
            mrp.check_fta()

    def check_positive(self):
        if self.mrp < 0:
            raise ChannelValidationError(gettext(
                    'rsoft_catalogue.msg_channel_mrp_negative',
                    channel=self.channel.rec_name))

    def check_fta(self):
        if self.channel.fta and self.mrp:
            raise ChannelValidationError(gettext(
                    'rsoft_catalogue.msg_channel_fta_mrp',
                    channel=self.channel.rec_name))
