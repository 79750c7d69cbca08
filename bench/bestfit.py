"""Time the best-fit advisor and check its answers

    python bench/bestfit.py [--wanted 50] [--draws 200] [--seed 1]

Two catalogues, no database:

- demo: the demo operator's, built from tools/rsoft_tools/catalogue_data.py
  the way rsoft_tools.generate builds it (broadcaster bouquets at 65% of
  their channels' MRPs, the operator packs at their share, base packs with
  every free-to-air channel, the mandated ones included, a-la-carte offers
  of the pay channels, NCF Rs 130 up to 200 channels and Rs 160 above);
- generated: 1,000 channels (25 mandated, 175 free-to-air offered one by
  one at Rs 0, 800 pay channels of 40 broadcasters at MRPs of Rs 0.50 to
  19 and a few HD ones above, sold a-la-carte only) and 150 bouquets: 100
  broadcaster bouquets of 5 to 40 channels of one broadcaster, 45 add-on
  packs of 50 to 300 channels and 5 base packs, every bouquet priced
  between the TRAI floor (45% off) and 85% of its channels' MRPs.

For each, --draws sets of --wanted channels are drawn (seeded) the way a
household ticks them: mostly the channels of its languages and genres,
the popular (dearer) ones more often, a few others, a few free-to-air;
then as many sets drawn mostly from one bouquet or pack, where bouquets
compete hardest with a-la-carte. best_fit is timed on each (p50, p95 and
max in ms, with the machine) and its answer checked against the raw
catalogue with this file's own arithmetic: it carries the channels
wanted, obeys the subscription rules, costs what it says, and no greedy
selection is cheaper. Exits 1 when a check fails, an answer is not proven
exact or the p95 misses the goal.

run(name, catalogue, wanted_sets) is the hook for another catalogue, e.g.
the demo read from a database."""
import argparse
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass
from decimal import Decimal

from benchdb import cpu_model
from rsoft_tools import catalogue_data as data

from trytond.modules.rsoft_catalogue.bestfit import (
    NcfRule,
    Offer,
    best_fit,
)

GOAL_MS = 300
FAILURES = []
BOUQUET_MRP_CAP = Decimal(19)
# TRAI: a bouquet is at most 45% off the sum of its channels' MRPs
BOUQUET_FLOOR = Decimal('0.55')
TRAI_2020 = NcfRule(
    ((200, Decimal('130.00')), (None, Decimal('160.00'))),
    count_mandated=False, second_tv_rate=Decimal('0.40'))


@dataclass
class Channel:
    id: int
    broadcaster: str
    genre: str
    language: str
    mrp: Decimal
    fta: bool = False
    mandated: bool = False


@dataclass
class Catalogue:
    "The channels (by id), the offers and the NCF rule of an operator"
    channels: dict
    offers: list
    rule: NcfRule

    @property
    def mandated(self):
        return frozenset(c.id for c in self.channels.values() if c.mandated)


def demo_catalogue():
    "Return the demo operator's catalogue as rsoft_tools.generate makes it"
    channels = {}

    def add(broadcaster, genre, language, mrp, mandated=False):
        channel = Channel(len(channels) + 1, broadcaster, genre, language,
            Decimal(mrp), fta=not Decimal(mrp), mandated=mandated)
        channels[channel.id] = channel
    for _, code, groups in data.BROADCASTERS:
        for genre, language, names, mrps in groups:
            for mrp in mrps:
                add(code, genre, language, mrp)
    _, code, names = data.MANDATED
    for _ in names:
        add(code, 'news', 'hindi', '0', mandated=True)
    for i in range(data.FTA_COUNT):
        genre, language = data.FTA_GENRES[i % len(data.FTA_GENRES)]
        add('FTA', genre, language, '0')
    offers, bouquets = [], {}
    for _, code, _ in data.BROADCASTERS:
        members = {c.id for c in channels.values() if c.broadcaster == code
            and 0 < c.mrp <= BOUQUET_MRP_CAP}
        if len(members) >= 3:
            bouquets[f'{code}-B1'] = members
            offers.append(_offer(f'{code}-B1', 'broadcaster_bouquet',
                    members, channels, Decimal('0.65')))
    for _, code, kind, genres, nested, share in data.PACKS:
        members = {c.id for c in channels.values()
            if not c.fta and c.mrp <= BOUQUET_MRP_CAP
            and (genres is None or c.genre in genres)}
        if kind == 'base_pack':
            members |= {c.id for c in channels.values() if c.fta}
        for bouquet in nested:
            members |= bouquets[bouquet]
        offers.append(_offer(code, kind, members, channels, Decimal(share)))
    offers += _alacarte(channels, free=False)
    return Catalogue(channels, offers, TRAI_2020)


