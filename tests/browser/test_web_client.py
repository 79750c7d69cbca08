"""The back office as an operator meets it: the RSoft web client, the login,
the Pay-TV menu and the subscriber list of a small generated operator."""
import re
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SUBSCRIBER_MENU = ('Pay-TV', 'Subscribers', 'Subscribers')


def open_list(sao, screenshot, menu, name):
    """Log in, open the list at the menu path, check the window's title,
    take a screenshot; return the rows as texts"""
    sao.login()
    sao.open_menu(*menu)
    rows = sao.current_list()
    screenshot(name)
    assert sao.window_title() == f'{menu[-1]} - RSoft SMS'
    return rows
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

    rows = open_list(sao, screenshot, DEVICE_MENU, 'devices')
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

    rows = open_list(sao, screenshot, INVOICE_MENU, 'invoices')
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

    rows = open_list(sao, screenshot, OUTBOX_MENU, 'cas_outbox')
    text = '\n'.join(rows)
    assert "Entitle" in text and "Queued" in text
    assert any(c['address'] in text for c in commands), (
        f"commands not in the list: {commands} vs {rows[:5]}")


PAYMENT_MENU = ('Pay-TV', 'Payments', 'Payments')


def test_payment_list(sao, demo_server, screenshot):
    """The admin opens Pay-TV / Payments / Payments on the receipts to
    deposit: the cash the field agent has not deposited yet"""
    payments = demo_server.rpc('model.rsoft.payment.search_read', [
            ('state', '=', 'received'),
            ], 0, None, None, ['number'])
    assert payments, "the generator left no payment to deposit"

    rows = open_list(sao, screenshot, PAYMENT_MENU, 'payments')
    text = '\n'.join(rows)
    assert "Cash" in text
    assert all(p['number'] in text for p in payments), (
        f"receipts not in the list: {payments} vs {rows[:5]}")


CASH_UP_MENU = ('Pay-TV', 'Collections', 'Daily Cash-up')


def test_cash_up(sao, demo_server, screenshot):
    """The admin opens Pay-TV / Collections / Daily Cash-up: today's
    collection of the field agent, per mode"""
    collected = demo_server.rpc('model.rsoft.payment.search_read', [
            ('collector.kind', '=', 'field_agent'),
            ], 0, 1, None, ['collector.rec_name'])
    assert collected, "no field agent collected"
    agent = collected[0]['collector.']['rec_name']

    rows = open_list(sao, screenshot, CASH_UP_MENU, 'cash_up')
    text = '\n'.join(rows)
    assert agent in text, (
        f"the agent is not in the cash-up: {agent} vs {rows[:5]}")


NOTIFICATION_MENU = ('Pay-TV', 'Notifications', 'Outbox')


def test_notification_outbox(sao, demo_server, screenshot):
    """The admin opens Pay-TV / Notifications / Outbox: the receipts
    queued for the subscribers' mobiles"""
    queued = demo_server.rpc('model.rsoft.notify.notification.search_read', [
            ('event.code', '=', 'payment_receipt'),
            ('channel', '=', 'sms'),
            ], 0, 5, None, ['recipient'])
    assert queued, "no receipt was queued"

    rows = open_list(sao, screenshot, NOTIFICATION_MENU, 'notifications')
    text = '\n'.join(rows)
    assert "SMS" in text
    assert any(n['recipient'] in text for n in queued), (
        f"receipts not in the outbox: {queued} vs {rows[:5]}")


COMPLAINT_MENU = ('Pay-TV', 'Service', 'Complaints')


def test_complaint_list(sao, demo_server, screenshot):
    """The admin opens Pay-TV / Service / Complaints: the morning's
    dockets with their clocks"""
    dockets = demo_server.rpc('model.rsoft.complaint.search_read', [
            ('state', '=', 'open'),
            ], 0, 5, None, ['number'])
    assert dockets, "the generator lodged no complaint"

    rows = open_list(sao, screenshot, COMPLAINT_MENU, 'complaints')
    text = '\n'.join(rows)
    assert any(d['number'] in text for d in dockets), (
        f"dockets not in the list: {dockets} vs {rows[:5]}")


def test_list_views_known_to_the_client(demo_server):
    """Every column of our lists has a widget the web client can draw: a
    column it does not know stops the whole list (a date-time field, for
    one, needs a date and a time column)"""
    sao = Path(__file__).parents[2] / 'www' / 'dist' / 'tryton-sao.js'
    source = sao.read_text(encoding='utf-8')
    table = re.search(
        r'Sao\.View\.TreeXMLViewParser\.WIDGETS = \{(.*?)\};',
        source, re.S).group(1)
    known = set(re.findall(r"'([a-z0-9]+)':", table))
    assert {'char', 'date', 'time'} <= known

    unknown = []
    views = demo_server.rpc('model.ir.ui.view.search_read', [
            ('type', '=', 'tree'), ('module', 'like', 'rsoft_%'),
            ], 0, None, None, ['model', 'name'])
    assert views
    for view in views:
        result = demo_server.rpc(
            f"model.{view['model']}.fields_view_get", view['id'], 'tree')
        for field in ET.fromstring(result['arch']).iter('field'):
            name = field.get('name')
            widget = field.get('widget') or result['fields'][name]['type']
            if widget not in known:
                unknown.append(f"{view['name']}: {name} ({widget})")
    assert not unknown, unknown


@pytest.mark.parametrize('path', [
        'locale/en_US.json', 'locale/en.json', 'images/tryton-pause.svg'])
def test_served(demo_server, path):
    "trytond serves what sao asks first: no 405 in the browser's console"
    with urllib.request.urlopen(demo_server.url + path, timeout=30) as reply:
        assert reply.status == 200
