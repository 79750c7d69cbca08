"""Measure a bill run: the bulk path in 1 and N processes, the stock path

    python bench/bill_run.py --subscribers 10000 --workers 2 --sample 100 \\
        --uri postgresql://postgres@127.0.0.1:5432/

Creates (or recreates) the database, activates rsoft_billing, generates N
subscribers with the demo generator, makes every account postpaid, billed
monthly on the 1st from the 1st of last month, then copies the database
twice (CREATE DATABASE ... TEMPLATE): the three hold the same accounts,
due for the same work (a third copy, DATABASE_fresh, is kept unbilled:
--reuse starts again from it). Then, from this one run:

- bulk, 1 process: a bill run of the 1st of this month (rsoft_billing's
  real path: rating, then invoices computed in memory and written per
  table) worked by one trytond-worker process, on the database;
- bulk, N processes: the same bill run worked by trytond-worker with
  --workers processes, on the first copy;
- stock Tryton, 1 process: --sample of the same accounts, spread over
  them, billed one at a time through the ORM on the second copy, each in
  its own committed transaction: rated by the same Rater (Charge.create),
  then Invoice.create with its lines, Invoice.update_taxes, Invoice.post,
  the charges linked to the lines, the bill dates moved.

The workers are started and idle before a run is launched; a run's time
is its own started_at to finished_at. Prints invoices/s of each, the
ratios per process (bulk 1 / stock 1) and in total (bulk N / stock 1),
the machine, and checks computed in SQL: one posted invoice per billed
account, the run's amount equal to the invoice totals, the charges equal
to the untaxed amounts, the N-process run equal to the 1-process run
account by account, and the stock invoices equal to the bulk ones of the
same accounts. The copies are dropped at the end. Exits 1 when a check
fails."""
import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time

from benchdb import create_database, describe_machine
from sql.aggregate import Count, Sum

