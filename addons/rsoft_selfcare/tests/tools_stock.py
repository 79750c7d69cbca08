"""What the portal tests' operator needs for the routes of
routes_stock.py, added to it by create_portal_operator (tools.py)"""
import datetime
from decimal import Decimal

from trytond.modules.rsoft_cas.tests.tools import create_cas
from trytond.modules.rsoft_inventory.tests.tools import receive, vendor_rows
from trytond.pool import Pool

# The devices of each LCO's stock: a box with its card, a box and a card
# apart, a spare box; A's serials end in 1xx, B's in 2xx
STOCK = {
    'LCO-A': {'pairs': [101, 102], 'boxes': [103, 105], 'cards': [104]},
    'LCO-B': {'pairs': [201], 'boxes': [203], 'cards': [204]},
    }
# The days before today of the payments of the reports
COLLECTION_DAYS = (3, 4)


def box(number):
    return f'GX{number:08d}'


def card(number):
    return f'{700000000000 + number}'


def set_up_stock_fixture(op):
    """Add to op (the operator of create_portal_operator, in its company
    context) the records the tests of routes_stock.py need:

    - the devices of STOCK in each LCO's stock location, of a CAS system;
    - the LCO charge account of the wallets (LCO A's wallet is left
      empty and without mode, as test_portal.py's dashboard expects:
      set_up_wallet_a gives it to the stock tests);
    - LCO B prepaid with a top-up of 700.00 and a draft top-up of 90.00;
    - payments 3 and 4 days ago: A cash 300.00 by its agent and UPI
      200.00 on the later day, a cheque of 150.00 the day before; B cash
      999.00;
    - a second TV connection of each account, without devices;
    - A's Gold Pack ending in 2 days, B's tomorrow."""
    pool = Pool()
    Connection = pool.get('rsoft.connection')
    Date = pool.get('ir.date')
    Lot = pool.get('stock.lot')
    Line = pool.get('rsoft.subscription.line')
    Party = pool.get('party.party')
    Template = pool.get('product.template')
    today = Date.today()
    stb, = Template.search([('name', '=', "Gospell HD 5100")])
    smartcard, = Template.search([('name', '=', "Nagra Smart Card")])
    stb, smartcard = stb.products[0], smartcard.products[0]
    create_cas(op, 'http_json', {
            'url': 'http://127.0.0.1:9/cas', 'auth': 'bearer',
            'read_timeout': 1},
        devices=[stb, smartcard], credentials='token = portal')

    vendor, = Party.create([{'name': "Gospell Smart Video"}])
    pairs = sum((s['pairs'] for s in STOCK.values()), [])
    boxes = sum((s['boxes'] for s in STOCK.values()), [])
    cards = sum((s['cards'] for s in STOCK.values()), [])
    rows = [r for n in pairs for r in vendor_rows(1, n)]
    rows += [r for n in boxes for r in vendor_rows(1, n, cards=False)]
    receive(op.mso, vendor, stb, smartcard, rows[:len(pairs)], 'GX-P')
    receive(op.mso, vendor, stb, None, rows[len(pairs):], 'GX-B')
    receive(op.mso, vendor, None, smartcard,
        [{'Card Number': card(n)} for n in cards], 'GX-C')
    for lco, stock in [(op.lco_a, STOCK['LCO-A']), (op.lco_b, STOCK['LCO-B'])]:
        numbers = ([box(n) for n in stock['pairs'] + stock['boxes']]
            + [card(n) for n in stock['cards']])
        Lot.transfer(Lot.search([('number', 'in', numbers)]), lco)

    # A second TV of each account, where nothing is installed yet
    Connection.create([{
                'subscriber': op.accounts[code]['subscriber'].id,
                'kind': 'second_tv',
                } for code in ['LCO-A', 'LCO-B']])

    # Before B goes prepaid: its month was sold without a wallet
    _set_up_settlements(op)
    _set_up_wallets(op, today)
    _set_up_collections(op, today)

    # Lines ending soon, as a scheduled stop leaves them
    for code, days in [('LCO-A', 2), ('LCO-B', 1)]:
        line, = Line.search([
                ('connection', '=', op.accounts[code]['connection'].id),
                ('product', '=', op.gold.id),
                ])
        Line.write([line], {'end_date': today + datetime.timedelta(days)})


