"""Dunning of postpaid accounts: reminder, final notice, suspension

Tryton's dunning levels climb as an invoice stays unpaid; a level with a
Pay-TV action notifies the subscriber or suspends the account through its
lifecycle, which commands the CAS. Paying every overdue invoice resumes
the service."""
import datetime
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import fields
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction

# TRAI: 15 days' notice before a disconnection
NOTICE_PERIOD = datetime.timedelta(days=15)
ACTIONS = [
    (None, ""),
    ('reminder', "Reminder"),
    ('final_notice', "Final Notice"),
    ('suspend', "Suspension"),
    ]


class DunningProcedureError(ValidationError):
    pass


def _subscriber(line):
    "Return the account whose invoice line is the receivable line"
    pool = Pool()
    Invoice = pool.get('account.invoice')
    origin = line.move.origin if line.move else None
    if isinstance(origin, Invoice):
        return origin.rsoft_subscriber


def _overdue_lines(invoice, date):
    "Return the receivable lines of invoice unpaid on date"
    return [line for line in invoice.lines_to_pay
        if not line.reconciliation and line.maturity_date
        and line.maturity_date <= date and line.debit > line.credit]


class Procedure(metaclass=PoolMeta):
    __name__ = 'account.dunning.procedure'

    @classmethod
    def validate(cls, procedures):
        super().validate(procedures)
        cls.check_notice_period(procedures)

    @classmethod
    def check_notice_period(cls, procedures):
        "Every suspension comes 15 days or more after its final notice"
        for procedure in procedures:
            notice = None
            for level in procedure.levels:
                if level.rsoft_action == 'final_notice':
                    notice = level
                elif level.rsoft_action == 'suspend':
                    cls._check_notice(procedure, notice, level)
                    notice = None
            if notice:
                raise DunningProcedureError(gettext(
                        'rsoft_payment.msg_dunning_no_suspension',
                        procedure=procedure.rec_name,
                        level=notice.rec_name))

    @classmethod
    def _check_notice(cls, procedure, notice, level):
        if not notice:
            raise DunningProcedureError(gettext(
                    'rsoft_payment.msg_dunning_no_final_notice',
                    procedure=procedure.rec_name, level=level.rec_name))
        if None in {level.overdue, notice.overdue}:
            return
        if level.overdue - notice.overdue < NOTICE_PERIOD:
            raise DunningProcedureError(gettext(
                    'rsoft_payment.msg_dunning_notice_period',
                    procedure=procedure.rec_name,
                    level=level.rec_name, notice=notice.rec_name,
                    days=(level.overdue - notice.overdue).days,
                    minimum=NOTICE_PERIOD.days))


class Level(metaclass=PoolMeta):
    __name__ = 'account.dunning.level'
    rsoft_action = fields.Selection(
        ACTIONS, "Pay-TV Action",
        help="What the level does to a subscriber account when processed: "
        "a reminder or a final notice by SMS and e-mail, or the "
        "suspension of its connections for non-payment.\n"
        "These levels are processed by the daily dunning job.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.overdue.states = {
            **cls.overdue.states,
            'required': Bool(Eval('rsoft_action')),
            }
        cls.overdue.depends |= {'rsoft_action'}

    @classmethod
    def validate(cls, levels):
        pool = Pool()
        Procedure = pool.get('account.dunning.procedure')
        super().validate(levels)
        Procedure.check_notice_period(
            list({level.procedure for level in levels}))

    @property
    def rsoft_suspension(self):
        "The suspension level a final notice announces"
        levels = self.procedure.levels
        for level in levels[levels.index(self) + 1:]:
            if level.rsoft_action == 'suspend':
                return level

    def test(self, line, date):
        result = super().test(line, date)
        if result and self.rsoft_action == 'suspend':
            # Never before the date the final notice announced
            notices = [d.rsoft_disconnection_date for d in line.dunnings
                if d.rsoft_disconnection_date]
            return bool(notices) and date >= min(notices)
        return result


