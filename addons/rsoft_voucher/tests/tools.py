"""The billing tests' operator with a head-end, boxes at LCO-A and two
card designs: a Rs 300 wallet top-up and the Sports Pack for 30 days"""
import datetime as dt
from contextlib import contextmanager
from decimal import Decimal
from unittest.mock import patch

from trytond import config
from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_billing.tests.tools import create_billing_operator
from trytond.modules.rsoft_cas.tests.tools import equip
from trytond.modules.rsoft_catalogue.tests.tools import create_clerk
from trytond.modules.rsoft_partner.tests.tools import create_lco_user
from trytond.modules.rsoft_subscriber.tests.tools import create_subscriber
from trytond.pool import Pool

TODAY = dt.date(2026, 3, 2)
# 10:00 in Pune on Monday 2 March 2026, as Tryton stores it (UTC)
NOW = dt.datetime(2026, 3, 2, 4, 30)
PIN_SECRET = 'test-voucher-pin-secret-0123456789'
PASSWORD = 'printer-Password-7'


@contextmanager
def pin_secret(secret=PIN_SECRET):
    "Set the server's PIN secret (None: none) for the block"
    if not config.has_section('rsoft_voucher'):
        config.add_section('rsoft_voucher')
    before = config.get('rsoft_voucher', 'pin_secret', default='')
    config.set('rsoft_voucher', 'pin_secret', secret or '')
    try:
        yield
    finally:
        config.set('rsoft_voucher', 'pin_secret', before)


def create_voucher_operator():
    """Return the billing tests' operator (GST 18% and a 1% cess) in
    India's time zone, with a CAS system, six boxes paired with cards at
    LCO-A, the voucher accounts, templates of a Rs 300 top-up (Rs 270 to
    the partner) and of the Sports Pack for 30 days (Rs 110), logins of
    LCO-A and LCO-B and an administrator of the MSO"""
    pool = Pool()
    Company = pool.get('company.company')
    with patch.object(pool.get('ir.date'), 'today', return_value=TODAY):
        op = create_billing_operator()
        Company.write([op.company], {'timezone': 'Asia/Kolkata'})
        with set_company(op.company):
            equip(op)
            op.liability, op.expiry, op.discount = configure_vouchers(
                op.company)
            op.top_up, op.sports_card = create_templates(op)
            op.user_a = create_lco_user('lco-a', op.lco_a)
            op.user_b = create_lco_user('lco-b', op.lco_b)
            op.clerk = create_clerk('voucher-clerk', op.company)
            op.manager = create_clerk('voucher-manager', op.company,
                ('rsoft_catalogue', 'group_paytv'),
                ('rsoft_catalogue', 'group_paytv_admin'))
    return op


def configure_vouchers(company):
    """Give company's chart a "Vouchers Outstanding" liability account, a
    "Voucher Breakage" income and a "Voucher Discounts" expense account,
    and configure the vouchers with them"""
    pool = Pool()
    Account = pool.get('account.account')
    Configuration = pool.get('rsoft.voucher.configuration')
    deferred, = Account.search([
            ('code', '=', '2.2.2'), ('company', '=', company.id)])
    revenue, = Account.search([
            ('type.revenue', '=', True), ('closed', '!=', True),
            ('company', '=', company.id)], limit=1)
    expense, = Account.search([
            ('type.expense', '=', True), ('closed', '!=', True),
            ('company', '=', company.id)], limit=1)
    liability, expiry, discount = Account.create([{
                'name': "Vouchers Outstanding", 'code': '2.2.7',
                'type': deferred.type.id, 'parent': deferred.parent.id,
                'party_required': True, 'company': company.id,
                }, {
                'name': "Voucher Breakage", 'code': '4.9.1',
                'type': revenue.type.id, 'parent': revenue.parent.id,
                'company': company.id,
                }, {
                'name': "Voucher Discounts", 'code': '6.9.1',
                'type': expense.type.id, 'parent': expense.parent.id,
                'company': company.id,
                }])
    config = Configuration(1)
    config.liability_account = liability
    config.expiry_account = expiry
    config.discount_account = discount
    config.save()
    return liability, expiry, discount


def create_templates(op):
    pool = Pool()
    Template = pool.get('rsoft.voucher.template')
    top_up, sports = Template.create([{
                'name': "Recharge Rs 300",
                'company': op.company.id,
                'kind': 'top_up',
                'face_value': Decimal('300'),
                'partner_price': Decimal('270'),
                'validity': 'activation',
                'validity_days': 90,
                'serial_prefix': 'RC',
                'serial_width': 8,
                }, {
                'name': "Sports Pack 30 Days",
                'company': op.company.id,
                'kind': 'product',
                'product': op.sports.id,
                'days': 30,
                'face_value': Decimal('110'),
                'partner_price': Decimal('100'),
                'validity': 'fixed',
                'expiry_date': dt.date(2026, 6, 30),
                'pin_length': 12,
                'pin_alphabet': 'alnum',
                'serial_prefix': 'SP',
                'serial_width': 8,
                }])
    return top_up, sports


def new_connection(op, wallet=None, serial='GX00000001', **values):
    """Return the active primary TV connection of a new prepaid account
    of LCO-A on the Gold pack from TODAY (billed monthly on the 1st), with
    the box serial and its card installed; wallet is topped up before
    the activation bills March"""
    pool = Pool()
    Connection = pool.get('rsoft.connection')
    Line = pool.get('rsoft.subscription.line')
    Subscriber = pool.get('rsoft.subscriber')
    Lot = pool.get('stock.lot')
    Wallet = pool.get('rsoft.wallet')
    subscriber = create_subscriber(op.lco_a, billing_mode='prepaid',
        billing_cycle=1, bill_day_mode='fixed', bill_day=1, **values)
    connection, = subscriber.connections
    Line.create([{'connection': connection.id, 'product': op.gold.id,
                'start_date': TODAY}])
    if wallet:
        wallet_, = Wallet.get_wallets([subscriber])
        Wallet.top_up([(wallet_, Decimal(wallet), TODAY)])
    Subscriber.activate([subscriber], TODAY)
    stb, = Lot.search([('number', '=', serial)])
    Connection(connection.id).install(stb, ownership='sold', date=TODAY)
    return Connection(connection.id)


@contextmanager
def clock(now=NOW, today=None):
    """Set the voucher clock to now (naive UTC) and the company's date to
    today (by default the date of now in India); yield both mocks"""
    pool = Pool()
    Configuration = pool.get('rsoft.voucher.configuration')
    Date = pool.get('ir.date')
    today = today or (now + dt.timedelta(hours=5, minutes=30)).date()
    with patch.object(Configuration, 'now', return_value=now) as now_, \
            patch.object(Date, 'today', return_value=today) as today_:
        yield now_, today_
