"""Measure portal channel changes: from a request's commit to its CAS
commands acknowledged

    python bench/subscription_change.py --subscribers 1000 --requests 400 \\
        --rate 20 --uri postgresql://postgres@127.0.0.1:5432/

Creates (or, with --reuse, keeps) a PostgreSQL database with rsoft_cas
and rsoft_lco (and all they depend on: the request's change, its CAS
commands, the LCOs' wallets) and generates N subscribers with the demo
generator (boxes and cards installed, the LCOs' wallets opened).
Then, as bench/cas.py does: a CAS system of the reference driver
(simulcrypt) talks to the third-party SimulCrypt MUX in a process of its
own, every offer is mapped and every device model points at it, and the
go-live state of every device is drained by the dispatcher daemon
(`python -m trytond.modules.rsoft_cas.dispatch`, woken by NOTIFY), which
keeps running, as in production, for the measure.

The measure: client processes submit R subscription requests at --rate
in all, each in its own transaction as the portal does
(`rsoft.subscription.request.submit`, source 'portal', as root with the
company in the context, started again when it asks for locked rows): on
R/2 connections, each adds an a-la-carte channel its LCO sells and the
connection lacks (checked beforehand by a preview), then, once all are
added, removes it. A request's latency is from just after its commit (the
client's clock) to the last done_at of its commands (the dispatcher's
clock, on the same machine).

Checks, read from the tables with psycopg (not through the ORM): every
request done, with commands, each acknowledged and of the request's
connection; each added line started on the request's date, each removed
one ended the day before (or was cancelled: added the same day); the MUX
received each command's key. Prints the count and p50/p95/max of the
latencies (and of the submissions, commit included), the machine; exits
1 when a check fails.
"""
import argparse
import collections
import datetime
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

import psycopg
from benchdb import create_database, describe_machine, update_database
from cas import (
    MUX_BANDWIDTH,
    PENDING,
    Peer,
    command_all,
    create_system,
    fmt,
    listening,
    pending_count,
    percentile,
    remove_bench_systems,
)

