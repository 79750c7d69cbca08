"""Generate the demo operator: one generator for the demo, the tests and the
benchmarks, sized by the number of subscribers and deterministic by seed.

    python -m rsoft_tools.generate -c trytond.conf -d DB --subscribers 1000

The company and its accounting are set up through proteus (the wizards of
Tryton's account module); the catalogue, partners and subscribers are
written through the ORM in batches (create(vlist)), committed per batch.
"""
import argparse
import datetime
import random
import sys
import time
from decimal import Decimal

from stdnum import verhoeff
from stdnum.in_ import aadhaar

from . import catalogue_data as data

MODULES = ['rsoft_subscriber']
BATCH = 500
TODAY = None  # the company's date, read in the transaction


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--subscribers', type=int, default=1000)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--quiet', action='store_true')
    args = parser.parse_args(argv)

    from proteus import config as pconfig
    pconfig.set_trytond(args.database, config_file=args.config)
    started = time.monotonic()
    generator = Generator(
        args.database, subscribers=args.subscribers, seed=args.seed,
        progress=None if args.quiet else _print_progress)
    generator.run()
    elapsed = time.monotonic() - started
    if not args.quiet:
        print(f'\n{args.subscribers} subscribers in {elapsed:.1f} s '
            f'({args.subscribers / elapsed:.0f}/s)', file=sys.stderr)


def _print_progress(done, total):
    print(f'\rsubscribers {done}/{total}', end='', file=sys.stderr,
        flush=True)


