"""Measure the portals under load: the LCO portal's dashboard and search,
the subscriber portal's home and channel pages

    python bench/portal.py --subscribers 100000 --sessions 50 --duration 120
    python bench/portal.py --portal subscriber --reuse --sessions 50

Builds (or, with --reuse, keeps) a PostgreSQL database with every module
up to rsoft_selfcare, generates the demo operator with N subscribers (no
devices: the demo's device load is not sized for it, so searches by
serial are not measured) and a portal login per LCO, serves it with
gunicorn (the production app server, config/gunicorn.conf.py.example) and
opens S sessions, spread over the LCOs, each logged in once and then
asking for its dashboard or a search (by customer ID, mobile or name of
one of its subscribers),
one after the other, waiting between two requests a random time of mean
--think seconds (a clerk reading the page; 0 for the saturation point).

Each answer is checked against the database, read directly (psycopg, not
the portal's code): the dashboard's active count is the LCO subtree's
count of active subscribers, and a search finds the subscriber it was
made for. Prints p50/p95/p99/max per page, the throughput and the errors.

With --portal subscriber, each session is a subscriber (a sample of the
accounts, each given a portal password once) asking for the home page or
the channel page of one of its connections; the home page must show the
account's customer ID and the channel page its connection's offers, the
accounts and connections read from the tables.
"""
import argparse
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict

import psycopg
import requests
from benchdb import create_database, update_database

PASSWORD = 'bench-Portal-Password-1'
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ACTIVE = re.compile(r'data-figure="active"[^>]*>\s*([\d,]+)')
GOAL_P95 = 0.150


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--subscribers', type=int, default=100_000)
    parser.add_argument('--uri',
        default='postgresql://postgres@127.0.0.1:5432/')
    parser.add_argument('--database', default='rsoft_bench_portal')
    parser.add_argument('--reuse', action='store_true',
        help="keep the database of an earlier run")
    parser.add_argument('--sessions', type=int, default=50)
    parser.add_argument('--duration', type=float, default=120,
        help="seconds of measurement, after the logins")
    parser.add_argument('--warmup', type=float, default=30,
        help="seconds of load before the measure: each gunicorn worker "
        "compiles the pages and fills its caches on its first requests")
    parser.add_argument('--think', type=float, default=1.0,
        help="mean seconds a session waits between two requests")
    parser.add_argument('--workers', type=int,
        default=2 * (os.cpu_count() or 1) + 1,
        help="gunicorn worker processes")
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--portal', choices=['lco', 'subscriber'],
        default='lco')
    args = parser.parse_args()
    # Read when trytond is first imported, before the configuration file
    os.environ['TRYTOND_DATABASE__URI'] = args.uri

    workdir = tempfile.mkdtemp(prefix='rsoft-bench-portal-')
    config = os.path.join(workdir, 'trytond.conf')
    with open(config, 'w') as fd:
        fd.write(f'[database]\nuri = {args.uri}\npath = {workdir}\n'
            # Offline: portal logins' e-mail domains checked for syntax
            '[rsoft_selfcare]\ncheck_email_deliverability = False\n'
            # The bench logs in 50 sessions from one address at once
            'max_attempt_ip = 1000\n')
    if not (args.reuse and _exists(args)):
        build(config, args)
    elif args.portal == 'subscriber':
        # A database of an earlier run: with the modules of today
        update_database(config, args, 'rsoft_selfcare')
    dsn = f'{args.uri.rstrip("/")}/{args.database}'
    if args.portal == 'subscriber':
        logins = read_subscribers(config, args, dsn)
    else:
        logins = read_lcos(dsn)
    port = _free_port()
    server = serve(config, args, port)
    try:
        base = (f'http://127.0.0.1:{port}/{args.database}/portal/'
            f'{args.portal}')
        _wait_for(f'{base}/login', server)
        results = load(base, logins, args)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    report(results, args)


def _exists(args):
    with psycopg.connect(f'{args.uri.rstrip("/")}/postgres') as conn:
        return bool(conn.execute(
                'SELECT 1 FROM pg_database WHERE datname = %s',
                (args.database,)).fetchone())


def build(config, args):
    create_database(config, args, 'rsoft_selfcare')
    from rsoft_tools.generate import Generator

    from proteus import config as pconfig
    pconfig.set_trytond(args.database, config_file=config)
    started = time.monotonic()
    # The operator and its reference data, then the subscribers alone (as
    # generate_subscribers.py): the demo's device, billing and CAS loads
    # are sized for a demo, not for 100,000 accounts
    generator = Generator(args.database, subscribers=0, seed=args.seed)
    generator.run()
    generator.subscriber_count = args.subscribers
    generator.load_subscribers(generator.company_id)
    generator.create_lco_users(PASSWORD)
    print(f'database: {args.subscribers} subscribers generated in '
        f'{time.monotonic() - started:.0f} s', file=sys.stderr)
    # The planner's statistics, as autovacuum keeps them in production (it
    # may be off on a test server): without them it expects 500 accounts
    # per LCO and joins the wrong way
    with psycopg.connect(f'{args.uri.rstrip("/")}/{args.database}',
            autocommit=True) as conn:
        conn.execute('ANALYZE')


