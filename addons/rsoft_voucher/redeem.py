"""Redemption: the one method behind the back office, the portals and the
API, and the tries it counts

A try names a PIN (and maybe the serial printed beside it). Whatever
makes it fail on the card (no such PIN, another serial, not sold yet,
redeemed, blocked, expired, not sold in the subscriber's region) the
answer is the same refusal, so that guessing learns nothing. Wrong tries
are counted per account, per LCO login and per client address; past the
configured number within the window every try of that account, login or
address is refused, right PIN or not. Every try is logged, never its
PIN."""
import datetime as dt
import hmac
from decimal import Decimal

from sql import Literal

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.modules.rsoft_billing.charge import ONE_TIME_KINDS, Rater
from trytond.modules.rsoft_billing.common import savepoint
from trytond.modules.rsoft_subscriber.connection import TV_KINDS
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateAction, StateView, Wizard

from .batch import pin_hash
from .exceptions import RedeemRefused, VoucherError
from .template import normalize_pin
from .voucher import SOURCES

RESULTS = [
    ('redeemed', "Redeemed"),
    ('refused', "Refused"),
    ('locked', "Locked Out"),
    ]
# Why a try was refused: for the operator's eyes only, never the
# redeemer's
REASONS = [
    (None, ''),
    ('unknown', "Unknown PIN"),
    ('serial', "Other Serial"),
    ('state', "Not Redeemable"),
    ('expired', "Expired"),
    ('region', "Not Sold There"),
    ('taken', "Redeemed Meanwhile"),
    ('offer', "Offer Refused"),
    ('locked', "Locked Out"),
    ]
# What the redeemer may type, to bound what is hashed and logged
MAX_PIN = 64
MAX_SERIAL = 32