FAILURES = []
# Requests still waiting for the CAS after this many seconds are late
WAIT = 300
# The LCOs whose wallet holds less are left out of the measure
WALLET_MARGIN = 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--subscribers', type=int, default=1000)
    parser.add_argument('--requests', type=int, default=400,
        help="requests submitted: half add a channel, half remove it")
    parser.add_argument('--rate', type=float, default=20,
        help="requests per second, all clients")
    parser.add_argument('--clients', type=int,
        default=max(2, min(4, os.cpu_count() or 1)),
        help="processes submitting the requests")
    parser.add_argument('--mux-bandwidth', type=int, default=MUX_BANDWIDTH,
        help="kbps the SimulCrypt MUX allocates and the driver requests")
    parser.add_argument('--reuse', action='store_true',
        help="use the database of an earlier run, without the CAS systems "
        "earlier runs of the CAS benches created")
    parser.add_argument('--uri',
        default='postgresql://postgres@127.0.0.1:5432/')
    parser.add_argument('--database', default='rsoft_bench_change')
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()
    if not args.uri.startswith('postgresql'):
        sys.exit('the measure is of PostgreSQL: give a postgresql:// URI')
    # Read when trytond is first imported, before the configuration file
    os.environ['TRYTOND_DATABASE__URI'] = args.uri

    workdir = tempfile.mkdtemp(prefix='rsoft-bench-change-')
    config = os.path.join(workdir, 'trytond.conf')
    with open(config, 'w') as fd:
        fd.write(f'[database]\nuri = {args.uri}\npath = {workdir}\n')
    dsn = f'{args.uri.rstrip("/")}/{args.database}'

    from rsoft_tools.generate import Generator

    from proteus import config as pconfig
    started = time.monotonic()
    if not args.reuse:
        create_database(config, args, 'rsoft_cas')
        update_database(config, args, 'rsoft_lco')
        pconfig.set_trytond(args.database, config_file=config)
        generator = Generator(args.database, subscribers=args.subscribers,
            seed=args.seed, billed_lcos=0)
        generator.run()
        print(f'database created, {args.subscribers} subscribers generated '
            f'with their devices in {time.monotonic() - started:.0f} s',
            flush=True)
    else:
        pconfig.set_trytond(args.database, config_file=config)
        generator = Generator(args.database, seed=args.seed)
        generator.company_id = None
        generator.company_id = generator.in_transaction(company)
        removed = generator.in_transaction(remove_bench_systems)
        print(f'reusing the database; {removed} CAS systems of earlier '
            'runs removed', flush=True)
    machine = generator.in_transaction(describe_machine)

    context = multiprocessing.get_context('spawn')
    peer = Peer(context, 'simulcrypt', args.mux_bandwidth)
    try:
        system_id, devices = generator.in_transaction(create_system,
            'simulcrypt', peer.settings, peer.credentials, 100, 1)
        print(f'CAS system {system_id}: {devices} devices, MUX '
            f'{peer.address}', flush=True)
        with dispatcher(config, args, workdir, generator, system_id):
            count = generator.in_transaction(command_all, system_id)
            if not wait_drained(generator, system_id, max(120, count / 50)):
                sys.exit('the go-live state did not drain')
            print(f'go-live: {count} commands acknowledged', flush=True)
            plans = generator.in_transaction(
                plan, system_id, (args.requests + 1) // 2, args.seed)
            check('enough connections to change',
                len(plans) * 2 >= args.requests)
            print(f'{len(plans)} connections, each to add then remove an '
                f'a-la-carte channel; {args.clients} clients at '
                f'{args.rate:g} requests/s', flush=True)
            results, elapsed = submit_all(
                context, config, args, generator.company_id, plans)
            requests = [r for r in results if r.get('request')]
            wait_acked(dsn, [r['request'] for r in requests])
    finally:
        received, extra = peer.stop()
    report(args, machine, results, elapsed,
        verify(dsn, results, received, extra))
    if FAILURES:
        print(f'FAILED: {"; ".join(FAILURES)}')
        sys.exit(1)
    print('all checks passed')


def check(what, ok):
    if not ok:
        FAILURES.append(what)
    return ok


def company():
    from trytond.pool import Pool
    Company = Pool().get('company.company')
    return Company.search([], limit=1)[0].id


# The dispatcher daemon, as in production

class dispatcher:
    "Run the dispatcher daemon of system_id while in the block"

    def __init__(self, config, args, workdir, generator, system_id):
        self.command = [sys.executable,
            '-m', 'trytond.modules.rsoft_cas.dispatch',
            '-c', config, '-d', args.database, '--system', str(system_id)]
        self.log = os.path.join(workdir, 'dispatch.log')
        self.generator = generator
        self.system_id = system_id

    def __enter__(self):
        with open(self.log, 'w') as log:
            self.process = subprocess.Popen(self.command, stdout=log,
                stderr=log, start_new_session=True)
        deadline = time.monotonic() + 60
        while not self.generator.in_transaction(listening, self.system_id):
            if self.process.poll() is not None \
                    or time.monotonic() > deadline:
                sys.exit(f'the dispatcher did not start: see {self.log}')
            time.sleep(0.05)
        return self.process

    def __exit__(self, *exc):
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait()


def wait_drained(generator, system_id, timeout):
    deadline = time.monotonic() + timeout
    while generator.in_transaction(pending_count, system_id):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


# The changes to make

def plan(system_id, count, seed):
    """Return [(connection id, offer id)] of count connections with a
    device of system_id, each with an a-la-carte channel its LCO sells
    that it lacks and may add: a preview of the change is not refused,
    and its LCO's wallet, if any, holds WALLET_MARGIN"""
    from trytond.modules.rsoft_lco.quote import offers_for
    from trytond.pool import Pool
    pool = Pool()
    CasDevice = pool.get('rsoft.cas.device')
    Connection = pool.get('rsoft.connection')
    Date = pool.get('ir.date')
    Request = pool.get('rsoft.subscription.request')
    today = Date.today()
    ids = sorted({d.connection.id for d in CasDevice.search([
                    ('system', '=', system_id),
                    ('connection', '!=', None),
                    ('blacklisted', '=', False),
                    ])})
    connections = Connection.search([
            ('id', 'in', ids),
            ('state', '=', 'active'),
            ('subscriber.state', '=', 'active'),
            ], order=[('id', 'ASC')])
    random.Random(seed).shuffle(connections)
    offers, plans = {}, []
    for connection in connections:
        if len(plans) >= count:
            break
        lco = connection.subscriber.lco
        # A wallet nearly empty (the demo's Dadar) would refuse the later
        # changes: refusals are not the measure
        if lco.pays_mso and lco.wallet_available < WALLET_MARGIN:
            continue
        if lco not in offers:
            offers[lco] = [p for p, _ in offers_for(lco, today)
                if p.template.rsoft_kind == 'alacarte']
        channels = connection.get_channels(today)
        for offer in offers[lco]:
            if offer.get_offer_channels() & channels:
                continue
            if Request.preview(connection, add=[offer]).state == 'proposed':
                plans.append((connection.id, offer.id))
            break
    return plans


def submit_all(context, config, args, company_id, plans):
    """Submit the adds, then the removes; return each request's figures
    and the seconds the submissions took"""
    clients = max(1, min(args.clients, len(plans)))
    queue = context.Queue()
    barrier = context.Barrier(clients + 1)
    start = context.Value('d', 0.0)
    processes = [context.Process(target=client, args=(
                config, args.database, company_id, plans[i::clients],
                args.rate / clients, barrier, start, queue))
        for i in range(clients)]
    for process in processes:
        process.start()
    # The clients are ready (their pools loaded): then they go together
    barrier.wait(timeout=300)
    start.value = time.time() + 0.5
    barrier.wait(timeout=60)
    results = []
    for _ in processes:
        results.extend(queue.get(timeout=3600))
    for process in processes:
        process.join()
    return results, time.time() - start.value


def client(config_file, database, company_id, plans, rate, barrier, start,
        queue):
    try:
        queue.put(submit(config_file, database, company_id, plans, rate,
                barrier, start))
    except BaseException as exception:
        queue.put([{'error': f'client crashed: {exception!r}'}])
        raise


def submit(config_file, database, company_id, plans, rate, barrier, start):
    """Submit each plan's add, then each plan's remove, at rate per
    second, each request in its own committed transaction"""
    import trytond.config as config
    config.update_etc(config_file)
    from trytond.backend import DatabaseOperationalError
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError
    Pool.start()
    pool = Pool(database)
    pool.init()
    Connection = pool.get('rsoft.connection')
    Product = pool.get('product.product')
    Request = pool.get('rsoft.subscription.request')
    # The portal's routes run as root, scoped to the logged-in party
    context = {'company': company_id}

    def change(connection_id, offer_id, action):
        extras = {}
        for _ in range(10):
            try:
                with Transaction().start(database, 0, context=context,
                        **extras) as transaction:
                    connection = Connection(connection_id)
                    offer = Product(offer_id)
                    request = Request.submit(connection,
                        **{action: [offer]}, source='portal',
                        login=f'bench-{connection_id}',
                        ip_address='198.51.100.7',
                        user_agent='rsoft-bench/1.0')
                    transaction.commit()
                    # The dispatcher writes done_at with the local clock
                    committed = datetime.datetime.now()
                    return (request.id, request.state, request.refusal,
                        committed)
            except TransactionError as error:
                # The connection's row is locked from the start, then
                error.fix(extras)
            except DatabaseOperationalError:
                # Tryton's dispatcher starts such a transaction again
                continue
        raise RuntimeError('too many attempts')

    barrier.wait()
    barrier.wait()
    begin = start.value
    results = []
    steps = [(c, o, 'add') for c, o in plans] + [
        (c, o, 'remove') for c, o in plans]
    for i, (connection_id, offer_id, action) in enumerate(steps):
        due = begin + i / rate
        now = time.time()
        if due > now:
            time.sleep(due - now)
        before = time.perf_counter()
        try:
            request, state, refusal, committed = change(
                connection_id, offer_id, action)
        except Exception as exception:
            results.append({'error': f'{action}: {exception!r}'})
            continue
        results.append({
                'request': request, 'state': state, 'refusal': refusal,
                'action': action, 'connection': connection_id,
                'offer': offer_id, 'committed': committed,
                'submit': time.perf_counter() - before,
                })
    return results


# Reading the outcome from the tables, not through the ORM

def wait_acked(dsn, request_ids):
    "Wait for the commands of the requests to be done, up to WAIT seconds"
    deadline = time.monotonic() + WAIT
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            pending, = conn.execute(
                'SELECT COUNT(*) FROM "rsoft_subscription_request-'
                'rsoft_cas_command" rc JOIN rsoft_cas_command c '
                'ON c.id = rc.command WHERE rc.request = ANY(%s) '
                'AND c.state = ANY(%s)',
                (request_ids, list(PENDING))).fetchone()
            if not pending:
                return
            time.sleep(0.1)
    print(f'  {pending} commands still pending after {WAIT} s')


def verify(dsn, results, received, extra):
    """Check the requests, their commands and lines in the tables; return
    the latencies"""
    errors = [r['error'] for r in results if 'error' in r]
    requests = {r['request']: r for r in results if 'request' in r}
    keys = {key for key, _, _ in received}
    problems = collections.Counter()
    latencies = []
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            'SELECT r.id, r.state, r.connection, r.date, r.cas_command_count, '
            'c.id, c.state, c.done_at, c.connection, c.key '
            'FROM rsoft_subscription_request r '
            'LEFT JOIN "rsoft_subscription_request-rsoft_cas_command" rc '
            'ON rc.request = r.id '
            'LEFT JOIN rsoft_cas_command c ON c.id = rc.command '
            'WHERE r.id = ANY(%s)', (list(requests),)).fetchall()
        commands = collections.defaultdict(list)
        heads = {}
        for (id_, state, connection, date, count,
                command, command_state, done_at, command_connection,
                key) in rows:
            heads[id_] = (state, connection, date, count)
            if command:
                commands[id_].append(
                    (command_state, done_at, command_connection, key))
        for id_, result in requests.items():
            state, connection, date, count = heads[id_]
            mine = commands[id_]
            if state != 'done':
                problems[f'request {state}: {result["refusal"]}'] += 1
                continue
            if not mine or len(mine) != count:
                problems['request without its commands'] += 1
                continue
            if any(s != 'acked' for s, _, _, _ in mine):
                problems['command not acknowledged'] += 1
                continue
            if any(c != connection for _, _, c, _ in mine):
                problems["command of another connection"] += 1
            if any(k not in keys for _, _, _, k in mine):
                problems['command the MUX did not receive'] += 1
            if not line_changed(conn, result, date):
                problems['subscription line not changed'] += 1
            done = max(d for _, d, _, _ in mine)
            latencies.append((done - result['committed']).total_seconds())
    for problem, times in problems.most_common():
        print(f'  {problem}: {times}')
    for error in errors[:5]:
        print(f'  client error: {error}')
    check('no client error', not errors)
    check('every request done, its commands acknowledged and received',
        not problems)
    check('the MUX had no error', not extra.get('errors')
        and not extra.get('undecodable'))
    latencies.sort()
    return {'latencies': latencies, 'problems': sum(problems.values()),
        'errors': len(errors)}


