"""Measure the CAS outbox: latency at a steady load, drain of a burst

    python bench/cas.py --subscribers 2000 --duration 60 --rate 200 \\
        --burst 100000 --uri postgresql://postgres@127.0.0.1:5432/

Creates (or recreates) the database, activates rsoft_cas, generates N
subscribers with the demo generator (their boxes and cards installed),
then for each driver (simulcrypt against the third-party SimulCrypt MUX,
http_json against the test HTTP CAS; each peer in a process of its own):

- creates a CAS system for the driver, maps every offer to a CAS product
  and points the device models at it, commands every device's full state
  (as at go-live) and lets the dispatcher daemon drain it;
- steady load: for --duration seconds, client processes suspend and
  resume connections through the ORM at --rate changes/s in all, each
  change its own committed transaction (one that fails on the CAS log's
  position, rsoft_cas_log_position_unique, is tried again and counted);
  latency of each command is done_at - queued_at (queued just before the
  commit, done when the CAS acknowledged it);
- burst: enqueues --burst REFRESH commands spread over the devices in one
  transaction (Command.enqueue in slices of ENQUEUE_SLICE rows), then
  times the dispatcher until all are acknowledged;
- simulcrypt only: the phases above run with a MUX that allocates
  --mux-bandwidth kbps (60,000 by default: about 68,000 REFRESH/s of
  room, so the bandwidth does not bound them) and the driver requests as
  much; then a second MUX allocates the driver's default bandwidth (its
  `bandwidth` setting left out) and a burst of --default-burst commands
  is timed again: what an installation that keeps the default gets. The
  bandwidth requested is printed next to every SimulCrypt figure;
- checks: every command acknowledged, the peer received each once and,
  per device, in sequence order, and the CAS log's hash chain verifies.

The dispatcher is `python -m trytond.modules.rsoft_cas.dispatch`, one
process per phase, ready before the phase starts (with --profile, under
cProfile: where its time goes is printed). The CAS tables are vacuumed
before each driver. --reuse skips the database's creation and generation
and removes the CAS systems of earlier runs. Prints the figures and the
machine; exits 1 when a check fails.
"""
import argparse
import collections
import contextlib
import datetime
import math
import multiprocessing
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time

from benchdb import create_database, describe_machine

FAILURES = []
DRIVERS = ['simulcrypt', 'http_json']
TOKEN = 'bench-token'
# kbps the MUX allocates by default: a REFRESH takes about 110 bytes on
# the wire, 2,000 commands/s about 1,800 kbps
MUX_BANDWIDTH = 60000
PENDING = ('queued', 'sent', 'unknown')
# A change that hits this is tried again, at most RETRIES times
LOG_CONFLICT = 'rsoft_cas_log_position_unique'
RETRIES = 10
ENQUEUE_SLICE = 1000
# The codes of the CAS systems the bench creates
BENCH_CODE = '^(SIMULCRYPT|HTTP_JSON)-[0-9]+$'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--subscribers', type=int, default=2000)
    parser.add_argument('--duration', type=float, default=60,
        help="seconds of steady load")
    parser.add_argument('--rate', type=float, default=200,
        help="changes per second of the steady load, all clients")
    parser.add_argument('--clients', type=int,
        default=max(2, min(8, os.cpu_count() or 1)),
        help="processes making the changes")
    parser.add_argument('--burst', type=int, default=100_000,
        help="commands enqueued at once")
    parser.add_argument('--mux-bandwidth', type=int, default=MUX_BANDWIDTH,
        help="kbps the SimulCrypt MUX allocates and the driver requests")
    parser.add_argument('--default-burst', type=int, default=10_000,
        help="commands of the second SimulCrypt burst, at the driver's "
        "default bandwidth (0: skip it)")
    parser.add_argument('--driver', action='append', choices=DRIVERS,
        help="the driver to measure (default: both)")
    parser.add_argument('--batch-size', type=int, default=100,
        help="the CAS system's batch size (commands per request)")
    parser.add_argument('--parallel', type=int, default=1,
        help="drivers the dispatcher runs side by side per system "
        "(http_json only: the MUX simulator takes one connection)")
    parser.add_argument('--profile', action='store_true',
        help="run the dispatcher under cProfile and show where its time "
        "goes")
    parser.add_argument('--reuse', action='store_true',
        help="use the database of an earlier run, without the CAS systems "
        "(and their commands, devices and log) earlier runs created")
    parser.add_argument('--uri',
        default='postgresql://postgres@127.0.0.1:5432/')
    parser.add_argument('--database', default='rsoft_bench_cas')
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()
    drivers = args.driver or DRIVERS

    workdir = tempfile.mkdtemp(prefix='rsoft-bench-')
    config = os.path.join(workdir, 'trytond.conf')
    with open(config, 'w') as fd:
        fd.write(f'[database]\nuri = {args.uri}\npath = {workdir}\n')
    started = time.monotonic()
    if not args.reuse:
        create_database(config, args, 'rsoft_cas')
        print(f'database created, rsoft_cas activated in '
            f'{time.monotonic() - started:.1f} s', flush=True)

    from proteus import config as pconfig
    pconfig.set_trytond(args.database, config_file=config)
    from rsoft_tools.generate import Generator
    generator = Generator(args.database, subscribers=args.subscribers,
        seed=args.seed, billed_lcos=0)
    if not args.reuse:
        started = time.monotonic()
        generator.run()
        print(f'{args.subscribers} subscribers generated with their '
            f'devices in {time.monotonic() - started:.1f} s', flush=True)
    else:
        generator.company_id = None
        generator.company_id, args.subscribers = generator.in_transaction(
            company)
        removed = generator.in_transaction(remove_bench_systems)
        print(f'reusing the database: {args.subscribers} subscribers; '
            f'{removed} CAS systems of earlier runs removed')
    machine = generator.in_transaction(describe_machine)
    print('machine: ' + ', '.join(f'{k} {v}' for k, v in machine.items()))
    print(f'clients: {args.clients} processes; batch size '
        f'{args.batch_size}, {args.parallel} driver(s) per dispatcher')
    if 'simulcrypt' in drivers:
        print(f'SimulCrypt MUX bandwidth: {args.mux_bandwidth} kbps '
            f'requested and allocated; then {default_bandwidth()} kbps '
            f"(the driver's default) for a burst of {args.default_burst}")

    precision = generator.in_transaction(timestamp_precision)
    if precision < 3:
        print(f'WARNING: queued_at and done_at keep {precision} decimals '
            f'of a second: the latencies are that coarse')
    check('the commands keep sub-second timestamps', precision >= 3)

    bench = Bench(args, config, workdir, generator)
    results = {}
    for driver in drivers:
        # Each driver starts from the same tables, without the dead rows
        # of the phases before
        vacuum(args.database)
        results[driver] = bench.run(driver)
    checked, bad, seconds = generator.in_transaction(verify_log)
    print(f'\nCAS log: {checked} entries verified in {seconds:.1f} s'
        + (f', BROKEN: {bad}' if bad else ', every hash matches'))
    check("the CAS log's hash chain verifies", bad is None)
    report(args, machine, results)
    if FAILURES:
        print(f'FAILED: {"; ".join(FAILURES)}')
        sys.exit(1)
    print('all checks passed')


