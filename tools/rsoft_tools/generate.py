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
import re
import string
import sys
import time
from decimal import Decimal

import phonenumbers
from stdnum import luhn, verhoeff
from stdnum.in_ import aadhaar, epic

from trytond.modules.rsoft_billing.gst import GST_STATES

from . import catalogue_data as data
from .password import PORTAL_DOMAIN, generate_password, portal_email

MODULES = ['rsoft_subscriber']
BATCH = 1000
TODAY = None  # the company's date, read in the transaction


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--subscribers', type=int, default=1000)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--quiet', action='store_true')
    parser.add_argument('--lco-logins', action='store_true',
        help="create a back-office login per LCO, each with its own "
        "password, and its LCO portal login (the e-mail "
        f"login@{PORTAL_DOMAIN}, the same password) where rsoft_selfcare "
        "is activated; print them on stdout as `login password` lines, "
        "and a subscriber portal login as `subscriber:CUSTOMER_ID password`")
    args = parser.parse_args(argv)

    from proteus import config as pconfig
    pconfig.set_trytond(args.database, config_file=args.config)
    started = time.monotonic()
    generator = Generator(
        args.database, subscribers=args.subscribers, seed=args.seed,
        progress=None if args.quiet else _print_progress)
    generator.run()
    if args.lco_logins:
        for login, password in generator.create_lco_users().items():
            print(login, password)
        subscriber = generator.subscriber_login()
        if subscriber:
            print('subscriber:%s %s' % subscriber)
    elapsed = time.monotonic() - started
    if not args.quiet:
        print(f'\n{args.subscribers} subscribers in {elapsed:.1f} s '
            f'({args.subscribers / elapsed:.0f}/s)', file=sys.stderr)


def _print_progress(done, total):
    print(f'\rsubscribers {done}/{total}', end='', file=sys.stderr,
        flush=True)


