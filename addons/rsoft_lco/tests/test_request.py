"""Subscription change requests on the LCO tests' operator, GST 18% alone
(the cess taken off), with a CAS and boxes: Gold Pack Rs 310 and Value
Pack Rs 250 (base packs of Surya TV, Surya Kids and two mandated
channels), Star Gold and Zee Cinema Rs 19 a-la-carte, Surya TV Rs 10
a-la-carte; NCF Rs 130 up to 200 channels, Rs 160 above"""
import datetime
import json
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_billing.tests.tools import new_account
from trytond.modules.rsoft_catalogue.tests.tools import rpc_as
from trytond.modules.rsoft_inventory.tests.tools import (
    create_device_models,
    receive,
    vendor_rows,
)
from trytond.modules.rsoft_subscriber.tests.tools import create_offer
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    ModuleTestCase,
    _DBTestCase,
    with_transaction,
)

from .tools import create_lco_operator

D = datetime.date
START = D(2025, 3, 1)
DAY = D(2025, 4, 1)
LAUNCH = D(2024, 1, 1)


def create_request_operator():
    """Return the LCO tests' operator with GST 18% alone, the Rs 19
    channels and the Value Pack, six boxes with their cards and a CAS
    that maps every offer"""
    pool = Pool()
    Category = pool.get('product.category')
    Channel = pool.get('rsoft.channel')
    Party = pool.get('party.party')
    Product = pool.get('product.product')
    System = pool.get('rsoft.cas.system')
    Template = pool.get('product.template')
    op = create_lco_operator()
    with set_company(op.company):
        category = op.gold.template.account_category
        Category.write([category], {
                'customer_taxes': [('remove', [op.cess.id])],
                })
        star_media, = Party.create([{'name': "Star Media"}])
        op.star, op.zee = Channel.create([{
                    'lcn': lcn, 'name': name,
                    'broadcaster': star_media.id, 'fta': False,
                    'mrps': [('create', [{
                                    'start_date': LAUNCH,
                                    'mrp': Decimal('19'),
                                    }])],
                    } for lcn, name in [
                    (201, "Star Gold"), (202, "Zee Cinema")]])
        op.star_gold = create_offer(
            "Star Gold", 'alacarte', '19', channel=op.star)
        op.zee_cinema = create_offer(
            "Zee Cinema", 'alacarte', '19', channel=op.zee)
        op.value = create_offer(
            "Value Pack", 'base_pack', '250',
            bouquet=op.base.template.bouquet)
        Template.write(
            [p.template for p in [op.star_gold, op.zee_cinema, op.value]],
            {'account_category': category.id})

        op.hd, _, op.card = create_device_models()
        vendor, = Party.create([{'name': "Gospell Smart Video"}])
        receive(op.mso, vendor, op.hd, op.card, vendor_rows(6))
        offers = Product.search([('template.rsoft_kind', '!=', None)])
        op.system, = System.create([{
                    'name': "Nagra head-end", 'code': 'NAGRA',
                    'driver': 'http_json', 'vendor': "Nagra",
                    'settings': 'url = http://cas.invalid\nauth = bearer',
                    'mappings': [('create', [{
                                    'offer': o.id, 'cas_product': f'P{o.id}',
                                    } for o in offers])],
                    }])
        Template.write([op.hd.template, op.card.template],
            {'cas_system': op.system.id})
    return op


