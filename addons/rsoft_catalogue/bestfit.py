"""Best fit: the cheapest offers that give a subscriber the channels wanted

Pure Python on plain data, no database: the caller reads the offers (with
the monthly price the subscriber would pay), the NCF rule and the TV rank
of the connection, and turns the answer into subscription lines.

The cost of a selection of offers is what the bill says for a month,
before GST:

    sum of the offers' monthly prices
    + NCF of the slab holding the channels counted in the union of the
      offers' channels (government mandated ones only if the rule counts
      them), times the second-TV rate on a second or later TV

as rsoft.ncf.rule's count_channels and compute and rsoft.connection's
compute_ncf do. GST is left to the caller: it is charged per line on the
bill (account.tax), and the same rate on every line does not change which
selection is the cheapest.

A selection obeys the subscription rules of rsoft.subscription.line's
check_subscribe: at most one base pack, the same offer never twice, and no
channel both a-la-carte and in a bouquet or pack.

best_fit finds the cheapest selection that covers the channels wanted by
branch and bound, proven exact unless its node or time guard stops it:
then the answer is the best found and says exact=False."""
import math
import time
from dataclasses import dataclass
from decimal import Decimal

ALACARTE = 'alacarte'
BASE_PACK = 'base_pack'
# The kinds of offers that carry channels, as in rsoft_catalogue.offer
CHANNEL_KINDS = {ALACARTE, 'broadcaster_bouquet', BASE_PACK, 'addon_pack'}
# The NCF is the rule's, never an offer's price
NCF_KIND = 'ncf'
_CENT = Decimal('0.01')
# A bound is a float sum of ratios of paise: far below a paisa of error
_EPSILON = 1e-6


class BestFitError(ValueError):
    "No selection of offers gives the channels wanted"


class NotOfferedError(BestFitError):
    "Some channels wanted are carried by no offer"

    def __init__(self, channels):
        self.channels = frozenset(channels)
        super().__init__(
            f"No offer carries the channels {sorted(self.channels, key=str)}")


class NoFitError(BestFitError):
    """Every channel is offered but no selection obeys the rules: one base
    pack at most, and a channel count that an NCF slab holds"""


@dataclass(frozen=True)
class Offer:
    """An offer as the subscriber would buy it

    price is the monthly price before taxes (after the LCO's price list);
    channels are the ids of all the channels it entitles (those of nested
    bouquets included)."""
    id: object
    kind: str
    price: Decimal
    channels: frozenset


@dataclass(frozen=True)
class NcfRule:
    """The figures of an rsoft.ncf.rule

    slabs are (max_channels or None for no limit, monthly amount); the
    first slab, by maximum channels, that holds the count applies."""
    slabs: tuple
    count_mandated: bool = False
    second_tv_rate: Decimal = Decimal('0.40')

    def __post_init__(self):
        object.__setattr__(self, 'slabs', tuple(sorted(
                    self.slabs, key=lambda s: (s[0] is None, s[0] or 0))))

    @classmethod
    def from_rule(cls, rule):
        "Return the figures of rule, an rsoft.ncf.rule"
        return cls(
            slabs=tuple(
                (s.max_channels, s.amount) for s in rule.sorted_slabs()),
            count_mandated=rule.count_mandated,
            second_tv_rate=rule.second_tv_rate)

    def count_channels(self, channels, mandated=frozenset()):
        "Return the number of channels counted toward the slabs"
        if self.count_mandated:
            return len(channels)
        return sum(1 for c in channels if c not in mandated)

    def compute(self, channel_count, tv_rank=1):
        """Return the NCF for channel_count channels on the tv_rank-th TV,
        or None when no slab holds the count"""
        for max_channels, amount in self.slabs:
            if max_channels is None or channel_count <= max_channels:
                break
        else:
            return None
        if tv_rank > 1:
            amount *= self.second_tv_rate
        return round_amount(amount)

    def is_monotone(self):
        "Tell if more channels never cost less NCF"
        amounts = [amount for _, amount in self.slabs]
        return all(a <= b for a, b in zip(amounts, amounts[1:]))