def read_lcos(dsn):
    """Return {login e-mail: (active count, [search samples])} of each
    LCO with a portal login, read from the tables"""
    lcos = {}
    with psycopg.connect(dsn) as conn:
        users = conn.execute(
            'SELECT u.email, u.rsoft_lco FROM web_user u '
            "WHERE u.rsoft_portal = 'lco' ORDER BY u.email").fetchall()
        for email, lco in users:
            subtree = [r[0] for r in conn.execute(
                    'WITH RECURSIVE t(id) AS (SELECT %s::integer '
                    'UNION SELECT p.id FROM rsoft_partner p '
                    'JOIN t ON p.parent = t.id) SELECT id FROM t',
                    (lco,))]
            active, = conn.execute(
                'SELECT count(*) FROM rsoft_subscriber '
                "WHERE state = 'active' AND lco = ANY(%s)",
                (subtree,)).fetchone()
            samples = conn.execute(
                'SELECT s.customer_id, s.mobile, p.name, '
                '(SELECT l.number FROM rsoft_connection c '
                'JOIN stock_lot l ON l.connection = c.id '
                'WHERE c.subscriber = s.id ORDER BY l.id LIMIT 1) '
                'FROM rsoft_subscriber s JOIN party_party p '
                'ON p.id = s.party WHERE s.lco = ANY(%s) '
                'ORDER BY random() LIMIT 200', (subtree,)).fetchall()
            lcos[email] = (active, samples)
    return lcos


def read_subscribers(config, args, dsn, count=500):
    """Return {customer ID: (None, [connection ids])} of a sample of the
    active accounts with an active connection, each the one account of
    its party, and give each a portal password"""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            'SELECT s.customer_id, s.party, array_agg(c.id ORDER BY c.id) '
            'FROM rsoft_subscriber s JOIN rsoft_connection c '
            "ON c.subscriber = s.id AND c.state = 'active' "
            "WHERE s.state = 'active' AND NOT EXISTS (SELECT 1 FROM "
            'rsoft_subscriber o WHERE o.party = s.party AND o.id != s.id) '
            'GROUP BY s.customer_id, s.party '
            'ORDER BY md5(s.customer_id) LIMIT %s', (count,)).fetchall()
    _set_passwords(config, args, [party for _, party, _ in rows])
    return {customer_id: (None, connections)
        for customer_id, _, connections in rows}


def _set_passwords(config, args, parties):
    "Give the subscriber portal logins of parties the bench's password"
    from trytond.config import update_etc
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    update_etc(config)
    Pool.start()
    pool = Pool(args.database)
    pool.init()
    with Transaction().start(args.database, 0) as transaction:
        WebUser = pool.get('web.user')
        Party = pool.get('party.party')
        users = WebUser.search([
                ('rsoft_portal', '=', 'subscriber'),
                ('password_hash', '!=', None),
                ])
        have = {u.party.id for u in users}
        for party in Party.browse([p for p in parties if p not in have]):
            WebUser.subscriber_login(party).set_portal_password(PASSWORD)
        transaction.commit()


