"""Measure the receipt of a vendor production file of N set-top boxes

    python bench/import_devices.py --rows 100000 \\
        --uri postgresql://postgres@127.0.0.1:5432/

Creates (or recreates) the database, activates rsoft_inventory, sets up the
company, the MSO, an STB model and a smart card type, writes a CSV of N
rows (serial, chip ID, card number, MAC, pairing key), then times:

- the check alone of the file (read_rows and check_rows);
- its receipt: N boxes and N cards in the MSO's stock, each box paired
  with the card of its row, committed;
- the refusal of a second file that repeats 10 rows of the first among
  new ones: refused, nothing created.

Prints the figures, the counts that prove them and the machine; exits 1
when a count is wrong. --profile runs the receipt under cProfile."""
import argparse
import cProfile
import datetime
import io
import os
import platform
import pstats
import random
import sys
import tempfile
import time
from decimal import Decimal

from benchdb import create_database

HEADER = 'Serial,Chip ID,Card Number,MAC,Pairing Key'
# 2**24 MAC addresses under one vendor prefix
MAX_ROWS = 1 << 24
FAILURES = []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', type=int, default=100_000,
        help="rows of the file received")
    parser.add_argument('--refused-rows', type=int, default=100_000,
        help="new rows of the refused file, besides the repeated ones")
    parser.add_argument('--duplicates', type=int, default=10,
        help="rows of the first file repeated in the refused one")
    parser.add_argument('--uri',
        default='postgresql://postgres@127.0.0.1:5432/')
    parser.add_argument('--database', default='rsoft_bench_import')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--profile', nargs='?', const='-', metavar='FILE',
        help="run the receipt under cProfile: print the top functions, "
        "and dump the stats to FILE if given")
    args = parser.parse_args()
    if args.rows + args.refused_rows >= MAX_ROWS:
        parser.error(f"at most {MAX_ROWS - 1} rows in all")
    if not 0 < args.duplicates <= args.rows:
        parser.error("--duplicates must be between 1 and --rows")

    print_machine(args)
    workdir = tempfile.mkdtemp(prefix='rsoft-bench-')
    config = os.path.join(workdir, 'trytond.conf')
    with open(config, 'w') as fd:
        fd.write(f'[database]\nuri = {args.uri}\npath = {workdir}\n')
    started = time.monotonic()
    create_database(config, args, 'rsoft_inventory')
    print(f'database {args.database} created, rsoft_inventory activated '
        f'in {time.monotonic() - started:.1f} s')

    from proteus import config as pconfig
    pconfig.set_trytond(args.database, config_file=config)
    started = time.monotonic()
    setup = set_up(args.database)
    print(f'company, MSO, STB model and smart card type '
        f'in {time.monotonic() - started:.1f} s')
    print_server(args.database)

    rng = random.Random(args.seed)
    lines = [row(i, rng) for i in range(args.rows)]
    data = to_csv(lines)
    print(f'file: {args.rows} rows, {len(data) / 1e6:.1f} MB')
    receipt_id = create_receipt(
        args.database, setup, 'BENCH/1', data, 'production-1.csv')

    time_check(args.database, setup, receipt_id, args.rows)
    if not time_receipt(
            args.database, setup, receipt_id, args.rows, args.profile):
        report()
    verify_receipt(args.database, setup, receipt_id, lines)

    step = args.rows // args.duplicates
    repeated = [lines[i * step] for i in range(args.duplicates)]
    fresh = [row(i, rng) for i in range(
            args.rows, args.rows + args.refused_rows)]
    refused_lines = interleave(fresh, repeated)
    refused_id = create_receipt(
        args.database, setup, 'BENCH/2', to_csv(refused_lines),
        'production-2.csv')
    time_refusal(args.database, setup, refused_id, refused_lines,
        args.duplicates)

    report()


def report():
    if FAILURES:
        print(f'FAILED: {len(FAILURES)} check(s): ' + '; '.join(FAILURES))
        sys.exit(1)
    print('all checks passed')


