"""Polls the operator opens and the subscribers vote in

The operator writes a question and its options (movies, channels, offers)
and opens the poll; each subscriber account votes once, from the
subscriber portal or the API, until the poll closes. The results are
counted by the database from the votes as they are read."""
import datetime
from collections import defaultdict
from decimal import Decimal

from sql.aggregate import Count

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    Index,
    ModelSQL,
    ModelView,
    Unique,
    Workflow,
    fields,
    sequence_ordered,
)
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.rsoft_toolkit.guard import (
    AppendOnlyMixin,
    SystemFieldsMixin,
)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

KINDS = [
    ('movies', "Movies"),
    ('channels', "Channels"),
    ('other', "Other"),
    ]
STATES = [
    ('draft', "Draft"),
    ('open', "Open"),
    ('closed', "Closed"),
    ]
SOURCES = [
    ('portal', "Portal"),
    ('api', "API"),
    ]
# The accounts that are customers today: a draft is not yet one, a
# terminated or archived account no longer is
VOTER_STATES = {'active', 'suspended'}
# What the operator may still change once the poll is put to the
# subscribers: the question and its options are what they voted on
_OPEN_WRITABLE = {'description', 'closing'}
_CLOSED_WRITABLE = {'description'}
PERCENT_DIGITS = 2


class PollError(UserError):
    pass


class PollValidationError(ValidationError):
    pass


class PollFrozenError(AccessError):
    pass


