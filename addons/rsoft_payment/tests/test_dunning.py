import datetime
from decimal import Decimal

from trytond.model.exceptions import ValidationError
from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction

from .tools import (
    create_offer,
    create_operator,
    create_operator_company,
    new_account,
    set_up_accounting,
)

D = datetime.date
DAYS = datetime.timedelta


# The generic module checks run once, in test_module.py
class DunningTestCase(FixtureMixin, test_tryton._DBTestCase):
    "Test the dunning of postpaid accounts down to their suspension"
    module = 'rsoft_payment'

    @classmethod
    def set_up_fixture(cls):
        """Return the operator; its default procedure reminds after 7 days,
        gives notice after 15 and suspends after 30"""
        pool = Pool()
        Configuration = pool.get('rsoft.billing.configuration')
        AccountConfiguration = pool.get('account.configuration')
        PaymentTerm = pool.get('account.invoice.payment_term')
        company = create_operator_company()
        with set_company(company):
            op = create_operator(company, fta=False)
            op.gold = create_offer(
                "Gold Pack", 'base_pack', '310',
                bouquet=op.base.template.bouquet)
            op.install = create_offer("Installation", 'installation', '350')
            set_up_accounting(company)
            term, = PaymentTerm.create([{
                        'name': "Due on receipt",
                        'lines': [('create', [{'type': 'remainder'}])],
                        }])
            Configuration.write([Configuration(1)], {'payment_term': term.id})
            op.procedure = cls.procedure("TRAI 30 days", [
                    (7, 'reminder'), (15, 'final_notice'), (30, 'suspend')])
            config = AccountConfiguration(1)
            config.default_dunning_procedure = op.procedure
            config.save()
            return op

    @staticmethod
    def procedure(name, levels):
        pool = Pool()
        Procedure = pool.get('account.dunning.procedure')
        procedure, = Procedure.create([{
                    'name': name,
                    'levels': [('create', [{
                                    'sequence': i,
                                    'overdue': DAYS(days=days),
                                    'rsoft_action': action,
                                    } for i, (days, action)
                                in enumerate(levels)])],
                    }])
        return procedure

    def account(self, op, lco=None, mode='postpaid', start=D(2024, 3, 1)):
        """Return an account with the Gold pack and a mobile and an e-mail,
        of a subscriber reading English (India): dates day first"""
        pool = Pool()
        Party = pool.get('party.party')
        Lang = pool.get('ir.lang')
        subscriber = new_account(
            lco or op.lco_a, start, billing_mode=mode,
            bill_day_mode='fixed', bill_day=1, name="Asha Patil")
        Party.write([subscriber.party], {
                'lang': Lang.get('en_IN').id,
                'contact_mechanisms': [('create', [
                            {'type': 'mobile', 'value': subscriber.mobile},
                            {'type': 'email', 'value': 'asha@example.com'},
                            ])],
                })
        subscribe(subscriber.connections[0], op.gold, start)
        return subscriber

    def bill(self, subscriber, date):
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        invoice, = Subscriber.bill([Subscriber(subscriber.id)], date)
        return invoice

    def dun(self, date):
        pool = Pool()
        Dunning = pool.get('account.dunning')
        Dunning.dun(date)

    def dunnings(self, subscriber):
        pool = Pool()
        Dunning = pool.get('account.dunning')
        return Dunning.search([('rsoft_subscriber', '=', subscriber.id)])

    def notifications(self, event):
        pool = Pool()
        Notification = pool.get('rsoft.notify.notification')
        return Notification.search(
            [('event.code', '=', event)], order=[('channel', 'ASC')])

    def pay(self, invoice, amount, date):
        "Pay amount of invoice in cash on date, reconciled once paid"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Journal = pool.get('account.journal')
        Account = pool.get('account.account')
        Method = pool.get('account.invoice.payment.method')
        MoveLine = pool.get('account.move.line')
        methods = Method.search([])
        if not methods:
            cash, = Account.search([('code', '=', '1.1.1')])
            journal, = Journal.search([('type', '=', 'cash')])
            methods = Method.create([{
                        'name': "Cash", 'company': invoice.company.id,
                        'journal': journal.id,
                        'debit_account': cash.id,
                        'credit_account': cash.id,
                        }])
        method, = methods
        invoice = Invoice(invoice.id)
        invoice.pay_invoice(Decimal(amount), method, date)
        invoice = Invoice(invoice.id)
        if not invoice.amount_to_pay:
            MoveLine.reconcile(
                [line for line in invoice.lines_to_pay + invoice.payment_lines
                    if not line.reconciliation])
            Invoice.process([invoice])

    @with_transaction()
    def test_overdue_invoice_to_suspension_and_back(self):
        """An unpaid invoice is reminded, noticed, suspended; partly paid
        the account stays suspended, fully paid it resumes"""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        Connection = pool.get('rsoft.connection')
        Notification = pool.get('rsoft.notify.notification')
        with self.fixture() as op:
            subscriber = self.account(op)
            invoice = self.bill(subscriber, D(2024, 4, 1))
            self.assertEqual(invoice.total_amount, Decimal('524.39'))
            due, = {line.maturity_date for line in invoice.lines_to_pay}
            self.assertEqual(due, D(2024, 4, 1))

            # Six days late: nothing yet
            self.dun(D(2024, 4, 7))
            self.assertEqual(self.dunnings(subscriber), [])

            # Seven days late: the reminder, by SMS and e-mail
            self.dun(D(2024, 4, 8))
            dunning, = self.dunnings(subscriber)
            self.assertEqual(dunning.procedure, op.procedure)
            self.assertEqual(dunning.level.rsoft_action, 'reminder')
            self.assertEqual(
                (dunning.state, dunning.date), ('waiting', D(2024, 4, 8)))
            email, sms = self.notifications('dunning_reminder')
            for notification in [email, sms]:
                self.assertEqual(notification.state, 'queued')
                self.assertEqual(notification.origin, dunning)
                self.assertEqual(notification.party, subscriber.party)
            self.assertEqual(email.recipient, 'asha@example.com')
            self.assertEqual(sms.recipient, subscriber.mobile)
            self.assertEqual(
                (sms.sender_id, sms.dlt_template_id),
                ('RSOFTV', '1107160000000000001'))
            self.assertEqual(sms.body,
                f"Dear Asha Patil, Rs 524.39 is overdue on your TV account "
                f"{subscriber.customer_id} (invoice {invoice.number}). "
                "Please pay to avoid disconnection. -RSOFTV")
            self.assertIn("due on 01/04/2024", email.body)
            self.assertEqual(email.subject,
                f"Payment reminder for account {subscriber.customer_id}")

            # Fifteen days late: the final notice of the disconnection
            self.dun(D(2024, 4, 15))
            self.assertEqual(self.notifications('dunning_final_notice'), [])
            self.dun(D(2024, 4, 16))
            dunning, = self.dunnings(subscriber)
            self.assertEqual(dunning.level.rsoft_action, 'final_notice')
            self.assertEqual(dunning.rsoft_disconnection_date, D(2024, 5, 1))
            email, sms = self.notifications('dunning_final_notice')
            self.assertEqual(email.origin, dunning)
            self.assertEqual(email.subject,
                f"Disconnection notice for account {subscriber.customer_id} "
                "on 01/05/2024")
            self.assertIn(
                "will be suspended on 01/05/2024 for non-payment of "
                f"₹524.39 overdue on invoice(s) {invoice.number}",
                email.body)
            self.assertIn("suspended on 01/05/2024 for non-payment of "
                "Rs 524.39", sms.body)

            # Still running the day before the announced date
            self.dun(D(2024, 4, 30))
            self.assertEqual(Subscriber(subscriber.id).state, 'active')

            # Suspended on the announced date, the box with it
            self.dun(D(2024, 5, 1))
            subscriber = Subscriber(subscriber.id)
            connection, = subscriber.connections
            self.assertEqual(
                (subscriber.state, subscriber.suspension_reason),
                ('suspended', 'non_payment'))
            self.assertEqual(
                (connection.state, connection.suspension_reason),
                ('suspended', 'non_payment'))
            self.assertEqual(subscriber.suspension_note,
                f"Dunning of invoice(s) {invoice.number}")
            event, = [e for e in subscriber.events
                if e.action == 'suspended' and not e.connection]
            self.assertEqual(event.date, D(2024, 5, 1))
            dunning, = subscriber.dunnings
            self.assertEqual(dunning.level.rsoft_action, 'suspend')
            self.assertEqual(dunning.date, D(2024, 5, 1))
            email, sms = self.notifications('dunning_suspension')
            self.assertEqual(sms.origin, dunning)
            self.assertIn("suspended from 01/05/2024", sms.body)

            # Nothing more to do: the dunning is final, no new notice
            self.dun(D(2024, 5, 2))
            self.assertEqual(self.dunnings(subscriber)[0].state, 'final')
            self.assertEqual(len(self.notifications('dunning_suspension')), 2)

            # Half paid: still suspended
            self.pay(invoice, '300.00', D(2024, 5, 3))
            subscriber = Subscriber(subscriber.id)
            self.assertEqual(subscriber.state, 'suspended')
            self.assertEqual(self.notifications('service_resumed'), [])

            # Paid in full: the service comes back at once
            self.pay(invoice, '224.39', D(2024, 5, 6))
            subscriber = Subscriber(subscriber.id)
            connection = Connection(connection.id)
            self.assertEqual(subscriber.state, 'active')
            self.assertEqual(subscriber.suspension_reason, None)
            self.assertEqual(connection.state, 'active')
            event, = [e for e in subscriber.events if e.action == 'active'
                and e.before == 'suspended' and not e.connection]
            self.assertEqual(event.date, D(2024, 5, 6))
            self.assertEqual(invoice.__class__(invoice.id).state, 'paid')
            self.assertFalse(dunning.__class__(dunning.id).active)
            email, sms = self.notifications('service_resumed')
            self.assertEqual(email.origin, dunning)
            self.assertIn("active again from 06/05/2024", sms.body)
            self.assertEqual(
                Notification.search([], count=True), 8)

    @with_transaction()
    def test_other_suspension_not_resumed_by_payment(self):
        "An account suspended at its own request stays so when it pays"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        with self.fixture() as op:
            subscriber = self.account(op)
            invoice = self.bill(subscriber, D(2024, 4, 1))
            Subscriber.do_suspend(
                [subscriber], 'customer_request', date=D(2024, 4, 10))
            self.dun(D(2024, 5, 1))
            subscriber = Subscriber(subscriber.id)
            # No notice to a suspended account, nor a second suspension
            self.assertEqual(self.notifications('dunning_final_notice'), [])
            self.assertEqual(subscriber.suspension_reason, 'customer_request')

            self.pay(invoice, invoice.total_amount, D(2024, 5, 3))
            subscriber = Subscriber(subscriber.id)
            self.assertEqual(
                (subscriber.state, subscriber.suspension_reason),
                ('suspended', 'customer_request'))
            self.assertEqual(self.notifications('service_resumed'), [])

    @with_transaction()
    def test_lco_procedure_over_default(self):
        "The LCO's procedure duns its accounts; the others get the default"
        with self.fixture() as op:
            quick = self.procedure("Corporate 3 days", [
                    (3, 'reminder'), (5, 'final_notice'), (20, 'suspend')])
            op.lco_a.dunning_procedure = quick
            op.lco_a.save()
            of_a = self.account(op, op.lco_a)
            of_b = self.account(op, op.lco_b)
            self.bill(of_a, D(2024, 4, 1))
            self.bill(of_b, D(2024, 4, 1))

            self.dun(D(2024, 4, 4))
            dunning, = self.dunnings(of_a)
            self.assertEqual(dunning.procedure, quick)
            self.assertEqual(dunning.level, quick.levels[0])
            self.assertEqual(self.dunnings(of_b), [])

            self.dun(D(2024, 4, 8))
            dunning, = self.dunnings(of_b)
            self.assertEqual(dunning.procedure, op.procedure)
            dunning, = self.dunnings(of_a)
            self.assertEqual(dunning.level.rsoft_action, 'final_notice')
            # Notice given on the 8th: 15 days later, not 20 from the due
            # date, since the job ran late
            self.assertEqual(dunning.rsoft_disconnection_date, D(2024, 4, 23))

    @with_transaction()
    def test_notice_period_rule(self):
        "TRAI: a suspension comes 15 days or more after its final notice"
        pool = Pool()
        Level = pool.get('account.dunning.level')
        with self.fixture() as op:
            with self.assertRaisesRegex(ValidationError,
                    r"suspension level \".*\" comes only 14 days after "
                    r"final notice level \".*\": TRAI requires at least "
                    r"15 days' notice before a disconnection"):
                self.procedure("Too quick", [
                        (7, 'reminder'), (16, 'final_notice'),
                        (30, 'suspend')])
            with self.assertRaisesRegex(ValidationError,
                    r"must follow a final notice level"):
                self.procedure("No notice", [(7, 'reminder'), (30, 'suspend')])
            with self.assertRaisesRegex(ValidationError,
                    r"a suspension level must follow it"):
                self.procedure("No suspension", [(15, 'final_notice')])

            # Nor by changing a level afterwards
            notice = op.procedure.levels[1]
            with self.assertRaisesRegex(ValidationError, r"only 10 days"):
                Level.write([notice], {'overdue': DAYS(days=20)})

            # Levels without a Pay-TV action are Tryton's own
            self.procedure("Letters", [(10, None), (20, None)])

    @with_transaction()
    def test_prepaid_never_dunned(self):
        "A prepaid account's unpaid invoice is never dunned"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        with self.fixture() as op:
            subscriber = self.account(op, mode='prepaid')
            subscribe(subscriber.connections[0], op.install, D(2024, 3, 1))
            # The empty wallet pays nothing: the installation stays due
            invoice = self.bill(subscriber, D(2024, 3, 1))
            self.assertEqual(invoice.state, 'posted')
            self.assertGreater(invoice.amount_to_pay, 0)
            line, = invoice.lines_to_pay
            self.assertEqual(line.dunning_procedure, None)

            for day in [D(2024, 3, 8), D(2024, 3, 16), D(2024, 4, 30)]:
                self.dun(day)
            self.assertEqual(self.dunnings(subscriber), [])
            self.assertEqual(Subscriber(subscriber.id).state, 'active')
            self.assertEqual(self.notifications('dunning_reminder'), [])

    @with_transaction()
    def test_daily_job(self):
        "The daily job runs the dunning"
        pool = Pool()
        Cron = pool.get('ir.cron')
        cron, = Cron.search([('method', '=', 'account.dunning|dun')])
        self.assertEqual((cron.interval_number, cron.interval_type),
            (1, 'days'))