class Voucher(metaclass=PoolMeta):
    __name__ = 'rsoft.voucher'

    @classmethod
    def redeem(cls, subscriber, pin, serial=None, connection=None,
            source='back_office', login=None, ip_address=None):
        """Redeem the voucher of pin (and serial, when typed) for
        subscriber and return it

        A top-up voucher credits the account's wallet its face value and
        renews the account when it is due; a product voucher adds its
        offer for its days to connection (by default the account's only
        active TV connection), invoiced and paid by the voucher; the CAS
        is commanded at commit. A voucher redeems once, even when two
        tries race: the second finds it redeemed.

        Raise RedeemRefused, the same message whatever was wrong with the
        card, when the try fails or its account, login or address is
        locked out; another UserError names what refused the offer of a
        right PIN (the voucher stays as it was). Runs as the system:
        callers scope subscriber and connection to their user first."""
        pool = Pool()
        Configuration = pool.get('rsoft.voucher.configuration')
        Subscriber = pool.get('rsoft.subscriber')
        Attempt = pool.get('rsoft.voucher.attempt')
        subscriber = Subscriber(int(subscriber))
        company = subscriber.company
        with without_check_access(), \
                Transaction().set_context(company=company.id):
            now = Configuration.now()
            pin = normalize_pin(str(pin or ''))[:MAX_PIN]
            serial = (serial or '').strip().upper()[:MAX_SERIAL] or None
            attempt = {
                'company': company.id,
                'at': now,
                'account': str(subscriber),
                'serial': serial,
                'login': (login or '')[:64] or None,
                'ip_address': (str(ip_address)[:64]
                    if ip_address else None),
                'source': source,
                }
            if Attempt.locked(attempt, now):
                Attempt.log(attempt, 'locked', 'locked')
                raise RedeemRefused(
                    gettext('rsoft_voucher.msg_redeem_refused'))
            secret = Configuration.pin_secret()
            voucher, reason = cls._find(company, pin, serial, secret)
            if voucher and not reason:
                connection, reason = voucher._check_redeemable(
                    subscriber, connection)
            if reason:
                attempt['voucher'] = str(voucher) if voucher else None
                Attempt.log(attempt, 'refused', reason)
                raise RedeemRefused(
                    gettext('rsoft_voucher.msg_redeem_refused'))
            attempt['voucher'] = str(voucher)
            try:
                voucher._lock_for(subscriber)
                with savepoint('rsoft_voucher_redeem'):
                    if not cls._claim(voucher):
                        raise RedeemRefused(gettext(
                                'rsoft_voucher.msg_redeem_refused'))
                    voucher = cls(voucher.id)
                    voucher._redeem(subscriber, connection, now, source,
                        login)
            except RedeemRefused:
                Attempt.log(attempt, 'refused', 'taken')
                raise
            except UserError:
                Attempt.log(attempt, 'refused', 'offer')
                raise
            Attempt.log(attempt, 'redeemed', None, own_transaction=False)
            voucher._renew_if_due(subscriber)
        return cls(voucher.id)

    @classmethod
    def _find(cls, company, pin, serial, secret):
        "Return the voucher of pin and why it may not be redeemed"
        pool = Pool()
        Date = pool.get('ir.date')
        digest = pin_hash(secret, pin) if pin else ''
        row = None
        if pin:
            # In SQL: the ORM compares a Char as COALESCE(pin_hash, ''),
            # which the index of the hashes does not serve; a million
            # cards would be read for each try
            table = cls.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.select(table.id,
                    where=(table.company == company.id)
                    & (table.pin_hash == digest),
                    limit=1))
            row = cursor.fetchone()
        if not row:
            return None, 'unknown'
        voucher = cls(row[0])
        # The index found it; the comparisons still take the same time
        # whatever they compare
        if not hmac.compare_digest(voucher.pin_hash, digest):
            return None, 'unknown'
        if serial is not None and not hmac.compare_digest(
                serial.encode(), voucher.serial.upper().encode()):
            return voucher, 'serial'
        if voucher.state != 'active':
            return voucher, 'state'
        if voucher.expiry_date and voucher.expiry_date < Date.today():
            return voucher, 'expired'
        return voucher, None

    def _check_redeemable(self, subscriber, connection):
        """Return the connection a product goes to and why the voucher
        may not be redeemed by subscriber"""
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        template = self.template
        region = subscriber.lco.get_region() if subscriber.lco else None
        if not template.allows_region(region):
            return None, 'region'
        if template.kind != 'product':
            return None, None
        if connection is not None:
            connection = Connection(int(connection))
            if connection.subscriber != subscriber:
                raise VoucherError(gettext(
                        'rsoft_voucher.msg_redeem_connection',
                        connection=connection.rec_name,
                        subscriber=subscriber.rec_name))
            return connection, None
        connections = [c for c in subscriber.connections
            if c.state == 'active' and c.kind in TV_KINDS]
        if len(connections) != 1:
            raise VoucherError(gettext(
                    'rsoft_voucher.msg_redeem_which_connection',
                    subscriber=subscriber.rec_name))
        return connections[0], None

    def _lock_for(self, subscriber):
        """Ask for the rows the redemption locks before its work: the
        wallet of a top-up and the strict sequence of the moves

        Tryton starts a transaction again, with the rows locked from its
        start, at each lock it did not hold: asked for here, a restart
        repeats the lookup only, not the redemption."""
        pool = Pool()
        Date = pool.get('ir.date')
        Period = pool.get('account.period')
        Sequence = pool.get('ir.sequence.strict')
        Wallet = pool.get('rsoft.wallet')
        if self.template.kind == 'top_up':
            Wallet.lock(Wallet.get_wallets([subscriber]))
        period = Period.find(self.company, date=Date.today())
        Sequence.lock([period.move_sequence_used])

    @classmethod
    def _claim(cls, voucher):
        """Take the voucher from active to redeemed, unless another
        transaction did: a conditional update, which on PostgreSQL waits
        for the other to end; it then updates nothing, or, under
        repeatable read, fails to serialize: the voucher was taken"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        try:
            with savepoint('rsoft_voucher_claim'):
                cursor.execute(*table.update(
                        [table.state], [Literal('redeemed')],
                        where=(table.id == voucher.id)
                        & (table.state == 'active')))
        except backend.DatabaseOperationalError:
            return False
        return cursor.rowcount == 1

    def _redeem(self, subscriber, connection, now, source, login):
        pool = Pool()
        Date = pool.get('ir.date')
        Event = pool.get('rsoft.voucher.event')
        today = Date.today()
        values = {
            'state': 'redeemed',
            'state_date': today,
            'redeemed_by': subscriber.id,
            'redeemed_at': now,
            'source': source,
            'login': login,
            }
        if self.template.kind == 'top_up':
            values['wallet_entry'] = self._top_up(subscriber, today).id
        else:
            line, invoice, move = self._give_offer(
                subscriber, connection, today)
            values.update({
                    'connection': connection.id,
                    'line': line.id,
                    'invoice': invoice.id,
                    'move': move.id,
                    })
        self.write([self], values)
        user = Transaction().user or None
        Event.create([{
                    'voucher': self.id, 'at': now, 'user': user,
                    'from_state': 'active', 'to_state': 'redeemed',
                    'note': subscriber.rec_name,
                    'move': values.get('move'),
                    }])

    def _top_up(self, subscriber, today):
        "Credit the face value to the wallet, from the voucher liability"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        wallet, = Wallet.get_wallets([subscriber])
        entry, = Wallet.top_up([(wallet, self.template.face_value, today,
                    gettext('rsoft_voucher.msg_top_up_description',
                        serial=self.serial), self)])
        return entry

    def _renew_if_due(self, subscriber):
        """Renew a prepaid account due or expired now that its wallet
        holds more; a wallet still short leaves the money there"""
        pool = Pool()
        Date = pool.get('ir.date')
        Subscriber = pool.get('rsoft.subscriber')
        subscriber = Subscriber(subscriber.id)
        due = subscriber.next_bill_date
        if (self.template.kind != 'top_up'
                or subscriber.billing_mode != 'prepaid'
                or subscriber.state != 'active'
                or not due or due > Date.today()):
            return
        Subscriber.renew_each([subscriber])

    def _give_offer(self, subscriber, connection, today):
        """Add the offer to connection for the template's days, charged
        and invoiced at once and paid from the voucher liability"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Line = pool.get('rsoft.subscription.line')
        template = self.template
        start = self._offer_start(connection, today)
        end = start + dt.timedelta(days=template.days - 1)
        line, = Line.create([{
                    'connection': connection.id,
                    'product': template.product.id,
                    'term': 1,
                    'start_date': start,
                    }])
        charge = self._charge(subscriber, line, start, end)
        Line.activate([line])
        # Ended from the start, as a purchase is: the bill runs find its
        # days charged and the expiry lists leave it out
        Line.stop([line], end + dt.timedelta(days=1))
        invoice, = Invoice.rsoft_invoice([charge], today)
        move = self._pay_invoice(invoice, today)
        return Line(line.id), invoice, move

    def _offer_start(self, connection, today):
        """Return the first day of the offer on connection: today, or the
        day after its running lines of the offer end, as a second card
        adds its days after the first's

        An offer running without an end (subscribed, renewed with the
        account) is refused: the card would pay days already paid."""
        Line = Pool().get('rsoft.subscription.line')
        product = self.template.product
        # Searched: the connection's lines read before miss a card
        # redeemed in this transaction. A card's line is ended from its
        # start, its days still to come
        running = Line.search([
                ('connection', '=', connection.id),
                ('product', '=', product.id),
                ['OR',
                    [('state', '=', 'active'), ('end_date', '=', None)],
                    [('state', 'in', ['active', 'ended']),
                        ('end_date', '>=', today)],
                    ],
                ])
        if any(line.end_date is None for line in running):
            raise VoucherError(gettext(
                    'rsoft_voucher.msg_redeem_offer_running',
                    offer=product.rec_name,
                    connection=connection.rec_name))
        if running:
            return max(line.end_date for line in running) + dt.timedelta(
                days=1)
        return today

    def _charge(self, subscriber, line, start, end):
        """Return the charge of the offer's days: the face value without
        its taxes, as one period (the rating sees the line charged)"""
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        Tax = pool.get('account.tax')
        template = self.template
        currency = subscriber.company.currency
        product = template.product
        untaxed = currency.round(Tax.reverse_compute(
                template.face_value, product.customer_taxes_used, start))
        rater = Rater(start)
        text = gettext('rsoft_voucher.msg_charge_voucher',
            serial=self.serial, days=template.days)
        if product.template.rsoft_kind in ONE_TIME_KINDS:
            window, kind = (start, start, start, start), 'one_time'
        else:
            window, kind = (start, end, start, end), 'recurring'
        values = rater._values(subscriber, line, kind, window,
            [(window[0], window[1])], untaxed, untaxed, None, None, text)
        if kind == 'one_time':
            values['description'] = gettext(
                'rsoft_voucher.msg_charge_one_time',
                offer=product.rec_name, serial=self.serial)
        values['currency'] = currency.id
        charge, = Charge.create([values])
        return charge

    def _pay_invoice(self, invoice, date):
        """Pay invoice from the voucher liability; the paisa its taxes
        round off goes to the expiry income"""
        pool = Pool()
        Configuration = pool.get('rsoft.voucher.configuration')
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.move.line')
        Voucher = pool.get('rsoft.voucher')
        config = Configuration(1)
        company = invoice.company
        face = self.template.face_value
        lines = [
            Line(account=config.get_account('liability_account', company),
                party=self.partner.party, debit=face, credit=Decimal(0)),
            Line(account=invoice.account, party=invoice.party,
                debit=Decimal(0), credit=invoice.total_amount),
            ]
        difference = face - invoice.total_amount
        if difference:
            account = config.get_account('expiry_account', company)
            lines.append(Line(account=account,
                    party=invoice.party if account.party_required else None,
                    debit=max(-difference, 0), credit=max(difference, 0)))
        move = Voucher._post_move(company, date, gettext(
                'rsoft_voucher.msg_move_redeem', serial=self.serial,
                invoice=invoice.rec_name), lines)
        Line.reconcile(list(invoice.lines_to_pay) + [
                line for line in move.lines
                if line.account == invoice.account])
        Invoice.process([invoice])
        return move


