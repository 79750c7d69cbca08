"""Pricing: the price lists of the LCOs and their territories set the
price their subscribers are rated at, dated like every price"""
import datetime
from decimal import Decimal
from unittest.mock import patch

from trytond.exceptions import UserError
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction

from .tools import AccountsMixin, BillingOperator

D = datetime.date


class PricingTestCase(AccountsMixin, BillingOperator, _DBTestCase):
    "Test the price lists in rating"
    module = 'rsoft_billing'

    @staticmethod
    def price_list(op, name, *lines, lco=None, region=None):
        """Return a new price list of (offer, formula, start, end) lines,
        given to lco or region"""
        pool = Pool()
        PriceList = pool.get('product.price_list')
        Partner = pool.get('rsoft.partner')
        Region = pool.get('rsoft.region')
        price_list, = PriceList.create([{
                    'name': name,
                    'company': op.company.id,
                    'lines': [('create', [{
                                    'product': offer.id,
                                    'formula': formula,
                                    'start_date': start,
                                    'end_date': end,
                                    }
                                for offer, formula, start, end in lines])],
                    }])
        if lco:
            Partner.write([lco], {'price_list': price_list.id})
        if region:
            Region.write([region], {'price_list': price_list.id})
        return price_list

    @staticmethod
    def charges(line):
        Charge = Pool().get('rsoft.billing.charge')
        return Charge.search([('line', '=', line.id)],
            order=[('period_start', 'ASC'), ('kind', 'DESC'), ('id', 'ASC')])

    @with_transaction()
    def test_dated_line_sets_price_from_its_start(self):
        """LCO-A's Gold Pack is 10% off in February and March: January
        and April at the offer price, LCO-B's subscribers at the offer
        price throughout"""
        with self.set_up() as (op, account):
            tariff = self.price_list(op, "LCO-A Tariff",
                (op.gold, 'unit_price * 0.9', D(2025, 2, 1), D(2025, 3, 31)),
                lco=op.lco_a)
            list_line, = tariff.lines
            ours = account(D(2025, 1, 1), lco=op.lco_a)
            gold = subscribe(ours.connections[0], op.gold, D(2025, 1, 1))
            other = account(D(2025, 1, 1), lco=op.lco_b)
            other_gold = subscribe(
                other.connections[0], op.gold, D(2025, 1, 1))
            for subscriber in [ours, other]:
                self.bill(subscriber, D(2025, 5, 1))

            charges = self.charges(gold)
            self.assertEqual(
                [(c.date_from, c.amount, c.price_list_line)
                    for c in charges], [
                    (D(2025, 1, 1), Decimal('310.00'), None),
                    (D(2025, 2, 1), Decimal('279.00'), list_line),
                    (D(2025, 3, 1), Decimal('279.00'), list_line),
                    (D(2025, 4, 1), Decimal('310.00'), None),
                    ])
            january, february, _, _ = charges
            self.assertEqual(february.period_price, Decimal('279.00'))
            self.assertEqual(february.price_version, january.price_version)
            self.assertTrue(february.description.replace('\xa0', '').endswith(
                    "28 of 28 days × ₹279.00 = ₹279.00 "
                    "(price list LCO-A Tariff)"))
            self.assertNotIn("price list", january.description)
            self.assertEqual(
                [(c.amount, c.price_list_line)
                    for c in self.charges(other_gold)],
                [(Decimal('310.00'), None)] * 4)

    @with_transaction()
    def test_region_price_list_and_lco_own(self):
        """West's price list prices the LCOs of the West without their
        own; LCO-A's own wins; LCO-C, outside the West, has none"""
        with self.set_up() as (op, account):
            self.price_list(op, "West Tariff",
                (op.gold, 'unit_price * 0.8', None, None), region=op.west)
            self.price_list(op, "LCO-A Tariff",
                (op.gold, 'unit_price * 0.9', None, None), lco=op.lco_a)
            amounts = []
            for lco in [op.lco_a, op.lco_b, op.lco_c]:
                subscriber = account(D(2025, 1, 1), lco=lco)
                gold = subscribe(
                    subscriber.connections[0], op.gold, D(2025, 1, 1))
                self.bill(subscriber, D(2025, 2, 1))
                charge, = self.charges(gold)
                amounts.append((charge.amount, charge.price_list_line
                        and charge.price_list_line.price_list.name))
            self.assertEqual(amounts, [
                    (Decimal('279.00'), "LCO-A Tariff"),
                    (Decimal('248.00'), "West Tariff"),
                    (Decimal('310.00'), None),
                    ])

    @with_transaction()
    def test_quarterly_fixed_price_and_term_discount(self):
        """A fixed 250 is a monthly price: a quarter costs 750.00 whatever
        the term; 10% off a 3-month term is 10% off its discounted price"""
        with self.set_up(cycle=3) as (op, account):
            self.price_list(op, "LCO-A Tariff",
                (op.gold, '250', None, None),
                (op.sports, 'unit_price * 0.9', None, None),
                lco=op.lco_a)
            subscriber = account(D(2025, 1, 1), lco=op.lco_a)
            connection = subscriber.connections[0]
            gold = subscribe(connection, op.gold, D(2025, 1, 1))
            sports = subscribe(connection, op.sports, D(2025, 1, 1), term=3)
            other = account(D(2025, 1, 1), lco=op.lco_a)
            gold_term = subscribe(
                other.connections[0], op.gold, D(2025, 1, 1), term=3)
            for account_ in [subscriber, other]:
                self.bill(account_, D(2025, 4, 1))

            self.assertEqual(
                [(c.date_from, c.date_to, c.amount)
                    for line in [gold, gold_term, sports]
                    for c in self.charges(line)], [
                    (D(2025, 1, 1), D(2025, 3, 31), Decimal('750.00')),
                    (D(2025, 1, 1), D(2025, 3, 31), Decimal('750.00')),
                    # 93 × 3 less 5% for the term = 265.05, less 10%
                    # = 238.545
                    (D(2025, 1, 1), D(2025, 3, 31), Decimal('238.55')),
                    ])

    @with_transaction()
    def test_line_quantity_counts_months(self):
        "A line from quantity 3 prices periods of 3 months and more only"
        pool = Pool()
        PriceListLine = pool.get('product.price_list.line')
        with self.set_up() as (op, account):
            tariff = self.price_list(op, "LCO-A Tariff",
                (op.gold, 'unit_price * 0.9', None, None), lco=op.lco_a)
            PriceListLine.write(list(tariff.lines), {'sequence': 20})
            PriceListLine.create([{
                        'price_list': tariff.id, 'sequence': 10,
                        'product': op.gold.id, 'quantity': 3,
                        'formula': 'unit_price * 0.85',
                        }])
            amounts = []
            for cycle in [1, 3]:
                subscriber = account(
                    D(2025, 1, 1), lco=op.lco_a, billing_cycle=cycle)
                gold = subscribe(
                    subscriber.connections[0], op.gold, D(2025, 1, 1))
                self.bill(subscriber, D(2025, 4, 1))
                amounts.append(self.charges(gold)[0].amount)
            # 310 × 0.9; 310 × 3 × 0.85
            self.assertEqual(amounts, [Decimal('279.00'), Decimal('790.50')])

    @with_transaction()
    def test_prorata_of_price_list_price(self):
        "A line started mid-February pays its days at the price list price"
        with self.set_up() as (op, account):
            self.price_list(op, "LCO-A Tariff",
                (op.gold, 'unit_price * 0.9', D(2025, 2, 1), None),
                lco=op.lco_a)
            subscriber = account(D(2025, 2, 1), lco=op.lco_a)
            gold = subscribe(subscriber.connections[0], op.gold,
                D(2025, 2, 11))
            self.bill(subscriber, D(2025, 3, 1))

            charge, = self.charges(gold)
            # 279.00 × 18 ÷ 28 = 179.357
            self.assertEqual(charge.amount, Decimal('179.36'))
            self.assertEqual(charge.period_price, Decimal('279.00'))
            self.assertIn("18 of 28 days × ₹279.00",
                charge.description.replace('\xa0', ''))

    @with_transaction()
    def test_prepaid_renewal_at_price_list_price(self):
        "The wallet is asked for April at April's price list price"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        with self.set_up(mode='prepaid', wallet=None) as (op, account):
            self.price_list(op, "LCO-A Tariff",
                (op.gold, 'unit_price * 0.9', D(2025, 4, 1), None),
                lco=op.lco_a)
            subscriber = account(D(2025, 3, 1), lco=op.lco_a)
            subscribe(subscriber.connections[0], op.gold, D(2025, 3, 1))
            wallet, = Wallet.get_wallets([subscriber])
            Wallet.top_up([(wallet, Decimal('1000'), D(2025, 3, 1))])

            invoice, = self.bill(subscriber, D(2025, 3, 1))
            # Gold 310 + NCF 130, GST 79.20, cess 5.19
            self.assertEqual(invoice.total_amount, Decimal('524.39'))
            subscriber = subscriber.__class__(subscriber.id)
            # Gold 279 + NCF 130, GST 73.62, cess 4.83
            self.assertEqual(subscriber.renewal_amount, Decimal('487.45'))

    @with_transaction()
    def test_rounding_half_up_to_the_paisa(self):
        "A formula's extra digits are rounded half-up to the paisa"
        with self.set_up() as (op, account):
            # 310 × 0.8765 = 271.715
            self.price_list(op, "LCO-A Tariff",
                (op.gold, 'unit_price * 0.8765', None, None), lco=op.lco_a)
            subscriber = account(D(2025, 1, 1), lco=op.lco_a)
            gold = subscribe(subscriber.connections[0], op.gold,
                D(2025, 1, 1))
            self.bill(subscriber, D(2025, 2, 1))

            charge, = self.charges(gold)
            self.assertEqual(charge.amount, Decimal('271.72'))

    @with_transaction()
    def test_negative_price_refused(self):
        "A price list that makes a price negative stops the rating"
        with self.set_up() as (op, account):
            self.price_list(op, "LCO-A Tariff",
                (op.gold, 'unit_price - 400', None, None), lco=op.lco_a)
            subscriber = account(D(2025, 1, 1), lco=op.lco_a)
            subscribe(subscriber.connections[0], op.gold, D(2025, 1, 1))

            with self.assertRaises(UserError) as cm:
                self.bill(subscriber, D(2025, 2, 1))
            message = cm.exception.message.replace('\xa0', '')
            self.assertIn('Price list "LCO-A Tariff"', message)
            self.assertIn("-₹90.00", message)
            self.assertIn("cannot be negative", message)

    @with_transaction()
    def test_formula_computed_once_per_bill_run(self):
        """Accounts of the same LCO on the same offer and dates share one
        computation of the price list"""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        PriceListLine = pool.get('product.price_list.line')
        with self.set_up() as (op, account):
            self.price_list(op, "LCO-A Tariff",
                (op.gold, 'unit_price * 0.9', None, None), lco=op.lco_a)
            subscribers = [
                account(D(2025, 1, 1), lco=op.lco_a) for _ in range(3)]
            lines = [subscribe(s.connections[0], op.gold, D(2025, 1, 1))
                for s in subscribers]

            with patch.object(PriceListLine, 'get_unit_price',
                    autospec=True,
                    side_effect=PriceListLine.get_unit_price) as formula:
                Subscriber.bill(
                    Subscriber.browse(subscribers), D(2025, 2, 1))
            self.assertEqual(formula.call_count, 1)
            self.assertEqual(
                [c.amount for line in lines for c in self.charges(line)],
                [Decimal('279.00')] * 3)