FAILURES = []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--subscribers', type=int, default=10_000)
    parser.add_argument('--workers', type=int, default=2,
        help="trytond-worker processes of the N-process run")
    parser.add_argument('--batch', type=int, default=50,
        help="accounts per task")
    parser.add_argument('--sample', type=int, default=100,
        help="accounts billed through the stock Tryton path")
    parser.add_argument('--uri',
        default='postgresql://postgres@127.0.0.1:5432/')
    parser.add_argument('--database', default='rsoft_bench_bill_run')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--reuse', action='store_true',
        help="start again from DATABASE_fresh, the unbilled copy an "
        "earlier run kept, instead of creating and generating")
    args = parser.parse_args()
    if not args.uri.startswith('postgresql'):
        parser.error('PostgreSQL only: the copies are template databases')

    workdir = tempfile.mkdtemp(prefix='rsoft-bench-')
    config = os.path.join(workdir, 'trytond.conf')
    with open(config, 'w') as fd:
        fd.write(f'[database]\nuri = {args.uri}\npath = {workdir}\n'
            '[queue]\nworker = True\n')
    fresh = f'{args.database}_fresh'
    if not args.reuse:
        started = time.monotonic()
        create_database(config, args, 'rsoft_billing')
        print(f'database created, rsoft_billing activated in '
            f'{time.monotonic() - started:.1f} s', flush=True)

    if not args.reuse:
        from proteus import config as pconfig
        pconfig.set_trytond(args.database, config_file=config)
        from rsoft_tools.generate import Generator
        started = time.monotonic()
        generator = Generator(args.database, subscribers=args.subscribers,
            seed=args.seed, billed_lcos=0)
        generator.run()
        generator.in_transaction(all_postpaid, args.batch)
        print(f'{args.subscribers} subscribers generated in '
            f'{time.monotonic() - started:.1f} s', flush=True)
        bench = Bench(args, config, generator.company_id)
        # Kept unbilled for --reuse
        bench.copy(args.database, [fresh])
    else:
        from trytond.config import update_etc
        from trytond.pool import Pool
        update_etc(config)
        Pool.start()
        bench = Bench(args, config, None)
        bench.copy(fresh, [args.database])
        bench.company_id, count = bench.in_db(args.database, company)
        print(f'reusing {fresh}: {count} subscribers')
    date, due, machine = bench.in_db(args.database, due_accounts)
    print('machine: ' + ', '.join(f'{k} {v}' for k, v in machine.items()))
    step = max(1, len(due) // max(args.sample, 1))
    sample = due[::step][:args.sample]
    print(f'{len(due)} accounts due on {date}; stock sample: {len(sample)} '
        f'of them, one in {step}')

    copy_n = f'{args.database}_n'
    copy_stock = f'{args.database}_stock'
    bench.copy(args.database, [copy_n, copy_stock])
    try:
        one = bench.bulk(args.database, 1)
        many = bench.bulk(copy_n, args.workers)
        stock = bench.stock(copy_stock, sample, date)
        bench.compare(args.database, copy_n, copy_stock, sample)
    finally:
        bench.drop([copy_n, copy_stock])

    print('\nmachine: ' + ', '.join(
            f'{k} {v}' for k, v in machine.items())
        + '; shared: the figures are indicative')
    print(f'{len(due)} postpaid accounts due, batches of {args.batch}')
    rows = [
        ('bulk, 1 process', one),
        (f'bulk, {args.workers} processes', many),
        ('stock Tryton (ORM), 1 process', stock),
        ]
    width = max(len(label) for label, _ in rows) + 2
    for label, figures in rows:
        print(f"{label.ljust(width)}{figures['invoices']:>7} invoices in "
            f"{figures['seconds']:8.1f} s: {figures['rate']:7.2f} "
            f"invoices/s")
    print(f"ratio per process, bulk 1 process / stock 1 process: "
        f"{one['rate'] / stock['rate']:.1f}")
    print(f"ratio in total, bulk {args.workers} processes / stock 1 "
        f"process: {many['rate'] / stock['rate']:.1f}")
    print(f"bulk scaling, {args.workers} processes / 1 process: "
        f"{many['rate'] / one['rate']:.2f}")
    if FAILURES:
        print(f'FAILED: {"; ".join(FAILURES)}')
        sys.exit(1)
    print('all checks passed')


def check(what, ok):
    if not ok:
        FAILURES.append(what)
    return ok


class Bench:

    def __init__(self, args, config, company_id):
        self.args = args
        self.config = config
        self.company_id = company_id
        self.restarts = 0

    def in_db(self, database, func, *args, extras=None):
        """Run func in a committed transaction of database

        Started again with the locks it asks for, as trytond's dispatcher
        does; extras, when given, keeps them for the next calls."""
        from trytond.pool import Pool
        from trytond.transaction import Transaction, TransactionError
        if database not in Pool.database_list():
            with Transaction().start(database, 0, readonly=True):
                Pool(database).init()
        context = {'company': self.company_id, '_skip_warnings': True}
        if extras is None:
            extras = {}
        while True:
            try:
                with Transaction().start(database, 0,
                        context=context, **extras) as transaction:
                    result = func(*args)
                    transaction.commit()
                    return result
            except TransactionError as exception:
                self.restarts += 1
                exception.fix(extras)

    def copy(self, template, names):
        "Copy the database template as names"
        started = time.monotonic()
        # CREATE DATABASE ... TEMPLATE needs the template unused
        close(template, *names)
        for name in names:
            self._dropdb(name)
            subprocess.run(['createdb', '-h', '127.0.0.1', '-U', 'postgres',
                    '-T', template, name], check=True)
        print(f'copied as {", ".join(names)} in '
            f'{time.monotonic() - started:.1f} s', flush=True)

    def drop(self, names):
        close(*names)
        for name in names:
            self._dropdb(name)

    def _dropdb(self, name):
        subprocess.run(['dropdb', '--if-exists', '-h', '127.0.0.1',
                '-U', 'postgres', name], check=True)

    def bulk(self, database, processes):
        "Time the bill run on database worked by processes trytond-workers"
        from rsoft_tools.billrun import launch, show, summary
        run_id = self.in_db(database, create_run)
        log = os.path.join(os.path.dirname(self.config),
            f'worker-{database}.log')
        with open(log, 'w') as fd:
            worker = subprocess.Popen([
                    os.path.join(os.path.dirname(sys.executable),
                        'trytond-worker'),
                    '-c', self.config, '-d', database, '--name', 'billing',
                    '-n', str(processes), '-vv'],
                stdout=fd, stderr=fd,
                # Its pool processes outlive a signal to the parent alone
                start_new_session=True)
        try:
            ready = wait_idle(worker.pid)
            print(f'\nbulk, {processes} process(es), on {database}: '
                f'workers idle after {ready:.1f} s; load average '
                f'{os.getloadavg()[0]:.2f}', flush=True)
            launch(database, run_id)
            waits = collections.Counter()
            while not show(database, run_id, quiet=True):
                waits.update(self.in_db(database, backend_waits))
                time.sleep(0.5)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait()
        state, invoices, amount, failed = summary(database, run_id)
        seconds = self.in_db(database, run_seconds, run_id)
        rate = invoices / seconds
        print(f'\nbill run: {state}, {invoices} invoices, {amount} '
            f'invoiced, {failed} failed, in {seconds:.1f} s with '
            f'{processes} worker process(es): {rate:.2f} invoices/s')
        figures = self.in_db(database, verify, run_id)
        name = f'bulk {processes}'
        check(f'{name}: run done', state == 'done')
        check(f'{name}: no account failed', not failed)
        check(f'{name}: every invoice posted', figures['posted'] == invoices)
        check(f"{name}: the run's amount is the invoices' total",
            figures['total'] == amount)
        check(f'{name}: the charges are the untaxed amounts',
            figures['charges'] == figures['untaxed'])
        check(f'{name}: one invoice per account with a charge',
            figures['accounts'] == invoices)
        print(f'checks (SQL): {figures}', flush=True)
        with open(log) as fd:
            lines = fd.read().splitlines()
        tasks = sum(1 for line in lines if ' ms' in line and '<Task' in line
            and ' in ' in line and 'failed' not in line)
        rescheduled = sum(1 for line in lines if 'retrying' in line)
        failed = sum(1 for line in lines if 'failed after' in line
            and 'retrying' not in line)
        from trytond import config
        retry = config.getint('database', 'retry')
        print(f'worker log: {tasks} tasks done, {rescheduled} given up on '
            f'a database error after {retry} tries and rescheduled (due up '
            f'to {2 * retry} s later; an idle worker looks again after its '
            f'--timeout, 60 s), {failed} failed; see {log}')
        print(f"PostgreSQL, sampled every 0.5 s: {waits['active']} "
            f"backend samples working, {waits['lock']} of them waiting "
            f"for a lock ({100 * waits['lock'] / max(waits['active'], 1):.0f}"
            f"%)")
        return {'invoices': invoices, 'seconds': seconds, 'rate': rate,
            'amount': amount, 'rescheduled': rescheduled}

    def stock(self, database, sample, date):
        """Bill sample through the ORM, one account per committed
        transaction"""
        print(f'\nstock Tryton, 1 process, on {database}: load average '
            f'{os.getloadavg()[0]:.2f}', flush=True)
        invoices = 0
        # Invoice.post asks for locks (the strict sequences, the journal
        # periods) by restarting its transaction: they are kept for the
        # next accounts, as a batch job would, so only the first restarts
        extras, self.restarts = {}, 0
        started = time.monotonic()
        for subscriber_id in sample:
            invoices += self.in_db(
                database, stock_bill, subscriber_id, date, extras=extras)
        seconds = time.monotonic() - started
        rate = invoices / seconds
        print(f'stock path: {len(sample)} accounts, {invoices} invoices '
            f'rated, created and posted one at a time in {seconds:.1f} s: '
            f'{rate:.2f} invoices/s ({self.restarts} transaction restarts '
            f'for locks, locks kept: {extras})', flush=True)
        figures = self.in_db(database, verify_stock, sample)
        check('stock: every invoice posted', figures['posted'] == invoices)
        check('stock: the charges are the untaxed amounts',
            figures['charges'] == figures['untaxed'])
        print(f'checks (SQL): {figures}')
        return {'invoices': invoices, 'seconds': seconds, 'rate': rate}

    def compare(self, database, copy_n, copy_stock, sample):
        "Check that the runs and the stock path made the same invoices"
        one = self.in_db(database, account_totals, None)
        many = self.in_db(copy_n, account_totals, None)
        stock = self.in_db(copy_stock, account_totals, sample)
        sampled = set(sample)
        same = {s: t for s, t in one.items() if s in sampled}
        check('bulk N processes = bulk 1 process, account by account',
            one == many)
        check('stock = bulk on the sample, account by account',
            stock == same)
        print(f'\nchecks (SQL): bulk N = bulk 1 on {len(one)} accounts: '
            f'{one == many}; stock = bulk on {len(stock)} sample accounts: '
            f'{stock == same}')


def close(*names):
    "Close this process's connections to the databases names"
    from trytond import backend
    opened = backend.Database._databases[os.getpid()]
    for name in names:
        if name in opened:
            opened[name].close()


def wait_idle(sid, timeout=120):
    """Wait for the processes of session sid to stop using CPU (started
    and idle); return the seconds waited"""
    started = time.monotonic()
    tick = os.sysconf('SC_CLK_TCK')
    last = None
    while time.monotonic() - started < timeout:
        cpu = 0
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open(f'/proc/{pid}/stat') as fd:
                    fields = fd.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            # fields[3] is the session, [11] and [12] utime and stime
            if int(fields[3]) == sid:
                cpu += (int(fields[11]) + int(fields[12])) / tick
        if last is not None and time.monotonic() - started > 2 \
                and cpu - last < 0.05:
            break
        last = cpu
        time.sleep(1)
    return time.monotonic() - started



def company():
    "Return the company's id and the number of subscribers"
    from trytond.pool import Pool
    pool = Pool()
    Company = pool.get('company.company')
    Subscriber = pool.get('rsoft.subscriber')
    return (Company.search([], limit=1)[0].id,
        Subscriber.search_count([('active', 'in', [True, False])]))


def all_postpaid(batch):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Subscriber = pool.get('rsoft.subscriber')
    Configuration = pool.get('rsoft.billing.configuration')
    table = Subscriber.__table__()
    Transaction().connection.cursor().execute(*table.update(
            [table.billing_mode, table.billing_cycle],
            ['postpaid', 1]))
    Configuration.write([Configuration(1)], {'batch_size': batch})


def backend_waits():
    "Count the other backends of the database working and waiting a lock"
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT COUNT(*) FILTER (WHERE state = 'active'), "
        "COUNT(*) FILTER (WHERE state = 'active' "
        "AND wait_event_type = 'Lock') FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    active, lock = cursor.fetchone()
    return {'active': active, 'lock': lock}


def run_date():
    from trytond.pool import Pool
    return Pool().get('ir.date').today().replace(day=1)


def due_accounts():
    "Return the run's date, the accounts due then and the machine"
    from trytond.pool import Pool
    Run = Pool().get('rsoft.billing.run')
    # A draft run as create_run makes, deleted: its fields' defaults
    run, = Run.create([{'date': run_date()}])
    due = run.due_accounts()
    date = run.date
    Run.delete([run])
    return date, due, describe_machine()


def create_run():
    from trytond.pool import Pool
    Run = Pool().get('rsoft.billing.run')
    run, = Run.create([{'date': run_date()}])
    return run.id


def run_seconds(run_id):
    from trytond.pool import Pool
    run = Pool().get('rsoft.billing.run')(run_id)
    return (run.finished_at - run.started_at).total_seconds()


def stock_bill(subscriber_id, date):
    """Bill an account as stock Tryton would, through the ORM; return the
    number of invoices posted"""
    from trytond.modules.rsoft_billing.charge import Rater
    from trytond.modules.rsoft_billing.invoice import _bill_order
    from trytond.pool import Pool
    pool = Pool()
    Subscriber = pool.get('rsoft.subscriber')
    Charge = pool.get('rsoft.billing.charge')
    Invoice = pool.get('account.invoice')
    Journal = pool.get('account.journal')
    subscriber = Subscriber(subscriber_id)
    Rater(date).rate([subscriber])
    charges = sorted(Charge.search([
                ('subscriber', '=', subscriber.id),
                ('invoice_line', '=', None),
                ]), key=_bill_order)
    posted = 0
    if charges:
        values = Invoice._rsoft_invoice_values(subscriber, charges, date)
        journal = Journal.find({'type': 'revenue'})
        lines = []
        for charge in charges:
            line, taxes = Invoice._rsoft_line_values(charge)
            lines.append({**line, 'type': 'line',
                    'taxes': [('add', [t.id for t in taxes])]})
        invoice, = Invoice.create([{**values,
                    'journal': journal.id if journal else None,
                    'lines': [('create', lines)],
                    }])
        Invoice.update_taxes([invoice])
        Invoice.post([invoice])
        to_write = []
        for charge, line in zip(charges, invoice.lines):
            to_write.extend(([charge], {'invoice_line': line.id}))
        Charge.write(*to_write)
        posted = 1
    Subscriber._set_bill_dates([subscriber], date)
    return posted


def verify(run_id):
    "Return the figures of the run's invoices and charges, summed by SQL"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Invoice = pool.get('account.invoice')
    Line = pool.get('account.invoice.line')
    Charge = pool.get('rsoft.billing.charge')
    invoice, line = Invoice.__table__(), Line.__table__()
    charge = Charge.__table__()
    cursor = Transaction().connection.cursor()
    billed = charge.join(line, condition=charge.invoice_line == line.id
        ).select(line.invoice, where=charge.bill_run == run_id)
    cursor.execute(*invoice.select(
            Count(invoice.id, filter_=invoice.state == 'posted'),
            Sum(invoice.total_amount_cache),
            Sum(invoice.untaxed_amount_cache),
            Count(invoice.rsoft_subscriber, distinct=True),
            where=invoice.id.in_(billed)))
    posted, total, untaxed, accounts = cursor.fetchone()
    cursor.execute(*charge.select(
            Sum(charge.amount), where=charge.bill_run == run_id))
    charges, = cursor.fetchone()
    return {
        'posted': posted, 'total': total, 'untaxed': untaxed,
        'charges': charges, 'accounts': accounts,
        }


def verify_stock(sample):
    "Return the figures of the sample's invoices and charges, by SQL"
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT COUNT(*) FILTER (WHERE i.state = %s), '
        'SUM(i.total_amount_cache), SUM(i.untaxed_amount_cache) '
        'FROM account_invoice i WHERE i.rsoft_subscriber = ANY(%s)',
        ('posted', sample))
    posted, total, untaxed = cursor.fetchone()
    cursor.execute('SELECT SUM(c.amount) FROM rsoft_billing_charge c '
        'JOIN account_invoice_line l ON l.id = c.invoice_line '
        'WHERE c.subscriber = ANY(%s)', (sample,))
    charges, = cursor.fetchone()
    return {'posted': posted, 'total': total, 'untaxed': untaxed,
        'charges': charges}


def account_totals(sample):
    """Return {account: (invoices, untaxed, tax, total, lines)} of the
    posted invoices, of the sample's accounts when given, by SQL"""
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    where = 'i.rsoft_subscriber IS NOT NULL'
    params = ['posted']
    if sample is not None:
        where = 'i.rsoft_subscriber = ANY(%s)'
        params.append(list(sample))
    cursor.execute('SELECT i.rsoft_subscriber, COUNT(*), '
        'SUM(i.untaxed_amount_cache), SUM(i.tax_amount_cache), '
        'SUM(i.total_amount_cache), SUM((SELECT COUNT(*) '
        'FROM account_invoice_line l WHERE l.invoice = i.id)) '
        'FROM account_invoice i WHERE i.state = %s AND ' + where
        + ' GROUP BY i.rsoft_subscriber', params)
    return {row[0]: tuple(row[1:]) for row in cursor}


if __name__ == '__main__':
    main()
