"""The simulcrypt driver against a third-party SimulCrypt MUX, no database

The peer is the MUX simulator of the PyPI package simulcrypt (see
mux_peer.py). Run this file to measure the throughput of driver and MUX.
"""
import dataclasses
import datetime
import socket
import time

import pytest

from trytond.modules.rsoft_cas.drivers import base, simulcrypt
from trytond.modules.rsoft_cas.drivers.simulcrypt import (
    SimulcryptDriver,
    decode_datagram,
    encode_command,
)
from trytond.modules.rsoft_cas.tests.mux_peer import RecordingMux

D = datetime.date
DT = datetime.datetime
GOLD = base.Product('P101', D(2026, 3, 1), D(2026, 3, 31))
SPORTS = base.Product('P202', D(2026, 3, 1))
# 19:30 to 23:00 in India
MATCH = base.Product(
    'PPV-IPL', DT(2026, 3, 8, 14, 0), DT(2026, 3, 8, 17, 30))
OSD_TEXT = 'प्रिय ग्राहक, आपका रिचार्ज 5 तारीख को समाप्त होगा 📺'
# data_provision around a datagram in protocol version 3: header,
# client_id, data_channel_id, data_stream_id, data_id, datagram header
DATA_PROVISION_OVERHEAD = 5 + 8 + 6 + 6 + 6 + 4


@pytest.fixture
def mux():
    with RecordingMux() as mux:
        yield mux
    assert not mux.errors


def make_driver(mux, limits=None, **settings):
    return SimulcryptDriver(mux.settings(**settings), {}, limits)


@pytest.fixture
def driver(mux):
    with make_driver(mux) as driver:
        yield driver


def command(key, sequence, action, device='', **payload):
    return base.Command(key, sequence, action, device, payload=payload)


def entitle(key, sequence, device, *products):
    return command(key, sequence, base.ENTITLE, device,
        products=[p.as_dict() for p in products])


def every_action():
    "A command of each action, a multi-section one and group targets"
    many = [base.Product(f'P{n:03d}', D(2026, 3, 1), D(2026, 12, 31))
        for n in range(150)]
    return [
        entitle('k-entitle', 1, 'SC0001', GOLD, SPORTS),
        entitle('k-entitle-many', 2, 'SC0001', *many),
        command('k-revoke', 3, base.REVOKE, 'SC0002'),
        command('k-pair', 1, base.PAIR, 'SC0003',
            stb='STB-CHIP-42', card='SC0003'),
        command('k-unpair', 2, base.UNPAIR, 'SC0003',
            stb='STB-CHIP-42', card='SC0003'),
        command('k-suspend', 1, base.SUSPEND, 'SC0004'),
        command('k-resume', 2, base.RESUME, 'SC0004'),
        command('k-blacklist', 1, base.BLACKLIST, 'SC0005',
            reason='reported stolen'),
        command('k-osd', 1, base.OSD, 'SC0006',
            text=OSD_TEXT, duration=30, repeat=3),
        base.Command('k-osd-lco', 1, base.OSD, target='group',
            group='lco:LCO-MUM-01',
            payload={'text': 'Service window tonight', 'duration': 60,
                'repeat': 1}),
        base.Command('k-fp-all', 1, base.FINGERPRINT, target='all',
            payload={'mode': 'covert', 'duration': 15}),
        command('k-fp', 2, base.FINGERPRINT, 'SC0006',
            mode='overt', duration=10),
        command('k-pin', 1, base.RESET_PIN, 'SC0007'),
        command('k-refresh', 1, base.REFRESH, 'SC0008'),
        ]


def many_commands(count, start=0):
    return [entitle(f'key-{n:08d}', n, f'{n:016d}', GOLD)
        for n in range(start, start + count)]


def as_sent(datagram):
    "The command fields of a datagram, as base.Command would give them"
    message = decode_datagram(datagram)
    return {k: message[k] for k in [
            'key', 'sequence', 'action', 'device', 'target', 'group',
            'payload']}


def statuses(results):
    return [r.status for r in results]


def wait_for(condition, timeout=2):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.005)


def test_codes_of_the_specification():
    "Message types, parameters and errors as the third-party MUX has them"
    from simulcrypt.specification import SimulcryptSpecification as spec
    for code, name in simulcrypt.MESSAGE_NAMES.items():
        assert spec.MESSAGE_TYPE[code] == name
    assert simulcrypt.PARAMETER_LENGTHS == spec.EMMG_PARAMETER_LEN
    assert simulcrypt.ERRORS == spec.EMMG_ERROR
    names = {'CLIENT_ID': 'client_id', 'DATAGRAM': 'datagram',
        'SECTION_TSPKT_FLAG': 'section_TSpkt_flag',
        'DATA_CHANNEL_ID': 'data_channel_id',
        'DATA_STREAM_ID': 'data_stream_id', 'BANDWIDTH': 'bandwidth',
        'DATA_TYPE': 'data_type', 'DATA_ID': 'data_id',
        'ERROR_STATUS': 'error_status',
        'ERROR_INFORMATION': 'error_information'}
    for constant, name in names.items():
        assert spec.EMMG_PARAMETER[getattr(simulcrypt, constant)] == name


