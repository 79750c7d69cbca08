import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Literal
from sql.aggregate import Max, Sum
from sql.conditionals import Coalesce

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.tools import grouped_slice, sqlite_apply_types
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import (
    EntryModificationError,
    InsufficientBalanceError,
    ReversalError,
    TopUpError,
    WalletConfigurationError,
    WalletError,
)

KINDS = [
    ('top_up', "Top-up"),
    ('debit', "Debit"),
    ('refund', "Refund"),
    ('reversal', "Reversal"),
    ]


def _today(company):
    pool = Pool()
    Date = pool.get('ir.date')
    with Transaction().set_context(company=company.id):
        return Date.today()


class Wallet(SystemFieldsMixin, ModelSQL, ModelView):
    "A prepaid balance kept as a ledger of entries, each posted in accounting"
    __name__ = 'rsoft.wallet'
    __string__ = "Wallet"

    subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        states={
            'readonly': Eval('id', -1) >= 0,
            'required': ~Eval('partner'),
            'invisible': Bool(Eval('partner')),
            },
        help="The subscriber account the balance belongs to.")
    partner = fields.Many2One(
        'rsoft.partner', "Partner", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ('role', 'in', ['jv', 'lco']),
            ],
        states={
            'readonly': Eval('id', -1) >= 0,
            'required': ~Eval('subscriber'),
            'invisible': Bool(Eval('subscriber')),
            },
        help="The LCO or joint venture the balance belongs to: what it "
        "prepaid to the MSO.")
    owner = fields.Function(fields.Reference(
            "Owner", selection='get_owners',
            help="The subscriber account or the partner holding the "
            "balance."),
        'get_owner')
    lco = fields.Function(fields.Many2One(
            'rsoft.partner', "LCO",
            help="The partner whose logins see the wallet: the owner, or "
            "the LCO of the owning account."),
        'get_lco', searcher='search_lco')
    party = fields.Function(
        fields.Many2One(
            'party.party', "Party",
            context={
                'company': Eval('company', -1),
                },
            depends={'company'}),
        'get_party', searcher='search_party')
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    balance = fields.Function(Monetary(
            "Balance", currency='currency', digits='currency'),
        'get_balance', searcher='search_balance')
    threshold = Monetary(
        "Low-Balance Threshold", currency='currency', digits='currency',
        required=True,
        help="The subscriber is alerted when the balance falls under it.")
    low_balance = fields.Function(fields.Boolean(
            "Low Balance",
            help="The balance is under the threshold."),
        'get_low_balance', searcher='search_low_balance')
    entries = fields.One2Many(
        'rsoft.wallet.entry', 'wallet', "Entries", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('subscriber_unique', Unique(t, t.subscriber),
                'rsoft_wallet.msg_wallet_subscriber_unique'),
            ('partner_unique', Unique(t, t.partner, t.currency),
                'rsoft_wallet.msg_wallet_partner_unique'),
            ]
        # A wallet is opened by the system for an account or a partner,
        # and its balance is the sum of its entries
        cls._system_fields |= {
            'subscriber', 'partner', 'company', 'currency', 'balance',
            'low_balance', 'entries'}
        cls._buttons.update({
                'recharge': {
                    'invisible': (Eval('id', -1) < 0) | Bool(Eval('partner')),
                    'depends': ['id', 'partner'],
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
    def default_threshold(cls):
        return Decimal(0)

    @classmethod
    def _get_owner_models(cls):
        "Return the names of the models that may hold a wallet"
        return ['rsoft.subscriber', 'rsoft.partner']

    @classmethod
    def get_owners(cls):
        pool = Pool()
        Model = pool.get('ir.model')
        get_name = Model.get_name
        return [(None, '')] + [
            (m, get_name(m)) for m in cls._get_owner_models()]

    @classmethod
    def validate_fields(cls, wallets, field_names):
        super().validate_fields(wallets, field_names)
        if field_names & {'subscriber', 'partner'}:
            for wallet in wallets:
                wallet.check_owner()

    def check_owner(self):
        "Check the wallet belongs to an account or to a partner, not both"
        if bool(self.subscriber) == bool(self.partner):
            raise WalletError(gettext(
                    'rsoft_wallet.msg_wallet_one_owner',
                    wallet=self.rec_name))

    def get_owner(self, name):
        return str(self.subscriber or self.partner)

    def get_lco(self, name):
        if self.partner:
            return self.partner.id
        if self.subscriber.lco:
            return self.subscriber.lco.id

    @classmethod
    def search_lco(cls, name, clause):
        nested = clause[0][len(name):]
        return ['OR',
            ('subscriber.lco' + nested, *clause[1:]),
            ('partner' + nested, *clause[1:]),
            ]

    def get_party(self, name):
        return (self.subscriber or self.partner).party.id

    @classmethod
    def search_party(cls, name, clause):
        nested = clause[0][len(name):]
        return ['OR',
            ('subscriber.party' + nested, *clause[1:]),
            ('partner.party' + nested, *clause[1:]),
            ]

    def get_rec_name(self, name):
        owner = self.subscriber or self.partner
        return owner.rec_name if owner else ''

    @classmethod
    def search_rec_name(cls, name, clause):
        return ['OR',
            ('subscriber.rec_name', *clause[1:]),
            ('partner.rec_name', *clause[1:]),
            ]

    @classmethod
    def get_balance(cls, wallets, name):
        pool = Pool()
        Entry = pool.get('rsoft.wallet.entry')
        entry = Entry.__table__()
        cursor = Transaction().connection.cursor()
        balances = dict.fromkeys(map(int, wallets), Decimal(0))
        for sub_ids in grouped_slice(balances, backend.MAX_QUERY_PARAMS):
            query = entry.select(
                entry.wallet, Sum(entry.amount).as_('balance'),
                where=fields.SQL_OPERATORS['in'](entry.wallet, sub_ids),
                group_by=entry.wallet)
            if backend.name == 'sqlite':
                sqlite_apply_types(query, [None, 'NUMERIC'])
            cursor.execute(*query)
            balances.update(cursor)
        return {
            w.id: w.currency.round(balances[w.id]) for w in wallets}

    @classmethod
    def search_balance(cls, name, clause):
        pool = Pool()
        Entry = pool.get('rsoft.wallet.entry')
        wallet = cls.__table__()
        entry = Entry.__table__()
        _, operator, value = clause
        Operator = fields.SQL_OPERATORS[operator]
        amount = Coalesce(Sum(entry.amount), 0)
        if backend.name == 'sqlite':
            cast_ = Entry.amount.sql_cast
            if operator in {'in', 'not in'}:
                value = [cast_(Literal(Decimal(v or 0))) for v in value]
            else:
                value = cast_(Literal(Decimal(value or 0)))
            amount = cast_(amount)
        query = wallet.join(entry, 'LEFT',
            condition=entry.wallet == wallet.id
            ).select(wallet.id,
                group_by=wallet.id,
                having=Operator(amount, value))
        return [('id', 'in', query)]

    def get_low_balance(self, name):
        return self.balance < self.threshold

    @classmethod
    def search_low_balance(cls, name, clause):
        pool = Pool()
        Entry = pool.get('rsoft.wallet.entry')
        wallet = cls.__table__()
        entry = Entry.__table__()
        _, operator, value = clause
        if operator not in {'=', '!='}:
            return []
        if (operator == '=') != bool(value):
            operator = 'not in'
        else:
            operator = 'in'
        amount = Coalesce(Sum(entry.amount), 0)
        threshold = Max(wallet.threshold)
        if backend.name == 'sqlite':
            amount = Entry.amount.sql_cast(amount)
            threshold = cls.threshold.sql_cast(threshold)
        query = wallet.join(entry, 'LEFT',
            condition=entry.wallet == wallet.id
            ).select(wallet.id,
                group_by=wallet.id,
                having=amount < threshold)
        return [('id', operator, query)]

    @classmethod
    def get_wallets(cls, subscribers):
        "Return the wallet of each subscriber account, created if missing"
        wallets = {}
        with without_check_access():
            for sub_subscribers in grouped_slice(
                    subscribers, backend.MAX_QUERY_PARAMS):
                for wallet in cls.search([
                            ('subscriber', 'in',
                                [s.id for s in sub_subscribers]),
                            ]):
                    wallets[wallet.subscriber] = wallet
            missing = list({s for s in subscribers if s not in wallets})
            for subscriber, wallet in zip(missing, cls.create([{
                                'subscriber': s.id,
                                'company': s.company.id,
                                'currency': s.company.currency.id,
                                } for s in missing])):
                wallets[subscriber] = wallet
        return [wallets[s] for s in subscribers]

    @classmethod
    def get_partner_wallets(cls, partners):
        """Return the wallet of each partner in its company's currency,
        created if missing"""
        wallets = {}
        with without_check_access():
            for sub_partners in grouped_slice(
                    partners, backend.MAX_QUERY_PARAMS):
                for wallet in cls.search([
                            ('partner', 'in', [p.id for p in sub_partners]),
                            ]):
                    if wallet.currency == wallet.partner.company.currency:
                        wallets[wallet.partner] = wallet
            missing = list({p for p in partners if p not in wallets})
            for partner, wallet in zip(missing, cls.create([{
                                'partner': p.id,
                                'company': p.company.id,
                                'currency': p.company.currency.id,
                                } for p in missing])):
                wallets[partner] = wallet
        return [wallets[p] for p in partners]

    def get_overdraft(self):
        """Return how far under zero the balance may go: the credit the
        MSO gives the owner"""
        return Decimal(0)

    @classmethod
    @ModelView.button_action('rsoft_wallet.wizard_top_up')
    def recharge(cls, wallets):
        pass

    @classmethod
    def top_up(cls, operations):
        """Credit money paid in and return the new entries, in order.

        operations is a list of
        (wallet, amount[, date[, description[, origin]]])"""
        return cls._post(cls._entries('top_up', operations))

    @classmethod
    def debit(cls, operations, allow_negative=False):
        """Spend from the wallets and return the new entries, in order.

        operations is a list of
        (wallet, amount[, date[, description[, origin]]]).
        A debit larger than the balance is refused unless allow_negative."""
        return cls._post(
            cls._entries('debit', operations), allow_negative=allow_negative)

    @classmethod
    def refund(cls, operations):
        """Give money back to the wallets from the customer's receivable,
        as for a credit note, and return the new entries, in order.

        operations is a list of
        (wallet, amount[, date[, description[, origin]]])"""
        return cls._post(cls._entries('refund', operations))

    @classmethod
    def _entries(cls, kind, operations):
        "Return the unsaved entries of kind for the operations"
        pool = Pool()
        Entry = pool.get('rsoft.wallet.entry')
        entries = []
        for wallet, amount, *rest in operations:
            date, description, origin = (*rest, None, None, None)[:3]
            amount = wallet.currency.round(Decimal(amount))
            if amount <= 0:
                raise WalletError(gettext(
                        'rsoft_wallet.msg_amount_not_positive',
                        wallet=wallet.rec_name, amount=amount))
            if kind == 'debit':
                amount = -amount
            entries.append(Entry(
                    wallet=wallet, kind=kind, amount=amount,
                    date=date or _today(wallet.company),
                    description=(
                        description
                        or gettext(f'rsoft_wallet.msg_description_{kind}')),
                    origin=origin, reversed_entry=None))
        return entries

    @classmethod
    def _post(cls, entries, allow_negative=True):
        """Save the entries with their running balance and posted move.

        An entry taking money out may not leave its wallet negative
        unless allow_negative."""
        pool = Pool()
        Entry = pool.get('rsoft.wallet.entry')
        Move = pool.get('account.move')
        if not entries:
            return []
        with without_check_access():
            wallets = cls.browse(sorted({e.wallet.id for e in entries}))
            # Concurrent postings on a wallet wait here, so each reads the
            # balance the other left; the first time, the lock restarts the
            # transaction (TransactionError) with the rows locked from its
            # start, as the dispatcher, the worker and the cron do
            cls.lock(wallets)
            balances = cls.get_balance(wallets, 'balance')
            last_dates = Entry.get_last_dates(wallets)

            # Within a wallet, ids follow the dates: the running balance
            # is in order of (date, id)
            ordered = sorted(entries, key=lambda e: (e.wallet.id, e.date))
            taken = defaultdict(Decimal)
            for entry in ordered:
                wallet = entry.wallet.id
                balances[wallet] += entry.amount
                entry.balance = balances[wallet]
                if entry.amount < 0:
                    taken[wallet] -= entry.amount
            if not allow_negative:
                cls._check_balances(wallets, balances, taken)

            moves = [e.get_move() for e in ordered]
            Move.save(moves)
            for entry, move in zip(ordered, moves):
                entry.move = move
            Entry.save(ordered)
            for entry, move in zip(ordered, moves):
                move.origin = entry
            Move.save(moves)
            Move.post(moves)

            backdated = {}
            for entry in ordered:
                last_date = last_dates.get(entry.wallet.id)
                if last_date and entry.date < last_date:
                    wallet = entry.wallet
                    backdated[wallet] = min(
                        entry.date, backdated.get(wallet, entry.date))
            if backdated:
                Entry.update_balances(backdated)
        return Entry.browse([e.id for e in entries])

    @classmethod
    def _check_balances(cls, wallets, balances, taken):
        for wallet in wallets:
            overdraft = wallet.get_overdraft()
            if wallet.id in taken and balances[wallet.id] < -overdraft:
                wallet._raise_insufficient(
                    balances[wallet.id] + taken[wallet.id], taken[wallet.id])

    def _raise_insufficient(self, balance, amount):
        "Refuse to take amount out of balance, naming the amount missing"
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        overdraft = self.get_overdraft()

        def format_(value):
            return lang.currency(value, self.currency, grouping=True)
        message = ('rsoft_wallet.msg_insufficient_credit' if overdraft
            else 'rsoft_wallet.msg_insufficient_balance')
        raise InsufficientBalanceError(gettext(
                message,
                wallet=self.rec_name,
                balance=format_(balance),
                limit=format_(overdraft),
                amount=format_(amount),
                missing=format_(amount - balance - overdraft)))

    def forecast(self, daily_amount, date=None):
        """Return the date the balance falls under the threshold and the
        date it runs out when daily_amount is spent every day from date:
        the first day whose opening balance is under the threshold, and the
        first day the balance cannot pay for in full.
        A date is None when it never comes."""
        if date is None:
            date = _today(self.company)
        balance = self.balance
        daily_amount = Decimal(daily_amount)

        def first_day_under(limit):
            if balance < limit:
                return date
            if daily_amount <= 0:
                return None
            days = int((balance - limit) // daily_amount) + 1
            return date + dt.timedelta(days=days)
        return first_day_under(self.threshold), first_day_under(daily_amount)


class Entry(ModelSQL, ModelView):
    "A line of a wallet's ledger: never changed, corrected by a reversal"
    __name__ = 'rsoft.wallet.entry'
    __string__ = "Wallet Entry"
    _rec_name = 'description'

    wallet = fields.Many2One(
        'rsoft.wallet', "Wallet", required=True, readonly=True,
        ondelete='RESTRICT')
    date = fields.Date("Date", required=True, readonly=True)
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        readonly=True,
        help="Positive for money into the wallet, negative for money spent.")
    balance = Monetary(
        "Balance", currency='currency', digits='currency', readonly=True,
        help="The balance of the wallet after the entry, "
        "entries taken in order of date.")
    description = fields.Char("Description", required=True, readonly=True)
    origin = fields.Reference(
        "Origin", selection='get_origin', readonly=True,
        help="The document behind the entry, such as an invoice.")
    reversed_entry = fields.Many2One(
        'rsoft.wallet.entry', "Reversed Entry", readonly=True,
        ondelete='RESTRICT',
        domain=[('wallet', '=', Eval('wallet', -1))],
        states={
            'invisible': ~Eval('reversed_entry'),
            },
        help="The entry this reversal cancels.")
    reversal = fields.Function(fields.Many2One(
            'rsoft.wallet.entry', "Reversal",
            states={
                'invisible': ~Eval('reversal'),
                },
            help="The entry that cancels this one."),
        'get_reversal')
    move = fields.Many2One(
        'account.move', "Move", required=True, readonly=True,
        ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))])
    company = fields.Function(
        fields.Many2One('company.company', "Company"),
        'get_wallet_field', searcher='search_wallet_field')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_wallet_field')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('reversed_entry_unique', Unique(t, t.reversed_entry),
                'rsoft_wallet.msg_entry_reversed_once'),
            ]
        cls._sql_indexes.update({
                Index(t,
                    (t.wallet, Index.Range()),
                    (t.date, Index.Range()),
                    (t.id, Index.Range())),
                Index(t, (t.origin, Index.Equality()),
                    where=t.origin != None),  # noqa: E711
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._buttons.update({
                'reverse': {
                    'invisible': (
                        (Eval('kind') == 'reversal') | Bool(Eval('reversal'))
                        | (Eval('id', -1) < 0)),
                    'depends': ['kind', 'reversal', 'id'],
                    },
                })

    @classmethod
    def _get_origin(cls):
        "Return the names of the models an entry may come from"
        return []

    @classmethod
    def get_origin(cls):
        pool = Pool()
        Model = pool.get('ir.model')
        get_name = Model.get_name
        return [(None, '')] + [(m, get_name(m)) for m in cls._get_origin()]

    def get_wallet_field(self, name):
        return getattr(self.wallet, name).id

    @classmethod
    def search_wallet_field(cls, name, clause):
        return [('wallet.' + clause[0], *clause[1:])]

    @classmethod
    def get_reversal(cls, entries, name):
        reversals = dict.fromkeys(map(int, entries))
        for sub_ids in grouped_slice(reversals, backend.MAX_QUERY_PARAMS):
            for reversal in cls.search([
                        ('reversed_entry', 'in', list(sub_ids)),
                        ]):
                reversals[reversal.reversed_entry.id] = reversal.id
        return reversals

    @classmethod
    def get_last_dates(cls, wallets):
        "Return the date of the last entry of each wallet that has one"
        entry = cls.__table__()
        cursor = Transaction().connection.cursor()
        dates = {}
        for sub_ids in grouped_slice(
                list(map(int, wallets)), backend.MAX_QUERY_PARAMS):
            query = entry.select(
                entry.wallet, Max(entry.date).as_('date'),
                where=fields.SQL_OPERATORS['in'](entry.wallet, sub_ids),
                group_by=entry.wallet)
            if backend.name == 'sqlite':
                sqlite_apply_types(query, [None, 'DATE'])
            cursor.execute(*query)
            dates.update(cursor)
        return dates

    @classmethod
    def update_balances(cls, wallets):
        """Compute again the running balances of the wallets from the given
        dates on: wallets maps a wallet to the date of a back-dated entry"""
        to_write = []
        for wallet, date in wallets.items():
            previous = cls.search([
                    ('wallet', '=', wallet.id),
                    ('date', '<', date),
                    ], order=[('date', 'DESC'), ('id', 'DESC')], limit=1)
            balance = previous[0].balance if previous else Decimal(0)
            for entry in cls.search([
                        ('wallet', '=', wallet.id),
                        ('date', '>=', date),
                        ], order=[('date', 'ASC'), ('id', 'ASC')]):
                balance += entry.amount
                if entry.balance != balance:
                    to_write.extend(([entry], {'balance': balance}))
        if to_write:
            cls.write(*to_write)

    @classmethod
    def check_modification(cls, mode, entries, values=None, external=False):
        super().check_modification(
            mode, entries, values=values, external=external)
        if mode == 'create' and external:
            raise EntryModificationError(
                gettext('rsoft_wallet.msg_entry_create'))
        # Only the running balance is computed again, by the wallet itself
        if mode == 'write' and (external or values.keys() - {'balance'}):
            entry = entries[0]
            raise EntryModificationError(gettext(
                    'rsoft_wallet.msg_entry_modify',
                    entry=entry.rec_name, wallet=entry.wallet.rec_name))
        if mode == 'delete':
            entry = entries[0]
            raise EntryModificationError(gettext(
                    'rsoft_wallet.msg_entry_delete',
                    entry=entry.rec_name, wallet=entry.wallet.rec_name))

    def get_move(self):
        "Return the unsaved account move of the entry"
        pool = Pool()
        Move = pool.get('account.move')
        Period = pool.get('account.period')
        company = self.wallet.company
        journal = self._get_configuration('wallet_journal', company)
        return Move(
            company=company,
            journal=journal,
            period=Period.find(company, date=self.date),
            date=self.date,
            description=self.description,
            lines=self._get_move_lines())

    def _get_move_lines(self):
        pool = Pool()
        Line = pool.get('account.move.line')
        if self.reversed_entry:
            return [Line(
                    account=line.account, party=line.party,
                    debit=line.credit, credit=line.debit)
                for line in self.reversed_entry.move.lines]
        zero = Decimal(0)
        party = self.wallet.party
        wallet_line = Line(
            account=self._get_wallet_account(),
            party=party,
            debit=max(-self.amount, zero),
            credit=max(self.amount, zero))
        account = self._get_counterpart_account()
        counterpart = Line(
            account=account,
            party=party if account.party_required else None,
            debit=wallet_line.credit,
            credit=wallet_line.debit)
        return [wallet_line, counterpart]

    def _get_wallet_account(self):
        "Return the liability account holding the money of the wallet"
        return self._get_configuration('wallet_account', self.wallet.company)

    def _get_counterpart_account(self):
        "Return the account the money of the entry comes from or goes to"
        pool = Pool()
        Party = pool.get('party.party')
        company = self.wallet.company
        if self.kind == 'top_up':
            return self._get_configuration('top_up_account', company)
        with Transaction().set_context(company=company.id):
            return Party(self.wallet.party.id).account_receivable_used

    @classmethod
    def _get_configuration(cls, name, company):
        pool = Pool()
        Configuration = pool.get('rsoft.wallet.configuration')
        value = Configuration(1).get_multivalue(name, company=company.id)
        if not value:
            raise WalletConfigurationError(gettext(
                    'rsoft_wallet.msg_configuration_missing',
                    field=Configuration.__names__(name)['field'],
                    company=company.rec_name))
        return value

    @classmethod
    @ModelView.button
    def reverse(cls, entries, date=None, allow_negative=False):
        """Cancel each entry by an opposite one linked to it, with the
        opposite move, and return the reversals, in order.

        A reversal taking money out may not leave the wallet negative
        unless allow_negative."""
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        reversals = []
        for entry in entries:
            if entry.kind == 'reversal':
                raise ReversalError(gettext(
                        'rsoft_wallet.msg_reverse_reversal',
                        entry=entry.rec_name))
            if entry.reversal:
                raise ReversalError(gettext(
                        'rsoft_wallet.msg_entry_reversed_once_detail',
                        entry=entry.rec_name,
                        reversal=entry.reversal.rec_name))
            reversals.append(cls(
                    wallet=entry.wallet,
                    kind='reversal',
                    amount=-entry.amount,
                    date=max(date or _today(entry.wallet.company),
                        entry.date),
                    description=gettext(
                        'rsoft_wallet.msg_description_reversal_of',
                        description=entry.description),
                    origin=entry.origin,
                    reversed_entry=entry))
        return Wallet._post(reversals, allow_negative=allow_negative)


class TopUpStart(ModelView):
    __name__ = 'rsoft.wallet.top_up.start'
    __string__ = "Top Up Wallet"

    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        domain=[('amount', '>', 0)],
        help="The money received.")
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    date = fields.Date("Date", required=True)
    description = fields.Char(
        "Description", required=True,
        help="How the money was received, such as a receipt number.")


class TopUp(Wizard):
    "Credit the money a subscriber paid to the wallet"
    __name__ = 'rsoft.wallet.top_up'

    start = StateView(
        'rsoft.wallet.top_up.start',
        'rsoft_wallet.top_up_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Top Up", 'top_up', 'tryton-ok', default=True),
            ])
    top_up = StateTransition()

    def _records(self):
        """Return the wallets or subscriber accounts the wizard was opened on

        Its actions are bound to these two models and Wizard.check_access
        made sure the user may read the records: a wizard opened on any
        other model is refused."""
        pool = Pool()
        model = self.model.__name__ if self.model else None
        if model not in {'rsoft.wallet', 'rsoft.subscriber'}:
            raise TopUpError(gettext(
                    'rsoft_wallet.msg_top_up_model', model=model or ''))
        Model = pool.get(model)
        return Model.browse([r.id for r in self.records])

    def _wallets(self):
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        records = self._records()
        if self.model.__name__ != 'rsoft.wallet':
            return Wallet.get_wallets(records)
        for wallet in records:
            # A partner pays the MSO: its money comes in by a receipt
            if wallet.partner:
                raise TopUpError(gettext(
                        'rsoft_wallet.msg_top_up_partner',
                        wallet=wallet.rec_name))
        return records

    def default_start(self, fields):
        pool = Pool()
        Company = pool.get('company.company')
        company = Transaction().context.get('company')
        records = self._records()
        if records:
            company = records[0].company.id
        defaults = {
            'description': gettext('rsoft_wallet.msg_description_top_up'),
            }
        if company is not None and company >= 0:
            company = Company(company)
            defaults['currency'] = company.currency.id
            defaults['date'] = _today(company)
        return defaults

    def transition_top_up(self):
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        Wallet.top_up([
                (w, self.start.amount, self.start.date,
                    self.start.description)
                for w in self._wallets()])
        return 'end'


class Subscriber(metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber'

    wallets = fields.One2Many(
        'rsoft.wallet', 'subscriber', "Wallet", readonly=True)
    wallet_balance = fields.Function(Monetary(
            "Wallet Balance", currency='wallet_currency',
            digits='wallet_currency',
            help="The prepaid money left to the account."),
        'get_wallet_balance')
    wallet_currency = fields.Function(fields.Many2One(
            'currency.currency', "Wallet Currency"),
        'get_wallet_balance')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'wallets', 'wallet_balance', 'wallet_currency'}

    @classmethod
    def get_wallet_balance(cls, subscribers, names):
        result = {n: dict.fromkeys(map(int, subscribers)) for n in names}
        for subscriber in subscribers:
            for wallet in subscriber.wallets:
                if 'wallet_balance' in result:
                    result['wallet_balance'][subscriber.id] = wallet.balance
                if 'wallet_currency' in result:
                    result['wallet_currency'][subscriber.id] = (
                        wallet.currency.id)
        return result

    @classmethod
    def copy(cls, subscribers, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('wallets')
        return super().copy(subscribers, default=default)
