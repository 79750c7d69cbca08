"""The head-end of the demo operator, when rsoft_cas is activated

Two CAS systems: the Nagra head-end reached over DVB SimulCrypt (the
Gospell boxes' cards) and the Kaon card-less boxes' REST service. Every
offer maps to a product ID of each. The state of every installed device
is then commanded: the commands wait in the outbox, since no head-end
answers on this machine; `mux 0x4ae60000 -p 2100 --channel_id 1
--stream_id 1 --data_id 1` (the simulcrypt package's MUX) and the
dispatcher (`python -m trytond.modules.rsoft_cas.dispatch`) send them."""

SYSTEMS = [
    ('NAGRA', "Nagra head-end (SimulCrypt)", "Nagra", 'simulcrypt', {
            'host': '127.0.0.1', 'port': 2100, 'client_id': '0x4ae60000',
            'data_channel_id': 1, 'data_stream_id': 1, 'data_id': 1,
            'protocol_version': 3, 'bandwidth': 2000,
            }, {'osd_length': 120, 'batch_size': 200}),
    ('KAON', "Kaon card-less (REST)", "Kaon", 'http_json', {
            'url': 'http://127.0.0.1:8100', 'auth': 'bearer',
            }, {'osd_length': 80, 'cardless': True, 'batch_size': 100}),
    ]
BATCH = 500


class CasLoader:

    def __init__(self, generator):
        self.g = generator

    def run(self):
        if not self.g.activated('rsoft_cas'):
            return
        lots = self.g.in_transaction(self._systems)
        for start in range(0, len(lots), BATCH):
            self.g.in_transaction(self._command, lots[start:start + BATCH])

    def _systems(self):
        "Create the systems and mappings; return the devices to command"
        from trytond.pool import Pool
        pool = Pool()
        System = pool.get('rsoft.cas.system')
        Template = pool.get('product.template')
        Product = pool.get('product.product')
        Lot = pool.get('stock.lot')
        if System.search([]):
            return []
        offers = Product.search([('template.rsoft_kind', '!=', None)],
            order=[('id', 'ASC')])
        systems = System.create([{
                    'code': code, 'name': name, 'vendor': vendor,
                    'driver': driver,
                    'settings': '\n'.join(
                        f'{k} = {v}' for k, v in settings.items()),
                    'credentials': 'token = demo-token' if (
                        driver == 'http_json') else None,
                    'mappings': [('create', [{
                                    'offer': offer.id,
                                    'cas_product': f'{code[0]}{offer.id:04d}',
                                    } for offer in offers])],
                    **limits,
                    } for code, name, vendor, driver, settings, limits
                in SYSTEMS])
        nagra, kaon = systems
        models = Template.search([('rsoft_device_kind', '!=', None)])
        Template.write(
            [t for t in models if t.rsoft_device_kind == 'smartcard'
                or t.card_based], {'cas_system': nagra.id},
            [t for t in models if t.rsoft_device_kind == 'stb'
                and not t.card_based], {'cas_system': kaon.id})
        return [lot.id for lot in Lot.search([
                    ('connection', '!=', None),
                    ], order=[('id', 'ASC')])]

    def _command(self, ids):
        from trytond.pool import Pool
        pool = Pool()
        Lot = pool.get('stock.lot')
        CasDevice = pool.get('rsoft.cas.device')
        CasDevice.command(CasDevice._targets(Lot.browse(ids)),
            priority='bulk')