class Generator:
    "Write a realistic operator into a database whose modules are activated"

    def __init__(self, database, subscribers=1000, seed=1, progress=None):
        self.database = database
        self.subscriber_count = subscribers
        self.seed = seed
        self.progress = progress
        self.rng = random.Random(seed)

    def run(self):
        from trytond.transaction import Transaction
        company_id = self.setup_company()
        context = {'company': company_id, '_skip_warnings': True}
        with Transaction().start(self.database, 0, context=context):
            self.load_reference()
        self.load_subscribers(company_id)

    # -- company and accounting (proteus) ---------------------------------

    def setup_company(self):
        "Create the MSO company with INR, a chart, a fiscal year and GST"
        from proteus import Model
        from trytond.modules.account.tests.tools import (
            create_chart,
            create_fiscalyear,
            get_accounts,
        )
        from trytond.modules.company.tests.tools import create_company

        Company = Model.get('company.company')
        companies = Company.find([])
        if companies:
            return companies[0].id
        Currency = Model.get('currency.currency')
        Party = Model.get('party.party')
        Country = Model.get('country.country')
        inr = Currency(
            name="Indian Rupee", code='INR', symbol='₹', numeric_code='356',
            rounding=Decimal('0.01'), digits=2)
        inr.save()
        india = Country(name="India", code='IN', code3='IND')
        india.save()
        party = Party(name="RSoft Cable Network Pvt Ltd")
        address = party.addresses[0]
        address.street = "Plot 12, MIDC Andheri East"
        address.city = "Mumbai"
        address.postal_code = '400093'
        address.country = india
        party.save()
        company = create_company(party=party, currency=inr)
        company.timezone = 'Asia/Kolkata'
        company.save()
        create_chart(company)
        create_fiscalyear(company)
        accounts = get_accounts(company)
        self._create_gst(company, accounts)
        return company.id

    def _create_gst(self, company, accounts):
        from proteus import Model
        Tax = Model.get('account.tax')
        Category = Model.get('product.category')
        gst = Tax(name="GST 18%", description="GST 18%", type='percentage',
            rate=Decimal('0.18'), company=company,
            invoice_account=accounts['tax'],
            credit_note_account=accounts['tax'])
        gst.save()
        category = Category(name="Pay-TV Services", accounting=True)
        category.account_revenue = accounts['revenue']
        category.account_expense = accounts['expense']
        category.customer_taxes.append(Tax(gst.id))
        category.save()

    # -- catalogue and partners (ORM) -------------------------------------

    def load_reference(self):
        from trytond.pool import Pool
        from trytond.transaction import Transaction
        pool = Pool()
        Channel = pool.get('rsoft.channel')
        if Channel.search([], limit=1):
            return
        self.today = pool.get('ir.date').today()
        self.launch = self.today - datetime.timedelta(days=800)
        self._create_regions()
        self._create_tariff()
        self._create_channels()
        self._create_bouquets()
        self._create_offers()
        self._create_partners()
        Transaction().commit()

    def _create_regions(self):
        from trytond.pool import Pool
        Region = Pool().get('rsoft.region')
        self.regions = {}
        for name, code, parent in data.REGIONS:
            region, = Region.create([{
                        'name': name, 'code': code,
                        'parent': self.regions[parent].id if parent else None,
                        }])
            self.regions[code] = region

    def _create_tariff(self):
        from trytond.pool import Pool
        pool = Pool()
        Rule = pool.get('rsoft.tariff.rule')
        NcfRule = pool.get('rsoft.ncf.rule')
        start = datetime.date(2023, 1, 1)
        Rule.create([{
                    'name': name, 'reference': ref, 'kind': kind,
                    'value': Decimal(value), 'start_date': start,
                    } for name, ref, kind, value in [
                    ("Broadcaster bouquet discount cap",
                        "TRAI Tariff Order 2022", 'bouquet_discount', '0.45'),
                    ("DPO bouquet discount cap",
                        "TRAI Tariff Amendment 2024", 'dpo_bouquet_discount',
                        '0.45'),
                    ("Bouquet channel MRP cap",
                        "TRAI Tariff Order 2022", 'bouquet_channel_mrp',
                        '19.00'),
                    ("A-la-carte price within MRP",
                        "TRAI Tariff Order 2017", 'alacarte_price', '1.0'),
                    ("Installation charge cap",
                        "TRAI Interconnection Regulations", 'installation_price',
                        '350.00'),
                    ("Activation charge cap",
                        "TRAI Interconnection Regulations", 'activation_price',
                        '100.00'),
                    ]])
        NcfRule.create([{
                    'name': "NCF (TRAI 2020)",
                    'start_date': start,
                    'second_tv_rate': Decimal('0.40'),
                    'slabs': [('create', [
                                {'sequence': 10, 'max_channels': 200,
                                    'amount': Decimal('130.00')},
                                {'sequence': 20, 'max_channels': None,
                                    'amount': Decimal('160.00')},
                                ])],
                    }])

    def _broadcaster(self, name):
        from trytond.pool import Pool
        Party = Pool().get('party.party')
        party, = Party.create([{'name': name}])
        return party

    def _create_channels(self):
        from trytond.pool import Pool
        Channel = Pool().get('rsoft.channel')
        self.broadcasters = {}
        vlist = []
        lcn = 100
        for name, code, groups in data.BROADCASTERS:
            party = self.broadcasters[code] = self._broadcaster(name)
            for genre, language, names, mrps in groups:
                for channel_name, mrp in zip(names, mrps):
                    lcn += 1
                    vlist.append(self._channel_values(
                            lcn, channel_name, party, genre, language,
                            Decimal(mrp)))
        name, code, names = data.MANDATED
        party = self.broadcasters[code] = self._broadcaster(name)
        for i, channel_name in enumerate(names, 1):
            vlist.append(self._channel_values(
                    i, channel_name, party, 'news', 'hindi', Decimal(0),
                    mandated=True))
        fta_party = self._broadcaster("Free-to-air Broadcasters Association")
        for i in range(data.FTA_COUNT):
            genre, language = data.FTA_GENRES[i % len(data.FTA_GENRES)]
            vlist.append(self._channel_values(
                    500 + i, f"FTA {language.title()} "
                    f"{genre.replace('_', ' ').title()} {i // 10 + 1}",
                    fta_party, genre, language, Decimal(0)))
        self.channels = Channel.create(vlist)

    def _channel_values(self, lcn, name, party, genre, language, mrp,
            mandated=False):
        return {
            'lcn': lcn, 'name': name, 'broadcaster': party.id,
            'genre': genre, 'language': language,
            'definition': 'hd' if name.endswith(' HD') else 'sd',
            'fta': not mrp, 'mandated': mandated,
            'mrps': [('create', [
                        {'start_date': self.launch, 'mrp': mrp}])],
            }

    def _create_bouquets(self):
        from trytond.pool import Pool
        Bouquet = Pool().get('rsoft.bouquet')
        cap = Decimal(19)
        vlist = []
        for _, code, _ in data.BROADCASTERS:
            party = self.broadcasters[code]
            channels = [c for c in self.channels
                if c.broadcaster == party and 0 < c.get_mrp(self.today) <= cap]
            if len(channels) < 3:
                continue
            total = sum(c.get_mrp(self.today) for c in channels)
            vlist.append({
                    'name': f"{party.name.split()[0]} Value Bouquet",
                    'code': f'{code}-B1', 'kind': 'broadcaster',
                    'broadcaster': party.id,
                    'channels': [('add', [c.id for c in channels])],
                    'prices': [('create', [{
                                    'start_date': self.launch,
                                    'price': (total * Decimal('0.65')
                                        ).quantize(Decimal(1)),
                                    }])],
                    })
        self.bouquets = {b.code: b for b in Bouquet.create(vlist)}
        free = [c for c in self.channels if c.fta]
        packs = []
        for name, code, kind, genres, bouquets, share in data.PACKS:
            channels = [c for c in self.channels
                if not c.fta and c.get_mrp(self.today) <= cap
                and (genres is None or c.genre in genres)]
            if kind == 'base_pack':
                channels += free
            packs.append({
                    'name': name, 'code': code, 'kind': 'dpo',
                    'channels': [('add', [c.id for c in channels])],
                    'bouquets': [('add',
                            [self.bouquets[b].id for b in bouquets])],
                    })
        self.packs = {b.code: b for b in Bouquet.create(packs)}
        shares = {code: Decimal(share) for _, code, *_, share in data.PACKS}
        for code, pack in self.packs.items():
            total = Bouquet.get_alacarte_totals([pack], self.today)[pack.id]
            Bouquet.write([pack], {'prices': [('create', [{
                                'start_date': self.launch,
                                'price': (total * shares[code]).quantize(
                                    Decimal(1)),
                                }])]})

    def _create_offers(self):
        from trytond.pool import Pool
        pool = Pool()
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Category = pool.get('product.category')
        ModelData = pool.get('ir.model.data')
        unit = Uom(ModelData.get_id('product', 'uom_unit'))
        categories = Category.search([('accounting', '=', True)], limit=1)
        self.unit, self.category = unit, (
            categories[0] if categories else None)
        pack_terms = [(1, '0'), (3, '0.03'), (6, '0.05'), (12, '0.10')]
        offers = [
            ("Network Capacity Fee", 'ncf', {}, None, []),
            ("Installation", 'installation', {}, '350', []),
            ("Activation", 'activation', {}, '100', []),
            ("HD Set-top Box Rental", 'stb_rental', {}, '50', []),
            ("DVR Service", 'dvr', {}, '49', []),
            ]
        for code, bouquet in self.bouquets.items():
            offers.append((bouquet.name, 'broadcaster_bouquet',
                    {'bouquet': bouquet.id},
                    bouquet.get_price(self.today), [(1, '0')]))
        for code, pack in self.packs.items():
            kind = 'base_pack' if code.startswith('BASE') else 'addon_pack'
            offers.append((pack.name, kind, {'bouquet': pack.id},
                    pack.get_price(self.today), pack_terms))
        for channel in self.channels:
            mrp = channel.get_mrp(self.today)
            if mrp:
                offers.append((channel.name, 'alacarte',
                        {'channel': channel.id}, mrp, [(1, '0')]))
        templates = Template.create([
                self._offer_values(name, kind, extra, price, terms)
                for name, kind, extra, price, terms in offers])
        Template.publish(templates)
        self.offers = {}
        for template in templates:
            product, = template.products
            key = template.bouquet.code if template.bouquet else (
                template.channel.id if template.channel
                else template.rsoft_kind)
            self.offers[key] = product

    def _offer_values(self, name, kind, extra, price, terms):
        values = {
            'name': name, 'type': 'service', 'rsoft_kind': kind,
            'default_uom': self.unit.id, 'list_price': Decimal(price or 0),
            'products': [('create', [{}])],
            **extra,
            }
        if self.category:
            values['account_category'] = self.category.id
        if price is not None:
            values['offer_prices'] = [('create', [{
                            'start_date': self.launch,
                            'price': Decimal(price),
                            'state': 'published',
                            'terms': [('create', [
                                        {'months': m,
                                            'discount': Decimal(d)}
                                        for m, d in terms])],
                            }])]
        return values

    def _create_partners(self):
        from trytond.pool import Pool
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        Company = pool.get('company.company')
        company, = Company.search([], limit=1)
        mso, = Partner.create([{
                    'party': company.party.id, 'code': 'MSO', 'role': 'mso',
                    'region': self.regions['IN'].id, 'company': company.id,
                    }])
        partners = {'MSO': mso}
        for name, code, role, parent, region, agreement in data.PARTNERS:
            values = {
                'party': self._broadcaster(name).id, 'code': code,
                'role': role, 'parent': partners[parent].id,
                'region': self.regions[region].id, 'company': company.id,
                }
            if agreement:
                ncf, pay, hardware = map(Decimal, agreement)
                values['agreements'] = [('create', [{
                                'reference': f'AGR/{code}/1',
                                'start_date': self.launch,
                                'ncf_share': ncf,
                                'pay_channel_share': pay,
                                'hardware_share': hardware,
                                }])]
            partners[code], = Partner.create([values])

    # -- subscribers (ORM, batched) ---------------------------------------

    def load_subscribers(self, company_id):
        from trytond.transaction import Transaction
        context = {'company': company_id, '_skip_warnings': True}
        done = 0
        while done < self.subscriber_count:
            size = min(BATCH, self.subscriber_count - done)
            with Transaction().start(
                    self.database, 0, context=context) as transaction:
                if done == 0:
                    self._load_context()
                    done = self._existing()
                    size = min(BATCH, self.subscriber_count - done)
                    if size <= 0:
                        break
                SubscriberBatch(self, done, size).create()
                transaction.commit()
            done += size
            if self.progress:
                self.progress(done, self.subscriber_count)

    def _existing(self):
        from trytond.pool import Pool
        Subscriber = Pool().get('rsoft.subscriber')
        return Subscriber.search_count([('active', 'in', [True, False])])

    def _load_context(self):
        "Read back what the subscriber batches need"
        from trytond.pool import Pool
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        Product = pool.get('product.product')
        Country = pool.get('country.country')
        self.today = pool.get('ir.date').today()
        self.lcos = Partner.search([('role', '=', 'lco')], order=[('code', 'ASC')])
        products = Product.search(
            [('template.rsoft_kind', '!=', None)], order=[('id', 'ASC')])
        self.products = {}
        for product in products:
            template = product.template
            version = template.get_price_version(self.today)
            self.products.setdefault(template.rsoft_kind, []).append(
                (product, version, frozenset(
                        c.id for c in template.get_offer_channels())))
        self.country = Country.search([('code', '=', 'IN')], limit=1)[0]


