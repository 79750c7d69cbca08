"Bill runs: rate and invoice every due account, in batches, once"
import datetime
import logging
from collections import defaultdict
from decimal import Decimal

from sql import Null
from sql.aggregate import Count, Sum

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.modules.rsoft_catalogue.common import MONEY_DIGITS
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .common import savepoint
from .exceptions import BillRunError
from .profile import BILLING_MODES
from .schedule import CYCLES

logger = logging.getLogger(__name__)

SCOPES = [
    ('all', "All Accounts"),
    ('lco', "One LCO"),
    ('cycle', "One Billing Cycle"),
    ]
STATES = [
    ('draft', "Draft"),
    ('running', "Running"),
    ('done', "Done"),
    ('failed', "Failed"),
    ]
# The accounts a run bills: those that had a service
BILLED_STATES = ['active', 'suspended', 'terminated']
ACCOUNT_STATES = [
    ('pending', "Pending"),
    ('done', "Done"),
    ('failed', "Failed"),
    ]


class BillRun(SystemFieldsMixin, Workflow, ModelSQL, ModelView):
    "Rates and invoices the due accounts of a scope at a date"
    __name__ = 'rsoft.billing.run'
    __string__ = "Bill Run"
    _states = {
        'readonly': Eval('state') != 'draft',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    date = fields.Date(
        "Date", required=True, states=_states,
        help="Accounts are rated up to this date: prepaid ones renew the "
        "periods starting on or before it, postpaid ones are invoiced for "
        "the periods ended before it.")
    scope = fields.Selection(SCOPES, "Scope", required=True, states=_states)
    lco = fields.Many2One(
        'rsoft.partner', "LCO",
        domain=[('role', '=', 'lco')],
        states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('scope') == 'lco',
            'invisible': Eval('scope') != 'lco',
            })
    cycle = fields.Integer(
        "Billing Cycle",
        domain=['OR',
            ('cycle', '=', None),
            ('cycle', 'in', CYCLES),
            ],
        states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('scope') == 'cycle',
            'invisible': Eval('scope') != 'cycle',
            })
    billing_mode = fields.Selection(
        [(None, "")] + BILLING_MODES, "Billing Mode", states=_states,
        help="Bill only the accounts of this billing mode; empty bills "
        "all.")
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    account_count = fields.Integer(
        "Accounts", readonly=True,
        help="The accounts of the run: those due when it was started, and "
        "those found due when it was resumed.")
    done_count = fields.Integer(
        "Accounts Done", readonly=True,
        help="The accounts of the run billed, or found billed, each "
        "counted once.")
    failed_count = fields.Integer(
        "Accounts Failed", readonly=True,
        help="The accounts that could not be billed: resuming the run "
        "tries them again.")
    invoice_count = fields.Integer("Invoices", readonly=True)
    amount = fields.Numeric(
        "Amount Invoiced", digits=MONEY_DIGITS, readonly=True,
        help="The total of the invoices, taxes included.")
    progress = fields.Function(
        fields.Float("Progress", digits=(3, 0)), 'get_progress')
    started_at = fields.Timestamp("Started At", readonly=True)
    finished_at = fields.Timestamp("Finished At", readonly=True)
    errors = fields.Text("Errors", readonly=True)
    charges = fields.One2Many(
        'rsoft.billing.charge', 'bill_run', "Charges", readonly=True)
    accounts = fields.One2Many(
        'rsoft.billing.run.account', 'run', "Accounts", readonly=True,
        help="Each account of the run and what the run made of it.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._system_fields |= {
            'state', 'account_count', 'done_count', 'failed_count',
            'invoice_count', 'amount', 'started_at', 'finished_at', 'errors',
            'charges', 'accounts',
            }
        cls._transitions |= {
            ('draft', 'running'),
            ('running', 'running'),
            ('running', 'done'),
            ('running', 'failed'),
            ('failed', 'running'),
            # A run finished while accounts of its scope are still due
            ('done', 'running'),
            }
        cls._buttons.update({
                'start': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                'resume': {
                    'invisible': ~Eval('state').in_(
                        ['running', 'failed', 'done']),
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_scope(cls):
        return 'all'

    @classmethod
    def default_state(cls):
        return 'draft'

    def get_rec_name(self, name):
        scope = self.lco.rec_name if self.scope == 'lco' and self.lco else (
            self.scope_string)
        return f'{self.date} {scope}'

    scope_string = scope.translated('scope')

    def get_progress(self, name):
        if self.account_count:
            return 100.0 * (
                (self.done_count or 0) + (self.failed_count or 0)
                ) / self.account_count
        return 100.0 if self.state == 'done' else 0.0

    @classmethod
    def check_modification(cls, mode, runs, values=None, external=False):
        super().check_modification(
            mode, runs, values=values, external=external)
        if mode == 'delete':
            for run in runs:
                if run.state != 'draft':
                    raise BillRunError(gettext(
                            'rsoft_billing.msg_run_delete',
                            run=run.rec_name))

    def due_accounts(self):
        "Return the ids of the accounts of the scope due at the date"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        subscriber = Subscriber.__table__()
        cursor = Transaction().connection.cursor()
        where = ((subscriber.company == self.company.id)
            & subscriber.state.in_(BILLED_STATES)
            & (subscriber.billing_anchor != Null)
            & ((subscriber.next_bill_date == Null)
                | (subscriber.next_bill_date <= self.date)))
        if self.scope == 'lco':
            where &= subscriber.lco == self.lco.id
        elif self.scope == 'cycle':
            where &= subscriber.billing_cycle == self.cycle
        if self.billing_mode:
            where &= subscriber.billing_mode == self.billing_mode
        cursor.execute(*subscriber.select(
                subscriber.id, where=where, order_by=subscriber.id))
        return [i for i, in cursor]

    @classmethod
    def bill_prepaid(cls):
        """Cron: renew the prepaid accounts due today, or expire what their
        wallet cannot pay"""
        cls._bill_scheduled('prepaid')

    @classmethod
    def bill_postpaid(cls):
        "Cron: invoice the postpaid accounts whose bill day has come"
        cls._bill_scheduled('postpaid')

    @classmethod
    def _bill_scheduled(cls, billing_mode):
        """Start a run of the accounts of billing_mode due today, in each
        company

        Nothing is started when no account is due or a run of the day is
        still working: run twice a day, the job bills nothing twice."""
        pool = Pool()
        Company = pool.get('company.company')
        Date = pool.get('ir.date')
        context = Transaction().context
        companies = ([Company(context['company'])] if context.get('company')
            else Company.search([]))
        for company in companies:
            with Transaction().set_context(company=company.id):
                today = Date.today()
                if cls.search([
                            ('company', '=', company.id),
                            ('date', '=', today),
                            ('billing_mode', '=', billing_mode),
                            ('state', '=', 'running'),
                            ], limit=1):
                    continue
                run = cls(company=company, date=today, scope='all',
                    billing_mode=billing_mode)
                if not run.due_accounts():
                    continue
                run.save()
                logger.info("scheduled %s bill run %s of %s",
                    billing_mode, run.id, today)
                cls.start([run])

    @classmethod
    @ModelView.button
    @Workflow.transition('running')
    def start(cls, runs):
        cls._launch(runs, reset=True)

    @classmethod
    @ModelView.button
    def resume(cls, runs):
        """Bill what a stopped, crashed or failed run left due

        The run's tasks still queued are cancelled and its accounts not yet
        billed queued again, with those that failed and those of its scope
        found due since: an account is in one task only, and counted once.
        The accounts billed since are no longer due: the tasks skip them,
        and charges already made are not made again.

        A done run is resumed only when an account of its scope is still
        due at its date (a run finished too early); otherwise it stays
        done and its bills are not delivered again."""
        cls._resume([r for r in runs
                if r.state != 'done' or r.due_accounts()])

    @classmethod
    @Workflow.transition('running')
    def _resume(cls, runs):
        cls._launch(runs, reset=False)

    @classmethod
    def _launch(cls, runs, reset):
        pool = Pool()
        Account = pool.get('rsoft.billing.run.account')
        Configuration = pool.get('rsoft.billing.configuration')
        size = Configuration(1).batch_size
        for run in runs:
            # One run at a time per scope: a second one waits here
            cls.lock([run])
            run._cancel_tasks()
            if reset:
                Account.delete(Account.search([('run', '=', run.id)]))
            elif not Account.search([('run', '=', run.id)], limit=1):
                run._enlist_billed()
            ids = run._enlist(run.due_accounts())
            cls.write([run], {
                    'started_at': datetime.datetime.now(),
                    'finished_at': None,
                    })
            cls._recount(run)
            if not ids:
                cls.finish([run])
                continue
            with Transaction().set_context(queue_name='billing'):
                for batch in grouped_slice(ids, size):
                    cls.__queue__.process_batch(run, list(batch))

    def _cancel_tasks(self):
        "Delete the tasks of the run no worker has taken yet"
        Queue = Pool().get('ir.queue')
        tasks = Queue.search([
                ('name', '=', 'billing'),
                ('dequeued_at', '=', None),
                ])
        Queue.delete([t for t in tasks
                if t.data.get('model') == self.__name__
                and t.data.get('method') == 'process_batch'
                and t.data.get('instances') == self.id])

    def _enlist(self, subscriber_ids):
        """Add the accounts of subscriber_ids to the run and make its failed
        accounts pending again; return the accounts to bill, by id"""
        Account = Pool().get('rsoft.billing.run.account')
        accounts = Account.search([('run', '=', self.id)])
        failed = [a for a in accounts if a.state == 'failed']
        if failed:
            Account.write(failed, {'state': 'pending', 'error': None})
        enlisted = {a.subscriber.id for a in accounts}
        Account.create([{'run': self.id, 'subscriber': i}
                for i in subscriber_ids if i not in enlisted])
        pending = {a.subscriber.id for a in accounts
            if a.state in {'pending', 'failed'}}
        return sorted(pending | (set(subscriber_ids) - enlisted))

    def _enlist_billed(self):
        """Record as done the accounts the run invoiced before runs kept
        their accounts, from its charges"""
        pool = Pool()
        Account = pool.get('rsoft.billing.run.account')
        Charge = pool.get('rsoft.billing.charge')
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.invoice.line')
        charge, line = Charge.__table__(), Line.__table__()
        cursor = Transaction().connection.cursor()
        # The invoice lines name no charge: joined from the charges
        cursor.execute(*charge.join(line,
                condition=charge.invoice_line == line.id).select(
                line.invoice, where=charge.bill_run == self.id,
                group_by=[line.invoice]))
        invoices = Invoice.browse([i for i, in cursor])
        billed = defaultdict(list)
        for invoice in invoices:
            billed[invoice.rsoft_subscriber.id].append(invoice)
        Account.create([{
                    'run': self.id,
                    'subscriber': subscriber,
                    'state': 'done',
                    'invoice_count': len(invoices),
                    'amount': sum(i.total_amount for i in invoices),
                    } for subscriber, invoices in billed.items()])

    @classmethod
    def process_batch(cls, run, subscriber_ids):
        """Bill the accounts of one batch of a run

        Called by the queue. The accounts of the batch still pending in the
        run are billed, or recorded done when found billed already, and
        the run's counters computed again from its accounts, in the same
        transaction: a crash loses both or neither, and a task run twice
        counts nothing twice. An account that cannot be billed is recorded
        failed and does not stop the others."""
        pool = Pool()
        Account = pool.get('rsoft.billing.run.account')
        Subscriber = pool.get('rsoft.subscriber')
        if run.state != 'running':
            # A task left from a run finished or resumed since
            return
        accounts = Account.search([
                ('run', '=', run.id),
                ('subscriber', 'in', subscriber_ids),
                ('state', '=', 'pending'),
                ])
        if not accounts:
            return
        subscribers = Subscriber.browse(run.due_accounts_among(
                [a.subscriber.id for a in accounts]))
        try:
            with savepoint('rsoft_bill_batch'):
                invoices = Subscriber.bill(subscribers, run.date, run=run)
            failures = {}
        except UserError:
            invoices, failures = cls._bill_one_by_one(run, subscribers)
        cls._settle(run, accounts, invoices, failures)

    @classmethod
    def _bill_one_by_one(cls, run, subscribers):
        """Bill each account in a savepoint: the failures are rolled back
        alone; return the invoices and the errors by account id"""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        invoices, failures = [], {}
        for subscriber in subscribers:
            try:
                with savepoint('rsoft_bill_account'):
                    invoices.extend(Subscriber.bill(
                            [Subscriber(subscriber.id)], run.date, run=run))
            except UserError as exception:
                failures[subscriber.id] = (
                    f'{subscriber.rec_name}: {exception.message}')
        return invoices, failures

    def due_accounts_among(self, subscriber_ids):
        "Return those of subscriber_ids still due: a rerun skips the others"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        subscribers = Subscriber.search([
                ('id', 'in', subscriber_ids),
                ['OR',
                    ('next_bill_date', '=', None),
                    ('next_bill_date', '<=', self.date),
                    ],
                ])
        return [s.id for s in subscribers]

    @classmethod
    def _settle(cls, run, accounts, invoices, failures):
        """Record what became of the accounts of a batch; finish the run
        when none is pending"""
        pool = Pool()
        Account = pool.get('rsoft.billing.run.account')
        billed = defaultdict(list)
        for invoice in invoices:
            billed[invoice.rsoft_subscriber.id].append(invoice)
        to_write = []
        for account in accounts:
            subscriber = account.subscriber.id
            if subscriber in failures:
                values = {'state': 'failed', 'error': failures[subscriber]}
            elif billed[subscriber]:
                values = {
                    'state': 'done',
                    'invoice_count': len(billed[subscriber]),
                    'amount': sum(
                        (i.total_amount for i in billed[subscriber]),
                        Decimal(0)),
                    }
            else:
                # Found billed by another run: none of its invoices is
                # this run's
                values = {'state': 'done'}
            to_write.extend(([account], values))
        # Workers settling the same account at once fail to write it but
        # one, and the others are run again: they find it settled
        Account.write(*to_write)
        if not cls._recount(run) and cls._claim_finish(run):
            cls.finish([cls(run.id)])

    @classmethod
    def _claim_finish(cls, run):
        """Return whether this transaction finishes run

        The last pending accounts may be settled by two workers at once:
        one update of the row decides which finishes the run, once. Not
        a lock: on SQLite taking one restarts the whole transaction."""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [table.finished_at], [datetime.datetime.now()],
                where=(table.id == run.id) & (table.state == 'running')
                & (table.finished_at == Null)))
        return cursor.rowcount == 1

    @classmethod
    def _recount(cls, run):
        """Compute the run's counters from its accounts; return the number
        of accounts still pending"""
        pool = Pool()
        Account = pool.get('rsoft.billing.run.account')
        account = Account.__table__()
        cursor = Transaction().connection.cursor()
        # Summed by the database: a run has many thousand accounts
        cursor.execute(*account.select(
                account.state, Count(),
                Sum(account.invoice_count), Sum(account.amount),
                where=account.run == run.id,
                group_by=[account.state]))
        figures = {state: (count, invoices or 0, amount or 0)
            for state, count, invoices, amount in cursor}
        done, invoices, amount = figures.get('done', (0, 0, 0))
        failed = figures.get('failed', (0,))[0]
        pending = figures.get('pending', (0,))[0]
        errors = None
        if failed:
            errors = '\n'.join(a.error for a in Account.search([
                        ('run', '=', run.id),
                        ('state', '=', 'failed'),
                        ], order=[('id', 'ASC')]))
        cls.write([run], {
                'account_count': done + failed + pending,
                'done_count': done,
                'failed_count': failed,
                'invoice_count': invoices,
                # SQLite sums numerics as floats
                'amount': run.company.currency.round(Decimal(str(amount))),
                'errors': errors,
                })
        return pending

    @classmethod
    def finish(cls, runs):
        """End runs that have no account pending: failed when an account
        could not be billed, done otherwise"""
        for run in runs:
            state = 'failed' if run.failed_count else 'done'
            cls.write([run], {
                    'state': state,
                    'finished_at': datetime.datetime.now(),
                    })
            logger.info("bill run %s %s: %s invoices, %s failed",
                run.id, state, run.invoice_count, run.failed_count)


class BillRunAccount(ModelSQL, ModelView):
    "An account of a bill run and what the run made of it"
    __name__ = 'rsoft.billing.run.account'
    __string__ = "Bill Run Account"

    run = fields.Many2One(
        'rsoft.billing.run', "Bill Run", required=True, readonly=True,
        ondelete='CASCADE')
    subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber Account", required=True,
        readonly=True, ondelete='RESTRICT')
    state = fields.Selection(
        ACCOUNT_STATES, "State", required=True, readonly=True, sort=False,
        help="Pending until a task of the run bills the account or finds "
        "it billed; failed when it could not be billed.")
    invoice_count = fields.Integer("Invoices", readonly=True)
    amount = fields.Numeric(
        "Amount Invoiced", digits=MONEY_DIGITS, readonly=True,
        help="The total of the account's invoices of the run, taxes "
        "included.")
    error = fields.Text("Error", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # An account is in a run once: the run counts it once
        cls._sql_constraints += [
            ('run_subscriber_unique', Unique(t, t.run, t.subscriber),
                'rsoft_billing.msg_run_account_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.run, Index.Equality()), (t.state, Index.Equality())))

    @classmethod
    def default_state(cls):
        return 'pending'

    @classmethod
    def default_invoice_count(cls):
        return 0

    @classmethod
    def default_amount(cls):
        return Decimal(0)
