"""The renewal of a prepaid account, as an operator asks for it

The bill runs renew a prepaid account on its bill date and expire what
its wallet cannot pay. An operator renewing at the counter (or on the LCO
portal) means more: the account's next period paid now from its wallet,
its entitlement extended to the end of that period, and the lines that
expired for lack of balance taken again. A renewal is refused as a whole
when the account's wallet, or its LCO's, cannot pay: nothing expires."""
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .charge import ONE_TIME_KINDS, Rater
from .common import savepoint


class RenewalError(UserError):
    pass


class Subscriber(metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber'

    @classmethod
    def renew(cls, subscribers, date=None):
        """Renew the prepaid subscribers on date (today by default) and
        return the invoices paid

        Each account pays from its wallet the period that follows the
        last one paid (the running period when it is due or expired); its
        LCO's wallet pays the MSO's share as in a bill run. One that
        cannot be renewed refuses them all, and nothing is kept."""
        date = cls._date(date)
        invoices = []
        with savepoint('rsoft_renew'):
            for subscriber in cls.browse(subscribers):
                invoices.extend(cls._renew(cls(subscriber.id), date))
        return invoices

    @classmethod
    def renew_each(cls, subscribers, date=None):
        """Renew each of subscribers on its own and return
        [(subscriber, invoices, refusal)]: a refused one (its message in
        refusal) is left as it was and does not stop the others"""
        result = []
        for subscriber in subscribers:
            try:
                invoices = cls.renew([subscriber], date)
            except UserError as error:
                result.append((subscriber, [], error.message))
            else:
                result.append((subscriber, invoices, None))
        return result

    @classmethod
    def _renew(cls, subscriber, date):
        if (subscriber.billing_mode != 'prepaid'
                or subscriber.state != 'active'
                or not subscriber.billing_anchor):
            raise RenewalError(gettext(
                    'rsoft_billing.msg_renew_not_prepaid',
                    subscriber=subscriber.rec_name))
        cls._resubscribe_expired(subscriber, date)
        subscriber = cls(subscriber.id)
        due = subscriber.next_bill_date
        # Paid until a later day: the next period is paid ahead
        period = due if due and due > date else date
        with Transaction().set_context(company=subscriber.company.id):
            rater = Rater(period)
            vlist = rater.rate([subscriber], save=False)
            if not any(v['kind'] == 'recurring' for v in vlist):
                raise RenewalError(gettext(
                        'rsoft_billing.msg_renew_nothing',
                        subscriber=subscriber.rec_name))
            cls._check_renewal_wallet(subscriber, vlist, rater, date)
            running = subscriber._open_lines(period)
            if period > date:
                # Charged now, invoiced and paid today by bill
                rater.rate([subscriber])
            invoices = cls.bill([subscriber], date)
            cls._set_bill_dates([subscriber], period)
        if cls(subscriber.id)._open_lines(period) != running:
            # bill expired lines: the wallet paid less than estimated
            raise RenewalError(gettext(
                    'rsoft_billing.msg_renew_expired',
                    subscriber=subscriber.rec_name))
        return invoices

    def _open_lines(self, date):
        return {line.id for c in self.connections for line in c.lines
            if line.state == 'active' and line.is_open(date)}

    @classmethod
    def _check_renewal_wallet(cls, subscriber, vlist, rater, date):
        "Refuse, naming the amount missing, what the wallet cannot pay"
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        Lang = pool.get('ir.lang')
        Line = pool.get('rsoft.subscription.line')
        Tax = pool.get('account.tax')
        currency = rater.currency
        # What bill invoices: the charges computed and those not invoiced
        amounts = [(Line(v['line']).product, v['amount']) for v in vlist]
        amounts += [(c.product, c.amount) for c in Charge.search([
                    ('subscriber', '=', subscriber.id),
                    ('invoice_line', '=', None),
                    ])]
        total = Decimal(0)
        for product, amount in amounts:
            taxes = Tax.compute(product.customer_taxes_used, amount, 1, date)
            total += amount + sum(
                currency.round(t['amount']) for t in taxes)
        total = currency.round(total)
        balance = subscriber.wallet_balance or Decimal(0)
        if total > balance:
            lang = Lang.get()
            raise RenewalError(gettext(
                    'rsoft_billing.msg_renew_wallet_short',
                    subscriber=subscriber.rec_name,
                    amount=lang.currency(total, currency, grouping=True),
                    balance=lang.currency(balance, currency, grouping=True),
                    missing=lang.currency(
                        total - balance, currency, grouping=True)))

    @classmethod
    def _resubscribe_expired(cls, subscriber, date):
        """Take again on each TV connection left with no open line the
        lines that ran to its last day of service

        The bill runs end every recurring line of an account together,
        the NCF line included, when its wallet cannot pay; a line the
        operator ends leaves the others open."""
        pool = Pool()
        Line = pool.get('rsoft.subscription.line')
        to_create = []
        for connection in subscriber.connections:
            if connection.state != 'active':
                continue
            lines = [line for line in connection.lines
                if line.state in {'active', 'ended'}
                and line.product.template.rsoft_kind not in ONE_TIME_KINDS]
            if not lines or any(line.is_open(date) for line in lines):
                continue
            last = max(line.end_date for line in lines)
            to_create.extend({
                    'connection': connection.id,
                    'product': line.product.id,
                    'term': line.term,
                    'start_date': date,
                    } for line in lines
                if line.end_date == last and not line.ncf
                and line.product.template.offer_state == 'published')
        if to_create:
            Line.activate(Line.create(to_create), date)
