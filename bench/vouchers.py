"""Measure vouchers on PostgreSQL: a batch generated, and redemptions by
concurrent redeemers

    python bench/vouchers.py --quantity 1000000 --redeemers 20
    python bench/vouchers.py --reuse --quantity 1000000 --think 1

Creates (or, with --reuse, keeps) a database with rsoft_voucher and its
dependencies activated and the demo operator with --subscribers accounts,
configures the voucher accounts and a Rs 100 top-up card (the default 14
digits), then:

- generation: Batch.generate of --quantity cards in one committed
  transaction, as the Generate wizard calls it: the PINs drawn and
  hashed, their uniqueness checked against the stored hashes, the rows
  written, the export (the CSV of every card and the PDF sheet of the
  first PDF Cards, 1,000 by default) zipped with AES. Timed from the call
  to the commit;
- redemption: the first cards allocated to an LCO and sold, then
  --redeemers processes, started together, each redeeming --tries PINs
  through Voucher.redeem, each try in a transaction of its own, committed,
  started again when it asks for a lock (the loop of
  rsoft_voucher/tests/test_race.py); a try's time runs from the start of
  its transaction to its commit, restarts included. Each try comes from
  another account (and its own client address), in turn; --duplicates of
  the tries are PINs another redeemer also tries, so that two
  redemptions of one card race. The first --warmup tries of each process
  (its caches filling) are not measured.

Checked independently of the module's code: the rows of the batch
counted in SQL, every CSV row's PIN hashed here (HMAC-SHA256 under the
configured secret) and compared with the stored hash of its serial, no
PIN stored in clear, the PDF's cards counted; after the redemptions the
vouchers redeemed (SQL) equal to the tries that succeeded and to the
distinct PINs tried, each redeemed once (one wallet entry, one history
entry), the wallets credited the face value each, no try locked out.
Prints the time of the generation, p50/p95/p99/max of the tries, the
throughput, the restarts and the machine; exits 1 when a check fails."""
import argparse
import collections
import csv
import hashlib
import hmac
import io
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal

import psycopg
from benchdb import create_database, describe_machine
from pypdf import PdfReader

PIN_SECRET = 'bench-voucher-pin-secret-0123456789'
PASSWORD = 'bench-Export-Password-1'
FACE_VALUE = Decimal('100')
GOAL_GENERATE = 60
GOAL_P95 = 0.050
FAILURES = []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quantity', type=int, default=1_000_000)
    parser.add_argument('--redeemers', type=int, default=20)
    parser.add_argument('--tries', type=int, default=100,
        help="redemptions each redeemer tries, warm-up included")
    parser.add_argument('--warmup', type=int, default=5,
        help="first tries of each redeemer left out of the figures")
    parser.add_argument('--duplicates', type=float, default=0.1,
        help="share of the tries racing another redeemer for its card")
    parser.add_argument('--think', type=float, default=0,
        help="mean seconds a redeemer waits between two tries (0: none, "
        "the saturation point)")
    parser.add_argument('--subscribers', type=int, default=1000)
    parser.add_argument('--uri',
        default='postgresql://postgres@127.0.0.1:5432/')
    parser.add_argument('--database', default='rsoft_bench_vouchers')
    parser.add_argument('--reuse', action='store_true',
        help="keep the database and operator of an earlier run")
    parser.add_argument('--profile',
        help="write the profile (cProfile) of the generation to this file")
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()
    if not args.uri.startswith('postgresql'):
        parser.error('PostgreSQL only: the redeemers need real connections')
    os.environ['TRYTOND_DATABASE__URI'] = args.uri
    dsn = f'{args.uri.rstrip("/")}/{args.database}'

    workdir = tempfile.mkdtemp(prefix='rsoft-bench-vouchers-')
    config = os.path.join(workdir, 'trytond.conf')
    with open(config, 'w') as fd:
        fd.write(f'[database]\nuri = {args.uri}\npath = {workdir}\n'
            f'[rsoft_voucher]\npin_secret = {PIN_SECRET}\n')
    if not (args.reuse and _exists(args)):
        build(config, args)
    start_pool(config, args.database)
    company_id = in_db(args.database, None, company)
    template_id = in_db(args.database, company_id, set_up)
    machine = in_db(args.database, company_id, describe_machine)
    print('machine: ' + ', '.join(f'{k} {v}' for k, v in machine.items())
        + f'; load average {os.getloadavg()[0]:.2f}', flush=True)

    batch_id, seconds, content = generate(args, company_id, template_id)
    rows = verify_generation(args, dsn, batch_id, content)
    print(f'\ngeneration: {args.quantity:,} vouchers in {seconds:.1f} s '
        f'({args.quantity / seconds:,.0f}/s), export {len(content):,} '
        f'bytes; goal <= {GOAL_GENERATE} s: '
        f'{"met" if seconds <= GOAL_GENERATE else "MISSED"}', flush=True)

    latencies, results = redeem(args, config, dsn, company_id, batch_id,
        rows)
    report(args, latencies, results)
    if FAILURES:
        print(f'FAILED: {"; ".join(FAILURES)}')
        sys.exit(1)
    print('all checks passed')