class Generator:
    "Write a realistic operator into a database whose modules are activated"

    def __init__(self, database, subscribers=1000, seed=1, progress=None,
            billed_lcos=1, billed_accounts=12):
        self.database = database
        self.billed_lcos = billed_lcos
        self.billed_accounts = billed_accounts
        self.subscriber_count = subscribers
        self.seed = seed
        self.progress = progress
        self.rng = random.Random(seed)

    def run(self):
        from trytond.transaction import Transaction

        from .lang import set_language
        self.company_id = self.setup_company()
        set_language(self.database, self.company_id)
        context = {'company': self.company_id, '_skip_warnings': True}
        with Transaction().start(self.database, 0, context=context):
            self.load_reference()
        self.load_subscribers(self.company_id)
        self.load_devices()
        self.load_billing()
        self.load_payments()
        self.load_cas()
        self.load_lco_wallets()
        self.load_service()
        self.load_ppv()
        self.load_vouchers()
        self.load_selfcare()

    def load_devices(self):
        "Give the subscribers their boxes when rsoft_inventory is activated"
        from .devices import DeviceLoader
        DeviceLoader(self).run()

    def load_billing(self):
        "Bill an LCO's accounts when rsoft_billing is activated"
        from .billing import BillingLoader
        BillingLoader(self, lcos=self.billed_lcos,
            accounts=self.billed_accounts).run()

    def load_payments(self):
        "Collect payments in an LCO when rsoft_payment is activated"
        from .payments import PaymentLoader
        PaymentLoader(self).run()

    def load_cas(self):
        "Provision the devices in the head-end when rsoft_cas is activated"
        from .cas import CasLoader
        CasLoader(self).run()

    def load_lco_wallets(self):
        "Open the LCOs' wallets when rsoft_lco is activated"
        from .lco import LcoLoader
        LcoLoader(self).run()

    def load_service(self):
        "Staff the service desk when rsoft_workorder is activated"
        from .service import ServiceLoader
        ServiceLoader(self).run()

    def load_ppv(self):
        "Schedule PPV events and VOD titles when rsoft_ppv is activated"
        from .ppv import PpvLoader
        PpvLoader(self).run()

    def load_vouchers(self):
        "Sell scratch cards through the LCOs when rsoft_voucher is activated"
        from .voucher import VoucherLoader
        VoucherLoader(self).run()

    def load_selfcare(self):
        "Open a poll in the subscriber portal when rsoft_selfcare is activated"
        from .selfcare import SelfcareLoader
        SelfcareLoader(self).run()

    def subscriber_login(self):
        "Return (customer ID, password) of the demo's subscriber login"
        from .selfcare import SelfcareLoader
        return SelfcareLoader(self).subscriber_login()

    def activated(self, module):
        "Return whether module is activated in the database"
        def activated():
            from trytond.pool import Pool
            Module = Pool().get('ir.module')
            return bool(Module.search([
                        ('name', '=', module),
                        ('state', '=', 'activated'),
                        ]))
        return self.in_transaction(activated)

    def in_transaction(self, func, *args):
        """Run func in a committed transaction and return its result

        Like trytond's dispatcher, start again with the tables locked when
        the stock moves or the wallets ask for it."""
        from trytond.transaction import Transaction, TransactionError
        context = {'company': self.company_id, '_skip_warnings': True}
        extras = {}
        while True:
            try:
                with Transaction().start(self.database, 0,
                        context=context, **extras) as transaction:
                    result = func(*args)
                    transaction.commit()
                    return result
            except TransactionError as exception:
                exception.fix(extras)

    def create_lco_users(self, password=None):
        """Give each LCO a back-office login confined to its subscribers,
        with its own generated password (or password, for tests); return
        {login: password} of the logins created

        The passwords go through res.user's password field: only their
        hashes are stored, so they are shown once, by the caller."""
        from trytond.pool import Pool
        from trytond.transaction import Transaction
        with Transaction().start(self.database, 0, context={
                    'company': self.company_id}) as transaction:
            pool = Pool()
            User = pool.get('res.user')
            Partner = pool.get('rsoft.partner')
            ModelData = pool.get('ir.model.data')
            groups = [
                ModelData.get_id('rsoft_partner', 'group_lco'),
                ModelData.get_id('rsoft_catalogue', 'group_paytv'),
                ]
            lcos = Partner.search([('role', '=', 'lco')],
                order=[('code', 'ASC')])
            existing = {u.login for u in User.search([
                        ('login', 'in', [lco.code.lower() for lco in lcos]),
                        ])}
            new = [lco for lco in lcos if lco.code.lower() not in existing]
            passwords = {lco.code.lower(): password or generate_password()
                for lco in new}
            User.create([{
                        'login': lco.code.lower(),
                        'name': f"{lco.party.name} (LCO)",
                        'language': (
                            lco.party.lang.id if lco.party.lang else None),
                        'password': passwords[lco.code.lower()],
                        'rsoft_partner': lco.id,
                        'groups': [('add', groups)],
                        'companies': [('add', [self.company_id])],
                        'company': self.company_id,
                        } for lco in new])
            self._create_portal_logins(new, passwords)
            transaction.commit()
        return passwords

    @staticmethod
    def _create_portal_logins(lcos, passwords):
        "Give each of lcos its LCO portal login, with the same password"
        from trytond.pool import Pool
        pool = Pool()
        try:
            WebUser = pool.get('web.user')
        except KeyError:
            return
        if 'rsoft_portal' not in WebUser._fields:
            return
        WebUser.create([{
                    'email': portal_email(lco.code.lower()),
                    'password': passwords[lco.code.lower()],
                    'rsoft_portal': 'lco',
                    'rsoft_lco': lco.id,
                    } for lco in lcos])

    # -- company and accounting (proteus) ---------------------------------

    def setup_company(self):
        """Create the MSO company of Mumbai with INR, its GSTIN, a chart,
        the Indian fiscal year of today (1 April to 31 March) and GST"""
        from proteus import Model
        from trytond.modules.account.tests.tools import (
            create_chart,
            create_fiscalyear,
            get_accounts,
        )
        from trytond.modules.company.tests.tools import (
            create_company,
            get_company,
        )

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
        # The states of the demo's addresses
        for name, code in sorted({(state, region[:5])
                    for region, (_, state, _) in data.CITIES.items()}):
            india.subdivisions.new(name=name, code=code, type='state')
        india.save()
        states = {s.code: s for s in india.subdivisions}
        party = Party(name="RSoft Cable Network Pvt Ltd")
        address = party.addresses[0]
        address.street = "Plot 12, MIDC Andheri East"
        address.city = "Mumbai"
        address.postal_code = '400093'
        address.country = india
        address.subdivision = states['IN-MH']
        # A GSTIN of Maharashtra (27) with a valid check character
        party.identifiers.new(type='in_vat', code='27AAACR5055K1Z7')
        party.save()
        create_company(party=party, currency=inr)
        company = get_company()
        company.timezone = 'Asia/Kolkata'
        company.save()
        create_chart(company)
        today = datetime.date.today()
        year = today.year if today.month >= 4 else today.year - 1
        fiscalyear = create_fiscalyear(company)
        fiscalyear.name = f'{year}-{(year + 1) % 100:02d}'
        fiscalyear.start_date = datetime.date(year, 4, 1)
        fiscalyear.end_date = datetime.date(year + 1, 3, 31)
        if 'invoice_sequences' in fiscalyear._fields:
            Sequence = Model.get('ir.sequence.strict')
            SequenceType = Model.get('ir.sequence.type')
            invoice_type, = SequenceType.find([('name', '=', "Invoice")])
            code = f'{year % 100:02d}{(year + 1) % 100:02d}'
            # GST numbers: at most 16 characters, per financial year
            invoice, credit_note, supplier = (
                Sequence(name=f"{name} {fiscalyear.name}",
                    sequence_type=invoice_type, company=company,
                    prefix=prefix, padding=padding)
                for name, prefix, padding in [
                    ("Invoices", f'RS/{code}/', 6),
                    ("Credit Notes", f'RC/{code}/', 6),
                    ("Supplier Invoices", f'SUP/{code}/', 0)])
            for sequence in [invoice, credit_note, supplier]:
                sequence.save()
            line, = fiscalyear.invoice_sequences
            # After the series an LCO or a state may be given
            line.sequence = 100
            line.out_invoice_sequence = invoice
            line.out_credit_note_sequence = credit_note
            line.in_invoice_sequence = supplier
            line.in_credit_note_sequence = supplier
        fiscalyear.save()
        fiscalyear.click('create_period')
        accounts = get_accounts(company)
        self._create_gst(company, accounts)
        return company.id

    def _create_gst(self, company, accounts):
        """Create GST 18%, the revenue account of each kind of offer and,
        with rsoft_billing, the SAC and revenue account of each kind"""
        from proteus import Model
        Tax = Model.get('account.tax')
        Category = Model.get('product.category')
        Account = Model.get('account.account')
        IrModel = Model.get('ir.model')
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

        # The revenue account and SAC/HSN of each kind of offer: 998466
        # home programme distribution, 997319 rental of other equipment,
        # 998734 installation of radio and television equipment, HSN 8528
        # television receivers (STBs)
        pay_tv = "Pay channel and bouquet revenue"
        kinds = {
            'ncf': ("Network capacity fee revenue", '998466'),
            'alacarte': (pay_tv, '998466'),
            'broadcaster_bouquet': (pay_tv, '998466'),
            'base_pack': (pay_tv, '998466'),
            'addon_pack': (pay_tv, '998466'),
            'ppv': (pay_tv, '998466'),
            'vod': (pay_tv, '998466'),
            'dvr': (pay_tv, '998466'),
            'stb_rental': ("STB rental revenue", '997319'),
            'stb_lease': ("STB rental revenue", '997319'),
            'stb_sale': ("Hardware sales", '8528'),
            'installation': ("Installation and activation revenue", '998734'),
            'activation': ("Installation and activation revenue", '998466'),
            }
        # Services are recognised over time, hardware at a point of time
        codes = {
            pay_tv: '4.2.3',
            "Network capacity fee revenue": '4.2.4',
            "STB rental revenue": '4.2.5',
            "Installation and activation revenue": '4.2.6',
            "Hardware sales": '4.1.3',
            }
        revenue = accounts['revenue']
        revenues = {}
        for name, _ in kinds.values():
            if name not in revenues:
                code = codes[name]
                parent, = Account.find([
                        ('company', '=', company.id),
                        ('code', '=', code.rsplit('.', 1)[0] + '.0'),
                        ])
                revenues[name] = Account(name=name, company=company,
                    code=code, type=revenue.type, parent=parent)
                revenues[name].save()
        if not IrModel.find([('name', '=', 'rsoft.billing.offer_kind')]):
            return
        OfferKind = Model.get('rsoft.billing.offer_kind')
        for kind, (name, sac) in kinds.items():
            OfferKind(company=company, kind=kind, sac=sac,
                account_revenue=revenues[name]).save()

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
                        "TRAI Interconnection Regulations",
                        'installation_price',
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
        from trytond.tools import grouped_slice
        pool = Pool()
        Template = pool.get('product.template')
        OfferPrice = pool.get('rsoft.offer.price')
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
        # Small slices: SQLite overflows on a long check of the Exclude
        # constraint of the price versions
        prices = [p for t in templates for p in t.offer_prices]
        for sub_prices in grouped_slice(prices, 50):
            OfferPrice.publish(list(sub_prices))
        for sub_templates in grouped_slice(templates, 50):
            Template.publish(list(sub_templates))
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
        PriceList = pool.get('product.price_list')
        Region = pool.get('rsoft.region')
        company, = Company.search([], limit=1)
        south, = PriceList.create([{
                    'name': "South India LCO Prices", 'company': company.id,
                    'lines': [('create', [{
                                    'formula': 'unit_price * 0.95'}])],
                    }])
        Region.write([self.regions['IN-KA']], {'price_list': south.id})
        mso, = Partner.create([{
                    'party': company.party.id, 'code': 'MSO', 'role': 'mso',
                    'region': self.regions['IN'].id, 'company': company.id,
                    }])
        partners = {'MSO': mso}
        for name, code, role, parent, region, agreement in data.PARTNERS:
            # A JV's seat is the first city of its state
            city, _, pin = data.CITIES.get(region) or next(
                v for k, v in data.CITIES.items() if k.startswith(region))
            party = self._broadcaster(name)
            # Where its settlements (supplier invoices) are addressed
            party.addresses = [{'city': city, 'postal_code': f'{pin}001'}]
            party.save()
            values = {
                'party': party.id, 'code': code,
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
        with Transaction().start(self.database, 0, context=context):
            done = self._existing()
        while done < self.subscriber_count:
            size = min(BATCH, self.subscriber_count - done)
            with Transaction().start(
                    self.database, 0, context=context) as transaction:
                # Records are bound to their transaction: read them anew
                self._load_context()
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
        Subdivision = pool.get('country.subdivision')
        Company = pool.get('company.company')
        self.today = pool.get('ir.date').today()
        company, = Company.search([], limit=1)
        self.company_id = company.id
        # Plain values: attribute access on records costs in a hot loop
        self.lcos = [(p.id, p.code, p.region.code) for p in Partner.search(
                [('role', '=', 'lco')], order=[('code', 'ASC')])]
        country, = Country.search([('code', '=', 'IN')], limit=1)
        self.country_id = country.id
        self.states = {s.code: s.id for s in Subdivision.search([
                    ('country', '=', country.id)])}
        if getattr(self, 'products', None):
            return
        products = Product.search(
            [('template.rsoft_kind', '!=', None)], order=[('id', 'ASC')])
        self.products, self.product_names = {}, {}
        for product in products:
            template = product.template
            version = template.get_price_version(self.today)
            self.product_names[product.id] = product.rec_name
            self.products.setdefault(template.rsoft_kind, []).append((
                    product.id, version.id if version else None,
                    frozenset(c.id for c in template.get_offer_channels()),
                    {t.months for t in version.terms} if version else {1}))


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
        from trytond.modules.rsoft_toolkit.bulk import BulkWriter
        from trytond.pool import Pool
        pool = Pool()
        self.writer = BulkWriter()
        plans = [self._plan(self.offset + i) for i in range(self.size)]
        self._write_parties(pool, plans)
        self._write_subscribers(pool, plans)
        self._write_connections(pool, plans)
        self._write_lines(pool, plans)
        self._write_events(pool, plans)

    def _write_parties(self, pool, plans):
        Party = pool.get('party.party')
        Address = pool.get('party.address')
        Identifier = pool.get('party.identifier')
        sequence = Party._code_sequence()
        codes = sequence.get_many(len(plans)) if sequence else None
        ids = self.writer.allocate(Party, len(plans))
        address_ids = self.writer.allocate(Address, len(plans))
        parties, addresses = [], []
        for plan, id_, address_id in zip(plans, ids, address_ids):
            code = next(codes) if codes else str(id_)
            digits = re.sub(r'\D', '', code)[-18:]
            parties.append({
                    'id': id_, 'name': plan['name'], 'code': code,
                    'code_alnum': re.sub(r'[\W_]', '', code),
                    'code_digit': int(digits) if digits else None,
                    'active': True,
                    })
            addresses.append({
                    'id': address_id, 'party': id_, 'active': True,
                    'sequence': 10, **plan['address'],
                    'country': self.g.country_id,
                    })
            plan['party'], plan['address_id'] = id_, address_id
        self.writer.insert(Party, parties)
        self.writer.insert(Address, addresses)
        # Few, and checked as the client checks them
        Identifier.create([{
                    'party': plan['party'], 'type': 'in_vat',
                    'code': plan['gstin'],
                    } for plan in plans if plan['gstin']])

    def _write_subscribers(self, pool, plans):
        from trytond.modules.rsoft_subscriber.kyc import aadhaar_values
        Subscriber = pool.get('rsoft.subscriber')
        Configuration = pool.get('rsoft.subscriber.configuration')
        sequence = Configuration(1).subscriber_sequence
        customer_ids = sequence.get_many(len(plans))
        ids = self.writer.allocate(Subscriber, len(plans))
        rows = []
        parent = None
        for plan, id_ in zip(plans, ids):
            plan['id'], plan['customer_id'] = id_, next(customer_ids)
            if plan['society']:
                parent = id_
            # An Aadhaar number is stored as create stores it: masked,
            # with its keyed hash (every row has the same columns)
            kyc = {'aadhaar_hash': None}
            if plan['subscriber']['id_proof_type'] == 'aadhaar':
                kyc = aadhaar_values(plan['subscriber']['id_proof_number'])
            rows.append({
                    'id': id_, 'customer_id': plan['customer_id'],
                    'party': plan['party'], 'company': self.g.company_id,
                    'billing_address': plan['address_id'],
                    'installation_address': plan['address_id'],
                    'active': True,
                    # The flats of a society are the accounts after it
                    'parent': parent if plan['flat'] else None,
                    **plan['subscriber'],
                    **kyc,
                    })
        self.writer.insert(Subscriber, rows)

    def _write_connections(self, pool, plans):
        Connection = pool.get('rsoft.connection')
        count = sum(len(p['connections']) for p in plans)
        ids = iter(self.writer.allocate(Connection, count))
        rows = []
        for plan in plans:
            for number, kind in enumerate(plan['connections'], 1):
                row = {
                    'id': next(ids), 'subscriber': plan['id'],
                    'number': number, 'kind': kind,
                    'code': f"{plan['customer_id']}-{number}",
                    'installation_address': plan['address_id'],
                    }
                row.update({f: plan['subscriber'][f] for f in _LIFECYCLE})
                rows.append(row)
        plan_of = {p['id']: p for p in plans}
        for row in rows:
            plan_of[row['subscriber']].setdefault('rows', []).append(row)
        self.writer.insert(Connection, rows)

    def _write_lines(self, pool, plans):
        Line = pool.get('rsoft.subscription.line')
        rows = [line for plan in plans for connection in plan['rows']
            for line in self._line_values(connection)]
        for row, id_ in zip(rows, self.writer.allocate(Line, len(rows))):
            row['id'] = id_
        self.lines = rows
        self.writer.insert(Line, rows)

    def _write_events(self, pool, plans):
        Event = pool.get('rsoft.subscriber.event')
        events = []
        for plan in plans:
            subscriber = {**plan['subscriber'], 'id': plan['id']}
            events.extend(self._state_events(
                    subscriber, {'subscriber': plan['id'],
                        'connection': None}))
            for connection in plan['rows']:
                events.extend(self._state_events(connection, {
                            'subscriber': plan['id'],
                            'connection': connection['id']}))
        subscriber_of = {c['id']: p['id'] for p in plans for c in p['rows']}
        names = self.g.product_names
        for line in self.lines:
            if line['state'] == 'draft':
                continue
            events.append(_event(
                    subscriber_of[line['connection']], line['connection'],
                    line['id'], 'subscription', 'subscribe',
                    line['start_date'], None,
                    f"{names[line['product']]} ({line['term']} m)"))
        for row, id_ in zip(events, self.writer.allocate(Event, len(events))):
            row['id'] = id_
        self.writer.insert(Event, events)

    def _plan(self, index):
        rng, fake = self.rng, self.fake
        society, flat = index % 100 == 0, 0 < index % 100 <= 4
        # One in 50 is a shop or a hotel registered for GST
        business = index % 50 == 25
        lco_id, lco_code, region = self.g.lcos[
            (index - index % 100 if flat else index) % len(self.g.lcos)]
        city, state, pin = data.CITIES[region]
        name = fake.name()
        if society:
            name = f"{fake.last_name()} Nagar Co-operative Housing Society"
        elif flat:
            name = f"{name} (Flat {index % 100}0{index % 7 + 1})"
        elif business:
            name = f"{name.split()[-1]} Enterprises"

        activation = self.g.today - datetime.timedelta(
            days=rng.randint(5, 700))
        draw = rng.random()
        state_ = ('active' if society else 'draft' if draw < 0.02
            else 'terminated' if draw < 0.04
            else 'suspended' if draw < 0.08 else 'active')
        subscriber = {
            'lco': lco_id,
            'customer_class': 'residential',
            'contract_number': f'CAF/{lco_code}/{index + 1:07d}',
            'contract_date': activation - datetime.timedelta(
                days=rng.randint(0, 3)),
            'mobile': self._mobile(),
            'landline': None,
            'email': None,
            'id_proof_type': None,
            'id_proof_number': None,
            'state': state_,
            'activation_date': None if state_ == 'draft' else activation,
            'termination_date': None,
            'suspension_reason': None,
            'suspension_note': None,
            }
        if rng.random() < 0.2:
            subscriber['landline'] = (
                f'+9122{rng.randint(20000000, 69999999)}')
        if rng.random() < 0.6:
            user = ''.join(ch for ch in name.lower() if ch.isalpha())[:12]
            subscriber['email'] = f'{user}{index}@example.in'
        subscriber.update(self._id_proof())
        if state_ == 'suspended':
            subscriber['suspension_reason'] = 'non_payment'
        if state_ == 'terminated':
            subscriber['termination_date'] = min(
                self.g.today, activation + datetime.timedelta(
                    days=rng.randint(30, 300)))
        if society:
            subscriber['customer_class'] = 'institutional'
        if business:
            subscriber['customer_class'] = 'commercial'
        return {
            'name': name,
            'society': society,
            'flat': flat,
            'gstin': _gstin(GST_STATES[region[:5]], index) if business
            else None,
            'address': {
                'street_unstructured': fake.street_address(),
                'city': city,
                'postal_code': f'{pin}{rng.randint(1, 99):03d}',
                'subdivision': self.g.states.get(region[:5]),
                },
            'subscriber': subscriber,
            'connections': ['primary_tv'] + (
                ['second_tv'] if rng.random() < 0.15 else []),
            }

    def _mobile(self):
        while True:
            number = self.rng.choice('6789') + ''.join(
                self.rng.choice('0123456789') for _ in range(9))
            parsed = phonenumbers.parse(number, 'IN')
            if (phonenumbers.is_valid_number(parsed)
                    and phonenumbers.number_type(parsed) in _MOBILE_TYPES):
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
            while True:
                letters = ''.join(self.rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')
                    for _ in range(3))
                number = f'{letters}{self.rng.randint(0, 9999999):07d}'
                if epic.is_valid(number):
                    return {'id_proof_type': 'voter_id',
                        'id_proof_number': number}
        return {}

    def _line_values(self, connection):
        rng, products = self.rng, self.g.products
        start = connection['activation_date'] or self.g.today
        state = 'draft' if connection['state'] == 'draft' else 'active'
        end = (connection['termination_date'] - datetime.timedelta(days=1)
            if connection['termination_date'] else None)
        base = rng.choices(products['base_pack'], weights=[5, 3, 2])[0]
        chosen = [base]
        chosen += rng.sample(
            products['addon_pack'], k=rng.choice([0, 0, 1, 1, 2]))
        covered = frozenset().union(*(c[2] for c in chosen))
        alacarte = [a for a in products['alacarte'] if not a[2] & covered]
        chosen += rng.sample(alacarte, k=min(len(alacarte),
                rng.choice([0, 0, 0, 1, 2])))
        ncf, = products['ncf']
        chosen.append(ncf)
        values = []
        for product, version, _, terms in chosen:
            is_ncf = product == ncf[0]
            term = 1 if is_ncf else rng.choice([1, 1, 1, 3, 6, 12])
            if term not in terms:
                term = 1
            values.append({
                    'connection': connection['id'],
                    'product': product,
                    'term': term,
                    'price_version': version,
                    'start_date': start,
                    'end_date': end,
                    'ncf': is_ncf,
                    'state': 'ended' if end else state,
                    })
        return values

    def _state_events(self, record, extra):
        if not record['activation_date']:
            return []
        subscriber, connection = extra['subscriber'], extra['connection']
        events = [_event(subscriber, connection, None, 'state', 'active',
                record['activation_date'], 'draft', 'active')]
        if record['state'] == 'suspended':
            events.append(_event(subscriber, connection, None, 'state',
                    'suspended', self.g.today - datetime.timedelta(days=3),
                    'active', 'suspended', "Non-payment"))
        if record['termination_date']:
            events.append(_event(subscriber, connection, None, 'state',
                    'terminated', record['termination_date'], 'active',
                    'terminated'))
        return events


_LIFECYCLE = [
    'state', 'activation_date', 'termination_date', 'suspension_reason',
    'suspension_note']
_MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }


def _gstin(state, index):
    "Return a GSTIN of state for the business of index: PAN, 1, Z, check"
    letters = string.ascii_uppercase
    pan = (f'AAB{"CFH"[index % 3]}{letters[index % 26]}'
        f'{index % 10000:04d}{letters[index // 26 % 26]}')
    number = f'{state}{pan}1Z'
    return number + luhn.calc_check_digit(number, string.digits + letters)


def _event(subscriber, connection, line, kind, action, date, before, after,
        description=None):
    return {
        'subscriber': subscriber, 'connection': connection, 'line': line,
        'kind': kind, 'action': action, 'date': date, 'before': before,
        'after': after, 'description': description,
        }


if __name__ == '__main__':
    main()
