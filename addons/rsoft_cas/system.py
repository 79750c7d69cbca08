"CAS systems: how to reach a head-end, what it can do, how products map"
import datetime

from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, Unique, fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.modules.rsoft_toolkit.secret import SecretMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If

from .drivers.base import Capabilities, driver_names, get_driver
from .exceptions import MappingError


def parse_settings(text):
    "Return the key = value lines of text as a dict"
    settings = {}
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, value = line.split('=', 1)
        settings[key.strip()] = value.strip()
    return settings


class System(
        SecretMixin, SystemFieldsMixin, DeactivableMixin, ModelSQL,
        ModelView):
    "A conditional access system of the head-end and how to reach it"
    __name__ = 'rsoft.cas.system'
    __string__ = "CAS System"

    name = fields.Char("Name", required=True)
    code = fields.Char(
        "Code", required=True,
        help="Short and stable: it prefixes the commands' keys.")
    vendor = fields.Char("Vendor", help="Conax, Nagra, Irdeto, Gospell ...")
    driver = fields.Selection('get_drivers', "Driver", required=True)
    settings = fields.Text(
        "Settings",
        help="One 'key = value' per line: endpoint, paths, folders, "
        "protocol numbers. No secrets here: they go in Credentials.")
    credentials = fields.Function(
        fields.Text(
            "Credentials",
            help="One 'key = value' per line (token, password, signing "
            "key). Written only: it reads masked, with at most its last "
            "four characters."),
        'get_secret', setter='set_secret')
    credential_store = fields.Text("Stored Credentials", readonly=True)
    osd = fields.Boolean("OSD", help="The CAS shows on-screen messages.")
    fingerprint = fields.Boolean(
        "Fingerprint", help="The CAS shows the card number on screen.")
    cardless = fields.Boolean(
        "Card-less", help="The CAS client lives in the box, without a card.")
    osd_length = fields.Integer(
        "OSD Length", domain=[('osd_length', '>=', 0)],
        help="The longest on-screen message the CAS takes, in characters; "
        "0 for no limit.")
    batch_size = fields.Integer(
        "Batch Size", required=True, domain=[('batch_size', '>', 0)],
        help="Commands sent in one request.")
    rate = fields.Integer(
        "Commands per Second", required=True, domain=[('rate', '>=', 0)],
        help="The most commands the CAS takes per second; 0 for no limit.")
    max_attempts = fields.Integer(
        "Attempts", required=True, domain=[('max_attempts', '>', 0)],
        help="Tries of a command before it is listed as failed.")
    backoff = fields.Integer(
        "Backoff", required=True, domain=[('backoff', '>', 0)],
        help="Seconds before the first retry; each retry doubles it.")
    max_backoff = fields.Integer(
        "Maximum Backoff", required=True,
        domain=[('max_backoff', '>=', Eval('backoff', 0))],
        help="The longest wait between two tries, in seconds.")
    failure_threshold = fields.Integer(
        "Failure Threshold", required=True,
        domain=[('failure_threshold', '>', 0)],
        help="Consecutive transport failures that open the circuit: "
        "nothing is sent to the CAS until the cool-down is over.")
    cooldown = fields.Integer(
        "Cool-down", required=True, domain=[('cooldown', '>', 0)],
        help="Seconds the circuit stays open before one trial batch.")
    circuit = fields.Selection([
            ('closed', "Closed"),
            ('open', "Open"),
            ('half_open', "Half-open"),
            ], "Circuit", readonly=True,
        help="Open: the CAS failed too often, sending waits.")
    circuit_until = fields.DateTime("Circuit Open Until", readonly=True)
    failures = fields.Integer("Consecutive Failures", readonly=True)
    drift_threshold = fields.Numeric(
        "Drift Threshold", digits=(5, 2), required=True,
        domain=[('drift_threshold', '>=', 0)],
        help="Percentage of devices found different at reconciliation "
        "above which nothing is re-sent and an alert is raised instead.")
    health = fields.Char("Health", readonly=True)
    health_date = fields.DateTime("Health Checked", readonly=True)
    mappings = fields.One2Many('rsoft.cas.mapping', 'system', "Mappings")
    _mappings_cache = Cache('rsoft.cas.system.mappings', context=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The dispatchers and health checks keep these; the credentials are
        # written through their masked field only
        cls._system_fields |= {
            'circuit', 'circuit_until', 'failures', 'health', 'health_date',
            'credential_store'}
        cls._secrets['credentials'] = 'credential_store'
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'rsoft_cas.msg_system_code_unique'),
            ]
        cls._buttons.update({
                'check_health': {'icon': 'tryton-refresh'},
                'send_now': {'icon': 'tryton-launch'},
                'close_circuit': {
                    'invisible': Eval('circuit') == 'closed',
                    'depends': ['circuit'],
                    },
                })

    @staticmethod
    def default_batch_size():
        return 100

    @staticmethod
    def default_rate():
        return 0

    @staticmethod
    def default_osd_length():
        return 0

    @staticmethod
    def default_max_attempts():
        return 20

    @staticmethod
    def default_backoff():
        return 1

    @staticmethod
    def default_max_backoff():
        return 300

    @staticmethod
    def default_failure_threshold():
        return 5

    @staticmethod
    def default_cooldown():
        return 30

    @staticmethod
    def default_circuit():
        return 'closed'

    @staticmethod
    def default_failures():
        return 0

    @staticmethod
    def default_drift_threshold():
        return 5

    @staticmethod
    def default_osd():
        return True

    @staticmethod
    def default_fingerprint():
        return True

    @classmethod
    def get_drivers(cls):
        return [(None, '')] + [(n, n) for n in driver_names()]

    @property
    def limits(self):
        return Capabilities(
            osd=self.osd, fingerprint=self.fingerprint,
            cardless=self.cardless, osd_length=self.osd_length or 0,
            batch_size=self.batch_size, rate=self.rate)

    def get_settings(self):
        return parse_settings(self.settings)

    def get_driver(self):
        "Return a new driver instance for the system"
        return get_driver(self.driver)(
            parse_settings(self.settings),
            parse_settings(self.secret_value('credentials')), self.limits)

    @classmethod
    def dispatch(cls, systems=None, passes=100):
        """Send the outbox of systems (default: all active) in this
        transaction: the cron job for operators without a dispatcher"""
        from .dispatch import Dispatcher
        systems = systems if systems is not None else cls.search([])
        for system in systems:
            dispatcher = Dispatcher(system.id)
            try:
                for _ in range(passes):
                    if not dispatcher.run_once():
                        break
            finally:
                dispatcher.close()

    @classmethod
    @ModelView.button
    def send_now(cls, systems):
        "Send the waiting commands now, without waiting for the dispatcher"
        cls.dispatch(systems)

    def key(self, address, sequence):
        return f'{self.code}:{address}:{sequence}'

    @classmethod
    @ModelView.button
    def check_health(cls, systems):
        pool = Pool()
        Log = pool.get('rsoft.cas.log')
        now = cls._now()
        for system in systems:
            try:
                with system.get_driver() as driver:
                    ok, text = driver.health()
            except Exception as exception:
                ok, text = False, str(exception)
            system.health = (
                gettext('rsoft_cas.msg_health_ok', detail=text) if ok
                else gettext('rsoft_cas.msg_health_failed', detail=text))
            system.health_date = now
            Log.append([{
                        'system': system.id, 'kind': 'health',
                        'message': system.health,
                        }])
        cls.save(systems)

    @classmethod
    @ModelView.button
    def close_circuit(cls, systems):
        "Let an operator end a cool-down once the CAS is known to be back"
        pool = Pool()
        Log = pool.get('rsoft.cas.log')
        cls.write(systems, {
                'circuit': 'closed', 'circuit_until': None, 'failures': 0})
        Log.append([{
                    'system': s.id, 'kind': 'state',
                    'message': 'circuit closed by hand',
                    } for s in systems])

    @staticmethod
    def _now():
        return datetime.datetime.now()

    def product_ids(self, offer):
        """Return the CAS product IDs of offer: its own mapping, else those
        of its channels; None when some are missing"""
        mappings = self._mapping_index()
        if offer.id in mappings['offer']:
            return [mappings['offer'][offer.id]]
        channels = offer.template.get_offer_channels()
        if not channels:
            return None
        ids = [mappings['channel'].get(c.id) for c in channels]
        if not all(ids):
            return None
        return sorted(set(ids))

    def _mapping_index(self):
        index = self._mappings_cache.get(self.id)
        if index is None:
            index = {'offer': {}, 'channel': {}}
            for mapping in self.mappings:
                if mapping.offer:
                    index['offer'][mapping.offer.id] = mapping.cas_product
                elif mapping.channel:
                    index['channel'][mapping.channel.id] = (
                        mapping.cas_product)
            self._mappings_cache.set(self.id, index)
        return index