class RequestTestCase(FixtureMixin, _DBTestCase):
    "Subscription change requests"
    module = 'rsoft_lco'
    extras = ['rsoft_cas']

    @classmethod
    def set_up_fixture(cls):
        return create_request_operator()

    def connection(self, op, lco=None, offers=(), serial=None, **values):
        """Return the connection of an account of lco (LCO-C) taking
        offers from START, with the box serial installed"""
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Line = pool.get('rsoft.subscription.line')
        Lot = pool.get('stock.lot')
        lco = lco or op.lco_c
        subscriber = new_account(lco, START, **values)
        connection = subscriber.connections[0]
        lines = Line.create([{
                    'connection': connection.id, 'product': offer.id,
                    'start_date': START,
                    } for offer in offers])
        Line.activate(lines)
        if serial:
            stb, = Lot.search([('number', '=', serial)])
            Lot.transfer([stb], lco)
            Connection(connection.id).install(stb)
        return Connection(connection.id)

    def running(self, connection, date=DAY):
        "Return the offers connection takes at date, NCF left out"
        Connection = Pool().get('rsoft.connection')
        return sorted((line.product.rec_name
                for line in Connection(connection.id).lines
                if line.state == 'active' and line.is_open(date)
                and not line.ncf))

    @with_transaction()
    def test_preview_amounts(self):
        """Gold (Rs 310) for the Value Pack (Rs 250), Star Gold and Zee
        Cinema (Rs 19 each): Rs 519.20 a month becomes Rs 493.24"""
        pool = Pool()
        Event = pool.get('rsoft.subscriber.event')
        Line = pool.get('rsoft.subscription.line')
        Request = pool.get('rsoft.subscription.request')
        with self.fixture() as op:
            connection = self.connection(op, offers=[op.gold])
            lines = Line.search([('connection', '=', connection.id)])
            events = Event.search_count([])

            request = Request.preview(connection,
                add=[op.value, op.star_gold, op.zee_cinema],
                remove=[op.gold], date=DAY)

            self.assertEqual(request.state, 'proposed')
            self.assertIsNone(request.id)
            # 310 + NCF 130 = 440, GST 79.20
            self.assertEqual(
                (request.offers_before, request.ncf_before,
                    request.taxes_before, request.total_before),
                (Decimal('310.00'), Decimal('130.00'), Decimal('79.20'),
                    Decimal('519.20')))
            self.assertEqual(request.channel_count_before, 2)
            self.assertEqual(request.ncf_slab_before, "up to 200 channels")
            # 250 + 19 + 19 = 288, + NCF 130 = 418, GST 18% 75.24
            self.assertEqual(
                (request.offers_after, request.ncf_after,
                    request.taxes_after, request.total_after),
                (Decimal('288.00'), Decimal('130.00'), Decimal('75.24'),
                    Decimal('493.24')))
            self.assertEqual(request.channel_count_after, 4)
            self.assertEqual(request.ncf_slab_after, "up to 200 channels")
            self.assertEqual(request.difference, Decimal('-25.96'))
            self.assertEqual(
                sorted((line.action, line.product.rec_name,
                        line.monthly_price) for line in request.lines),
                [('add', "Star Gold", Decimal('19')),
                    ('add', "Value Pack", Decimal('250')),
                    ('add', "Zee Cinema", Decimal('19')),
                    ('remove', "Gold Pack", Decimal('310'))])

            # Nothing left behind
            self.assertEqual(
                Line.search([('connection', '=', connection.id)]), lines)
            self.assertEqual(self.running(connection), ["Gold Pack"])
            self.assertEqual(Event.search_count([]), events)
            self.assertEqual(Request.search([]), [])

    @with_transaction()
    def test_preview_second_tv_and_slab(self):
        "A second TV pays 40% of the NCF; the slab says so"
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Request = pool.get('rsoft.subscription.request')
        with self.fixture() as op:
            primary = self.connection(op, offers=[op.gold])
            second, = Connection.create([{
                        'subscriber': primary.subscriber.id,
                        'kind': 'second_tv',
                        }])
            Connection.activate([second], START)

            request = Request.preview(second, add=[op.value], date=DAY)

            self.assertEqual(
                (request.offers_before, request.ncf_before,
                    request.total_before, request.ncf_slab_before),
                (Decimal('0.00'), Decimal('0.00'), Decimal('0.00'),
                    None))
            # 250 + 40% of 130 = 302, GST 54.36
            self.assertEqual(
                (request.ncf_after, request.taxes_after,
                    request.total_after, request.ncf_slab_after),
                (Decimal('52.00'), Decimal('54.36'), Decimal('356.36'),
                    "up to 200 channels, second TV at 40%"))

    @with_transaction()
    def test_preview_refused(self):
        """The rules of the activation refuse, and preview says why:
        a channel of the pack a-la-carte, a second base pack"""
        pool = Pool()
        Request = pool.get('rsoft.subscription.request')
        with self.fixture() as op:
            connection = self.connection(op, offers=[op.gold])

            request = Request.preview(
                connection, add=[op.alacarte_tv], date=DAY)
            self.assertEqual(request.state, 'refused')
            self.assertIn('"Surya TV"', request.refusal)
            self.assertIn('"Gold Pack"', request.refusal)
            # The amounts are still shown
            self.assertEqual(request.total_after, Decimal('531.00'))

            request = Request.preview(connection, add=[op.value], date=DAY)
            self.assertEqual(request.state, 'refused')
            self.assertIn('base pack', request.refusal)

            request = Request.preview(
                connection, remove=[op.star_gold], date=DAY)
            self.assertEqual(request.refusal,
                f'The connection "{connection.rec_name}" does not take the '
                'offer "Star Gold": it cannot be removed.')

            request = Request.preview(connection, add=[op.rental], date=DAY)
            self.assertIn('is not a channel, a bouquet or a pack',
                request.refusal)

            self.assertEqual(self.running(connection), ["Gold Pack"])

    @with_transaction()
    def test_submit(self):
        """The change is made at once: Gold ends the day before, the Value
        Pack and the channels start; the CAS commands are queued"""
        pool = Pool()
        Command = pool.get('rsoft.cas.command')
        Request = pool.get('rsoft.subscription.request')
        with self.fixture() as op:
            connection = self.connection(
                op, offers=[op.gold], serial='GX00000001')
            # The box's first state, as the commit of the installation
            pool.get('rsoft.cas.device').sync()

            request = Request.submit(connection,
                add=[op.value, op.star_gold, op.zee_cinema],
                remove=[op.gold], source='channel_selector',
                login='selector-client-7', ip_address='203.0.113.9',
                user_agent='TRAI-Channel-Selector/2.1', date=DAY)

            self.assertEqual(request.state, 'done')
            self.assertTrue(request.number.startswith('SR'))
            self.assertEqual(
                (request.source, request.kind, request.login,
                    request.ip_address, request.user_agent,
                    request.user.login),
                ('channel_selector', 'change', 'selector-client-7',
                    '203.0.113.9', 'TRAI-Channel-Selector/2.1', 'admin'))
            self.assertTrue(request.submitted_at)
            self.assertIsNone(request.refusal)
            self.assertEqual(request.total_after, Decimal('493.24'))
            self.assertEqual(request.subscriber, connection.subscriber)
            self.assertEqual(request.lco, op.lco_c)
            self.assertEqual(sorted(p.rec_name for p in request.added),
                ["Star Gold", "Value Pack", "Zee Cinema"])
            self.assertEqual([p.rec_name for p in request.removed],
                ["Gold Pack"])

            self.assertEqual(self.running(connection),
                ["Star Gold", "Value Pack", "Zee Cinema"])
            self.assertEqual(
                sorted((line.product.rec_name, line.state, line.start_date)
                    for line in request.lines_started),
                [("Star Gold", 'active', DAY), ("Value Pack", 'active', DAY),
                    ("Zee Cinema", 'active', DAY)])
            gold, = request.lines_stopped
            self.assertEqual((gold.product, gold.end_date),
                (op.gold, D(2025, 3, 31)))

            # The card is entitled to the new offers; nothing more is left
            # for the commit to write
            command, = request.cas_commands
            self.assertEqual(request.cas_command_count, 1)
            self.assertEqual(
                (command.connection, command.action, command.state),
                (connection, 'entitle', 'queued'))
            products = {p['id'] for p in json.loads(
                    command.payload)['products']}
            self.assertEqual(products, {f'P{p.id}' for p in [
                        op.value, op.star_gold, op.zee_cinema, op.ncf]})
            self.assertEqual(pool.get('rsoft.cas.device').sync(), [])
            self.assertEqual(Command.search([
                        ('connection', '=', connection.id),
                        ('state', '=', 'queued'),
                        ('id', '>', command.id),
                        ]), [])

            # Removing a channel: it ends, the card is entitled again
            request = Request.submit(connection, remove=[op.zee_cinema],
                source='portal', login='9812345678', date=D(2025, 5, 1))
            self.assertEqual(request.state, 'done')
            self.assertEqual(self.running(connection, D(2025, 5, 1)),
                ["Star Gold", "Value Pack"])
            self.assertEqual(request.total_after, Decimal('470.82'))
            self.assertEqual(request.cas_command_count, 1)

    @with_transaction()
    def test_submit_refused(self):
        """Refused by a rule or by the LCO's wallet: nothing of the change
        stays, the request does, with the refusal"""
        pool = Pool()
        Entry = pool.get('rsoft.wallet.entry')
        Line = pool.get('rsoft.subscription.line')
        Request = pool.get('rsoft.subscription.request')
        Wallet = pool.get('rsoft.wallet')
        with self.fixture() as op:
            connection = self.connection(
                op, offers=[op.gold], serial='GX00000002')
            pool.get('rsoft.cas.device').sync()
            lines = Line.search([('connection', '=', connection.id)])

            request = Request.submit(connection, add=[op.alacarte_tv],
                date=DAY)
            self.assertEqual(request.state, 'refused')
            self.assertTrue(request.number.startswith('SR'))
            self.assertIn('"Surya TV"', request.refusal)
            self.assertEqual(request.lines_started, ())
            self.assertEqual(request.cas_commands, ())
            self.assertEqual(
                Line.search([('connection', '=', connection.id)]), lines)

            # LCO-A's wallet is empty: its share of a prepaid account's
            # month is missing
            prepaid = self.connection(op, lco=op.lco_a,
                billing_mode='prepaid', billing_cycle=1,
                bill_day_mode='fixed', bill_day=1)
            wallet, = Wallet.get_wallets([prepaid.subscriber])
            Wallet.top_up([(wallet, Decimal('1000'), START)])
            entries = Entry.search_count([])

            request = Request.submit(prepaid, add=[op.star_gold], date=DAY)
            self.assertEqual(request.state, 'refused')
            self.assertIn('LCO-A', request.refusal)
            self.assertIn('missing', request.refusal)
            self.assertEqual(self.running(prepaid), [])
            self.assertEqual(Entry.search_count([]), entries)
            self.assertEqual(Request.search([('state', '=', 'refused')],
                    order=[('id', 'ASC')]), [
                    Request(request.id - 1), request])

    @with_transaction()
    def test_submit_advice(self):
        """The advice taken: for Surya TV and Surya Kids the Base Pack
        (Rs 12) replaces Gold (Rs 310)"""
        pool = Pool()
        Request = pool.get('rsoft.subscription.request')
        with self.fixture() as op:
            connection = self.connection(op, offers=[op.gold])
            channels = [op.surya_tv, op.surya_kids]

            preview = Request.preview_advice(connection, channels, DAY)
            self.assertEqual(preview.state, 'proposed')
            self.assertEqual(preview.added, (op.base,))
            self.assertEqual(self.running(connection), ["Gold Pack"])

            request = Request.submit(connection, channels=channels,
                source='portal', login='9812345678', date=DAY)
            self.assertEqual((request.state, request.kind),
                ('done', 'advice'))
            self.assertEqual(set(request.channels), set(channels))
            self.assertEqual(request.added, (op.base,))
            self.assertEqual(request.removed, (op.gold,))
            # 12 + NCF 130 = 142, GST 25.56
            self.assertEqual(
                (request.total_before, request.total_after),
                (Decimal('519.20'), Decimal('167.56')))
            self.assertEqual(self.running(connection), ["Base Pack"])

            # Taken already: nothing to change
            again = Request.submit(connection, channels=channels,
                source='portal', login='9812345678', date=DAY)
            self.assertEqual(again.state, 'refused')
            self.assertIn('there is nothing to change', again.refusal)

    @with_transaction()
    def test_double_submit(self):
        "The same change twice in a row adds the channel once"
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        Request = pool.get('rsoft.subscription.request')
        with self.fixture() as op:
            connection = self.connection(op, offers=[op.value])

            first = Request.submit(connection, add=[op.star_gold], date=DAY)
            second = Request.submit(connection, add=[op.star_gold], date=DAY)

            self.assertEqual(first.state, 'done')
            self.assertEqual(second.state, 'refused')
            self.assertIn('"Star Gold"', second.refusal)
            self.assertEqual(len(Line.search([
                            ('connection', '=', connection.id),
                            ('product', '=', op.star_gold.id),
                            ])), 1)
            self.assertEqual(second.total_before, first.total_after)

    @with_transaction()
    def test_lco_reads_its_own(self):
        """An LCO login reads the requests of its subscribers only and
        changes none; nobody changes a request"""
        pool = Pool()
        Request = pool.get('rsoft.subscription.request')
        RequestLine = pool.get('rsoft.subscription.request.line')
        with self.fixture() as op:
            own = Request.submit(self.connection(
                    op, lco=op.lco_a, billing_mode='postpaid'),
                add=[op.value], date=DAY)
            other = Request.submit(self.connection(
                    op, lco=op.lco_b, billing_mode='postpaid'),
                add=[op.value], date=DAY)

            with rpc_as(op.user_a):
                self.assertEqual(Request.search([]), [own])
                self.assertEqual(RequestLine.search([]), list(own.lines))
                self.assertEqual(
                    Request.read([own.id], ['total_after'])[0][
                        'total_after'], Decimal('448.40'))
                with self.assertRaises(AccessError):
                    Request.read([other.id], ['id'])
                with self.assertRaises(AccessError):
                    RequestLine.read([other.lines[0].id], ['id'])
                with self.assertRaises(AccessError):
                    Request.write([own], {'login': 'forged'})
                with self.assertRaises(AccessError):
                    Request.delete([own])
                with self.assertRaises(AccessError):
                    Request.create([{
                                'company': op.company.id,
                                'subscriber': own.subscriber.id,
                                'connection': own.connection.id,
                                'source': 'portal', 'kind': 'change',
                                'date': DAY, 'state': 'done',
                                }])
            with rpc_as(op.admin):
                with self.assertRaises(AccessError):
                    Request.write([own], {'state': 'refused'})
            with self.assertRaises(AccessError):
                Request.write([own], {'state': 'refused'})
            with self.assertRaises(AccessError):
                RequestLine.delete(list(own.lines))
            self.assertEqual(Request(own.id).state, 'done')

    @with_transaction()
    def test_form_views(self):
        "The list and the form, the CAS commands on the form"
        Request = Pool().get('rsoft.subscription.request')
        form = Request.fields_view_get(view_type='form')
        self.assertIn('cas_commands', form['fields'])
        self.assertIn('total_after', form['fields'])
        tree = Request.fields_view_get(view_type='tree')
        self.assertIn('total_after', tree['fields'])


class RequestCasModuleTestCase(ModuleTestCase):
    "Tryton's checks of the module with the CAS's extension registered"
    module = 'rsoft_lco'
    extras = ['rsoft_cas']


del ModuleTestCase, _DBTestCase
