"""Reference CAS driver: a DVB SimulCrypt EMMG

The driver is an EMMG (ETSI TS 103 197, EMMG <=> MUX interface over TCP):
it opens a channel and a stream on the multiplexer, asks for bandwidth
and feeds the stream with our own entitlement messages, one
data_provision per command. The message format is in doc/emm_payload.md;
encode_command() and decode_datagram() implement it.

The protocol is encoded here rather than with a SimulCrypt library: the
test peer is a third-party MUX and the point is to interoperate with it.
"""
import collections
import dataclasses
import datetime
import logging
import select
import socket
import struct
import time
import zlib

from . import base

logger = logging.getLogger(__name__)

# Message types of the EMMG <=> MUX interface (TS 103 197, 4.4.2)
CHANNEL_SETUP = 0x0011
CHANNEL_TEST = 0x0012
CHANNEL_STATUS = 0x0013
CHANNEL_CLOSE = 0x0014
CHANNEL_ERROR = 0x0015
STREAM_SETUP = 0x0111
STREAM_TEST = 0x0112
STREAM_STATUS = 0x0113
STREAM_CLOSE_REQUEST = 0x0114
STREAM_CLOSE_RESPONSE = 0x0115
STREAM_ERROR = 0x0116
STREAM_BW_REQUEST = 0x0117
STREAM_BW_ALLOCATION = 0x0118
DATA_PROVISION = 0x0211
MESSAGE_NAMES = {
    CHANNEL_SETUP: 'channel_setup',
    CHANNEL_TEST: 'channel_test',
    CHANNEL_STATUS: 'channel_status',
    CHANNEL_CLOSE: 'channel_close',
    CHANNEL_ERROR: 'channel_error',
    STREAM_SETUP: 'stream_setup',
    STREAM_TEST: 'stream_test',
    STREAM_STATUS: 'stream_status',
    STREAM_CLOSE_REQUEST: 'stream_close_request',
    STREAM_CLOSE_RESPONSE: 'stream_close_response',
    STREAM_ERROR: 'stream_error',
    STREAM_BW_REQUEST: 'stream_BW_request',
    STREAM_BW_ALLOCATION: 'stream_BW_allocation',
    DATA_PROVISION: 'data_provision',
    }

# Parameter types of the interface (TS 103 197, 4.4.3)
CLIENT_ID = 0x0001
SECTION_TSPKT_FLAG = 0x0002
DATA_CHANNEL_ID = 0x0003
DATA_STREAM_ID = 0x0004
DATAGRAM = 0x0005
BANDWIDTH = 0x0006
DATA_TYPE = 0x0007
DATA_ID = 0x0008
ERROR_STATUS = 0x7000
ERROR_INFORMATION = 0x7001
# Length of the value of each parameter, 0 when variable
PARAMETER_LENGTHS = {
    CLIENT_ID: 4,
    SECTION_TSPKT_FLAG: 1,
    DATA_CHANNEL_ID: 2,
    DATA_STREAM_ID: 2,
    DATAGRAM: 0,
    BANDWIDTH: 2,
    DATA_TYPE: 1,
    DATA_ID: 2,
    ERROR_STATUS: 2,
    ERROR_INFORMATION: 0,
    }

# error_status values (TS 103 197, 4.4.4)
ERRORS = {
    0x0001: 'invalid message',
    0x0002: 'unsupported protocol version',
    0x0003: 'unknown message_type value',
    0x0004: 'message too long',
    0x0005: 'unknown data_stream_id value',
    0x0006: 'unknown data_channel_id value',
    0x0007: 'too many channels on this MUX',
    0x0008: 'too many data streams on this channel',
    0x0009: 'too many data streams on this MUX',
    0x000A: 'unknown parameter_type',
    0x000B: 'inconsistent length for DVB parameter',
    0x000C: 'missing mandatory DVB parameter',
    0x000D: 'invalid value for DVB parameter',
    0x000E: 'unknown client_id value',
    0x000F: 'exceeded bandwidth',
    0x0010: 'unknown data_id value',
    0x0011: 'data_channel_id value already in use',
    0x0012: 'data_stream_id value already in use',
    0x0013: 'data_id value already in use',
    0x0014: 'client_id value already in use',
    0x7000: 'unknown error',
    0x7001: 'unrecoverable error',
    }