def test_crc32_mpeg2():
    "The CRC_32 of ISO/IEC 13818-1: check value, and zero over a section"
    assert simulcrypt.crc32_mpeg2(b'123456789') == 0x0376e6e7
    section, = encode_command(command('k', 1, base.REVOKE, 'SC1'))
    assert simulcrypt.crc32_mpeg2(section) == 0


def test_encode_decode_every_action():
    "Each command comes back from its sections as it was"
    commands = every_action()
    assert {c.action for c in commands} == set(base.ACTIONS)
    for cmd in commands:
        sections = encode_command(cmd)
        assert all(len(s) <= simulcrypt.SECTION_SIZE for s in sections)
        assert sections[0][0] == {
            'device': 0x82, 'group': 0x83, 'all': 0x84}[cmd.target]
        assert as_sent(b''.join(sections)) == dataclasses.asdict(cmd)
    many = encode_command(commands[1])
    assert len(many) > 1
    assert decode_datagram(b''.join(many))['sections'] == len(many)


def test_decode_refuses_damage():
    "A flipped bit or a missing section is a ValueError"
    sections = encode_command(every_action()[1])
    damaged = bytearray(b''.join(sections))
    damaged[20] ^= 0x01
    with pytest.raises(ValueError, match='CRC_32'):
        decode_datagram(bytes(damaged))
    with pytest.raises(ValueError, match='sections missing'):
        decode_datagram(sections[1])


def test_encode_refuses_bad_commands():
    with pytest.raises(ValueError, match='unknown action'):
        encode_command(command('k', 1, 'reboot', 'SC1'))
    with pytest.raises(ValueError, match='without card'):
        encode_command(command('k', 1, base.PAIR, 'SC1', stb='STB1'))
    with pytest.raises(ValueError, match='unknown target'):
        encode_command(base.Command('k', 1, base.OSD, target='region'))
    with pytest.raises(ValueError, match='too large'):
        encode_command(entitle('k', 1, 'SC1', *[GOLD] * 5000))


def test_day_products_unchanged():
    "Day products give the bytes of the example of doc/emm_payload.md"
    section, = encode_command(
        entitle('7f3a-0001', 42, '1000200030004000', GOLD, SPORTS))
    assert section == bytes.fromhex(
        '82 f0 43 28 7f c1 00 00 01 01 00 00 00 2a'
        ' 09 37 66 33 61 2d 30 30 30 31'
        ' 10 31 30 30 30 32 30 30 30 33 30 30 30 34 30 30 30 00'
        ' 01 00 09 04 50 31 30 31 25 54 25 72'
        ' 01 00 09 04 50 32 30 32 25 54 ff ff 1d 0e 2f 47')


def test_timed_products():
    "A PPV window travels in seconds under tag 0x09, in the list's order"
    cmd = entitle('k-ppv', 43, 'SC0001', GOLD, MATCH, SPORTS)
    section, = encode_command(cmd)
    assert bytes.fromhex('09 00 10 07 50 50 56 2d 49 50 4c'
        ' 31 40 3d 60 31 40 6e 98') in section
    assert as_sent(section) == dataclasses.asdict(cmd)
    assert as_sent(section)['payload']['products'][1] == {
        'id': 'PPV-IPL', 'start': '2026-03-08T14:00:00Z',
        'end': '2026-03-08T17:30:00Z'}

    rental = base.Product('VOD-1', DT(2026, 3, 2, 15, 30, 27))
    section, = encode_command(entitle('k-vod', 44, 'SC0001', rental))
    assert section[-8:-4] == b'\xff\xff\xff\xff'
    assert as_sent(section)['payload']['products'] == [rental.as_dict()]

    with pytest.raises(ValueError, match='time out of range'):
        encode_command(entitle('k', 1, 'SC1',
                base.Product('P', DT(1999, 12, 31, 23, 0))))


def test_timed_product_through_mux(driver, mux):
    "The MUX carries a PPV window; the card drops it at its end"
    results = driver.submit([entitle('k1', 1, 'SC0001', GOLD, MATCH)])

    assert statuses(results) == [base.ACKED]
    assert mux.entitlements('SC0001') == [GOLD, MATCH]
    assert mux.entitlements('SC0001', now=DT(2026, 3, 8, 17, 29, 59)) == [
        GOLD, MATCH]
    assert mux.entitlements('SC0001', now=DT(2026, 3, 8, 17, 30)) == [GOLD]

    driver.submit([command('k2', 2, base.REVOKE, 'SC0001')])
    assert mux.entitlements('SC0001') == []