def check(what, ok):
    print(f'  check: {what}: {"ok" if ok else "FAILED"}', flush=True)
    if not ok:
        FAILURES.append(what)
    return ok


def _exists(args):
    with psycopg.connect(f'{args.uri.rstrip("/")}/postgres') as conn:
        return bool(conn.execute(
                'SELECT 1 FROM pg_database WHERE datname = %s',
                (args.database,)).fetchone())


def build(config, args):
    started = time.monotonic()
    create_database(config, args, 'rsoft_voucher')
    from rsoft_tools.generate import Generator

    from proteus import config as pconfig
    pconfig.set_trytond(args.database, config_file=config)
    generator = Generator(args.database, subscribers=args.subscribers,
        seed=args.seed)
    generator.run()
    with psycopg.connect(f'{args.uri.rstrip("/")}/{args.database}',
            autocommit=True) as conn:
        conn.execute('ANALYZE')
    print(f'database: rsoft_voucher activated, {args.subscribers} '
        f'subscribers generated in {time.monotonic() - started:.0f} s',
        flush=True)


def start_pool(config, database):
    from trytond.config import update_etc
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    update_etc(config)
    Pool.start()
    with Transaction().start(database, 0, readonly=True):
        Pool(database).init()


def in_db(database, company_id, func, *args, extras=None, restarts=None):
    """Return func(*args) run in a committed transaction of database,
    started again with the locks it asks for (test_race.py's loop), and
    tried again after a failure to serialize, as trytond's dispatcher
    does ([database] retry times); restarts: a list each restart's cause
    is appended to"""
    from trytond import backend, config
    from trytond.transaction import Transaction, TransactionError
    context = {'company': company_id, '_skip_warnings': True}
    extras = {} if extras is None else extras
    retry, retried = config.getint('database', 'retry'), 0
    for count in range(1, 50):
        try:
            transaction = Transaction().start(database, 0, context=context,
                **extras)
        except backend.DatabaseOperationalError:
            # A row lock the restart asks for is held: wait a little
            time.sleep(0.02 * count)
            if restarts is not None:
                restarts.append('busy')
            continue
        with transaction:
            try:
                result = func(*args)
                transaction.commit()
                return result
            except TransactionError as error:
                transaction.rollback()
                error.fix(extras)
                if restarts is not None:
                    restarts.append('lock')
            except backend.DatabaseOperationalError:
                if retried >= retry:
                    raise
                transaction.rollback()
                retried += 1
                time.sleep(0.02 * retried)
                if restarts is not None:
                    restarts.append('retry')
    raise RuntimeError(f'{func.__name__}: no end after 50 restarts')


def company():
    from trytond.pool import Pool
    Company = Pool().get('company.company')
    return Company.search([], limit=1)[0].id


def set_up():
    """Configure the voucher accounts and return the id of the bench's
    card design, created the first time"""
    from trytond.modules.rsoft_voucher.tests.tools import configure_vouchers
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Company = pool.get('company.company')
    Configuration = pool.get('rsoft.voucher.configuration')
    Template = pool.get('rsoft.voucher.template')
    company = Company(Transaction().context['company'])
    if not Configuration(1).get_multivalue(
            'liability_account', company=company.id):
        configure_vouchers(company)
    templates = Template.search([('name', '=', "Bench Recharge Rs 100")])
    if templates:
        return templates[0].id
    template, = Template.create([{
                'name': "Bench Recharge Rs 100",
                'company': company.id,
                'kind': 'top_up',
                'face_value': FACE_VALUE,
                'partner_price': Decimal('92'),
                'validity': 'activation',
                'validity_days': 365,
                'serial_prefix': 'BR',
                'serial_width': 10,
                }])
    return template.id


