from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin,
    Index,
    ModelSQL,
    ModelView,
    Unique,
    Workflow,
    fields,
)
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If, In
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import (
    PaymentError,
    PaymentPostedError,
    PaymentReversalError,
    SystemRecordError,
)

KINDS = [
    ('cash', "Cash"),
    ('cheque', "Cheque"),
    ('card', "Debit/Credit Card"),
    ('direct_debit', "Direct Debit"),
    ('bank_transfer', "Bank Transfer"),
    ('upi', "UPI/Mobile Wallet"),
    ('gateway', "Online Gateway"),
    ]
# The collector holds the money of these until it is deposited
HELD_KINDS = {'cash', 'cheque'}
COLLECTOR_KINDS = [
    ('counter', "Counter Cashier"),
    ('lco', "LCO"),
    ('field_agent', "Field Agent"),
    ]
ALLOCATIONS = [
    ('oldest_first', "Oldest Invoice First"),
    ('hardware_first', "Hardware and Rentals First"),
    ('wallet', "Wallet Top-up First"),
    ]
REVERSAL_REASONS = [
    ('bounced', "Cheque Bounced"),
    ('wrong_account', "Wrong Account"),
    ('duplicate', "Duplicate"),
    ('other', "Other"),
    ]
STATES = [
    ('draft', "Draft"),
    ('received', "Received"),
    ('deposited', "Deposited"),
    ('cleared', "Cleared"),
    ('bounced', "Bounced"),
    ('reversed', "Reversed"),
    ]
_DRAFT = {
    'readonly': Eval('state') != 'draft',
    }


def check_system_record(Model, external):
    """Refuse a change from outside to a record that only its own actions
    (buttons, wizards, webhooks) create, change or delete"""
    if external:
        raise SystemRecordError(gettext('rsoft_payment.msg_system_record',
                model=Model.__names__()['model']))


class Method(DeactivableMixin, ModelSQL, ModelView):
    "A way money is paid in, with the accounts it goes to"
    __name__ = 'rsoft.payment.method'
    __string__ = "Payment Method"

    name = fields.Char("Name", required=True, translate=True)
    kind = fields.Selection(KINDS, "Kind", required=True)
    company = fields.Many2One('company.company', "Company", required=True)
    journal = fields.Many2One(
        'account.journal', "Journal", required=True,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The journal of the receipt moves.")
    account = fields.Many2One(
        'account.account', "Account", required=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ('type', '!=', None),
            ('closed', '!=', True),
            ],
        help="The account debited when a payment is received: cash in "
        "hand, cheques in hand, a card, UPI or gateway clearing account, "
        "or the bank.")
    deposit_account = fields.Many2One(
        'account.account', "Deposit Account",
        domain=[
            ('company', '=', Eval('company', -1)),
            ('type', '!=', None),
            ('closed', '!=', True),
            ],
        states={
            'invisible': ~Eval('kind').in_(list(HELD_KINDS)),
            'required': Eval('kind').in_(list(HELD_KINDS)),
            },
        help="The bank account the collected cash or cheques are "
        "deposited into.")

    @staticmethod
    def default_company():
        return Transaction().context.get('company')


class Collector(DeactivableMixin, ModelSQL, ModelView):
    "Who takes the money: a counter cashier, an LCO or a field agent"
    __name__ = 'rsoft.payment.collector'
    __string__ = "Collector"

    name = fields.Char("Name", required=True)
    kind = fields.Selection(COLLECTOR_KINDS, "Kind", required=True)
    company = fields.Many2One('company.company', "Company", required=True)
    lco = fields.Many2One(
        'rsoft.partner', "LCO", ondelete='RESTRICT',
        domain=[('role', '=', 'lco')],
        states={
            'required': Eval('kind').in_(['lco', 'field_agent']),
            },
        help="The LCO the collector works for.")
    user = fields.Many2One(
        'res.user', "User",
        help="The user who records this collector's payments.")

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_kind(cls):
        return 'counter'