HEADER = struct.Struct('>BHH')
PARAMETER = struct.Struct('>HH')

# The MUX of the test peer reads its socket in chunks of this size and
# hangs up when a chunk begins with an incomplete message (see _writes)
MUX_INPUT_BUFFER = 16384
# Bytes of one write, about one TCP segment on Ethernet (see _Window)
WRITE_SIZE = 1400


class Message:
    "A message of the interface: its type and its parameters"
    __slots__ = ('version', 'type', 'parameters')

    def __init__(self, version, type_, parameters):
        self.version = version
        self.type = type_
        # parameter type: list of values, int for those of fixed length
        self.parameters = parameters

    @property
    def name(self):
        return MESSAGE_NAMES.get(self.type, f'message 0x{self.type:04x}')

    def get(self, type_, default=None):
        values = self.parameters.get(type_)
        return values[0] if values else default

    @property
    def is_error(self):
        return self.type in {CHANNEL_ERROR, STREAM_ERROR}

    def error_text(self):
        "The error of a channel_error or stream_error, in words"
        texts = []
        for status in self.parameters.get(ERROR_STATUS, []):
            text = ERRORS.get(status, 'unknown error_status')
            texts.append(f'{text} (0x{status:04x})')
        for information in self.parameters.get(ERROR_INFORMATION, []):
            texts.append(information.decode('ascii', 'replace'))
        return f"{self.name}: {'; '.join(texts) or 'no error_status'}"


def pack_message(version, type_, parameters):
    """The bytes of a message

    parameters: (parameter type, value) pairs, in order; int values for
    the parameters of fixed length, bytes for the others.
    """
    body = b''.join(_pack_parameter(t, v) for t, v in parameters)
    return HEADER.pack(version, type_, len(body)) + body


def _pack_parameter(type_, value):
    length = PARAMETER_LENGTHS[type_]
    if length:
        value = value.to_bytes(length, 'big')
    return PARAMETER.pack(type_, len(value)) + value


def unpack_message(data):
    """The first message of data and its length

    None when data does not hold a whole message yet; ValueError when it
    is not a message of the interface.
    """
    if len(data) < HEADER.size:
        return None
    version, type_, length = HEADER.unpack_from(data)
    end = HEADER.size + length
    if len(data) < end:
        return None
    parameters = {}
    offset = HEADER.size
    while offset < end:
        if offset + PARAMETER.size > end:
            raise ValueError('truncated parameter')
        p_type, p_length = PARAMETER.unpack_from(data, offset)
        offset += PARAMETER.size
        value = bytes(data[offset:offset + p_length])
        offset += p_length
        if offset > end:
            raise ValueError(f'parameter 0x{p_type:04x} overflows message')
        if PARAMETER_LENGTHS.get(p_type):
            value = int.from_bytes(value, 'big')
        parameters.setdefault(p_type, []).append(value)
    return Message(version, type_, parameters), end


# The entitlement message carried in the datagrams (doc/emm_payload.md)
FORMAT_VERSION = 1
TABLE_IDS = {'device': 0x82, 'group': 0x83, 'all': 0x84}
TARGETS = {v: k for k, v in TABLE_IDS.items()}
ACTION_CODES = {
    base.ENTITLE: 0x01,
    base.REVOKE: 0x02,
    base.PAIR: 0x03,
    base.UNPAIR: 0x04,
    base.SUSPEND: 0x05,
    base.RESUME: 0x06,
    base.BLACKLIST: 0x07,
    base.OSD: 0x08,
    base.FINGERPRINT: 0x09,
    base.RESET_PIN: 0x0A,
    base.REFRESH: 0x0B,
    }
