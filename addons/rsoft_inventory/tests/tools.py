"Device models, vendor files and stock for the inventory tests"

from trytond.modules.rsoft_subscriber.tests.tools import create_offer
from trytond.pool import Pool

LOT_REQUIRED = ['supplier', 'customer', 'lost_found', 'storage']


def create_device_models():
    """Return (card-based HD box, card-less box, smart card) products

    Box serials are GX and 8 digits, chip IDs 8 hex digits, cards 12
    digits, all of the CAS "Nagra"."""
    pool = Pool()
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    unit, = Uom.search([('name', '=', 'Unit')])
    common = {
        'type': 'goods', 'default_uom': unit.id, 'cas_vendor': "Nagra",
        'lot_required': LOT_REQUIRED, 'lot_sequence': None,
        'products': [('create', [{}])],
        }
    templates = Template.create([{
                'name': "Gospell HD 5100", 'rsoft_device_kind': 'stb',
                'device_brand': "Gospell", 'definition': 'hd',
                'card_based': True, 'serial_pattern': r'GX[0-9]{8}',
                'chip_id_pattern': r'[0-9A-F]{8}', **common,
                }, {
                'name': "Nagra Card-less 200", 'rsoft_device_kind': 'stb',
                'device_brand': "Kaon", 'definition': 'sd',
                'card_based': False, 'serial_pattern': r'CL[0-9]{8}',
                **common,
                }, {
                'name': "Nagra Smart Card", 'rsoft_device_kind': 'smartcard',
                'serial_pattern': r'[0-9]{12}', **common,
                }])
    return tuple(t.products[0] for t in templates)


def vendor_rows(count, start=1, cards=True):
    "Return count valid rows of a box-and-card production file"
    rows = []
    for i in range(start, start + count):
        row = {
            'Serial': f'GX{i:08d}', 'Chip ID': f'{i:08X}',
            'MAC': ':'.join(f'{b:02X}' for b in (
                    0x00, 0x1A, 0x2B, i >> 16 & 0xFF, i >> 8 & 0xFF,
                    i & 0xFF)),
            }
        if cards:
            row['Card Number'] = f'{700000000000 + i}'
        rows.append(row)
    return rows


def to_csv(rows):
    columns = list(rows[0])
    lines = [','.join(columns)]
    lines += [','.join(row.get(c, '') for c in columns) for row in rows]
    return ('\n'.join(lines) + '\n').encode()


def receive(mso, vendor, stb=None, card=None, rows=(), reference='GX-1'):
    "Return the receipt of rows after the Receive button"
    pool = Pool()
    Receipt = pool.get('rsoft.device.receipt')
    receipt, = Receipt.create([{
                'reference': reference, 'company': mso.company.id,
                'vendor': vendor.id, 'partner': mso.id,
                'stb_product': stb.id if stb else None,
                'card_product': card.id if card else None,
                'file': to_csv(list(rows)), 'file_name': 'vendor.csv',
                }])
    Receipt.receive([receipt])
    return Receipt(receipt.id)


def create_rental_offers():
    "Return the published STB rental and lease offers"
    return (create_offer("STB Rental", 'stb_rental', '50'),
        create_offer("STB Lease", 'stb_lease', '30'))


