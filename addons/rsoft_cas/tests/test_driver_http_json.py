"The http_json driver against a local CAS web service, no database"
import datetime
import time
import traceback

import pytest

from trytond.modules.rsoft_cas.drivers import base
from trytond.modules.rsoft_cas.drivers.http_json import HttpJsonDriver
from trytond.modules.rsoft_cas.tests.cas_http_server import CasHttpServer

TOKEN = 'S3CRET-token-do-not-leak'
D = datetime.date
DT = datetime.datetime
GOLD = base.Product('P101', D(2026, 3, 1), D(2026, 3, 31))
SPORTS = base.Product('P202', D(2026, 3, 1))
# 19:30 to 23:00 in India
MATCH = base.Product(
    'PPV-IPL', DT(2026, 3, 8, 14, 0), DT(2026, 3, 8, 17, 30))


@pytest.fixture
def cas():
    with CasHttpServer(token=TOKEN) as server:
        yield server


def make_driver(cas, credentials=None, **settings):
    settings.setdefault('url', cas.url)
    settings.setdefault('read_timeout', '2')
    if credentials is None:
        credentials = {'token': TOKEN}
    return HttpJsonDriver(settings, credentials)


@pytest.fixture
def driver(cas):
    with make_driver(cas) as driver:
        yield driver


def entitle(key, sequence, device, *products):
    return base.Command(key, sequence, base.ENTITLE, device,
        payload={'products': [p.as_dict() for p in products]})


def command(key, sequence, action, device, **payload):
    return base.Command(key, sequence, action, device, payload=payload)


def statuses(results):
    return [r.status for r in results]


def assert_no_secret(*values):
    for value in values:
        if isinstance(value, BaseException):
            text = ''.join(traceback.format_exception(value))
            text += repr(value.args) + repr(vars(value))
        else:
            text = repr(value)
        assert TOKEN not in text


def test_happy_batch(cas, driver):
    "A batch for a subscriber's new box and card is applied in order"
    commands = [
        command('k1', 1, base.PAIR, 'CARD1', stb='STB1', card='CARD1'),
        entitle('k2', 2, 'CARD1', GOLD, SPORTS),
        command('k3', 3, base.SUSPEND, 'CARD1'),
        base.Command('k4', 1, base.OSD, target='group',
            group='lco:LCO-MUM-01',
            payload={'text': "Welcome", 'duration': 10, 'repeat': 1}),
        ]

    results = driver.submit(commands)

    assert [r.key for r in results] == ['k1', 'k2', 'k3', 'k4']
    assert statuses(results) == [base.ACKED] * 4
    assert [c['key'] for c in cas.applied] == ['k1', 'k2', 'k3', 'k4']
    assert driver.query_device('CARD1') == base.DeviceState(
        'CARD1', products=[GOLD, SPORTS], paired_with='STB1',
        suspended=True)
    assert cas.device_state('STB1').paired_with == 'CARD1'
    assert driver.capabilities().query and driver.capabilities().export


def test_entitle_is_absolute(cas, driver):
    "ENTITLE sets exactly the products given, REVOKE clears them"
    driver.submit([entitle('k1', 1, 'CARD1', GOLD, SPORTS)])
    driver.submit([entitle('k2', 2, 'CARD1', SPORTS)])
    assert driver.query_device('CARD1').products == [SPORTS]

    driver.submit([command('k3', 3, base.REVOKE, 'CARD1')])
    assert driver.query_device('CARD1').products == []


def test_timed_product(cas, driver):
    "A PPV window goes in UTC, comes back alike and ends at its time"
    results = driver.submit([entitle('k1', 1, 'CARD1', GOLD, MATCH)])

    assert statuses(results) == [base.ACKED]
    products = cas.applied[0]['payload']['products']
    assert products[1] == {'id': 'PPV-IPL',
        'start': '2026-03-08T14:00:00Z', 'end': '2026-03-08T17:30:00Z'}
    assert driver.query_device('CARD1').products == [GOLD, MATCH]
    cas.now = DT(2026, 3, 8, 17, 29)
    assert driver.query_device('CARD1').products == [GOLD, MATCH]
    cas.now = DT(2026, 3, 8, 17, 30)
    assert driver.query_device('CARD1').products == [GOLD]
    exported, = driver.export_state()
    assert exported.products == [GOLD]


def test_malformed_product_rejected(cas, driver):
    "The CAS refuses a product that mixes a day and a time"
    results = driver.submit([base.Command('k1', 1, base.ENTITLE, 'CARD1',
                payload={'products': [{'id': 'PPV-IPL',
                            'start': '2026-03-08',
                            'end': '2026-03-08T17:30:00Z'}]})])

    assert statuses(results) == [base.REJECTED]
    assert results[0].error == 'E100 malformed product'