def percentages(counts, digits=PERCENT_DIGITS):
    """Return the percentages of counts as Decimals of digits places that
    add up to exactly 100 (all zero when nothing is counted)

    Largest remainder method: each share is rounded down to the last
    place, then the units still missing go one each to the shares that
    lost the most, the first listed first on a tie: each share is within
    a unit of the last place of its exact value, and 3 equal votes read
    33.34, 33.33 and 33.33."""
    unit = Decimal(1).scaleb(-digits)
    total = sum(counts)
    if not total:
        return [Decimal(0).quantize(unit) for _ in counts]
    whole = 100 * 10 ** digits
    units = [c * whole // total for c in counts]
    remainders = [c * whole % total for c in counts]
    missing = whole - sum(units)
    # sorted is stable: a tie keeps the order of the options
    by_remainder = sorted(range(len(counts)), key=lambda i: -remainders[i])
    for i in by_remainder[:missing]:
        units[i] += 1
    return [(Decimal(u) * unit).quantize(unit) for u in units]


class Poll(SystemFieldsMixin, Workflow, ModelSQL, ModelView):
    "A question put to the subscribers"
    __name__ = 'rsoft.poll'
    __string__ = "Poll"
    _states = {
        'readonly': Eval('state') != 'draft',
        }

    name = fields.Char(
        "Question", required=True, states=_states,
        help="The question as the subscribers read it.")
    description = fields.Text(
        "Description",
        help="What the subscribers read under the question.")
    kind = fields.Selection(
        KINDS, "Kind", required=True, states=_states,
        help="What the subscribers choose among.")
    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    options = fields.One2Many(
        'rsoft.poll.option', 'poll', "Options", states=_states,
        help="The answers the subscribers choose from; "
        "frozen once the poll is open.")
    opening = fields.DateTime(
        "Opening", states=_states,
        help="From when the subscribers vote; "
        "empty: from when the poll is opened.")
    closing = fields.DateTime(
        "Closing",
        states={
            'readonly': Eval('state') == 'closed',
            },
        help="From when the subscribers no longer vote: the poll is then "
        "over even before it is closed by hand; empty: until it is closed.")
    partner = fields.Many2One(
        'rsoft.partner', "Distribution Partner", ondelete='RESTRICT',
        domain=[
            ('role', '!=', 'mso'),
            ('company', '=', Eval('company', -1)),
            ],
        states=_states,
        help="Put the poll only to the subscribers of this JV or LCO "
        "and of the partners below it.")
    region = fields.Many2One(
        'rsoft.region', "Region", ondelete='RESTRICT', states=_states,
        help="Put the poll only to the subscribers of the LCOs of this "
        "region and of the regions within it.")
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False,
        help="Draft: being written. Open: put to the subscribers. "
        "Closed: no more votes.")
    state_string = state.translated('state')
    voting = fields.Function(fields.Boolean(
            "Taking Votes",
            help="Open, and now between its opening and closing."),
        'get_voting', searcher='search_voting')
    opened_by = fields.Many2One('res.user', "Opened By", readonly=True)
    closed_by = fields.Many2One('res.user', "Closed By", readonly=True)
    total_votes = fields.Function(fields.Integer(
            "Votes", help="The accounts that have voted."),
        'get_total_votes')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'state', 'opened_by', 'closed_by'}
        cls._order = [
            ('opening', 'DESC NULLS FIRST'),
            ('id', 'DESC'),
            ]
        cls._transitions |= {
            ('draft', 'open'),
            ('open', 'closed'),
            }
        cls._buttons.update({
                'open': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'close': {
                    'invisible': Eval('state') != 'open',
                    'icon': 'tryton-close',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_kind(cls):
        return 'other'

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @staticmethod
    def now():
        # Naive UTC to the second, as trytond stores date-times
        return datetime.datetime.now().replace(microsecond=0)

    def is_voting(self, date_time=None):
        "Whether the poll takes votes at date_time (now by default)"
        date_time = date_time or self.now()
        return (self.state == 'open'
            and (not self.opening or self.opening <= date_time)
            and (not self.closing or date_time < self.closing))

    def get_voting(self, name):
        return self.is_voting()

    @classmethod
    def search_voting(cls, name, clause):
        _, operator, value = clause
        now = cls.now()
        voting = [
            ('state', '=', 'open'),
            ['OR', ('opening', '=', None), ('opening', '<=', now)],
            ['OR', ('closing', '=', None), ('closing', '>', now)],
            ]
        if (operator == '=') == bool(value):
            return voting
        return ['OR',
            ('state', '!=', 'open'),
            ('opening', '>', now),
            ('closing', '<=', now),
            ]

    @classmethod
    def count_votes(cls, polls):
        """Return the votes of polls by poll and option id, counted by the
        database in one GROUP BY, whoever reads: the results are not the
        personal data the votes are"""
        pool = Pool()
        Vote = pool.get('rsoft.poll.vote')
        vote = Vote.__table__()
        cursor = Transaction().connection.cursor()
        counts = defaultdict(dict)
        cursor.execute(*vote.select(
                vote.poll, vote.option, Count(vote.id),
                where=fields.SQL_OPERATORS['in'](
                    vote.poll, [p.id for p in polls]),
                group_by=[vote.poll, vote.option]))
        for poll, option, count in cursor:
            counts[poll][option] = count
        return counts

    @classmethod
    def get_total_votes(cls, polls, name):
        counts = cls.count_votes(polls)
        return {p.id: sum(counts[p.id].values()) for p in polls}

    def results(self):
        """Return the results as a list of (option, votes, percentage) in
        the order of the options

        The percentages are Decimals of two places adding up to exactly
        100.00, rounded by the largest remainder method (`percentages`);
        all 0.00 before the first vote."""
        Option = Pool().get('rsoft.poll.option')
        # Read again: a vote cast in this transaction counts
        options = Option.browse([o.id for o in self.options])
        return [(o, o.vote_count, o.percentage) for o in options]

    def vote_of(self, subscriber):
        "Return the vote of the subscriber account in the poll or None"
        Vote = Pool().get('rsoft.poll.vote')
        votes = Vote.search([
                ('poll', '=', self.id),
                ('subscriber', '=', subscriber.id),
                ], limit=1)
        return votes[0] if votes else None

    @classmethod
    def open_for(cls, subscriber, date_time=None):
        """Return the polls taking votes at date_time (now by default) that
        are put to the subscriber account, the first to close first; none
        for an account that is not a customer (VOTER_STATES)"""
        date_time = date_time or cls.now()
        if subscriber.state not in VOTER_STATES:
            return []
        polls = cls.search([
                ('state', '=', 'open'),
                ('company', '=', subscriber.company.id),
                ['OR', ('opening', '=', None),
                    ('opening', '<=', date_time)],
                ['OR', ('closing', '=', None),
                    ('closing', '>', date_time)],
                ], order=[('closing', 'ASC NULLS LAST'), ('id', 'ASC')])
        return [p for p in polls if p.is_put_to(subscriber)]

    def is_put_to(self, subscriber):
        "Whether the subscriber account is among those the poll asks"
        if subscriber.company != self.company:
            return False
        if self.partner:
            partner = subscriber.lco
            while partner and partner != self.partner:
                partner = partner.parent
            if not partner:
                return False
        if self.region:
            region = subscriber.region
            if not region or self.region not in region.get_ancestors():
                return False
        return True

    def check_vote(self, subscriber, date_time=None):
        "Raise PollError if the subscriber account may not vote in the poll"
        if not self.is_voting(date_time):
            raise PollError(gettext('rsoft_selfcare.msg_poll_not_voting',
                    poll=self.rec_name))
        if subscriber.state not in VOTER_STATES:
            raise PollError(gettext('rsoft_selfcare.msg_poll_voter_state',
                    subscriber=subscriber.rec_name,
                    state=subscriber.state_string))
        if not self.is_put_to(subscriber):
            raise PollError(gettext('rsoft_selfcare.msg_poll_not_put_to',
                    poll=self.rec_name, subscriber=subscriber.rec_name))
        if self.vote_of(subscriber):
            raise PollError(gettext('rsoft_selfcare.msg_poll_already_voted',
                    poll=self.rec_name, subscriber=subscriber.rec_name))

    @classmethod
    def validate_fields(cls, polls, field_names):
        super().validate_fields(polls, field_names)
        if field_names and not field_names & {'opening', 'closing'}:
            return
        for poll in polls:
            if (poll.opening and poll.closing
                    and poll.closing < poll.opening):
                raise PollValidationError(gettext(
                        'rsoft_selfcare.msg_poll_closing_before_opening',
                        poll=poll.rec_name))

    @classmethod
    def check_modification(cls, mode, polls, values=None, external=False):
        super().check_modification(
            mode, polls, values=values, external=external)
        if mode == 'delete':
            for poll in polls:
                if poll.state != 'draft':
                    raise PollFrozenError(gettext(
                            'rsoft_selfcare.msg_poll_delete_draft',
                            poll=poll.rec_name, state=poll.state_string))
        elif mode == 'write':
            for poll in polls:
                poll._check_frozen(values)

    def _check_frozen(self, values):
        if self.state == 'draft':
            return
        writable = (_OPEN_WRITABLE if self.state == 'open'
            else _CLOSED_WRITABLE) | self._system_fields
        frozen = sorted(values.keys() - writable)
        if frozen:
            raise PollFrozenError(gettext('rsoft_selfcare.msg_poll_frozen',
                    poll=self.rec_name, state=self.state_string,
                    field=self._fields[frozen[0]].string))

    @classmethod
    def copy(cls, polls, default=None):
        default = default.copy() if default is not None else {}
        for name in ['opening', 'closing', 'opened_by', 'closed_by']:
            default.setdefault(name, None)
        return super().copy(polls, default=default)

    @classmethod
    @ModelView.button
    @Workflow.transition('open')
    def open(cls, polls):
        now = cls.now()
        for poll in polls:
            if len(poll.options) < 2:
                raise PollError(gettext(
                        'rsoft_selfcare.msg_poll_open_options',
                        poll=poll.rec_name))
            if poll.closing and poll.closing <= now:
                raise PollError(gettext(
                        'rsoft_selfcare.msg_poll_open_closed',
                        poll=poll.rec_name))
        user = Transaction().user or None
        for poll in polls:
            poll.opening = poll.opening or now
            poll.opened_by = user
        cls.save(polls)

    @classmethod
    @ModelView.button
    @Workflow.transition('closed')
    def close(cls, polls):
        now = cls.now()
        user = Transaction().user or None
        for poll in polls:
            # The closing says when the votes stopped
            if not poll.closing or poll.closing > now:
                poll.closing = max(now, poll.opening or now)
            poll.closed_by = user
        cls.save(polls)

    @classmethod
    def close_expired(cls):
        "Close the open polls whose closing has passed (a scheduled task)"
        polls = cls.search([
                ('state', '=', 'open'),
                ('closing', '<=', cls.now()),
                ])
        cls.close(polls)
        return polls


class Option(sequence_ordered(), ModelSQL, ModelView):
    "An answer of a poll"
    __name__ = 'rsoft.poll.option'
    __string__ = "Poll Option"
    _rec_name = 'label'

    poll = fields.Many2One(
        'rsoft.poll', "Poll", required=True, ondelete='CASCADE')
    label = fields.Char(
        "Label", required=True,
        help="The answer as the subscribers read it.")
    channel = fields.Many2One(
        'rsoft.channel', "Channel", ondelete='RESTRICT',
        help="The channel the answer names, if it names one.")
    offer = fields.Many2One(
        'product.product', "Offer", ondelete='RESTRICT',
        domain=[
            ('template.rsoft_kind', '!=', None),
            ],
        help="The offer (pack, a-la-carte channel, PPV event) the answer "
        "names, if it names one.")
    vote_count = fields.Function(fields.Integer(
            "Votes", help="The accounts that chose the answer."),
        'get_results')
    percentage = fields.Function(fields.Numeric(
            "Percentage", digits=(16, PERCENT_DIGITS),
            help="The share of the votes, in percent; the shares of a "
            "poll add up to 100."),
        'get_results')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('poll')

    @fields.depends('label', 'channel')
    def on_change_channel(self):
        if self.channel and not self.label:
            self.label = self.channel.rec_name

    @fields.depends('label', 'offer')
    def on_change_offer(self):
        if self.offer and not self.label:
            self.label = self.offer.rec_name

    @classmethod
    def get_results(cls, options, names):
        pool = Pool()
        Poll = pool.get('rsoft.poll')
        polls = Poll.browse(list({o.poll.id for o in options}))
        counts = Poll.count_votes(polls)
        votes, shares = {}, {}
        for poll in polls:
            ids = [o.id for o in poll.options]
            poll_counts = [counts[poll.id].get(i, 0) for i in ids]
            votes.update(zip(ids, poll_counts))
            shares.update(zip(ids, percentages(poll_counts)))
        result = {'vote_count': votes, 'percentage': shares}
        wanted = {o.id for o in options}
        return {n: {i: v for i, v in result[n].items() if i in wanted}
            for n in names}

    @classmethod
    def check_modification(cls, mode, options, values=None, external=False):
        super().check_modification(
            mode, options, values=values, external=external)
        polls = {o.poll for o in options}
        if values and values.get('poll') is not None:
            polls.add(Pool().get('rsoft.poll')(values['poll']))
        for poll in polls:
            if poll.state != 'draft':
                raise PollFrozenError(gettext(
                        'rsoft_selfcare.msg_poll_options_frozen',
                        poll=poll.rec_name, state=poll.state_string))


class Vote(AppendOnlyMixin, ModelSQL, ModelView):
    "The vote of a subscriber account in a poll"
    __name__ = 'rsoft.poll.vote'
    __string__ = "Poll Vote"
    _append_only_message = 'rsoft_selfcare.msg_poll_vote_append_only'

    poll = fields.Many2One(
        'rsoft.poll', "Poll", required=True, readonly=True,
        ondelete='RESTRICT')
    option = fields.Many2One(
        'rsoft.poll.option', "Option", required=True, readonly=True,
        ondelete='RESTRICT',
        domain=[
            ('poll', '=', Eval('poll', -1)),
            ])
    subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber", required=True, readonly=True,
        ondelete='RESTRICT')
    source = fields.Selection(
        SOURCES, "Source", required=True, readonly=True,
        help="Where the subscriber voted.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The votes are personal data: the rules of the accounts apply
        cls.__access__.add('subscriber')
        t = cls.__table__()
        cls._sql_constraints += [
            # Two requests of one account at once: the second waits for
            # the first and is refused at its insert
            ('poll_subscriber_unique', Unique(t, t.poll, t.subscriber),
                'rsoft_selfcare.msg_poll_vote_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.subscriber, Index.Equality())))
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def cast(cls, poll, option, subscriber, source='portal'):
        """Record the vote of the subscriber account for option in poll and
        return it

        Raises PollError if the poll is not taking votes, the account is
        not a customer (VOTER_STATES) or not among those the poll asks,
        the account has voted in the poll already, or option is not an
        answer of the poll."""
        poll.check_vote(subscriber)
        if option.poll != poll:
            raise PollError(gettext('rsoft_selfcare.msg_poll_option_other',
                    option=option.rec_name, poll=poll.rec_name))
        with without_check_access():
            vote, = cls.create([{
                        'poll': poll.id,
                        'option': option.id,
                        'subscriber': subscriber.id,
                        'source': source,
                        }])
        return vote