@dataclass(frozen=True)
class Fit:
    """A selection of offers and what it costs a month, before taxes

    offers are in the order they were given; channel_count is the number
    counted toward the NCF slabs; total is offers_amount + ncf. When exact
    is False the search was stopped by its guard: total is the cheapest
    found and lower_bound is proven, the cheapest is between them."""
    offers: tuple
    offers_amount: Decimal
    channel_count: int
    ncf: Decimal
    total: Decimal
    exact: bool = True
    lower_bound: Decimal = None
    nodes: int = 0


def round_amount(amount):
    """Round amount to the paisa as rsoft_catalogue.common.round_amount does
    without a company (currency.round rounds half-even too)"""
    return amount.quantize(_CENT)


def price_selection(offers, rule, mandated=frozenset(), tv_rank=1):
    """Return the Fit of offers, the selection as it is (e.g. the current
    subscription of a connection): the same cost as best_fit's

    Offers of kind 'ncf' are skipped: the rule gives the NCF."""
    offers = [o for o in offers if o.kind != NCF_KIND]
    for offer in offers:
        if offer.kind not in CHANNEL_KINDS:
            raise ValueError(f"Offer {offer.id} of kind {offer.kind!r} "
                "carries no channels")
    channels = frozenset().union(*(o.channels for o in offers))
    count = rule.count_channels(channels, mandated)
    ncf = rule.compute(count, tv_rank)
    if ncf is None:
        raise NoFitError(f"No NCF slab holds {count} channels")
    amount = sum((o.price for o in offers), Decimal(0))
    total = amount + ncf
    return Fit(tuple(offers), amount, count, ncf, total, True, total)


def rule_breaches(offers):
    """Return the subscription rules offers break, as (rule, offer ids):
    'twice', 'second_base_pack', 'alacarte_in_bouquet'"""
    breaches, seen = [], set()
    for offer in offers:
        if offer.id in seen:
            breaches.append(('twice', (offer.id,)))
        seen.add(offer.id)
    bases = [o.id for o in offers if o.kind == BASE_PACK]
    if len(bases) > 1:
        breaches.append(('second_base_pack', tuple(bases)))
    bouquets = [o for o in offers if o.kind != ALACARTE]
    for offer in offers:
        if offer.kind != ALACARTE:
            continue
        for bouquet in bouquets:
            if offer.channels & bouquet.channels:
                breaches.append(
                    ('alacarte_in_bouquet', (offer.id, bouquet.id)))
    return breaches


def best_fit(offers, wanted, rule, mandated=frozenset(), tv_rank=1,
        max_nodes=2_000_000, time_limit=2.0):
    """Return the Fit of the cheapest selection of offers that carries the
    channels wanted

    offers are the Offers the subscriber may buy (others than channel
    offers are ignored); mandated the ids of the government mandated
    channels; tv_rank the connection's (above 1: the second-TV rate).
    The search stops after max_nodes nodes or time_limit seconds (None:
    no limit) with the best found and exact=False.
    Raises NotOfferedError when a channel is in no offer, NoFitError when
    no selection obeys the rules."""
    if not rule.is_monotone():
        # A fall in NCF would make buying channels nobody wants pay off:
        # the bounds below assume it never does
        raise ValueError("The NCF slabs must not fall as channels grow")
    search = _Search(
        offers, frozenset(wanted), rule, frozenset(mandated), tv_rank)
    return search.run(max_nodes, time_limit)


def _bits(mask):
    "Yield the indexes of the bits set in mask"
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _paise(amount):
    paise = amount * 100
    if paise != paise.to_integral_value():
        raise ValueError(f"{amount} is not an amount in paise")
    return int(paise)


