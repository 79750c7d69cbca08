from collections import defaultdict

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .exceptions import (
    ConnectionAccessError,
    ConnectionCodeError,
    LifecycleError,
)
from .lifecycle import LIFECYCLE_FIELDS, LifecycleMixin

KINDS = [
    ('primary_tv', "Primary TV"),
    ('second_tv', "Second TV"),
    ('broadband', "Broadband"),
    ('telephony', "Telephony"),
    ]
TV_KINDS = {'primary_tv', 'second_tv'}


class Connection(SystemFieldsMixin, LifecycleMixin, ModelSQL, ModelView):
    "An installation point of an account: one TV, or one line"
    __name__ = 'rsoft.connection'
    __string__ = "Connection"

    subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber", required=True, ondelete='CASCADE',
        states={
            'readonly': Eval('state') != 'draft',
            })
    number = fields.Integer(
        "Number", readonly=True,
        help="The rank of the connection in its account.")
    code = fields.Char("Code", readonly=True)
    kind = fields.Selection(
        KINDS, "Kind", required=True,
        states={
            'readonly': Eval('state') != 'draft',
            })
    kind_string = kind.translated('kind')
    installation_address = fields.Many2One(
        'party.address', "Installation Address", ondelete='RESTRICT',
        states={
            'readonly': Eval('state').in_(['terminated', 'archived']),
            })
    lines = fields.One2Many(
        'rsoft.subscription.line', 'connection', "Subscriptions",
        states={
            'readonly': Eval('state').in_(['terminated', 'archived']),
            })
    lco = fields.Function(
        fields.Many2One('rsoft.partner', "LCO"), 'get_lco',
        searcher='search_lco')
    channel_count = fields.Function(
        fields.Integer(
            "Channels",
            help="The channels counted toward NCF at the context date."),
        'get_ncf')
    ncf_amount = fields.Function(
        fields.Numeric(
            "NCF", digits=(16, 2),
            help="The monthly network capacity fee at the context date."),
        'get_ncf')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= LIFECYCLE_FIELDS | {'code', 'number'}
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'rsoft_subscriber.msg_connection_code_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.subscriber, Index.Equality())))
        cls._order = [
            ('subscriber', 'DESC'), ('number', 'ASC'), ('id', 'DESC')]
        cls.__access__.add('subscriber')

    @classmethod
    def default_kind(cls):
        return 'primary_tv'

    def get_rec_name(self, name):
        kind = self.kind_string
        return f'{self.code} ({kind})' if self.code else kind

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('code',) + tuple(clause[1:])]

    def get_lco(self, name):
        return self.subscriber.lco.id

    @classmethod
    def search_lco(cls, name, clause):
        return [('subscriber.lco' + clause[0][3:],) + tuple(clause[1:])]

    def check_account_active(self):
        if self.subscriber.state != 'active':
            raise LifecycleError(gettext(
                    'rsoft_subscriber.msg_connection_account_inactive',
                    connection=self.rec_name,
                    subscriber=self.subscriber.rec_name,
                    state=self.subscriber.state_string))

    def _event_values(self):
        return {'subscriber': self.subscriber.id, 'connection': self.id}

    @property
    def tv_rank(self):
        "1 for the primary TV, 2 for any other TV (second-TV NCF rule)"
        return 1 if self.kind == 'primary_tv' else 2

    @classmethod
    def create(cls, vlist):
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        vlist = [v.copy() for v in vlist]
        subscriber_ids = {
            v['subscriber'] for v in vlist if v.get('subscriber')}
        cls.check_subscribers_writable(subscriber_ids)
        subscribers = {s.id: s for s in Subscriber.browse(subscriber_ids)}
        for values in vlist:
            subscriber = subscribers.get(values.get('subscriber'))
            if subscriber and 'installation_address' not in values:
                address = subscriber.installation_address
                values['installation_address'] = (
                    address.id if address else None)
        connections = super().create(vlist)
        cls._number(connections)
        return connections

    @classmethod
    def check_subscribers_writable(cls, subscriber_ids):
        "Refuse a connection to an account the user may not change"
        pool = Pool()
        Rule = pool.get('ir.rule')
        Subscriber = pool.get('rsoft.subscriber')
        if not Transaction().check_access or not subscriber_ids:
            return
        domain = Rule.domain_get(Subscriber.__name__, mode='write')
        writable = {s.id for s in Subscriber.search([
                    ('id', 'in', list(subscriber_ids)),
                    ('active', 'in', [True, False]),
                    domain,
                    ])}
        for subscriber_id in sorted(subscriber_ids - writable):
            raise ConnectionAccessError(gettext(
                    'rsoft_subscriber.msg_connection_subscriber_forbidden',
                    subscriber=subscriber_id))

    @classmethod
    def _number(cls, connections):
        "Give each new connection the next number and code of its account"
        # The number and code are system fields: given after the guard has
        # seen the caller's values, without the caller's access rights
        with without_check_access():
            connections = cls.browse(connections)
            numbers = cls._last_numbers({c.subscriber.id for c in connections})
            to_write, codes = [], {}
            for connection in connections:
                subscriber = connection.subscriber
                numbers[subscriber.id] += 1
                number = numbers[subscriber.id]
                code = f'{subscriber.customer_id}-{number}'
                codes[code] = connection
                to_write.extend(
                    ([connection], {'number': number, 'code': code}))
            cls._check_codes_free(codes)
            if to_write:
                cls.write(*to_write)

    @classmethod
    def _check_codes_free(cls, codes):
        for sub_codes in grouped_slice(
                list(codes), backend.MAX_QUERY_PARAMS - 1):
            others = cls.search([('code', 'in', list(sub_codes))], limit=1)
            if others:
                other, = others
                raise ConnectionCodeError(gettext(
                        'rsoft_subscriber.msg_connection_code_taken',
                        code=other.code,
                        subscriber=codes[other.code].subscriber.rec_name))

    @classmethod
    def _last_numbers(cls, subscriber_ids):
        numbers = defaultdict(int)
        for sub_ids in grouped_slice(
                list(subscriber_ids), backend.MAX_QUERY_PARAMS - 1):
            for connection in cls.search([
                        ('subscriber', 'in', sub_ids),
                        ('number', '!=', None),
                        ], order=[('number', 'ASC')]):
                numbers[connection.subscriber.id] = connection.number
        return numbers

    @classmethod
    def copy(cls, connections, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('state', 'draft')
        for name in LIFECYCLE_FIELDS | {'code', 'number', 'lines'}:
            default.setdefault(name)
        return super().copy(connections, default=default)

    def get_channels(self, date=None):
        "Return the channels the active subscriptions entitle at date"
        channels = set()
        for line in self.lines:
            if line.is_active(date):
                channels |= line.product.template.get_offer_channels()
        return channels

    def get_ncf_rule(self, date=None):
        pool = Pool()
        Rule = pool.get('rsoft.ncf.rule')
        subscriber = self.subscriber
        return Rule.find_rule(
            date, subscriber.region, subscriber.customer_class)

    def compute_ncf(self, date=None):
        "Return (channel count, monthly NCF) of the connection at date"
        if self.kind not in TV_KINDS:
            return 0, None
        rule = self.get_ncf_rule(date)
        channels = self.get_channels(date)
        if not rule:
            return len(channels), None
        count = rule.count_channels(channels)
        return count, rule.compute(count, self.tv_rank)

    @classmethod
    def ncf_snapshot(cls, lines, date=None):
        """Return {(connection id, date): (count, NCF)} before lines change

        The date is the one given or the first start among the lines of
        each connection: the day the NCF may change."""
        dates = {}
        for line in lines:
            key = line.connection.id
            day = date or line.start_date
            dates[key] = min(dates.get(key, day), day)
        return {(c.id, dates[c.id]): c.compute_ncf(dates[c.id])
            for c in cls.browse(list(dates))}

    @classmethod
    def record_ncf_changes(cls, snapshot):
        "Log the NCF of the connections whose figures left the snapshot"
        pool = Pool()
        Event = pool.get('rsoft.subscriber.event')
        events = []
        # Fresh instances: the lines of the snapshot's ones have changed
        connections = cls.browse([i for i, _ in snapshot])
        for connection, ((_, date), before) in zip(
                connections, snapshot.items()):
            after = connection.compute_ncf(date)
            if after != before:
                events.append({
                        **connection._event_values(),
                        'kind': 'subscription',
                        'action': 'ncf',
                        'date': date,
                        'before': _ncf_text(*before),
                        'after': _ncf_text(*after),
                        })
        Event.record(events)

    @classmethod
    def get_ncf(cls, connections, names):
        date = Transaction().context.get('date')
        result = {n: {} for n in names}
        for connection in connections:
            count, amount = connection.compute_ncf(date)
            if 'channel_count' in result:
                result['channel_count'][connection.id] = count
            if 'ncf_amount' in result:
                result['ncf_amount'][connection.id] = amount
        return result

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def activate(cls, connections, date=None):
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        date = cls._date(date)
        resumed = [c for c in connections if c.state == 'suspended']
        if resumed:
            cls.resume(resumed, date)
        drafts = [c for c in connections if c.state == 'draft']
        for connection in drafts:
            connection.check_account_active()
        cls._enter(drafts, 'active', date, activation_date=date)
        Line.activate([line for c in drafts for line in c.lines
                if line.state == 'draft'], date)

    @classmethod
    @ModelView.button_action('rsoft_subscriber.wizard_suspend_connection')
    def suspend(cls, connections):
        pass

    @classmethod
    @Workflow.transition('suspended')
    def do_suspend(cls, connections, reason, note=None, date=None):
        cls._enter(connections, 'suspended', cls._date(date),
            **cls._suspension_values(reason, note))

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def resume(cls, connections, date=None):
        for connection in connections:
            connection.check_account_active()
        cls._enter(connections, 'active', cls._date(date),
            suspension_reason=None, suspension_note=None)

    @classmethod
    @ModelView.button
    @Workflow.transition('terminated')
    def terminate(cls, connections, date=None):
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        date = cls._date(date)
        cls._enter(connections, 'terminated', date, termination_date=date)
        Line.stop([line for c in connections for line in c.lines
                if line.state == 'active' and line.is_open(date)], date)
        Line.cancel([line for c in connections for line in c.lines
                if line.state == 'draft'])

    @classmethod
    @ModelView.button
    @Workflow.transition('archived')
    def archive(cls, connections):
        cls._enter(connections, 'archived', cls._date())


def _ncf_text(count, amount):
    return f'{count} channels, NCF {amount if amount is not None else "-"}'
