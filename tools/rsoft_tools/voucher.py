"""The demo operator's scratch cards, when rsoft_voucher is activated

A ₹300 recharge card and a 30-day pack card, a batch of each generated;
the recharge cards allocated to the first Mumbai LCO, most of them sold
and a few redeemed by its prepaid subscribers, a box of five reported
stolen and blocked; the pack cards allocated to the Pune LCO and sold.
The PINs of these batches are drawn and thrown away with their export:
an operator trying redemption generates a batch of its own in the web
client (Pay-TV → Vouchers → Batches → Generate), whose zip it keeps."""
import csv
import io
import secrets
from decimal import Decimal

# The cards: name, serial prefix, kind, face value, price to partner,
# days of the offer, cards generated
TEMPLATES = [
    ("₹300 Recharge Card", 'RC300', 'top_up', '300', '285', None, 100),
    ("Sports Pack 30 Days", 'SP30', 'product', '99', '90', 30, 40),
    ]
RECHARGE_LCO, PACK_LCO = 'LCO-MUM-01', 'LCO-PUN-01'
# Of the recharge cards: allocated, sold, redeemed, blocked (stolen)
ALLOCATED, SOLD, REDEEMED, STOLEN = 60, 40, 5, 5


class VoucherLoader:

    def __init__(self, generator):
        self.g = generator

    def run(self):
        g = self.g
        if (not g.activated('rsoft_voucher')
                or g.in_transaction(self._loaded)):
            return
        g.in_transaction(self._configure)
        pins = g.in_transaction(self._generate)
        g.in_transaction(self._distribute, pins)

    def _loaded(self):
        from trytond.pool import Pool
        Template = Pool().get('rsoft.voucher.template')
        return bool(Template.search([], limit=1))

    def _configure(self):
        "A liability, a breakage income and a discount account"
        from trytond.pool import Pool
        pool = Pool()
        Account = pool.get('account.account')
        Configuration = pool.get('rsoft.voucher.configuration')
        company_id = self.g.company_id

        def first(*domain):
            account, = Account.search([
                    ('closed', '!=', True),
                    ('company', '=', company_id),
                    *domain,
                    ], order=[('code', 'ASC'), ('id', 'ASC')], limit=1)
            return account
        payable = first(('type.payable', '=', True))
        revenue = first(('type.revenue', '=', True))
        expense = first(('type.expense', '=', True))
        liability, breakage, discount = Account.create([{
                    'name': "Vouchers Outstanding", 'type': payable.type.id,
                    'parent': payable.parent.id if payable.parent else None,
                    'party_required': True, 'reconcile': True,
                    'company': company_id,
                    }, {
                    'name': "Voucher Breakage", 'type': revenue.type.id,
                    'parent': revenue.parent.id if revenue.parent else None,
                    'company': company_id,
                    }, {
                    'name': "Voucher Discounts", 'type': expense.type.id,
                    'parent': expense.parent.id if expense.parent else None,
                    'company': company_id,
                    }])
        configuration = Configuration(1)
        configuration.liability_account = liability
        configuration.expiry_account = breakage
        configuration.discount_account = discount
        configuration.save()

    def _generate(self):
        """Create the templates and a batch of each; return the PINs of
        each template's cards by serial, read back from the export"""
        from trytond.pool import Pool
        pool = Pool()
        Batch = pool.get('rsoft.voucher.batch')
        Partner = pool.get('rsoft.partner')
        Product = pool.get('product.product')
        Template = pool.get('rsoft.voucher.template')
        partners = {p.code: p for p in Partner.search([
                    ('code', 'in', [RECHARGE_LCO, PACK_LCO]),
                    ])}
        # A sports add-on if the catalogue has one, else its first add-on
        packs = sorted(Product.search([
                    ('template.rsoft_kind', '=', 'addon_pack'),
                    ('template.offer_state', '=', 'published'),
                    ], order=[('id', 'ASC')]),
            key=lambda p: 'sport' not in p.template.name.lower())[:1]
        pins = {}
        for (name, prefix, kind, face, price, days, count) in TEMPLATES:
            values = {
                'name': name, 'company': self.g.company_id, 'kind': kind,
                'serial_prefix': prefix,
                'partners': [('add', [p.id for p in partners.values()])],
                }
            values.update(face_value=Decimal(face),
                partner_price=Decimal(price))
            if kind == 'product':
                if not packs:
                    continue
                values.update(product=packs[0].id, days=days)
            template, = Template.create([values])
            password = secrets.token_urlsafe(12)
            _, content, _ = Batch.generate(template, count, password)
            pins[template.id] = _read_pins(content, password)
        return pins

    def _distribute(self, pins):
        from trytond.pool import Pool
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        Subscriber = pool.get('rsoft.subscriber')
        Voucher = pool.get('rsoft.voucher')
        rng = self.g.rng
        partners = {p.code: p for p in Partner.search([
                    ('code', 'in', [RECHARGE_LCO, PACK_LCO]),
                    ])}
        for template_id, by_serial in pins.items():
            vouchers = Voucher.search([
                    ('template', '=', template_id),
                    ], order=[('serial', 'ASC')])
            top_up = vouchers[0].template.kind == 'top_up'
            code = RECHARGE_LCO if top_up else PACK_LCO
            if code not in partners:
                continue
            allocated = vouchers[:ALLOCATED if top_up else len(vouchers) // 2]
            Voucher.allocate(allocated, partners[code])
            sold = allocated[:SOLD if top_up else len(allocated) // 2]
            Voucher.activate(sold)
            if not top_up:
                continue
            Voucher.block(allocated[-STOLEN:],
                note="Box of five reported stolen from the LCO's counter")
            accounts = Subscriber.search([
                    ('lco', '=', partners[code].id),
                    ('state', '=', 'active'),
                    ('billing_mode', '=', 'prepaid'),
                    ], order=[('id', 'ASC')], limit=50)
            for voucher, account in zip(sold[:REDEEMED],
                    rng.sample(accounts, min(REDEEMED, len(accounts)))):
                Voucher.redeem(account, by_serial[voucher.serial],
                    serial=voucher.serial, source='back_office')


def _read_pins(content, password):
    "Return the PINs of the export zip content by serial"
    import pyzipper
    with pyzipper.AESZipFile(io.BytesIO(content)) as archive:
        archive.setpassword(password.encode())
        name, = [n for n in archive.namelist() if n.endswith('.csv')]
        text = archive.read(name).decode('utf-8-sig')
    rows = csv.DictReader(io.StringIO(text))
    return {row['serial']: row['pin'] for row in rows}