def check(what, ok):
    if not ok:
        FAILURES.append(what)
    return ok


class Bench:
    "The phases of the benchmark, for one driver at a time"

    def __init__(self, args, config, workdir, generator):
        self.args = args
        self.config = config
        self.workdir = workdir
        self.generator = generator
        self.context = multiprocessing.get_context('spawn')
        self.exit_noted = False

    def in_transaction(self, func, *args):
        return self.generator.in_transaction(func, *args)

    def run(self, driver):
        args = self.args
        print(f'\n== {driver} ==', flush=True)
        figures = {}
        # The MUX simulator serves one connection at a time
        parallel = 1 if driver == 'simulcrypt' else args.parallel
        bandwidth = args.mux_bandwidth if driver == 'simulcrypt' else None
        peer = Peer(self.context, driver, bandwidth)
        try:
            system_id, devices = self.in_transaction(
                create_system, driver, peer.settings, peer.credentials,
                args.batch_size, parallel)
            print(f'CAS system {system_id}: {devices} devices, peer '
                f'{peer.address}', flush=True)

            figures['initial'] = self.initial(driver, system_id, peer)
            figures['steady'] = self.steady(driver, system_id, peer)
            figures['burst'] = self.burst(
                driver, system_id, peer, args.burst)
        finally:
            received, extra = peer.stop()
        if driver == 'simulcrypt' and args.default_burst:
            received, extra = self.default_burst(
                driver, system_id, figures, received, extra)
        figures['verify'] = self.verify(driver, system_id, received, extra)
        return figures

    def default_burst(self, driver, system_id, figures, received, extra):
        """Time a burst through a MUX that allocates the driver's default
        bandwidth, the system's bandwidth setting left out; return what
        both peers received"""
        kbps = default_bandwidth()
        print(f"default bandwidth: a MUX allocating {kbps} kbps, the "
            f"driver's default (its 'bandwidth' setting left out)",
            flush=True)
        peer = Peer(self.context, driver, None)
        try:
            self.in_transaction(set_settings, system_id, peer.settings)
            figures['default_burst'] = self.burst(
                driver, system_id, peer, self.args.default_burst,
                bandwidth=kbps)
            figures['default_burst']['bandwidth'] = kbps
        finally:
            more, more_extra = peer.stop()
        # The second burst's sequences follow the first's: in order
        return received + more, {k: extra.get(k, 0) + more_extra.get(k, 0)
            for k in extra.keys() | more_extra.keys()}

    # The dispatcher

    @contextlib.contextmanager
    def dispatcher(self, driver, phase, system_id, peer):
        """Run a dispatcher daemon of system_id, ready when entered

        The dict yielded gets the CPU seconds of dispatcher, peer and
        PostgreSQL while it ran, and the profile's breakdown."""
        command = [sys.executable]
        profile = None
        if self.args.profile:
            profile = os.path.join(
                self.workdir, f'dispatch-{driver}-{phase}.prof')
            command += ['-m', 'cProfile', '-o', profile]
        command += ['-m', 'trytond.modules.rsoft_cas.dispatch',
            '-c', self.config, '-d', self.args.database,
            '--system', str(system_id)]
        self.log = os.path.join(
            self.workdir, f'dispatch-{driver}-{phase}.log')
        with open(self.log, 'w') as log:
            process = subprocess.Popen(command, stdout=log, stderr=log,
                start_new_session=True)
        figures, before = {}, None
        try:
            deadline = time.monotonic() + 60
            while not self.in_transaction(listening, system_id):
                if process.poll() is not None \
                        or time.monotonic() > deadline:
                    raise RuntimeError(
                        f'the dispatcher did not start: see {self.log}')
                time.sleep(0.05)
            before = (cpu_seconds(process.pid), cpu_seconds(peer.pid),
                postgres_cpu())
            self.process = process
            yield figures
        finally:
            if before and process.poll() is None:
                figures['dispatcher_cpu'] = (
                    cpu_seconds(process.pid) - before[0])
                figures['peer_cpu'] = cpu_seconds(peer.pid) - before[1]
                figures['postgres_cpu'] = postgres_cpu() - before[2]
            # SIGINT ends it cleanly: cProfile writes its profile
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait()
            figures['profile'] = breakdown(profile) if profile else None
            with open(self.log) as log:
                lines = log.readlines()
            figures['dispatcher_errors'] = sum(1 for line in lines
                if line.startswith('ERROR:') and 'dispatching' in line)
            figures['dispatcher_conflicts'] = sum(1 for line in lines
                if LOG_CONFLICT in line and not line.startswith('DETAIL'))
            if process.returncode and not self.exit_noted:
                self.exit_noted = True
                print(f'  note: the dispatcher exited with status '
                    f'{process.returncode} on SIGINT: '
                    f'{lines[-1].strip() if lines else ""}')

    def wait(self, system_id, since, timeout):
        """Wait for system_id to have no pending command; return the
        seconds from since (epoch) to the last done_at and what is still
        pending"""
        deadline = time.monotonic() + timeout
        while True:
            pending = self.in_transaction(pending_count, system_id)
            if not pending:
                break
            if self.process.poll() is not None:
                print(f'  the dispatcher died: see {self.log}')
                break
            if time.monotonic() > deadline:
                print(f'  {pending} commands still pending after '
                    f'{timeout:.0f} s')
                break
            time.sleep(0.05)
        last = self.in_transaction(last_done, system_id)
        seconds = (last.timestamp() - since) if last else float('nan')
        return {'seconds': seconds, 'pending': pending}

    def cpu_text(self, figures):
        errors = ''
        if figures.get('dispatcher_errors'):
            errors = (f"; dispatcher passes failed: "
                f"{figures['dispatcher_errors']} (log-position conflicts "
                f"{figures['dispatcher_conflicts']})")
        return (f"CPU seconds: dispatcher "
            f"{figures.get('dispatcher_cpu', 0):.1f}, peer "
            f"{figures.get('peer_cpu', 0):.1f}, PostgreSQL "
            f"{figures.get('postgres_cpu', 0):.1f}" + errors)

    # Go-live

    def initial(self, driver, system_id, peer):
        "Command every device's full state and drain it"
        with self.dispatcher(driver, 'initial', system_id, peer) as figures:
            started = time.time()
            figures['count'] = self.in_transaction(command_all, system_id)
            committed = time.time()
            figures.update(self.wait(system_id, committed,
                    max(120, figures['count'] / 100)))
        figures['enqueue'] = committed - started
        print(f"initial state: {figures['count']} commands computed and "
            f"enqueued in {figures['enqueue']:.1f} s, acked "
            f"{figures['seconds']:.1f} s after the commit; "
            + self.cpu_text(figures), flush=True)
        check(f'{driver}: the initial state drained', not figures['pending'])
        return figures

    # Steady load

    def steady(self, driver, system_id, peer):
        args = self.args
        connections = self.in_transaction(changeable, system_id)
        clients = max(1, min(args.clients, len(connections)))
        print(f'steady load: {args.rate:g} changes/s for '
            f'{args.duration:g} s from {clients} client processes over '
            f'{len(connections)} connections', flush=True)
        barrier = self.context.Barrier(clients + 1)
        start = self.context.Value('d', 0.0)
        queue = self.context.Queue()
        processes = [self.context.Process(target=client, args=(
                    self.config, self.args.database,
                    self.generator.company_id, connections[i::clients],
                    args.rate / clients, args.duration, barrier, start,
                    queue))
            for i in range(clients)]
        for process in processes:
            process.start()
        with self.dispatcher(driver, 'steady', system_id, peer) as figures:
            first = self.in_transaction(last_command)
            # The clients are ready (their pools loaded, slowly on a busy
            # machine): only then is the start set, then they go
            barrier.wait(timeout=300)
            start.value = time.time() + 0.5
            barrier.wait(timeout=60)
            outcomes = [queue.get(timeout=args.duration + 600)
                for _ in processes]
            for process in processes:
                process.join()
            last = self.in_transaction(last_command)
            end = start.value + args.duration
            figures.update(self.wait(system_id, end, 120))
        figures.update(self.in_transaction(
                latencies, system_id, first, last))
        done = sum(o.get('done', 0) for o in outcomes)
        errors = [e for o in outcomes for e in o['errors']]
        conflicts = sum(o.get('conflicts', 0) for o in outcomes)
        cpu = sum(o['cpu'] for o in outcomes)
        figures.update({
                'changes': done,
                'rate': done / args.duration,
                'client_errors': len(errors),
                'conflicts': conflicts,
                'retries': sum(o.get('retries', 0) for o in outcomes),
                'client_cpu': cpu,
                })
        print(f"  {done} changes made: {figures['rate']:.1f} changes/s "
            f"reached (target {args.rate:g}), {cpu / max(done, 1) * 1000:.0f}"
            f" ms of client CPU each; {len(errors)} failed, {conflicts} "
            f"log-position conflicts tried again, {figures['retries']} "
            f"serialization retries")
        for error, times in collections.Counter(errors).most_common(3):
            print(f'  client error x{times}: {error}')
        print(f"  {figures['commands']} commands: {figures['acked']} acked "
            f"{figures['states']}; latency p50 {fmt(figures['p50'])}, p95 "
            f"{fmt(figures['p95'])}, p99 {fmt(figures['p99'])}, max "
            f"{fmt(figures['max'])}")
        print('  ' + self.cpu_text(figures), flush=True)
        show_profile(figures['profile'])
        check(f'{driver}: no change failed', not errors)
        check(f'{driver}: no change hit a log-position conflict',
            not conflicts)
        check(f'{driver}: every steady command acked',
            figures['commands'] and figures['acked'] == figures['commands'])
        return figures

    # Burst

    def burst(self, driver, system_id, peer, count, bandwidth=None):
        if bandwidth is None and driver == 'simulcrypt':
            bandwidth = self.args.mux_bandwidth
        with self.dispatcher(driver, 'burst', system_id, peer) as figures:
            first = self.in_transaction(last_command)
            started = time.time()
            enqueued = self.in_transaction(enqueue_burst, system_id, count)
            committed = time.time()
            last = self.in_transaction(last_command)
            figures.update(self.wait(
                    system_id, committed, max(120, count / 100)))
        figures.update({
                'enqueue': committed - started,
                'count': enqueued,
                'rate': enqueued / figures['seconds'],
                })
        figures.update(self.in_transaction(
                command_states, system_id, first, last))
        at = f' at {bandwidth} kbps of MUX bandwidth' if bandwidth else ''
        print(f"burst{at}: {enqueued} commands enqueued and committed in "
            f"{figures['enqueue']:.1f} s; {figures['acked']} acked in "
            f"{figures['seconds']:.1f} s after the commit: "
            f"{figures['rate']:.0f} commands/s")
        print('  ' + self.cpu_text(figures), flush=True)
        show_profile(figures['profile'])
        check(f'{driver}: every burst command acked',
            figures['acked'] == enqueued)
        return figures

    # Checks

    def verify(self, driver, system_id, received, extra):
        expected = self.in_transaction(acked_keys, system_id)
        counts = collections.Counter(key for key, _, _ in received)
        twice = sum(1 for n in counts.values() if n > 1)
        missing = len(set(expected) - set(counts))
        unexpected = len(set(counts) - set(expected))
        # Out of order: a command received after a later one of its
        # device (repeats of a key are counted above, not here)
        order, examples = 0, []
        highest, seen = {}, set()
        for key, device, sequence in received:
            if key in seen:
                continue
            seen.add(key)
            if sequence < highest.get(device, -1):
                order += 1
                if len(examples) < 3:
                    examples.append(f'{key} after sequence '
                        f'{highest[device]}')
            highest[device] = max(sequence, highest.get(device, -1))
        states = self.in_transaction(state_counts, system_id)
        figures = {
            'commands': sum(states.values()), 'states': states,
            'received': len(received), 'twice': twice,
            'missing': missing, 'unexpected': unexpected,
            'out_of_order': order, **extra,
            }
        print(f"checks: {figures['commands']} commands {dict(states)}; "
            f"peer received {len(received)}, {twice} more than once, "
            f"{missing} acked but not received, {unexpected} unknown, "
            f"{order} out of sequence order"
            + ''.join(f', {k} {v}' for k, v in extra.items()))
        if examples:
            print(f"  out of order, e.g.: {'; '.join(examples)}")
        check(f'{driver}: every command acked',
            set(states) == {'acked'})
        check(f'{driver}: the peer received every acked command',
            not missing and not unexpected)
        check(f'{driver}: the peer received each command once',
            not twice and not extra.get('duplicates'))
        check(f'{driver}: per device in sequence order', not order)
        check(f'{driver}: the peer had no error', not extra.get('errors'))
        return figures


