"""Bill delivery: after a run, each bill goes out the way its account chose

E-mail sends the PDF bill through the notification outbox; portal
publishes it for the subscriber's portal; print gathers the bills of each
LCO into one PDF on the run, for the printer. Each bill is delivered once,
however often the delivery runs."""
import datetime
from collections import defaultdict

from trytond.model import fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

FINISHED = ['done', 'failed']


class BillRun(metaclass=PoolMeta):
    __name__ = 'rsoft.billing.run'
    delivered_at = fields.Timestamp(
        "Bills Delivered", readonly=True,
        help="When the bills of the run were last sent, published and "
        "printed.")
    bill_files = fields.One2Many(
        'ir.attachment', 'resource', "Bills to Print", readonly=True,
        help="A PDF per LCO of the bills its subscribers receive on paper.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'delivered_at', 'bill_files'}

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        created = not table_h.column_exist('delivered_at')
        super().__register__(module)
        if created:
            # The runs before delivery existed were delivered by hand
            table = cls.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update(
                    [table.delivered_at], [table.finished_at],
                    where=table.state.in_(FINISHED)))

    @classmethod
    def finish(cls, runs):
        super().finish(runs)
        # A resumed run delivers the bills it adds
        cls.write(list(runs), {'delivered_at': None})
        with Transaction().set_context(queue_name='billing'):
            cls.__queue__.deliver(list(runs))

    @classmethod
    def deliver_pending(cls):
        "Cron: deliver the bills of the finished runs not delivered yet"
        domain = [
            ('state', 'in', FINISHED),
            ('delivered_at', '=', None),
            ]
        company = Transaction().context.get('company')
        if company:
            domain.append(('company', '=', company))
        cls.deliver(cls.search(domain, order=[('id', 'ASC')]))

    @classmethod
    def deliver(cls, runs):
        "Deliver the bills of the finished runs that are not yet delivered"
        if not runs:
            return
        cls.lock(runs)
        for run in cls.browse(runs):
            if run.state not in FINISHED or run.delivered_at:
                continue
            with Transaction().set_context(company=run.company.id):
                run._deliver()
            cls.write([run], {'delivered_at': datetime.datetime.now()})

    def _deliver(self):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        by_mode = defaultdict(list)
        invoices = self.undelivered_invoices()
        for invoice in invoices:
            by_mode[invoice.rsoft_subscriber.bill_delivery].append(invoice)
        self._email_bills(by_mode['email'])
        if by_mode['portal']:
            Invoice.write(by_mode['portal'], {'rsoft_published': True})
        self._print_bills(by_mode['print'])
        if invoices:
            Invoice.write(invoices, {
                    'rsoft_delivered_at': datetime.datetime.now()})

    def undelivered_invoices(self):
        "Return the invoices of the run's accounts not delivered yet"
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        charge = Charge.__table__()
        line = InvoiceLine.__table__()
        # The charges of a run are many: the invoices are found in SQL
        query = charge.join(line,
            condition=charge.invoice_line == line.id
            ).select(line.invoice, where=charge.bill_run == self.id)
        return Invoice.search([
                ('id', 'in', query),
                ('rsoft_subscriber', '!=', None),
                ('rsoft_delivered_at', '=', None),
                ('state', 'in', ['posted', 'paid']),
                ], order=[('id', 'ASC')])

    @classmethod
    def _email_bills(cls, invoices):
        "Queue an e-mail of each bill, the PDF attached"
        pool = Pool()
        Bill = pool.get('rsoft.billing.bill', type='report')
        Notification = pool.get('rsoft.notify.notification')
        for invoice in invoices:
            subscriber = invoice.rsoft_subscriber
            extension, content, _, _ = Bill.execute([invoice.id], {})
            Notification.notify(
                'bill_issued', invoice.party, invoice._bill_values(),
                origin=invoice, email=subscriber.email,
                attachments=[(f'{invoice.number}.{extension}', content)])

    def _print_bills(self, invoices):
        "Store on the run a PDF per LCO of the bills to print"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        Bill = pool.get('rsoft.billing.bill', type='report')
        by_lco = defaultdict(list)
        for invoice in invoices:
            by_lco[invoice.rsoft_subscriber.lco].append(invoice.id)
        vlist = []
        for lco, ids in sorted(by_lco.items(), key=lambda i: i[0].code):
            extension, content, _, _ = Bill.execute(ids, {})
            vlist.append({
                    'resource': str(self),
                    'name': f'{self.date} {lco.code}.{extension}',
                    'type': 'data',
                    'data': content,
                    })
        Attachment.create(vlist)


class Invoice(SystemFieldsMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice'
    rsoft_delivered_at = fields.Timestamp(
        "Bill Delivered", readonly=True,
        help="When the bill was e-mailed, published or printed.")
    rsoft_published = fields.Boolean(
        "Published", readonly=True,
        help="Shown to the subscriber on the portal.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'rsoft_delivered_at', 'rsoft_published'}
        # Delivered once posted
        cls._check_modify_exclude |= {'rsoft_delivered_at', 'rsoft_published'}

    @classmethod
    def default_rsoft_published(cls):
        return False

    @classmethod
    def copy(cls, invoices, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('rsoft_delivered_at')
        default.setdefault('rsoft_published', False)
        return super().copy(invoices, default=default)

    def _bill_values(self):
        "Return the values of the bill's e-mail"
        subscriber = self.rsoft_subscriber
        due_date = min((line.maturity_date for line in self.lines_to_pay
                if line.maturity_date), default=None)
        return {
            'invoice': self,
            'number': self.number,
            'customer_id': subscriber.customer_id,
            'name': self.party.rec_name,
            'amount': self.total_amount,
            'currency': self.currency.code,
            'date': self.invoice_date,
            'due_date': due_date,
            'period_start': self.rsoft_period_start,
            'period_end': self.rsoft_period_end,
            'prepaid': subscriber.billing_mode == 'prepaid',
            'lco': subscriber.lco.rec_name if subscriber.lco else '',
            }


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('rsoft.billing.run|bill_prepaid',
                    "Renew Prepaid Subscribers"),
                ('rsoft.billing.run|bill_postpaid',
                    "Bill Postpaid Subscribers"),
                ('rsoft.billing.run|deliver_pending', "Deliver Bills"),
                ])
