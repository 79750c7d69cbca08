"The batch file driver against a vendor's batch processor, no database"
import csv
import datetime
import io
import json
import multiprocessing
import os
import time

import pytest

from trytond.modules.rsoft_cas.drivers import base
from trytond.modules.rsoft_cas.drivers.batch_file import (
    BatchFileDriver,
    sign,
    verify,
)
from trytond.modules.rsoft_cas.tests.batch_vendor import FakeVendor

KEY = 'S3CRET-signing-key-do-not-leak'
D = datetime.date
DT = datetime.datetime


@pytest.fixture
def folders(tmp_path):
    paths = {n: tmp_path / n for n in ['outbox', 'inbox', 'archive']}
    for path in paths.values():
        path.mkdir()
    return paths


@pytest.fixture
def driver(folders):
    settings = {n: str(p) for n, p in folders.items()}
    settings['prefix'] = 'CAS'
    return BatchFileDriver(settings, {'signing_key': KEY})


@pytest.fixture
def vendor(folders):
    return FakeVendor(folders['outbox'], folders['inbox'], KEY, prefix='CAS')


def entitle(key, device, *products, sequence=1):
    return base.Command(
        key=key, sequence=sequence, action=base.ENTITLE, device=device,
        payload={'products': [
                base.Product(p, D(2025, 1, 1), D(2025, 1, 31)).as_dict()
                for p in products]})


def command(key, action, device, sequence=1, **payload):
    return base.Command(
        key=key, sequence=sequence, action=action, device=device,
        payload=payload)


def files(folder):
    return sorted(os.listdir(folder))


def age(path, seconds):
    "Make path look written seconds ago"
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_registered():
    assert base._DRIVERS['batch_file'] is BatchFileDriver


def test_round_trip(driver, vendor, folders):
    "The vendor applies a batch; collect tells what it accepted or refused"
    vendor.products = {'P101', 'P102'}
    vendor.reject_device('VC-BAD', 'unknown card')
    commands = [
        entitle('k1', 'VC-1', 'P101', 'P102'),
        command('k2', base.PAIR, 'VC-1', stb='STB-1', card='VC-1'),
        entitle('k3', 'VC-BAD', 'P101'),
        entitle('k4', 'VC-2', 'P999'),
        ]

    results = driver.submit(commands)

    assert [(r.key, r.status) for r in results] == [
        ('k1', 'sent'), ('k2', 'sent'), ('k3', 'sent'), ('k4', 'sent')]
    batch, = {r.reply for r in results}
    assert files(folders['outbox']) == [batch, batch + '.sig']
    assert driver.collect() == []

    assert vendor.process() == [batch]
    results = driver.collect()

    assert [(r.key, r.status, r.error) for r in results] == [
        ('k1', 'acked', ''),
        ('k2', 'acked', ''),
        ('k3', 'rejected', 'E02 unknown card'),
        ('k4', 'rejected', 'E04 unknown product P999'),
        ]
    assert not any(KEY in r.reply + r.error for r in results)
    assert vendor.devices['VC-1']['paired_with'] == 'STB-1'
    assert [p['id'] for p in vendor.devices['VC-1']['products']] == [
        'P101', 'P102']
    result = batch[:-len('.csv')] + '.result.csv'
    assert files(folders['inbox']) == []
    assert files(folders['archive']) == [result, result + '.sig']
    assert files(folders['outbox']) == []


def test_batch_content_and_signature(driver, folders):
    "A batch is a CSV file with a detached HMAC-SHA256 signature"
    osd = base.Command(
        key='k2', sequence=8, action=base.OSD, target='group',
        group='lco:LCO-MUM-01',
        payload={'text': 'Pay by 5th, ₹ 236', 'repeat': 3, 'duration': 10})

    name = driver.submit([entitle('k1', 'VC-1', 'P101', sequence=7), osd])[
        0].reply

    assert name.startswith('CAS-') and name.endswith('.csv')
    path = folders['outbox'] / name
    data = path.read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode('utf-8'), newline='')))
    assert rows == [
        ['key', 'sequence', 'action', 'device', 'target', 'group',
            'payload'],
        ['k1', '7', 'entitle', 'VC-1', 'device', '',
            '{"products":[{"end":"2025-01-31","id":"P101",'
            '"start":"2025-01-01"}]}'],
        ['k2', '8', 'osd', '', 'group', 'lco:LCO-MUM-01',
            '{"duration":10,"repeat":3,"text":"Pay by 5th, \\u20b9 236"}'],
        ]
    assert json.loads(rows[2][6])['text'] == 'Pay by 5th, ₹ 236'
    signature = (folders['outbox'] / (name + '.sig')).read_text()
    assert signature.strip() == sign(data, KEY)
    assert signature.startswith('hmac-sha256:')
    assert len(signature.strip().split(':')[1]) == 64
    assert KEY not in signature
    assert verify(data, signature, KEY)

    tampered = bytearray(data)
    tampered[-3] ^= 1
    assert not verify(bytes(tampered), signature, KEY)
    assert not verify(data, signature, 'another key')
    assert not verify(data, signature.replace('hmac-sha256', 'md5'), KEY)
    assert not verify(data, '', KEY)
    assert not verify(data, 'hmac-sha256:é', KEY)
    # No temporary file left for the vendor to stumble on
    assert files(folders['outbox']) == [name, name + '.sig']