class Dunning(metaclass=PoolMeta):
    __name__ = 'account.dunning'
    rsoft_subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber Account", readonly=True,
        ondelete='RESTRICT',
        help="The account whose invoice is overdue.")
    rsoft_disconnection_date = fields.Date(
        "Disconnection Date", readonly=True,
        help="The date the final notice announced: the account is "
        "suspended on it if still unpaid.")

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        MoveLine = pool.get('account.move.line')
        values = super().preprocess_values(mode, values)
        if (mode == 'create' and values.get('line')
                and 'rsoft_subscriber' not in values):
            subscriber = _subscriber(MoveLine(values['line']))
            values['rsoft_subscriber'] = subscriber.id if subscriber else None
        return values

    @classmethod
    def dun(cls, date=None):
        """Generate the dunnings of date and process the levels with a
        Pay-TV action: the daily job needs no one to press a button"""
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        cls.generate_dunnings(date=date)
        domain = [
            ('state', '=', 'draft'),
            ('blocked', '=', False),
            ('rsoft_subscriber', '!=', None),
            ('level.rsoft_action', '!=', None),
            ]
        company = Transaction().context.get('company')
        if company:
            domain.append(('company', '=', company))
        cls.process(cls.search(domain), date=date)

    @classmethod
    def process(cls, dunnings, date=None):
        "Process dunnings, on date when given, and act on the accounts"
        processed = [d for d in dunnings
            if not d.blocked and d.state == 'draft']
        super().process(dunnings)
        if date and processed:
            cls.write(processed, {'date': date})
        cls._rsoft_act(cls.browse([d for d in processed
                    if d.level.rsoft_action and d.rsoft_subscriber]))

    @classmethod
    def _rsoft_act(cls, dunnings):
        by_action = defaultdict(lambda: defaultdict(list))
        for dunning in dunnings:
            by_action[dunning.level.rsoft_action][
                dunning.rsoft_subscriber].append(dunning)
        cls._rsoft_notify('dunning_reminder', by_action['reminder'])
        # Only a running service is given notice and disconnected
        notices = {s: d for s, d in by_action['final_notice'].items()
            if s.state == 'active'}
        cls._rsoft_give_notice(notices)
        cls._rsoft_notify('dunning_final_notice', notices)
        suspensions = {s: d for s, d in by_action['suspend'].items()
            if s.state == 'active'}
        cls._rsoft_suspend(suspensions)
        cls._rsoft_notify('dunning_suspension', suspensions)

    @classmethod
    def _rsoft_give_notice(cls, accounts):
        "Set the disconnection date the final notice announces"
        dunnings = [d for ds in accounts.values() for d in ds]
        for dunning in dunnings:
            level = dunning.level
            suspension = level.rsoft_suspension
            dunning.rsoft_disconnection_date = (
                dunning.date + (suspension.overdue - level.overdue))
        cls.save(dunnings)

    @classmethod
    def _rsoft_suspend(cls, accounts):
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        for subscriber, dunnings in accounts.items():
            note = gettext('rsoft_payment.msg_dunning_suspension_note',
                invoices=', '.join(sorted(
                        d.line.move.origin.number for d in dunnings)))
            Subscriber.do_suspend([subscriber], 'non_payment', note,
                max(d.date for d in dunnings))

    @classmethod
    def _rsoft_notify(cls, event, accounts):
        pool = Pool()
        Notification = pool.get('rsoft.notify.notification')
        for subscriber, dunnings in accounts.items():
            dunnings = sorted(dunnings, key=lambda d: (d.maturity_date, d.id))
            date = max(d.date for d in dunnings)
            disconnection_dates = [d.rsoft_disconnection_date
                for d in dunnings if d.rsoft_disconnection_date]
            values = subscriber._dunning_values(
                date, min(disconnection_dates, default=None))
            Notification.notify(
                event, subscriber.party, values, origin=dunnings[0],
                email=subscriber.email, mobile=subscriber.mobile)

    @classmethod
    def rsoft_resume_paid(cls, subscribers, date):
        """Resume the accounts suspended for non-payment that owe nothing
        overdue any more, from date or their suspension if later"""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        Event = pool.get('rsoft.subscriber.event')
        Notification = pool.get('rsoft.notify.notification')
        subscribers = [s for s in subscribers
            if s.state == 'suspended' and s.suspension_reason == 'non_payment'
            and s.billing_mode == 'postpaid'
            and not s._overdue_invoices(date)]
        for subscriber in subscribers:
            suspensions = Event.search([
                    ('subscriber', '=', subscriber.id),
                    ('connection', '=', None),
                    ('kind', '=', 'state'),
                    ('after', '=', 'suspended'),
                    ], order=[('date', 'DESC'), ('id', 'DESC')], limit=1)
            day = max([date] + [e.date for e in suspensions])
            # Paid, the dunnings are inactive
            with Transaction().set_context(active_test=False):
                dunnings = cls.search([
                        ('rsoft_subscriber', '=', subscriber.id),
                        ('level.rsoft_action', '=', 'suspend'),
                        ], order=[('id', 'DESC')], limit=1)
            Subscriber.resume([subscriber], day)
            values = subscriber._dunning_values(day)
            Notification.notify(
                'service_resumed', subscriber.party, values,
                origin=dunnings[0] if dunnings else subscriber,
                email=subscriber.email, mobile=subscriber.mobile)


