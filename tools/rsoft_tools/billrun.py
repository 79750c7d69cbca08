"""Launch a bill run and follow it with a progress bar

    python -m rsoft_tools.billrun -c trytond.conf -d DB [--date 2026-12-01]
        [--lco LCO-CODE | --cycle 3] [--wait] [--resume RUN-ID]

The run is queued as tasks on the 'billing' queue. Without --wait, this
process works the tasks itself, one after another; with --wait, it only
shows the progress while trytond-worker daemons (started with
`trytond-worker -c trytond.conf -d DB --name billing`) share them. Killed and
launched again with --resume, the run bills what it had not billed."""
import argparse
import datetime
import sys
import time

BAR = 40


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--date', type=datetime.date.fromisoformat,
        help="the date of the run (default: today)")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument('--lco', help="bill only the accounts of this LCO")
    scope.add_argument('--cycle', type=int,
        help="bill only the accounts of this billing cycle (months)")
    parser.add_argument('--resume', type=int, metavar='RUN_ID',
        help="resume a run stopped or crashed")
    parser.add_argument('--wait', action='store_true',
        help="leave the tasks to trytond-worker and show the progress")
    parser.add_argument('--quiet', action='store_true')
    args = parser.parse_args(argv)

    from trytond.config import update_etc
    update_etc(args.config)
    from trytond.pool import Pool
    Pool.start()
    pool = Pool(args.database)
    pool.init()

    run_id = args.resume or create_run(args)
    tasks = launch(args.database, run_id, resume=bool(args.resume))
    started = time.monotonic()
    if not args.wait:
        for task_id in tasks:
            run_task(pool, task_id)
            if not args.quiet:
                show(args.database, run_id)
    while not show(args.database, run_id, quiet=args.quiet):
        time.sleep(1)
    figures = report(args.database, run_id)
    elapsed = time.monotonic() - started
    print(f'\nbill run {run_id}: {figures["state"]}, '
        f'{figures["invoices"]} invoices, {figures["amount"]} invoiced, '
        f'{figures["done"]} of {figures["accounts"]} accounts done, '
        f'{figures["failed"]} failed, {figures["due"]} still due, '
        f'{elapsed:.1f} s', file=sys.stderr)
    ended = (figures['state'] == 'done' and not figures['due']
        and figures['done'] == figures['accounts'])
    return 0 if ended else 1


def _transaction(database, func, *args):
    """Run func in a committed transaction, started again when it asks or
    when a worker changed the same rows at once"""
    from trytond import backend
    from trytond.config import getint
    from trytond.transaction import Transaction, TransactionError
    extras = {}
    retry = getint('database', 'retry')
    while True:
        try:
            with Transaction().start(database, 0, **extras) as transaction:
                from trytond.pool import Pool
                Company = Pool().get('company.company')
                company, = Company.search([], limit=1)
                with transaction.set_context(company=company.id):
                    result = func(*args)
                transaction.commit()
                return result
        except TransactionError as exception:
            exception.fix(extras)
        except backend.DatabaseOperationalError:
            if not retry:
                raise
            retry -= 1
            time.sleep(0.1)


def create_run(args):
    def create():
        from trytond.pool import Pool
        pool = Pool()
        Run = pool.get('rsoft.billing.run')
        Partner = pool.get('rsoft.partner')
        Date = pool.get('ir.date')
        values = {'date': args.date or Date.today(), 'scope': 'all'}
        if args.lco:
            lco, = Partner.search([('code', '=', args.lco)])
            values.update(scope='lco', lco=lco.id)
        elif args.cycle:
            values.update(scope='cycle', cycle=args.cycle)
        run, = Run.create([values])
        return run.id
    return _transaction(args.database, create)


def launch(database, run_id, resume=False):
    "Start or resume the run; return the ids of the tasks it queued"
    def start():
        from trytond.pool import Pool
        from trytond.transaction import Transaction
        pool = Pool()
        Run = pool.get('rsoft.billing.run')
        Queue = pool.get('ir.queue')
        run = Run(run_id)
        Transaction().tasks.clear()
        if resume:
            Run.resume([run])
        else:
            Run.start([run])
        # Read from the queue, not from the transaction: with [queue]
        # worker = True, the tasks are left to the workers there
        return [t.id for t in Queue.search([
                    ('name', '=', 'billing'),
                    ('dequeued_at', '=', None),
                    ], order=[('id', 'ASC')])
            if t.data.get('model') == 'rsoft.billing.run'
            and t.data.get('method') == 'process_batch'
            and t.data.get('instances') == run_id]
    return _transaction(database, start)


def run_task(pool, task_id):
    from trytond.worker import run_task as worker_run_task
    worker_run_task(pool, task_id)


def summary(database, run_id):
    "Return the state, invoices, amount and failed accounts of the run"
    figures = report(database, run_id)
    return (figures['state'], figures['invoices'], figures['amount'],
        figures['failed'])


def report(database, run_id):
    """Return the figures of the run, with the number of accounts of its
    scope still due: a run is over when none is, but those that failed"""
    def read():
        from trytond.pool import Pool
        run = Pool().get('rsoft.billing.run')(run_id)
        failed = {a.subscriber.id for a in run.accounts
            if a.state == 'failed'}
        return {
            'state': run.state,
            'invoices': run.invoice_count or 0,
            'amount': run.amount or 0,
            'accounts': run.account_count or 0,
            'done': run.done_count or 0,
            'failed': run.failed_count or 0,
            'due': len(set(run.due_accounts()) - failed),
            }
    return _transaction(database, read)


def show(database, run_id, quiet=False):
    "Print the progress bar; return whether the run has ended"
    def read():
        from trytond.pool import Pool
        run = Pool().get('rsoft.billing.run')(run_id)
        return (run.state, run.progress or 0, (run.done_count or 0)
            + (run.failed_count or 0), run.account_count or 0)
    state, progress, counted, total = _transaction(database, read)
    if not quiet:
        filled = int(BAR * progress / 100)
        print(f'\r[{"#" * filled}{"." * (BAR - filled)}] {progress:5.1f}% '
            f'{counted}/{total} accounts', end='', file=sys.stderr,
            flush=True)
    return state in {'done', 'failed'}


if __name__ == '__main__':
    sys.exit(main())
