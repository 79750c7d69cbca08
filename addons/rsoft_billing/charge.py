"Charges: what each subscription line costs for each period, explained"
import datetime
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sql import Null

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.rsoft_catalogue.common import (
    MONEY_DIGITS,
    format_amount,
    format_date,
    format_rate,
)
from trytond.modules.rsoft_toolkit.guard import check_record_rules
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import RatingError
from .pricing import Pricer
from .schedule import Schedule, days

KINDS = [
    ('recurring', "Recurring"),
    ('one_time', "One-time"),
    ('credit', "Credit"),
    ('adjustment', "Adjustment"),
    ]
# The kinds that correct what a period was charged
CORRECTION_KINDS = {'credit', 'adjustment'}
# Offers charged once, on the day they start
ONE_TIME_KINDS = {'installation', 'activation', 'stb_sale', 'ppv', 'vod'}
SECTION_OF_KIND = {
    'ncf': 'ncf',
    'alacarte': 'alacarte',
    'broadcaster_bouquet': 'bouquet',
    'base_pack': 'bouquet',
    'addon_pack': 'bouquet',
    'ppv': 'service',
    'vod': 'service',
    'dvr': 'service',
    'stb_rental': 'hardware',
    'stb_lease': 'hardware',
    'stb_sale': 'hardware',
    'installation': 'one_time',
    'activation': 'one_time',
    }
# The box stays at the customer's while the connection is suspended
HARDWARE_KINDS = {'stb_rental', 'stb_lease'}
# The states of the lines rating looks at: a cancelled line never ran,
# what it was charged is credited
RATED_STATES = {'active', 'ended', 'cancelled'}
_DAY = datetime.timedelta(days=1)


class Charge(ModelSQL, ModelView):
    "The amount one subscription line costs for one period"
    __name__ = 'rsoft.billing.charge'
    __string__ = "Charge"
    _rec_name = 'description'

    subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber Account", required=True,
        readonly=True, ondelete='RESTRICT')
    connection = fields.Many2One(
        'rsoft.connection', "Connection", required=True, readonly=True,
        ondelete='RESTRICT')
    line = fields.Many2One(
        'rsoft.subscription.line', "Subscription Line", required=True,
        readonly=True, ondelete='RESTRICT')
    product = fields.Many2One(
        'product.product', "Offer", required=True, readonly=True,
        ondelete='RESTRICT')
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True,
        help="Recurring and one-time charges are what a period costs when "
        "it is charged; credits and adjustments correct it once what was "
        "used is known: a line ended or suspended, a connection resumed, "
        "more channels for the NCF.")
    revision = fields.Integer(
        "Revision", required=True, readonly=True,
        help="The number of the correction of the period: 0 for the first.")
    period_start = fields.Date(
        "Period Start", required=True, readonly=True,
        help="The first day of the billing period the charge belongs to.")
    period_end = fields.Date(
        "Period End", required=True, readonly=True,
        help="The last day of the billing period.")
    date_from = fields.Date(
        "From", required=True, readonly=True,
        help="The first day charged or credited.")
    date_to = fields.Date(
        "To", required=True, readonly=True,
        help="The last day charged or credited.")
    charged_days = fields.Integer(
        "Days", readonly=True,
        help="The days charged or credited, suspended days excluded.")
    period_days = fields.Integer(
        "Period Days", readonly=True,
        help="The days of the whole billing period.")
    period_price = fields.Numeric(
        "Period Price", digits=MONEY_DIGITS, readonly=True,
        help="The price of the whole period.")
    amount = fields.Numeric(
        "Amount", digits=MONEY_DIGITS, required=True, readonly=True,
        help="Negative for a credit.")
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    price_version = fields.Many2One(
        'rsoft.offer.price', "Price Version", readonly=True,
        ondelete='RESTRICT',
        help="The dated price that produced the charge.")
    price_list_line = fields.Many2One(
        'product.price_list.line', "Price List Line", readonly=True,
        ondelete='RESTRICT',
        help="The dated line of the LCO's or territory's price list that "
        "set the price, if any.")
    ncf_rule = fields.Many2One(
        'rsoft.ncf.rule', "NCF Rule", readonly=True, ondelete='RESTRICT',
        help="The NCF rule that produced the charge.")
    campaign = fields.Many2One(
        'rsoft.billing.campaign', "Campaign", readonly=True,
        ondelete='RESTRICT',
        help="The campaign whose discount the period price includes.")
    description = fields.Char(
        "Explanation", required=True, readonly=True,
        help="How the amount was computed.")
    section = fields.Selection(
        'get_sections', "Bill Section", readonly=True)
    broadcaster = fields.Many2One(
        'party.party', "Broadcaster", readonly=True, ondelete='RESTRICT')
    invoice_line = fields.Many2One(
        'account.invoice.line', "Invoice Line", readonly=True,
        ondelete='RESTRICT')
    bill_run = fields.Many2One(
        'rsoft.billing.run', "Bill Run", readonly=True,
        ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The database itself refuses to bill a line twice for a period,
        # or to correct it twice with the same knowledge
        cls._sql_constraints += [
            ('line_period_kind_revision_unique',
                Unique(t, t.line, t.period_start, t.period_end, t.kind,
                    t.revision),
                'rsoft_billing.msg_charge_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.subscriber, Index.Equality()),
                    where=t.invoice_line == Null),
                Index(t, (t.line, Index.Equality()),
                    (t.period_start, Index.Range())),
                })
        cls._order = [
            ('period_start', 'DESC'), ('connection', 'ASC'), ('id', 'ASC')]
        cls.__access__.add('subscriber')

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        table_h = cls.__table_handler__(module)
        # Replaced by line_period_kind_revision_unique
        table_h.drop_constraint('line_period_kind_unique')

    @classmethod
    def default_revision(cls):
        return 0

    @classmethod
    def get_sections(cls):
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        return InvoiceLine.fields_get(
            ['rsoft_section'])['rsoft_section']['selection']

    @classmethod
    def check_modification(cls, mode, charges, values=None, external=False):
        if external and mode in {'write', 'delete'}:
            check_record_rules(cls, charges, mode)
        super().check_modification(
            mode, charges, values=values, external=external)
        # Only rating makes and invoices charges
        if mode == 'delete' or (mode in {'create', 'write'} and external):
            raise RatingError(gettext(
                    'rsoft_billing.msg_charge_modify'))


