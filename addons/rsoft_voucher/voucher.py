"""Vouchers and their lifecycle: allocated to a partner by serial range,
sold, redeemed once, blocked and unblocked, expired, purged

Every transition is appended to the voucher's history with who, when and
why. Allocation is a sale to the partner: a receivable of the partner's
party against the voucher liability (the face value, the partner's
discount as an expense); redemption and expiry release the liability."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_toolkit.bulk import BulkWriter
from trytond.modules.rsoft_toolkit.guard import (
    AppendOnlyMixin,
    SystemFieldsMixin,
)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import RangeError
from .template import KINDS

STATES = [
    ('generated', "Generated"),
    ('allocated', "Allocated"),
    ('active', "Sold"),
    ('redeemed', "Redeemed"),
    ('blocked', "Blocked"),
    ('expired', "Expired"),
    ('purged', "Purged"),
    ]
SOURCES = [
    (None, ''),
    ('back_office', "Back Office"),
    ('lco_portal', "LCO Portal"),
    ('portal', "Subscriber Portal"),
    ('api', "API"),
    ]
# What a range operation takes, and what it leaves alone
BLOCKABLE = {'generated', 'allocated', 'active'}
EXPIRABLE = {'generated', 'allocated', 'active', 'blocked'}
PURGEABLE = {'redeemed', 'expired'}
# A voucher sold to a partner and not yet redeemed or expired: the
# operator owes its face value
LIABLE = {'allocated', 'active', 'blocked'}


class Voucher(SystemFieldsMixin, ModelSQL, ModelView):
    "A prepaid card: a serial printed on it and a PIN under the scratch"
    __name__ = 'rsoft.voucher'
    __string__ = "Voucher"
    _rec_name = 'serial'

    serial = fields.Char("Serial", required=True, readonly=True)
    # Lazy: nobody may read it, and a client that reads the eager fields
    # of a record at once would be refused them all
    pin_hash = fields.Char(
        "PIN Hash", readonly=True, loading='lazy',
        help="The HMAC of the PIN under the server's secret; emptied "
        "when the voucher is purged.")
    template = fields.Many2One(
        'rsoft.voucher.template', "Template", required=True, readonly=True,
        ondelete='RESTRICT')
    batch = fields.Many2One(
        'rsoft.voucher.batch', "Batch", required=True, readonly=True,
        ondelete='RESTRICT')
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    kind = fields.Function(fields.Selection(KINDS, "Kind"), 'get_template')
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'get_currency')
    face_value = fields.Function(Monetary(
            "Face Value", currency='currency', digits='currency'),
        'get_template')
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    state_date = fields.Date(
        "State Date", readonly=True,
        help="The day of the last change of state.")
    blocked_from = fields.Selection(
        [(None, '')] + STATES, "Blocked From", readonly=True,
        help="The state an unblocked voucher returns to.")
    partner = fields.Many2One(
        'rsoft.partner', "Partner", readonly=True, ondelete='RESTRICT',
        help="The distributor, JV or LCO the voucher was allocated to.")
    allocated_date = fields.Date("Allocated", readonly=True)
    activated_date = fields.Date(
        "Sold", readonly=True,
        help="The day the partner sold the card.")
    expiry_date = fields.Date(
        "Expiry Date", readonly=True,
        help="The last day the voucher may be redeemed.")
    redeemed_by = fields.Many2One(
        'rsoft.subscriber', "Redeemed By", readonly=True,
        ondelete='RESTRICT')
    connection = fields.Many2One(
        'rsoft.connection', "Connection", readonly=True,
        ondelete='RESTRICT',
        help="The connection a product voucher was redeemed on.")
    redeemed_at = fields.DateTime("Redeemed At", readonly=True)
    source = fields.Selection(
        SOURCES, "Source", readonly=True,
        help="Where the voucher was redeemed.")
    login = fields.Char(
        "Login", readonly=True,
        help="The login that redeemed: a back-office user, an LCO or a "
        "subscriber portal login.")
    wallet_entry = fields.Many2One(
        'rsoft.wallet.entry', "Wallet Top-up", readonly=True,
        ondelete='RESTRICT')
    line = fields.Many2One(
        'rsoft.subscription.line', "Subscription Line", readonly=True,
        ondelete='RESTRICT')
    invoice = fields.Many2One(
        'account.invoice', "Invoice", readonly=True, ondelete='RESTRICT',
        help="The invoice of a product voucher's offer, paid by the "
        "voucher.")
    move = fields.Many2One(
        'account.move', "Move", readonly=True, ondelete='RESTRICT',
        help="The move that released the liability: the payment of the "
        "invoice, or the expiry.")
    events = fields.One2Many(
        'rsoft.voucher.event', 'voucher', "History", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Generated, then changed by the range operations, the redemption
        # and the daily job only
        cls._system_fields |= {
            'serial', 'pin_hash', 'template', 'batch', 'company', 'state',
            'state_date', 'blocked_from', 'partner', 'allocated_date',
            'activated_date', 'expiry_date', 'redeemed_by', 'connection',
            'redeemed_at', 'source', 'login', 'wallet_entry', 'line',
            'invoice', 'move', 'events'}
        t = cls.__table__()
        cls._sql_constraints += [
            ('serial_unique', Unique(t, t.company, t.serial),
                'rsoft_voucher.msg_voucher_serial_unique'),
            # NULLs (purged) are distinct
            ('pin_hash_unique', Unique(t, t.company, t.pin_hash),
                'rsoft_voucher.msg_voucher_pin_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.batch, Index.Equality()),
                    (t.state, Index.Equality())),
                Index(t, (t.partner, Index.Equality()),
                    (t.state, Index.Equality())),
                Index(t, (t.state, Index.Equality()),
                    (t.expiry_date, Index.Range())),
                Index(t, (t.redeemed_by, Index.Equality()),
                    where=t.redeemed_by != None),  # noqa: E711
                # The CAS asks whether a subscription line is a voucher's
                Index(t, (t.line, Index.Equality()),
                    where=t.line != None),  # noqa: E711
                })
        cls._order = [('serial', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_state(cls):
        return 'generated'

    def get_template(self, name):
        return getattr(self.template, name)

    def get_currency(self, name):
        return self.company.currency.id

    @classmethod
    def check_modification(cls, mode, vouchers, values=None, external=False):
        super().check_modification(
            mode, vouchers, values=values, external=external)
        if mode == 'create' and external:
            raise RangeError(gettext('rsoft_voucher.msg_voucher_create'))
        if mode == 'delete':
            raise RangeError(gettext(
                    'rsoft_voucher.msg_voucher_delete',
                    voucher=vouchers[0].rec_name))

    @classmethod
    def copy(cls, vouchers, default=None):
        if vouchers:
            raise RangeError(gettext(
                    'rsoft_voucher.msg_voucher_copy',
                    voucher=vouchers[0].rec_name))
        return super().copy(vouchers, default=default)

    # Ranges

    @classmethod
    def in_range(cls, first, last):
        """Return the vouchers from serial first to last, as the user
        sees them (an LCO login: its own)

        Both serials have the prefix and width of one template: the
        serials between them in text order are those printed between."""
        first, last = (first or '').strip(), (last or '').strip()
        if (len(first) != len(last) or not first
                or _prefix(first) != _prefix(last) or first > last):
            raise RangeError(gettext(
                    'rsoft_voucher.msg_range_invalid',
                    first=first, last=last))
        vouchers = cls.search([
                ('serial', '>=', first),
                ('serial', '<=', last),
                ('company', '=', Transaction().context.get('company')),
                ], order=[('serial', 'ASC')])
        if not vouchers:
            raise RangeError(gettext(
                    'rsoft_voucher.msg_range_empty',
                    first=first, last=last))
        return vouchers

    @classmethod
    def _check_states(cls, vouchers, states, action):
        for voucher in vouchers:
            if voucher.state not in states:
                raise RangeError(gettext(
                        'rsoft_voucher.msg_range_state',
                        voucher=voucher.rec_name,
                        state=voucher.state_string,
                        action=gettext(f'rsoft_voucher.msg_action_{action}')))

    @classmethod
    def _transition(cls, vouchers, state, values=None, note=None,
            moves=None):
        """Set vouchers to state with values, and append the change to
        their history; moves: {voucher id: move}"""
        pool = Pool()
        Configuration = pool.get('rsoft.voucher.configuration')
        Date = pool.get('ir.date')
        Event = pool.get('rsoft.voucher.event')
        if not vouchers:
            return
        today = Date.today()
        now = Configuration.now()
        user = Transaction().user or None
        moves = moves or {}
        rows = [{
                'voucher': v.id, 'at': now, 'user': user,
                'from_state': v.state, 'to_state': state,
                'note': note,
                'move': moves[v.id].id if v.id in moves else None,
                } for v in vouchers]
        values = {**(values or {}), 'state': state, 'state_date': today}
        with without_check_access():
            for sub in grouped_slice(vouchers, 10_000):
                cls.write(list(sub), values)
        writer = BulkWriter()
        ids = writer.allocate(Event, len(rows))
        writer.insert(Event, [{'id': i, **r} for i, r in zip(ids, rows)])

    @classmethod
    def allocate(cls, vouchers, partner, date=None):
        """Sell the generated vouchers to partner: they go to its stock,
        its party owes their price and the operator their face value"""
        pool = Pool()
        Date = pool.get('ir.date')
        date = date or Date.today()
        cls._check_states(vouchers, {'generated'}, 'allocate')
        for template in {v.template for v in vouchers}:
            if not template.allows_partner(partner):
                raise RangeError(gettext(
                        'rsoft_voucher.msg_allocate_partner',
                        template=template.rec_name,
                        partner=partner.rec_name))
        move = cls._allocation_move(vouchers, partner, date)
        cls._transition(vouchers, 'allocated', {
                'partner': partner.id,
                'allocated_date': date,
                }, note=partner.rec_name,
            moves=dict.fromkeys((v.id for v in vouchers), move))
        return move

    @classmethod
    def _allocation_move(cls, vouchers, partner, date):
        pool = Pool()
        Configuration = pool.get('rsoft.voucher.configuration')
        Line = pool.get('account.move.line')
        Party = pool.get('party.party')
        config = Configuration(1)
        company = partner.company
        by_template = defaultdict(int)
        for voucher in vouchers:
            by_template[voucher.template] += 1
        currency = company.currency
        face = sum((t.face_value * n for t, n in by_template.items()),
            Decimal(0))
        price = sum((t.partner_price * n for t, n in by_template.items()),
            Decimal(0))
        face, price = currency.round(face), currency.round(price)
        with Transaction().set_context(company=company.id):
            party = Party(partner.party.id)
            receivable = party.account_receivable_used
        lines = [
            Line(account=config.get_account('liability_account', company),
                party=party, debit=Decimal(0), credit=face),
            ]
        if price:
            lines.append(Line(account=receivable, party=party,
                    debit=price, credit=Decimal(0), maturity_date=date))
        if face != price:
            account = config.get_account('discount_account', company)
            lines.append(Line(account=account,
                    party=party if account.party_required else None,
                    debit=face - price, credit=Decimal(0)))
        description = gettext('rsoft_voucher.msg_move_allocation',
            first=vouchers[0].serial, last=vouchers[-1].serial,
            count=len(vouchers), partner=partner.rec_name)
        return cls._post_move(company, date, description, lines)

    @classmethod
    def _post_move(cls, company, date, description, lines):
        pool = Pool()
        Configuration = pool.get('rsoft.voucher.configuration')
        Move = pool.get('account.move')
        Period = pool.get('account.period')
        config = Configuration(1)
        move = Move(
            company=company,
            journal=config.get_account('voucher_journal', company),
            period=Period.find(company, date=date),
            date=date,
            description=description,
            lines=lines)
        move.save()
        Move.post([move])
        return move

    @classmethod
    def activate(cls, vouchers, date=None):
        """Mark the allocated vouchers sold: their validity from
        activation starts"""
        pool = Pool()
        Date = pool.get('ir.date')
        date = date or Date.today()
        cls._check_states(vouchers, {'allocated'}, 'activate')
        by_expiry = defaultdict(list)
        for voucher in vouchers:
            by_expiry[voucher.template.expiry(date)].append(voucher)
        for expiry, records in by_expiry.items():
            cls._transition(records, 'active', {
                    'activated_date': date,
                    'expiry_date': expiry,
                    })

    @classmethod
    def block(cls, vouchers, note=None):
        """Block the vouchers that may still be sold or redeemed (a stolen
        box of cards); return them"""
        blocked = [v for v in vouchers if v.state in BLOCKABLE]
        by_state = defaultdict(list)
        for voucher in blocked:
            by_state[voucher.state].append(voucher)
        for state, records in by_state.items():
            cls._transition(records, 'blocked', {'blocked_from': state},
                note=note)
        return blocked

    @classmethod
    def unblock(cls, vouchers, note=None):
        "Return the blocked vouchers to the state they were blocked in"
        cls._check_states(vouchers, {'blocked'}, 'unblock')
        by_state = defaultdict(list)
        for voucher in vouchers:
            by_state[voucher.blocked_from].append(voucher)
        for state, records in by_state.items():
            cls._transition(records, state, {'blocked_from': None},
                note=note)

    @classmethod
    def expire(cls, date=None):
        """Expire the vouchers past their last day and release the
        liability of those sold to a partner (the daily job)"""
        pool = Pool()
        Company = pool.get('company.company')
        Date = pool.get('ir.date')
        expired = []
        for company in Company.search([]):
            with Transaction().set_context(company=company.id):
                today = date or Date.today()
                with without_check_access():
                    vouchers = cls.search([
                            ('company', '=', company.id),
                            ('state', 'in', list(EXPIRABLE)),
                            ('expiry_date', '<', today),
                            ])
                moves = cls._expiry_moves(company, vouchers, today)
                cls._transition(vouchers, 'expired', moves=moves)
                expired.extend(vouchers)
        return expired

    @classmethod
    def _expiry_moves(cls, company, vouchers, date):
        "Return {voucher id: move} of the liability released per partner"
        pool = Pool()
        Configuration = pool.get('rsoft.voucher.configuration')
        Line = pool.get('account.move.line')
        config = Configuration(1)
        by_partner = defaultdict(list)
        for voucher in vouchers:
            if voucher.state in LIABLE and voucher.partner:
                by_partner[voucher.partner].append(voucher)
        moves = {}
        for partner, records in by_partner.items():
            amount = company.currency.round(sum(
                    (v.template.face_value for v in records), Decimal(0)))
            account = config.get_account('expiry_account', company)
            move = cls._post_move(company, date, gettext(
                    'rsoft_voucher.msg_move_expiry',
                    count=len(records), partner=partner.rec_name), [
                    Line(account=config.get_account(
                            'liability_account', company),
                        party=partner.party, debit=amount,
                        credit=Decimal(0)),
                    Line(account=account,
                        party=partner.party if account.party_required
                        else None,
                        debit=Decimal(0), credit=amount),
                    ])
            moves.update(dict.fromkeys((v.id for v in records), move))
            cls.write(records, {'move': move.id})
        return moves

    @classmethod
    def purge(cls, date=None):
        """Forget the PIN hashes of the vouchers redeemed or expired more
        than the retention days ago (the daily job)"""
        pool = Pool()
        Configuration = pool.get('rsoft.voucher.configuration')
        Date = pool.get('ir.date')
        today = date or Date.today()
        limit = today - dt.timedelta(
            days=Configuration(1).retention_days)
        with without_check_access():
            vouchers = cls.search([
                    ('state', 'in', list(PURGEABLE)),
                    ('state_date', '<=', limit),
                    ])
        cls._transition(vouchers, 'purged', {'pin_hash': None})
        return vouchers

    @classmethod
    def expire_daily(cls):
        "The scheduled job: expire, then purge"
        cls.expire()
        cls.purge()


def _prefix(serial):
    return serial.rstrip('0123456789')


class Event(AppendOnlyMixin, ModelSQL, ModelView):
    "A change of state of a voucher: who, when, from what to what, why"
    __name__ = 'rsoft.voucher.event'
    __string__ = "Voucher Event"
    _append_only_message = 'rsoft_voucher.msg_event_append_only'

    voucher = fields.Many2One(
        'rsoft.voucher', "Voucher", required=True, readonly=True,
        ondelete='CASCADE')
    at = fields.DateTime("At", required=True, readonly=True)
    user = fields.Many2One(
        'res.user', "User", readonly=True, ondelete='RESTRICT')
    from_state = fields.Selection(
        STATES, "From", required=True, readonly=True)
    to_state = fields.Selection(STATES, "To", required=True, readonly=True)
    note = fields.Char("Note", readonly=True)
    move = fields.Many2One(
        'account.move', "Move", readonly=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.voucher, Index.Equality()),
                (t.at, Index.Range())))
        cls._order = [('at', 'DESC'), ('id', 'DESC')]
        cls.__access__.add('voucher')


class RangeStart(ModelView):
    "A range of serials, and the partner or note of the operation"
    __name__ = 'rsoft.voucher.range.start'
    __string__ = "Voucher Range"

    operation = fields.Selection([
            ('allocate', "Allocate"),
            ('activate', "Sell"),
            ('block', "Block"),
            ('unblock', "Unblock"),
            ], "Operation", readonly=True)
    first = fields.Char("First Serial", required=True, strip=True)
    last = fields.Char("Last Serial", required=True, strip=True)
    partner = fields.Many2One(
        'rsoft.partner', "Partner",
        domain=[('role', 'in', ['distributor', 'jv', 'lco'])],
        states={
            'required': Eval('operation') == 'allocate',
            'invisible': Eval('operation') != 'allocate',
            })
    note = fields.Char(
        "Note",
        states={
            'invisible': ~Eval('operation').in_(['block', 'unblock']),
            },
        help="Why, e.g. the police report of a stolen box of cards.")


class _RangeWizard(Wizard):
    start = StateView(
        'rsoft.voucher.range.start', 'rsoft_voucher.range_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("OK", 'apply', 'tryton-ok', default=True),
            ])
    apply = StateTransition()
    operation = None

    def default_start(self, fields):
        values = {'operation': self.operation}
        if self.model and self.model.__name__ == 'rsoft.voucher':
            serials = sorted(v.serial for v in self.records)
            if serials:
                values['first'], values['last'] = serials[0], serials[-1]
        elif self.model and self.model.__name__ == 'rsoft.voucher.batch':
            values['first'] = self.record.first_serial
            values['last'] = self.record.last_serial
        return values

    def transition_apply(self):
        pool = Pool()
        Voucher = pool.get('rsoft.voucher')
        # The range is searched as the user sees it: an LCO login finds
        # its own vouchers only
        vouchers = Voucher.in_range(self.start.first, self.start.last)
        self.apply_to(Voucher, vouchers)
        return 'end'


class Allocate(_RangeWizard):
    "Allocate a range of vouchers to a partner"
    __name__ = 'rsoft.voucher.allocate'
    operation = 'allocate'

    def apply_to(self, Voucher, vouchers):
        Voucher.allocate(vouchers, self.start.partner)


class Activate(_RangeWizard):
    "Mark a range of vouchers sold"
    __name__ = 'rsoft.voucher.activate'
    operation = 'activate'

    def apply_to(self, Voucher, vouchers):
        Voucher.activate(vouchers)


class Block(_RangeWizard):
    "Block a range of vouchers"
    __name__ = 'rsoft.voucher.block'
    operation = 'block'

    def apply_to(self, Voucher, vouchers):
        Voucher.block(vouchers, self.start.note)


class Unblock(_RangeWizard):
    "Unblock a range of vouchers"
    __name__ = 'rsoft.voucher.unblock'
    operation = 'unblock'

    def apply_to(self, Voucher, vouchers):
        Voucher.unblock(
            [v for v in vouchers if v.state == 'blocked'], self.start.note)