ACTIONS = {v: k for k, v in ACTION_CODES.items()}
# A whole section, header and CRC_32 included: small enough for the
# section filters of common set-top boxes
SECTION_SIZE = 1024
SECTION_HEADER = struct.Struct('>BHHBBB')
SECTION_DATA = SECTION_SIZE - SECTION_HEADER.size - 4
# All the sections of a command travel in one data_provision, which must
# fit the MUX's input buffer with the stream_test that follows it
MAX_SECTIONS = 15
EPOCH = datetime.date(2000, 1, 1)
NO_END = 0xFFFF
# A timed product counts seconds (UTC) from EPOCH in 4 bytes
EPOCH_TIME = datetime.datetime(2000, 1, 1)
NO_END_TIME = 0xFFFFFFFF
FINGERPRINT_MODES = {'overt': 0, 'covert': 1}
BODY_HEADER = struct.Struct('>BBI')
TLV = struct.Struct('>BH')


def _text(value, size=0xff):
    value = str(value or '')
    data = value.encode('utf-8')
    if len(data) > size:
        raise ValueError(f'text longer than {size} bytes: {value[:40]!r}')
    return data


def _day(date):
    days = (date - EPOCH).days
    if not 0 <= days < NO_END:
        raise ValueError(f'date out of range: {date}')
    return days


def _uint16(value, name):
    value = int(value)
    if not 0 <= value <= 0xffff:
        raise ValueError(f'{name} out of range: {value}')
    return struct.pack('>H', value)


def _second(when):
    seconds = int((when - EPOCH_TIME).total_seconds())
    if not 0 <= seconds < NO_END_TIME:
        raise ValueError(f'time out of range: {when}')
    return seconds


def _product(product):
    data = _text(product.id)
    if product.timed:
        end = _second(product.end) if product.end else NO_END_TIME
        bounds = struct.pack('>II', _second(product.start), end)
    else:
        end = _day(product.end) if product.end else NO_END
        bounds = struct.pack('>HH', _day(product.start), end)
    return bytes([len(data)]) + data + bounds


def _fingerprint_mode(value):
    if value not in FINGERPRINT_MODES:
        raise ValueError(f'unknown fingerprint mode: {value!r}')
    return bytes([FINGERPRINT_MODES[value]])


# The action data: field name: (tag, encoder of the payload value)
FIELDS = {
    'products': (0x01, _product),
    'stb': (0x02, lambda v: _text(v, 0xffff)),
    'card': (0x03, lambda v: _text(v, 0xffff)),
    'text': (0x04, lambda v: _text(v, 0xffff)),
    'duration': (0x05, lambda v: _uint16(v, 'duration')),
    'repeat': (0x06, lambda v: _uint16(v, 'repeat')),
    'mode': (0x07, _fingerprint_mode),
    'reason': (0x08, lambda v: _text(v, 0xffff)),
    }
# A product with times rather than days: a decoder of day products
# only skips it, and entitles no more than before
TIMED_PRODUCT = 0x09
TAGS = {tag: name for name, (tag, _) in FIELDS.items()}
TAGS[TIMED_PRODUCT] = 'products'
# The fields of each action and their default (None: required, ...:
# left out when absent)
ACTION_FIELDS = {
    # stb: the box a card is entitled in (pairing-bound EMMs)
    base.ENTITLE: {'products': [], 'stb': ...},
    base.PAIR: {'stb': None, 'card': None},
    base.UNPAIR: {'stb': None, 'card': None},
    base.BLACKLIST: {'reason': ''},
    base.OSD: {'text': None, 'duration': 0, 'repeat': 1},
    base.FINGERPRINT: {'mode': 'overt', 'duration': 0},
    }


_REFLECTED = bytes(int(f'{i:08b}'[::-1], 2) for i in range(256))


def crc32_mpeg2(data):
    """The CRC_32 of MPEG-2 sections (ISO/IEC 13818-1 annex A)

    It is zlib's CRC-32 without its bit reflection and final inversion:
    reflecting the bytes before and the result after lets zlib's C code
    do the work.
    """
    crc = zlib.crc32(data.translate(_REFLECTED)) ^ 0xffffffff
    return int(f'{crc:032b}'[::-1], 2)


