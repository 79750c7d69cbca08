"""The best-fit advisor, without a database: cases an operator would check,
then its answers against every selection of small random catalogues"""
import unittest
from decimal import Decimal
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from trytond.modules.rsoft_catalogue.bestfit import (
    NcfRule,
    NoFitError,
    NotOfferedError,
    Offer,
    _Search,
    best_fit,
    price_selection,
    rule_breaches,
)

TRAI_2020 = NcfRule(((200, Decimal('130.00')), (None, Decimal('160.00'))))
CENT = Decimal('0.01')


def alacarte(channel, mrp):
    return Offer(f'A{channel}', 'alacarte', Decimal(mrp), frozenset({channel}))


def bouquet(code, kind, price, channels):
    return Offer(code, kind, Decimal(price), frozenset(channels))


def ids(fit):
    return {o.id for o in fit.offers}


class BestFitTestCase(unittest.TestCase):
    "The operator's cases"

    def setUp(self):
        # Channels 1-3 are pay channels of Surya, 100-297 free-to-air,
        # 900-902 the mandated Lok Prasaran channels, 300-359 Vistaar's
        self.surya = [alacarte(1, '19'), alacarte(2, '12'), alacarte(3, '10')]
        self.value = bouquet(
            'BASE-VALUE', 'base_pack', '100', range(100, 295))
        self.mega = bouquet(
            'ADD-MEGA', 'addon_pack', '25', {1, 2, 3, *range(300, 360)})

    def test_pack_cheaper_than_its_channels(self):
        "A bouquet of 3 channels at Rs 30 beats them a-la-carte at Rs 41"
        surya = bouquet('SURYA-B1', 'broadcaster_bouquet', '30', {1, 2, 3})
        offers = self.surya + [surya]

        fit = best_fit(offers, {1, 2, 3}, TRAI_2020)
        current = price_selection(self.surya, TRAI_2020)

        self.assertEqual(ids(fit), {'SURYA-B1'})
        self.assertEqual(fit.total, Decimal('160.00'))
        self.assertEqual(current.total, Decimal('171.00'))
        self.assertEqual(current.total - fit.total, Decimal('11.00'))
        self.assertTrue(fit.exact)
        self.assertEqual(fit.lower_bound, fit.total)

    def test_pack_past_200_channels(self):
        """The add-on takes the count past 200 channels: Rs 25 and a Rs 160
        NCF cost more than Rs 41 a-la-carte and a Rs 130 NCF"""
        offers = self.surya + [self.value, self.mega]

        fit = best_fit(offers, {1, 2, 3, 100}, TRAI_2020)

        self.assertEqual(ids(fit), {'BASE-VALUE', 'A1', 'A2', 'A3'})
        self.assertEqual(fit.channel_count, 198)
        self.assertEqual(fit.offers_amount, Decimal('141'))
        self.assertEqual(fit.ncf, Decimal('130.00'))
        self.assertEqual(fit.total, Decimal('271.00'))
        self.assertEqual(price_selection(
                [self.value, self.mega], TRAI_2020).total, Decimal('285.00'))

    def test_second_tv(self):
        """On a second TV the NCF is 40%: Rs 64 instead of Rs 52 is now less
        than the Rs 16 the add-on saves"""
        offers = self.surya + [self.value, self.mega]

        fit = best_fit(offers, {1, 2, 3, 100}, TRAI_2020, tv_rank=2)

        self.assertEqual(ids(fit), {'BASE-VALUE', 'ADD-MEGA'})
        self.assertEqual(fit.ncf, Decimal('64.00'))
        self.assertEqual(fit.total, Decimal('189.00'))

    def test_second_tv_rounding(self):
        "The second-TV NCF is rounded to the paisa"
        rule = NcfRule(((None, Decimal('153.47')),),
            second_tv_rate=Decimal('0.3333'))

        fit = best_fit(self.surya, {3}, rule, tv_rank=3)

        self.assertEqual(fit.ncf, Decimal('51.15'))

    def test_mandated_not_counted(self):
        """The Lok Prasaran channels come with the base pack and do not
        count toward NCF, unless the rule says so"""
        value = bouquet('BASE-VALUE', 'base_pack', '100',
            {*range(100, 298), 900, 901, 902})
        mandated = {900, 901, 902}

        fit = best_fit([value], {900}, TRAI_2020, mandated)
        counted = best_fit([value], {900}, NcfRule(
                TRAI_2020.slabs, count_mandated=True), mandated)

        self.assertEqual(fit.channel_count, 198)
        self.assertEqual(fit.ncf, Decimal('130.00'))
        self.assertEqual(counted.channel_count, 201)
        self.assertEqual(counted.ncf, Decimal('160.00'))

    def test_one_base_pack(self):
        "Two base packs would be cheapest but a connection takes one"
        gold = bouquet('BASE-GOLD', 'base_pack', '50', {1, 2})
        silver = bouquet('BASE-SILVER', 'base_pack', '5', {3})

        fit = best_fit(self.surya + [gold, silver], {1, 2, 3}, TRAI_2020)

        self.assertEqual(ids(fit), {'A1', 'A2', 'BASE-SILVER'})
        self.assertEqual(fit.total, Decimal('166.00'))
        self.assertEqual(rule_breaches(fit.offers), [])
        self.assertEqual(rule_breaches([gold, silver]),
            [('second_base_pack', ('BASE-GOLD', 'BASE-SILVER'))])

    def test_two_base_packs_needed(self):
        "Channels only two base packs carry cannot be had together"
        gold = bouquet('BASE-GOLD', 'base_pack', '50', {1})
        silver = bouquet('BASE-SILVER', 'base_pack', '5', {2})

        with self.assertRaises(NoFitError):
            best_fit([gold, silver], {1, 2}, TRAI_2020)

    def test_not_offered(self):
        "A channel no offer carries is named"
        with self.assertRaises(NotOfferedError) as context:
            best_fit(self.surya, {1, 7, 8}, TRAI_2020)
        self.assertEqual(context.exception.channels, {7, 8})

    def test_no_alacarte_in_bouquet(self):
        "A free a-la-carte channel is not taken again beside its bouquet"
        surya = bouquet('SURYA-B1', 'broadcaster_bouquet', '30', {1, 2, 3})
        offers = [alacarte(1, '0'), surya]

        fit = best_fit(offers, {1, 2}, TRAI_2020)

        self.assertEqual(ids(fit), {'SURYA-B1'})
        self.assertEqual(rule_breaches([*offers, offers[0]]), [
                ('twice', ('A1',)),
                ('alacarte_in_bouquet', ('A1', 'SURYA-B1')),
                ('alacarte_in_bouquet', ('A1', 'SURYA-B1')),
                ])

    def test_no_slab(self):
        "A rule without an unbounded slab refuses more channels"
        rule = NcfRule(((2, Decimal('100.00')),))

        fit = best_fit(self.surya + [self.mega], {1, 2}, rule)
        with self.assertRaises(NoFitError):
            best_fit([self.mega], {1}, rule)

        self.assertEqual(ids(fit), {'A1', 'A2'})

    def test_nothing_wanted(self):
        "A connection without channels still pays the first slab"
        fit = best_fit(self.surya, set(), TRAI_2020)

        self.assertEqual(fit.offers, ())
        self.assertEqual(fit.total, Decimal('130.00'))

    def test_ncf_offer_ignored(self):
        "The current subscription's NCF line is the rule's to price"
        ncf = Offer('NCF', 'ncf', Decimal(0), frozenset())

        current = price_selection([ncf, *self.surya], TRAI_2020)

        self.assertEqual(current.total, Decimal('171.00'))
        with self.assertRaises(ValueError):
            price_selection([Offer('DVR', 'dvr', Decimal(49), frozenset())],
                TRAI_2020)

    def test_falling_slabs_refused(self):
        "NCF slabs that fall as channels grow are refused"
        rule = NcfRule(((200, Decimal('160.00')), (None, Decimal('130.00'))))

        with self.assertRaises(ValueError):
            best_fit(self.surya, {1}, rule)

    def test_guard(self):
        "A search stopped by its guard says so and bounds the cheapest"
        offers = self.surya + [self.value, self.mega]

        fit = best_fit(offers, {1, 2, 3, 100}, TRAI_2020, max_nodes=1)

        self.assertFalse(fit.exact)
        self.assertLessEqual(fit.lower_bound, Decimal('271.00'))
        self.assertGreaterEqual(fit.total, Decimal('271.00'))
        self.assertEqual(rule_breaches(fit.offers), [])

    def test_from_rule(self):
        "The figures of an rsoft.ncf.rule record"
        class Slab:
            def __init__(self, max_channels, amount):
                self.max_channels, self.amount = max_channels, amount

        class Rule:
            count_mandated = True
            second_tv_rate = Decimal('0.25')

            def sorted_slabs(self):
                return [Slab(200, Decimal(130)), Slab(None, Decimal(160))]

        rule = NcfRule.from_rule(Rule())

        self.assertEqual(rule.slabs, ((200, 130), (None, 160)))
        self.assertEqual(rule.compute(201, 2), Decimal('40.00'))