# The peers, each in a process of its own

class Peer:
    "A CAS peer of driver running in a process of its own"

    def __init__(self, context, driver, bandwidth=None):
        """bandwidth: kbps the MUX allocates and the driver requests;
        None: the driver's default, its setting left out"""
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=serve_peer,
            args=(driver, child, bandwidth), daemon=True)
        self.process.start()
        self.settings, self.credentials, self.address = self.pipe.recv()
        self.pid = self.process.pid

    def stop(self):
        "Stop the peer, return what it received"
        self.pipe.send('stop')
        received, extra = self.pipe.recv()
        self.process.join()
        return received, extra


def serve_peer(driver, pipe, bandwidth=None):
    if driver == 'http_json':
        from trytond.modules.rsoft_cas.tests.cas_http_server import (
            CasHttpServer,
        )
        peer = CasHttpServer(TOKEN).start()
        pipe.send(({'url': peer.url, 'auth': 'bearer'},
                {'token': TOKEN}, peer.url))
    else:
        from trytond.modules.rsoft_cas.tests.mux_peer import RecordingMux
        if bandwidth is None:
            peer = RecordingMux(bandwidth=default_bandwidth()).start()
            settings = peer.settings()
            # The driver requests its default
            del settings['bandwidth']
            address = (f'127.0.0.1:{peer.port} ({peer.bandwidth} kbps, '
                "the driver's default)")
        else:
            peer = RecordingMux(bandwidth=bandwidth).start()
            settings = peer.settings(bandwidth=bandwidth)
            address = (f'127.0.0.1:{peer.port} ({bandwidth} kbps requested '
                'and allocated)')
        pipe.send((settings, {}, address))
    pipe.recv()
    peer.stop()
    if driver == 'http_json':
        received = [(c['key'], c.get('device'), c['sequence'])
            for c in peer.applied]
        extra = {'duplicates': sum(peer.duplicates.values())}
    else:
        from trytond.modules.rsoft_cas.drivers.simulcrypt import (
            decode_datagram,
        )
        received = []
        bad = 0
        for datagram in peer.datagrams:
            try:
                message = decode_datagram(datagram)
            except ValueError:
                bad += 1
                continue
            received.append((message['key'], message['device'],
                    message['sequence']))
        extra = {'undecodable': bad, 'errors': len(peer.errors)}
    pipe.send((received, extra))