def _products(command):
    try:
        return command.products
    except (KeyError, TypeError, ValueError) as exception:
        raise ValueError(f'invalid products: {exception!r}') from None


def _action_data(command):
    fields = ACTION_FIELDS.get(command.action, {})
    data = []
    for name, default in fields.items():
        if name == 'products':
            values = _products(command)
        else:
            value = command.payload.get(name)
            if value is None and default is ...:
                continue
            if value is None:
                value = default
            if value is None:
                raise ValueError(f'{command.action} without {name}')
            values = [value]
        tag, encode = FIELDS[name]
        for value in values:
            field = tag
            if name == 'products' and value.timed:
                field = TIMED_PRODUCT
            value = encode(value)
            data.append(TLV.pack(field, len(value)) + value)
    return b''.join(data)


def _body(command):
    if command.action not in ACTION_CODES:
        raise ValueError(f'unknown action: {command.action!r}')
    if not 0 <= command.sequence <= 0xffffffff:
        raise ValueError(f'sequence out of range: {command.sequence}')
    head = BODY_HEADER.pack(
        FORMAT_VERSION, ACTION_CODES[command.action], command.sequence)
    names = b''.join(
        bytes([len(t)]) + t for t in map(_text, [
                command.key, command.device, command.group]))
    return head + names + _action_data(command)


def _section(table_id, extension, number, last, data):
    # private_section_length counts what follows it, CRC_32 included
    length = 5 + len(data) + 4
    head = SECTION_HEADER.pack(
        table_id, 0xf000 | length, extension, 0xc1, number, last)
    section = head + data
    return section + struct.pack('>I', crc32_mpeg2(section))


def encode_command(command):
    """The sections of the entitlement message of command

    ValueError when the command cannot be encoded (unknown action or
    target, missing or out of range value, too large).
    """
    if command.target not in TABLE_IDS:
        raise ValueError(f'unknown target: {command.target!r}')
    body = _body(command)
    chunks = [body[i:i + SECTION_DATA]
        for i in range(0, len(body), SECTION_DATA)]
    if len(chunks) > MAX_SECTIONS:
        raise ValueError(
            f'command too large: {len(body)} bytes, '
            f'at most {MAX_SECTIONS * SECTION_DATA}')
    # Sections of one message share table_id_extension; the same key
    # gives the same bytes when a command is sent again
    extension = crc32_mpeg2(_text(command.key)) & 0xffff
    last = len(chunks) - 1
    return [_section(TABLE_IDS[command.target], extension, n, last, c)
        for n, c in enumerate(chunks)]


class _Reader:
    "Reads big-endian fields, ValueError when data is too short"

    def __init__(self, data):
        self.data = data
        self.offset = 0

    def take(self, size):
        end = self.offset + size
        if end > len(self.data):
            raise ValueError('truncated entitlement message')
        value = self.data[self.offset:end]
        self.offset = end
        return value

    def uint(self, size):
        return int.from_bytes(self.take(size), 'big')

    def text(self):
        "UTF-8 text after its length in one byte"
        return self.take(self.uint(1)).decode('utf-8')

    @property
    def left(self):
        return len(self.data) - self.offset


def _sections(datagram):
    "table_id, extension, number, last and data of each section"
    reader = _Reader(datagram)
    while reader.left:
        table_id, length = struct.unpack('>BH', reader.take(3))
        if not length & 0x8000:
            raise ValueError('section without section_syntax_indicator')
        length &= 0x0fff
        section = reader.data[reader.offset - 3:reader.offset + length]
        reader.take(length)
        if length < 9 or crc32_mpeg2(section) != 0:
            raise ValueError(
                f'bad CRC_32 in a section of table 0x{table_id:02x}')
        extension, _, number, last = struct.unpack_from('>HBBB', section, 3)
        yield table_id, extension, number, last, section[8:-4]


