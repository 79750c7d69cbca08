"""Payments and collections of the demo operator, when rsoft_payment is
activated

A payment method of every kind, a counter cashier, a field agent per LCO,
the receipt sequence, the bounce fee, bills due in 15 days and a dunning
procedure (reminder, final notice 15 days before suspension) for every
LCO. The smallest LCO's field agent collects cash from some prepaid
accounts and a cheque from a postpaid one, and deposits the cash: the
receipts, the cash-up and the receipt notifications in the outbox are there
to see. Nothing is sent until Pay-TV > Notifications > SMS Gateways points
at the operator's gateway and trytond's [email] uri at its mail server."""
import datetime
from decimal import Decimal


class PaymentLoader:

    def __init__(self, generator, lco_id=None):
        self.g = generator
        self.lco_id = lco_id

    def run(self):
        g = self.g
        if not g.activated('rsoft_payment') or (
                g.in_transaction(self._loaded)):
            return
        g.in_transaction(self._configure)
        g.in_transaction(self._collect)

    def _loaded(self):
        from trytond.pool import Pool
        Configuration = Pool().get('rsoft.billing.configuration')
        return bool(Configuration(1).online_collector)

    def _lcos(self):
        from trytond.pool import Pool
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        Subscriber = pool.get('rsoft.subscriber')
        lcos = Partner.search([('role', '=', 'lco')], order=[('code', 'ASC')])
        return sorted(lcos, key=lambda lco: (
                Subscriber.search_count([('lco', '=', lco.id)]), lco.code))

    def _configure(self):
        from trytond.modules.rsoft_payment.tests.tools import (
            set_up_payments,
        )
        from trytond.pool import Pool
        pool = Pool()
        Company = pool.get('company.company')
        Collector = pool.get('rsoft.payment.collector')
        Configuration = pool.get('rsoft.billing.configuration')
        Partner = pool.get('rsoft.partner')
        PaymentTerm = pool.get('account.invoice.payment_term')
        Procedure = pool.get('account.dunning.procedure')
        SmsGateway = pool.get('rsoft.notify.sms.gateway')
        NotifyConfiguration = pool.get('rsoft.notify.configuration')
        company = Company(self.g.company_id)
        lcos = self._lcos()
        set_up_payments(company, lcos[0])
        Collector.create([{
                    'name': f"{lco.party.name} field agent",
                    'kind': 'field_agent', 'lco': lco.id,
                    'company': company.id,
                    } for lco in lcos[1:]] + [{
                    'name': f"{lco.party.name} counter",
                    'kind': 'lco', 'lco': lco.id, 'company': company.id,
                    } for lco in lcos])
        term, = PaymentTerm.create([{
                    'name': "15 days",
                    'lines': [('create', [{
                                    'type': 'remainder',
                                    'relativedeltas': [('create', [{
                                                    'days': 15,
                                                    }])],
                                    }])],
                    }])
        configuration = Configuration(1)
        configuration.payment_term = term
        configuration.save()
        day = datetime.timedelta(days=1)
        procedure, = Procedure.create([{
                    'name': "Postpaid: reminder, notice, suspension",
                    'levels': [('create', [{
                                    'sequence': 1, 'overdue': 3 * day,
                                    'rsoft_action': 'reminder',
                                    }, {
                                    'sequence': 2, 'overdue': 15 * day,
                                    'rsoft_action': 'final_notice',
                                    }, {
                                    'sequence': 3, 'overdue': 30 * day,
                                    'rsoft_action': 'suspend',
                                    }])],
                    }])
        Partner.write(lcos, {'dunning_procedure': procedure.id})
        # The operator's own gateway replaces this address
        gateway, = SmsGateway.create([{
                    'name': "Bulk SMS (set the operator's URL)",
                    'url': 'http://127.0.0.1:9/sms',
                    'method': 'post_form',
                    'parameters': '\n'.join([
                            'mobile={to}', 'text={text}',
                            'header={sender}',
                            'dlt_template={template_id}']),
                    }])
        notify = NotifyConfiguration(1)
        notify.sms_gateway = gateway
        notify.save()

    def _collect(self):
        "The field agent's day in the smallest LCO"
        from trytond.pool import Pool
        pool = Pool()
        Collector = pool.get('rsoft.payment.collector')
        Date = pool.get('ir.date')
        Method = pool.get('rsoft.payment.method')
        Payment = pool.get('rsoft.payment')
        Subscriber = pool.get('rsoft.subscriber')
        lco = self._lcos()[0]
        agent, = Collector.search([
                ('lco', '=', lco.id), ('kind', '=', 'field_agent')])
        methods = {m.kind: m for m in Method.search([])}
        today = Date.today()
        accounts = Subscriber.search([
                ('lco', '=', lco.id),
                ('state', '=', 'active'),
                ], order=[('id', 'ASC')])
        prepaid = [a for a in accounts if a.billing_mode == 'prepaid'][:4]
        postpaid = [a for a in accounts if a.billing_mode == 'postpaid'][:2]
        cash = [Payment.record(
                account, Decimal(amount), methods['cash'], date=today,
                collector=agent)
            for account, amount in zip(prepaid, [300, 500, 350, 600])]
        Payment.deposit(cash[:3], today)
        for number, account in enumerate(postpaid, 4512):
            Payment.record(
                account, Decimal('600'), methods['cheque'], date=today,
                collector=agent, reference=f'{number:06d}')
