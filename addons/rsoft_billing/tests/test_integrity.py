"What billing computes is set by billing only, never over RPC"
import datetime
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.modules.rsoft_billing.common import savepoint
from trytond.modules.rsoft_billing.exceptions import RatingError
from trytond.modules.rsoft_catalogue.tests.tools import create_clerk
from trytond.modules.rsoft_partner.tests.tools import (
    create_lco_user,
)
from trytond.modules.rsoft_subscriber.tests.tools import (
    create_subscriber,
    subscribe,
)
from trytond.modules.rsoft_toolkit.exceptions import SystemFieldError
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

from .tools import BillingOperator, new_account

D = datetime.date
SYSTEM_FIELD = (
    r'"%s" of Subscriber is set by the system: '
    r'it cannot be written directly')
CHARGE_MODIFY = r'Charges are made by rating only'
CLERK_GROUPS = [
    ('rsoft_catalogue', 'group_paytv'),
    ('rsoft_catalogue', 'group_paytv_admin'),
    ]



class BillingIntegrityTestCase(BillingOperator, test_tryton._DBTestCase):
    "Test that billing's own fields and records are not forged"
    module = 'rsoft_billing'

    def billed(self, op):
        "Return a prepaid account of LCO-A billed for March 2025"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        Wallet = pool.get('rsoft.wallet')
        subscriber = new_account(op.lco_a, D(2025, 3, 1),
            billing_mode='prepaid', bill_day_mode='fixed', bill_day=1)
        subscribe(subscriber.connections[0], op.gold, D(2025, 3, 1))
        wallet, = Wallet.get_wallets([subscriber])
        Wallet.top_up([(wallet, Decimal('1000'), D(2025, 3, 1))])
        Subscriber.bill([Subscriber(subscriber.id)], D(2025, 3, 1))
        return Subscriber(subscriber.id)

    def users(self, op):
        return [
            create_lco_user('lco_a', op.lco_a),
            create_clerk('clerk', op.company, *CLERK_GROUPS),
            ]

    @with_transaction()
    def test_billing_dates_refused(self):
        "Nobody writes the billed-until, bill or renewal dates over RPC"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        with self.fixture() as op:
            subscriber = self.billed(op)
            dates = (subscriber.billing_anchor, subscriber.billed_until,
                subscriber.next_bill_date)
            self.assertEqual(dates,
                (D(2025, 3, 1), D(2025, 3, 31), D(2025, 4, 1)))
            forged = [
                ('billed_until', "Billed Until", None),
                ('billed_until', "Billed Until", D(2099, 12, 31)),
                ('next_bill_date', "Next Bill Date", D(2099, 1, 1)),
                ('billing_anchor', "Billing Anchor", D(2025, 1, 1)),
                ('renewal_amount', "Renewal Amount", Decimal(0)),
                ('low_balance_date', "Low Balance Date", D(2099, 1, 1)),
                ('expiry_date', "Expiry Date", D(2099, 1, 1)),
                ]
            for user in self.users(op):
                with Transaction().set_user(user.id), check_access():
                    for name, string, value in forged:
                        with self.subTest(user=user.login, field=name):
                            with self.assertRaisesRegex(SystemFieldError,
                                    SYSTEM_FIELD % string):
                                Subscriber.write([Subscriber(subscriber.id)],
                                    {name: value})
                    with self.subTest(user=user.login, field='create'):
                        with self.assertRaisesRegex(SystemFieldError,
                                SYSTEM_FIELD % "Billed Until"), \
                                savepoint('forged'):
                            create_subscriber(op.lco_a,
                                billed_until=D(2099, 12, 31))
                    # What the operator chooses is still written, and an
                    # account copied, unbilled
                    Subscriber.write([Subscriber(subscriber.id)],
                        {'bill_template': 'compact'})
                    with Transaction().set_context(_skip_warnings=True):
                        copy, = Subscriber.copy(
                            [Subscriber(subscriber.id)])
                    self.assertIsNone(copy.billed_until)
            subscriber = Subscriber(subscriber.id)
            self.assertEqual((subscriber.billing_anchor,
                    subscriber.billed_until, subscriber.next_bill_date),
                dates)
            self.assertEqual(subscriber.bill_template, 'compact')

    @with_transaction()
    def test_billing_actions_set_dates(self):
        """An LCO's activation anchors the account, its new line makes it
        due, the bill run dates it"""
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        with self.fixture() as op:
            subscriber = create_subscriber(op.lco_a,
                billing_mode='postpaid', bill_day_mode='fixed', bill_day=1)
            prepaid = self.billed(op)
            user = create_lco_user('lco_a', op.lco_a)
            with Transaction().set_user(user.id), check_access():
                Subscriber.activate([Subscriber(subscriber.id)])
                subscribe(Subscriber(prepaid.id).connections[0], op.sports,
                    D(2025, 3, 16))
            subscriber = Subscriber(subscriber.id)
            self.assertTrue(subscriber.billing_anchor)
            self.assertEqual(
                Subscriber(prepaid.id).next_bill_date, D(2025, 3, 16))
            Subscriber.bill([Subscriber(prepaid.id)], D(2025, 3, 16))
            self.assertEqual(
                Subscriber(prepaid.id).next_bill_date, D(2025, 4, 1))

    @with_transaction()
    def test_charges_refused(self):
        "Nobody creates, writes or deletes a charge over RPC"
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        with self.fixture() as op:
            subscriber = self.billed(op)
            charges = Charge.search([('subscriber', '=', subscriber.id)])
            self.assertTrue(charges)
            charge = charges[0]
            values = {
                'subscriber': charge.subscriber.id,
                'connection': charge.connection.id,
                'line': charge.line.id,
                'product': charge.product.id,
                'currency': charge.currency.id,
                'kind': 'credit',
                'period_start': D(2025, 4, 1), 'period_end': D(2025, 4, 30),
                'date_from': D(2025, 4, 1), 'date_to': D(2025, 4, 30),
                'amount': Decimal('-1000'), 'description': "Forged",
                }
            amounts = [(c.id, c.amount) for c in charges]
            for user in self.users(op):
                with self.subTest(user=user.login), \
                        Transaction().set_user(user.id), check_access():
                    self.assertEqual(Charge.search([
                                ('subscriber', '=', subscriber.id),
                                ]), charges)
                    # As a refused RPC call, the INSERT is undone
                    with self.assertRaisesRegex(
                            (RatingError, AccessError), CHARGE_MODIFY
                            + '|not allowed to create'), \
                            savepoint('forged'):
                        Charge.create([values])
                    with self.assertRaisesRegex(
                            (RatingError, AccessError), CHARGE_MODIFY
                            + '|not allowed to write'):
                        Charge.write([Charge(charge.id)],
                            {'amount': Decimal(0)})
                    with self.assertRaisesRegex(
                            (RatingError, AccessError), CHARGE_MODIFY
                            + '|not allowed to delete'):
                        Charge.delete([Charge(charge.id)])
            charges = Charge.search([('subscriber', '=', subscriber.id)])
            self.assertEqual([(c.id, c.amount) for c in charges], amounts)

    @with_transaction()
    def test_charges_refused_with_rights(self):
        "Even with the rights to write charges, RPC cannot forge them"
        pool = Pool()
        Charge = pool.get('rsoft.billing.charge')
        Access = pool.get('ir.model.access')
        ModelData = pool.get('ir.model.data')
        with self.fixture() as op:
            subscriber = self.billed(op)
            charge = Charge.search([('subscriber', '=', subscriber.id)])[0]
            clerk = create_clerk('clerk', op.company, *CLERK_GROUPS)
            Access.create([{
                        'model': 'rsoft.billing.charge',
                        'group': ModelData.get_id(
                            'rsoft_catalogue', 'group_paytv_admin'),
                        'perm_read': True, 'perm_write': True,
                        'perm_create': True, 'perm_delete': True,
                        }])
            with Transaction().set_user(clerk.id), check_access():
                with self.assertRaisesRegex(RatingError, CHARGE_MODIFY):
                    Charge.write([Charge(charge.id)],
                        {'amount': Decimal(0)})
                with self.assertRaisesRegex(RatingError, CHARGE_MODIFY):
                    Charge.delete([Charge(charge.id)])
                values = {f: getattr(charge, f) for f in [
                        'kind', 'period_end', 'date_from', 'date_to',
                        'amount', 'description']}
                with self.assertRaisesRegex(RatingError, CHARGE_MODIFY), \
                        savepoint('forged'):
                    Charge.create([{**values,
                                'subscriber': charge.subscriber.id,
                                'connection': charge.connection.id,
                                'line': charge.line.id,
                                'product': charge.product.id,
                                'currency': charge.currency.id,
                                'period_start': D(2099, 1, 1),
                                }])
            self.assertNotEqual(Charge(charge.id).amount, Decimal(0))
            self.assertFalse(Charge.search([
                        ('period_start', '=', D(2099, 1, 1))]))

    @with_transaction()
    def test_lco_sees_no_configuration_nor_runs(self):
        "An LCO user opens accounts with the defaults, sees no MSO settings"
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        Configuration = pool.get('rsoft.billing.configuration')
        BillRun = pool.get('rsoft.billing.run')
        Charge = pool.get('rsoft.billing.charge')
        with self.fixture() as op:
            subscriber = self.billed(op)
            configuration = Configuration(1)
            configuration.billing_start = D(2020, 1, 1)
            configuration.save()
            run, = BillRun.create([{'date': D(2025, 3, 1)}])
            Charge.write(Charge.search([]), {'bill_run': run.id})
            user = create_lco_user('lco_a', op.lco_a)
            with Transaction().set_user(user.id), check_access():
                self.assertEqual(
                    Subscriber.default_get(['billing_mode', 'billing_cycle']),
                    {'billing_mode': 'prepaid', 'billing_cycle': 1})
                # The rule hides the record: only the defaults show
                configuration, = Configuration.read([1], ['billing_start'])
                self.assertIsNone(configuration['billing_start'])
                self.assertEqual(BillRun.search([]), [])
                with self.assertRaises(AccessError):
                    BillRun.read([run.id], ['date'])
                # The charges are read without their bill run
                view = Charge.fields_view_get(view_type='form')
                self.assertNotIn('bill_run', view['fields'])
                charges = Charge.search([('subscriber', '=', subscriber.id)])
                self.assertTrue(charges)
                Charge.read([c.id for c in charges], list(view['fields']))