class MoveLine(metaclass=PoolMeta):
    __name__ = 'account.move.line'

    @property
    def dunning_procedure(self):
        # A prepaid account is never dunned: its wallet pays or it expires
        subscriber = _subscriber(self)
        if subscriber:
            if subscriber.billing_mode != 'postpaid':
                return None
            if subscriber.lco and subscriber.lco.dunning_procedure:
                return subscriber.lco.dunning_procedure
        return super().dunning_procedure


class Reconciliation(metaclass=PoolMeta):
    __name__ = 'account.move.reconciliation'

    @classmethod
    def on_modification(cls, mode, reconciliations, field_names=None):
        pool = Pool()
        Dunning = pool.get('account.dunning')
        super().on_modification(
            mode, reconciliations, field_names=field_names)
        if mode != 'create':
            return
        # Whoever settles the invoices, the service comes back when paid
        by_date = defaultdict(set)
        for reconciliation in reconciliations:
            for line in reconciliation.lines:
                if line.account.type and line.account.type.receivable:
                    subscriber = _subscriber(line)
                    if subscriber:
                        by_date[reconciliation.date].add(subscriber)
        for date, subscribers in sorted(by_date.items()):
            Dunning.rsoft_resume_paid(list(subscribers), date)


class Partner(metaclass=PoolMeta):
    __name__ = 'rsoft.partner'
    dunning_procedure = fields.Many2One(
        'account.dunning.procedure', "Dunning Procedure",
        ondelete='RESTRICT',
        states={
            'invisible': Eval('role') != 'lco',
            },
        help="How the overdue invoices of the LCO's postpaid accounts are "
        "dunned; empty for the customer's or the accounting default.")


class Subscriber(metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber'
    dunnings = fields.One2Many(
        'account.dunning', 'rsoft_subscriber', "Dunnings", readonly=True,
        help="The overdue invoices of the account and their dunning level.")

    @classmethod
    def copy(cls, subscribers, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('dunnings')
        return super().copy(subscribers, default=default)

    def _overdue_invoices(self, date):
        "Return the posted invoices with a receivable unpaid on date"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoices = Invoice.search([
                ('rsoft_subscriber', '=', self.id),
                ('type', '=', 'out'),
                ('state', '=', 'posted'),
                ], order=[('invoice_date', 'ASC'), ('id', 'ASC')])
        return [i for i in invoices if _overdue_lines(i, date)]

    def _dunning_values(self, date, disconnection_date=None):
        "Return the values of the dunning notifications on date"
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        currency = self.company.currency
        invoices = self._overdue_invoices(date)
        amount = currency.round(sum(i.amount_to_pay for i in invoices))
        numbers = [i.number for i in invoices]
        due_dates = sorted({line.maturity_date
                for i in invoices for line in _overdue_lines(i, date)})
        reason = gettext('rsoft_payment.msg_dunning_reason',
            amount=lang.currency(amount, currency, grouping=True),
            invoices=', '.join(numbers)) if invoices else ''
        return {
            'subscriber': self,
            'customer_id': self.customer_id,
            'name': self.party.rec_name,
            'lco': self.lco.rec_name if self.lco else '',
            'amount': amount,
            'currency': currency,
            'invoices': numbers,
            'due_dates': due_dates,
            'date': date,
            'disconnection_date': disconnection_date,
            'reason': reason,
            }


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('account.dunning|dun', "Dun Overdue Subscriber Invoices"))