def _join_sections(datagram):
    sections = list(_sections(datagram))
    if not sections:
        raise ValueError('empty datagram')
    table_id, extension, _, last, _ = sections[0]
    if table_id not in TARGETS:
        raise ValueError(f'not an entitlement message: table 0x{table_id:02x}')
    numbers = [s[2] for s in sections]
    if numbers != list(range(last + 1)) or any(
            s[:2] != (table_id, extension) or s[3] != last
            for s in sections):
        raise ValueError(f'sections missing or mixed: {numbers}')
    return table_id, len(sections), b''.join(s[4] for s in sections)


def _decode_product(tag, value):
    product = _Reader(value)
    id_ = product.text()
    if tag == TIMED_PRODUCT:
        start, end = product.uint(4), product.uint(4)
        start = EPOCH_TIME + datetime.timedelta(seconds=start)
        end = (None if end == NO_END_TIME
            else EPOCH_TIME + datetime.timedelta(seconds=end))
    else:
        start, end = product.uint(2), product.uint(2)
        start = EPOCH + datetime.timedelta(start)
        end = None if end == NO_END else EPOCH + datetime.timedelta(end)
    return base.Product(id_, start, end).as_dict()


def _decode_field(tag, name, reader, size):
    value = reader.take(size)
    if name == 'products':
        return _decode_product(tag, value)
    elif name in {'duration', 'repeat'}:
        return int.from_bytes(value, 'big')
    elif name == 'mode':
        modes = {v: k for k, v in FINGERPRINT_MODES.items()}
        if len(value) != 1 or value[0] not in modes:
            raise ValueError(f'unknown fingerprint mode: {value.hex()}')
        return modes[value[0]]
    return value.decode('utf-8')


def _decode_payload(action, reader):
    payload = {}
    while reader.left:
        tag, size = reader.uint(1), reader.uint(2)
        name = TAGS.get(tag)
        if name is None:
            # A field of a later format version
            reader.take(size)
            continue
        value = _decode_field(tag, name, reader, size)
        if name == 'products':
            payload.setdefault(name, []).append(value)
        else:
            payload[name] = value
    if action == base.ENTITLE:
        payload.setdefault('products', [])
    return payload


def decode_datagram(datagram):
    """The entitlement message carried by datagram, as a dict

    datagram holds all the sections of one message. The keys are those
    of base.Command (key, sequence, action, device, target, group,
    payload) plus format, table_id and sections (their number).
    ValueError on a bad CRC_32 or a malformed message.
    """
    table_id, count, body = _join_sections(datagram)
    reader = _Reader(body)
    version, code, sequence = BODY_HEADER.unpack(
        reader.take(BODY_HEADER.size))
    if version != FORMAT_VERSION:
        raise ValueError(f'unknown format version: {version}')
    if code not in ACTIONS:
        raise ValueError(f'unknown action code: 0x{code:02x}')
    key, device, group = reader.text(), reader.text(), reader.text()
    return {
        'format': version,
        'table_id': table_id,
        'sections': count,
        'key': key,
        'sequence': sequence,
        'action': ACTIONS[code],
        'device': device,
        'target': TARGETS[table_id],
        'group': group,
        'payload': _decode_payload(ACTIONS[code], reader),
        }


class _Window:
    """Messages confirmed together by one stream_status

    The test peer's MUX reads 16 KiB at a time and hangs up when what it
    has read begins with an incomplete message: it must always find whole
    messages in its socket. Hence each write holds whole messages, is
    smaller than its buffer and about one TCP segment (a write cut in
    segments could be read in pieces), and goes into a socket whose
    buffers are never full (the driver waits for the MUX to confirm all
    but window_count windows), so that no write is cut.
    """
    __slots__ = ('indexes', 'messages', 'size')

    def __init__(self):
        self.indexes = []   # of the commands
        self.messages = []  # data_provision
        self.size = 0

    def add(self, index, message):
        self.indexes.append(index)
        self.messages.append(message)
        self.size += len(message)

    def writes(self, test):
        "The bytes and data_provision size of each write, test at the end"
        writes, write, size = [], [], 0
        for message in self.messages:
            if write and size + len(message) + len(test) > WRITE_SIZE:
                writes.append((b''.join(write), size))
                write, size = [], 0
            write.append(message)
            size += len(message)
        write.append(test)
        writes.append((b''.join(write), size))
        return writes


