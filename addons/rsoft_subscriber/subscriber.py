from collections import defaultdict

from sql import Null, Union
from sql.conditionals import Coalesce

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
from trytond.modules.rsoft_catalogue.ncf import CUSTOMER_CLASSES
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import escape_wildcard
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import DuplicateWarning, LifecycleError, PartyAccessError
from .kyc import (
    ID_PROOF_TYPES,
    aadhaar_values,
    check_aadhaar,
    create_secret_table,
    is_masked_aadhaar,
    normalize_email,
    normalize_id_proof,
    normalize_phone,
)
from .lifecycle import LIFECYCLE_FIELDS, SUSPENSION_REASONS, LifecycleMixin

_READONLY = {
    'readonly': Eval('state').in_(['terminated', 'archived']),
    }


class Subscriber(
        SystemFieldsMixin, LifecycleMixin, DeactivableMixin, ModelSQL,
        ModelView):
    "A subscriber account, holding what TRAI Schedule III asks an SMS to keep"
    __name__ = 'rsoft.subscriber'
    __string__ = "Subscriber"

    customer_id = fields.Char(
        "Customer ID", readonly=True, strip=True,
        help="The unique customer ID, given from a sequence on creation.")
    party = fields.Many2One(
        'party.party', "Name", required=True, ondelete='RESTRICT',
        states=_READONLY,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The person or organisation holding the account.")
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    lco = fields.Many2One(
        'rsoft.partner', "LCO", required=True, ondelete='RESTRICT',
        domain=[('role', '=', 'lco')], states=_READONLY,
        help="The local cable operator that serves the subscriber.")
    region = fields.Function(
        fields.Many2One('rsoft.region', "Region"), 'get_region')
    customer_class = fields.Selection(
        CUSTOMER_CLASSES, "Customer Class", required=True, states=_READONLY,
        help="Decides which NCF rule applies.")
    contract_number = fields.Char(
        "Contract (CAF) Number", strip=True, states=_READONLY,
        help="The number of the signed customer application form.")
    contract_date = fields.Date("Contract Date", states=_READONLY)
    billing_address = fields.Many2One(
        'party.address', "Billing Address", ondelete='RESTRICT',
        domain=[('party', '=', Eval('party', -1))], states=_READONLY)
    installation_address = fields.Many2One(
        'party.address', "Installation Address", ondelete='RESTRICT',
        domain=[('party', '=', Eval('party', -1))], states=_READONLY,
        help="The default installation address of new connections.")
    mobile = fields.Char(
        "Registered Mobile", required=True, states=_READONLY,
        help="Receives receipts, alerts and OTPs.")
    landline = fields.Char("Landline", states=_READONLY)
    email = fields.Char("E-mail", states=_READONLY)
    id_proof_type = fields.Selection(
        ID_PROOF_TYPES, "ID Proof", states=_READONLY)
    id_proof_number = fields.Char(
        "ID Proof Number", strip=True,
        states={
            'required': Eval('id_proof_type', None) != None,  # noqa: E711
            'invisible': Eval('id_proof_type', None) == None,  # noqa: E711
            **_READONLY,
            },
        help="An Aadhaar number is kept masked: only its last four digits.")
    aadhaar_hash = fields.Char(
        "Aadhaar Hash", readonly=True,
        help="The keyed hash of the Aadhaar number, "
        "to find another account with the same number.")
    parent = fields.Many2One(
        'rsoft.subscriber', "Parent Account", ondelete='RESTRICT',
        domain=[('id', '!=', Eval('id', -1))], states=_READONLY,
        help="The account above this one, such as a hotel or a housing "
        "society holding the accounts of its rooms or flats.")
    children = fields.One2Many(
        'rsoft.subscriber', 'parent', "Child Accounts", readonly=True)
    connections = fields.One2Many(
        'rsoft.connection', 'subscriber', "Connections",
        states=_READONLY)
    lines = fields.Function(
        fields.Many2Many(
            'rsoft.subscription.line', None, None, "Subscriptions"),
        'get_lines')
    events = fields.One2Many(
        'rsoft.subscriber.event', 'subscriber', "History", readonly=True)

    @classmethod
    def __setup__(cls):
        cls.customer_id.search_unaccented = False
        cls.mobile.search_unaccented = False
        super().__setup__()
        cls._system_fields |= LIFECYCLE_FIELDS | {
            'customer_id', 'aadhaar_hash', 'active'}
        t = cls.__table__()
        cls._sql_constraints += [
            ('customer_id_unique', Unique(t, t.customer_id),
                'rsoft_subscriber.msg_customer_id_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.mobile, Index.Equality())),
                # Found by a part of them (lookup_domain): trigram indexes
                # where PostgreSQL has pg_trgm
                Index(t, (t.mobile, Index.Similarity())),
                Index(t, (Coalesce(t.customer_id, ''), Index.Similarity())),
                Index(t, (t.party, Index.Equality())),
                Index(t, (t.id_proof_number, Index.Equality())),
                Index(t, (t.aadhaar_hash, Index.Equality())),
                Index(t, (t.lco, Index.Equality()),
                    (t.state, Index.Equality())),
                })
        cls._order = [('customer_id', 'DESC'), ('id', 'DESC')]

    @classmethod
    def __register__(cls, module):
        create_secret_table()
        super().__register__(module)
        cls._migrate_aadhaar()

    @classmethod
    def _migrate_aadhaar(cls):
        "Hash then mask the Aadhaar numbers stored in clear"
        # Raw SQL: a migration runs before the pool is ready for the ORM
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        cursor.execute(*table.select(table.id, table.id_proof_number,
                where=(table.id_proof_type == 'aadhaar')
                & (table.id_proof_number != Null)
                & (table.aadhaar_hash == Null)))
        for id_, number in cursor.fetchall():
            if is_masked_aadhaar(number):
                continue
            values = aadhaar_values(number)
            cursor.execute(*table.update(
                    [table.id_proof_number, table.aadhaar_hash],
                    [values['id_proof_number'], values['aadhaar_hash']],
                    where=table.id == id_))

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_customer_class(cls):
        return 'residential'

    def get_rec_name(self, name):
        if self.customer_id:
            return f'{self.customer_id} - {self.party.rec_name}'
        return self.party.rec_name

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause[:3]
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('customer_id', operator, value, *clause[3:]),
            ('party.name', operator, value, *clause[3:]),
            ('mobile', operator, value, *clause[3:]),
            ('contract_number', operator, value, *clause[3:]),
            ]

    @classmethod
    def lookup_domain(cls, text):
        """Return the domain of the accounts a clerk means by text: a part
        of a customer ID, registered mobile, box or card serial or of the
        holder's name"""
        pattern = f'%{escape_wildcard(text)}%'
        # A union of one query per column, each on its own trigram index
        # (where PostgreSQL has pg_trgm): an OR of them across the joined
        # tables scans every account of the LCO
        queries = [cls.search(domain, order=[], query=True)
            for domain in cls._lookup_domains(text, pattern)]
        return [('id', 'in', Union(*queries) if len(queries) > 1
                else queries[0])]

    @classmethod
    def _lookup_domains(cls, text, pattern):
        "Return the domains text may match, each searched on its own"
        # An ID and a mobile hold digits, a mobile nothing else; a name
        # holds letters, or whatever else a clerk types, but is not one
        # word of letters and digits as an ID
        digits = any(c.isdigit() for c in text)
        letters = any(c.isalpha() for c in text)
        domains = []
        if digits:
            domains.append([('customer_id', 'ilike', pattern)])
        if digits and not letters:
            domains.append([('mobile', 'ilike', pattern)])
        if not digits or (letters and len(text.split()) > 1):
            domains.append([('party', 'where', [('name', 'ilike', pattern)])])
        return domains

    def get_region(self, name):
        region = self.lco.get_region() if self.lco else None
        return region.id if region else None

    def get_lines(self, name):
        return [line.id for c in self.connections for line in c.lines]

    def _event_values(self):
        return {'subscriber': self.id}

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Configuration = pool.get('rsoft.subscriber.configuration')
        values = super().preprocess_values(mode, values)
        config = Configuration(1)
        country = config.phone_country
        if values.get('mobile'):
            values['mobile'] = normalize_phone(
                values['mobile'], country, mobile=True)
        if values.get('landline'):
            values['landline'] = normalize_phone(values['landline'], country)
        if values.get('email'):
            values['email'] = normalize_email(values['email'])
        cls._preprocess_aadhaar(values)
        # Last: a refused record must not consume a customer ID
        if mode == 'create' and not values.get('customer_id'):
            values['customer_id'] = config.subscriber_sequence.get()
        return values

    @classmethod
    def _preprocess_aadhaar(cls, values):
        "Keep of an Aadhaar number only its mask and its keyed hash"
        if 'id_proof_type' in values and values['id_proof_type'] != 'aadhaar':
            values['aadhaar_hash'] = None
        number = values.get('id_proof_number')
        if 'id_proof_number' in values and not number:
            values['aadhaar_hash'] = None
        elif (values.get('id_proof_type') == 'aadhaar'
                and not is_masked_aadhaar(number)):
            values.update(aadhaar_values(check_aadhaar(number)))

    @classmethod
    def check_parties_readable(cls, party_ids):
        "Refuse to open an account for a party the user may not read"
        pool = Pool()
        Party = pool.get('party.party')
        if not Transaction().check_access or not party_ids:
            return
        readable = {p.id for p in Party.search([
                    ('id', 'in', list(party_ids)),
                    ('active', 'in', [True, False]),
                    ])}
        for party_id in sorted(party_ids - readable):
            raise PartyAccessError(gettext(
                    'rsoft_subscriber.msg_party_forbidden', party=party_id))

    @classmethod
    def create(cls, vlist):
        # Checked before the account makes the party readable to the user
        cls.check_parties_readable(
            {v['party'] for v in vlist if v.get('party')})
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        # preprocess_values sees only the values: give it the type of
        # the ID proof whose number is written
        actions = iter(args)
        args = []
        for subscribers, values in zip(actions, actions):
            if values.get('party'):
                cls.check_parties_readable({values['party']})
            if 'id_proof_number' in values and 'id_proof_type' not in values:
                by_type = defaultdict(list)
                for subscriber in subscribers:
                    by_type[subscriber.id_proof_type].append(subscriber)
                for kind, records in by_type.items():
                    args.extend(
                        (records, {**values, 'id_proof_type': kind}))
            else:
                args.extend((subscribers, values))
        super().write(*args)

    @classmethod
    def validate_fields(cls, subscribers, field_names):
        super().validate_fields(subscribers, field_names)
        if field_names & {'id_proof_type', 'id_proof_number'}:
            cls.check_id_proofs(subscribers)
        if field_names & {'mobile', 'id_proof_number', 'aadhaar_hash'}:
            cls.check_duplicates(subscribers)

    @classmethod
    def check_id_proofs(cls, subscribers):
        to_write = []
        for subscriber in subscribers:
            kind = subscriber.id_proof_type
            number = subscriber.id_proof_number
            if not (kind and number):
                continue
            if kind == 'aadhaar':
                # A number kept under another type, now called Aadhaar
                if not is_masked_aadhaar(number):
                    to_write.extend(([subscriber], aadhaar_values(
                                check_aadhaar(number, subscriber.rec_name))))
                continue
            compact = normalize_id_proof(kind, number, subscriber.rec_name)
            if compact != number:
                to_write.extend(([subscriber], {'id_proof_number': compact}))
        if to_write:
            cls.write(*to_write)

    @classmethod
    def check_duplicates(cls, subscribers):
        "Warn, without refusing, of another account with the same mobile or ID"
        pool = Pool()
        Warning = pool.get('res.user.warning')
        for field, subscriber, other in cls.find_duplicates(subscribers):
            key = Warning.format(f'rsoft_duplicate_{field}', [subscriber])
            if Warning.check(key):
                raise DuplicateWarning(
                    key, subscriber.duplicate_message(field, other))

    @classmethod
    def find_duplicates(cls, subscribers):
        """Return [(field, subscriber, other)]: for each of mobile, Aadhaar
        and ID proof, an account other than subscribers with the value of
        one of them"""
        # A masked Aadhaar number is compared by its hash
        checks = [
            ('mobile', subscribers, []),
            ('aadhaar_hash', subscribers, []),
            ('id_proof_number',
                [s for s in subscribers if s.id_proof_type != 'aadhaar'],
                [('id_proof_type', '!=', 'aadhaar')]),
            ]
        duplicates = []
        for field, records, domain in checks:
            values = {getattr(s, field) for s in records} - {None, ''}
            if not values:
                continue
            others = cls.search([
                    (field, 'in', list(values)),
                    ('id', 'not in', [s.id for s in subscribers]),
                    ('active', 'in', [True, False]),
                    *domain,
                    ], limit=1)
            if others:
                other, = others
                subscriber = next(
                    s for s in records
                    if getattr(s, field) == getattr(other, field))
                duplicates.append((field, subscriber, other))
        return duplicates

    def duplicate_message(self, field, other):
        "Return the message of other having the same field as self"
        value = (other.id_proof_number if field == 'aadhaar_hash'
            else getattr(other, field))
        return gettext(f'rsoft_subscriber.msg_duplicate_{field}',
            subscriber=self.rec_name, other=other.rec_name, value=value)

    @classmethod
    def copy(cls, subscribers, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('customer_id')
        default.setdefault('connections')
        default.setdefault('events')
        default.setdefault('activation_date')
        default.setdefault('termination_date')
        default.setdefault('state', 'draft')
        default.setdefault('suspension_reason')
        default.setdefault('suspension_note')
        default.setdefault('active', True)
        # A copy is another person: its ID proof is given anew
        default.setdefault('id_proof_type')
        default.setdefault('id_proof_number')
        default.setdefault('aadhaar_hash')
        return super().copy(subscribers, default=default)

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def activate(cls, subscribers, date=None):
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        date = cls._date(date)
        resumed = [s for s in subscribers if s.state == 'suspended']
        if resumed:
            cls.resume(resumed, date)
        drafts = [s for s in subscribers if s.state == 'draft']
        for subscriber in drafts:
            if not subscriber.connections:
                raise LifecycleError(gettext(
                        'rsoft_subscriber.msg_activate_no_connection',
                        subscriber=subscriber.rec_name))
        # The connections can be activated only below an active account
        cls._enter(drafts, 'active', date, activation_date=date)
        Connection.activate([c for s in drafts for c in s.connections
                if c.state == 'draft'], date)

    @classmethod
    @Workflow.transition('suspended')
    def do_suspend(cls, subscribers, reason, note=None, date=None):
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        date = cls._date(date)
        cls._enter(subscribers, 'suspended', date,
            **cls._suspension_values(reason, note))
        Connection.do_suspend([c for s in subscribers for c in s.connections
                if c.state == 'active'], reason, note, date)

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def resume(cls, subscribers, date=None):
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        date = cls._date(date)
        # Only the connections the account suspension stopped come back
        connections = [c for s in subscribers for c in s.connections
            if c.state == 'suspended'
            and c.suspension_reason == s.suspension_reason]
        cls._enter(subscribers, 'active', date,
            suspension_reason=None, suspension_note=None)
        Connection.resume(connections, date)

    @classmethod
    @ModelView.button
    @Workflow.transition('terminated')
    def terminate(cls, subscribers, date=None):
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        date = cls._date(date)
        connections = [c for s in subscribers for c in s.connections
            if c.state in {'active', 'suspended'}]
        cls._enter(subscribers, 'terminated', date, termination_date=date)
        Connection.terminate(connections, date)

    @classmethod
    @ModelView.button
    @Workflow.transition('archived')
    def archive(cls, subscribers):
        cls._enter(subscribers, 'archived', cls._date(), active=False)


class SuspendStart(ModelView):
    __name__ = 'rsoft.subscriber.suspend.start'
    __string__ = "Suspend"

    reason = fields.Selection(
        [r for r in SUSPENSION_REASONS if r[0]], "Reason", required=True)
    note = fields.Char("Note")
    date = fields.Date(
        "Date", required=True,
        help="The first day without service.")

    @classmethod
    def default_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Date.today()


class Suspend(Wizard):
    "Suspend accounts or connections with a reason"
    __name__ = 'rsoft.subscriber.suspend'

    start = StateView(
        'rsoft.subscriber.suspend.start',
        'rsoft_subscriber.suspend_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Suspend", 'suspend', 'tryton-pause', default=True),
            ])
    suspend = StateTransition()

    def transition_suspend(self):
        self.model.do_suspend(
            list(self.records), self.start.reason, self.start.note,
            self.start.date)
        return 'end'
