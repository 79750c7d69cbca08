"""The back office as an operator meets it: the RSoft web client, the login,
the Pay-TV menu and the subscriber list of a small generated operator."""
import pytest

pytestmark = pytest.mark.browser

SUBSCRIBER_MENU = ('Pay-TV', 'Subscribers', 'Subscribers')
SUBSCRIBER_MODEL = 'rsoft.subscriber'


def subscriber_names(server):
    """The names under which each demo subscriber can appear in its list:
    its record name and, when it has one, its party's name"""
    fields = server.rpc(f'model.{SUBSCRIBER_MODEL}.fields_get', None)
    read = ['rec_name']
    if fields.get('party', {}).get('type') == 'many2one':
        read.append('party.rec_name')
    names = []
    for record in server.rpc(
            f'model.{SUBSCRIBER_MODEL}.search_read',
            [], 0, None, None, read):
        party = record.get('party.') or {}
        names.append({n for n in [record['rec_name'], party.get('rec_name')]
                if n})
    return names


def test_subscriber_list(sao, demo_server, screenshot):
    "The admin logs in and opens Pay-TV / Subscribers / Subscribers"
    subscribers = subscriber_names(demo_server)
    assert subscribers, "the generator made no subscriber"

    sao.login()
    assert sao.window_title() == 'RSoft SMS'
    screenshot('menu')

    sao.open_menu(*SUBSCRIBER_MENU)
    rows = sao.current_list()
    screenshot('subscribers')

    assert sao.window_title() == f'{SUBSCRIBER_MENU[-1]} - RSoft SMS'
    text = '\n'.join(rows)
    shown = [names for names in subscribers
        if any(name in text for name in names)]
    assert len(shown) >= min(5, len(rows), len(subscribers)), (
        f"subscribers of the database not in the list: {subscribers[:5]}"
        f" vs {rows[:5]}")


DEVICE_MENU = ('Pay-TV', 'Inventory', 'Devices')


def test_device_list(sao, demo_server, screenshot):
    "The admin opens Pay-TV / Inventory / Devices: the installed boxes"
    boxes = demo_server.rpc('model.stock.lot.search_read', [
            ('product.template.rsoft_device_kind', '=', 'stb'),
            ('device_state', '=', 'installed'),
            ], 0, None, None, ['number'])
    assert boxes, "the generator installed no set-top box"

    sao.login()
    sao.open_menu(*DEVICE_MENU)
    rows = sao.current_list()
    screenshot('devices')

    assert sao.window_title() == f'{DEVICE_MENU[-1]} - RSoft SMS'
    text = '\n'.join(rows)
    assert "Installed" in text
    assert any(box['number'] in text for box in boxes), (
        f"installed boxes not in the list: {boxes[:5]} vs {rows[:5]}")


INVOICE_MENU = ('Pay-TV', 'Billing', 'Bills')


def test_invoice_list(sao, demo_server, screenshot):
    "The admin opens Pay-TV / Billing / Bills: the demo's posted bills"
    invoices = demo_server.rpc('model.account.invoice.search_read', [
            ('rsoft_subscriber', '!=', None),
            ('state', 'in', ['posted', 'paid']),
            ], 0, None, None, ['number'])
    assert invoices, "the generator billed no account"

    sao.login()
    sao.open_menu(*INVOICE_MENU)
    rows = sao.current_list()
    screenshot('invoices')

    assert sao.window_title() == f'{INVOICE_MENU[-1]} - RSoft SMS'
    text = '\n'.join(rows)
    assert any(invoice['number'] in text for invoice in invoices), (
        f"bills not in the list: {invoices[:5]} vs {rows[:5]}")


OUTBOX_MENU = ('Pay-TV', 'CAS', 'Outbox')


def test_cas_outbox(sao, demo_server, screenshot):
    """The admin opens Pay-TV / CAS / Outbox: the commands the installed
    devices' state wrote, waiting for a head-end"""
    commands = demo_server.rpc('model.rsoft.cas.command.search_read', [
            ('action', '=', 'entitle'),
            ], 0, 5, None, ['address'])
    assert commands, "the generator commanded no device"

    sao.login()
    sao.open_menu(*OUTBOX_MENU)
    rows = sao.current_list()
    screenshot('cas_outbox')

    assert sao.window_title() == f'{OUTBOX_MENU[-1]} - RSoft SMS'
    text = '\n'.join(rows)
    assert "Entitle" in text and "Queued" in text
    assert any(c['address'] in text for c in commands), (
        f"commands not in the list: {commands} vs {rows[:5]}")