class Mapping(ModelSQL, ModelView):
    "The product ID a CAS knows a channel, bouquet or pack by"
    __name__ = 'rsoft.cas.mapping'
    __string__ = "CAS Mapping"

    system = fields.Many2One(
        'rsoft.cas.system', "CAS System", required=True, ondelete='CASCADE')
    offer = fields.Many2One(
        'product.product', "Offer", ondelete='CASCADE',
        domain=[
            ('template.rsoft_kind', '!=', None),
            If(Eval('channel'), ('id', '=', -1), ()),
            ],
        help="A pack, bouquet or a-la-carte offer.")
    channel = fields.Many2One(
        'rsoft.channel', "Channel", ondelete='CASCADE',
        help="Used for offers that have no mapping of their own: they "
        "entitle the products of their channels.")
    cas_product = fields.Char(
        "CAS Product", required=True,
        help="The product (or service) ID in the CAS.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('offer_unique', Unique(t, t.system, t.offer),
                'rsoft_cas.msg_mapping_offer_unique'),
            ('channel_unique', Unique(t, t.system, t.channel),
                'rsoft_cas.msg_mapping_channel_unique'),
            ]

    def get_rec_name(self, name):
        what = self.offer or self.channel
        return f'{what.rec_name if what else "?"} → {self.cas_product}'

    @classmethod
    def on_modification(cls, mode, mappings, field_names=None):
        pool = Pool()
        System = pool.get('rsoft.cas.system')
        super().on_modification(mode, mappings, field_names=field_names)
        System._mappings_cache.clear()

    @classmethod
    def validate_fields(cls, mappings, field_names):
        super().validate_fields(mappings, field_names)
        for mapping in mappings:
            if bool(mapping.offer) == bool(mapping.channel):
                raise MappingError(gettext(
                        'rsoft_cas.msg_mapping_offer_or_channel',
                        product=mapping.cas_product))


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    cas_system = fields.Many2One(
        'rsoft.cas.system', "CAS System", ondelete='RESTRICT',
        states={
            'invisible': ~Eval('rsoft_device_kind'),
            },
        help="The head-end system the devices of this model are "
        "provisioned in: their commands go there.")
