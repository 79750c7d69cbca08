"""The demo operator's service desk (rsoft_workorder): areas by PIN code,
field technicians of each LCO and of the MSO, the fees and officers of
the service configuration, and a morning's complaints and work orders"""
from collections import Counter
from decimal import Decimal

# Technicians of each LCO (two) and of the MSO, by partner code
TECHNICIANS = {
    'MSO': ["Imran Shaikh", "Joseph D'Souza"],
    'LCO-MUM-01': ["Ravi Kale", "Meena Jadhav"],
    'LCO-MUM-02': ["Suresh Pawar", "Anil More"],
    'LCO-PUN-01': ["Sachin Kulkarni", "Pooja Deshpande"],
    'LCO-BLR-01': ["Manjunath Gowda", "Lakshmi Rao"],
    }
# The one-time offers a visit is charged with: name, price
FEES = {'visit': ("Service Visit", '150'), 'relocation': ("Relocation", '250')}
# The complaints of the morning: LCO, category, what the subscriber said
COMPLAINTS = [
    ('LCO-MUM-01', 'no_signal', "No picture on any channel since 7 am"),
    ('LCO-MUM-01', 'stb_fault', "Box restarts every few minutes"),
    ('LCO-MUM-01', 'channel_missing', "Star Sports 1 shows 'not entitled'"),
    ('LCO-MUM-02', 'no_signal', "Signal lost after the storm"),
    ('LCO-PUN-01', 'billing', "Charged twice for the Hindi pack"),
    ('LCO-BLR-01', 'no_signal', "E-48 error on screen"),
    ]


class ServiceLoader:

    def __init__(self, generator):
        self.g = generator

    def run(self):
        g = self.g
        if not g.activated('rsoft_workorder') or (
                g.in_transaction(self._loaded)):
            return
        g.in_transaction(self._configure)
        g.in_transaction(self._field_teams)
        g.in_transaction(self._complaints)

    def _loaded(self):
        from trytond.pool import Pool
        return bool(Pool().get('rsoft.technician').search([], limit=1))

    def _configure(self):
        "India's time zone, the fees of the visits, the officers told"
        from trytond.pool import Pool
        pool = Pool()
        Company = pool.get('company.company')
        Configuration = pool.get('rsoft.service.configuration')
        Party = pool.get('party.party')
        Product = pool.get('product.product')
        company = Company(self.g.company_id)
        company.timezone = 'Asia/Kolkata'
        company.save()
        installation = Product.search([
                ('template.rsoft_kind', '=', 'installation'),
                ], limit=1)
        supervisor, nodal = Party.create([{
                    'name': name,
                    'contact_mechanisms': [('create', [
                                    {'type': 'email', 'value': email}])],
                    } for name, email in [
                    ("Priya Menon (Customer Service Supervisor)",
                        'service.supervisor@rsoft-demo.example.com'),
                    ("Arvind Nair (Nodal Officer)",
                        'nodal.officer@rsoft-demo.example.com'),
                    ]])
        config = Configuration(1)
        config.supervisor = supervisor
        config.nodal_officer = nodal
        if installation:
            installation, = installation
            config.installation_fee = installation
            visit, relocation = self._fees(installation.template)
            config.visit_fee = visit
            config.relocation_fee = relocation
        config.save()

    def _fees(self, installation):
        "Return the visit and relocation offers, priced as installation"
        from trytond.pool import Pool
        pool = Pool()
        OfferPrice = pool.get('rsoft.offer.price')
        Template = pool.get('product.template')
        start = min(p.start_date for p in installation.offer_prices)
        templates = Template.create([{
                    'name': name, 'type': 'service',
                    'rsoft_kind': 'installation',
                    'default_uom': installation.default_uom.id,
                    'account_category': (installation.account_category.id
                        if installation.account_category else None),
                    'list_price': Decimal(price),
                    'products': [('create', [{}])],
                    'offer_prices': [('create', [{
                                    'start_date': start,
                                    'price': Decimal(price),
                                    'terms': [('create', [{'months': 1,
                                                    'discount': 0}])],
                                    }])],
                    } for name, price in FEES.values()])
        OfferPrice.publish([p for t in templates for p in t.offer_prices])
        Template.publish(templates)
        return [t.products[0] for t in templates]

    def _field_teams(self):
        "An area per LCO's city, its PIN codes; the technicians"
        from trytond.pool import Pool
        pool = Pool()
        Area = pool.get('rsoft.service.area')
        Partner = pool.get('rsoft.partner')
        Subscriber = pool.get('rsoft.subscriber')
        Technician = pool.get('rsoft.technician')
        partners = {p.code: p for p in Partner.search([
                    ('code', 'in', list(TECHNICIANS)),
                    ])}
        # A PIN code belongs to one area: LCOs of one city share its
        # codes, each goes to the LCO with the most subscribers there
        counts = Counter()
        lcos = [p for p in partners.values() if p.role == 'lco']
        for subscriber in Subscriber.search([
                    ('lco', 'in', [p.id for p in lcos]),
                    ('installation_address.postal_code', '!=', None),
                    ]):
            counts[subscriber.installation_address.postal_code,
                subscriber.lco.code] += 1
        owner = {}
        for (postal_code, code), count in sorted(counts.items()):
            if count > counts.get((postal_code, owner.get(postal_code)), 0):
                owner[postal_code] = code
        areas = {}
        for code, partner in partners.items():
            if partner.role != 'lco':
                continue
            codes = sorted(c for c, lco in owner.items() if lco == code)
            if codes:
                areas[code], = Area.create([{
                            'name': partner.party.name,
                            'code': code.removeprefix('LCO-'),
                            'postal_codes': ', '.join(codes),
                            }])
        Technician.create([{
                    'name': name, 'lco': partners[code].id,
                    'company': self.g.company_id,
                    'mobile': f'+9198220{index:05d}',
                    'capacity': 6,
                    # The first of an LCO works its area, the second anywhere
                    'areas': ([('add', [areas[code].id])]
                        if code in areas and i == 0 else []),
                    }
                for index, (code, i, name) in enumerate(
                    (code, i, name)
                    for code, names in TECHNICIANS.items()
                    if code in partners
                    for i, name in enumerate(names))])

    def _complaints(self):
        """The morning's complaints, each with its SMS queued; the box
        fault made a swap order and a no-signal a repair, allocated by
        rule"""
        from trytond.pool import Pool
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        Connection = pool.get('rsoft.connection')
        WorkOrder = pool.get('rsoft.work_order')
        rng = self.g.rng
        complaints = []
        for code, category, description in COMPLAINTS:
            connections = Connection.search([
                    ('subscriber.lco.code', '=', code),
                    ('state', '=', 'active'),
                    ], limit=50, order=[('id', 'ASC')])
            if not connections:
                continue
            connection = rng.choice(connections)
            # A box at fault is named: its order is a swap
            device = connection.stb if category == 'stb_fault' else None
            complaints.append(Complaint.lodge(connection, category,
                    description, channel='phone', device=device))
        orders = Complaint.make_work_order([c for c in complaints
                if c.category in {'no_signal', 'stb_fault'}
                and c.lco.code == 'LCO-MUM-01'])
        if orders:
            WorkOrder.allocate(orders)