# The clients of the steady load, each in a process of its own

def client(*args):
    queue = args[-1]
    try:
        queue.put(change_connections(*args[:-1]))
    except BaseException as exception:
        queue.put({'errors': [f'client crashed: {exception!r}'], 'cpu': 0})
        raise


def change_connections(config_file, database, company_id, connections,
        rate, duration, barrier, start):
    """Suspend or resume connections in turn at rate per second, each in
    its own committed transaction, until duration is over"""
    import trytond.config as config
    config.update_etc(config_file)
    from trytond.backend import DatabaseOperationalError
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    pool = Pool(database)
    pool.init()
    Connection = pool.get('rsoft.connection')
    User = pool.get('res.user')
    with Transaction().start(database, 0):
        admin, = User.search([('login', '=', 'admin')])
        user = admin.id
    context = {'company': company_id}

    def change(connection_id):
        with Transaction().start(database, user,
                context=context) as transaction:
            connection = Connection(connection_id)
            if connection.state == 'active':
                Connection.do_suspend([connection], 'customer_request')
            else:
                Connection.resume([connection])
            transaction.commit()

    barrier.wait()
    # The bench sets the start between the two
    barrier.wait()
    begin = start.value
    end = begin + duration
    cpu = time.process_time()
    figures = collections.Counter()
    errors, i = [], 0
    while True:
        due = begin + i / rate
        now = time.time()
        if now >= end or due >= end:
            break
        if due > now:
            time.sleep(due - now)
        connection_id = connections[i % len(connections)]
        i += 1
        for attempt in range(RETRIES + 1):
            try:
                change(connection_id)
                figures['done'] += 1
                break
            except DatabaseOperationalError:
                # Tryton's dispatcher starts such a transaction again
                figures['retries'] += 1
            except Exception as exception:
                text = (f'{exception.__class__.__name__}: '
                    f'{str(exception).splitlines()[0][:200]}')
                if LOG_CONFLICT not in text:
                    errors.append(text)
                    break
                # The log chain's head was read from a stale snapshot
                # (see the report): the change rolled back, try again
                figures['conflicts'] += 1
        else:
            errors.append(text)
    return {**figures, 'errors': errors, 'cpu': time.process_time() - cpu}