def line_changed(conn, result, date):
    """Whether the request's subscription line started on date (a removal
    after may have cancelled it), or ended the day before (cancelled when
    it started that day)"""
    row = conn.execute(
        'SELECT l.product, l.state, l.start_date, l.end_date '
        'FROM rsoft_subscription_request_line rl '
        'JOIN rsoft_subscription_line l ON l.id = rl.subscription_line '
        'WHERE rl.request = %s', (result['request'],)).fetchone()
    if not row or row[0] != result['offer']:
        return False
    _, state, start, end = row
    if result['action'] == 'add':
        return start == date and state in {'active', 'cancelled'}
    return (state == 'cancelled' and start == date) or (
        end == date - datetime.timedelta(days=1))


def report(args, machine, results, elapsed, figures):
    latencies = figures['latencies']
    submits = sorted(r['submit'] for r in results if 'submit' in r)
    print('\nmachine: ' + ', '.join(f'{k} {v}' for k, v in machine.items()))
    print(f'{args.subscribers} subscribers; {len(submits)} requests '
        f'submitted by {args.clients} clients at {args.rate:g}/s; '
        'dispatcher: simulcrypt, batch size 100, MUX bandwidth '
        f'{args.mux_bandwidth} kbps')
    print(f'{len(submits) / elapsed:.1f} requests/s reached (target '
        f'{args.rate:g}) in {elapsed:.1f} s')
    print(f'submit + commit: p50 {fmt(percentile(submits, 50))}, '
        f'p95 {fmt(percentile(submits, 95))}, '
        f'max {fmt(submits[-1] if submits else None)}')
    print(f'commit -> CAS acknowledged: {len(latencies)} requests, '
        f'p50 {fmt(percentile(latencies, 50))}, '
        f'p95 {fmt(percentile(latencies, 95))}, '
        f'max {fmt(latencies[-1] if latencies else None)}')
    check('every request measured', len(latencies) == len(submits)
        and len(submits) == args.requests)


if __name__ == '__main__':
    main()
