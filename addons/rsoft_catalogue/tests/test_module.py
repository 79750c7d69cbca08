import datetime as dt
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

D = Decimal
TODAY = dt.date(2026, 4, 15)


def create_broadcaster(name):
    pool = Pool()
    Party = pool.get('party.party')
    party = Party(name=name)
    party.save()
    return party


def create_channel(lcn, name, broadcaster, mrp=None, **values):
    "Create a channel with an MRP from 2020-01-01"
    pool = Pool()
    Channel = pool.get('rsoft.channel')
    mrps = []
    if mrp is not None:
        mrps = [('create', [{'start_date': dt.date(2020, 1, 1), 'mrp': mrp}])]
    channel, = Channel.create([{
                'lcn': lcn, 'name': name, 'broadcaster': broadcaster.id,
                'mrps': mrps, **values}])
    return channel


def create_bouquet(code, kind, channels=(), bouquets=(), broadcaster=None,
        price=None):
    pool = Pool()
    Bouquet = pool.get('rsoft.bouquet')
    prices = []
    if price is not None:
        prices = [('create', [{
                        'start_date': dt.date(2020, 1, 1), 'price': price}])]
    bouquet, = Bouquet.create([{
                'name': code.title(), 'code': code, 'kind': kind,
                'broadcaster': broadcaster.id if broadcaster else None,
                'channels': [('add', [c.id for c in channels])],
                'bouquets': [('add', [b.id for b in bouquets])],
                'prices': prices,
                }])
    return bouquet


def create_offer(name, kind, price=None, start_date=dt.date(2026, 1, 1),
        terms=(), **values):
    "Create a draft offer with a published price version"
    pool = Pool()
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    OfferPrice = pool.get('rsoft.offer.price')
    unit, = Uom.search([('name', '=', "Unit")])
    template, = Template.create([{
                'name': name, 'rsoft_kind': kind, 'default_uom': unit.id,
                'products': [('create', [{}])],
                **values}])
    if price is not None:
        version, = OfferPrice.create([{
                    'template': template.id, 'start_date': start_date,
                    'price': price,
                    'terms': [('create', list(terms))],
                    }])
        OfferPrice.write([version], {'state': 'published'})
    return template


def create_tariff_rules():
    "Create the TRAI rules in force from 2022"
    pool = Pool()
    TariffRule = pool.get('rsoft.tariff.rule')
    start = dt.date(2022, 1, 1)
    return {r.kind: r for r in TariffRule.create([{
                    'name': name, 'kind': kind, 'value': value,
                    'start_date': start,
                    'reference': "TRAI Tariff Order 2022",
                    } for name, kind, value in [
                    ("Bouquet discount cap", 'bouquet_discount',
                        D('0.45')),
                    ("DPO bouquet discount cap", 'dpo_bouquet_discount',
                        D('0.45')),
                    ("Bouquet channel MRP cap", 'bouquet_channel_mrp',
                        D('19')),
                    ("A-la-carte at most MRP", 'alacarte_price', D('1')),
                    ("Installation cap", 'installation_price', D('350')),
                    ("Activation cap", 'activation_price', D('100')),
                    ]])}