# Small random catalogues: channels 0-14, some mandated; a-la-carte offers
# of some channels, bouquets and packs of some channels
CHANNELS = range(15)
KINDS = ['broadcaster_bouquet', 'base_pack', 'addon_pack']
paise = st.integers(0, 3000).map(lambda p: Decimal(p) / 100)


@st.composite
def catalogues(draw):
    "Return offers, mandated channels, channels wanted, rule and TV rank"
    prices = draw(st.dictionaries(
            st.sampled_from(CHANNELS), paise, max_size=8))
    offers = [alacarte(c, p) for c, p in sorted(prices.items())]
    for n in range(draw(st.integers(0, 12 - len(offers)))):
        channels = draw(st.frozensets(
                st.sampled_from(CHANNELS), min_size=1, max_size=10))
        # Mostly below the channels' MRPs, as bouquets are
        price = Decimal(draw(st.integers(0, 1500 * len(channels)))) / 100
        offers.append(bouquet(
                f'B{n}', draw(st.sampled_from(KINDS)), price, channels))
    offered = sorted(set().union(*(o.channels for o in offers)))
    wanted = draw(st.frozensets(
            st.sampled_from(offered or list(CHANNELS)), max_size=10))
    if not draw(st.integers(0, 9)):
        # Now and then a channel no offer may carry
        wanted |= {draw(st.sampled_from(CHANNELS))}
    mandated = draw(st.frozensets(st.sampled_from(CHANNELS), max_size=3))
    return offers, mandated, wanted, draw(rules()), draw(st.integers(1, 3))