def set_up_wallet_a(lco_a):
    """Make LCO A prepaid with top-ups of 1,000.00 (10 days ago) and
    500.00 (2 days ago) and a charge of 150.00 (5 days ago)"""
    pool = Pool()
    Date = pool.get('ir.date')
    Method = pool.get('rsoft.payment.method')
    Partner = pool.get('rsoft.partner')
    TopUp = pool.get('rsoft.lco.top_up')
    day = datetime.timedelta(days=1)
    today = Date.today()
    lco_a = Partner(lco_a)
    bank, = Method.search([('kind', '=', 'bank_transfer')])
    Partner.write([lco_a], {'wallet_mode': 'prepaid'})
    TopUp.record(lco_a, Decimal('1000'), bank, today - 10 * day,
        'NEFT A-1000')
    Partner.charge_wallets([
            (lco_a, Decimal('150'), today - 5 * day, "Device sale", None)])
    TopUp.record(lco_a, Decimal('500'), bank, today - 2 * day,
        'NEFT A-500')


def _set_up_settlements(op):
    """Settle and post, for A and for B, the month their accounts started
    (billed once since): op.settlements[code]"""
    pool = Pool()
    Account = pool.get('account.account')
    AccountType = pool.get('account.account.type')
    Configuration = pool.get('rsoft.wallet.configuration')
    Party = pool.get('party.party')
    Settlement = pool.get('rsoft.lco.settlement')
    Party.write([op.lco_a.party, op.lco_b.party],
        {'addresses': [('create', [{'city': "Pune"}])]})
    expense, = Account.search([
            ('type.expense', '=', True),
            ('closed', '!=', True),
            ('company', '=', op.company.id),
            ], limit=1)
    clearing, = AccountType.create([{
                'name': "LCO Clearing", 'statement': 'balance',
                'debt': True, 'company': op.company.id,
                }])
    config = Configuration(1)
    config.lco_share_account = expense
    config.lco_collection_account, = Account.create([{
                'name': "LCO Collections Clearing",
                'company': op.company.id, 'type': clearing.id,
                }])
    config.save()
    # The accounts' first month, billed on the first day of the next
    month = (op.accounts['LCO-A']['invoice'].invoice_date
        - datetime.timedelta(days=1))
    settlements = Settlement.settle([op.lco_a, op.lco_b], month)
    Settlement.post(settlements)
    op.settlements = {s.partner.code: s for s in settlements}


def _set_up_wallets(op, today):
    pool = Pool()
    Account = pool.get('account.account')
    Configuration = pool.get('rsoft.wallet.configuration')
    Method = pool.get('rsoft.payment.method')
    Partner = pool.get('rsoft.partner')
    TopUp = pool.get('rsoft.lco.top_up')
    day = datetime.timedelta(days=1)
    revenue, = Account.search([
            ('type.revenue', '=', True),
            ('closed', '!=', True),
            ('company', '=', op.company.id),
            ], limit=1)
    config = Configuration(1)
    config.lco_charge_account = revenue
    config.save()
    bank, = Method.search([('kind', '=', 'bank_transfer')])
    Partner.write([op.lco_b], {'wallet_mode': 'prepaid'})
    TopUp.record(op.lco_b, Decimal('700'), bank, today - 3 * day,
        'NEFT B-700')
    TopUp.create([{
                'company': op.company.id, 'partner': op.lco_b.id,
                'currency': op.company.currency.id, 'amount': Decimal('90'),
                'method': bank.id, 'reference': 'NEFT B-90',
                'date': today,
                }])


def _set_up_collections(op, today):
    pool = Pool()
    Collector = pool.get('rsoft.payment.collector')
    Method = pool.get('rsoft.payment.method')
    Payment = pool.get('rsoft.payment')
    methods = {m.kind: m for m in Method.search([])}
    agent, = Collector.search([('lco', '=', op.lco_a.id)])
    later, earlier = (today - datetime.timedelta(days=d)
        for d in COLLECTION_DAYS)
    a = op.accounts['LCO-A']['subscriber']
    b = op.accounts['LCO-B']['subscriber']
    for subscriber, amount, kind, date, collector in [
            (a, '300', 'cash', later, agent),
            (a, '200', 'upi', later, None),
            (a, '150', 'cheque', earlier, agent),
            (b, '999', 'cash', later, None),
            ]:
        Payment.record(subscriber, Decimal(amount), methods[kind],
            date=date, collector=collector, reference=f'{kind}-{amount}')