# In the bench's transactions

def company():
    "Return the company and the number of subscribers"
    from trytond.pool import Pool
    pool = Pool()
    Company = pool.get('company.company')
    Subscriber = pool.get('rsoft.subscriber')
    return (Company.search([], limit=1)[0].id,
        Subscriber.search_count([('active', 'in', [True, False])]))



def remove_bench_systems():
    """Delete the CAS systems an earlier run of the bench created, with
    their commands, devices, mappings and log chains; return how many"""
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT id FROM rsoft_cas_system WHERE code ~ %s",
        (BENCH_CODE,))
    ids = [i for i, in cursor]
    if ids:
        for table in ['rsoft_cas_log', 'rsoft_cas_command',
                'rsoft_cas_device', 'rsoft_cas_mapping']:
            cursor.execute(f'DELETE FROM "{table}" WHERE system = ANY(%s)',
                (ids,))
        cursor.execute('UPDATE product_template SET cas_system = NULL '
            'WHERE cas_system = ANY(%s)', (ids,))
        cursor.execute('DELETE FROM rsoft_cas_system WHERE id = ANY(%s)',
            (ids,))
    return len(ids)


def timestamp_precision():
    "The decimals of a second kept by rsoft_cas_command's times"
    from trytond import backend
    from trytond.transaction import Transaction
    if backend.name != 'postgresql':
        return 6
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT MIN(datetime_precision) "
        "FROM information_schema.columns WHERE table_name = %s "
        "AND column_name IN ('queued_at', 'done_at')",
        ('rsoft_cas_command',))
    precision, = cursor.fetchone()
    return precision if precision is not None else 6