def test_mux_receives_every_message_in_order(driver, mux):
    "Every command reaches the MUX intact and in order, each one acked"
    commands = every_action() + many_commands(500)
    results = driver.submit(commands)

    assert statuses(results) == [base.ACKED] * len(commands)
    assert [r.key for r in results] == [c.key for c in commands]
    assert [as_sent(d) for d in mux.datagrams] == [
        dataclasses.asdict(c) for c in commands]
    assert decode_datagram(mux.datagrams[1])['sections'] > 1
    assert mux.received[:3] == [
        simulcrypt.CHANNEL_SETUP, simulcrypt.STREAM_SETUP,
        simulcrypt.STREAM_BW_REQUEST]


def test_session_kept_across_submits(driver, mux):
    for start in range(0, 300, 100):
        results = driver.submit(many_commands(100, start))
        assert statuses(results) == [base.ACKED] * 100
    assert mux.connections == 1
    assert len(mux.datagrams) == 300


def test_large_batch_through_mux_buffer(driver, mux):
    """A batch far larger than the MUX's input buffer goes through

    The MUX hangs up when a read begins inside a message: it never does.
    """
    commands = many_commands(3000)
    results = driver.submit(commands)

    assert statuses(results) == [base.ACKED] * len(commands)
    assert sum(map(len, mux.datagrams)) > 10 * simulcrypt.MUX_INPUT_BUFFER
    assert [as_sent(d)['key'] for d in mux.datagrams] == [
        c.key for c in commands]
    assert mux.connections == 1


def test_mux_hangs_up_on_a_cut_message(mux):
    "Why the driver writes whole messages: the MUX drops a cut one"
    setup = simulcrypt.pack_message(3, simulcrypt.CHANNEL_SETUP, [
            (simulcrypt.CLIENT_ID, mux.client_id),
            (simulcrypt.DATA_CHANNEL_ID, 1),
            (simulcrypt.SECTION_TSPKT_FLAG, 0)])
    with socket.create_connection(('127.0.0.1', mux.port), 2) as sock:
        sock.sendall(setup[:7])
        time.sleep(0.05)
        try:
            sock.sendall(setup[7:])
            assert sock.recv(100) == b''
        except ConnectionResetError:
            pass
    assert 'MUX closing connection' in mux.log


def test_bandwidth_requested_and_respected():
    "The driver asks for bandwidth and paces itself at what it gets"
    with RecordingMux(bandwidth=64) as mux, \
            make_driver(mux, bandwidth=512) as driver:
        assert driver.health() == (True, 'channel open, 64 kbps allocated')
        commands = many_commands(60)
        start = time.monotonic()
        results = driver.submit(commands)
        elapsed = time.monotonic() - start

        request, = [m for m in mux.messages
            if m.type == simulcrypt.STREAM_BW_REQUEST]
        assert request.bandwidth == 512
        assert statuses(results) == [base.ACKED] * len(commands)
        sent = sum(len(d) + DATA_PROVISION_OVERHEAD for d in mux.datagrams)
        assert sent > 3000
        # 64 kbps: 8000 bytes per second
        assert elapsed >= sent / 8000
        assert elapsed < sent / 8000 + 2


def test_protocol_version_refused():
    "A version the MUX does not speak fails the set-up with its reason"
    with RecordingMux(protocol_version=2) as mux:
        with make_driver(mux) as driver:
            with pytest.raises(base.DriverError,
                    match=r'channel_setup \(protocol_version 3\).*'
                    r'unsupported protocol version \(0x0002\)'):
                driver.submit(many_commands(1))
            ok, reason = driver.health()
            assert not ok
            assert 'unsupported protocol version' in reason
        with make_driver(mux, protocol_version=2) as driver:
            assert statuses(driver.submit(many_commands(1))) == [base.ACKED]
        assert len(mux.datagrams) == 1


@pytest.mark.parametrize('version', [1, 2, 4, 5])
def test_protocol_versions(mux, version):
    "Version 1 has no data_id, the others do: the MUX takes them all"
    with make_driver(mux, protocol_version=version) as driver:
        commands = many_commands(3)
        assert statuses(driver.submit(commands)) == [base.ACKED] * 3
    assert [as_sent(d)['key'] for d in mux.datagrams] == [
        c.key for c in commands]


def test_connection_dropped_mid_batch():
    "Nothing is acked without a later stream_status; the resend arrives"
    with RecordingMux(drop_after=5) as mux, make_driver(mux) as driver:
        commands = many_commands(30)
        results = driver.submit(commands)

        assert statuses(results) == [base.UNKNOWN] * 30
        assert all('not confirmed' in r.error for r in results)
        assert len(mux.datagrams) == 5

        results = driver.submit(commands)
        assert statuses(results) == [base.ACKED] * 30
        assert mux.connections == 2
        assert [as_sent(d)['key'] for d in mux.datagrams[5:]] == [
            c.key for c in commands]