def set_up(database):
    "Create the company, the MSO, a vendor, an STB model and a card type"
    from rsoft_tools.generate import Generator

    from trytond.pool import Pool
    from trytond.transaction import Transaction

    company_id = Generator(database, subscribers=0).setup_company()
    with Transaction().start(database, 0, context={
                'company': company_id}) as transaction:
        pool = Pool()
        Company = pool.get('company.company')
        Party = pool.get('party.party')
        Partner = pool.get('rsoft.partner')
        Template = pool.get('product.template')
        ModelData = pool.get('ir.model.data')
        company = Company(company_id)
        mso, = Partner.create([{
                    'party': company.party.id, 'code': 'MSO', 'role': 'mso',
                    'company': company_id,
                    }])
        vendor, = Party.create([{'name': "Shenzhen Skyworth Digital"}])
        unit = ModelData.get_id('product', 'uom_unit')
        lot_required = ['supplier', 'customer', 'lost_found', 'storage']
        stb, card = Template.create([{
                    'name': "RS-HD100 HD Set-top Box",
                    'type': 'goods',
                    'default_uom': unit,
                    'rsoft_device_kind': 'stb',
                    'card_based': True,
                    'serial_pattern': r'^RS[0-9]{10}$',
                    'chip_id_pattern': r'^[0-9A-F]{8}$',
                    'lot_required': lot_required,
                    'products': [('create', [{
                                    'cost_price': Decimal('1450'),
                                    }])],
                    }, {
                    'name': "RS Smart Card",
                    'type': 'goods',
                    'default_uom': unit,
                    'rsoft_device_kind': 'smartcard',
                    'serial_pattern': r'^[0-9]{12}$',
                    'lot_required': lot_required,
                    'products': [('create', [{
                                    'cost_price': Decimal('180'),
                                    }])],
                    }])
        check("the MSO has a stock location", bool(mso.stock_location))
        setup = {
            'company': company_id,
            'mso': mso.id,
            'location': mso.stock_location.id,
            'vendor': vendor.id,
            'stb': stb.products[0].id,
            'card': card.products[0].id,
            }
        transaction.commit()
    return setup


def row(i, rng):
    "Return the i-th row of the vendor's production: unique, well formed"
    # 2654435761 is odd: i -> chip ID is one-to-one modulo 2**32
    chip_id = (i * 2654435761 + 0x1000_0000) % (1 << 32)
    return [
        f'RS{4_100_000_000 + i:010d}',
        f'{chip_id:08X}',
        f'{700_000_000_000 + i:012d}',
        'A4:5E:60:' + ':'.join(
            f'{(i >> s) & 0xFF:02X}' for s in (16, 8, 0)),
        f'{rng.getrandbits(64):016X}',
        ]


def to_csv(lines):
    buffer = io.StringIO()
    buffer.write(HEADER + '\r\n')
    for line in lines:
        buffer.write(','.join(line) + '\r\n')
    return buffer.getvalue().encode('utf-8')


