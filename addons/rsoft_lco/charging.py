"""What an LCO on a wallet pays the MSO for its subscribers

The LCO pays, for each charge rated on its subscribers' lines, the MSO's
share of it: the charge (the subscriber's price before taxes, from the
LCO's or its territory's price list where one applies, else the offer's
price) less the share of its kind (NCF, pay channels, hardware) that the
LCO keeps under its agreement. A line is paid once per period: when it
is activated (the first period a prepaid account is charged), then by the
bill runs for the periods after the last one paid."""
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.rsoft_billing.charge import CORRECTION_KINDS, Rater
from trytond.modules.rsoft_billing.common import savepoint
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access


def share_kind(section):
    "Return the kind of agreement share of a charge's section"
    if section == 'ncf':
        return 'ncf'
    if section == 'hardware':
        return 'hardware'
    return 'pay_channel'


def lco_price(lco, amount, section, date, currency):
    "Return what lco pays the MSO for a charge of amount"
    share = lco.get_share(share_kind(section), date)
    return currency.round(Decimal(amount) * (1 - share))


class Line(metaclass=PoolMeta):
    __name__ = 'rsoft.subscription.line'

    lco_paid_until = fields.Date(
        "LCO Paid Until", readonly=True,
        help="The last day of the line the LCO's wallet has paid the MSO "
        "for.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'lco_paid_until'}

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('lco_paid_until')
        return super().copy(lines, default=default)

    @classmethod
    def activate(cls, lines, date=None):
        # Refused by the LCO's wallet: the lines stay as they were
        with savepoint('rsoft_lco_activate'):
            super().activate(lines, date)
            cls.charge_lco(lines, date)

    @classmethod
    def charge_lco(cls, lines, date=None):
        """Charge the LCOs on a wallet for the first period of the lines
        (and of the NCF lines they brought) their accounts are charged"""
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        Subscriber = pool.get('rsoft.subscriber')
        if not lines:
            return []
        # Read again: the activation anchored the accounts and added lines
        subscribers = Subscriber.browse(
            sorted({line.connection.subscriber.id for line in lines}))
        subscribers = [s for s in subscribers
            if s.lco and s.lco.pays_mso and s.billing_anchor]
        if not subscribers:
            return []
        date = date or min(line.start_date for line in lines)
        operations, paid = [], {}
        for subscriber in subscribers:
            with Transaction().set_context(company=subscriber.company.id):
                rater = Rater(date)
                vlist = rater.rate([subscriber], save=False)
            for values in vlist:
                line = cls(values['line'])
                if (line.lco_paid_until or values['amount'] <= 0
                        or values['kind'] in CORRECTION_KINDS):
                    continue
                operations.append(cls._lco_operation(
                        subscriber, line, values, rater.currency))
                paid[line] = max(values['date_to'],
                    paid.get(line, values['date_to']))
        entries = Partner.charge_wallets(operations)
        cls._set_lco_paid(paid)
        return entries

    @classmethod
    def _lco_operation(cls, subscriber, line, values, currency):
        lco = subscriber.lco
        amount = lco_price(lco, values['amount'], values['section'],
            values['date_from'], currency)
        description = gettext(
            'rsoft_lco.msg_charge_description',
            offer=line.product.rec_name,
            subscriber=subscriber.rec_name,
            start=values['date_from'], end=values['date_to'])
        return (lco, amount, values['date_from'], description, line)

    @classmethod
    def _set_lco_paid(cls, paid):
        by_date = defaultdict(list)
        for line, day in paid.items():
            if not line.lco_paid_until or line.lco_paid_until < day:
                by_date[day].append(line)
        to_write = []
        for day, lines in by_date.items():
            to_write.extend((lines, {'lco_paid_until': day}))
        if to_write:
            with without_check_access():
                cls.write(*to_write)


class Subscriber(metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber'

    @classmethod
    def bill(cls, subscribers, date=None, run=None):
        # In a bill run an LCO that cannot pay fails its accounts alone:
        # the run bills them one by one
        invoices = super().bill(subscribers, date=date, run=run)
        cls.charge_lco(invoices)
        return invoices

    @classmethod
    def charge_lco(cls, invoices):
        """Charge the LCOs on a wallet for the periods of the invoices
        they have not paid, and refund the credits of their credit notes"""
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        Line = pool.get('rsoft.subscription.line')
        Partner = pool.get('rsoft.partner')
        invoices = [i for i in invoices
            if i.rsoft_subscriber and i.rsoft_subscriber.lco
            and i.rsoft_subscriber.lco.pays_mso]
        if not invoices:
            return []
        charges = Charge.search([
                ('invoice_line.invoice', 'in', [i.id for i in invoices]),
                ], order=[('id', 'ASC')])
        debits, credits, paid = [], [], {}
        for charge in charges:
            line = charge.line
            if (charge.kind not in CORRECTION_KINDS
                    and line.lco_paid_until
                    and charge.date_to <= line.lco_paid_until):
                continue
            operation = cls._lco_operation(charge)
            if operation[1] > 0:
                debits.append(operation)
            elif operation[1] < 0:
                credits.append((operation[0], -operation[1], *operation[2:]))
            if charge.kind not in CORRECTION_KINDS:
                paid[line] = max(charge.date_to,
                    paid.get(line, charge.date_to))
        entries = Partner.charge_wallets(debits)
        entries += Partner.refund_wallets(credits)
        Line._set_lco_paid(paid)
        return entries

    @staticmethod
    def _lco_operation(charge):
        subscriber = charge.subscriber
        lco = subscriber.lco
        amount = lco_price(lco, charge.amount, charge.section,
            charge.date_from, charge.currency)
        description = gettext(
            'rsoft_lco.msg_charge_description',
            offer=charge.product.rec_name,
            subscriber=subscriber.rec_name,
            start=charge.date_from, end=charge.date_to)
        return (lco, amount, charge.date_from, description, charge)