# -- generation ------------------------------------------------------------

def generate(args, company_id, template_id):
    "Return the batch id, the seconds and the export of the generation"
    def run():
        from trytond.pool import Pool
        Batch = Pool().get('rsoft.voucher.batch')
        batch, content, _ = Batch.generate(
            template_id, args.quantity, PASSWORD)
        return batch.id, content
    print(f'\ngenerating {args.quantity:,} vouchers...', flush=True)
    profile = None
    if args.profile:
        import cProfile
        profile = cProfile.Profile()
        profile.enable()
    started = time.perf_counter()
    batch_id, content = in_db(args.database, company_id, run)
    seconds = time.perf_counter() - started
    if profile:
        profile.disable()
        profile.dump_stats(args.profile)
        print(f'profile written to {args.profile}')
    return batch_id, seconds, content


def verify_generation(args, dsn, batch_id, content):
    """Check the batch against the tables and its export; return the CSV
    rows"""
    import pyzipper
    started = time.monotonic()
    with pyzipper.AESZipFile(io.BytesIO(content)) as zip_:
        zip_.setpassword(PASSWORD.encode())
        names = zip_.namelist()
        csv_name, = [n for n in names if n.endswith('.csv')]
        rows = list(csv.DictReader(io.StringIO(
                    zip_.read(csv_name).decode())))
        pdfs = [n for n in names if n.endswith('.pdf')]
        pdf = zip_.read(pdfs[0]) if pdfs else b''
    try:
        pyzipper.AESZipFile(io.BytesIO(content)).read(csv_name)
        locked = False
    except RuntimeError:
        locked = True
    with psycopg.connect(dsn) as conn:
        count, hashes, state = conn.execute(
            'SELECT COUNT(*), COUNT(DISTINCT pin_hash), '
            "COUNT(*) FILTER (WHERE state = 'generated') "
            'FROM rsoft_voucher WHERE batch = %s', (batch_id,)).fetchone()
        stored = dict(conn.execute(
                'SELECT serial, pin_hash FROM rsoft_voucher '
                'WHERE batch = %s', (batch_id,)).fetchall())
        pdf_cards, = conn.execute(
            'SELECT pdf_cards FROM rsoft_voucher_batch WHERE id = %s',
            (batch_id,)).fetchone()
        in_clear, = conn.execute(
            'SELECT COUNT(*) FROM rsoft_voucher WHERE pin_hash = ANY(%s)',
            ([r['pin'] for r in rows[:1000]],)).fetchone()
    secret = PIN_SECRET.encode()
    matching = sum(1 for r in rows if stored.get(r['serial'])
        == hmac.new(secret, r['pin'].encode(), hashlib.sha256).hexdigest())
    reader = PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    first = reader.pages[0].extract_text() if pages else ''
    pin = rows[0]['pin']
    grouped = ' '.join(pin[i:i + 4] for i in range(0, len(pin), 4))
    print(f'verified in {time.monotonic() - started:.1f} s:', flush=True)
    check(f'{args.quantity:,} rows in the batch (SQL: {count:,})',
        count == args.quantity)
    check(f'as many distinct PIN hashes ({hashes:,})',
        hashes == args.quantity)
    check('every voucher generated', state == args.quantity)
    check(f'the export locked by the password, {len(rows):,} CSV rows',
        locked and len(rows) == args.quantity)
    check('every CSV PIN hashed here matches the stored hash of its '
        f'serial ({matching:,})', matching == args.quantity)
    check('no PIN stored in clear', in_clear == 0)
    check(f'the PDF sheet holds {pdf_cards:,} cards, ten to a page '
        f'({pages} pages), the first card\'s serial and PIN on the first',
        pages == -(-pdf_cards // 10) and f'Serial: {rows[0]["serial"]}'
        in first and f'PIN: {grouped}' in first)
    return rows


# -- redemption ------------------------------------------------------------

def redeem(args, config, dsn, company_id, batch_id, rows):
    """Allocate and sell the cards the redeemers need, run them; return
    the latencies and the results of the tries"""
    rng = random.Random(args.seed)
    distinct = args.redeemers * args.tries
    if distinct > len(rows):
        sys.exit(f'{distinct} tries need as many vouchers')
    pins = [r['pin'] for r in rows[:distinct]]
    serials = rows[0]['serial'], rows[distinct - 1]['serial']
    started = time.monotonic()
    in_db(args.database, company_id, sell, *serials)
    print(f'\n{distinct:,} vouchers allocated to an LCO and sold in '
        f'{time.monotonic() - started:.1f} s', flush=True)
    with psycopg.connect(dsn) as conn:
        # Accounts not due: a top-up that lands on a due prepaid account
        # renews it, the bill run's work (bench/bill_run.py)
        accounts = [r[0] for r in conn.execute(
                'SELECT id FROM rsoft_subscriber '
                "WHERE state = 'active' AND (next_bill_date IS NULL "
                'OR next_bill_date > CURRENT_DATE) ORDER BY id').fetchall()]
        tries_per_account = -(-distinct // max(len(accounts), 1))
        lockout, = conn.execute(
            'SELECT lockout_tries FROM rsoft_voucher_configuration'
            ).fetchone() or (5,)
    if not accounts or tries_per_account >= lockout:
        sys.exit(f'{len(accounts)} accounts not due: too few for '
            f'{distinct} tries under a lock-out at {lockout} refusals')
    # Redeemer i tries its own PINs; a share of them is replaced by the
    # PIN of another redeemer's try, which the two then race for
    plans = [pins[i * args.tries:(i + 1) * args.tries]
        for i in range(args.redeemers)]
    if args.redeemers > 1:
        for i, plan in enumerate(plans):
            for j in rng.sample(range(args.warmup, args.tries),
                    int(args.duplicates * (args.tries - args.warmup))):
                other = rng.choice([k for k in range(args.redeemers)
                        if k != i])
                plan[j] = plans[other][j]
    tried = {pin for plan in plans for pin in plan}
    jobs = []
    n = 0
    for i, plan in enumerate(plans):
        job = []
        for pin in plan:
            account = accounts[n % len(accounts)]
            job.append((pin, account, f'10.{account // 65536 % 256}.'
                    f'{account // 256 % 256}.{account % 256}'))
            n += 1
        jobs.append(job)

    context = multiprocessing.get_context('spawn')
    barrier = context.Barrier(args.redeemers + 1)
    queue = context.Queue()
    processes = [context.Process(target=redeemer,
            args=(config, args.database, company_id, job, args.think,
                args.seed + i, barrier, queue))
        for i, job in enumerate(jobs)]
    for process in processes:
        process.start()
    barrier.wait()
    load = os.getloadavg()[0]
    started = time.monotonic()
    results = [queue.get() for _ in processes]
    elapsed = time.monotonic() - started
    for process in processes:
        process.join()
    errors = [e for r in results for e in r['errors']]
    tries = [t for r in results for t in r['tries']]
    measured = [t for r in results for t in r['tries'][args.warmup:]]
    latencies = sorted(t[1] for t in measured)
    successes = [t for t in tries if t[2] == 'redeemed']
    print(f'\n{args.redeemers} redeemers, {len(tries):,} tries in '
        f'{elapsed:.1f} s ({len(tries) / elapsed:.1f}/s), think '
        f'{args.think} s; load average at the start {load:.2f}', flush=True)
    check(f'no error ({len(errors)}: {errors[:3]})', not errors)
    with psycopg.connect(dsn) as conn:
        redeemed, = conn.execute(
            'SELECT COUNT(*) FROM rsoft_voucher '
            "WHERE batch = %s AND state = 'redeemed'", (batch_id,)
            ).fetchone()
        twice, = conn.execute(
            'SELECT COUNT(*) FROM (SELECT origin FROM rsoft_wallet_entry '
            "WHERE origin LIKE 'rsoft.voucher,%%' GROUP BY origin "
            'HAVING COUNT(*) > 1) t').fetchone()
        events, = conn.execute(
            'SELECT COUNT(*) FROM (SELECT e.voucher '
            'FROM rsoft_voucher_event e JOIN rsoft_voucher v '
            'ON v.id = e.voucher WHERE v.batch = %s '
            "AND e.to_state = 'redeemed' GROUP BY e.voucher "
            'HAVING COUNT(*) > 1) t', (batch_id,)).fetchone()
        credited, = conn.execute(
            'SELECT COALESCE(SUM(e.amount), 0) FROM rsoft_wallet_entry e '
            'JOIN rsoft_voucher v ON e.origin = '
            "'rsoft.voucher,' || v.id WHERE v.batch = %s", (batch_id,)
            ).fetchone()
        locked, = conn.execute(
            'SELECT COUNT(*) FROM rsoft_voucher_attempt '
            "WHERE result = 'locked'").fetchone()
    check(f'vouchers redeemed (SQL: {redeemed:,}) = tries that succeeded '
        f'({len(successes):,}) = distinct PINs tried ({len(tried):,})',
        redeemed == len(successes) == len(tried))
    check('no voucher with two wallet top-ups', twice == 0)
    check('no voucher redeemed twice in its history', events == 0)
    check(f'the wallets credited Rs {credited} = Rs {FACE_VALUE} a voucher',
        credited == FACE_VALUE * redeemed)
    check('no try locked out', locked == 0)
    return latencies, {'tries': tries, 'elapsed': elapsed,
        'restarts': sum((r['restarts'] for r in results),
            collections.Counter())}


def sell(first, last):
    "Allocate the vouchers first to last to the first LCO and sell them"
    from trytond.pool import Pool
    pool = Pool()
    Partner = pool.get('rsoft.partner')
    Voucher = pool.get('rsoft.voucher')
    lco, = Partner.search([('role', '=', 'lco')], order=[('id', 'ASC')],
        limit=1)
    vouchers = Voucher.in_range(first, last)
    Voucher.allocate(vouchers, lco)
    Voucher.activate(Voucher.browse(vouchers))
    return len(vouchers)


def redeemer(config, database, company_id, job, think, seed, barrier,
        queue):
    "A process redeeming the PINs of job, (PIN, account, address) tuples"
    rng = random.Random(seed)
    tries, errors, restarts = [], [], []
    try:
        start_pool(config, database)
        from trytond.modules.rsoft_voucher.exceptions import RedeemRefused
        from trytond.pool import Pool
        Voucher = Pool(database).get('rsoft.voucher')
    except Exception as exception:
        errors.append(f'start: {exception!r}')
        job = []
    barrier.wait()
    for pin, account, address in job:
        if think:
            time.sleep(rng.expovariate(1 / think))

        def try_():
            return Voucher.redeem(account, pin, source='api',
                ip_address=address).id
        started = time.perf_counter()
        try:
            in_db(database, company_id, try_, restarts=restarts)
            result = 'redeemed'
        except RedeemRefused:
            result = 'refused'
        except Exception as exception:
            result = 'error'
            errors.append(repr(exception))
        tries.append((pin, time.perf_counter() - started, result))
    queue.put({'tries': tries, 'errors': errors,
            'restarts': collections.Counter(restarts)})


def report(args, latencies, results):
    tries = results['tries']
    if not latencies:
        check('tries measured', False)
        return

    def pct(p):
        return latencies[min(len(latencies) - 1,
                int(p / 100 * len(latencies)))] * 1000
    refused = sum(1 for t in tries if t[2] == 'refused')
    restarts = results['restarts']
    p95 = pct(95)
    print(f'\nredemption, {len(latencies):,} tries measured (the first '
        f'{args.warmup} of each redeemer left out): p50 {pct(50):.1f} ms, '
        f'p95 {p95:.1f} ms, p99 {pct(99):.1f} ms, max '
        f'{latencies[-1] * 1000:.1f} ms, mean '
        f'{statistics.mean(latencies) * 1000:.1f} ms; {refused} refused '
        f'(races lost); transactions started again: '
        f'{restarts["lock"]} for a lock, {restarts["busy"]} waiting for '
        f'a locked row, {restarts["retry"]} after a failure to '
        f'serialize; goal p95 <= {GOAL_P95 * 1000:.0f} ms: '
        f'{"met" if p95 <= GOAL_P95 * 1000 else "MISSED"}')


if __name__ == '__main__':
    main()
