"""A subscriber buys a pay-per-view event in the portal, paid from the
wallet; another subscriber sees nothing of it"""
import datetime as dt
import re
from decimal import Decimal
from http import HTTPStatus
from unittest.mock import patch

from trytond.modules.company.tests import set_company
from trytond.modules.rsoft_ppv.tests.tools import (
    NOW,
    clock,
    create_ppv_operator,
    new_connection,
)
from trytond.modules.rsoft_toolkit.tests.fixture import FixtureMixin
from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import DB_NAME

from .test_portal_subscriber import BASE, SubscriberClientMixin
from .tools import csrf_token

BUY = re.compile(r'name="product" value="(\d+)"')


class PpvOperator(FixtureMixin):
    "The PPV tests' operator with a prepaid account A and an account B"

    @classmethod
    def set_up_fixture(cls):
        op = create_ppv_operator()
        with set_company(op.company), clock():
            op.a = new_connection(op, wallet='1000', serial='GX00000001')
            op.b = new_connection(op, wallet='1000', serial='GX00000002')
        return op


class PpvPortalTestCase(
        SubscriberClientMixin, PpvOperator, test_tryton._DBTestCase):
    "Test the pay-per-view page of the subscriber portal"
    module = 'rsoft_selfcare'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def read():
            with cls.fixture(cls) as op:
                return ({name: {
                            'connection': c.id,
                            'subscriber': c.subscriber.id,
                            'customer_id': c.subscriber.customer_id,
                            'mobile': c.subscriber.mobile,
                            } for name, c in [('a', op.a), ('b', op.b)]},
                    op.final.id)
        accounts, cls.final = run(read)
        cls.a, cls.b = accounts['a'], accounts['b']

    def balance(self, subscriber_id):
        return run(lambda: Pool().get('rsoft.subscriber')(
                subscriber_id).wallet_balance)

    def setUp(self):
        super().setUp()
        # The routes run in this process: they see the PPV clock of the
        # fixture, a week before the final
        pool = Pool(DB_NAME)
        now = patch.object(pool.get('rsoft.ppv.configuration'), 'now',
            return_value=NOW)
        today = patch.object(pool.get('ir.date'), 'today',
            return_value=(NOW + dt.timedelta(hours=5, minutes=30)).date())
        for mock in [now, today]:
            mock.start()
            self.addCleanup(mock.stop)

    def test_buy_event(self):
        "The IPL final bought once from the wallet, tax included"
        client = self.subscriber_client(self.a)
        response = client.get(f'{BASE}/ppv')
        body = response.get_data(as_text=True)
        self.assertIn("IPL Final", body)
        self.assertIn(str(self.final), BUY.findall(body))
        self.assertIn("237.17", body)
        before = self.balance(self.a['subscriber'])
        form = {
            'connection': str(self.a['connection']),
            'product': str(self.final),
            'csrf_token': csrf_token(response),
            }
        response = client.post(f'{BASE}/ppv/buy', data=form)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn('id="bought"', response.get_data(as_text=True))
        # Rs 199, GST 18% and the cess of 1% on it: as the page shows
        self.assertEqual(before - self.balance(self.a['subscriber']),
            Decimal('237.17'))

        # Sent again (a double click): refused, charged once
        response = client.post(f'{BASE}/ppv/buy', data=form)
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn("already", response.get_data(as_text=True))
        self.assertEqual(before - self.balance(self.a['subscriber']),
            Decimal('237.17'))

        def purchases(subscriber_id):
            Purchase = Pool().get('rsoft.ppv.purchase')
            return [(p.product.id, p.source) for p in Purchase.search([
                        ('subscriber', '=', subscriber_id)])]
        self.assertEqual(run(purchases, self.a['subscriber']),
            [(self.final, 'portal')])

        # B neither sees A's purchase nor buys on A's connection
        client_b = self.subscriber_client(self.b)
        body = client_b.get(f'{BASE}/ppv').get_data(as_text=True)
        self.assertNotIn('id="bought"', body)
        self.assertNotIn(self.a['customer_id'], body)
        response = client_b.post(f'{BASE}/ppv/buy', data={
                **form, 'product': str(self.final),
                'csrf_token': csrf_token(client_b.get(f'{BASE}/ppv'))})
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertEqual(run(purchases, self.b['subscriber']), [])
