import datetime
import unittest
from contextlib import contextmanager
from decimal import Decimal
from unittest.mock import patch

from trytond.exceptions import UserError
from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.rsoft_billing.schedule import Schedule, add_months
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction

from .tools import BillingOperator, PostingMixin, create_offer, new_account

D = datetime.date


class ScheduleTestCase(unittest.TestCase):
    "The calendar of billing periods, without the database"

    def test_add_months_falls_back_to_month_end(self):
        self.assertEqual(add_months(D(2024, 1, 31), 1), D(2024, 2, 29))
        self.assertEqual(add_months(D(2025, 1, 31), 1), D(2025, 2, 28))
        self.assertEqual(add_months(D(2024, 1, 31), 2), D(2024, 3, 31))
        self.assertEqual(add_months(D(2024, 11, 30), 3), D(2025, 2, 28))

    def test_bill_day_31_in_short_months(self):
        "Bill day 31 is the last day of each month, never drifting"
        schedule = Schedule(D(2024, 1, 31))
        self.assertEqual(
            [schedule.boundary(i) for i in range(5)],
            [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31),
                D(2024, 4, 30), D(2024, 5, 31)])
        self.assertEqual(
            schedule.period(D(2024, 3, 15)), (D(2024, 2, 29), D(2024, 3, 30)))

    def test_bill_day_29_and_30_in_february(self):
        for day, start in [(29, D(2025, 2, 28)), (30, D(2025, 2, 28)),
                (29, D(2024, 2, 29)), (30, D(2024, 2, 29))]:
            with self.subTest(day=day, year=start.year):
                schedule = Schedule(D(2024, 1, 10), 1, day)
                period_start, period_end = schedule.period(start)
                self.assertEqual(period_start, start)
                self.assertEqual(period_end, D(start.year, 3, day - 1))

    def test_fixed_day_quarterly(self):
        "A quarter on the 1st from an anchor in mid-January"
        schedule = Schedule(D(2024, 1, 15), 3, 1)
        self.assertEqual(
            schedule.period(D(2024, 1, 15)), (D(2024, 1, 1), D(2024, 3, 31)))
        self.assertEqual(
            list(schedule.windows(D(2024, 1, 15), D(2024, 7, 10))), [
                (D(2024, 1, 15), D(2024, 3, 31),
                    D(2024, 1, 1), D(2024, 3, 31)),
                (D(2024, 4, 1), D(2024, 6, 30),
                    D(2024, 4, 1), D(2024, 6, 30)),
                (D(2024, 7, 1), D(2024, 7, 10),
                    D(2024, 7, 1), D(2024, 9, 30)),
                ])