def test_duplicate_key(cas, driver):
    "A key sent again is acknowledged and applied once"
    first = driver.submit([entitle('k1', 1, 'CARD1', GOLD)])
    again = driver.submit([entitle('k1', 1, 'CARD1', GOLD)])

    assert statuses(first) == statuses(again) == [base.ACKED]
    assert '"duplicate"' in again[0].reply
    assert cas.effects['k1'] == 1
    assert cas.duplicates['k1'] == 1
    assert len(cas.applied) == 1


def test_rejected_with_cas_error(cas, driver):
    "The CAS's code and message come back; the rest of the batch passes"
    cas.unknown_products.add('P999')
    cas.reject_devices.add('CARD9')
    results = driver.submit([
            entitle('k1', 1, 'CARD1', GOLD),
            entitle('k2', 2, 'CARD1', base.Product('P999', D(2026, 3, 1))),
            entitle('k3', 1, 'CARD9', GOLD),
            ])

    assert statuses(results) == [
        base.ACKED, base.REJECTED, base.REJECTED]
    assert results[1].error == 'E104 unknown product P999'
    assert results[2].error == 'E101 unknown device CARD9'
    assert driver.query_device('CARD1').products == [GOLD]
    assert 'k2' not in cas.effects


def test_blacklisted_device(cas, driver):
    "A blacklisted card cannot be entitled again"
    results = driver.submit([
            command('k1', 1, base.BLACKLIST, 'CARD1', reason="cloned"),
            entitle('k2', 2, 'CARD1', GOLD),
            ])

    assert statuses(results) == [base.ACKED, base.REJECTED]
    assert results[1].error == 'E103 device CARD1 is blacklisted'
    assert driver.query_device('CARD1').blacklisted


def test_out_of_order(cas, driver):
    "A late command must not undo a newer one"
    driver.submit([entitle('k2', 2, 'CARD1', GOLD)])
    results = driver.submit([command('k1', 1, base.REVOKE, 'CARD1')])

    assert statuses(results) == [base.REJECTED]
    assert results[0].error.startswith('E109 out of order')
    assert driver.query_device('CARD1').products == [GOLD]


def test_batch_rejected_as_a_whole(cas, driver):
    "422 rejects every command of the batch with the CAS's error"
    results = driver.submit([
            entitle('k1', 1, 'CARD1', GOLD),
            base.Command('k2', None, base.REVOKE, 'CARD1'),
            ])

    assert statuses(results) == [base.REJECTED] * 2
    assert results[0].error == 'E422 command 1: sequence is not an integer'
    assert results[0].reply.startswith('HTTP 422')
    assert cas.applied == []


@pytest.mark.parametrize('status', [500, 503, 429])
def test_server_error(cas, driver, status):
    "5xx and 429 apply nothing and ask to retry later"
    cas.fail_next(1, status=status)
    with pytest.raises(base.DriverError, match='retry later') as info:
        driver.submit([entitle('k1', 1, 'CARD1', GOLD)])
    assert not isinstance(info.value, base.DriverTimeout)
    assert cas.applied == []

    assert statuses(driver.submit([entitle('k1', 1, 'CARD1', GOLD)])) == [
        base.ACKED]


def test_malformed_reply(cas, driver):
    "A 200 without results leaves the outcome unknown"
    cas.fail_next(1, status=200)
    results = driver.submit([entitle('k1', 1, 'CARD1', GOLD)])
    assert statuses(results) == [base.UNKNOWN]


def test_result_missing(cas, driver, monkeypatch):
    "A command the CAS did not answer for may have been applied"
    submit = cas.submit
    monkeypatch.setattr(cas, 'submit', lambda commands: submit(commands)[1:])
    results = driver.submit([
            entitle('k1', 1, 'CARD1', GOLD),
            entitle('k2', 1, 'CARD2', GOLD),
            ])
    assert statuses(results) == [base.UNKNOWN, base.ACKED]


def test_authentication_refused(cas):
    "401 raises without the secret anywhere"
    cas.reject_devices.add(TOKEN)
    with make_driver(cas, {'token': 'wrong-' + TOKEN}) as driver:
        with pytest.raises(base.DriverError, match='authentication') as info:
            driver.submit([entitle('k1', 1, 'CARD1', GOLD)])
        assert_no_secret(info.value, driver)
        assert driver.health()[0] is False
        assert_no_secret(driver.health())
    assert cas.applied == []

    # Even a CAS echoing the secret back does not leak it
    with make_driver(cas) as driver:
        results = driver.submit([entitle('k1', 1, TOKEN, GOLD)])
    assert results[0].error == 'E101 unknown device ***'
    assert_no_secret(results)