class Rater:
    """Rates the subscription lines of accounts up to a date

    A line is charged period by period from the day after the last day
    already charged. Once a period is known (it is over, or the line
    ended before the end of what was charged), it is priced again for
    the days used and the difference is corrected: credited when less
    was used (an ending, a suspension), charged when more (a resumption,
    more channels for the NCF). What is charged is read from the charges
    themselves, so rating twice charges nothing twice."""

    def __init__(self, date):
        pool = Pool()
        Company = pool.get('company.company')
        Configuration = pool.get('rsoft.billing.configuration')
        self.date = date
        self.start = Configuration(1).billing_start
        self.currency = Company(Transaction().context['company']).currency
        self._ncf = {}
        self._ncf_rules = {}
        self._ncf_figures_cache = {}
        self._campaigns = None
        self.pricer = Pricer()

    def rate(self, subscribers, save=True):
        """Create the charges due on subscribers and return them, or
        return their values without creating them"""
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        lines = [line for s in subscribers for c in s.connections
            for line in c.lines if line.state in RATED_STATES]
        charged = self._charged(lines)
        suspended = self._suspended({line.connection for line in lines})
        vlist = []
        for subscriber in subscribers:
            horizon = self.horizon(subscriber)
            for connection in subscriber.connections:
                for line in connection.lines:
                    if line.state not in RATED_STATES:
                        continue
                    vlist.extend(self.rate_line(
                            subscriber, line, horizon,
                            charged.get(line.id, []),
                            suspended.get(connection.id, [])))
        for values in vlist:
            values.setdefault('currency', self.currency.id)
        if not save:
            return vlist
        return Charge.create(vlist) if vlist else []

    def horizon(self, subscriber):
        """Return the last day to charge: the end of the current period
        for prepaid, of the last ended period for postpaid"""
        schedule = subscriber.schedule
        start, end = schedule.period(self.date)
        if subscriber.billing_mode == 'prepaid':
            return end
        return start - _DAY

    def schedule(self, subscriber, line):
        if subscriber.align_lines:
            return subscriber.schedule
        return Schedule(line.start_date, line.term)

    @staticmethod
    def last_day(line):
        "Return the last day line runs, None when it runs on"
        if line.state == 'cancelled':
            return line.start_date - _DAY
        return line.end_date

    def line_horizon(self, line, schedule, horizon):
        """Return the last day to charge line by the account's horizon

        A line not aligned on the account (prepaid only) follows its own
        periods and is charged once for each, whole, when it starts by
        the horizon. An ended line is charged up to its last day."""
        end = schedule.period(horizon)[1]
        last = self.last_day(line)
        return min(last, end) if last else end

    def rate_line(self, subscriber, line, horizon, charged, suspended):
        "Yield the values of line's charges up to horizon"
        template = line.product.template
        if line.state == 'cancelled':
            yield from self._credits(subscriber, line,
                self.schedule(subscriber, line), charged, [])
            return
        if template.rsoft_kind in ONE_TIME_KINDS:
            if (line.start_date <= horizon
                    and (not self.start or line.start_date >= self.start)
                    and not any(c['kind'] == 'one_time' for c in charged)):
                yield self._one_time(subscriber, line)
            return
        if (template.rsoft_bill_suspended
                or template.rsoft_kind in HARDWARE_KINDS):
            suspended = []
        schedule = self.schedule(subscriber, line)
        last = max((c['date_to'] for c in charged
                if c['kind'] == 'recurring'), default=None)
        start = max(line.start_date, last + _DAY) if last else line.start_date
        if self.start:
            start = max(start, self.start)
        end = self.line_horizon(line, schedule, horizon)
        for window in schedule.windows(start, end):
            values = self._recurring(
                subscriber, line, schedule, window, suspended)
            if values:
                yield values
        yield from self._credits(
            subscriber, line, schedule, charged, suspended)

    def _recurring(self, subscriber, line, schedule, window, suspended):
        date_from, date_to, period_start, period_end = window
        segments = _without(date_from, date_to, suspended)
        if line.ncf:
            amount, text, rule = self._ncf_amount(
                line, schedule, segments, period_start, period_end)
            price, version, list_line, campaign = None, None, None, None
        else:
            price, version, list_line = self.period_price(
                subscriber, line, schedule.months, period_start)
            campaign = self.campaign(subscriber, line, period_start)
            if campaign:
                price = self.currency.round(
                    price * (1 - campaign.discount), rounding=ROUND_HALF_UP)
            charged_days = sum(days(s, e) for s, e in segments)
            amount = self.prorate(
                price, charged_days, days(period_start, period_end))
            text, rule = None, None
        values = self._values(subscriber, line, 'recurring', window,
            segments, amount, price, version, rule, text)
        if values and list_line:
            values['price_list_line'] = list_line.id
            values['description'] += gettext(
                'rsoft_billing.msg_price_list_part',
                price_list=list_line.price_list.rec_name)
        if values and campaign:
            values['campaign'] = campaign.id
            values['description'] += gettext(
                'rsoft_billing.msg_campaign_part',
                campaign=campaign.rec_name,
                discount=format_rate(campaign.discount))
        return values

    def campaign(self, subscriber, line, date):
        "Return the campaign with the largest discount on line at date"
        pool = Pool()
        Campaign = pool.get('rsoft.billing.campaign')
        if self._campaigns is None:
            self._campaigns = Campaign.search([])
        return max((c for c in self._campaigns
                if c.applies(line.product, subscriber.lco, date)),
            key=lambda c: c.discount, default=None)

    def _credits(self, subscriber, line, schedule, charged, suspended):
        """Yield the correction of each period known whose charges differ
        from what was used

        A period is known once it is over or the line ended before the
        end of what was charged. What was used is priced at the price
        the period was charged at; the net of a period is never below
        zero nor above its price. A cancelled line never ran: all it
        was charged, one-time charges included, is credited."""
        last = self.last_day(line)
        periods = defaultdict(list)
        for charge in charged:
            periods[charge['period_start'], charge['period_end']].append(
                charge)
        for (period_start, period_end), charges in periods.items():
            charge, = [c for c in charges
                if c['kind'] not in CORRECTION_KINDS]
            if charge['kind'] == 'one_time' and line.state != 'cancelled':
                continue
            ended = last is not None and last < charge['date_to']
            if not ended and period_end >= self.date:
                # The period runs: its suspensions are not known yet
                continue
            used_to = min(charge['date_to'],
                last if last is not None else period_end)
            used = self._used(subscriber, line, schedule, charge, used_to,
                suspended)
            net = sum(c['amount'] for c in charges)
            amount = used - net
            if not amount:
                continue
            kind = 'credit' if amount < 0 else 'adjustment'
            unused_from = max(used_to + _DAY, charge['date_from']) if (
                ended and kind == 'credit') else charge['date_from']
            values = self._values(subscriber, line, kind,
                (unused_from, charge['date_to'], period_start, period_end),
                [], amount, charge['period_price'], charge['price_version'],
                charge['ncf_rule'], None)
            values['revision'] = len(charges) - 1
            values['price_list_line'] = charge['price_list_line']
            lang = self.lang(subscriber)
            values['description'] = gettext(
                f'rsoft_billing.msg_{kind}_description',
                offer=line.product.rec_name,
                start=format_date(period_start, lang),
                end=format_date(period_end, lang),
                charged=format_amount(net, lang),
                used=format_amount(used, lang),
                amount=format_amount(amount, lang))
            yield values

    def _used(self, subscriber, line, schedule, charge, used_to, suspended):
        """Return the amount of the days of charge's window up to used_to
        that were used, at the price charge was made at"""
        if used_to < charge['date_from'] or charge['kind'] == 'one_time':
            return Decimal(0)
        period_start, period_end = charge['period_start'], charge['period_end']
        segments = _without(charge['date_from'], used_to, suspended)
        if line.ncf:
            amount, _, _ = self._ncf_amount(
                line, schedule, segments, period_start, period_end)
            return amount
        return self.prorate(charge['period_price'],
            sum(days(s, e) for s, e in segments),
            days(period_start, period_end))

    @staticmethod
    def lang(subscriber):
        """Return the language the charges of subscriber are explained in:
        its party's, which its bills are printed in, else the user's"""
        return subscriber.party.lang or Pool().get('ir.lang').get()

    def _one_time(self, subscriber, line):
        price, version, list_line = self.period_price(
            subscriber, line, 1, line.start_date)
        window = (line.start_date, line.start_date,
            line.start_date, line.start_date)
        values = self._values(subscriber, line, 'one_time', window,
            [], price, price, version, None, None)
        values['price_list_line'] = _id(list_line)
        values['description'] = gettext(
            'rsoft_billing.msg_one_time_description',
            offer=line.product.rec_name,
            date=format_date(line.start_date, self.lang(subscriber)),
            amount=format_amount(price, self.lang(subscriber)))
        return values

    def period_price(self, subscriber, line, months, date):
        """Return (price of a period of months starting at date, offer
        price version, price list line or None)"""
        return self.pricer.price(subscriber, line, months, date)

    def prorate(self, price, used, total):
        "Return price × used ÷ total, rounded half-up by the currency"
        if used == total:
            return price
        return self.currency.round(
            price * used / total, rounding=ROUND_HALF_UP)

    def _ncf_amount(self, line, schedule, segments, period_start,
            period_end):
        """Return (amount, explanation, rule) of the NCF of segments

        The NCF follows the channel count in force each day: segments
        are cut again where another line of the connection starts or
        ends. The days at the same NCF are added up and rounded once:
        the NCF of a period is the sum, over each NCF in force during
        it, of NCF × days at that NCF ÷ days of the period, each
        rounded half-up to the paisa."""
        connection = line.connection
        cuts = sorted({d for other in connection.lines
                if other.state in {'active', 'ended'}
                for d in (other.start_date,
                    other.end_date + _DAY if other.end_date else None)
                if d})
        total = days(period_start, period_end)
        used_at = defaultdict(int)
        rule = None
        for start, end in segments:
            for seg_start, seg_end in _cut(start, end, cuts):
                count, monthly, rule = self._ncf_at(connection, seg_start)
                used_at[monthly * schedule.months, count] += days(
                    seg_start, seg_end)
        amount, parts = Decimal(0), []
        lang = self.lang(connection.subscriber)
        for price in sorted({p for p, _ in used_at}):
            used = sum(u for (p, _), u in used_at.items() if p == price)
            amount += self.prorate(price, used, total)
        for (price, count), used in sorted(used_at.items()):
            parts.append(gettext(
                    'rsoft_billing.msg_ncf_part',
                    count=count, used=used, total=total,
                    price=format_amount(price, lang)))
        return amount, ' + '.join(parts), rule

    def _ncf_at(self, connection, date):
        key = (connection.id, date)
        if key not in self._ncf:
            count, amount, rule = self._ncf_figures(connection, date)
            if amount is None:
                raise RatingError(gettext(
                        'rsoft_billing.msg_no_ncf_rule',
                        connection=connection.rec_name,
                        date=format_date(date)))
            self._ncf[key] = (count, amount, rule)
        return self._ncf[key]

    def _ncf_figures(self, connection, date):
        """Return (count, NCF, rule) of connection at date, computed once
        for the connections of the same offers, rule and TV rank

        Thousands of accounts take the same few packs: counting their
        channels again for each would be most of a bill run."""
        subscriber = connection.subscriber
        rule_key = (date, subscriber.region, subscriber.customer_class)
        if rule_key not in self._ncf_rules:
            self._ncf_rules[rule_key] = connection.get_ncf_rule(date)
        rule = self._ncf_rules[rule_key]
        key = (connection.kind, connection.tv_rank, rule, frozenset(
                line.product.id for line in connection.lines
                if line.is_active(date)))
        if key not in self._ncf_figures_cache:
            self._ncf_figures_cache[key] = (
                *connection.compute_ncf(date), rule)
        return self._ncf_figures_cache[key]

    def _values(self, subscriber, line, kind, window, segments, amount,
            price, version, rule, text):
        date_from, date_to, period_start, period_end = window
        template = line.product.template
        charged_days = sum(days(s, e) for s, e in segments)
        total = days(period_start, period_end)
        if kind == 'recurring':
            if not charged_days:
                return None
            lang = self.lang(subscriber)
            if text is None:
                text = gettext(
                    'rsoft_billing.msg_recurring_part',
                    used=charged_days, total=total,
                    price=format_amount(price, lang))
            description = gettext(
                'rsoft_billing.msg_recurring_description',
                offer=line.product.rec_name,
                start=format_date(date_from, lang),
                end=format_date(date_to, lang),
                computation=text, amount=format_amount(amount, lang))
        else:
            description = ''
        channel = template.channel
        broadcaster = (template.bouquet.broadcaster if template.bouquet
            else channel.broadcaster if channel else None)
        return {
            'subscriber': subscriber.id,
            'connection': line.connection.id,
            'line': line.id,
            'product': line.product.id,
            'kind': kind,
            'period_start': period_start,
            'period_end': period_end,
            'date_from': date_from,
            'date_to': date_to,
            'charged_days': charged_days,
            'period_days': total,
            'period_price': price,
            'amount': amount,
            'price_version': _id(version),
            'ncf_rule': _id(rule),
            'description': description,
            'section': SECTION_OF_KIND.get(template.rsoft_kind),
            'broadcaster': _id(broadcaster),
            }

    @staticmethod
    def _charged(lines):
        "Return {line id: [charge values]}"
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        result = defaultdict(list)
        names = ['line', 'period_start', 'period_end', 'kind', 'date_from',
            'date_to', 'amount', 'period_price', 'price_version',
            'price_list_line', 'ncf_rule']
        for charge in Charge.search_read(
                [('line', 'in', [line.id for line in lines])],
                fields_names=names):
            result[charge['line']].append(charge)
        return result

    @staticmethod
    def _suspended(connections):
        """Return {connection id: [(first, last day suspended)]}

        Read from the state history of the connections."""
        pool = Pool()
        Event = pool.get('rsoft.subscriber.event')
        result = defaultdict(list)
        since = {}
        events = Event.search([
                ('connection', 'in', [c.id for c in connections]),
                ('kind', '=', 'state'),
                ], order=[('connection', 'ASC'), ('date', 'ASC'),
                ('id', 'ASC')])
        for event in events:
            key = event.connection.id
            if event.after == 'suspended':
                since.setdefault(key, event.date)
            elif key in since:
                start = since.pop(key)
                if event.date > start:
                    result[key].append((start, event.date - _DAY))
        for key, start in since.items():
            result[key].append((start, datetime.date.max - _DAY))
        return result


def _without(start, end, holes):
    "Return the (start, end) segments of start–end outside holes"
    segments = [(start, end)]
    for hole_start, hole_end in holes:
        result = []
        for s, e in segments:
            if hole_end < s or hole_start > e:
                result.append((s, e))
                continue
            if s < hole_start:
                result.append((s, hole_start - _DAY))
            if hole_end < e:
                result.append((hole_end + _DAY, e))
        segments = result
    return segments


def _cut(start, end, dates):
    "Return start–end cut before each of dates that falls inside"
    inside = [d for d in dates if start < d <= end]
    bounds = [start] + inside + [end + _DAY]
    return [(a, b - _DAY) for a, b in zip(bounds, bounds[1:])]


def _id(record):
    if record is None:
        return None
    return record if isinstance(record, int) else record.id
