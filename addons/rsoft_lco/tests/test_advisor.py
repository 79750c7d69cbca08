"""The best-fit advisor on the billing tests' catalogue: Base Pack Rs 12
(Surya TV, Surya Kids, two mandated channels), Gold Pack Rs 310 and Silver
Pack Rs 200 (the same channels), Sports Pack Rs 93, Surya TV Rs 10 and
Surya Sports HD Rs 25 a-la-carte; NCF Rs 130 up to 200 channels"""
import datetime
from decimal import Decimal

from trytond.modules.rsoft_billing.tests.tools import (
    create_billing_operator,
    new_account,
)
from trytond.modules.rsoft_catalogue.bestfit import NotOfferedError
from trytond.modules.rsoft_lco.advisor import advise, switch
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction

D = datetime.date
START = D(2025, 3, 1)


class AdvisorTestCase(FixtureMixin, _DBTestCase):
    "The best-fit advisor"
    module = 'rsoft_lco'

    @classmethod
    def set_up_fixture(cls):
        return create_billing_operator()

    def gold_account(self, op):
        "Return the connection of an account of LCO-A taking the Gold Pack"
        Line = Pool().get('rsoft.subscription.line')
        subscriber = new_account(op.lco_a, START)
        connection = subscriber.connections[0]
        line, = Line.create([{'connection': connection.id,
                    'product': op.gold.id, 'start_date': START}])
        Line.activate([line])
        return connection

    @with_transaction()
    def test_cheaper_pack(self):
        "Both Surya channels: the Base Pack at Rs 12, not Gold at Rs 310"
        with self.fixture() as op:
            connection = self.gold_account(op)
            advice = advise(connection, [op.surya_tv, op.surya_kids], START)
            self.assertEqual(advice['products'], [op.base])
            self.assertEqual(advice['best'].total, Decimal('142.00'))
            self.assertEqual(advice['current'].total, Decimal('440.00'))
            self.assertEqual(advice['saving'], Decimal('298.00'))
            self.assertTrue(advice['best'].exact)

    @with_transaction()
    def test_alacarte(self):
        "Surya TV alone: a-la-carte at Rs 10 beats the Base Pack at Rs 12"
        with self.fixture() as op:
            connection = self.gold_account(op)
            advice = advise(connection, [op.surya_tv], START)
            self.assertEqual(advice['products'], [op.alacarte_tv])
            self.assertEqual(advice['best'].total, Decimal('140.00'))
            advice = advise(connection, [op.surya_tv, op.sports_hd], START)
            self.assertEqual(set(advice['products']),
                {op.alacarte_tv, op.alacarte_hd})

    @with_transaction()
    def test_switch(self):
        """The advice taken in one click: Gold ends the day before, the
        Base Pack starts; the offers kept are not touched"""
        pool = Pool()
        Connection = pool.get('rsoft.connection')
        with self.fixture() as op:
            connection = self.gold_account(op)
            day = D(2025, 4, 1)
            advice = advise(connection, [op.surya_tv, op.surya_kids], day)
            new = switch(connection, advice['products'], day)
            self.assertEqual([line.product for line in new], [op.base])
            lines = Connection(connection.id).lines
            gold, = [line for line in lines if line.product == op.gold]
            self.assertEqual(gold.end_date, D(2025, 3, 31))
            base, = [line for line in lines if line.product == op.base]
            self.assertEqual((base.state, base.start_date), ('active', day))
            # Taken again: nothing changes
            self.assertEqual(switch(connection, [op.base], day), [])
            self.assertEqual(advise(Connection(connection.id),
                    [op.surya_tv, op.surya_kids], day)['saving'],
                Decimal('0.00'))

    @with_transaction()
    def test_not_offered(self):
        "A channel no offer carries is named"
        pool = Pool()
        Channel = pool.get('rsoft.channel')
        with self.fixture() as op:
            connection = self.gold_account(op)
            orphan, = Channel.copy([op.surya_kids],
                {'name': "Orphan", 'lcn': 999})
            with self.assertRaises(NotOfferedError) as cm:
                advise(connection, [op.surya_tv, orphan], START)
            self.assertEqual(cm.exception.channels, {orphan.id})


del _DBTestCase
