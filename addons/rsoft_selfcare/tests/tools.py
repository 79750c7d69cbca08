"The operator of the portal tests: two LCOs, each with a billed account"
import datetime
import re
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_billing.tests.tools import (
    create_billing_operator,
    new_account,
)
from trytond.modules.rsoft_inventory.tests.tools import create_device_models
from trytond.modules.rsoft_payment.tests.tools import set_up_payments
from trytond.modules.rsoft_subscriber.tests.tools import subscribe
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool

from .tools_account import set_up_account_fixture
from .tools_service import set_up_service_fixture
from .tools_stock import set_up_stock_fixture

PASSWORD = 'Portal-Password-1'
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class PortalOperator(FixtureMixin):
    "Gives test cases two LCOs with an account each and their logins"

    @classmethod
    def set_up_fixture(cls):
        return create_portal_operator()


def create_portal_operator():
    """Return the billing tests' operator with, for LCO A and LCO B, an
    active account billed once and paid, a box at its connection and a
    portal login: op.accounts[code] = namespace of their records"""
    pool = Pool()
    Date = pool.get('ir.date')
    Payment = pool.get('rsoft.payment')
    Subscriber = pool.get('rsoft.subscriber')
    Lot = pool.get('stock.lot')
    WebUser = pool.get('web.user')
    op = create_billing_operator()
    with set_company(op.company):
        payments = set_up_payments(op.company, op.lco_a)
        stb, _, _ = create_device_models()
        today = Date.today()
        start = (today - datetime.timedelta(days=45)).replace(day=1)
        billed = (start + datetime.timedelta(days=31)).replace(day=1)
        op.accounts = {}
        for lco, name, serial in [
                (op.lco_a, "Asha Patil", 'GX10000001'),
                (op.lco_b, "Bhavna Rao", 'GX20000002'),
                ]:
            subscriber = new_account(lco, start, name=name,
                billing_mode='postpaid', billing_cycle=1,
                bill_day_mode='fixed', bill_day=1)
            connection = subscriber.connections[0]
            subscribe(connection, op.gold, start)
            invoice, = Subscriber.bill([Subscriber(subscriber.id)], billed)
            payment = Payment.record(
                subscriber, Decimal('100'), payments.methods['cash'],
                date=today)
            device, = Lot.create([{
                        'number': serial, 'product': stb.id,
                        'connection': connection.id,
                        }])
            user, = WebUser.create([{
                        'email': f'{lco.code.lower()}@portal.example.com',
                        'password': PASSWORD,
                        'rsoft_portal': 'lco', 'rsoft_lco': lco.id,
                        }])
            op.accounts[lco.code] = {
                'lco': lco, 'subscriber': subscriber,
                'customer_id': subscriber.customer_id, 'name': name,
                'connection': connection, 'invoice': invoice,
                'payment': payment, 'device': device, 'serial': serial,
                'mobile': subscriber.mobile, 'email': user.email,
                'user': user,
                }
        set_up_account_fixture(op)
        set_up_stock_fixture(op)
        set_up_service_fixture(op)
        return op


def csrf_token(response):
    "Return the CSRF token of the page's first form"
    return CSRF.search(response.get_data(as_text=True)).group(1)