class _Search:
    """Branch and bound over the offers that carry a channel wanted

    Channels wanted are bits of a mask, and so are the counted channels of
    the offers; amounts are integer paise. A node branches on the
    uncovered channel with the fewest offers: each of them in turn, the
    ones tried before being banned from the later branches so that no
    selection is met twice."""

    def __init__(self, offers, wanted, rule, mandated, tv_rank):
        self.rule, self.mandated, self.tv_rank = rule, mandated, tv_rank
        self.wanted = list(wanted)
        self.offers = self._candidates(offers, wanted)
        self._index(mandated)
        self._weigh()
        self._reduce()
        self._order()
        self.ncf = self._ncf_table()

    def _candidates(self, offers, wanted):
        "Return the channel offers that carry a channel wanted, once each"
        candidates, seen = [], set()
        for offer in offers:
            if (offer.kind in CHANNEL_KINDS and offer.id not in seen
                    and offer.channels & wanted):
                seen.add(offer.id)
                candidates.append(offer)
        missing = wanted.difference(*(o.channels for o in candidates))
        if missing:
            raise NotOfferedError(missing)
        return candidates

    def _index(self, mandated):
        "Give each channel wanted and each counted channel its bit"
        wanted_bit = {c: i for i, c in enumerate(self.wanted)}
        counted = set().union(*(o.channels for o in self.offers))
        if not self.rule.count_mandated:
            counted -= mandated
        counted_bit = {c: i for i, c in enumerate(counted)}
        self.all_wanted = (1 << len(self.wanted)) - 1
        self.counted_wanted = sum(
            1 << wanted_bit[c] for c in self.wanted if c in counted_bit)
        self.price, self.wmask, self.cmask, self.base = [], [], [], []
        for offer in self.offers:
            self.price.append(_paise(offer.price))
            self.wmask.append(sum(
                    1 << wanted_bit[c] for c in offer.channels
                    if c in wanted_bit))
            self.cmask.append(sum(
                    1 << counted_bit[c] for c in offer.channels
                    if c in counted_bit))
            self.base.append(offer.kind == BASE_PACK)

    def _weigh(self):
        """Weigh each channel wanted by its a-la-carte price (1 paisa when
        it has none): the bound shares an offer's price among its uncovered
        channels by weight, which follows how bouquets are priced"""
        self.weight = [1] * len(self.wanted)
        for i, offer in enumerate(self.offers):
            if offer.kind == ALACARTE and self.wmask[i]:
                for bit in _bits(self.wmask[i]):
                    self.weight[bit] = max(self.weight[bit], self.price[i])

    def _reduce(self):
        """Drop each offer that cheaper offers within its counted channels
        replace: they carry its channels wanted and never add to the NCF

        Only offers still kept replace one, so a chain of replacements
        always ends on kept offers."""
        kept = list(range(len(self.offers)))
        for i in sorted(kept, key=lambda i: -self.price[i]):
            others = [j for j in kept if j != i
                and not self.cmask[j] & ~self.cmask[i]
                and self.wmask[j] & self.wmask[i]
                and (self.base[i] or not self.base[j])]
            if self._cheap_cover(self.wmask[i], others, self.price[i]):
                kept.remove(i)
        self.kept = kept

    def _cheap_cover(self, mask, others, limit):
        "Tell if a greedy cover of mask by others costs at most limit"
        cost, base_taken = 0, False
        while mask:
            choice = min(
                (j for j in others if self.wmask[j] & mask
                    and not (base_taken and self.base[j])),
                key=lambda j: self.price[j] / self._weight(
                    self.wmask[j] & mask),
                default=None)
            if choice is None:
                return False
            cost += self.price[choice]
            if cost > limit:
                return False
            mask &= ~self.wmask[choice]
            base_taken |= self.base[choice]
        return True

    def _weight(self, mask):
        return sum(self.weight[b] for b in _bits(mask))

    def _order(self):
        """Order the channels wanted by their number of offers, and each
        channel's offers by price per weight carried"""
        self.offers_of = [[] for _ in self.wanted]
        for i in self.kept:
            for bit in _bits(self.wmask[i]):
                self.offers_of[bit].append(i)
        for bit, offers in enumerate(self.offers_of):
            offers.sort(key=lambda i: (
                    self.price[i] / self._weight(self.wmask[i]), i))
        self.channel_order = sorted(
            range(len(self.wanted)),
            key=lambda b: (len(self.offers_of[b]), -self.weight[b]))

    def _ncf_table(self):
        "Return the NCF in paise of each possible count, inf past the slabs"
        counted = 0
        for i in self.kept:
            counted |= self.cmask[i]
        table = []
        for count in range(counted.bit_count() + 1):
            ncf = self.rule.compute(count, self.tv_rank)
            table.append(math.inf if ncf is None else _paise(ncf))
        return table

    def run(self, max_nodes, time_limit):
        self.max_nodes = max_nodes
        self.deadline = (
            time.perf_counter() + time_limit if time_limit is not None
            else None)
        self.nodes, self.stopped = 0, False
        self.best, self.best_offers = math.inf, None
        self._greedy()
        root = self._bound(self.all_wanted, 0, 0, 0, False)
        try:
            self._branch(0, 0, 0, False, 0, [])
        except _Stop:
            self.stopped = True
        if self.best_offers is None:
            if self.stopped:
                raise NoFitError("The search stopped before finding "
                    "any selection")
            raise NoFitError("No selection of offers obeys the rules")
        return self._fit(root)

    def _greedy(self):
        """Start from a greedy selection: the offer of least cost, NCF
        increase included, per weight newly carried, until all is"""
        covered = union = cost = 0
        chosen, base_taken = [], False
        while covered != self.all_wanted:
            ncf = self.ncf[union.bit_count()]
            best, best_ratio = None, math.inf
            for i in self.kept:
                new = self.wmask[i] & ~covered
                if not new or (base_taken and self.base[i]):
                    continue
                extra = self.ncf[(union | self.cmask[i]).bit_count()] - ncf
                ratio = (self.price[i] + extra) / self._weight(new)
                if ratio < best_ratio:
                    best, best_ratio = i, ratio
            if best is None:
                return
            chosen.append(best)
            covered |= self.wmask[best]
            union |= self.cmask[best]
            cost += self.price[best]
            base_taken |= self.base[best]
        self._record(self._prune(chosen))

    def _prune(self, chosen):
        "Return chosen without the offers the others make useless"
        chosen = list(chosen)
        for i in sorted(chosen, key=lambda i: -self.price[i]):
            rest = 0
            for j in chosen:
                if j != i:
                    rest |= self.wmask[j]
            if rest == self.all_wanted:
                chosen.remove(i)
        return chosen

    def _record(self, chosen):
        "Keep chosen if it is the cheapest yet"
        union = 0
        for i in chosen:
            union |= self.cmask[i]
        total = sum(self.price[i] for i in chosen) + self.ncf[
            union.bit_count()]
        if total < self.best:
            self.best, self.best_offers = total, chosen

    def _branch(self, covered, union, cost, base_taken, banned, chosen):
        self.nodes += 1
        self._check_guard()
        uncovered = self.all_wanted & ~covered
        if not uncovered:
            self._record(self._prune(chosen))
            return
        if self._bound(
                uncovered, union, cost, banned, base_taken) >= self.best:
            return
        bit = next(b for b in self.channel_order if uncovered >> b & 1)
        for i in self.offers_of[bit]:
            if banned >> i & 1 or (base_taken and self.base[i]):
                continue
            self._branch(
                covered | self.wmask[i], union | self.cmask[i],
                cost + self.price[i], base_taken or self.base[i], banned,
                chosen + [i])
            banned |= 1 << i

    def _check_guard(self):
        if self.max_nodes is not None and self.nodes > self.max_nodes:
            raise _Stop
        # Reading the clock at every node would cost more than the node
        if (self.deadline is not None and not self.nodes % 256
                and time.perf_counter() > self.deadline):
            raise _Stop

    def _bound(self, uncovered, union, cost, banned, base_taken):
        """Return a lower bound, in whole paise, of the selections below
        a node

        The NCF can only grow: every channel wanted still uncovered joins
        the count. And each uncovered channel costs at least its weight's
        share of the price of the cheapest offer per weight it could
        come from."""
        count = union.bit_count() + (uncovered & self.counted_wanted
            ).bit_count()
        bound = cost + self.ncf[count]
        if bound >= self.best:
            return bound
        ratios = {}
        shares = 0.0
        for bit in _bits(uncovered):
            least = math.inf
            for i in self.offers_of[bit]:
                if banned >> i & 1 or (base_taken and self.base[i]):
                    continue
                ratio = ratios.get(i)
                if ratio is None:
                    ratio = ratios[i] = self.price[i] / self._weight(
                        self.wmask[i] & uncovered)
                least = min(least, ratio)
            if least == math.inf:
                return math.inf
            shares += least * self.weight[bit]
        return bound + math.ceil(shares - _EPSILON)

    def _fit(self, root):
        chosen = set(self.best_offers)
        offers = tuple(o for i, o in enumerate(self.offers) if i in chosen)
        fit = price_selection(
            offers, self.rule, self.mandated, self.tv_rank)
        if self.stopped:
            lower = min(Decimal(root) / 100, fit.total)
        else:
            lower = fit.total
        return Fit(fit.offers, fit.offers_amount, fit.channel_count,
            fit.ncf, fit.total, not self.stopped, lower, self.nodes)



class _Stop(Exception):
    "The guard of the search stopped it"