def test_empty_submit_writes_nothing(driver, folders):
    assert driver.submit([]) == []
    assert files(folders['outbox']) == []


def test_vendor_refuses_tampered_batch(driver, vendor, folders):
    name = driver.submit([entitle('k1', 'VC-1', 'P101')])[0].reply
    path = folders['outbox'] / name
    path.write_bytes(path.read_bytes().replace(b'P101', b'P666'))

    vendor.process()

    assert vendor.refused == [name]
    assert vendor.devices == {}
    assert driver.collect() == []


def test_forged_result_set_aside(driver, vendor, folders, caplog):
    "A result file not signed with our key acks nothing"
    driver.submit([entitle('k1', 'VC-1', 'P101')])
    name = 'CAS-forged.result.csv'
    vendor.write(name, ['key', 'status', 'error'], [['k1', 'ok', '']],
        key='not the key')

    assert driver.collect() == []

    assert driver.untrusted == [name]
    assert files(folders['inbox'] / 'untrusted') == [name, name + '.sig']
    assert files(folders['archive']) == []
    assert name in caplog.text and KEY not in caplog.text
    assert driver.collect() == []


def test_unsigned_result_waits_then_set_aside(driver, folders):
    "A vendor may write the signature second: a young file is left alone"
    path = folders['inbox'] / 'CAS-1.result.csv'
    path.write_bytes(b'key,status,error\r\nk1,ok,\r\n')

    assert driver.collect() == []
    assert driver.untrusted == []
    assert files(folders['inbox']) == ['CAS-1.result.csv']

    age(path, 120)
    assert driver.collect() == []
    assert driver.untrusted == ['CAS-1.result.csv']
    assert files(folders['inbox'] / 'untrusted') == ['CAS-1.result.csv']


def test_unreadable_result_set_aside(driver, vendor, folders):
    "Signed but without the columns: set aside, not guessed at"
    vendor.write('CAS-1.result.csv', ['id', 'outcome'], [['k1', 'ok']])

    assert driver.collect() == []
    assert driver.untrusted == ['CAS-1.result.csv']


def test_unknown_status(driver, vendor):
    vendor.write('CAS-1.result.csv', ['key', 'status', 'error'],
        [['k1', 'pending', '']])

    result, = driver.collect()

    assert (result.key, result.status) == ('k1', 'unknown')
    assert 'pending' in result.error


def test_unreadable_file_does_not_lose_others(driver, vendor, folders):
    "A result file that cannot be read waits; the others are answered"
    (folders['inbox'] / 'CAS-0.result.csv').mkdir()
    driver.submit([entitle('k1', 'VC-1', 'P101')])
    vendor.process()

    assert [r.key for r in driver.collect()] == ['k1']
    assert files(folders['inbox']) == ['CAS-0.result.csv']


def test_invalid_prefix(driver):
    driver.prefix = '../CAS'

    with pytest.raises(base.DriverError, match='prefix'):
        driver.submit([entitle('k1', 'VC-1', 'P101')])


def test_other_prefix_ignored(driver, vendor, folders):
    "Another CAS system may share the folders"
    vendor.write('CAS2-1.result.csv', ['key', 'status', 'error'],
        [['k1', 'ok', '']])

    assert driver.collect() == []
    assert files(folders['inbox']) == [
        'CAS2-1.result.csv', 'CAS2-1.result.csv.sig']


def test_result_consumed_once(driver, vendor, folders):
    driver.submit([entitle('k1', 'VC-1', 'P101')])
    vendor.process()

    assert [r.status for r in driver.collect()] == ['acked']
    assert driver.collect() == []

    # The vendor drops a result file of the same name again
    driver.submit([entitle('k2', 'VC-1', 'P102')])
    vendor.process()
    archived = files(folders['archive'])
    assert [r.key for r in driver.collect()] == ['k2']
    assert len(files(folders['archive'])) == len(archived) + 2