def _offer(code, kind, members, channels, share):
    "Return the offer of members priced at share of their MRPs, in rupees"
    total = sum(channels[c].mrp for c in members)
    return Offer(code, kind, (total * share).quantize(Decimal(1)),
        frozenset(members))


def _alacarte(channels, free):
    "Return the a-la-carte offers of the pay (and free if free) channels"
    return [Offer(f'A{c.id}', 'alacarte', c.mrp, frozenset({c.id}))
        for c in channels.values()
        if c.mrp or (free and not c.mandated)]


GENRES = ['general_entertainment', 'movies', 'news', 'sports', 'kids',
    'music', 'infotainment', 'devotional', 'lifestyle', 'regional']
LANGUAGES = ['hindi', 'english', 'tamil', 'telugu', 'kannada', 'malayalam',
    'bengali', 'marathi', 'gujarati', 'punjabi']


def generated_catalogue(rng, channel_count=1000, broadcaster_count=40,
        bouquet_count=150):
    "Return a catalogue of channel_count channels and bouquet_count bouquets"
    channels = {}

    def add(broadcaster, genre, language, mrp, mandated=False):
        channel = Channel(len(channels) + 1, broadcaster, genre, language,
            mrp, fta=not mrp, mandated=mandated)
        channels[channel.id] = channel
    for _ in range(25):
        add('DD', 'news', rng.choice(LANGUAGES), Decimal(0), mandated=True)
    for _ in range(175):
        add('FTA', rng.choice(GENRES), rng.choice(LANGUAGES), Decimal(0))
    pay = channel_count - len(channels)
    sizes = _split(rng, pay, broadcaster_count, 5)
    for b, size in enumerate(sizes):
        genres = rng.sample(GENRES, 3)
        languages = rng.sample(LANGUAGES, 2)
        for _ in range(size):
            if rng.random() < 0.05:
                mrp = Decimal(rng.randint(20, 39))
            else:
                mrp = Decimal(rng.choice(range(50, 1901, 50))) / 100
            add(f'B{b}', rng.choice(genres), rng.choice(languages), mrp)
    offers = _alacarte(channels, free=True)
    offers += _broadcaster_bouquets(rng, channels, sizes, 100)
    offers += _packs(rng, channels, 'addon_pack', bouquet_count - 105,
        (50, 300))
    offers += _packs(rng, channels, 'base_pack', 5, (100, 300))
    return Catalogue(channels, offers, TRAI_2020)


def _split(rng, total, parts, least):
    "Return parts random sizes of at least least that sum to total"
    cuts = sorted(rng.sample(range(1, total - parts * least), parts - 1))
    bounds = [0] + cuts + [total - parts * least]
    return [least + b - a for a, b in zip(bounds, bounds[1:])]


def _price(rng, channels, members):
    "Return a bouquet price between the TRAI floor and 85% of its MRPs"
    total = sum(channels[c].mrp for c in members)
    share = BOUQUET_FLOOR + Decimal(rng.randint(0, 30)) / 100
    return max((total * share).quantize(Decimal(1)), Decimal(1))