def test_connection_dropped_after_some_windows():
    "Windows confirmed before the drop are acked, the others unknown"
    with RecordingMux(drop_after=10) as mux, make_driver(mux) as driver:
        driver.window_size = 200
        commands = many_commands(40)
        results = driver.submit(commands)

        acked = [r.key for r in results if r.status == base.ACKED]
        received = [as_sent(d)['key'] for d in mux.datagrams]
        assert acked and acked == received[:len(acked)]
        assert len(received) == 10
        assert statuses(results)[len(acked):] == (
            [base.UNKNOWN] * (40 - len(acked)))


def test_mux_down_then_back(driver, mux):
    "While the MUX is down nothing is sent; then the driver reconnects"
    assert driver.health()[0]
    mux.down(0.5)
    with pytest.raises(base.DriverError, match='cannot connect'):
        driver.submit(many_commands(2))
    assert driver.health()[0] is False

    mux.wait_listening()
    results = driver.submit(many_commands(2))
    assert statuses(results) == [base.ACKED] * 2
    assert mux.connections == 2
    assert len(mux.datagrams) == 2


def test_stream_error_rejects(driver, mux):
    "The MUX's stream_error rejects the commands with its words"
    assert driver.health()[0]
    mux.data_id = 99
    results = driver.submit(many_commands(3))

    assert statuses(results) == [base.REJECTED] * 3
    assert results[0].error == (
        'stream_error: unknown data_id value (0x0010)')
    assert not mux.datagrams

    with pytest.raises(base.DriverError, match='unknown data_id value'):
        driver.submit(many_commands(3))
    mux.data_id = 1
    assert statuses(driver.submit(many_commands(3))) == [base.ACKED] * 3


def test_invalid_commands_rejected_unsent(mux):
    limits = base.Capabilities(osd_length=20)
    with make_driver(mux, limits) as driver:
        commands = [
            command('k-long', 1, base.OSD, 'SC1', text='x' * 21,
                duration=5, repeat=1),
            command('k-reboot', 1, 'reboot', 'SC1'),
            *many_commands(2),
            ]
        results = driver.submit(commands)

    assert statuses(results) == [
        base.REJECTED, base.REJECTED, base.ACKED, base.ACKED]
    assert 'longer than 20 characters' in results[0].error
    assert [as_sent(d)['key'] for d in mux.datagrams] == [
        c.key for c in commands[2:]]


def test_health_and_close(driver, mux):
    assert driver.health() == (True, 'channel open, 10000 kbps allocated')
    assert simulcrypt.CHANNEL_TEST in mux.received
    driver.close()

    assert simulcrypt.STREAM_CLOSE_REQUEST in mux.received
    wait_for(lambda: 'MUX connection closed per request' in mux.log)
    assert driver.health()[0]
    assert mux.connections == 2


def test_not_reachable():
    with RecordingMux() as mux:
        settings = mux.settings()
    driver = SimulcryptDriver(settings, {})
    with pytest.raises(base.DriverError, match='cannot connect to MUX'):
        driver.submit(many_commands(1))
    ok, reason = driver.health()
    assert not ok and 'cannot connect' in reason


def test_bad_settings():
    driver = SimulcryptDriver({'host': 'localhost', 'port': 'x'}, {})
    with pytest.raises(base.DriverError, match='setting port'):
        driver.submit(many_commands(1))
    assert driver.health()[0] is False


def test_interface(driver):
    limits = base.Capabilities(osd_length=40, batch_size=500, rate=100)
    capabilities = SimulcryptDriver({}, {}, limits).capabilities()
    assert (capabilities.query, capabilities.export) == (False, False)
    assert (capabilities.osd_length, capabilities.batch_size,
        capabilities.rate) == (40, 500, 100)
    assert driver.query_device('SC1') is None
    assert list(driver.export_state()) == []
    assert base.get_driver('simulcrypt') is SimulcryptDriver
    assert driver.submit([]) == []


def measure(count=20000, batch=500, bandwidth=60000):
    "Commands per second through driver and MUX"
    commands = many_commands(count)
    with RecordingMux(bandwidth=bandwidth, record=False) as mux, \
            make_driver(mux) as driver:
        driver.health()
        start = time.monotonic()
        for n in range(0, count, batch):
            results = driver.submit(commands[n:n + batch])
            assert all(r.status == base.ACKED for r in results)
        return count / (time.monotonic() - start)


if __name__ == '__main__':
    for batch in [100, 500, 2000]:
        print(f'batch {batch}: {measure(batch=batch):.0f} commands/s')