def test_duplicate_keys(driver, vendor):
    "A command sent again with its key is applied once and acked"
    driver.submit([entitle('k1', 'VC-1', 'P101')])
    driver.submit([entitle('k1', 'VC-1', 'P101'), entitle('k1', 'VC-1')])
    vendor.process()

    results = driver.collect()

    assert [(r.key, r.status) for r in results] == [
        ('k1', 'acked'), ('k1', 'acked'), ('k1', 'acked')]
    assert [r.reply.split(': ')[1] for r in results] == [
        'ok', 'duplicate', 'duplicate']
    assert len(vendor.applied) == 1
    assert [p['id'] for p in vendor.devices['VC-1']['products']] == ['P101']


def test_vendor_applies_actions(driver, vendor):
    driver.submit([
            entitle('k1', 'VC-1', 'P101', sequence=1),
            command('k2', base.SUSPEND, 'VC-1', sequence=2),
            command('k3', base.REVOKE, 'VC-2', sequence=1),
            command('k4', base.BLACKLIST, 'VC-3', reason='cloned'),
            command('k5', base.RESUME, 'VC-3'),
            ])
    vendor.process()

    results = driver.collect()

    assert [r.status for r in results] == [
        'acked', 'acked', 'acked', 'acked', 'rejected']
    assert results[-1].error == 'E03 device blacklisted'
    assert vendor.devices['VC-1']['suspended']
    assert vendor.devices['VC-2']['products'] == []
    assert vendor.devices['VC-3']['blacklisted']


def test_export_state(driver, vendor, folders):
    assert driver.export_state() == []
    assert driver.query_device('VC-1') is None
    capabilities = driver.capabilities()
    assert not capabilities.query and not capabilities.export

    driver.submit([
            entitle('k1', 'VC-1', 'P101', 'P102'),
            command('k2', base.PAIR, 'VC-1', stb='STB-1', card='VC-1'),
            command('k3', base.SUSPEND, 'VC-2'),
            command('k4', base.BLACKLIST, 'VC-3', reason='cloned'),
            ])
    vendor.process()
    vendor.export(datetime.datetime(2025, 1, 1, 6, 0))

    capabilities = driver.capabilities()
    assert capabilities.query and capabilities.export
    states = {s.device: s for s in driver.export_state()}
    assert sorted(states) == ['VC-1', 'VC-2', 'VC-3']
    assert states['VC-1'] == base.DeviceState(
        device='VC-1',
        products=[
            base.Product('P101', D(2025, 1, 1), D(2025, 1, 31)),
            base.Product('P102', D(2025, 1, 1), D(2025, 1, 31)),
            ],
        paired_with='STB-1')
    assert states['VC-2'].suspended and not states['VC-2'].blacklisted
    assert states['VC-3'].blacklisted
    assert driver.query_device('VC-1') == states['VC-1']
    assert driver.query_device('VC-404') is None

    # What a caller does to its copy does not change the next answer
    states['VC-1'].products.clear()
    assert len(driver.query_device('VC-1').products) == 2

    # The newest export answers
    driver.submit([command('k5', base.REVOKE, 'VC-1')])
    vendor.process()
    vendor.export(datetime.datetime(2025, 1, 2, 6, 0))
    assert driver.query_device('VC-1').products == []

    # A forged newer export is set aside, the newest good one answers
    vendor.write('CAS-state-20250103T060000Z.csv',
        ['device', 'products', 'paired_with', 'suspended', 'blacklisted'],
        [['VC-1', '[]', '', '0', '0']], key='not the key')
    assert driver.query_device('VC-3').blacklisted
    assert driver.untrusted == ['CAS-state-20250103T060000Z.csv']


