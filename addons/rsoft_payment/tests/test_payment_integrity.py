"""A received payment and the records the system keeps for it cannot be
changed from outside: corrections are reversals (issue 15)"""
import datetime
from contextlib import contextmanager
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.modules.rsoft_catalogue.tests.tools import create_clerk, rpc_as
from trytond.modules.rsoft_partner.tests.tools import create_lco_user
from trytond.modules.rsoft_payment.exceptions import (
    PaymentPostedError,
    SystemRecordError,
)
from trytond.modules.rsoft_toolkit.exceptions import SystemFieldError
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

from .tools import PaymentOperator, new_account

D = datetime.date


# The generic module checks run once, in test_module.py
class PaymentIntegrityTestCase(PaymentOperator, test_tryton._DBTestCase):
    "Payments, allocations, settlements and gateway records over RPC"
    module = 'rsoft_payment'

    @contextmanager
    def set_up(self):
        "Yield (operator, payments, a received cash payment of LCO A)"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        with self.fixture() as (op, pay):
            subscriber = new_account(
                op.lco_a, D(2025, 3, 1), billing_mode='prepaid',
                billing_cycle=1, bill_day_mode='fixed', bill_day=1)
            payment = Payment.record(
                subscriber, Decimal('300'), pay.methods['cash'],
                date=D(2025, 3, 2), collector=pay.agent)
            yield op, pay, payment

    def users(self, op):
        "Return an LCO login of LCO A and a back-office clerk"
        clerk = create_clerk('clerk', op.company,
            ('rsoft_catalogue', 'group_paytv'),
            ('rsoft_payment', 'group_collection'))
        return [create_lco_user('lco-a', op.lco_a), clerk]


    @with_transaction()
    def test_received_payment_immutable(self):
        "No field of a received payment changes over RPC; nothing changes"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        with self.set_up() as (op, pay, payment):
            before = Payment.read([payment.id], [
                    'amount', 'date', 'method', 'collector', 'reference',
                    'company', 'currency'])
            changes = [
                ('amount', Decimal('3000')),
                ('date', D(2025, 3, 20)),
                ('method', pay.methods['card'].id),
                ('collector', pay.counter.id),
                ('reference', "CORRECTED"),
                ('cheque_bank', "Other Bank"),
                ]
            message = gettext('rsoft_payment.msg_payment_posted_modify',
                payment=payment.rec_name)
            for user in self.users(op):
                for name, value in changes:
                    with self.subTest(user=user.login, field=name):
                        with rpc_as(user), \
                                self.assertRaises(PaymentPostedError) as cm:
                            Payment.write([Payment(payment.id)], {
                                    name: value})
                        self.assertEqual(cm.exception.message, message)
                with rpc_as(user), self.assertRaises(SystemFieldError):
                    Payment.write([Payment(payment.id)], {'state': 'draft'})
                with rpc_as(user), self.assertRaises(AccessError):
                    Payment.delete([Payment(payment.id)])

            self.assertEqual(Payment.read([payment.id], [
                        'amount', 'date', 'method', 'collector', 'reference',
                        'company', 'currency']), before)
            self.assertEqual(Payment(payment.id).state, 'received')
            self.assertEqual(Payment(payment.id).move.lines[0].debit
                + Payment(payment.id).move.lines[1].debit, Decimal('300'))

    @with_transaction()
    def test_draft_payment_system_fields(self):
        "A draft is edited, but what receiving sets is refused"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        with self.set_up() as (op, pay, _):
            lco, clerk = self.users(op)
            subscriber = new_account(
                op.lco_a, D(2025, 3, 1), billing_mode='prepaid',
                billing_cycle=1, bill_day_mode='fixed', bill_day=1)
            values = {
                'company': op.company.id, 'subscriber': subscriber.id,
                'currency': op.company.currency.id, 'date': D(2025, 3, 5),
                'method': pay.methods['cash'].id,
                'collector': pay.agent.id, 'amount': Decimal('100'),
                }
            for user in [lco, clerk]:
                for name, value in [
                        ('state', 'cleared'), ('number', 'RCT99999999'),
                        ('lco', op.lco_b.id)]:
                    with self.subTest(user=user.login, field=name):
                        with rpc_as(user), \
                                self.assertRaises(SystemFieldError):
                            Payment.create([{**values, name: value}])
                with rpc_as(user):
                    draft, = Payment.create([values])
                    Payment.write([draft], {'amount': Decimal('150')})
                    with self.assertRaises(SystemFieldError):
                        Payment.write([draft], {'number': 'RCT99999999'})
                    Payment.receive([draft])
                draft = Payment(draft.id)
                self.assertEqual(draft.amount, Decimal('150'))
                self.assertEqual(draft.state, 'received')
                self.assertTrue(draft.number.startswith('RCT'))

    @with_transaction()
    def test_payment_actions(self):
        "Deposit, clear and reverse still work for the users allowed"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        Reverse = pool.get('rsoft.payment.reverse', type='wizard')
        with self.set_up() as (op, pay, payment):
            lco, clerk = self.users(op)
            with rpc_as(lco):
                Payment.deposit([Payment(payment.id)])
                Payment.clear([Payment(payment.id)])
            self.assertEqual(Payment(payment.id).state, 'cleared')
            with Transaction().set_user(clerk.id), \
                    Transaction().set_context(
                        active_model='rsoft.payment',
                        active_id=payment.id, active_ids=[payment.id]):
                session_id, _, _ = Reverse.create()
                Reverse.execute(session_id, {
                        'start': {
                            'reason': 'duplicate', 'note': None,
                            'date': D(2025, 3, 3), 'fee': None,
                            'currency': op.company.currency.id,
                            },
                        }, 'reverse')
            payment = Payment(payment.id)
            self.assertEqual(payment.state, 'reversed')
            self.assertEqual(payment.reversal_reason, 'duplicate')
            self.assertEqual(payment.reversal_move.state, 'posted')

    def system_records(self, op, pay, payment):
        """Return an allocation, a settlement, a gateway order and event, each
        with values to write and to copy with"""
        pool = Pool()
        Gateway = pool.get('rsoft.payment.gateway')
        Order = pool.get('rsoft.payment.gateway.order')
        Event = pool.get('rsoft.payment.gateway.event')
        Settlement = pool.get('rsoft.payment.settlement')
        gateway, = Gateway.create([{
                    'name': "Razorpay", 'company': op.company.id,
                    'key_id': 'rzp_test_1', 'key_secret': 'key-secret',
                    'webhook_secret': 'webhook-secret',
                    'method': pay.methods['gateway'].id,
                    }])
        order, = Order.create([{
                    'gateway': gateway.id, 'company': op.company.id,
                    'subscriber': payment.subscriber.id,
                    'amount': Decimal('500'),
                    'currency': op.company.currency.id,
                    'razorpay_order_id': 'order_Test000001',
                    }])
        event, = Event.create([{
                    'gateway': gateway.id, 'event_type': 'payment.captured',
                    'outcome': 'ignored', 'body': '{}',
                    }])
        settlement, = Settlement.create([{
                    'company': op.company.id,
                    'method': pay.methods['bank_transfer'].id,
                    'file_name': 'neft.csv', 'state': 'refused',
                    }])
        allocation, = payment.allocations
        # What each is changed to, and copied with
        return [
            (allocation, {'amount': Decimal('1')}, {}),
            (settlement, {'state': 'draft'}, {}),
            (order, {'amount': Decimal('1')},
                {'razorpay_order_id': 'order_Test000002'}),
            (event, {'outcome': 'recorded'}, {}),
            ]

    @with_transaction()
    def test_system_records_refused(self):
        "Allocations, settlements, gateway orders and events: actions only"
        pool = Pool()
        Group = pool.get('res.group')
        User = pool.get('res.user')
        ModelAccess = pool.get('ir.model.access')
        Order = pool.get('rsoft.payment.gateway.order')
        with self.set_up() as (op, pay, payment):
            records = self.system_records(op, pay, payment)
            # Even a group granted every right on them: the model refuses
            group, = Group.create([{'name': "Tinkerers"}])
            ModelAccess.create([{
                        'model': r.__name__, 'group': group.id,
                        'perm_read': True, 'perm_write': True,
                        'perm_create': True, 'perm_delete': True,
                        } for r, _, _ in records])
            tinkerer, = User.create([{
                        'login': 'tinkerer', 'name': "Tinkerer",
                        'groups': [('add', [group.id])],
                        'companies': [('add', [op.company.id])],
                        'company': op.company.id,
                        }])
            before = [r.__class__.read([r.id], list(values))
                for r, values, _ in records]
            for user in [*self.users(op), tinkerer]:
                for record, values, copied in records:
                    Model = record.__class__
                    with self.subTest(user=user.login, model=Model.__name__):
                        with rpc_as(user), \
                                self.assertRaises(AccessError) as cm:
                            Model.write([Model(record.id)], values)
                        with rpc_as(user), self.assertRaises(AccessError):
                            Model.delete([Model(record.id)])
                        with rpc_as(user), self.assertRaises(AccessError):
                            Model.copy([Model(record.id)], default=copied)
                        if user == tinkerer:
                            self.assertIsInstance(
                                cm.exception, SystemRecordError)
                            self.assertEqual(cm.exception.message, gettext(
                                    'rsoft_payment.msg_system_record',
                                    model=Model.__names__()['model']))
            self.assertEqual([r.__class__.read([r.id], list(values))
                    for r, values, _ in records], before)

            # Their actions still work
            _, _, (order, _, _), _ = records
            with Transaction().set_user(1), check_access():
                Order.fail([Order(order.id)])
            self.assertEqual(Order(order.id).state, 'failed')

    @with_transaction()
    def test_collector_list_as_lco(self):
        "An LCO reads the collector list: its own and the operator's"
        pool = Pool()
        Collector = pool.get('rsoft.payment.collector')
        with self.fixture() as (op, pay):
            other, = Collector.create([{
                        'name': "LCO B's agent", 'kind': 'field_agent',
                        'lco': op.lco_b.id, 'company': op.company.id,
                        }])
            lco, _ = self.users(op)
            view = Collector.fields_view_get(view_type='tree')
            names = list(view['fields'])
            names += [f'{n}.rec_name' for n, f in view['fields'].items()
                if f['type'] == 'many2one']
            with rpc_as(lco):
                collectors = Collector.search([])
                rows = Collector.read([c.id for c in collectors], names)
                with self.assertRaises(AccessError):
                    Collector.read([other.id], ['name'])
            self.assertEqual(
                {r['name'] for r in rows},
                {pay.counter.name, pay.online.name, pay.agent.name})
            agent, = [r for r in rows if r['id'] == pay.agent.id]
            self.assertEqual(agent['lco.']['rec_name'], op.lco_a.rec_name)

    @with_transaction()
    def test_lco_sees_own_payment_records(self):
        "LCO B sees none of LCO A's payment, allocations or orders"
        pool = Pool()
        Payment = pool.get('rsoft.payment')
        Allocation = pool.get('rsoft.payment.allocation')
        Order = pool.get('rsoft.payment.gateway.order')
        Settlement = pool.get('rsoft.payment.settlement')
        Gateway = pool.get('rsoft.payment.gateway')
        Event = pool.get('rsoft.payment.gateway.event')
        with self.set_up() as (op, pay, payment):
            self.system_records(op, pay, payment)
            lco_a, _ = self.users(op)
            lco_b = create_lco_user('lco-b', op.lco_b)
            for user, count in [(lco_a, 1), (lco_b, 0)]:
                with self.subTest(user=user.login), rpc_as(user):
                    self.assertEqual(Payment.search_count([]), count)
                    self.assertEqual(Allocation.search_count([]), count)
                    self.assertEqual(Order.search_count([]), count)
                    for Model in [Settlement, Gateway, Event]:
                        with self.assertRaises(AccessError):
                            Model.search([])

            # The order's form shows no gateway, whose credentials it hides
            with rpc_as(lco_a):
                view = Order.fields_view_get(view_type='form')
                self.assertNotIn('gateway', view['fields'])
                order, = Order.search([])
                names = list(view['fields']) + [
                    f'{n}.rec_name' for n, f in view['fields'].items()
                    if f['type'] == 'many2one']
                row, = Order.read([order.id], names)
            self.assertEqual(row['razorpay_order_id'], 'order_Test000001')