def serve(config, args, port):
    env = dict(os.environ, TRYTOND_CONFIG=config,
        TRYTOND_DATABASE_NAMES=args.database, TRYTOND_LOGGING_LEVEL='40')
    gunicorn = os.path.join(os.path.dirname(sys.executable), 'gunicorn')
    return subprocess.Popen([gunicorn, '--workers', str(args.workers),
            '--bind', f'127.0.0.1:{port}', '--timeout', '120',
            'trytond.application:app'],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _wait_for(url, server, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit('gunicorn stopped')
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    sys.exit(f'no answer on {url}')


class Session(threading.Thread):
    "A clerk of an LCO: logs in, then asks for pages until stopped"

    def __init__(self, base, email, lco, args, results, events, seed):
        super().__init__(daemon=True)
        self.base, self.email = base, email
        self.active, self.samples = lco
        self.args, self.results = args, results
        self.start_event, self.measure_event, self.stop_event = events
        self.random = random.Random(seed)
        self.http = requests.Session()

    def run(self):
        try:
            self.login()
        except Exception as exception:
            self.results['errors'].append(f'login {self.email}: {exception}')
            return
        self.start_event.wait()
        pages = (['home', 'channels'] if self.args.portal == 'subscriber'
            else ['dashboard', 'search'])
        while not self.stop_event.is_set():
            page = self.random.choice(pages)
            self.measure(page, getattr(self, page))
            if self.args.think:
                self.stop_event.wait(
                    self.random.expovariate(1 / self.args.think))

    def login(self):
        if self.args.portal == 'subscriber':
            page = self.http.get(f'{self.base}/login',
                params={'password': 1}, timeout=60)
            data = {'action': 'password', 'login': self.email}
        else:
            page = self.http.get(f'{self.base}/login', timeout=60)
            data = {'email': self.email}
        token = CSRF.search(page.text).group(1)
        response = self.http.post(f'{self.base}/login', data={
                **data, 'password': PASSWORD, 'csrf_token': token},
            timeout=60)
        response.raise_for_status()
        if 'rsoft_portal_session' not in self.http.cookies:
            raise RuntimeError(f'refused ({response.status_code})')

    def measure(self, page, request):
        started = time.perf_counter()
        try:
            response, check = request()
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f'HTTP {response.status_code}')
            check(response.text)
        except Exception as exception:
            self.results['errors'].append(f'{page}: {exception}')
            return
        if self.measure_event.is_set() and not self.stop_event.is_set():
            self.results[page].append(elapsed)

    def dashboard(self):
        def check(text):
            match = ACTIVE.search(text)
            if not match:
                raise RuntimeError('no active figure')
            shown = int(match.group(1).replace(',', ''))
            # Activations during the run are not the bench's: equal
            if shown != self.active:
                raise RuntimeError(f'active {shown} != {self.active}')
        return self.http.get(f'{self.base}/', timeout=60), check

    def search(self):
        customer_id, mobile, name, serial = self.random.choice(self.samples)
        query = self.random.choice(
            [q for q in [customer_id, mobile, name, serial] if q])

        def check(text):
            if customer_id not in text:
                raise RuntimeError(f'{customer_id} not found by {query!r}')
        return self.http.get(f'{self.base}/subscribers',
            params={'q': query}, timeout=60), check


    def home(self):
        def check(text):
            # The login is the customer ID of the account
            if f'{self.email} ' not in text:
                raise RuntimeError(f'{self.email} not on its home page')
        return self.http.get(f'{self.base}/', timeout=60), check

    def channels(self):
        connection = self.random.choice(self.samples)

        def check(text):
            if 'id="preview"' not in text:
                raise RuntimeError(f'no offers of {connection}')
        return self.http.get(f'{self.base}/channels/{connection}',
            timeout=60), check


def load(base, lcos, args):
    results = defaultdict(list)
    start, measure, stop = (threading.Event() for _ in range(3))
    emails = sorted(lcos)
    sessions = [Session(base, emails[i % len(emails)],
            lcos[emails[i % len(emails)]], args, results,
            (start, measure, stop), args.seed + i)
        for i in range(args.sessions)]
    for session in sessions:
        session.start()
        # Logins one after the other: web_user hashes each password
        time.sleep(0.05)
    while any(s.is_alive() and not s.http.cookies for s in sessions):
        time.sleep(0.1)
    start.set()
    time.sleep(args.warmup)
    started = time.monotonic()
    measure.set()
    time.sleep(args.duration)
    stop.set()
    for session in sessions:
        session.join(timeout=120)
    results['elapsed'] = time.monotonic() - started
    return results


def percentile(values, rank):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * rank / 100))]


def report(results, args):
    print(f'machine: {os.cpu_count()} CPUs, {_cpu_model()}, '
        f'Python {sys.version.split()[0]}; gunicorn {args.workers} '
        f'workers, client and PostgreSQL on the same machine')
    print(f'load: {args.sessions} sessions, think time {args.think} s, '
        f'{args.duration:.0f} s measured after {args.warmup:.0f} s of '
        f'warm-up, {args.subscribers} subscribers')
    total = 0
    worst_p95 = 0
    pages = (['home', 'channels'] if args.portal == 'subscriber'
        else ['dashboard', 'search'])
    for page in pages:
        values = results[page]
        total += len(values)
        if not values:
            print(f'{page}: no answer')
            continue
        p95 = percentile(values, 95)
        worst_p95 = max(worst_p95, p95)
        print(f'{page}: {len(values)} requests, '
            f'p50 {statistics.median(values) * 1000:.0f} ms, '
            f'p95 {p95 * 1000:.0f} ms, '
            f'p99 {percentile(values, 99) * 1000:.0f} ms, '
            f'max {max(values) * 1000:.0f} ms')
    print(f'throughput: {total / results["elapsed"]:.1f} requests/s')
    errors = results['errors']
    print(f'errors: {len(errors)}')
    for error in errors[:10]:
        print(f'  {error}')
    goal = 'met' if worst_p95 <= GOAL_P95 and not errors else 'NOT met'
    print(f'goal p95 <= {GOAL_P95 * 1000:.0f} ms and 0 errors: {goal}')


def _cpu_model():
    try:
        with open('/proc/cpuinfo') as fd:
            for line in fd:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return 'unknown CPU'


if __name__ == '__main__':
    main()
