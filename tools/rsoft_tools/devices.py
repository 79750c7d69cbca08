"""Devices of the demo operator, when rsoft_inventory is activated

Box models and a card type; one vendor receipt of paired boxes and cards
and one of card-less boxes; allocation to the LCOs (and a few boxes to a
JV) by shipments; a box installed at every active or suspended TV
connection (some rented); a few faulty, in repair and blacklisted devices
for the reports. Everything goes
through the module's own methods, as an operator's clerks would."""
import datetime

SPARE_PER_LCO = 6
CARDLESS_BOXES = 40
INSTALL_BATCH = 200


class DeviceLoader:

    def __init__(self, generator):
        self.g = generator

    def run(self):
        if not self.g.activated('rsoft_inventory') or (
                self._in_transaction(self._loaded)):
            return
        self._in_transaction(self._stock)
        connections = self._in_transaction(self._connections)
        for start in range(0, len(connections), INSTALL_BATCH):
            self._in_transaction(
                self._install, connections[start:start + INSTALL_BATCH])
        self._in_transaction(self._incidents)

    def _in_transaction(self, func, *args):
        return self.g.in_transaction(func, *args)

    def _loaded(self):
        from trytond.pool import Pool
        Receipt = Pool().get('rsoft.device.receipt')
        return bool(Receipt.search([], limit=1))

    def _connections(self):
        "Return [(connection id, LCO id, date, state)] needing a box"
        from trytond.pool import Pool
        Connection = Pool().get('rsoft.connection')
        return [(c.id, c.subscriber.lco.id, c.activation_date, c.state)
            for c in Connection.search([
                    ('kind', 'in', ['primary_tv', 'second_tv']),
                    ('state', 'in', ['active', 'suspended']),
                    ], order=[('id', 'ASC')])]

    # -- receipt and allocation -------------------------------------------

    def _stock(self):
        from trytond.pool import Pool
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        Connection = pool.get('rsoft.connection')
        self.launch = pool.get('ir.date').today() - datetime.timedelta(
            days=800)
        hd, cardless, card = self._create_models()
        mso, = Partner.search([('role', '=', 'mso')])
        lcos = Partner.search([('role', '=', 'lco')], order=[('code', 'ASC')])
        needs = {lco: Connection.search_count([
                    ('subscriber.lco', '=', lco.id),
                    ('kind', 'in', ['primary_tv', 'second_tv']),
                    ('state', 'in', ['active', 'suspended']),
                    ]) + SPARE_PER_LCO for lco in lcos}
        vendor = self._vendor("Gospell Smart Video Technology")
        self._receive(mso, vendor, 'GSV/INV/0001', hd, card,
            _pair_rows(sum(needs.values())))
        self._receive(mso, self._vendor("Kaon Media"), 'KAON/DN/0001',
            cardless, None, _cardless_rows(CARDLESS_BOXES))
        self._allocate(mso, hd, needs)

    def _create_models(self):
        from trytond.pool import Pool
        pool = Pool()
        Template = pool.get('product.template')
        ModelData = pool.get('ir.model.data')
        unit = ModelData.get_id('product', 'uom_unit')
        common = {
            'type': 'goods', 'default_uom': unit, 'cas_vendor': "Nagra",
            'lot_required': ['supplier', 'customer', 'lost_found',
                'storage'],
            'lot_sequence': None, 'products': [('create', [{}])],
            }
        templates = Template.create([{
                    'name': "Gospell GK-7800 HD", 'code': 'STB-HD',
                    'rsoft_device_kind': 'stb', 'device_brand': "Gospell",
                    'definition': 'hd', 'card_based': True, 'dvr': False,
                    'serial_pattern': r'GK[0-9]{10}',
                    'chip_id_pattern': r'[0-9A-F]{8}', **common,
                    }, {
                    'name': "Kaon KSTB-2100 Card-less HD", 'code': 'STB-CL',
                    'rsoft_device_kind': 'stb', 'device_brand': "Kaon",
                    'definition': 'hd', 'card_based': False, 'dvr': True,
                    'serial_pattern': r'KN[0-9]{10}',
                    'chip_id_pattern': r'[0-9A-F]{8}', **common,
                    }, {
                    'name': "Nagra Merlin Smart Card", 'code': 'VC-NAGRA',
                    'rsoft_device_kind': 'smartcard',
                    'serial_pattern': r'[0-9]{12}', **common,
                    }])
        return tuple(t.products[0] for t in templates)

    def _vendor(self, name):
        from trytond.pool import Pool
        Party = Pool().get('party.party')
        party, = Party.create([{'name': name}])
        return party

    def _receive(self, mso, vendor, reference, stb, card, rows):
        from trytond.pool import Pool
        Receipt = Pool().get('rsoft.device.receipt')
        receipt, = Receipt.create([{
                    'reference': reference, 'company': mso.company.id,
                    'vendor': vendor.id, 'partner': mso.id,
                    'date': self.launch,
                    'stb_product': stb.id, 'card_product': card.id
                    if card else None,
                    'file': rows, 'file_name': f'{reference}.csv',
                    }])
        Receipt.receive([receipt])

    def _allocate(self, mso, product, needs):
        """Ship each LCO its boxes (with their cards), and a JV some
        card-less boxes to show the chain's middle

        Every move goes through Tryton's stock rules, about 0.1 s per
        device on SQLite: one hop per device keeps the demo quick to
        build."""
        from trytond.pool import Pool
        pool = Pool()
        Lot = pool.get('stock.lot')
        Partner = pool.get('rsoft.partner')
        boxes = Lot.search([('product', '=', product.id)],
            order=[('number', 'ASC')])
        start = 0
        for lco, need in needs.items():
            Lot.transfer(boxes[start:start + need], lco, self.launch)
            start += need
        jv = Partner.search([('role', '=', 'jv')], order=[('code', 'ASC')],
            limit=1)
        cardless = Lot.search([
                ('holder', '=', mso.id),
                ('product.template.card_based', '=', False),
                ], order=[('number', 'ASC')], limit=10)
        if jv and cardless:
            Lot.transfer(cardless, jv[0], self.launch)

    # -- installation -----------------------------------------------------

    def _install(self, connections):
        from trytond.pool import Pool
        pool = Pool()
        Lot = pool.get('stock.lot')
        Connection = pool.get('rsoft.connection')
        Product = pool.get('product.product')
        rental, = Product.search(
            [('template.rsoft_kind', '=', 'stb_rental')], limit=1)
        by_lco = {}
        for connection_id, lco_id, date, state in connections:
            by_lco.setdefault(lco_id, []).append(
                (connection_id, date, state))
        installs = []
        for lco_id, lco_connections in by_lco.items():
            boxes = Lot.search([
                    ('holder', '=', lco_id),
                    ('device_state', '=', 'allocated'),
                    ('product.template.rsoft_device_kind', '=', 'stb'),
                    ('paired_device', '!=', None),
                    ], order=[('number', 'ASC')],
                limit=len(lco_connections))
            for box, (connection_id, date, state) in zip(
                    boxes, lco_connections):
                rented = state == 'active' and connection_id % 4 == 0
                installs.append({
                        'connection': Connection(connection_id),
                        'stb': box,
                        'ownership': 'rented' if rented else 'sold',
                        'offer': rental if rented else None,
                        'date': date or pool.get('ir.date').today(),
                        })
        Connection.install_many(installs)

    def _incidents(self):
        "A few spares go faulty, one to repair, and two cards are stolen"
        from trytond.pool import Pool
        pool = Pool()
        Lot = pool.get('stock.lot')
        spares = Lot.search([
                ('device_state', '=', 'allocated'),
                ('product.template.rsoft_device_kind', '=', 'stb'),
                ('paired_device', '!=', None),
                ], order=[('number', 'DESC')], limit=5)
        cards = [b.paired_device for b in spares]
        Lot.unpair(spares)
        Lot.declare_faulty(spares[:3], "No video output")
        Lot.send_to_repair(spares[:1])
        Lot.do_blacklist(cards[:1], 'stolen', "Theft reported at LCO shop")
        Lot.do_blacklist(cards[1:2], 'cloned', "Seen on a pirate network")


def _pair_rows(count):
    lines = ['Serial,Chip ID,Card Number,MAC']
    for i in range(1, count + 1):
        lines.append(f'GK{2024000000 + i},{0x1A000000 + i:08X},'
            f'{800100000000 + i},{_mac(0x0C, i)}')
    return '\n'.join(lines).encode()


def _cardless_rows(count):
    lines = ['Serial,Chip ID,MAC']
    for i in range(1, count + 1):
        lines.append(f'KN{2025000000 + i},{0x2B000000 + i:08X},'
            f'{_mac(0x0D, i)}')
    return '\n'.join(lines).encode()


def _mac(prefix, i):
    return ':'.join(f'{b:02X}' for b in (
            0x00, 0x1E, prefix, i >> 16 & 0xFF, i >> 8 & 0xFF, i & 0xFF))