def interleave(lines, extra):
    "Return lines with the extra lines spread evenly among them"
    result = list(lines)
    step = max(len(lines) // len(extra), 1)
    for n, line in enumerate(extra):
        result.insert(n * (step + 1), line)
    return result


def create_receipt(database, setup, reference, data, file_name):
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with Transaction().start(database, 0, context={
                'company': setup['company']}) as transaction:
        pool = Pool()
        Receipt = pool.get('rsoft.device.receipt')
        Date = pool.get('ir.date')
        receipt, = Receipt.create([{
                    'reference': reference,
                    'company': setup['company'],
                    'vendor': setup['vendor'],
                    'date': Date.today(),
                    'partner': setup['mso'],
                    'stb_product': setup['stb'],
                    'card_product': setup['card'],
                    'file': data,
                    'file_name': file_name,
                    }])
        transaction.commit()
        return receipt.id


def time_check(database, setup, receipt_id, rows):
    "Time the reading and the checks alone, in a transaction rolled back"
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with Transaction().start(database, 0, context={
                'company': setup['company']}) as transaction:
        Receipt = Pool().get('rsoft.device.receipt')
        receipt = Receipt(receipt_id)
        started = time.monotonic()
        lines = receipt.read_rows()
        read = time.monotonic() - started
        errors = receipt.check_rows(lines)
        elapsed = time.monotonic() - started
        transaction.rollback()
    check(f"{rows} rows read", len(lines) == rows)
    check("no error in the file", not errors)
    print(f'check only: {rows} rows in {elapsed:.2f} s '
        f'(read_rows {read:.2f} s, check_rows {elapsed - read:.2f} s): '
        f'{rows / elapsed:.0f} rows/s')


def time_receipt(database, setup, receipt_id, rows, profile=None):
    "Time Receipt.receive and its commit"
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    profiler = cProfile.Profile() if profile else None
    with Transaction().start(database, 0, context={
                'company': setup['company']}) as transaction:
        Receipt = Pool().get('rsoft.device.receipt')
        receipt = Receipt(receipt_id)
        started = time.monotonic()
        if profiler:
            profiler.enable()
        try:
            Receipt.receive([receipt])
        except Exception as exception:
            elapsed = time.monotonic() - started
            # Leaving the with block commits: nothing of a failure may stay
            transaction.rollback()
            check(f"receive failed after {elapsed:.1f} s: "
                f"{exception.__class__.__name__}: "
                f"{str(exception).strip()}", False)
            if profiler:
                profiler.disable()
                print_profile(profiler, profile)
            return False
        received = time.monotonic() - started
        transaction.commit()
        if profiler:
            profiler.disable()
        elapsed = time.monotonic() - started
        devices = receipt.device_count
        state = receipt.state
    check("the receipt is done", state == 'done')
    check(f"{2 * rows} devices received", devices == 2 * rows)
    print(f'receipt: {rows} rows, {devices} devices (boxes + cards, '
        f'paired) in {elapsed:.2f} s (receive {received:.2f} s, commit '
        f'{elapsed - received:.2f} s): {rows / elapsed:.0f} rows/s, '
        f'{devices / elapsed:.0f} devices/s'
        + (' [under cProfile]' if profiler else ''))
    if profiler:
        print_profile(profiler, profile)
    return True


def print_profile(profiler, path):
    if path != '-':
        profiler.dump_stats(path)
        print(f'profile written to {path}')
    for key in ['cumulative', 'tottime']:
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats(key).print_stats(25)
        print(stream.getvalue())


def verify_receipt(database, setup, receipt_id, lines):
    "Count what the receipt created and look at sample pairs"
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    rows = len(lines)
    with Transaction().start(database, 0, context={
                'company': setup['company']}) as transaction:
        pool = Pool()
        Receipt = pool.get('rsoft.device.receipt')
        Lot = pool.get('stock.lot')
        Move = pool.get('stock.move')
        Event = pool.get('rsoft.device.event')
        Product = pool.get('product.product')
        receipt = Receipt(receipt_id)
        counts = table_counts()
        products = [setup['stb'], setup['card']]
        lots = Lot.search_count([('product', 'in', products)])
        moves = Move.search_count([
                ('origin', '=', str(receipt)), ('state', '=', 'done'),
                ('to_location', '=', setup['location']),
                ])
        events = {a: Event.search_count([('action', '=', a)])
            for a in ['receive', 'pair']}
        in_stock = Lot.search_count([
                ('product', 'in', products),
                ('device_state', '=', 'in_stock'),
                ('current_location', '=', setup['location']),
                ('holder', '=', setup['mso']),
                ])
        pairs = count_pairs(transaction, setup)
        with Transaction().set_context(locations=[setup['location']]):
            quantities = {p.id: p.quantity for p in Product.browse(products)}
        print(f'counts: stock.lot {counts["stock.lot"]}, stock.move '
            f'{counts["stock.move"]}, rsoft.device.event '
            f'{counts["rsoft.device.event"]} (receive {events["receive"]}, '
            f'pair {events["pair"]})')
        print(f'in MSO stock: {in_stock} devices in_stock, quantity '
            f'{quantities[setup["stb"]]:.0f} boxes, '
            f'{quantities[setup["card"]]:.0f} cards; {pairs} box-card '
            f'pairs pointing at each other')
        check(f"{2 * rows} lots", lots == counts['stock.lot'] == 2 * rows)
        check(f"{2 * rows} done moves",
            moves == counts['stock.move'] == 2 * rows)
        check(f"{2 * rows} receive events", events['receive'] == 2 * rows)
        check(f"{2 * rows} pair events", events['pair'] == 2 * rows)
        check(f"{4 * rows} events", counts['rsoft.device.event'] == 4 * rows)
        check("every device in_stock at the MSO", in_stock == 2 * rows)
        check(f"{rows} pairs", pairs == rows)
        check("stock quantities", quantities == {
                setup['stb']: rows, setup['card']: rows})
        for index in sorted({0, rows // 2, rows - 1}):
            verify_sample(setup, index, lines[index])


def count_pairs(transaction, setup):
    "Boxes paired with a card of the card type that points back at them"
    cursor = transaction.connection.cursor()
    cursor.execute(
        'SELECT COUNT(*) FROM stock_lot b '
        'JOIN stock_lot c ON c.id = b.paired_device '
        'WHERE b.product = %s AND c.product = %s AND c.paired_device = b.id',
        (setup['stb'], setup['card']))
    count, = cursor.fetchone()
    return count


def verify_sample(setup, index, line):
    from trytond.pool import Pool
    Lot = Pool().get('stock.lot')
    serial, chip_id, card_number, mac, pairing_key = line
    box, = Lot.search([
            ('product', '=', setup['stb']), ('number', '=', serial)])
    card = box.paired_device
    print(f'row {index + 2}: box {box.number} {box.device_state} at '
        f'{box.current_location.rec_name} held by {box.holder.rec_name}, '
        f'chip {box.chip_id}, MAC {box.mac_address}; paired with card '
        f'{card.number if card else None} {card.device_state if card else ""}'
        f' paired with {card.paired_device.number if card else None}')
    check(f"row {index + 2}: box paired with its card",
        bool(card) and card.number == card_number
        and card.product.id == setup['card']
        and card.paired_device == box)
    check(f"row {index + 2}: box in_stock at the MSO",
        box.device_state == card.device_state == 'in_stock'
        and box.current_location.id == card.current_location.id
        == setup['location']
        and box.holder.id == setup['mso'])
    check(f"row {index + 2}: chip ID, MAC and pairing key",
        box.chip_id == chip_id and box.mac_address == mac
        and box.pairing_key == pairing_key)
    check(f"row {index + 2}: receipt date",
        box.receipt_date == card.receipt_date == datetime.date.today())


def time_refusal(database, setup, receipt_id, lines, duplicates):
    "Time the receipt of a file with database duplicates: refused"
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    rows = len(lines)
    with Transaction().start(database, 0, context={
                'company': setup['company']}) as transaction:
        Receipt = Pool().get('rsoft.device.receipt')
        receipt = Receipt(receipt_id)
        before = table_counts()
        started = time.monotonic()
        Receipt.receive([receipt])
        transaction.commit()
        elapsed = time.monotonic() - started
    with Transaction().start(database, 0, context={
                'company': setup['company']}):
        receipt = Pool().get('rsoft.device.receipt')(receipt_id)
        after = table_counts()
        errors = receipt.errors
        refused = sorted({e.row for e in errors})
        columns = sorted({e.column for e in errors})
        print(f'refused file: {rows} rows ({duplicates} repeated) refused '
            f'in {elapsed:.2f} s: {rows / elapsed:.0f} rows/s; state '
            f'{receipt.state}, {len(errors)} errors on {len(refused)} rows '
            f'(columns {", ".join(columns)}), devices {receipt.device_count}')
        if errors:
            print(f'  e.g. row {errors[0].row} {errors[0].column}: '
                f'{errors[0].message}')
        print(f'  counts after: {after}')
        check("the second file is refused", receipt.state == 'refused')
        check(f"{duplicates} rows refused", len(refused) == duplicates)
        check("nothing created by the refused file",
            before == after and receipt.device_count == 0)
        check("row count of the refused file", receipt.row_count == rows)


def table_counts():
    from sql.aggregate import Count

    from trytond.pool import Pool
    from trytond.transaction import Transaction

    pool = Pool()
    cursor = Transaction().connection.cursor()
    counts = {}
    for name in ['stock.lot', 'stock.move', 'rsoft.device.event']:
        table = pool.get(name).__table__()
        cursor.execute(*table.select(Count(table.id)))
        counts[name], = cursor.fetchone()
    return counts


def check(label, ok):
    if not ok:
        FAILURES.append(label)
        print(f'CHECK FAILED: {label}')


def print_machine(args):
    cpu = memory = '?'
    try:
        with open('/proc/cpuinfo') as fd:
            cpu = next((line.split(':', 1)[1].strip() for line in fd
                    if line.startswith('model name')), '?')
        with open('/proc/meminfo') as fd:
            kb = next(int(line.split()[1]) for line in fd
                if line.startswith('MemTotal'))
            memory = f'{kb / 1024 ** 2:.1f} GiB'
    except (OSError, StopIteration, ValueError):
        pass
    cores = (len(os.sched_getaffinity(0))
        if hasattr(os, 'sched_getaffinity') else os.cpu_count())
    print(f'machine: {platform.machine()}, nproc {cores} '
        f'({os.cpu_count()} CPUs), {cpu}, RAM {memory}, '
        f'Python {platform.python_version()}, {args.uri.split(":")[0]}')


def print_server(database):
    from trytond import __version__, backend
    from trytond.transaction import Transaction

    with Transaction().start(database, 0) as transaction:
        if backend.name == 'postgresql':
            cursor = transaction.connection.cursor()
            cursor.execute('SELECT version()')
            version, = cursor.fetchone()
        else:
            import sqlite3
            version = f'SQLite {sqlite3.sqlite_version}'
    print(f'trytond {__version__}, database: {version}')


if __name__ == '__main__':
    main()