# Settings that are numbers: name: (default, minimum, maximum)
NUMBERS = {
    'port': (None, 1, 0xffff),
    'client_id': (None, 0, 0xffffffff),
    'data_channel_id': (0, 0, 0xffff),
    'data_stream_id': (0, 0, 0xffff),
    'data_id': (0, 0, 0xffff),
    'protocol_version': (3, 1, 5),
    'section_TSpkt_flag': (0, 0, 0xff),
    'data_type': (0, 0, 0xff),
    'bandwidth': (100, 1, 0xffff),
    }


@base.register
class SimulcryptDriver(base.Driver):
    """EMMG feeding a DVB SimulCrypt MUX with entitlement messages

    settings: host, port, client_id (the super_CAS_id, e.g. 0x4ae60000),
    data_channel_id, data_stream_id, data_id, protocol_version (1 to 5,
    default 3), section_TSpkt_flag (0: sections, the only mode), data_type
    (0: EMM), bandwidth (kbps to request, default 100), timeout (seconds
    to wait for a reply, default 5).
    No credentials: the interface has none.
    """
    name = 'simulcrypt'
    # data_provision bytes confirmed by one stream_test, and how many
    # stream_test may wait for their answer: the MUX never holds more than
    # that unread, so the sockets' buffers never fill (see _Window)
    window_size = 16384
    window_count = 4

    def __init__(self, settings, credentials, limits=None):
        super().__init__(settings, credentials, limits)
        self._socket = None
        self._buffer = bytearray()
        self._config = None
        # kbps allocated by the MUX to the stream
        self.allocated = 0
        self._paced_until = 0

    def __repr__(self):
        return (f"<{self.__class__.__name__} "
            f"{self.settings.get('host')}:{self.settings.get('port')}>")

    def capabilities(self):
        # A MUX only carries messages: it tells nothing of the devices
        return dataclasses.replace(self.limits, query=False, export=False)

    def _number(self, name):
        default, minimum, maximum = NUMBERS[name]
        text = str(self.settings.get(name) or '').strip()
        try:
            if not text:
                value = default
            elif text.lower().startswith('0x'):
                value = int(text, 16)
            else:
                value = int(text)
        except ValueError:
            value = None
        if value is None or not minimum <= value <= maximum:
            raise base.DriverError(
                f'setting {name}: {self.settings.get(name)!r} is not '
                f'a number from {minimum} to {maximum}')
        return value

    def _read_settings(self):
        config = {name: self._number(name) for name in NUMBERS}
        if config['section_TSpkt_flag'] != 0:
            raise base.DriverError(
                'setting section_TSpkt_flag: the datagrams are sections, '
                'only 0 is supported')
        config['host'] = str(self.settings.get('host') or '').strip()
        if not config['host']:
            raise base.DriverError('setting host is missing')
        try:
            config['timeout'] = float(self.settings.get('timeout') or 5)
        except ValueError:
            raise base.DriverError('setting timeout is not a number')
        return config

    @property
    def _ids(self):
        "The parameters naming the channel and the stream"
        return [
            (CLIENT_ID, self._config['client_id']),
            (DATA_CHANNEL_ID, self._config['data_channel_id']),
            (DATA_STREAM_ID, self._config['data_stream_id']),
            ]

    @property
    def _data_id(self):
        # data_id appeared in version 2 of the protocol
        if self._config['protocol_version'] >= 2:
            return [(DATA_ID, self._config['data_id'])]
        return []

    def _send(self, type_, parameters):
        self._socket.sendall(pack_message(
                self._config['protocol_version'], type_, parameters))

    def _receive(self):
        "The next message from the MUX, answering its own tests"
        deadline = time.monotonic() + self._config['timeout']
        while True:
            try:
                found = unpack_message(self._buffer)
            except ValueError as exception:
                raise ConnectionError(
                    f'malformed message from the MUX: {exception}')
            if found:
                message, end = found
                del self._buffer[:end]
                if not self._answer(message):
                    return message
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise base.DriverTimeout(
                    f"no reply from the MUX within "
                    f"{self._config['timeout']:g} s")
            self._socket.settimeout(left)
            try:
                data = self._socket.recv(65536)
            except TimeoutError:
                continue
            if not data:
                raise ConnectionError('connection closed by the MUX')
            self._buffer += data

    def _answer(self, message):
        "Answer a test of the MUX, True if message was one"
        if message.type == CHANNEL_TEST:
            self._send(CHANNEL_STATUS, self._ids[:2] + [
                    (SECTION_TSPKT_FLAG,
                        self._config['section_TSpkt_flag'])])
        elif message.type == STREAM_TEST:
            self._send(STREAM_STATUS, self._ids + self._data_id + [
                    (DATA_TYPE, self._config['data_type'])])
        else:
            return False
        return True

    def _request(self, type_, parameters, expected):
        "Send a message and return the reply of type expected"
        self._send(type_, parameters)
        reply = self._receive()
        if reply.is_error:
            raise base.DriverError(
                f"MUX refused {MESSAGE_NAMES[type_]} (protocol_version "
                f"{self._config['protocol_version']}): "
                f"{reply.error_text()}")
        elif reply.type != expected:
            raise base.DriverError(
                f'MUX answered {MESSAGE_NAMES[type_]} with {reply.name}')
        return reply

    def _connect(self):
        self._config = config = self._read_settings()
        address = (config['host'], config['port'])
        try:
            self._socket = socket.create_connection(
                address, timeout=config['timeout'])
        except OSError as exception:
            raise base.DriverError(
                f'cannot connect to MUX {address[0]}:{address[1]}: '
                f'{exception.strerror or exception}') from None
        # Control messages are small and each write holds whole messages:
        # nothing to gain from Nagle but latency
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer.clear()
        self._paced_until = 0
        try:
            self._setup()
        except (OSError, base.DriverError) as exception:
            self._drop()
            # Nothing was handed over: a timeout here is no DriverTimeout
            if type(exception) is base.DriverError:
                raise
            raise base.DriverError(
                f'MUX setup failed: {exception}') from None
        logger.info('%r: stream open, %d kbps allocated', self,
            self.allocated)

    def _setup(self):
        config = self._config
        self._request(CHANNEL_SETUP, self._ids[:2] + [
                (SECTION_TSPKT_FLAG, config['section_TSpkt_flag'])],
            CHANNEL_STATUS)
        self._request(STREAM_SETUP, self._ids + self._data_id + [
                (DATA_TYPE, config['data_type'])],
            STREAM_STATUS)
        reply = self._request(STREAM_BW_REQUEST, self._ids + [
                (BANDWIDTH, config['bandwidth'])],
            STREAM_BW_ALLOCATION)
        self._allocate(reply)

    def _allocate(self, message):
        # Without a bandwidth parameter the MUX granted the request
        allocated = message.get(BANDWIDTH, self._config['bandwidth'])
        if not allocated:
            raise ConnectionError('MUX allocated no bandwidth')
        self.allocated = allocated

    def _alive(self):
        "Whether the connection still stands: the MUX may hang up any time"
        try:
            readable, _, _ = select.select([self._socket], [], [], 0)
            if not readable:
                return True
            data = self._socket.recv(65536)
        except OSError:
            return False
        self._buffer += data
        return bool(data)

    def _session(self):
        "Open the channel and the stream unless they are open"
        if self._socket is not None and not self._alive():
            logger.info('%r: connection lost, reconnecting', self)
            self._drop()
        if self._socket is None:
            self._connect()

    def _drop(self):
        if self._socket is not None:
            self._socket.close()
        self._socket = None
        self._buffer.clear()
        self.allocated = 0

    def _data_provision(self, sections):
        return pack_message(
            self._config['protocol_version'], DATA_PROVISION,
            self._ids + self._data_id + [(DATAGRAM, b''.join(sections))])

    def _stream_test(self):
        return pack_message(
            self._config['protocol_version'], STREAM_TEST, self._ids)

    def _windows(self, messages):
        windows = [_Window()]
        for index, message in messages:
            if windows[-1].size >= self.window_size:
                windows.append(_Window())
            windows[-1].add(index, message)
        return windows

    def _pace(self, size):
        """Wait until size more bytes keep within the allocated bandwidth

        The bytes sent since the batch started never exceed what the
        allocated kbps allow for the time elapsed: a write waits for its
        own duration at that rate, idle time gives no credit.
        """
        now = time.monotonic()
        self._paced_until = (
            max(now, self._paced_until) + size / (self.allocated * 125))
        if self._paced_until > now:
            time.sleep(self._paced_until - now)

    def _write(self, window):
        for data, size in window.writes(self._stream_test()):
            self._pace(size)
            self._socket.sendall(data)

    def _settle(self, window, commands, results):
        """Wait for the stream_status of window and fill its results

        The MUX answers in the order it reads: this stream_status proves
        it took every data_provision sent before its stream_test, and the
        errors that come before it concern the window.
        Return the errors.
        """
        errors = []
        while True:
            reply = self._receive()
            if reply.type == STREAM_STATUS:
                break
            elif reply.is_error:
                errors.append(reply.error_text())
            elif reply.type == STREAM_BW_ALLOCATION:
                self._allocate(reply)
            else:
                raise ConnectionError(f'unexpected {reply.name} from MUX')
        error = '; '.join(dict.fromkeys(errors))
        status = base.REJECTED if error else base.ACKED
        for index in window.indexes:
            results[index] = base.Result(commands[index].key, status,
                error=error, reply=error or reply.name)
        return error

    def submit(self, commands):
        results = [None] * len(commands)
        encoded = []
        for index, command in enumerate(commands):
            try:
                encoded.append((index, self._encode(command)))
            except ValueError as exception:
                results[index] = base.Result(
                    command.key, base.REJECTED, error=str(exception))
        if encoded:
            self._session()
            messages = [(i, self._data_provision(s)) for i, s in encoded]
            self._stream(self._windows(messages), commands, results)
        return results

    def _encode(self, command):
        text = str(command.payload.get('text') or '')
        limit = self.limits.osd_length
        if command.action == base.OSD and limit and len(text) > limit:
            raise ValueError(f'OSD text longer than {limit} characters')
        return encode_command(command)

    def _stream(self, windows, commands, results):
        "Send the windows and fill results with the MUX's answers"
        pending = collections.deque()
        refused = ''
        try:
            for window in windows:
                if len(pending) >= self.window_count:
                    refused = self._settle(
                        pending.popleft(), commands, results) or refused
                if refused:
                    # The next ones would probably fail alike
                    break
                pending.append(window)
                self._write(window)
            while pending:
                refused = self._settle(
                    pending.popleft(), commands, results) or refused
        except (OSError, base.DriverTimeout) as exception:
            # What the MUX read before the connection went is unknown, and
            # a new connection starts from nothing
            self._drop()
            reason = f'not confirmed: {exception}'
        else:
            reason = f'not sent, MUX answered {refused}'
            if refused:
                # The error may come from the session: set it up anew
                self.close()
        for index, command in enumerate(commands):
            if results[index] is None:
                results[index] = base.Result(
                    command.key, base.UNKNOWN, error=reason)

    def health(self):
        try:
            self._session()
            self._request(CHANNEL_TEST, self._ids[:2], CHANNEL_STATUS)
        except (OSError, base.DriverError) as exception:
            self._drop()
            return False, str(exception)
        return True, f'channel open, {self.allocated} kbps allocated'

    def query_device(self, device):
        return None

    def export_state(self):
        return []

    def close(self):
        if self._socket is None:
            return
        try:
            self._request(STREAM_CLOSE_REQUEST, self._ids,
                STREAM_CLOSE_RESPONSE)
            self._send(CHANNEL_CLOSE, self._ids[:2])
        except (OSError, base.DriverError):
            pass
        finally:
            self._drop()
