"The outbox of the LCOs: each LCO user sees its subscribers' messages only"
import json

from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.rsoft_partner.tests.tools import (
    create_chain,
    create_lco_user,
)
from trytond.modules.rsoft_subscriber.tests.tools import create_subscriber
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction


class NotifyLcoTestCase(test_tryton.ModuleTestCase):
    "Test the notifications of the LCOs' subscribers"
    module = 'rsoft_notify'
    extras = ['rsoft_subscriber']

    def event(self):
        Event = Pool().get('rsoft.notify.event')
        event, = Event.create([{
                    'code': 'service_notice',
                    'name': "Service Notice",
                    'category': 'service',
                    'sample': json.dumps({'text': "Maintenance"}),
                    'templates': [('create', [{
                                    'channel': 'email',
                                    'subject': "Notice",
                                    'body': "{{ text }}",
                                    }])],
                    }])
        return event

    @with_transaction()
    def test_lco_sees_its_subscribers_messages(self):
        """A message to a subscriber is the LCO's; another LCO's user
        neither lists nor reads it, nor any opt-out or template"""
        pool = Pool()
        Notification = pool.get('rsoft.notify.notification')
        OptOut = pool.get('rsoft.notify.opt_out')
        Template = pool.get('rsoft.notify.template')
        company = create_company()
        with set_company(company):
            _, _, lco_a, lco_b, _ = create_chain(company)
            asha = create_subscriber(lco_a, email='asha@example.com')
            ravi = create_subscriber(lco_b, name="Ravi Kumar",
                email='ravi@example.com')
            self.event()
            to_asha, = Notification.notify('service_notice', asha.party,
                {'text': "Maintenance"}, origin=asha, email=asha.email)
            to_ravi, = Notification.notify('service_notice', ravi.party,
                {'text': "Maintenance"}, origin=ravi, email=ravi.email)
            OptOut.create([{'party': ravi.party.id, 'channel': 'sms'}])
            user_a = create_lco_user('lco-a', lco_a)
        self.assertEqual((to_asha.lco, to_ravi.lco), (lco_a, lco_b))

        transaction = Transaction()
        with transaction.set_user(user_a.id), \
                transaction.set_context(_check_access=True,
                    company=company.id):
            self.assertEqual(Notification.search([]), [to_asha])
            self.assertEqual(
                Notification.read([to_asha.id], ['recipient'])[0]['recipient'],
                'asha@example.com')
            with self.assertRaises(AccessError):
                Notification.read([to_ravi.id], ['recipient'])
            self.assertEqual(OptOut.search([]), [])
            self.assertEqual(Template.search([]), [])
