"""A third-party DVB SimulCrypt MUX for the simulcrypt driver

RecordingMux runs the MUX simulator of the PyPI package simulcrypt
(simulcrypt.MUX.MUXSimulator, untouched protocol logic) in a daemon
thread and records what it accepts, for tests and benchmarks. It can be
made to fail: drop the connection after some data messages, refuse the
driver's protocol version (protocol_version), stop listening for a while.
"""
import builtins
import sys
import threading
import time
import traceback
from socket import SHUT_RDWR, SO_ACCEPTCONN, SOL_SOCKET

from simulcrypt import MUX
from simulcrypt.MUX import MUXSimulator
from simulcrypt.specification import SimulcryptSpecification as spec

from ..drivers import base
from ..drivers.simulcrypt import decode_datagram

CLIENT_ID = 0x4ae60000
DATAGRAM = 0x0005

_real_sleep = time.sleep


def _print(*args, **kwargs):
    # The simulator prints every message, and flushes for every EMM: keep
    # its lines but the EMM counter out of the test output
    log = getattr(threading.current_thread(), 'mux_log', None)
    if log is None:
        builtins.print(*args, **kwargs)
    elif kwargs.get('end') != '\r':
        log.append(' '.join(map(str, args)))


def _sleep(seconds):
    # The simulator polls its socket every 50 ms when idle: every batch of
    # the driver would wait for it
    _real_sleep(getattr(threading.current_thread(), 'mux_poll', seconds))


# Globals of simulcrypt.MUX shadow the print and sleep it uses, but only
# in the threads of a RecordingMux: other users of the module see no change
MUX.print = _print
MUX.sleep = _sleep


class RecordingMux(MUXSimulator):
    """The simulcrypt MUX, listening on a free port (all interfaces)

    bandwidth: kbps allocated to the stream.
    protocol_version: 0 accepts the driver's, 1 to 5 refuses the others.
    drop_after: hang up after that many data messages (once).
    poll: seconds the MUX sleeps when it has nothing to read.
    record: keep the datagrams (a benchmark may not need them).

    datagrams: every accepted DATA_PROVISION datagram, in arrival order.
    received: the type of every message processed, in order.
    messages: the messages other than DATA_PROVISION (SimulcryptMessage).
    connections: connections that sent a message.
    log: the lines the simulator printed (but its EMM counter).
    errors: exceptions that stopped the simulator unexpectedly.
    """

    def __init__(self, bandwidth=10000, *, client_id=CLIENT_ID,
            data_channel_id=1, data_stream_id=1, data_id=1,
            protocol_version=0, drop_after=None, poll=0.001, record=True):
        super().__init__(client_id, port=0, bandwidth=bandwidth,
            data_channel_id=data_channel_id, data_stream_id=data_stream_id,
            data_id=data_id, protocol_version=protocol_version)
        self.drop_after = drop_after
        self.poll = poll
        self.record = record
        self.datagrams = []
        self.received = []
        self.messages = []
        self.connections = 0
        self.log = []
        self.errors = []
        self._data_count = 0
        self._client = None
        self._dropping = False
        self._halting = False
        self._stopping = False
        self._back_at = 0
        self._wake = threading.Event()
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def entitlements(self, device, now=None):
        """The products a card would hold after the messages accepted for
        device, as base.Product; at now (naive UTC) without the timed
        products whose end has passed, as the card stops them by itself"""
        products = []
        for datagram in self.datagrams:
            message = decode_datagram(datagram)
            if message['target'] != 'device' or message['device'] != device:
                continue
            if message['action'] == base.ENTITLE:
                products = [base.Product.from_dict(p)
                    for p in message['payload']['products']]
            elif message['action'] == base.REVOKE:
                products = []
        if now is not None:
            products = [p for p in products
                if not (p.timed and p.end is not None and p.end <= now)]
        return products

    def settings(self, **overrides):
        "The settings of a driver for this MUX"
        settings = {
            'host': '127.0.0.1',
            'port': str(self.port),
            'client_id': f'0x{self.client_id:08x}',
            'data_channel_id': str(self.data_channel_id),
            'data_stream_id': str(self.data_stream_id),
            'data_id': str(self.data_id),
            'bandwidth': str(self.bandwidth),
            'timeout': '2',
            }
        settings.update({k: str(v) for k, v in overrides.items()})
        return settings

    def start(self, timeout=5):
        self._thread = threading.Thread(
            target=self._run, name='RecordingMux', daemon=True)
        self._thread.mux_log = self.log
        self._thread.mux_poll = self.poll
        self._thread.start()
        self.wait_listening(timeout)
        # conn_loop binds self.port: keep the free port found the first time
        self.port = self._socket.getsockname()[1]
        return self

    def stop(self, timeout=5):
        self._stopping = True
        self._wake.set()
        self._halt()
        if self._thread:
            self._thread.join(timeout)

    def down(self, seconds):
        "Hang up and stop listening, listen again on the port after seconds"
        self._back_at = time.monotonic() + seconds
        self._halt()

    def listening(self):
        sock = self._socket
        try:
            return bool(sock.getsockopt(SOL_SOCKET, SO_ACCEPTCONN))
        except (AttributeError, OSError):
            return False

    def wait_listening(self, timeout=5):
        deadline = time.monotonic() + timeout
        while not self.listening():
            if time.monotonic() > deadline:
                raise TimeoutError('MUX not listening')
            _real_sleep(0.001)

    def process(self, message):
        if self._message_counter == 1:
            # The first message of a connection
            self.connections += 1
            self._client = self._connection()
            self._dropping = False
        if self._dropping or self._halting:
            self._hang_up()
            return b''
        self.received.append(message.type)
        reply = super().process(message)
        if message.type != spec.DATA_PROVISION:
            self.messages.append(message)
        elif reply == b'':
            self._accepted(message)
        return reply

    def _accepted(self, message):
        if self.record:
            self.datagrams.append(b''.join(p.value
                    for p in message.parameters if p.type == DATAGRAM))
        self._data_count += 1
        if self.drop_after is not None \
                and self._data_count >= self.drop_after:
            self.drop_after = None
            self._hang_up()

    def _connection(self):
        # conn_loop keeps the client socket in a local variable only
        frame = sys._getframe(1)
        while frame and frame.f_code is not MUXSimulator.conn_loop.__code__:
            frame = frame.f_back
        return frame.f_locals.get('client') if frame else None

    def _hang_up(self):
        """Hang up the connection

        conn_loop then reads the end of it and goes back to accept, as
        when a peer hangs up; messages it had already read are ignored.
        """
        self._dropping = True
        if self._client is not None:
            try:
                self._client.shutdown(SHUT_RDWR)
            except OSError:
                pass

    def _halt(self):
        "Make conn_loop leave: it fails on the listening socket shut down"
        self._halting = True
        self._connection_up = False
        self._hang_up()
        try:
            self._socket.shutdown(SHUT_RDWR)
        except (AttributeError, OSError):
            pass

    def _run(self):
        while not self._stopping:
            self._halting = False
            try:
                self.conn_loop()
            except ConnectionError:
                # conn_loop dies when the EMMG hangs up while it answers:
                # start it again as a supervisor would
                if not self._halting:
                    self.log.append('MUX restarted, the EMMG hung up')
            except Exception:
                if not self._halting:
                    self.errors.append(traceback.format_exc())
                    return
            finally:
                if self._socket is not None:
                    self._socket.close()
            self._wake.wait(max(0, self._back_at - time.monotonic()))
