"The business on its own schedule: scheduled bill runs and bill delivery"
import datetime
import io
from contextlib import contextmanager
from decimal import Decimal
from unittest.mock import patch

from pypdf import PdfReader

from trytond.model.exceptions import AccessError
from trytond.modules.rsoft_notify.tests.servers import MailServer
from trytond.modules.rsoft_partner.tests.tools import create_lco_user
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction
from trytond.transaction import Transaction

from .tools import BillingOperator, new_account

D = datetime.date


def pdf_text(content):
    reader = PdfReader(io.BytesIO(content))
    return '\n'.join(p.extract_text() for p in reader.pages), len(
        reader.pages)


class DeliveryTestCase(BillingOperator, _DBTestCase):
    "Test the scheduled bill runs and the delivery of the bills"
    module = 'rsoft_billing'

    @contextmanager
    def on(self, date):
        "Make date today"
        with patch.object(Pool().get('ir.date'), 'today', return_value=date):
            yield

    def run_tasks(self):
        "Do what the workers do with the queued billing tasks"
        Queue = Pool().get('ir.queue')
        count = 0
        while True:
            tasks = Queue.search([
                    ('name', '=', 'billing'),
                    ('dequeued_at', '=', None),
                    ], order=[('id', 'ASC')])
            if not tasks:
                return count
            for task in tasks:
                task.run()
                task.dequeued_at = datetime.datetime.now()
                task.save()
                count += 1

    def account(self, op, lco, mode, delivery, name, email=None):
        subscriber = new_account(lco, D(2025, 1, 1), name=name,
            email=email, billing_mode=mode, bill_day_mode='fixed',
            bill_day=1, bill_delivery=delivery)
        subscribe(subscriber.connections[0], op.gold, D(2025, 1, 1))
        return subscriber

    def top_up(self, subscriber, amount):
        Wallet = Pool().get('rsoft.wallet')
        wallet, = Wallet.get_wallets([subscriber])
        Wallet.top_up([(wallet, Decimal(amount), D(2025, 1, 1))])

    @with_transaction()
    def test_scheduled_runs_bill_once(self):
        """The daily jobs renew the prepaid accounts due and invoice the
        postpaid ones on their bill day; run twice they bill nothing
        twice, and on a day nothing is due they start no run"""
        pool = Pool()
        Run = pool.get('rsoft.billing.run')
        Invoice = pool.get('account.invoice')
        with self.fixture() as op:
            prepaid = self.account(op, op.lco_a, 'prepaid', 'portal',
                "Meera Nair")
            # January and February are renewed on 1 February
            self.top_up(prepaid, '2000')
            postpaid = self.account(op, op.lco_b, 'postpaid', 'portal',
                "Ravi Kumar")
            runs = Run.search([])

            with self.on(D(2025, 2, 1)):
                for _ in range(2):
                    Run.bill_prepaid()
                    Run.bill_postpaid()
                    self.run_tasks()
            with self.on(D(2025, 2, 10)):
                Run.bill_prepaid()
                Run.bill_postpaid()

            new = sorted(set(Run.search([])) - set(runs),
                key=lambda r: r.id)
            self.assertEqual(
                [(r.billing_mode, r.date, r.state, r.invoice_count)
                    for r in new],
                [('prepaid', D(2025, 2, 1), 'done', 1),
                    ('postpaid', D(2025, 2, 1), 'done', 1)])
            invoices = Invoice.search([('invoice_date', '=', D(2025, 2, 1))])
            self.assertEqual(
                sorted((i.rsoft_subscriber.billing_mode, i.state,
                        i.rsoft_period_start) for i in invoices),
                [('postpaid', 'posted', D(2025, 1, 1)),
                    ('prepaid', 'paid', D(2025, 1, 1))])
            self.assertTrue(all(i.rsoft_published for i in invoices))
            self.assertEqual(
                prepaid.__class__(prepaid.id).next_bill_date, D(2025, 3, 1))
            self.assertEqual(
                postpaid.__class__(postpaid.id).next_bill_date, D(2025, 3, 1))

    @with_transaction()
    def test_bills_delivered_once(self):
        """After a run each bill goes out as its account chose: e-mailed
        with its PDF, published, or printed in one PDF per LCO"""
        pool = Pool()
        Run = pool.get('rsoft.billing.run')
        Notification = pool.get('rsoft.notify.notification')
        Attachment = pool.get('ir.attachment')
        with self.fixture() as op:
            asha = self.account(op, op.lco_a, 'postpaid', 'email',
                "Asha Patil", email='asha@example.com')
            meera = self.account(op, op.lco_a, 'postpaid', 'portal',
                "Meera Nair")
            paper_a = [self.account(op, op.lco_a, 'postpaid', 'print',
                    name) for name in ["Gopal Rao", "Lata Shah"]]
            paper_b = self.account(op, op.lco_b, 'postpaid', 'print',
                "Ravi Kumar")
            run, = Run.create([{'date': D(2025, 2, 1)}])
            Run.start([run])
            self.run_tasks()
            run = Run(run.id)
            self.assertEqual(run.state, 'done')
            self.assertTrue(run.delivered_at)
            self.assertEqual(run.undelivered_invoices(), [])

            email, = Notification.search([
                    ('origin', 'like', 'account.invoice,%')])
            bill = email.origin
            self.assertEqual(bill.rsoft_subscriber, asha)
            self.assertEqual((email.channel, email.recipient, email.lco),
                ('email', 'asha@example.com', op.lco_a))
            self.assertIn(bill.number, email.subject)
            attachment, = email.attachments
            self.assertEqual(attachment.name, f'{bill.number}.pdf')
            text, _ = pdf_text(bytes(attachment.data))
            self.assertIn(f"Bill Number {bill.number}", text)

            Invoice = pool.get('account.invoice')
            published = Invoice.search([('rsoft_published', '=', True)])
            self.assertEqual(
                [i.rsoft_subscriber for i in published], [meera])

            files = sorted(run.bill_files, key=lambda a: a.name)
            self.assertEqual([f.name for f in files],
                ['2025-02-01 LCO-A.pdf', '2025-02-01 LCO-B.pdf'])
            text_a, pages_a = pdf_text(bytes(files[0].data))
            self.assertEqual(pages_a, 2)
            for subscriber in paper_a:
                self.assertIn(subscriber.customer_id, text_a)
            self.assertNotIn(paper_b.customer_id, text_a)

            with MailServer() as mail:
                Notification.send([email])
            (recipients, message), = mail.messages
            self.assertEqual(recipients, ['asha@example.com'])
            attached, = message.iter_attachments()
            self.assertEqual(attached.get_content_type(), 'application/pdf')
            self.assertEqual(attached.get_content(), bytes(attachment.data))

            # Delivered again, by the job or by hand: nothing goes twice
            Run.write([run], {'delivered_at': None})
            Run.deliver_pending()
            self.assertEqual(Notification.search([
                        ('origin', 'like', 'account.invoice,%')]), [email])
            self.assertEqual(len(Attachment.search(
                        [('resource', '=', str(run))])), 2)

    @with_transaction()
    def test_run_and_bill_fields_set_by_the_system(self):
        """A Pay-TV administrator cannot write a run's counters or a bill's
        delivery; an LCO user sees no run"""
        pool = Pool()
        Run = pool.get('rsoft.billing.run')
        Invoice = pool.get('account.invoice')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        with self.fixture() as op:
            self.account(op, op.lco_a, 'postpaid', 'portal', "Asha Patil")
            run, = Run.create([{'date': D(2025, 2, 1)}])
            Run.start([run])
            self.run_tasks()
            invoice, = Invoice.search([('invoice_date', '=', D(2025, 2, 1))])
            admin, = User.create([{
                        'login': 'paytv-admin', 'name': "Pay-TV Admin",
                        'groups': [('add', [
                                    ModelData.get_id('rsoft_catalogue',
                                        'group_paytv'),
                                    ModelData.get_id('rsoft_catalogue',
                                        'group_paytv_admin')])],
                        'companies': [('add', [op.company.id])],
                        'company': op.company.id,
                        }])
            lco_user = create_lco_user('lco-a', op.lco_a)
            transaction = Transaction()
            with transaction.set_user(admin.id), \
                    transaction.set_context(_check_access=True):
                for values in [{'state': 'draft'}, {'invoice_count': 0},
                        {'delivered_at': None}, {'errors': "none"}]:
                    with self.subTest(values=values):
                        with self.assertRaises(AccessError):
                            Run.write([Run(run.id)], values)
                with self.assertRaises(AccessError):
                    Invoice.write([Invoice(invoice.id)],
                        {'rsoft_published': False})
            with transaction.set_user(lco_user.id), \
                    transaction.set_context(_check_access=True):
                self.assertEqual(Run.search([]), [])
            self.assertTrue(Invoice(invoice.id).rsoft_published)
