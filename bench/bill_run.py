"""Measure a bill run: N postpaid accounts rated and invoiced for a month

    python bench/bill_run.py --subscribers 10000 --workers 2 \\
        --uri postgresql://postgres@127.0.0.1:5432/

Creates (or recreates) the database, activates rsoft_billing, generates N
subscribers with the demo generator, makes every account postpaid, billed
monthly on the 1st from the 1st of last month, then times a bill run of
the 1st of this month worked by W trytond-worker processes, and checks it:
one posted invoice per billed account, the run's totals equal to the
invoices', the charges equal to the untaxed amounts. Then it creates and
posts a sample of the same invoices through the stock Tryton path (the ORM,
one invoice at a time, rolled back) and prints both rates and their ratio.
Exits 1 when a check fails."""
import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time

from benchdb import create_database
from sql.aggregate import Count, Sum

FAILURES = []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--subscribers', type=int, default=10_000)
    parser.add_argument('--workers', type=int, default=2,
        help="trytond-worker processes sharing the run")
    parser.add_argument('--batch', type=int, default=50,
        help="accounts per task")
    parser.add_argument('--sample', type=int, default=100,
        help="invoices made again through the stock Tryton path")
    parser.add_argument('--uri',
        default='postgresql://postgres@127.0.0.1:5432/')
    parser.add_argument('--database', default='rsoft_bench_bill_run')
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()

    print(f'machine: {platform.machine()}, nproc {os.cpu_count()}, '
        f'{platform.processor() or platform.platform()}, '
        f'Python {platform.python_version()}')
    workdir = tempfile.mkdtemp(prefix='rsoft-bench-')
    config = os.path.join(workdir, 'trytond.conf')
    with open(config, 'w') as fd:
        fd.write(f'[database]\nuri = {args.uri}\npath = {workdir}\n'
            '[queue]\nworker = True\n')
    started = time.monotonic()
    create_database(config, args, 'rsoft_billing')
    print(f'database created, rsoft_billing activated in '
        f'{time.monotonic() - started:.1f} s')

    from proteus import config as pconfig
    pconfig.set_trytond(args.database, config_file=config)
    from rsoft_tools.billrun import launch, show, summary
    from rsoft_tools.generate import Generator
    started = time.monotonic()
    generator = Generator(args.database, subscribers=args.subscribers,
        seed=args.seed, billed_lcos=0)
    generator.run()
    generator.in_transaction(all_postpaid, args.batch)
    print(f'{args.subscribers} subscribers generated in '
        f'{time.monotonic() - started:.1f} s')

    run_id = generator.in_transaction(create_run)
    workers = [subprocess.Popen([
                os.path.join(os.path.dirname(sys.executable),
                    'trytond-worker'),
                '-c', config, '-d', args.database, '--name', 'billing',
                '-n', str(args.workers)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # Its pool processes outlive a signal to the parent alone
            start_new_session=True)]
    try:
        started = time.monotonic()
        launch(args.database, run_id)
        while not show(args.database, run_id):
            time.sleep(2)
        elapsed = time.monotonic() - started
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait()
    state, invoices, amount, failed = summary(args.database, run_id)
    print(f'\nbill run: {state}, {invoices} invoices, {amount} invoiced, '
        f'{failed} failed, in {elapsed:.1f} s with {args.workers} '
        f'worker(s): {invoices / elapsed:.1f} invoices/s')
    figures = generator.in_transaction(verify, run_id)
    check("run done", state == 'done')
    check("no account failed", not failed)
    check("every invoice posted", figures['posted'] == invoices)
    check("the run's amount is the invoices' total",
        figures['total'] == amount)
    check("the charges are the untaxed amounts",
        figures['charges'] == figures['untaxed'])
    check("one invoice per account with a charge",
        figures['accounts'] == invoices)
    print(f'checks: {figures}')

    stock = generator.in_transaction(stock_path, args.sample)
    rate = invoices / elapsed
    print(f'stock Tryton path: {args.sample} invoices created and posted '
        f'one by one in {stock:.1f} s: {args.sample / stock:.1f} '
        f'invoices/s; bill run / stock = {rate / (args.sample / stock):.2f}')
    if FAILURES:
        print(f'FAILED: {"; ".join(FAILURES)}')
        sys.exit(1)
    print('all checks passed')


def check(what, ok):
    if not ok:
        FAILURES.append(what)


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


def create_run():
    from trytond.pool import Pool
    pool = Pool()
    Run = pool.get('rsoft.billing.run')
    Date = pool.get('ir.date')
    run, = Run.create([{'date': Date.today().replace(day=1)}])
    return run.id


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


def stock_path(sample):
    """Create and post again sample invoices of the run through the ORM,
    one at a time, as stock Tryton does; roll back; return the seconds"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Invoice = pool.get('account.invoice')
    models = Invoice.search([('rsoft_subscriber', '!=', None)],
        limit=sample, order=[('id', 'ASC')])
    started = time.monotonic()
    for model in models:
        invoice, = Invoice.copy([model], default={
                'number': None, 'move': None, 'state': 'draft'})
        Invoice.post([invoice])
    elapsed = time.monotonic() - started
    Transaction().rollback()
    return elapsed


if __name__ == '__main__':
    main()