def vacuum(database):
    "VACUUM ANALYZE the tables of the CAS (PostgreSQL)"
    from trytond import backend
    if backend.name != 'postgresql':
        return
    db = backend.Database(database).connect()
    connection = db.get_connection(autocommit=True)
    try:
        cursor = connection.cursor()
        for table in ['rsoft_cas_command', 'rsoft_cas_log',
                'rsoft_cas_device']:
            cursor.execute(f'VACUUM ANALYZE "{table}"')
    finally:
        db.put_connection(connection)


def default_bandwidth():
    "The kbps the simulcrypt driver requests when its settings say none"
    from trytond.modules.rsoft_cas.drivers.simulcrypt import NUMBERS
    return NUMBERS['bandwidth'][0]


def set_settings(system_id, settings):
    "Point the CAS system at another peer"
    from trytond.pool import Pool
    System = Pool().get('rsoft.cas.system')
    System.write([System(system_id)], {'settings': '\n'.join(
                f'{k} = {v}' for k, v in settings.items())})


def create_system(driver, settings, credentials, batch_size, parallel):
    """Create a CAS system of driver with every offer mapped, make it the
    system of the device models; return its id and the devices'"""
    from trytond.pool import Pool
    pool = Pool()
    System = pool.get('rsoft.cas.system')
    Template = pool.get('product.template')
    Product = pool.get('product.product')
    Lot = pool.get('stock.lot')
    offers = Product.search([('template.rsoft_kind', '!=', None)],
        order=[('id', 'ASC')])
    code = f'{driver.upper()}-{int(time.time())}'
    if parallel > 1:
        settings = {**settings, 'parallel': parallel}
    system, = System.create([{
                'name': f'{driver} bench head-end', 'code': code,
                'driver': driver,
                'settings': '\n'.join(
                    f'{k} = {v}' for k, v in settings.items()),
                'credentials': '\n'.join(
                    f'{k} = {v}' for k, v in credentials.items()),
                'batch_size': batch_size,
                'mappings': [('create', [{
                                'offer': o.id, 'cas_product': f'P{o.id}',
                                } for o in offers])],
                }])
    templates = Template.search([('rsoft_device_kind', '!=', None)])
    Template.write(templates, {'cas_system': system.id})
    devices = Lot.search_count([('product.template', 'in',
                [t.id for t in templates])])
    return system.id, devices


def command_all(system_id):
    "Command the whole state of every device, as at go-live"
    from trytond.pool import Pool
    pool = Pool()
    Lot = pool.get('stock.lot')
    CasDevice = pool.get('rsoft.cas.device')
    lots = Lot.search([
            ('product.template.cas_system', '=', system_id)])
    return len(CasDevice.command(
            CasDevice._targets(lots), priority='bulk'))


def changeable(system_id):
    """Return the connections whose state may go back and forth, with a
    device of system_id"""
    from trytond.pool import Pool
    pool = Pool()
    Connection = pool.get('rsoft.connection')
    CasDevice = pool.get('rsoft.cas.device')
    connections = {d.connection.id for d in CasDevice.search([
                ('system', '=', system_id),
                ('connection', '!=', None),
                ('blacklisted', '=', False),
                ])}
    return [c.id for c in Connection.search([
                ('id', 'in', sorted(connections)),
                ('state', 'in', ['active', 'suspended']),
                ('subscriber.state', '=', 'active'),
                ], order=[('id', 'ASC')])]