class Payment(SystemFieldsMixin, Workflow, ModelSQL, ModelView):
    "Money received from a subscriber, acknowledged by a numbered receipt"
    __name__ = 'rsoft.payment'
    __string__ = "Payment"
    _rec_name = 'number'

    number = fields.Char(
        "Receipt Number", readonly=True,
        help="From the receipt sequence, when the payment is received.")
    company = fields.Many2One(
        'company.company', "Company", required=True, states=_DRAFT)
    subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber Account", required=True,
        ondelete='RESTRICT', states=_DRAFT,
        domain=[('company', '=', Eval('company', -1))],
        help="The account the payment is for.")
    party = fields.Function(
        fields.Many2One(
            'party.party', "Party",
            context={
                'company': Eval('company', -1),
                },
            depends={'company'}),
        'get_party', searcher='search_party')
    lco = fields.Many2One(
        'rsoft.partner', "LCO", readonly=True, ondelete='RESTRICT',
        help="The LCO of the account when the payment was received.")
    date = fields.Date("Date", required=True, states=_DRAFT)
    method = fields.Many2One(
        'rsoft.payment.method', "Method", required=True, states=_DRAFT,
        ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))])
    kind = fields.Function(
        fields.Selection(KINDS, "Kind"), 'on_change_with_kind',
        searcher='search_kind')
    collector = fields.Many2One(
        'rsoft.payment.collector', "Collected By", required=True,
        ondelete='RESTRICT', states=_DRAFT,
        domain=[('company', '=', Eval('company', -1))])
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        states=_DRAFT,
        domain=[('amount', '>', 0)])
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, states=_DRAFT)
    reference = fields.Char(
        "Reference", states=_DRAFT,
        help="The cheque number, UTR, card authorisation or the like.")
    cheque_bank = fields.Char(
        "Drawee Bank",
        states={
            'readonly': Eval('state') != 'draft',
            'invisible': Eval('kind') != 'cheque',
            })
    cheque_date = fields.Date(
        "Cheque Date",
        states={
            'readonly': Eval('state') != 'draft',
            'invisible': Eval('kind') != 'cheque',
            })
    external_id = fields.Char(
        "External ID", states=_DRAFT,
        help="The payment's ID at the bank or gateway: a payment is "
        "recorded once per method and ID.")
    origin = fields.Reference(
        "Origin", selection='get_origin', readonly=True,
        help="The document the payment was recorded from.")
    allocation = fields.Selection(
        [(None, '')] + ALLOCATIONS, "Allocation", readonly=True,
        help="The adjustment priority the payment was allocated by.")
    allocations = fields.One2Many(
        'rsoft.payment.allocation', 'payment', "Allocations", readonly=True)
    move = fields.Many2One(
        'account.move', "Move", readonly=True, ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))])
    deposit_date = fields.Date(
        "Deposit Date", readonly=True,
        states={
            'invisible': ~Eval('deposit_date'),
            })
    deposit_move = fields.Many2One(
        'account.move', "Deposit Move", readonly=True, ondelete='RESTRICT',
        states={
            'invisible': ~Eval('deposit_move'),
            })
    cleared_date = fields.Date(
        "Cleared Date", readonly=True,
        states={
            'invisible': ~Eval('cleared_date'),
            })
    reversal_date = fields.Date(
        "Reversal Date", readonly=True,
        states={
            'invisible': ~Eval('reversal_date'),
            })
    reversal_reason = fields.Selection(
        [(None, '')] + REVERSAL_REASONS, "Reversal Reason", readonly=True,
        states={
            'invisible': ~Eval('reversal_reason'),
            })
    reversal_note = fields.Char(
        "Reversal Note", readonly=True,
        states={
            'invisible': ~Eval('reversal_reason'),
            })
    reversal_move = fields.Many2One(
        'account.move', "Reversal Move", readonly=True, ondelete='RESTRICT',
        states={
            'invisible': ~Eval('reversal_move'),
            })
    fee_invoice = fields.Many2One(
        'account.invoice', "Bounce Fee Invoice", readonly=True,
        ondelete='RESTRICT',
        states={
            'invisible': ~Eval('fee_invoice'),
            })
    state = fields.Selection(STATES, "State", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('external_id_unique', Unique(t, t.method, t.external_id),
                'rsoft_payment.msg_payment_external_id_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.date, Index.Range()),
                    (t.collector, Index.Equality())),
                Index(t, (t.lco, Index.Equality()),
                    (t.date, Index.Range())),
                Index(t, (t.subscriber, Index.Equality())),
                Index(t, (t.state, Index.Equality()),
                    where=t.state.in_(['received', 'deposited'])),
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._system_fields |= {
            'number', 'lco', 'origin', 'allocation', 'move', 'deposit_date',
            'deposit_move', 'cleared_date', 'reversal_date',
            'reversal_reason', 'reversal_note', 'reversal_move',
            'fee_invoice', 'state'}
        cls._transitions |= {
            ('draft', 'received'),
            ('draft', 'cleared'),
            ('received', 'deposited'),
            ('received', 'cleared'),
            ('deposited', 'cleared'),
            ('received', 'bounced'),
            ('deposited', 'bounced'),
            ('cleared', 'bounced'),
            ('received', 'reversed'),
            ('deposited', 'reversed'),
            ('cleared', 'reversed'),
            }
        cls._buttons.update({
                'receive': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'deposit': {
                    'invisible': ((Eval('state') != 'received')
                        | ~Eval('kind').in_(list(HELD_KINDS))),
                    'depends': ['state', 'kind'],
                    },
                'clear': {
                    'invisible': ((Eval('state') != 'deposited')
                        | ~Eval('kind').in_(list(HELD_KINDS))),
                    'depends': ['state', 'kind'],
                    },
                'reverse_wizard': {
                    'invisible': ~Eval('state').in_(
                        ['received', 'deposited', 'cleared']),
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_currency(cls):
        pool = Pool()
        Company = pool.get('company.company')
        company = cls.default_company()
        if company is not None and company >= 0:
            return Company(company).currency.id

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_collector(cls):
        pool = Pool()
        Collector = pool.get('rsoft.payment.collector')
        collectors = Collector.search(
            [('user', '=', Transaction().user)], limit=1)
        if collectors:
            return collectors[0].id

    @fields.depends('method')
    def on_change_with_kind(self, name=None):
        if self.method:
            return self.method.kind

    @classmethod
    def search_kind(cls, name, clause):
        return [('method.kind', *clause[1:])]

    def get_party(self, name):
        return self.subscriber.party.id

    @classmethod
    def search_party(cls, name, clause):
        return [('subscriber.party' + clause[0][len(name):], *clause[1:])]

    @classmethod
    def _get_origin(cls):
        "Return the names of the models a payment may be recorded from"
        return []

    @classmethod
    def get_origin(cls):
        pool = Pool()
        Model = pool.get('ir.model')
        get_name = Model.get_name
        return [(None, '')] + [(m, get_name(m)) for m in cls._get_origin()]

    def get_rec_name(self, name):
        return self.number or str(self.id)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('number', *clause[1:])]

    @classmethod
    def check_modification(cls, mode, payments, values=None, external=False):
        super().check_modification(
            mode, payments, values=values, external=external)
        if mode == 'delete':
            for payment in payments:
                if payment.state != 'draft':
                    raise PaymentError(gettext(
                            'rsoft_payment.msg_payment_delete',
                            payment=payment.rec_name))
        elif mode == 'write' and external:
            # The receipt, its move and the cash-up tell the same amount:
            # a correction is a reversal
            for payment in payments:
                if payment.state != 'draft':
                    raise PaymentPostedError(gettext(
                            'rsoft_payment.msg_payment_posted_modify',
                            payment=payment.rec_name))

    @classmethod
    def copy(cls, payments, default=None):
        default = default.copy() if default is not None else {}
        for name in ['number', 'lco', 'external_id', 'origin', 'allocation',
                'allocations', 'move', 'deposit_date', 'deposit_move',
                'cleared_date', 'reversal_date', 'reversal_reason',
                'reversal_note', 'reversal_move', 'fee_invoice']:
            default.setdefault(name)
        return super().copy(payments, default=default)

    @classmethod
    def record(cls, subscriber, amount, method, date=None, collector=None,
            reference=None, external_id=None, origin=None):
        """Receive amount from subscriber and return the payment.

        A payment already recorded with the same method and external_id is
        returned unchanged: recording again changes nothing."""
        if external_id:
            payments = cls.search([
                    ('method', '=', method.id),
                    ('external_id', '=', external_id),
                    ], limit=1)
            if payments:
                return payments[0]
        if collector is None:
            collector = cls._default_collector(subscriber)
        payment = cls(
            company=subscriber.company, subscriber=subscriber,
            currency=subscriber.company.currency,
            amount=amount, method=method, collector=collector,
            date=date or cls.default_date(), reference=reference,
            external_id=external_id, origin=origin)
        payment.save()
        cls.receive([payment])
        return cls(payment.id)

    @classmethod
    def _default_collector(cls, subscriber):
        "Return the collector of payments nobody collected by hand"
        pool = Pool()
        Configuration = pool.get('rsoft.billing.configuration')
        collector = Configuration(1).online_collector
        if not collector:
            raise PaymentError(gettext(
                    'rsoft_payment.msg_payment_no_online_collector'))
        return collector

    @classmethod
    @ModelView.button
    def receive(cls, payments):
        "Number, allocate and post the payments, and acknowledge them"
        cls._check_receivable(payments)
        for payment in payments:
            payment.amount = payment.currency.round(payment.amount)
            payment.number = payment._next_number()
            payment.lco = payment.subscriber.lco
            payment.allocation = payment._allocation_policy()
            payment.allocations = payment._allocate()
        cls._save_moves(payments, 'move', '_receipt_move')
        payments = cls.browse(payments)
        for payment in payments:
            payment._settle()
        held = [p for p in payments if p.kind in HELD_KINDS]
        cls._receive(held)
        cls._clear([p for p in payments if p not in held])
        cls._acknowledge(payments, 'payment_receipt')

    @classmethod
    @Workflow.transition('received')
    def _receive(cls, payments):
        pass

    @classmethod
    @Workflow.transition('cleared')
    def _clear(cls, payments, date=None):
        for payment in payments:
            payment.cleared_date = date or payment.date
        cls.save(payments)

    @classmethod
    def _save_moves(cls, payments, field, getter):
        "Save and post the move getter returns for each payment in field"
        pool = Pool()
        Move = pool.get('account.move')
        moves = [getattr(p, getter)() for p in payments]
        Move.save(moves)
        Move.post(moves)
        for payment, move in zip(payments, moves):
            setattr(payment, field, move)
        cls.save(payments)

    @classmethod
    def _check_receivable(cls, payments):
        for payment in payments:
            if payment.currency != payment.company.currency:
                raise PaymentError(gettext(
                        'rsoft_payment.msg_payment_currency',
                        payment=payment.rec_name))
            if payment.method.kind == 'cheque' and not payment.reference:
                raise PaymentError(gettext(
                        'rsoft_payment.msg_payment_cheque_number'))

    def _next_number(self):
        pool = Pool()
        Configuration = pool.get('rsoft.billing.configuration')
        sequence = Configuration(1).payment_sequence
        if not sequence:
            raise PaymentError(gettext(
                    'rsoft_payment.msg_payment_no_sequence'))
        with Transaction().set_context(company=self.company.id):
            return sequence.get()

    def _allocation_policy(self):
        pool = Pool()
        Configuration = pool.get('rsoft.billing.configuration')
        lco = self.subscriber.lco
        return ((lco and lco.payment_allocation)
            or Configuration(1).payment_allocation or 'oldest_first')

    def _open_invoices(self):
        "Return the invoices of the account the payment may settle, in order"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoices = Invoice.search([
                ('rsoft_subscriber', '=', self.subscriber.id),
                ('type', '=', 'out'),
                ('state', '=', 'posted'),
                ('company', '=', self.company.id),
                ])
        invoices = [i for i in invoices if i.amount_to_pay > 0]

        def due(invoice):
            dates = [line.maturity_date or line.date
                for line in invoice.lines_to_pay]
            return (min(dates) if dates else invoice.invoice_date,
                invoice.invoice_date, invoice.id)

        def hardware_first(invoice):
            hardware = any(line.rsoft_section == 'hardware'
                for line in invoice.lines)
            return (not hardware, *due(invoice))
        key = hardware_first if self.allocation == 'hardware_first' else due
        return sorted(invoices, key=key)

    def _allocate(self):
        "Return the unsaved allocations of the amount, in priority order"
        pool = Pool()
        Allocation = pool.get('rsoft.payment.allocation')
        prepaid = self.subscriber.billing_mode == 'prepaid'
        remaining = self.amount
        allocations = []
        if not (prepaid and self.allocation == 'wallet'):
            for invoice in self._open_invoices():
                if remaining <= 0:
                    break
                amount = min(remaining, invoice.amount_to_pay)
                allocations.append(Allocation(
                        kind='invoice', invoice=invoice, amount=amount,
                        wallet_entry=None, line=None))
                remaining -= amount
        if remaining > 0:
            allocations.append(Allocation(
                    kind='wallet' if prepaid else 'advance',
                    amount=remaining, invoice=None, wallet_entry=None,
                    line=None))
        return allocations

    def _receivable_account(self):
        pool = Pool()
        Party = pool.get('party.party')
        with Transaction().set_context(company=self.company.id):
            return Party(self.party.id).account_receivable_used

    def _receipt_move(self):
        "Return the unsaved receipt move with the allocations on its lines"
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        receivable = self._receivable_account()
        if not receivable:
            raise PaymentError(gettext(
                    'rsoft_payment.msg_payment_no_receivable',
                    party=self.party.rec_name))
        lines = [Line(
                account=self.method.account,
                party=self.party if self.method.account.party_required
                else None,
                debit=self.amount, credit=Decimal(0),
                description=self.number)]
        for allocation in self.allocations:
            lines.append(Line(
                    account=(allocation.invoice.account if allocation.invoice
                        else receivable),
                    party=self.party, debit=Decimal(0),
                    credit=allocation.amount,
                    maturity_date=self.date,
                    description=allocation.description))
        return Move(
            company=self.company, journal=self.method.journal,
            period=Period.find(self.company, date=self.date),
            date=self.date, origin=self,
            description=gettext(
                'rsoft_payment.msg_payment_move_description',
                number=self.number, subscriber=self.subscriber.rec_name),
            lines=lines)

    def _settle(self):
        "Pay the invoices and credit the wallet from the posted move"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        MoveLine = pool.get('account.move.line')
        Wallet = pool.get('rsoft.wallet')
        Allocation = pool.get('rsoft.payment.allocation')
        # The lines were saved with the move: link them back
        lines = {(line.credit, line.description): line
            for line in self.move.lines if line.credit}
        paid = []
        to_write = []
        for allocation in self.allocations:
            line = lines[(allocation.amount, allocation.description)]
            values = {'line': line.id}
            if allocation.kind == 'invoice':
                invoice = allocation.invoice
                Invoice.add_payment_lines({invoice: [line]})
                invoice = Invoice(invoice.id)
                if invoice.amount_to_pay <= 0:
                    MoveLine.reconcile([ml for ml in
                            invoice.lines_to_pay + invoice.payment_lines
                            if not ml.reconciliation])
                    paid.append(invoice)
            elif allocation.kind == 'wallet':
                wallet, = Wallet.get_wallets([self.subscriber])
                entry, = Wallet.top_up([(wallet, allocation.amount,
                            self.date, allocation.description, self)])
                values['wallet_entry'] = entry.id
                MoveLine.reconcile([line] + [ml
                        for ml in entry.move.lines
                        if ml.account == line.account])
            to_write.extend(([allocation], values))
        if to_write:
            Allocation.write(*to_write)
        Invoice.process(paid)

    @classmethod
    def _acknowledge(cls, payments, event):
        "Queue the receipt to the account's registered mobile and e-mail"
        pool = Pool()
        Notification = pool.get('rsoft.notify.notification')
        for payment in payments:
            subscriber = payment.subscriber
            Notification.notify(
                event, payment.party, payment._notification_values(),
                origin=payment,
                email=subscriber.email, mobile=subscriber.mobile)

    def _notification_values(self):
        subscriber = self.subscriber
        wallet = (subscriber.wallet_balance
            if subscriber.billing_mode == 'prepaid' else None)
        return {
            'payment': self,
            'number': self.number,
            'customer_id': subscriber.customer_id,
            'name': self.party.rec_name,
            'amount': self.amount,
            'currency': self.currency.code,
            'date': self.date,
            'mode': dict(KINDS)[self.method.kind],
            'reference': self.reference or '',
            'lco': self.lco.rec_name if self.lco else '',
            'wallet_balance': wallet,
            'outstanding': sum(
                (i.amount_to_pay for i in self._open_invoices()),
                Decimal(0)),
            'reason': (dict(REVERSAL_REASONS)[self.reversal_reason]
                if self.reversal_reason else ''),
            }

    @classmethod
    @ModelView.button
    @Workflow.transition('deposited')
    def deposit(cls, payments, date=None):
        "Move the collected cash or cheques to the bank"
        for payment in payments:
            payment.deposit_date = max(
                date or cls.default_date(), payment.date)
        cls._save_moves(payments, 'deposit_move', '_deposit_move')

    def _deposit_move(self):
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        method = self.method
        party = self.party

        def line(account, debit, credit):
            return Line(account=account,
                party=party if account.party_required else None,
                debit=debit, credit=credit)
        return Move(
            company=self.company, journal=method.journal,
            period=Period.find(self.company, date=self.deposit_date),
            date=self.deposit_date, origin=self,
            description=gettext(
                'rsoft_payment.msg_payment_deposit_description',
                number=self.number),
            lines=[
                line(method.deposit_account, self.amount, Decimal(0)),
                line(method.account, Decimal(0), self.amount),
                ])

    @classmethod
    @ModelView.button
    def clear(cls, payments, date=None):
        "The bank confirmed the deposited money"
        cls._clear(payments, date=date or cls.default_date())

    @classmethod
    @ModelView.button_action('rsoft_payment.wizard_payment_reverse')
    def reverse_wizard(cls, payments):
        pass

    @classmethod
    def reverse(cls, payments, reason, note=None, fee=None, date=None):
        """Undo every effect of the payments by new entries.

        The invoices they paid are open again, the wallet credits are
        reversed (even into a negative balance) and a fee, if any, is
        invoiced to the account."""
        for payment in payments:
            if payment.state not in {'received', 'deposited', 'cleared'}:
                raise PaymentReversalError(gettext(
                        'rsoft_payment.msg_payment_reverse_state',
                        payment=payment.rec_name))
            if reason == 'bounced' and payment.kind != 'cheque':
                raise PaymentReversalError(gettext(
                        'rsoft_payment.msg_payment_bounce_not_cheque',
                        payment=payment.rec_name))
        for payment in payments:
            payment.reversal_date = max(
                date or cls.default_date(), payment.date)
            payment.reversal_reason = reason
            payment.reversal_note = note
            payment._unsettle()
        cls._save_moves(payments, 'reversal_move', '_reversal_move')
        for payment in payments:
            payment._reconcile_reversal()
            if fee:
                payment.fee_invoice = payment._fee_invoice(fee)
        cls.save(payments)
        bounced = [p for p in payments if reason == 'bounced']
        cls._bounce(bounced)
        cls._reverse([p for p in payments if p not in bounced])
        cls._acknowledge(payments, 'payment_reversal')

    @classmethod
    @Workflow.transition('bounced')
    def _bounce(cls, payments):
        pass

    @classmethod
    @Workflow.transition('reversed')
    def _reverse(cls, payments):
        pass

    def _unsettle(self):
        "Reopen what the payment settled"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Reconciliation = pool.get('account.move.reconciliation')
        Entry = pool.get('rsoft.wallet.entry')
        lines = [a.line for a in self.allocations]
        reconciliations = {ml.reconciliation for ml in lines
            if ml.reconciliation}
        invoices = [a.invoice for a in self.allocations if a.invoice]
        Reconciliation.delete(list(reconciliations))
        Invoice.process(invoices)
        Invoice.remove_payment_lines(
            [a.line for a in self.allocations if a.invoice])
        entries = [a.wallet_entry for a in self.allocations
            if a.wallet_entry]
        if entries:
            Entry.reverse(entries, date=self.reversal_date,
                allow_negative=True)
        # Other payments that settled the same invoices settle them again
        self._resettle(invoices)

    @classmethod
    def _resettle(cls, invoices):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        MoveLine = pool.get('account.move.line')
        paid = []
        for invoice in Invoice.browse(invoices):
            if invoice.state == 'posted' and invoice.amount_to_pay <= 0:
                lines = [ml for ml in
                    invoice.lines_to_pay + invoice.payment_lines
                    if not ml.reconciliation]
                if lines:
                    MoveLine.reconcile(lines)
                    paid.append(invoice)
        Invoice.process(paid)

    def _reversal_move(self):
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        account = (self.method.deposit_account if self.deposit_move
            else self.method.account)
        lines = [Line(
                account=account,
                party=self.party if account.party_required else None,
                debit=Decimal(0), credit=self.amount)]
        for allocation in self.allocations:
            lines.append(Line(
                    account=allocation.line.account, party=self.party,
                    debit=allocation.amount, credit=Decimal(0),
                    maturity_date=self.reversal_date,
                    description=allocation.description))
        return Move(
            company=self.company, journal=self.method.journal,
            period=Period.find(self.company, date=self.reversal_date),
            date=self.reversal_date, origin=self,
            description=gettext(
                'rsoft_payment.msg_payment_reversal_description',
                number=self.number,
                reason=dict(REVERSAL_REASONS)[self.reversal_reason]),
            lines=lines)

    def _reconcile_reversal(self):
        "Reconcile the receivable lines of the receipt with their reversal"
        pool = Pool()
        MoveLine = pool.get('account.move.line')
        reversed_ = [ml for ml in self.reversal_move.lines if ml.debit]
        groups = []
        for allocation in self.allocations:
            line = MoveLine(allocation.line.id)
            counterpart = next(ml for ml in reversed_
                if ml.debit == allocation.amount
                and ml.account == line.account)
            reversed_.remove(counterpart)
            groups.append([line, counterpart])
        wallet_lines = defaultdict(list)
        for allocation in self.allocations:
            entry = allocation.wallet_entry
            if entry:
                for entry_ in [entry, entry.reversal]:
                    wallet_lines[entry.id].extend(ml
                        for ml in entry_.move.lines
                        if ml.account == allocation.line.account
                        and not ml.reconciliation)
        MoveLine.reconcile(*groups, *wallet_lines.values())

    def _fee_invoice(self, fee):
        "Return the posted invoice of the bounce fee"
        pool = Pool()
        Configuration = pool.get('rsoft.billing.configuration')
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.invoice.line')
        product = Configuration(1).bounce_fee_product
        if not product:
            raise PaymentReversalError(gettext(
                    'rsoft_payment.msg_payment_no_fee_product'))
        subscriber = self.subscriber
        invoice = Invoice(
            company=self.company, type='out', party=self.party,
            invoice_date=self.reversal_date, currency=self.currency,
            rsoft_subscriber=subscriber, rsoft_lco=subscriber.lco)
        invoice.on_change_party()
        invoice.set_journal()
        line = Line(
            invoice=invoice, company=self.company, currency=self.currency,
            type='line', product=product, quantity=1)
        line.on_change_product()
        line.unit_price = self.currency.round(Decimal(fee))
        line.description = gettext(
            'rsoft_payment.msg_payment_fee_description',
            number=self.number, reference=self.reference or '')
        invoice.lines = [line]
        invoice.save()
        Invoice.post([invoice])
        return invoice


class Allocation(ModelSQL, ModelView):
    "The part of a payment that settled an invoice or went to the wallet"
    __name__ = 'rsoft.payment.allocation'
    __string__ = "Payment Allocation"

    payment = fields.Many2One(
        'rsoft.payment', "Payment", required=True, ondelete='CASCADE',
        readonly=True)
    kind = fields.Selection([
            ('invoice', "Invoice"),
            ('wallet', "Wallet Top-up"),
            ('advance', "Advance"),
            ], "Kind", required=True, readonly=True,
        help="Advance is money kept on the account for its next bills.")
    invoice = fields.Many2One(
        'account.invoice', "Invoice", readonly=True, ondelete='RESTRICT')
    wallet_entry = fields.Many2One(
        'rsoft.wallet.entry', "Wallet Entry", readonly=True,
        ondelete='RESTRICT')
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        readonly=True)
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    line = fields.Many2One(
        'account.move.line', "Move Line", readonly=True,
        ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.payment, Index.Equality())))
        cls._order = [('payment', 'DESC'), ('id', 'ASC')]

    @classmethod
    def check_modification(
            cls, mode, allocations, values=None, external=False):
        super().check_modification(
            mode, allocations, values=values, external=external)
        check_system_record(cls, external)

    def get_currency(self, name):
        return self.payment.currency.id

    @property
    def description(self):
        "The text of the move line of the allocation"
        if self.kind == 'invoice':
            return self.invoice.number
        return dict(self.__class__.kind.selection)[self.kind]