class SubscriberBatch:
    "One batch of subscribers with their parties, connections and lines"

    def __init__(self, generator, offset, size):
        from faker import Faker
        self.g = generator
        self.offset = offset
        self.size = size
        # One seed per batch keeps a run deterministic whatever the batches
        self.rng = random.Random(generator.seed * 1_000_003 + offset)
        self.fake = Faker('en_IN')
        self.fake.seed_instance(generator.seed * 1_000_003 + offset)

    def create(self):
        from trytond.pool import Pool
        pool = Pool()
        Party = pool.get('party.party')
        Subscriber = pool.get('rsoft.subscriber')
        plans = [self._plan(self.offset + i) for i in range(self.size)]
        parties = Party.create([p['party'] for p in plans])
        subscribers = Subscriber.create([{
                    **p['subscriber'], 'party': party.id,
                    'billing_address': party.addresses[0].id,
                    'installation_address': party.addresses[0].id,
                    } for p, party in zip(plans, parties)])
        self._create_connections(plans, subscribers)

    def _plan(self, index):
        rng, fake = self.rng, self.fake
        lco = self.g.lcos[index % len(self.g.lcos)]
        city, state, pin = data.CITIES[lco.region.code]
        name = fake.name()
        activation = self.g.today - datetime.timedelta(
            days=rng.randint(5, 700))
        draw = rng.random()
        state_ = ('draft' if draw < 0.02 else 'terminated' if draw < 0.04
            else 'suspended' if draw < 0.08 else 'active')
        subscriber = {
            'lco': lco.id,
            'customer_class': 'residential',
            'contract_number': f'CAF/{lco.code}/{index + 1:07d}',
            'contract_date': activation - datetime.timedelta(
                days=rng.randint(0, 3)),
            'mobile': self._mobile(),
            'state': state_,
            }
        if rng.random() < 0.2:
            subscriber['landline'] = f'+91 22 {rng.randint(20000000, 69999999)}'
        if rng.random() < 0.6:
            user = ''.join(ch for ch in name.lower() if ch.isalpha())[:12]
            subscriber['email'] = f'{user}{index}@example.in'
        subscriber.update(self._id_proof())
        if state_ != 'draft':
            subscriber['activation_date'] = activation
        if state_ == 'suspended':
            subscriber['suspension_reason'] = 'non_payment'
        if state_ == 'terminated':
            subscriber['termination_date'] = min(
                self.g.today, activation + datetime.timedelta(
                    days=rng.randint(30, 300)))
        party = {
            'name': name,
            'addresses': [('create', [{
                            'street': fake.street_address(),
                            'city': city,
                            'postal_code': f'{pin}{rng.randint(1, 99):03d}',
                            'country': self.g.country.id,
                            }])],
            }
        return {'party': party, 'subscriber': subscriber,
            'second_tv': rng.random() < 0.15}

    def _mobile(self):
        import phonenumbers
        while True:
            number = self.rng.choice('6789') + ''.join(
                self.rng.choice('0123456789') for _ in range(9))
            parsed = phonenumbers.parse(number, 'IN')
            if (phonenumbers.is_valid_number(parsed)
                    and phonenumbers.number_type(parsed) in {
                        phonenumbers.PhoneNumberType.MOBILE,
                        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}):
                return '+91' + number

    def _id_proof(self):
        draw = self.rng.random()
        if draw < 0.6:
            while True:
                base = str(self.rng.randint(2, 9)) + ''.join(
                    self.rng.choice('0123456789') for _ in range(10))
                number = base + verhoeff.calc_check_digit(base)
                if aadhaar.is_valid(number):
                    return {'id_proof_type': 'aadhaar',
                        'id_proof_number': number}
        if draw < 0.8:
            letters = ''.join(self.rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')
                for _ in range(3))
            return {'id_proof_type': 'voter_id',
                'id_proof_number': f'{letters}{self.rng.randint(0, 9999999):07d}'}
        return {}

    def _create_connections(self, plans, subscribers):
        from trytond.pool import Pool
        Connection = Pool().get('rsoft.connection')
        vlist, owners = [], []
        for plan, subscriber in zip(plans, subscribers):
            kinds = ['primary_tv'] + (['second_tv'] if plan['second_tv'] else [])
            for kind in kinds:
                values = {'subscriber': subscriber.id, 'kind': kind}
                for field in ['state', 'activation_date', 'termination_date',
                        'suspension_reason']:
                    if field in plan['subscriber']:
                        values[field] = plan['subscriber'][field]
                vlist.append(values)
                owners.append(subscriber)
        connections = Connection.create(vlist)
        self._create_lines(connections)
        self._create_events(subscribers, connections)

    def _create_lines(self, connections):
        from trytond.pool import Pool
        Line = Pool().get('rsoft.subscription.line')
        vlist = []
        for connection in connections:
            vlist.extend(self._line_values(connection))
        self.lines = Line.create(vlist)

    def _line_values(self, connection):
        rng, products = self.rng, self.g.products
        start = connection.activation_date or self.g.today
        state = 'draft' if connection.state == 'draft' else 'active'
        end = (connection.termination_date - datetime.timedelta(days=1)
            if connection.termination_date else None)
        base = rng.choices(products['base_pack'], weights=[5, 3, 2])[0]
        chosen = [base]
        addons = products['addon_pack']
        for addon in rng.sample(addons, k=rng.choice([0, 0, 1, 1, 2])):
            chosen.append(addon)
        covered = frozenset().union(*(c[2] for c in chosen))
        alacarte = [a for a in products['alacarte'] if not a[2] & covered]
        chosen += rng.sample(alacarte, k=min(len(alacarte),
                rng.choice([0, 0, 0, 1, 2])))
        ncf, = products['ncf']
        chosen.append(ncf)
        values = []
        for product, version, _ in chosen:
            is_ncf = product == ncf[0]
            term = 1 if is_ncf else rng.choice([1, 1, 1, 3, 6, 12])
            if version and not any(
                    t.months == term for t in version.terms):
                term = 1
            values.append({
                    'connection': connection.id,
                    'product': product.id,
                    'term': term,
                    'price_version': version.id if version else None,
                    'start_date': start,
                    'end_date': end,
                    'ncf': is_ncf,
                    'state': state if not end else 'ended',
                    })
        return values

    def _create_events(self, subscribers, connections):
        from trytond.pool import Pool
        Event = Pool().get('rsoft.subscriber.event')
        events = []
        for record, extra in [(s, {'subscriber': s.id}) for s in subscribers] + [
                (c, {'subscriber': c.subscriber.id, 'connection': c.id})
                for c in connections]:
            events.extend(self._state_events(record, extra))
        for line in self.lines:
            if line.state == 'draft':
                continue
            events.append({
                    'subscriber': line.connection.subscriber.id,
                    'connection': line.connection.id, 'line': line.id,
                    'kind': 'subscription', 'action': 'subscribe',
                    'date': line.start_date, 'after': line.rec_name,
                    })
        Event.record(events)

    def _state_events(self, record, extra):
        if not record.activation_date:
            return []
        events = [{**extra, 'kind': 'state', 'action': 'active',
                'date': record.activation_date, 'before': 'draft',
                'after': 'active'}]
        if record.state == 'suspended':
            events.append({**extra, 'kind': 'state', 'action': 'suspended',
                    'date': self.g.today - datetime.timedelta(days=3),
                    'before': 'active', 'after': 'suspended',
                    'description': "Non-payment"})
        if record.termination_date:
            events.append({**extra, 'kind': 'state', 'action': 'terminated',
                    'date': record.termination_date, 'before': 'active',
                    'after': 'terminated'})
        return events


if __name__ == '__main__':
    main()