def enqueue_burst(system_id, count):
    """Enqueue count REFRESH commands spread over the devices of
    system_id, in sequence order per device; return how many"""
    from sql import Literal

    from trytond.modules.rsoft_toolkit.bulk import BulkWriter
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    System = pool.get('rsoft.cas.system')
    CasDevice = pool.get('rsoft.cas.device')
    Command = pool.get('rsoft.cas.command')
    system = System(system_id)
    table = CasDevice.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(
            table.id, table.address, table.sequence, table.connection,
            where=(table.system == system_id)
            & (table.blacklisted == Literal(False)),
            order_by=[table.id.asc]))
    devices = cursor.fetchall()
    now = datetime.datetime.now()
    rows = []
    sequences = {id_: sequence for id_, _, sequence, _ in devices}
    for i in range(count):
        id_, address, _, connection = devices[i % len(devices)]
        sequences[id_] += 1
        rows.append(Command.row(system, 'refresh', {}, now, 'bulk',
                address=address, sequence=sequences[id_], cas_device=id_,
                connection=connection))
    writer = BulkWriter()
    writer.update(CasDevice, 'sequence', sorted(sequences.items()))
    # enqueue() returns the commands browsed, which costs trytond's
    # ModelStorage.__init__ O(n) each (it checks every id of the list):
    # O(n^2) in all, minutes at 100,000 (see the report). In slices of
    # ENQUEUE_SLICE, in the same transaction, it is linear.
    for i in range(0, len(rows), ENQUEUE_SLICE):
        Command.enqueue(rows[i:i + ENQUEUE_SLICE], writer)
    return len(rows)


def listening(system_id):
    "Whether a dispatcher of system_id holds its lock (it is ready)"
    from trytond.modules.rsoft_cas.dispatch import _LOCK_CLASS
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT COUNT(*) FROM pg_locks "
        "WHERE locktype = 'advisory' AND granted "
        "AND classid = %s AND objid = %s", (_LOCK_CLASS, system_id))
    return bool(cursor.fetchone()[0])


def pending_count(system_id):
    from sql.aggregate import Count

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    table = Pool().get('rsoft.cas.command').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(Count(table.id),
            where=(table.system == system_id)
            & table.state.in_(list(PENDING))))
    return cursor.fetchone()[0]


def last_done(system_id):
    from sql.aggregate import Max

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    table = Pool().get('rsoft.cas.command').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(Max(table.done_at),
            where=table.system == system_id))
    return cursor.fetchone()[0]


def last_command():
    "The id of the last command written"
    from sql.aggregate import Max

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    table = Pool().get('rsoft.cas.command').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(Max(table.id)))
    return cursor.fetchone()[0] or 0