class ReverseStart(ModelView):
    __name__ = 'rsoft.payment.reverse.start'
    __string__ = "Reverse Payment"

    reason = fields.Selection(REVERSAL_REASONS, "Reason", required=True)
    note = fields.Char("Note")
    date = fields.Date("Date", required=True)
    fee = Monetary(
        "Bounce Fee", currency='currency', digits='currency',
        domain=[If(Bool(Eval('fee')), ('fee', '>=', 0), ())],
        states={
            'invisible': ~In(Eval('reason'), ['bounced']),
            },
        help="Charged to the account on a new invoice.")
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()


class Reverse(Wizard):
    "Undo a payment: a bounced cheque, a wrong account, a duplicate"
    __name__ = 'rsoft.payment.reverse'
    start = StateView(
        'rsoft.payment.reverse.start',
        'rsoft_payment.payment_reverse_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Reverse", 'reverse', 'tryton-ok', default=True),
            ])
    reverse = StateTransition()

    def default_start(self, fields):
        pool = Pool()
        Configuration = pool.get('rsoft.billing.configuration')
        payment = self.record
        fee = Configuration(1).bounce_fee
        return {
            'reason': 'bounced' if payment.kind == 'cheque' else 'other',
            'fee': payment.currency.round(fee) if fee is not None else None,
            'currency': payment.currency.id,
            }

    def transition_reverse(self):
        start = self.start
        fee = start.fee if start.reason == 'bounced' else None
        self.model.reverse(
            list(self.records), start.reason, note=start.note,
            fee=fee or None, date=start.date)
        return 'end'


class WalletEntry(metaclass=PoolMeta):
    __name__ = 'rsoft.wallet.entry'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['rsoft.payment']

    def _get_counterpart_account(self):
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        # The receipt credited the receivable: the wallet takes it from there
        if self.kind == 'top_up' and isinstance(self.origin, Payment):
            return self.origin._receivable_account()
        return super()._get_counterpart_account()


class Move(metaclass=PoolMeta):
    __name__ = 'account.move'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['rsoft.payment']


class Partner(metaclass=PoolMeta):
    __name__ = 'rsoft.partner'

    payment_allocation = fields.Selection(
        [(None, '')] + ALLOCATIONS, "Payment Allocation",
        states={
            'invisible': Eval('role') != 'lco',
            },
        help="The adjustment priority of the payments of the LCO's "
        "accounts; empty for the billing configuration's.")


class Subscriber(metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber'

    payments = fields.One2Many(
        'rsoft.payment', 'subscriber', "Payments", readonly=True)