def test_timeout_then_query(cas):
    "A reply too late leaves the outcome unknown; the CAS applied it"
    with make_driver(cas, read_timeout='0.2') as driver:
        cas.slow(0.6)
        with pytest.raises(base.DriverTimeout):
            driver.submit([entitle('k1', 1, 'CARD1', GOLD)])
        cas.slow(0)

        assert driver.query_device('CARD1').products == [GOLD]
        # Sending it again with the same key resolves it, with one effect
        results = driver.submit([entitle('k1', 1, 'CARD1', GOLD)])
    assert statuses(results) == [base.ACKED]
    assert cas.effects['k1'] == 1


def test_server_down(cas, driver):
    "A CAS that refuses connections takes nothing, then works again"
    driver.submit([entitle('k1', 1, 'CARD1', GOLD)])
    cas.down()
    with pytest.raises(base.DriverError, match='refused') as info:
        driver.submit([entitle('k2', 2, 'CARD1', SPORTS)])
    assert not isinstance(info.value, base.DriverTimeout)
    ok, reason = driver.health()
    assert not ok and 'refused' in reason

    cas.up()
    results = driver.submit([entitle('k2', 2, 'CARD1', SPORTS)])
    assert statuses(results) == [base.ACKED]
    assert driver.query_device('CARD1').products == [SPORTS]


def test_server_down_for_a_while(cas, driver):
    "down(seconds) comes back by itself"
    cas.down(0.3)
    assert driver.health()[0] is False
    time.sleep(0.5)
    assert driver.health()[0] is True


def test_unknown_device(cas, driver):
    "404: the CAS does not know the device, it has nothing"
    assert driver.query_device('CARD404') == base.DeviceState('CARD404')


def test_export_paging(cas, driver):
    "export_state reads every page"
    cas.page_size = 3
    for i in range(7):
        cas.seed(f'CARD{i}', products=[GOLD], suspended=i == 3)
    # Drift: the CAS holds a product the SMS never sent
    cas.seed('CARD7', products=[SPORTS.as_dict()], paired_with='STB7')

    devices = list(driver.export_state())

    assert [d.device for d in devices] == [f'CARD{i}' for i in range(8)]
    assert devices[3].suspended and devices[3].products == [GOLD]
    assert devices[7] == base.DeviceState(
        'CARD7', products=[SPORTS], paired_with='STB7')
    assert cas.hits['export'] == 3


def test_health(cas, driver):
    ok, text = driver.health()
    assert ok and '"ok"' in text

    cas.fail_next(1, status=503)
    ok, reason = driver.health()
    assert not ok and 'HTTP 503' in reason


@pytest.mark.parametrize('server, settings, credentials', [
        ({'token': TOKEN}, {'auth': 'bearer'}, {'token': TOKEN}),
        ({'username': 'sms', 'password': TOKEN},
            {'auth': 'basic'}, {'username': 'sms', 'password': TOKEN}),
        ({'api_key': TOKEN, 'api_key_header': 'X-Cas-Key'},
            {'auth': 'header', 'auth_header': 'X-Cas-Key'},
            {'api_key': TOKEN}),
        ({}, {'auth': 'none'}, {}),
        ], ids=['bearer', 'basic', 'header', 'none'])
def test_auth_modes(server, settings, credentials):
    with CasHttpServer(**server) as cas:
        with make_driver(cas, credentials, **settings) as driver:
            results = driver.submit([entitle('k1', 1, 'CARD1', GOLD)])
        assert statuses(results) == [base.ACKED]
        assert_no_secret(results, driver)

        if server:
            wrong = {k: 'wrong' for k in credentials}
            with make_driver(cas, wrong, **settings) as driver:
                with pytest.raises(base.DriverError, match='authentication'):
                    driver.submit([entitle('k2', 2, 'CARD1', GOLD)])


def test_missing_credential(cas):
    with make_driver(cas, {}, auth='basic') as driver:
        with pytest.raises(base.DriverError, match="'username' is missing"):
            driver.submit([entitle('k1', 1, 'CARD1', GOLD)])
        ok, reason = driver.health()
    assert not ok and 'missing' in reason


def test_pairing(cas, driver):
    "A card paired with a new box leaves the old one"
    driver.submit([
            command('k1', 1, base.PAIR, 'CARD1', stb='STB1', card='CARD1'),
            command('k2', 2, base.PAIR, 'CARD1', stb='STB2', card='CARD1'),
            ])
    assert driver.query_device('CARD1').paired_with == 'STB2'
    assert driver.query_device('STB1').paired_with == ''

    driver.submit([
            command('k3', 3, base.UNPAIR, 'CARD1', stb='STB2', card='CARD1'),
            ])
    assert driver.query_device('STB2').paired_with == ''
    assert driver.query_device('CARD1').paired_with == ''