def latencies(system_id, first, last):
    """The latency figures of the commands of system_id with an id after
    first up to last"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    table = Pool().get('rsoft.cas.command').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(
            table.state, table.queued_at, table.done_at,
            where=(table.system == system_id)
            & (table.id > first) & (table.id <= last)))
    states = collections.Counter()
    values = []
    for state, queued, done in cursor:
        states[state] += 1
        if state == 'acked':
            values.append((done - queued).total_seconds())
    values.sort()
    return {
        'commands': sum(states.values()), 'acked': states['acked'],
        'states': dict(states),
        'p50': percentile(values, 50), 'p95': percentile(values, 95),
        'p99': percentile(values, 99),
        'max': values[-1] if values else None,
        }


def command_states(system_id, first, last):
    "The states of the commands of system_id after first up to last"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    table = Pool().get('rsoft.cas.command').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.state,
            where=(table.system == system_id)
            & (table.id > first) & (table.id <= last)))
    states = collections.Counter(s for s, in cursor)
    return {'acked': states['acked'], 'states': dict(states)}


def acked_keys(system_id):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    table = Pool().get('rsoft.cas.command').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.key,
            where=(table.system == system_id) & (table.state == 'acked')))
    return [k for k, in cursor]


def state_counts(system_id):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    table = Pool().get('rsoft.cas.command').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.state,
            where=table.system == system_id))
    return dict(collections.Counter(s for s, in cursor))


def verify_log():
    from trytond.modules.rsoft_cas.log import verify_rows
    from trytond.transaction import Transaction
    started = time.monotonic()
    checked, bad = verify_rows(
        Transaction().connection.cursor(), 'rsoft_cas_log')
    return checked, bad, time.monotonic() - started


# Figures

def percentile(values, rank):
    "The nearest-rank percentile of sorted values"
    if not values:
        return None
    return values[max(0, math.ceil(rank / 100 * len(values)) - 1)]


def fmt(seconds):
    if seconds is None:
        return '-'
    return f'{seconds * 1000:.0f} ms' if seconds < 10 else f'{seconds:.1f} s'


def cpu_seconds(pid):
    "CPU seconds used by process pid and its reaped children so far"
    try:
        with open(f'/proc/{pid}/stat') as fd:
            fields = fd.read().rsplit(')', 1)[1].split()
    except OSError:
        return float('nan')
    return sum(int(f) for f in fields[11:15]) / os.sysconf('SC_CLK_TCK')


def postgres_cpu():
    "CPU seconds used by the PostgreSQL processes seen here"
    total = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/comm') as fd:
                if not fd.read().startswith('postgres'):
                    continue
        except OSError:
            continue
        seconds = cpu_seconds(pid)
        if not math.isnan(seconds):
            total += seconds
    return total


# Where the dispatcher's time goes, from its profile: (label, file, names)
SPOTS = [
    ('run_once, in all', 'rsoft_cas/dispatch.py', ['run_once']),
    ('  collect + resolve unknown', 'rsoft_cas/dispatch.py',
        ['_collect', '_resolve_unknown']),
    ('  pick the batch (SQL)', 'rsoft_cas/dispatch.py', ['_pick']),
    ('  send, in all', 'rsoft_cas/dispatch.py', ['_send']),
    ('    driver submit (+ peer)', 'rsoft_cas/dispatch.py', ['_submit']),
    ('    record the outcomes (SQL)', 'rsoft_cas/dispatch.py',
        ['_record']),
    ('  log append (lock, hash, COPY)', 'rsoft_cas/log.py', ['append']),
    ('    sha256 of the entries', 'rsoft_cas/log.py', ['entry_hash']),
    ('ORM reads (ModelSQL.read)', 'model/modelsql.py', ['read']),
    ('SQL statements (execute)', 'psycopg/cursor.py', ['execute']),
    ('commit', 'trytond/transaction.py', ['commit']),
    ('idle, waiting for NOTIFY', 'rsoft_cas/dispatch.py', ['wait']),
    ]


def breakdown(path):
    "The cumulative seconds of SPOTS in the profile at path"
    try:
        stats = pstats.Stats(path).stats
    except (OSError, TypeError, EOFError):
        return None
    total = max((v[3] for v in stats.values()), default=0)
    spots = []
    for label, filename, names in SPOTS:
        seconds = sum(v[3] for (f, _, n), v in stats.items()
            if f.endswith(filename) and n in names)
        spots.append((label, seconds))
    return {'total': total, 'spots': spots}


def show_profile(profile):
    if not profile:
        return
    print(f"  dispatcher profile ({profile['total']:.1f} s in all):")
    for label, seconds in profile['spots']:
        print(f'    {label:<32} {seconds:7.2f} s')


def report(args, machine, results):
    print('\nmachine: ' + ', '.join(f'{k} {v}' for k, v in machine.items()))
    print(f'{args.subscribers} subscribers; steady {args.rate:g} changes/s '
        f'for {args.duration:g} s from {args.clients} client processes; '
        f'burst {args.burst}; batch size {args.batch_size}')

    def default(key, text):
        def value(r):
            burst = r.get('default_burst')
            return text(burst[key]) if burst else '-'
        return value
    rows = [
        ('MUX bandwidth requested', lambda r: (
                f'{args.mux_bandwidth} kbps'
                if r is results.get('simulcrypt') else '-')),
        ('changes/s reached', lambda r: f"{r['steady']['rate']:.1f}"),
        ('  client CPU per change', lambda r: fmt(
            r['steady']['client_cpu'] / max(r['steady']['changes'], 1))),
        ('  log-position conflicts', lambda r:
            f"{r['steady']['conflicts']}"),
        ('  changes failed', lambda r: f"{r['steady']['client_errors']}"),
        ('steady commands acked/made', lambda r:
            f"{r['steady']['acked']}/{r['steady']['commands']}"),
        ('latency p50', lambda r: fmt(r['steady']['p50'])),
        ('latency p95', lambda r: fmt(r['steady']['p95'])),
        ('latency p99 (goal <= 1 s)', lambda r: fmt(r['steady']['p99'])),
        ('latency max', lambda r: fmt(r['steady']['max'])),
        ('burst enqueue + commit', lambda r:
            f"{r['burst']['enqueue']:.1f} s"),
        ('burst drain', lambda r: f"{r['burst']['seconds']:.1f} s"),
        ('drain rate (goal >= 2,000/s)', lambda r:
            f"{r['burst']['rate']:.0f}/s"),
        ('CPU in the drain: dispatcher', lambda r:
            f"{r['burst'].get('dispatcher_cpu', math.nan):.1f} s"),
        ('                  peer', lambda r:
            f"{r['burst'].get('peer_cpu', math.nan):.1f} s"),
        ('                  PostgreSQL', lambda r:
            f"{r['burst'].get('postgres_cpu', math.nan):.1f} s"),
        ('burst at the default bandwidth', default(
                'bandwidth', lambda kbps: f'{kbps} kbps')),
        ('  commands', default('count', str)),
        ('  drain', default('seconds', lambda s: f'{s:.1f} s')),
        ('  drain rate', default('rate', lambda r: f'{r:.0f}/s')),
        ('received/twice/out of order', lambda r:
            f"{r['verify']['received']}/{r['verify']['twice']}"
            f"/{r['verify']['out_of_order']}"),
        ]
    drivers = list(results)
    width = max(len(r[0]) for r in rows) + 2
    print(''.ljust(width) + ''.join(d.rjust(14) for d in drivers))
    for label, value in rows:
        print(label.ljust(width) + ''.join(
                value(results[d]).rjust(14) for d in drivers))


if __name__ == '__main__':
    main()
