"Bill runs: rate and invoice every due account, in batches, once"
import datetime
import logging

from sql import Null

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.rsoft_catalogue.common import MONEY_DIGITS
from trytond.modules.rsoft_catalogue.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .common import forget, savepoint
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
        "Accounts", readonly=True, help="The accounts due when started.")
    done_count = fields.Integer(
        "Accounts Done", readonly=True)
    failed_count = fields.Integer(
        "Accounts Failed", readonly=True)
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

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._system_fields |= {
            'state', 'account_count', 'done_count', 'failed_count',
            'invoice_count', 'amount', 'started_at', 'finished_at', 'errors',
            'charges',
            }
        cls._transitions |= {
            ('draft', 'running'),
            ('running', 'running'),
            ('running', 'done'),
            ('running', 'failed'),
            ('failed', 'running'),
            }
        cls._buttons.update({
                'start': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                'resume': {
                    'invisible': ~Eval('state').in_(['running', 'failed']),
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
    @Workflow.transition('running')
    def resume(cls, runs):
        """Queue again what a stopped or crashed run did not bill

        The accounts billed since are no longer due: only the others
        are queued, and charges already made are not made again."""
        cls._launch(runs, reset=False)

    @classmethod
    def _launch(cls, runs, reset):
        pool = Pool()
        Configuration = pool.get('rsoft.billing.configuration')
        size = Configuration(1).batch_size
        for run in runs:
            # One run at a time per scope: a second one waits here
            cls.lock([run])
            ids = run.due_accounts()
            values = {'started_at': datetime.datetime.now(),
                'finished_at': None}
            if reset:
                values.update({'account_count': len(ids), 'done_count': 0,
                        'failed_count': 0, 'invoice_count': 0,
                        'amount': 0, 'errors': None})
            else:
                values.update({
                        'account_count': (run.done_count or 0) + len(ids),
                        'failed_count': 0, 'errors': None})
            cls.write([run], values)
            if not ids:
                cls.finish([run])
                continue
            with Transaction().set_context(queue_name='billing'):
                for batch in grouped_slice(ids, size):
                    cls.__queue__.process_batch(run, list(batch))

    @classmethod
    def process_batch(cls, run, subscriber_ids):
        """Bill the accounts of one batch of a run

        Called by the queue. The accounts still due are billed and the
        run's counters moved in the same transaction: a crash loses both
        or neither. An account that cannot be billed is recorded on the
        run and does not stop the others."""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        subscribers = Subscriber.browse(
            run.due_accounts_among(subscriber_ids))
        try:
            with savepoint('rsoft_bill_batch'):
                invoices = Subscriber.bill(subscribers, run.date, run=run)
            failures = []
        except UserError:
            invoices, failures = cls._bill_one_by_one(run, subscribers)
        # The accounts found billed already count as done
        done = len(subscriber_ids) - len(failures)
        cls._count(run, done, len(failures), invoices, failures)

    @classmethod
    def _bill_one_by_one(cls, run, subscribers):
        """Bill each account in a savepoint: the failures are rolled back
        alone"""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        invoices, failures = [], []
        for subscriber in subscribers:
            try:
                with savepoint('rsoft_bill_account'):
                    invoices.extend(Subscriber.bill(
                            [Subscriber(subscriber.id)], run.date, run=run))
            except UserError as exception:
                failures.append(f'{subscriber.rec_name}: {exception.message}')
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
    def _count(cls, run, done, failed, invoices, failures):
        "Add to the run's counters; finish it when every account is counted"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        amount = sum(i.total_amount for i in invoices)
        # An increment, not a write: batches of several workers add up
        cursor.execute(*table.update(
                [table.done_count, table.failed_count, table.invoice_count,
                    table.amount],
                [table.done_count + done, table.failed_count + failed,
                    table.invoice_count + len(invoices),
                    table.amount + amount],
                where=table.id == run.id))
        if failures:
            cls.lock([run])
            cursor.execute(*table.select(
                    table.errors, where=table.id == run.id))
            errors, = cursor.fetchone()
            cursor.execute(*table.update(
                    [table.errors],
                    ['\n'.join(filter(None, [errors] + failures))],
                    where=table.id == run.id))
        forget(cls, [run.id])
        # Read from the table: the counters moved under the ORM's cache
        cursor.execute(*table.select(
                table.done_count + table.failed_count, table.account_count,
                where=table.id == run.id))
        counted, total = cursor.fetchone()
        if counted >= (total or 0):
            cls.finish([cls(run.id)])

    @classmethod
    def finish(cls, runs):
        for run in runs:
            state = 'failed' if run.failed_count else 'done'
            cls.write([run], {
                    'state': state,
                    'finished_at': datetime.datetime.now(),
                    })
            logger.info("bill run %s %s: %s invoices, %s failed",
                run.id, state, run.invoice_count, run.failed_count)