class RsoftCatalogueTestCase(ModuleTestCase):
    "Test RSoft Catalogue module"
    module = 'rsoft_catalogue'

    @with_transaction()
    def test_channel_mrp_dated(self):
        "The MRP in force is the latest one started on the date"
        pool = Pool()
        Channel = pool.get('rsoft.channel')
        star = create_broadcaster("Star")
        plus = create_channel(101, "Star Plus", star)
        gold = create_channel(102, "Star Gold", star, mrp=D('8'))
        Channel.write([plus], {'mrps': [('create', [
                            {'start_date': dt.date(2024, 1, 1),
                                'mrp': D('10')},
                            {'start_date': dt.date(2025, 4, 1),
                                'mrp': D('12')},
                            {'start_date': dt.date(2026, 1, 1),
                                'mrp': D('15')},
                            ])]})

        for date, mrp in [
                (dt.date(2023, 12, 31), None),
                (dt.date(2024, 1, 1), D('10')),
                (dt.date(2025, 3, 31), D('10')),
                (dt.date(2025, 4, 1), D('12')),
                (dt.date(2030, 1, 1), D('15')),
                ]:
            with self.subTest(date=date):
                self.assertEqual(plus.get_mrp(date), mrp)
        self.assertEqual(
            Channel.get_mrps([plus, gold], dt.date(2025, 6, 1)),
            {plus.id: D('12'), gold.id: D('8')})
        with Transaction().set_context(date=dt.date(2024, 6, 1)):
            plus = Channel(plus.id)
            self.assertEqual(plus.mrp, D('10'))
            self.assertEqual(plus.get_mrp(), D('10'))

    @with_transaction()
    def test_channel_mrp_validation(self):
        "An FTA channel is free, MRPs are positive and unique by date"
        pool = Pool()
        Channel = pool.get('rsoft.channel')
        ChannelMrp = pool.get('rsoft.channel.mrp')
        prasar = create_broadcaster("Prasar Bharati")
        dd = create_channel(1, "DD National", prasar, mrp=D('0'), fta=True)

        with self.assertRaisesRegex(ValidationError, "free-to-air"):
            ChannelMrp.create([{
                        'channel': dd.id, 'start_date': dt.date(2025, 1, 1),
                        'mrp': D('1')}])
        news = create_channel(2, "DD News", prasar, mrp=D('2'))
        with self.assertRaisesRegex(ValidationError, "free-to-air"):
            Channel.write([news], {'fta': True})
        with self.assertRaisesRegex(ValidationError, "negative"):
            ChannelMrp.create([{
                        'channel': news.id,
                        'start_date': dt.date(2025, 1, 1),
                        'mrp': D('-1')}])
        with self.assertRaisesRegex(ValidationError, "same date"):
            ChannelMrp.create([{
                        'channel': news.id,
                        'start_date': dt.date(2020, 1, 1),
                        'mrp': D('3')}])

    @with_transaction()
    def test_bouquet_flatten(self):
        "An operator bouquet counts the channels of its bouquets once"
        pool = Pool()
        Bouquet = pool.get('rsoft.bouquet')
        star, zee = create_broadcaster("Star"), create_broadcaster("Zee")
        plus = create_channel(101, "Star Plus", star, mrp=D('19'))
        gold = create_channel(102, "Star Gold", star, mrp=D('12'))
        bharat = create_channel(103, "Star Bharat", star, mrp=D('9'))
        ztv = create_channel(201, "Zee TV", zee, mrp=D('19'))
        dd = create_channel(1, "DD National", zee, mrp=D('0'), fta=True)
        star_value = create_bouquet(
            'STAR', 'broadcaster', [plus, gold, bharat], broadcaster=star,
            price=D('25'))
        pack = create_bouquet(
            'GOLD', 'dpo', [plus, ztv, dd], [star_value], price=D('40'))

        self.assertEqual(pack.get_channels(), {plus, gold, bharat, ztv, dd})
        self.assertEqual(pack.channel_count, 5)
        self.assertEqual(set(pack.all_channels), {plus, gold, bharat, ztv, dd})
        self.assertEqual(pack.alacarte_total, D('59'))
        self.assertEqual(pack.price, D('40'))
        self.assertEqual(pack.discount, D('0.3220'))
        self.assertEqual(star_value.alacarte_total, D('40'))
        self.assertEqual(star_value.discount, D('0.3750'))
        self.assertEqual(star_value.get_price(dt.date(2019, 1, 1)), None)
        self.assertEqual(
            Bouquet.get_alacarte_totals([pack, star_value]),
            {pack.id: D('59'), star_value.id: D('40')})

    @with_transaction()
    def test_bouquet_validation(self):
        "Broadcaster bouquets hold their own channels; only DPO bouquets nest"
        pool = Pool()
        Bouquet = pool.get('rsoft.bouquet')
        Channel = pool.get('rsoft.channel')
        star, zee = create_broadcaster("Star"), create_broadcaster("Zee")
        plus = create_channel(101, "Star Plus", star, mrp=D('19'))
        ztv = create_channel(201, "Zee TV", zee, mrp=D('19'))
        star_value = create_bouquet(
            'STAR', 'broadcaster', [plus], broadcaster=star)
        pack = create_bouquet('GOLD', 'dpo', [plus], [star_value])

        with self.assertRaisesRegex(ValidationError, "Zee TV"):
            Bouquet.write([star_value], {'channels': [('add', [ztv.id])]})
        with self.assertRaisesRegex(ValidationError, "Zee TV"):
            create_bouquet('SZ', 'broadcaster', [plus, ztv], broadcaster=star)
        with self.assertRaisesRegex(ValidationError, "Only an operator"):
            create_bouquet(
                'NEST', 'broadcaster', [plus], [star_value], broadcaster=star)
        with self.assertRaisesRegex(ValidationError, "broadcaster bouquets"):
            create_bouquet('SUPER', 'dpo', [], [pack])
        with self.assertRaisesRegex(ValidationError, "broadcaster bouquets"):
            Bouquet.write([star_value], {
                    'kind': 'dpo', 'broadcaster': None})
        with self.assertRaisesRegex(ValidationError, "Star Plus"):
            Channel.write([plus], {'broadcaster': zee.id})

    @with_transaction()
    def test_ncf_find_rule(self):
        "The most specific NCF rule in force wins"
        pool = Pool()
        Region = pool.get('rsoft.region')
        NcfRule = pool.get('rsoft.ncf.rule')
        india, = Region.create([{
                    'name': "India", 'code': 'IN',
                    'children': [('create', [{
                                    'name': "Maharashtra", 'code': 'MH',
                                    'children': [('create', [{
                                                    'name': "Mumbai",
                                                    'code': 'MUM',
                                                    }])],
                                    }])],
                    }])
        maharashtra, = india.children
        mumbai, = maharashtra.children
        kerala, = Region.create([{'name': "Kerala", 'code': 'KL'}])

        def rule(name, start, **values):
            rule, = NcfRule.create([{
                        'name': name, 'start_date': start, **values}])
            return rule
        generic_2020 = rule("TRAI 2020", dt.date(2020, 3, 1))
        generic_2025 = rule("Operator 2025", dt.date(2025, 1, 1))
        commercial = rule(
            "Commercial", dt.date(2021, 1, 1), customer_class='commercial')
        state = rule("Maharashtra", dt.date(2022, 1, 1),
            region=maharashtra.id)
        city = rule("Mumbai", dt.date(2021, 6, 1), region=mumbai.id)
        state_commercial = rule("Maharashtra commercial",
            dt.date(2023, 1, 1), region=maharashtra.id,
            customer_class='commercial')
        future = rule("Operator 2027", dt.date(2027, 1, 1))

        for date, region, class_, expected in [
                (dt.date(2019, 1, 1), None, None, None),
                (dt.date(2024, 1, 1), None, None, generic_2020),
                (TODAY, None, None, generic_2025),
                (TODAY, kerala, 'residential', generic_2025),
                (TODAY, kerala, 'commercial', commercial),
                (dt.date(2020, 6, 1), kerala, 'commercial', generic_2020),
                (TODAY, maharashtra, None, state),
                (TODAY, mumbai, 'residential', city),
                (dt.date(2021, 7, 1), maharashtra, None, generic_2020),
                (TODAY, mumbai, 'commercial', state_commercial),
                (dt.date(2022, 6, 1), mumbai, 'commercial', city),
                (dt.date(2027, 6, 1), india, None, future),
                ]:
            with self.subTest(date=date, region=region, class_=class_):
                self.assertEqual(
                    NcfRule.find_rule(date, region, class_), expected)
        self.assertEqual(NcfRule.find_rule(TODAY, mumbai.id), city)
        with Transaction().set_context(date=dt.date(2024, 1, 1)):
            self.assertEqual(NcfRule.find_rule(), generic_2020)

    @with_transaction()
    def test_ncf_compute(self):
        "NCF by slab, second TV rate and currency rounding"
        pool = Pool()
        NcfRule = pool.get('rsoft.ncf.rule')
        company = create_company()
        with set_company(company):
            rule, = NcfRule.create([{
                        'name': "TRAI 2020", 'start_date': dt.date(2020, 3, 1),
                        'slabs': [('create', [
                                    {'sequence': 2, 'max_channels': None,
                                        'amount': D('160')},
                                    {'sequence': 1, 'max_channels': 200,
                                        'amount': D('130')},
                                    ])],
                        }])
            self.assertEqual(rule.second_tv_rate, D('0.40'))
            self.assertEqual(rule.compute(0), D('130.00'))
            self.assertEqual(rule.compute(200), D('130.00'))
            self.assertEqual(rule.compute(201), D('160.00'))
            self.assertEqual(rule.compute(180, tv_rank=2), D('52.00'))
            self.assertEqual(rule.compute(220, tv_rank=3), D('64.00'))
            NcfRule.write([rule], {'second_tv_rate': D('0.333')})
            self.assertEqual(rule.compute(180, tv_rank=2), D('43.29'))

            with self.assertRaisesRegex(ValidationError, "second TV"):
                NcfRule.write([rule], {'second_tv_rate': D('1.5')})
            bounded, = NcfRule.create([{
                        'name': "Bounded", 'start_date': dt.date(2020, 3, 1),
                        'slabs': [('create', [
                                    {'max_channels': 100,
                                        'amount': D('100')}])],
                        }])
            with self.assertRaisesRegex(UserError, "no slab for 101"):
                bounded.compute(101)

    @with_transaction()
    def test_ncf_count_mandated(self):
        "Government mandated channels do not count unless the rule says so"
        pool = Pool()
        NcfRule = pool.get('rsoft.ncf.rule')
        prasar, star = create_broadcaster("Prasar"), create_broadcaster("Star")
        channels = [
            create_channel(1, "DD National", prasar, mrp=D('0'), fta=True,
                mandated=True),
            create_channel(2, "Sansad TV", prasar, mrp=D('0'), fta=True,
                mandated=True),
            create_channel(3, "DD Free Dish Movies", prasar, mrp=D('0'),
                fta=True),
            create_channel(101, "Star Plus", star, mrp=D('19')),
            ]
        rule, = NcfRule.create([{
                    'name': "TRAI", 'start_date': dt.date(2020, 3, 1)}])
        self.assertEqual(rule.count_channels(channels), 2)
        NcfRule.write([rule], {'count_mandated': True})
        self.assertEqual(rule.count_channels(channels), 4)

    @with_transaction()
    def test_term_amounts(self):
        "Term amounts with discount, fixed amount and currency rounding"
        pool = Pool()
        OfferPriceTerm = pool.get('rsoft.offer.price.term')
        company = create_company()
        with set_company(company):
            offer = create_offer("Gold Pack", 'vod', D('123.45'), terms=[
                    {'months': 3, 'discount': D('0.05')},
                    {'months': 6, 'fixed_amount': D('700')},
                    {'months': 12, 'discount': D('0.075')},
                    ])
            version = offer.get_price_version(TODAY)
            amounts = {t.months: t.amount for t in version.terms}
            self.assertEqual(amounts, {
                    3: D('351.83'), 6: D('700'), 12: D('1370.30')})
            self.assertEqual(
                offer.get_term_price(1, TODAY), (version, D('123.45')))
            self.assertEqual(
                offer.get_term_price(3, TODAY), (version, D('351.83')))
            with self.assertRaisesRegex(UserError, "no term of 2 months"):
                offer.get_term_price(2, TODAY)
            with self.assertRaisesRegex(UserError, "no published price"):
                offer.get_term_price(1, dt.date(2025, 12, 31))
            with self.assertRaisesRegex(ValidationError, "not allowed"):
                OfferPriceTerm.create([{
                            'price': version.id, 'months': 4}])

    @with_transaction()
    def test_price_versions(self):
        "Only published versions price; a published version is frozen"
        pool = Pool()
        OfferPrice = pool.get('rsoft.offer.price')
        Product = pool.get('product.product')
        offer = create_offer("Gold Pack", 'vod', D('300'))
        current = offer.get_price_version(TODAY)
        draft, = OfferPrice.create([{
                    'template': offer.id, 'start_date': dt.date(2026, 3, 1),
                    'price': D('320')}])
        later, = OfferPrice.create([{
                    'template': offer.id, 'start_date': dt.date(2026, 5, 1),
                    'price': D('310')}])
        OfferPrice.publish([later])

        self.assertEqual(offer.get_price_version(TODAY), current)
        self.assertEqual(
            offer.get_price_version(dt.date(2026, 5, 1)), later)
        self.assertEqual(later.state, 'published')
        self.assertEqual(draft.state, 'draft')
        with self.assertRaisesRegex(AccessError, "published"):
            OfferPrice.write([later], {'price': D('1')})
        with self.assertRaisesRegex(AccessError, "published"):
            OfferPrice.delete([later])

        product, = offer.products
        self.assertEqual(product.rsoft_kind, 'vod')
        self.assertEqual(product.get_term_price(1, TODAY), (current, D(300)))
        self.assertEqual(
            Product.search([('rsoft_kind', '=', 'vod')]), [product])
        self.assertEqual(offer.type, 'service')

        Template = pool.get('product.template')
        Template.publish([offer])
        copy, = Template.copy([offer])
        self.assertEqual(copy.offer_state, 'draft')
        self.assertEqual(
            {p.state for p in copy.offer_prices}, {'draft'})
        self.assertEqual(len(copy.offer_prices), 3)
        with self.assertRaisesRegex(AccessError, "not in draft"):
            Template.write([offer], {'rsoft_kind': 'ppv'})

        OfferPrice.write([draft], {'start_date': later.start_date})
        with self.assertRaisesRegex(ValidationError, "two published"):
            OfferPrice.publish([draft])

    @with_transaction()
    def test_offer_links(self):
        "An offer entitles its channel or the channels of its bouquet"
        star = create_broadcaster("Star")
        plus = create_channel(101, "Star Plus", star, mrp=D('19'))
        gold = create_channel(102, "Star Gold", star, mrp=D('12'))
        star_value = create_bouquet(
            'STAR', 'broadcaster', [plus, gold], broadcaster=star)
        pack = create_bouquet('GOLD', 'dpo', [], [star_value])

        alacarte = create_offer("Star Plus", 'alacarte', channel=plus.id)
        broadcaster_offer = create_offer(
            "Star Value", 'broadcaster_bouquet', bouquet=star_value.id)
        base = create_offer("Gold", 'base_pack', bouquet=pack.id)
        self.assertEqual(alacarte.get_offer_channels(), {plus})
        self.assertEqual(broadcaster_offer.get_offer_channels(), {plus, gold})
        self.assertEqual(base.get_offer_channels(), {plus, gold})
        ncf = create_offer("NCF", 'ncf')
        self.assertEqual(ncf.get_offer_channels(), set())

        with self.assertRaisesRegex(ValidationError, "operator"):
            create_offer("Wrong", 'base_pack', bouquet=star_value.id)
        with self.assertRaisesRegex(ValidationError, "broadcaster bouquet"):
            create_offer("Wrong", 'broadcaster_bouquet', bouquet=pack.id)
        with self.assertRaisesRegex(ValidationError, "a-la-carte"):
            create_offer("Wrong", 'vod', channel=plus.id)

    @with_transaction()
    def test_offer_availability(self):
        "An offer is sold in its regions and their sub-regions"
        pool = Pool()
        Region = pool.get('rsoft.region')
        maharashtra, kerala = Region.create([{
                    'name': "Maharashtra", 'code': 'MH',
                    'children': [('create', [
                                {'name': "Mumbai", 'code': 'MUM'}])],
                    }, {
                    'name': "Kerala", 'code': 'KL',
                    }])
        mumbai, = maharashtra.children
        everywhere = create_offer("Gold", 'dvr')
        marathi = create_offer("Marathi", 'dvr', available_regions=[
                ('add', [maharashtra.id])])

        self.assertTrue(everywhere.is_available(kerala))
        self.assertTrue(marathi.is_available(mumbai))
        self.assertTrue(marathi.is_available(maharashtra.id))
        self.assertFalse(marathi.is_available(kerala))
        self.assertTrue(marathi.is_available())
        self.assertEqual(mumbai.rec_name, "Maharashtra / Mumbai")
        self.assertEqual(Region.search([('rec_name', '=', 'MUM')]), [mumbai])

    @with_transaction()
    def test_tariff_findings(self):
        "Every tariff rule reports the offers breaking it"
        pool = Pool()
        TariffRule = pool.get('rsoft.tariff.rule')
        company = create_company()
        with set_company(company):
            rules = create_tariff_rules()
            star = create_broadcaster("Star")
            sports = create_channel(
                111, "Star Sports 1 HD", star, mrp=D('22'))
            plus = create_channel(101, "Star Plus", star, mrp=D('19'))
            gold = create_channel(102, "Star Gold", star, mrp=D('12'))
            star_sports = create_bouquet(
                'SPORTS', 'broadcaster', [sports, plus], broadcaster=star,
                price=D('30'))
            star_value = create_bouquet(
                'VALUE', 'broadcaster', [plus, gold], broadcaster=star,
                price=D('15'))
            pack = create_bouquet('GOLD', 'dpo', [], [star_value])

            offers = [
                create_offer("Star Plus", 'alacarte', D('20'),
                    channel=plus.id),
                create_offer("Sports Add-on", 'broadcaster_bouquet',
                    D('30'), bouquet=star_sports.id),
                create_offer("Star Value", 'broadcaster_bouquet',
                    D('16'), bouquet=star_value.id),
                create_offer("Gold Pack", 'base_pack', D('17'),
                    bouquet=pack.id),
                create_offer("Installation", 'installation', D('400')),
                create_offer("Activation", 'activation', D('150')),
                ]
            findings = TariffRule.check_offers(offers, TODAY)
            self.assertEqual(findings, [
                    'Offer "Star Plus" breaks rule "A-la-carte at most MRP": '
                    'its price of 20.00 is above 19.00, the most allowed for '
                    'channel "Star Plus" with an MRP of 19.00.',
                    'Offer "Sports Add-on" breaks rule "Bouquet channel MRP '
                    'cap": channel "Star Sports 1 HD" has an MRP of 22.00, '
                    'above the cap of 19.00.',
                    'Offer "Star Value" breaks rule "Bouquet discount cap": '
                    'bouquet "[VALUE] Value" at 15.00 against channels worth '
                    '31.00 is a discount of 51.61%, above the cap of '
                    '45.00%.',
                    'Offer "Star Value" breaks rule "A-la-carte at most '
                    'MRP": its price of 16.00 is above 15.00, the most '
                    'allowed for bouquet "[VALUE] Value" with an MRP of '
                    '15.00.',
                    'Offer "Gold Pack" breaks rule "DPO bouquet discount '
                    'cap": bouquet "[GOLD] Gold" at 17.00 against channels '
                    'worth 31.00 is a discount of 45.16%, above the cap of '
                    '45.00%.',
                    'Offer "Installation" breaks rule "Installation cap": '
                    'its price of 400.00 is above the cap of 350.00.',
                    'Offer "Activation" breaks rule "Activation cap": its '
                    'price of 150.00 is above the cap of 100.00.',
                    ])

            compliant = [
                create_offer("Star Gold", 'alacarte', D('12'),
                    channel=gold.id),
                create_offer("Star Value 2", 'broadcaster_bouquet',
                    D('15'), bouquet=create_bouquet(
                        'VALUE2', 'broadcaster', [plus, gold],
                        broadcaster=star, price=D('17.05')).id),
                create_offer("Gold Pack 2", 'base_pack', D('17.05'),
                    bouquet=pack.id),
                create_offer("Installation 2", 'installation', D('350')),
                create_offer("Activation 2", 'activation', D('100')),
                create_offer("VOD", 'vod', D('999')),
                ]
            self.assertEqual(TariffRule.check_offers(compliant, TODAY), [])
            self.assertEqual(
                TariffRule.check_offers(offers, dt.date(2021, 12, 31)), [])
            TariffRule.write([rules['installation_price']], {
                    'end_date': dt.date(2026, 3, 31)})
            self.assertEqual(len(TariffRule.check_offers(offers, TODAY)), 6)

    @with_transaction()
    def test_publish_refused(self):
        "Publishing a non-compliant offer raises and leaves it draft"
        pool = Pool()
        Template = pool.get('product.template')
        OfferPrice = pool.get('rsoft.offer.price')
        company = create_company()
        with set_company(company):
            create_tariff_rules()
            offer = create_offer(
                "Installation", 'installation', D('300'),
                start_date=dt.date(2020, 1, 1))
            Template.publish([offer])
            self.assertEqual(offer.offer_state, 'published')
            Template.draft([offer])

            dearer, = OfferPrice.create([{
                        'template': offer.id, 'price': D('400'),
                        'start_date': dt.date(2100, 1, 1)}])
            with self.assertRaisesRegex(UserError, "above the cap of 350"):
                OfferPrice.publish([dearer])
            self.assertEqual(dearer.state, 'draft')

            OfferPrice.write([dearer], {'state': 'published'})
            with self.assertRaisesRegex(UserError, "above the cap of 350"):
                Template.publish([offer])
            self.assertEqual(offer.offer_state, 'draft')


del ModuleTestCase