def _broadcaster_bouquets(rng, channels, sizes, count):
    offers = []
    for n in range(count):
        b = n % len(sizes)
        eligible = [c.id for c in channels.values()
            if c.broadcaster == f'B{b}' and c.mrp <= BOUQUET_MRP_CAP]
        size = rng.randint(min(5, len(eligible)), min(40, len(eligible)))
        members = frozenset(rng.sample(eligible, size))
        offers.append(Offer(f'BB{n}', 'broadcaster_bouquet',
                _price(rng, channels, members), members))
    return offers


def _packs(rng, channels, kind, count, size_range):
    "Return count operator packs themed by a language and some genres"
    offers = []
    for n in range(count):
        language = rng.choice(LANGUAGES)
        genres = set(rng.sample(GENRES, rng.randint(2, 6)))
        pay = [c.id for c in channels.values()
            if 0 < c.mrp <= BOUQUET_MRP_CAP]
        themed = [c for c in pay if channels[c].language == language
            or channels[c].genre in genres]
        size = rng.randint(*size_range)
        members = set(rng.sample(themed, min(len(themed), size * 3 // 4)))
        members |= set(rng.sample(pay, size - len(members)))
        if kind == 'base_pack':
            members |= {c.id for c in channels.values() if c.mandated}
            free = [c.id for c in channels.values()
                if c.fta and not c.mandated]
            members |= set(rng.sample(free, rng.randint(60, len(free))))
        members = frozenset(members)
        offers.append(Offer(f'{kind.upper()}{n}', kind,
                _price(rng, channels, members), members))
    return offers


def wanted_sets(rng, catalogue, count, size):
    """Return count sets of size channels as households tick them: three
    quarters of their languages and genres, the dearer more often"""
    channels = list(catalogue.channels.values())
    sets = []
    for _ in range(count):
        languages = set(rng.sample(LANGUAGES, rng.randint(1, 2)))
        genres = set(rng.sample(GENRES, rng.randint(2, 5)))
        liked = [c for c in channels if c.mrp
            and (c.language in languages or c.genre in genres)]
        wanted = set()
        while len(wanted) < min(size * 3 // 4, len(liked)):
            wanted.add(rng.choices(
                    liked, weights=[float(c.mrp) + 1 for c in liked])[0].id)
        while len(wanted) < size:
            wanted.add(rng.choice(channels).id)
        sets.append(frozenset(wanted))
    return sets


def pack_wanted_sets(rng, catalogue, count, size):
    """Return count sets of size channels, seven tenths of them from one
    bouquet or pack: where bouquets compete hardest with a-la-carte"""
    bouquets = [o for o in catalogue.offers if o.kind != 'alacarte']
    channels = list(catalogue.channels)
    sets = []
    for _ in range(count):
        pay = [c for c in rng.choice(bouquets).channels
            if catalogue.channels[c].mrp]
        wanted = set(rng.sample(pay, min(len(pay), size * 7 // 10)))
        while len(wanted) < size:
            wanted.add(rng.choice(channels))
        sets.append(frozenset(wanted))
    return sets


def cost_of(catalogue, offers, tv_rank=1):
    "Return the monthly cost of offers before taxes, computed anew"
    channels = set()
    for offer in offers:
        channels |= offer.channels
    rule = catalogue.rule
    count = len([c for c in channels if rule.count_mandated
            or not catalogue.channels[c].mandated])
    for max_channels, amount in rule.slabs:
        if max_channels is None or count <= max_channels:
            break
    ncf = amount * (rule.second_tv_rate if tv_rank > 1 else 1)
    return sum(o.price for o in offers) + ncf.quantize(Decimal('0.01'))


def greedy(catalogue, wanted, tv_rank=1):
    """Return the cheapest of the plain answers an operator would give:
    every channel a-la-carte, or the offer of least price per channel
    wanted taken again and again (one base pack at most)"""
    answers = []
    alacarte = {next(iter(o.channels)): o for o in catalogue.offers
        if o.kind == 'alacarte'}
    if wanted <= alacarte.keys():
        answers.append([alacarte[c] for c in wanted])
    left, chosen, base = set(wanted), [], False
    while left:
        offers = [o for o in catalogue.offers if o.channels & left
            and not (base and o.kind == 'base_pack')]
        if not offers:
            break
        offer = min(offers, key=lambda o: o.price / len(o.channels & left))
        chosen.append(offer)
        left -= offer.channels
        base |= offer.kind == 'base_pack'
    else:
        answers.append(chosen)
    return min(cost_of(catalogue, a, tv_rank) for a in answers)


def check(name, catalogue, wanted, fit, tv_rank):
    "Check fit against the raw catalogue; return its saving on greedy"
    carried = set()
    for offer in fit.offers:
        carried |= offer.channels
    bases = [o for o in fit.offers if o.kind == 'base_pack']
    bouquets = [o for o in fit.offers if o.kind != 'alacarte']
    doubled = [o for o in fit.offers if o.kind == 'alacarte'
        and any(o.channels & b.channels for b in bouquets)]
    cost = cost_of(catalogue, fit.offers, tv_rank)
    baseline = greedy(catalogue, wanted, tv_rank)
    for failed, text in [
            (not wanted <= carried, "misses channels wanted"),
            (len(bases) > 1, "has two base packs"),
            (bool(doubled), "has an a-la-carte channel of a bouquet"),
            (cost != fit.total, f"costs {cost}, not {fit.total}"),
            (baseline < fit.total, f"dearer than greedy {baseline}"),
            (not fit.exact, "is not proven exact"),
            ]:
        if failed:
            FAILURES.append(f"{name}: {sorted(wanted)} {text}")
    return baseline - fit.total


def run(name, catalogue, wanted_sets, tv_rank=1):
    "Time best_fit on each of wanted_sets, check its answers, print figures"
    times, nodes, savings = [], [], []
    for wanted in wanted_sets:
        start = time.perf_counter()
        fit = best_fit(catalogue.offers, wanted, catalogue.rule,
            catalogue.mandated, tv_rank, time_limit=None)
        times.append((time.perf_counter() - start) * 1000)
        nodes.append(fit.nodes)
        savings.append(check(name, catalogue, wanted, fit, tv_rank))
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    bouquets = sum(1 for o in catalogue.offers if o.kind != 'alacarte')
    print(f"{name}: {len(catalogue.channels)} channels, {bouquets} "
        f"bouquets and packs, {len(catalogue.offers)} offers; "
        f"{len(wanted_sets)} sets of {len(wanted_sets[0])} channels, "
        f"TV {tv_rank}")
    print(f"  ms  p50 {statistics.median(times):.1f}  p95 {p95:.1f}  "
        f"max {times[-1]:.1f}  (goal p95 <= {GOAL_MS})")
    print(f"  nodes  p50 {statistics.median(nodes):.0f}  max {max(nodes)}; "
        f"saving on greedy: mean Rs {statistics.mean(savings):.2f}, "
        f"max Rs {max(savings):.2f}, "
        f"{sum(1 for s in savings if s)} of {len(savings)} cheaper")
    if p95 > GOAL_MS:
        FAILURES.append(f"{name}: p95 {p95:.1f} ms above {GOAL_MS} ms")


def describe_machine():
    model = cpu_model()
    load = ', '.join(f'{x:.2f}' for x in os.getloadavg())
    return (f"{model}, {os.cpu_count()} CPUs, load {load}; "
        f"Python {platform.python_version()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--wanted', type=int, default=50)
    parser.add_argument('--draws', type=int, default=200)
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()
    print(describe_machine())
    rng = random.Random(args.seed)
    demo = demo_catalogue()
    generated = generated_catalogue(rng)
    for name, catalogue in [('demo', demo), ('generated', generated)]:
        sets = wanted_sets(rng, catalogue, args.draws, args.wanted)
        run(name, catalogue, sets)
        run(name, catalogue, sets[:args.draws // 4], tv_rank=2)
        run(f'{name}, around a pack', catalogue, pack_wanted_sets(
                rng, catalogue, args.draws, args.wanted))
    for failure in FAILURES:
        print('FAIL', failure)
    return 1 if FAILURES else 0


if __name__ == '__main__':
    sys.exit(main())