class BillingTestCase(
        PostingMixin, BillingOperator, CompanyTestMixin, ModuleTestCase):
    "Test the billing module"
    module = 'rsoft_billing'

    @contextmanager
    def set_up(self, mode='postpaid', day=1, cycle=1):
        "Yield (operator, account factory)"
        with self.fixture() as op:

            def account(start, **values):
                values.setdefault('billing_mode', mode)
                values.setdefault('billing_cycle', cycle)
                if day:
                    values.setdefault('bill_day_mode', 'fixed')
                    values.setdefault('bill_day', day)
                return new_account(op.lco_a, start, **values)
            yield op, account

    def charges(self, subscriber, product=None):
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        domain = [('subscriber', '=', subscriber.id)]
        if product:
            domain.append(('product', '=', product.id))
        return Charge.search(domain, order=[
                ('date_from', 'ASC'), ('kind', 'DESC'), ('id', 'ASC')])

    def bill(self, subscriber, date):
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        return Subscriber.bill([Subscriber(subscriber.id)], date)

    @with_transaction()
    def test_prorata_month_lengths(self):
        "Pro-rata counts the days of the actual month, leap February too"
        with self.set_up() as (op, account):
            cases = [
                (D(2024, 1, 16), 16, 31, '160.00'),
                (D(2024, 2, 16), 14, 29, '149.66'),
                (D(2024, 4, 16), 15, 30, '155.00'),
                (D(2025, 2, 16), 13, 28, '143.93'),
                ]
            charges = []
            # No subTest: it would swallow the lock retries of the test
            for start, *_ in cases:
                subscriber = account(start.replace(day=1))
                subscribe(subscriber.connections[0], op.gold, start)
                self.bill(subscriber, add_months(start.replace(day=1), 1))
                charges.extend(self.charges(subscriber, op.gold))
            self.assertEqual(
                [(c.date_from, c.charged_days, c.period_days, str(c.amount))
                    for c in charges], cases)
            version = op.gold.template.offer_prices[0]
            for charge, (_, days, total, amount) in zip(charges, cases):
                self.assertEqual(charge.kind, 'recurring')
                self.assertEqual(charge.price_version, version)
                description = charge.description.replace('\xa0', '')
                self.assertIn(f"{days} of {total} days", description)
                self.assertIn("× ₹310.00", description)
                self.assertTrue(description.endswith(f"= ₹{amount}"))

    @with_transaction()
    def test_postpaid_invoice_itemised_with_two_tax_layers(self):
        "One invoice per account per period, GST then cess on top"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        with self.set_up() as (op, account):
            subscriber = account(D(2024, 3, 1))
            connection = subscriber.connections[0]
            subscribe(connection, op.gold, D(2024, 3, 1))
            subscribe(connection, op.sports, D(2024, 3, 16))

            invoices = self.bill(subscriber, D(2024, 4, 1))

            invoice, = invoices
            self.assertEqual(invoice.state, 'posted')
            self.assertEqual(invoice.rsoft_subscriber, subscriber)
            self.assertEqual(invoice.rsoft_customer_id, subscriber.customer_id)
            self.assertEqual(invoice.rsoft_lco, op.lco_a)
            self.assertEqual(
                (invoice.rsoft_period_start, invoice.rsoft_period_end),
                (D(2024, 3, 1), D(2024, 3, 31)))
            lines = {line.product: line for line in invoice.lines}
            # NCF for 3 counted channels: the first slab, Rs 130
            self.assertEqual(lines[op.ncf].unit_price, Decimal('130.00'))
            self.assertEqual(lines[op.ncf].rsoft_section, 'ncf')
            self.assertEqual(lines[op.gold].unit_price, Decimal('310.00'))
            # Sports from the 16th: 16 of 31 days of Rs 93
            self.assertEqual(lines[op.sports].unit_price, Decimal('48.00'))
            self.assertEqual(lines[op.sports].rsoft_section, 'bouquet')
            untaxed = Decimal('488.00')
            self.assertEqual(invoice.untaxed_amount, untaxed)
            taxes = {t.tax: t.amount for t in invoice.taxes}
            self.assertEqual(taxes[op.gst], Decimal('87.84'))
            # The cess is computed on the price with GST: 1% of 575.84
            self.assertEqual(taxes[op.cess], Decimal('5.76'))
            self.assertEqual(invoice.total_amount, Decimal('581.60'))
            self.assertEqual(
                invoice.total_amount,
                sum(line.amount for line in invoice.lines)
                + sum(taxes.values()))
            self.assertEqual(subscriber.__class__(subscriber.id).billed_until,
                D(2024, 3, 31))

            # Billing again at the same date bills nothing twice
            self.assertEqual(self.bill(subscriber, D(2024, 4, 1)), [])
            self.assertEqual(Invoice.search([
                        ('rsoft_subscriber', '=', subscriber.id),
                        ], count=True), 1)

    @with_transaction()
    def test_bulk_posting_as_tryton_posts(self):
        "The invoices written in bulk are those Tryton posts, record by record"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        Wallet = pool.get('rsoft.wallet')
        Line = pool.get('rsoft.subscription.line')
        with self.set_up() as (op, account):
            # A credit note: a prepaid account ended mid-period
            prepaid = account(D(2024, 3, 1), billing_mode='prepaid')
            subscribe(prepaid.connections[0], op.gold, D(2024, 3, 1))
            wallet, = Wallet.get_wallets([prepaid])
            Wallet.top_up([(wallet, Decimal('1000'), D(2024, 3, 1))])
            self.assertPostedAsTryton(self.bill(prepaid, D(2024, 3, 1)))
            Subscriber.terminate([Subscriber(prepaid.id)], D(2024, 3, 11))
            credit_note, = self.bill(prepaid, D(2024, 3, 11))
            self.assertEqual(credit_note.sequence_type, 'credit_note')
            self.assertPostedAsTryton([credit_note])

            subscribers = []
            for start in [D(2024, 3, 1), D(2024, 3, 7), D(2024, 3, 30)]:
                subscriber = account(start)
                connection = subscriber.connections[0]
                subscribe(connection, op.gold, start)
                subscribe(connection, op.rental, start)
                subscribe(connection, op.install, start)
                sports = subscribe(connection, op.sports, D(2024, 3, 16))
                Line.stop([sports], D(2024, 4, 20))
                subscribers.append(Subscriber(subscriber.id))
            invoices = Subscriber.bill(subscribers, D(2024, 5, 1))
            self.assertEqual(len(invoices), 3)
            self.assertPostedAsTryton(invoices)

    @with_transaction()
    def test_changes_in_one_period(self):
        "Upgrade, downgrade and two changes on one day: every day once"
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        with self.set_up() as (op, account):
            subscriber = account(D(2025, 3, 1))
            connection = subscriber.connections[0]
            silver = subscribe(connection, op.silver, D(2025, 3, 1))
            # Upgrade on the 10th
            Line.stop([silver], D(2025, 3, 10))
            gold = subscribe(connection, op.gold, D(2025, 3, 10))
            # On the 20th, back to silver, and a sports pack taken and
            # dropped the same day: it never ran
            Line.stop([gold], D(2025, 3, 20))
            silver2 = subscribe(connection, op.silver, D(2025, 3, 20))
            sports = subscribe(connection, op.sports, D(2025, 3, 20))
            Line.stop([sports], D(2025, 3, 20))

            self.bill(subscriber, D(2025, 4, 1))

            amounts = {(c.line, c.charged_days): c.amount
                for c in self.charges(subscriber) if not c.line.ncf}
            self.assertEqual(amounts, {
                    (silver, 9): Decimal('58.06'),
                    (gold, 10): Decimal('100.00'),
                    (silver2, 12): Decimal('77.42'),
                    })
            self.assertEqual(Line(sports.id).state, 'cancelled')
            ncf_days = sum(c.charged_days for c in self.charges(
                    subscriber, op.ncf))
            self.assertEqual(ncf_days, 31)

    @with_transaction()
    def test_suspend_resume_across_periods(self):
        "No charge while suspended, suspensions repeated and across months"
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        with self.set_up() as (op, account):
            subscriber = account(D(2025, 1, 1))
            connection = subscriber.connections[0]
            subscribe(connection, op.gold, D(2025, 1, 1))
            subscribe(connection, op.rental, D(2025, 1, 1))
            for suspend, resume in [
                    (D(2025, 1, 5), D(2025, 1, 10)),
                    (D(2025, 1, 20), D(2025, 2, 11))]:
                Connection.do_suspend(
                    [connection], 'non_payment', date=suspend)
                Connection.resume([Connection(connection.id)], date=resume)

            self.bill(subscriber, D(2025, 3, 1))

            gold = [(c.date_from, c.charged_days, c.amount)
                for c in self.charges(subscriber, op.gold)]
            # January: 31 - 5 - 12 = 14 days; February: 28 - 10 = 18 days
            self.assertEqual(gold, [
                    (D(2025, 1, 1), 14, Decimal('140.00')),
                    (D(2025, 2, 1), 18, Decimal('199.29')),
                    ])
            # The box stays at home: the rental runs while suspended
            rental = [c.amount for c in self.charges(subscriber, op.rental)]
            self.assertEqual(rental, [Decimal('50.00'), Decimal('50.00')])

    @with_transaction()
    def test_one_time_charge_once(self):
        with self.set_up() as (op, account):
            subscriber = account(D(2025, 1, 1))
            connection = subscriber.connections[0]
            subscribe(connection, op.install, D(2025, 1, 3))
            self.bill(subscriber, D(2025, 2, 1))
            self.bill(subscriber, D(2025, 3, 1))
            charge, = self.charges(subscriber, op.install)
            self.assertEqual(
                (charge.kind, charge.amount), ('one_time', Decimal('350.00')))
            self.assertEqual(charge.section, 'one_time')

    @with_transaction()
    def test_prepaid_termination_credit(self):
        "Prepaid is charged ahead; ending mid-period credits unused days"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        Invoice = pool.get('account.invoice')
        Wallet = pool.get('rsoft.wallet')
        with self.set_up(mode='prepaid') as (op, account):
            subscriber = account(D(2025, 1, 1))
            subscribe(subscriber.connections[0], op.gold, D(2025, 1, 1))
            wallet, = Wallet.get_wallets([subscriber])
            Wallet.top_up([(wallet, Decimal('600'), D(2025, 1, 1))])

            invoice, = self.bill(subscriber, D(2025, 1, 1))
            gold, = [line for line in invoice.lines
                if line.product == op.gold]
            self.assertEqual(gold.unit_price, Decimal('310.00'))

            Subscriber.terminate([Subscriber(subscriber.id)], D(2025, 1, 21))
            invoice, = self.bill(subscriber, D(2025, 1, 21))
            credits = {line.product: line.unit_price for line in invoice.lines}
            # 11 unused days of 31 (21 to 31 January)
            self.assertEqual(credits[op.gold], Decimal('-110.00'))
            self.assertEqual(credits[op.ncf], Decimal('-46.13'))
            self.assertEqual(
                [(t.tax.name, t.base, t.amount) for t in invoice.taxes], [
                    ('GST 18%', Decimal('-156.13'), Decimal('-28.10')),
                    ('Cess 1%', Decimal('-184.23'), Decimal('-1.84'))])
            self.assertEqual(invoice.total_amount, Decimal('-186.07'))
            self.assertEqual(invoice.state, 'paid')
            # The credit note goes back into the wallet
            self.assertEqual(
                Wallet(wallet.id).balance,
                Decimal('600') - Decimal('524.39') + Decimal('186.07'))
            self.assertEqual(Invoice.search([
                        ('rsoft_subscriber', '=', subscriber.id),
                        ], count=True), 2)
            # Nothing more to credit
            self.assertEqual(self.bill(subscriber, D(2025, 2, 1)), [])

    @with_transaction()
    def test_charges_unique_in_database(self):
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        with self.set_up() as (op, account):
            subscriber = account(D(2025, 1, 1))
            subscribe(subscriber.connections[0], op.gold, D(2025, 1, 1))
            self.bill(subscriber, D(2025, 2, 1))
            charge, = self.charges(subscriber, op.gold)
            values = {f: getattr(charge, f) for f in [
                    'kind', 'period_start', 'period_end', 'date_from',
                    'date_to', 'amount', 'description']}
            with self.assertRaises(UserError) as cm:
                Charge.delete([charge])
            self.assertIn(
                "cannot be created, changed or deleted", cm.exception.message)
            # Last: on PostgreSQL the refused INSERT aborts the transaction
            with self.assertRaises(UserError) as cm:
                Charge.create([{**values,
                            'subscriber': charge.subscriber.id,
                            'connection': charge.connection.id,
                            'line': charge.line.id,
                            'product': charge.product.id,
                            'currency': charge.currency.id}])
            self.assertIn("only once per billing period", cm.exception.message)


    @with_transaction()
    def test_prepaid_wallet_renewal_and_expiry(self):
        "Prepaid renews from the wallet, adds mid-period, expires when dry"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        Entry = pool.get('rsoft.wallet.entry')
        Line = pool.get('rsoft.subscription.line')
        with self.set_up(mode='prepaid') as (op, account):
            subscriber = account(D(2025, 3, 1))
            connection = subscriber.connections[0]
            gold = subscribe(connection, op.gold, D(2025, 3, 1))
            wallet, = Wallet.get_wallets([subscriber])
            Wallet.top_up([(wallet, Decimal('1000'), D(2025, 3, 1))])

            invoice, = self.bill(subscriber, D(2025, 3, 1))
            # Gold 310 + NCF 130, GST 79.20, cess 5.19
            self.assertEqual(invoice.total_amount, Decimal('524.39'))
            self.assertEqual(invoice.state, 'paid')
            self.assertEqual(Wallet(wallet.id).balance, Decimal('475.61'))

            subscriber = subscriber.__class__(subscriber.id)
            self.assertEqual(subscriber.next_bill_date, D(2025, 4, 1))
            self.assertEqual(subscriber.renewal_amount, Decimal('524.39'))
            # 475.61 pays nothing more than March: low now, out on 31/03
            self.assertEqual(subscriber.low_balance_date, D(2025, 4, 1))
            self.assertEqual(subscriber.expiry_date, D(2025, 3, 31))
            Wallet.top_up([(wallet, Decimal('600'), D(2025, 3, 2))])
            subscriber = subscriber.__class__(subscriber.id)
            # 1,075.61 pays April and May
            self.assertEqual(subscriber.low_balance_date, D(2025, 5, 1))
            self.assertEqual(subscriber.expiry_date, D(2025, 5, 31))
            entry, = [e for e in Wallet(wallet.id).entries
                if e.kind == 'top_up' and e.amount == Decimal('600')]
            Entry.reverse([entry])

            sports = subscribe(connection, op.sports, D(2025, 3, 16))
            invoice, = self.bill(subscriber, D(2025, 3, 16))
            line, = invoice.lines
            self.assertEqual(line.unit_price, Decimal('48.00'))
            self.assertIn("16 of 31 days", line.description)
            self.assertEqual(invoice.total_amount, Decimal('57.21'))
            self.assertEqual(Wallet(wallet.id).balance, Decimal('418.40'))

            # April costs 635.23: more than the wallet holds
            self.assertEqual(self.bill(subscriber, D(2025, 4, 1)), [])
            self.assertEqual(Wallet(wallet.id).balance, Decimal('418.40'))
            lines = Line.browse([gold.id, sports.id])
            self.assertEqual(
                [(line.state, line.end_date) for line in lines],
                [('ended', D(2025, 3, 31))] * 2)
            ncf, = [line for line in connection.__class__(
                    connection.id).lines if line.ncf]
            self.assertEqual(ncf.end_date, D(2025, 3, 31))
            self.assertFalse(
                [c for c in self.charges(subscriber)
                    if c.period_start == D(2025, 4, 1)])


    @with_transaction()
    def test_bill_day_and_cycle_changed_mid_life(self):
        "A new bill day, then a quarterly cycle: every day billed once"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        with self.set_up() as (op, account):
            subscriber = account(D(2025, 1, 1))
            subscribe(subscriber.connections[0], op.gold, D(2025, 1, 1))
            self.bill(subscriber, D(2025, 2, 1))
            Subscriber.write([subscriber], {'bill_day': 15})
            self.bill(subscriber, D(2025, 2, 15))
            Subscriber.write([subscriber], {'billing_cycle': 3})
            self.bill(subscriber, D(2025, 4, 15))
            self.bill(subscriber, D(2025, 7, 15))

            self.assertEqual(
                [(c.date_from, c.date_to, c.period_days, c.amount)
                    for c in self.charges(subscriber, op.gold)], [
                    (D(2025, 1, 1), D(2025, 1, 31), 31, Decimal('310.00')),
                    # The rest of the period of the new bill day
                    (D(2025, 2, 1), D(2025, 2, 14), 31, Decimal('140.00')),
                    # 59 days of the quarter 15 January to 14 April
                    (D(2025, 2, 15), D(2025, 4, 14), 90, Decimal('609.67')),
                    (D(2025, 4, 15), D(2025, 7, 14), 91, Decimal('930.00')),
                    ])
            self.assertEqual(
                Subscriber(subscriber.id).next_bill_date, D(2025, 10, 15))

    @with_transaction()
    def test_price_change_keeps_subscribed_version(self):
        "A new price applies to new subscriptions; charges name their price"
        pool = Pool()
        OfferPrice = pool.get('rsoft.offer.price')
        with self.set_up() as (op, account):
            old = account(D(2025, 5, 1))
            subscribe(old.connections[0], op.gold, D(2025, 5, 1))
            first = op.gold.template.offer_prices[0]
            version, = OfferPrice.create([{
                        'template': op.gold.template.id,
                        'start_date': D(2025, 6, 1),
                        'price': Decimal('350'),
                        'terms': [('create', [{'months': 1}])],
                        }])
            OfferPrice.publish([version])
            new = account(D(2025, 6, 1))
            subscribe(new.connections[0], op.gold, D(2025, 6, 1))
            for subscriber in [old, new]:
                self.bill(subscriber, D(2025, 7, 1))

            self.assertEqual(
                [(c.date_from, c.amount, c.price_version)
                    for c in self.charges(old, op.gold)], [
                    (D(2025, 5, 1), Decimal('310.00'), first),
                    (D(2025, 6, 1), Decimal('310.00'), first),
                    ])
            june, = self.charges(new, op.gold)
            self.assertEqual(
                (june.amount, june.price_version),
                (Decimal('350.00'), version))
            self.assertIn("350.00", june.description)
            # Rating May again charges nothing and keeps its explanation
            self.bill(old, D(2025, 7, 1))
            may, june = self.charges(old, op.gold)
            self.assertIn("31 of 31 days × ₹310.00", may.description.replace(
                    '\xa0', ''))


    @with_transaction()
    def test_campaign_discount(self):
        "A campaign takes its share off the periods it covers, and says so"
        pool = Pool()
        Campaign = pool.get('rsoft.billing.campaign')
        with self.set_up() as (op, account):
            subscriber = account(D(2025, 5, 1))
            subscribe(subscriber.connections[0], op.gold, D(2025, 5, 1))
            other = new_account(op.lco_b, D(2025, 5, 1),
                billing_mode='postpaid', bill_day_mode='fixed', bill_day=1)
            subscribe(other.connections[0], op.gold, D(2025, 5, 1))
            monsoon, = Campaign.create([{
                        'name': "Monsoon Offer",
                        'start_date': D(2025, 6, 1),
                        'end_date': D(2025, 6, 30),
                        'discount': Decimal('0.20'),
                        'offers': [('add', [op.gold.id])],
                        'lcos': [('add', [op.lco_a.id])],
                        }])
            for record in [subscriber, other]:
                self.bill(record, D(2025, 8, 1))

            self.assertEqual(
                [(c.date_from, c.amount, c.campaign)
                    for c in self.charges(subscriber, op.gold)], [
                    (D(2025, 5, 1), Decimal('310.00'), None),
                    (D(2025, 6, 1), Decimal('248.00'), monsoon),
                    (D(2025, 7, 1), Decimal('310.00'), None),
                    ])
            june = self.charges(subscriber, op.gold)[1]
            self.assertIn(
                "(Monsoon Offer: 20.00% off)", june.description)
            # Not an LCO of the campaign
            self.assertEqual(
                {c.amount for c in self.charges(other, op.gold)},
                {Decimal('310.00')})

            with self.assertRaises(UserError) as cm:
                Campaign.write([monsoon], {'discount': Decimal('1.5')})
            self.assertIn("at most 1", cm.exception.message)


    def run_tasks(self, limit=None):
        "Do what a worker does with the queued billing tasks, up to limit"
        pool = Pool()
        Queue = pool.get('ir.queue')
        tasks = Queue.search([
                ('name', '=', 'billing'),
                ('dequeued_at', '=', None),
                ], order=[('id', 'ASC')], limit=limit)
        for task in tasks:
            task.run()
        return len(tasks)

    def fresh(self, *records):
        "Return records read again: the runs count in SQL"
        return [r.__class__(r.id) for r in records]

    def accounts(self, op, account, count):
        subscribers = []
        for _ in range(count):
            subscriber = account(D(2025, 1, 1))
            subscribe(subscriber.connections[0], op.gold, D(2025, 1, 1))
            subscribers.append(subscriber)
        return subscribers

    def invoices_of_run_date(self):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoices = Invoice.search([('invoice_date', '=', D(2025, 2, 1))])
        return len(invoices), sum(i.total_amount for i in invoices)

    @with_transaction()
    def test_bill_run_in_batches_and_rerun(self):
        "A run bills every due account once; running it again bills nothing"
        pool = Pool()
        Run = pool.get('rsoft.billing.run')
        Configuration = pool.get('rsoft.billing.configuration')
        with self.set_up() as (op, account):
            Configuration.write([Configuration(1)], {'batch_size': 2})
            self.accounts(op, account, 5)
            run, = Run.create([{'date': D(2025, 2, 1)}])
            Run.start([run])
            self.assertEqual(run.state, 'running')
            self.assertEqual(run.account_count, 5)
            self.assertEqual(self.run_tasks(), 3)

            run, = self.fresh(run)
            self.assertEqual(run.state, 'done')
            self.assertEqual(
                (run.done_count, run.failed_count, run.invoice_count),
                (5, 0, 5))
            self.assertEqual(run.progress, 100)
            # Gold 310 + NCF 130 = 440; GST 79.20; cess 1% of 519.20
            self.assertEqual(run.amount, Decimal('524.39') * 5)
            self.assertEqual(
                self.invoices_of_run_date(), (5, Decimal('524.39') * 5))

            again, = Run.create([{'date': D(2025, 2, 1)}])
            Run.start([again])
            self.run_tasks()
            again, = self.fresh(again)
            self.assertEqual(again.state, 'done')
            self.assertEqual(
                (again.account_count, again.invoice_count), (0, 0))
            self.assertEqual(
                self.invoices_of_run_date(), (5, Decimal('524.39') * 5))

    @with_transaction()
    def test_bill_run_resumed_after_crash(self):
        """A worker killed mid-run, its other tasks still queued: resuming
        bills the rest, counts each account once and finishes once"""
        pool = Pool()
        Run = pool.get('rsoft.billing.run')
        Queue = pool.get('ir.queue')
        Configuration = pool.get('rsoft.billing.configuration')
        with self.set_up() as (op, account):
            Configuration.write([Configuration(1)], {'batch_size': 2})
            subscribers = self.accounts(op, account, 5)
            run, = Run.create([{'date': D(2025, 2, 1)}])
            Run.start([run])
            self.run_tasks(limit=1)
            # The worker took the next task and died: its work is lost
            # and the queue will not hand the task out again; the third
            # task is still queued
            lost, = Queue.search([
                    ('name', '=', 'billing'), ('dequeued_at', '=', None)],
                order=[('id', 'ASC')], limit=1)
            Queue.write([lost], {'dequeued_at': datetime.datetime.now()})
            run, = self.fresh(run)
            self.assertEqual(run.state, 'running')
            self.assertEqual((run.done_count, run.account_count), (2, 5))

            with patch.object(Run, 'finish', wraps=Run.finish) as finish:
                Run.resume([run])
                run, = self.fresh(run)
                self.assertEqual(run.state, 'running')
                self.assertEqual((run.done_count, run.account_count), (2, 5))
                # The queued task is replaced: 3 accounts in 2 tasks
                self.assertEqual(self.run_tasks(limit=1), 1)
                run, = self.fresh(run)
                self.assertEqual(run.state, 'running')
                self.assertEqual(run.done_count, 4)
                self.assertEqual(self.run_tasks(), 1)
                # The lost task, run late after all, changes nothing
                lost.run()
                self.assertEqual(finish.call_count, 1)

            run, = self.fresh(run)
            self.assertEqual(run.state, 'done')
            self.assertEqual(
                (run.account_count, run.done_count, run.failed_count,
                    run.invoice_count),
                (5, 5, 0, 5))
            self.assertEqual(
                {a.subscriber for a in run.accounts}, set(subscribers))
            self.assertEqual(run.amount, Decimal('524.39') * 5)
            self.assertEqual(
                self.invoices_of_run_date(), (5, Decimal('524.39') * 5))

    @with_transaction()
    def test_bill_run_resumed_when_done_too_early(self):
        """A run marked done with accounts still due, by the counting of
        old: resuming bills them; a run done for good stays as it is"""
        pool = Pool()
        Run = pool.get('rsoft.billing.run')
        Account = pool.get('rsoft.billing.run.account')
        Queue = pool.get('ir.queue')
        Configuration = pool.get('rsoft.billing.configuration')
        with self.set_up() as (op, account):
            Configuration.write([Configuration(1)], {'batch_size': 2})
            self.accounts(op, account, 5)
            run, = Run.create([{'date': D(2025, 2, 1)}])
            Run.start([run])
            self.run_tasks(limit=1)
            # As a run of before runs kept their accounts: none recorded,
            # marked done with 3 accounts due and their tasks lost
            Account.delete(Account.search([('run', '=', run.id)]))
            Queue.delete(Queue.search([('name', '=', 'billing')]))
            Run.write([run], {'state': 'done'})

            Run.resume([run])
            self.run_tasks()
            run, = self.fresh(run)
            self.assertEqual(run.state, 'done')
            # The 2 accounts of its charges and the 3 billed now
            self.assertEqual(
                (run.account_count, run.done_count, run.invoice_count),
                (5, 5, 5))
            self.assertEqual(run.amount, Decimal('524.39') * 5)

            # The bills delivered
            self.run_tasks()
            finished_at = run.finished_at
            with patch.object(Run, 'finish', wraps=Run.finish) as finish:
                Run.resume([run])
                self.assertEqual(self.run_tasks(), 0)
                self.assertEqual(finish.call_count, 0)
            run, = self.fresh(run)
            self.assertEqual((run.state, run.finished_at),
                ('done', finished_at))
            self.assertEqual(
                self.invoices_of_run_date(), (5, Decimal('524.39') * 5))

    @with_transaction()
    def test_bill_runs_at_once(self):
        "Two runs started at once over one scope have one effect"
        pool = Pool()
        Run = pool.get('rsoft.billing.run')
        Configuration = pool.get('rsoft.billing.configuration')
        with self.set_up() as (op, account):
            Configuration.write([Configuration(1)], {'batch_size': 2})
            self.accounts(op, account, 5)
            first, second = Run.create(
                [{'date': D(2025, 2, 1)}, {'date': D(2025, 2, 1)}])
            Run.start([first, second])
            # The workers take the tasks of both runs in turn
            self.run_tasks()

            first, second = self.fresh(first, second)
            self.assertEqual([r.state for r in [first, second]],
                ['done', 'done'])
            self.assertEqual(first.invoice_count + second.invoice_count, 5)
            self.assertEqual(
                self.invoices_of_run_date(), (5, Decimal('524.39') * 5))

    @with_transaction()
    def test_bill_run_records_failures(self):
        "An account that cannot be billed does not stop the others"
        pool = Pool()
        Run = pool.get('rsoft.billing.run')
        with self.set_up() as (op, account):
            good, bad = self.accounts(op, account, 2)
            # An offer without accounting category has no revenue account
            movies = create_offer("Movies Pack", 'addon_pack', '50',
                bouquet=op.sports.template.bouquet)
            subscribe(bad.connections[0], movies, D(2025, 1, 1))
            run, = Run.create([{'date': D(2025, 2, 1)}])
            Run.start([run])
            self.run_tasks()

            run, = self.fresh(run)
            self.assertEqual(run.state, 'failed')
            self.assertEqual(
                (run.done_count, run.failed_count, run.invoice_count),
                (1, 1, 1))
            self.assertIn(bad.customer_id, run.errors)
            self.assertIn('"Movies Pack"', run.errors)
            self.assertEqual(self.charges(bad), [])


del ModuleTestCase