def test_timed_product(driver, vendor, folders):
    """A PPV window goes in the payload column in UTC; the vendor applies
    it, exports it and stops it at its end"""
    gold = base.Product('P101', D(2025, 1, 1), D(2025, 1, 31))
    match = base.Product(
        'PPV-1', DT(2025, 1, 12, 14, 0), DT(2025, 1, 12, 17, 30))
    driver.submit([base.Command('k1', 1, base.ENTITLE, 'VC-1',
                payload={'products': [gold.as_dict(), match.as_dict()]})])

    batch, = [n for n in files(folders['outbox']) if n.endswith('.csv')]
    row, = csv.DictReader(io.StringIO(
            (folders['outbox'] / batch).read_text(), newline=''))
    assert json.loads(row['payload'])['products'][1] == {
        'id': 'PPV-1', 'start': '2025-01-12T14:00:00Z',
        'end': '2025-01-12T17:30:00Z'}
    vendor.process()
    assert [r.status for r in driver.collect()] == ['acked']

    vendor.now = DT(2025, 1, 12, 17, 29)
    vendor.export(DT(2025, 1, 12, 17, 29))
    assert driver.query_device('VC-1').products == [gold, match]
    vendor.now = DT(2025, 1, 12, 17, 30)
    vendor.export(DT(2025, 1, 12, 17, 30))
    assert driver.query_device('VC-1').products == [gold]


def test_malformed_product_rejected(driver, vendor):
    "A product with a day for a start and a time for an end is refused"
    driver.submit([base.Command('k1', 1, base.ENTITLE, 'VC-1',
                payload={'products': [{'id': 'PPV-1',
                            'start': '2025-01-12',
                            'end': '2025-01-12T17:30:00Z'}]})])
    vendor.process()
    result, = driver.collect()
    assert result.status == 'rejected'
    assert result.error.startswith('E05 malformed product')
    assert 'VC-1' not in vendor.devices


def test_missing_folder(driver, folders, tmp_path):
    "A missing folder is a DriverError naming it, never showing the key"
    missing = str(tmp_path / 'nowhere')
    driver.settings['outbox'] = missing

    with pytest.raises(base.DriverError) as info:
        driver.submit([entitle('k1', 'VC-1', 'P101')])

    assert missing in str(info.value) and 'outbox' in str(info.value)
    assert KEY not in str(info.value)
    healthy, message = driver.health()
    assert not healthy and missing in message

    driver.settings['inbox'] = missing
    with pytest.raises(base.DriverError, match='inbox'):
        driver.collect()
    assert driver.capabilities().export is False


@pytest.mark.skipif(
    hasattr(os, 'geteuid') and os.geteuid() == 0,
    reason="root writes everywhere")
def test_folder_not_writable(driver, folders):
    folders['outbox'].chmod(0o500)
    try:
        with pytest.raises(base.DriverError, match='not writable'):
            driver.submit([entitle('k1', 'VC-1', 'P101')])
    finally:
        folders['outbox'].chmod(0o700)


def test_no_signing_key(folders):
    settings = {n: str(p) for n, p in folders.items()}
    settings['prefix'] = 'CAS'
    driver = BatchFileDriver(settings, {})

    with pytest.raises(base.DriverError, match='signing key'):
        driver.submit([entitle('k1', 'VC-1', 'P101')])
    assert files(folders['outbox']) == []
    assert driver.health()[0] is False


def test_health_stale(driver, vendor, folders):
    "A vendor that stops taking batches makes the system unhealthy"
    assert driver.health() == (True, 'no batch waiting in the outbox')

    name = driver.submit([entitle('k1', 'VC-1', 'P101')])[0].reply
    driver.submit([entitle('k2', 'VC-2', 'P101')])
    healthy, message = driver.health()
    assert healthy and message.startswith('batches waiting in the outbox: 2,')

    age(folders['outbox'] / name, 3601)
    healthy, message = driver.health()
    assert not healthy and 'not picking them up' in message

    driver.settings['stale_after'] = '7200'
    assert BatchFileDriver(driver.settings, driver.credentials).health()[0]

    vendor.process()
    assert driver.health() == (True, 'no batch waiting in the outbox')


def _submit_many(settings, count):
    driver = BatchFileDriver(settings, {'signing_key': KEY})
    for i in range(count):
        driver.submit([entitle(f'{os.getpid()}-{i}', 'VC-1', 'P101')])


def test_unique_names(driver, folders):
    "Quick submits, from one process or several, never share a name"
    names = [driver.submit([entitle(f'k{i}', 'VC-1', 'P101')])[0].reply
        for i in range(200)]

    assert len(set(names)) == 200
    # The vendor takes them in name order: the order they were written
    assert sorted(names) == names

    # Forked processes start from the same counter in the same second
    context = multiprocessing.get_context('fork')
    processes = [context.Process(
            target=_submit_many, args=(driver.settings, 50))
        for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    assert [p.exitcode for p in processes] == [0] * 4
    batches = [n for n in files(folders['outbox']) if n.endswith('.csv')]
    assert len(batches) == 400
