"""The interface every CAS driver implements

Drivers know nothing of Tryton: the dispatcher hands them plain commands
and records what they answer. A driver is built once per dispatcher
process for a CAS system and kept (its connection with it); it is used
from one thread at a time.

Outcomes of submit(), one Result per command, in the order given:

- ``acked``: the CAS has applied it (or had already: commands are
  absolute and carry an idempotency key, applying one twice is one
  effect).
- ``rejected``: the CAS refused it for a reason of its own (unknown card,
  unknown product ...); ``error`` holds the CAS's words. Sending it again
  would not help.
- ``sent``: handed over, the outcome comes later from collect() (batch
  files).
- ``unknown``: it may or may not have been applied (timeout, connection
  lost after sending). The dispatcher resolves it by query_device() or by
  sending it again with the same key; it never assumes a failure.

A failure of the transport before anything was handed over raises
DriverError (the dispatcher retries with backoff and counts it for the
system's circuit breaker); DriverTimeout when the outcome of the whole
batch is unknown.
"""
import dataclasses
import datetime
from typing import Iterable, Optional

# Entitlement actions on one device
ENTITLE = 'entitle'      # exactly these products, with validity (absolute)
REVOKE = 'revoke'        # no product at all
PAIR = 'pair'            # box and card work only together
UNPAIR = 'unpair'
SUSPEND = 'suspend'      # products kept, viewing stopped
RESUME = 'resume'
BLACKLIST = 'blacklist'  # the device is dead for good
RESET_PIN = 'reset_pin'  # parental PIN back to the CAS default
REFRESH = 'refresh'      # re-send what the device should have
# Actions that may target a group or all devices
OSD = 'osd'
FINGERPRINT = 'fingerprint'
ACTIONS = [
    ENTITLE, REVOKE, PAIR, UNPAIR, SUSPEND, RESUME, BLACKLIST, OSD,
    FINGERPRINT, RESET_PIN, REFRESH]

ACKED, REJECTED, SENT, UNKNOWN = 'acked', 'rejected', 'sent', 'unknown'


@dataclasses.dataclass
class Product:
    """A CAS product the device is entitled to

    Day form: start and end are dates, both days included, as a pack's
    subscription runs. Timed form: start and end are datetimes in UTC
    (naive, as Tryton stores them; an aware one is converted), to the
    second, entitled from start until end, as a PPV event's window or a
    rental. end None: no end. as_dict gives dates as 'YYYY-MM-DD' and
    times as 'YYYY-MM-DDTHH:MM:SSZ'; from_dict reads both back."""
    id: str
    start: datetime.date
    end: Optional[datetime.date] = None

    def __post_init__(self):
        self.start = _utc(self.start)
        self.end = _utc(self.end)
        if (self.end is not None
                and self.timed != isinstance(self.end, datetime.datetime)):
            raise ValueError(
                f'product {self.id}: start and end must both be dates '
                'or both be times')

    @property
    def timed(self):
        return isinstance(self.start, datetime.datetime)

    def as_dict(self):
        return {
            'id': self.id,
            'start': _format(self.start),
            'end': _format(self.end) if self.end else None,
            }

    @classmethod
    def from_dict(cls, value):
        return cls(
            id=str(value['id']),
            start=_parse(value['start']),
            end=_parse(value['end']) if value.get('end') else None)


def _utc(value):
    "value as a naive UTC datetime to the second, or the date it is"
    if not isinstance(value, datetime.datetime):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    # CAS take times to the second
    return value.replace(microsecond=0)


def _format(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat() + 'Z'
    return value.isoformat()


def _parse(text):
    if 'T' in text:
        return _utc(datetime.datetime.fromisoformat(text))
    return datetime.date.fromisoformat(text)


@dataclasses.dataclass
class Command:
    """One command to the head-end

    device: the CAS address of the device (card number, or chip ID of a
    card-less box); for OSD and FINGERPRINT it may be empty when target
    names a group.
    target: 'device', or for OSD/FINGERPRINT 'group' or 'all'.
    group: for target 'group', e.g. 'lco:LCO-MUM-01', 'region:MH',
    'product:P101'.
    payload by action:
      ENTITLE: {'products': [Product.as_dict(), ...], 'stb': chip ID of
        the box the card works in, when paired}
      PAIR / UNPAIR: {'stb': chip ID, 'card': card number}
      BLACKLIST: {'reason': text}
      OSD: {'text': str, 'duration': seconds, 'repeat': int}
      FINGERPRINT: {'mode': 'overt'|'covert', 'duration': seconds}
      others: {}
    """
    key: str
    sequence: int
    action: str
    device: str = ''
    target: str = 'device'
    group: str = ''
    payload: dict = dataclasses.field(default_factory=dict)

    @property
    def products(self):
        return [Product.from_dict(p)
            for p in self.payload.get('products', [])]


@dataclasses.dataclass
class Result:
    key: str
    status: str
    error: str = ''
    # What the CAS answered, kept in the log (no credentials in it)
    reply: str = ''


@dataclasses.dataclass
class DeviceState:
    "What a CAS says a device has"
    device: str
    products: list = dataclasses.field(default_factory=list)
    paired_with: str = ''
    suspended: bool = False
    blacklisted: bool = False


@dataclasses.dataclass
class Capabilities:
    osd: bool = True
    fingerprint: bool = True
    cardless: bool = False
    # Whether query_device / export_state answer (a SimulCrypt MUX does not)
    query: bool = False
    export: bool = False
    osd_length: int = 0          # characters, 0: no limit
    batch_size: int = 100        # commands per submit
    rate: int = 0                # commands per second, 0: no limit


class DriverError(Exception):
    "The transport failed before the CAS took anything: retry later"


class DriverTimeout(DriverError):
    "No answer in time: the outcome of what was sent is unknown"


class Driver:
    """Base of the drivers

    settings: the non-secret configuration of the CAS system (endpoint,
    paths, folder, protocol numbers ...), a dict of strings.
    credentials: secrets (tokens, passwords, signing keys); a driver must
    never put them in a Result, an exception message or a log.
    limits: the Capabilities as configured on the system (batch size,
    rate, OSD length), which may be tighter than the driver's own.
    """
    name = ''

    def __init__(self, settings, credentials, limits=None):
        self.settings = dict(settings or {})
        self.credentials = dict(credentials or {})
        self.limits = limits or Capabilities()

    def capabilities(self) -> Capabilities:
        return self.limits

    def submit(self, commands: list[Command]) -> list[Result]:
        raise NotImplementedError

    def collect(self) -> list[Result]:
        "Outcomes of commands submitted earlier with status 'sent'"
        return []

    def query_device(self, device: str) -> Optional[DeviceState]:
        "The state the CAS holds for device, None if it cannot tell"
        return None

    def export_state(self) -> Iterable[DeviceState]:
        "Every device the CAS knows, with its state"
        return []

    def health(self) -> tuple[bool, str]:
        "Whether the CAS answers, and what it said"
        raise NotImplementedError

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_DRIVERS = {}


def register(cls):
    _DRIVERS[cls.name] = cls
    return cls


def _load():
    # Imported late: the drivers import this module
    from . import batch_file, http_json, simulcrypt  # noqa: F401


def get_driver(name):
    _load()
    return _DRIVERS[name]


def driver_names():
    _load()
    return sorted(_DRIVERS)