@st.composite
def rules(draw):
    "A rule of rising slabs, its last one bounded at times"
    limits = sorted(draw(st.sets(st.integers(0, 15), max_size=3)))
    if draw(st.booleans()) or not limits:
        limits.append(None)
    amounts = sorted(draw(st.lists(
                st.integers(0, 20000), min_size=len(limits),
                max_size=len(limits))))
    return NcfRule(
        tuple((m, Decimal(a) / 100) for m, a in zip(limits, amounts)),
        count_mandated=draw(st.booleans()),
        second_tv_rate=Decimal(draw(st.integers(0, 100))) / 100)


def ncf(rule, count, tv_rank):
    "Return the NCF of count channels or None, as the rule reads"
    slabs = sorted(rule.slabs, key=lambda s: (s[0] is None, s[0] or 0))
    for max_channels, amount in slabs:
        if max_channels is None or count <= max_channels:
            if tv_rank > 1:
                amount *= rule.second_tv_rate
            return amount.quantize(CENT)
    return None


def brute_force(offers, mandated, wanted, rule, tv_rank):
    "Return the least cost of every selection that obeys the rules or None"
    least = None
    for mask in range(1 << len(offers)):
        selection = [o for i, o in enumerate(offers) if mask >> i & 1]
        channels = frozenset().union(*(o.channels for o in selection))
        if not wanted <= channels or rule_breaches(selection):
            continue
        count = len([c for c in channels
                if rule.count_mandated or c not in mandated])
        fee = ncf(rule, count, tv_rank)
        if fee is None:
            continue
        cost = sum(o.price for o in selection) + fee
        if least is None or cost < least:
            least = cost
    return least


class BestFitPropertyTestCase(unittest.TestCase):
    "best_fit against every selection of small catalogues"

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(catalogues())
    def test_brute_force(self, catalogue):
        offers, mandated, wanted, rule, tv_rank = catalogue
        least = brute_force(offers, mandated, wanted, rule, tv_rank)
        offered = frozenset().union(*(o.channels for o in offers))

        if not wanted <= offered:
            with self.assertRaises(NotOfferedError):
                best_fit(offers, wanted, rule, mandated, tv_rank)
        elif least is None:
            with self.assertRaises(NoFitError):
                best_fit(offers, wanted, rule, mandated, tv_rank)
        else:
            fit = best_fit(offers, wanted, rule, mandated, tv_rank)
            self.check_fit(fit, least, wanted, rule, tv_rank)
            # The search alone, without the greedy start that often
            # finds the cheapest itself
            with patch.object(_Search, '_greedy', lambda search: None):
                fit = best_fit(offers, wanted, rule, mandated, tv_rank)
            self.check_fit(fit, least, wanted, rule, tv_rank)

    def check_fit(self, fit, least, wanted, rule, tv_rank):
        channels = frozenset().union(*(o.channels for o in fit.offers))
        self.assertTrue(fit.exact)
        self.assertEqual(fit.total, least)
        self.assertLessEqual(wanted, channels)
        self.assertEqual(rule_breaches(fit.offers), [])
        self.assertEqual(fit.total, fit.offers_amount + fit.ncf)
        self.assertEqual(fit.ncf, ncf(rule, fit.channel_count, tv_rank))