class Attempt(ModelSQL, ModelView):
    "A try at redeeming a voucher: who, from where, what came of it"
    __name__ = 'rsoft.voucher.attempt'
    __string__ = "Voucher Redemption Attempt"

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    at = fields.DateTime("At", required=True, readonly=True)
    # References, not foreign keys: a refused try is logged in a
    # transaction of its own, which may not see the records of the one
    # that is rolled back
    account = fields.Reference(
        "Account", selection=[
            (None, ''),
            ('rsoft.subscriber', "Subscriber"),
            ], readonly=True)
    voucher = fields.Reference(
        "Voucher", selection=[
            (None, ''),
            ('rsoft.voucher', "Voucher"),
            ], readonly=True,
        help="The voucher of the PIN, when it was one.")
    serial = fields.Char("Serial Typed", readonly=True)
    login = fields.Char("Login", readonly=True)
    ip_address = fields.Char("Client Address", readonly=True)
    source = fields.Selection(SOURCES, "Source", readonly=True)
    result = fields.Selection(RESULTS, "Result", required=True,
        readonly=True)
    reason = fields.Selection(REASONS, "Reason", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.pop('create', None)
        cls.__rpc__.pop('write', None)
        cls.__rpc__.pop('delete', None)
        cls.__rpc__.pop('copy', None)
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.account, Index.Equality()),
                    (t.at, Index.Range())),
                Index(t, (t.login, Index.Equality()),
                    (t.at, Index.Range())),
                Index(t, (t.ip_address, Index.Equality()),
                    (t.at, Index.Range())),
                })
        cls._order = [('at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def locked(cls, attempt, now):
        """Whether the account, the login or the address of attempt
        reached the wrong tries allowed within the window"""
        pool = Pool()
        Configuration = pool.get('rsoft.voucher.configuration')
        config = Configuration(1)
        since = now - dt.timedelta(minutes=config.lockout_window)
        for name in ['account', 'login', 'ip_address']:
            if not attempt.get(name):
                continue
            count = cls.search([
                    (name, '=', attempt[name]),
                    ('result', '=', 'refused'),
                    ('at', '>', since),
                    ], count=True)
            if count >= config.lockout_tries:
                return True
        return False

    @classmethod
    def log(cls, attempt, result, reason, own_transaction=True):
        """Record the try; a refused one in a transaction of its own on
        PostgreSQL, kept when the refusal rolls the request back

        SQLite has one connection for all transactions: there the try is
        recorded in the caller's."""
        values = {**attempt, 'result': result, 'reason': reason}
        if own_transaction and backend.name == 'postgresql':
            transaction = Transaction()
            with transaction.new_transaction() as own:
                with own.set_user(transaction.user), \
                        own.set_context(transaction.context), \
                        without_check_access():
                    cls.create([values])
                own.commit()
        else:
            cls.create([values])


class RedeemStart(ModelView):
    "The PIN typed at the counter"
    __name__ = 'rsoft.voucher.redeem.start'
    __string__ = "Redeem Voucher"

    subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber", readonly=True)
    connection = fields.Many2One(
        'rsoft.connection', "Connection",
        domain=[('subscriber', '=', Eval('subscriber', -1))],
        help="The connection a product voucher gives its offer to; "
        "empty: the account's only TV connection.")
    serial = fields.Char(
        "Serial", strip=True,
        help="The serial printed on the card, if the subscriber reads it.")
    pin = fields.Char("PIN", required=True, strip=True)


class Redeem(Wizard):
    "Redeem a voucher for a subscriber at the counter"
    __name__ = 'rsoft.voucher.redeem'

    start = StateView(
        'rsoft.voucher.redeem.start', 'rsoft_voucher.redeem_start_view_form',
        [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Redeem", 'redeem', 'tryton-ok', default=True),
            ])
    redeem = StateAction('rsoft_voucher.act_voucher_form')

    def _subscriber(self):
        """Return the account the wizard was opened on: its action is
        bound to accounts and Wizard.check_access made sure the user
        reads it"""
        if not self.model or self.model.__name__ != 'rsoft.subscriber':
            raise VoucherError(gettext(
                    'rsoft_voucher.msg_redeem_model',
                    model=self.model.__name__ if self.model else ''))
        return self.record

    def default_start(self, fields):
        return {'subscriber': self._subscriber().id}

    def do_redeem(self, action):
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        Voucher = pool.get('rsoft.voucher')
        User = pool.get('res.user')
        subscriber = self._subscriber()
        pin, self.start.pin = self.start.pin, None
        connection = self.start.connection
        if connection:
            # Read as the user: the access check of the connection chosen
            Connection.read([connection.id], ['subscriber'])
        ip_address, _ = Transaction().remote_address()
        user = User(Transaction().user)
        voucher = Voucher.redeem(subscriber, pin, serial=self.start.serial,
            connection=connection, source='back_office', login=user.login,
            ip_address=ip_address)
        action['res_id'] = [voucher.id]
        return action, {'res_id': [voucher.id]}
