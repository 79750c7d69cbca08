"A notification writes dates and amounts in its recipient's language"
import datetime as dt
import unittest
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

VALUES = {'amount': Decimal('100000'), 'date': dt.date(2026, 12, 6)}


class NotifyLangTestCase(unittest.TestCase):
    "Templates render dates and amounts as the party's language writes"

    @classmethod
    def setUpClass(cls):
        # English (India) comes with rsoft_catalogue
        activate_module(['rsoft_notify', 'rsoft_catalogue'])

    def template(self, language=None):
        Event = Pool().get('rsoft.notify.event')
        event, = Event.create([{
                    'code': 'payment_receipt', 'name': "Payment Receipt",
                    'category': 'receipt',
                    'templates': [('create', [{
                                    'channel': 'sms',
                                    'language': language,
                                    'body': "Rs {{ amount|amount }} "
                                    "received on {{ date|date }}.",
                                    'sender_id': 'RSOFTC',
                                    'dlt_template_id': '1107160000000012345',
                                    }])],
                    }])
        template, = event.templates
        return template

    def party(self, code=None):
        pool = Pool()
        Lang = pool.get('ir.lang')
        Party = pool.get('party.party')
        party, = Party.create([{
                    'name': "Meera Iyer",
                    'lang': Lang.get(code).id if code else None,
                    }])
        return party

    @with_transaction()
    def test_party_language(self):
        "An en_IN party reads DD/MM/YYYY and lakhs, an en one MM/DD/YYYY"
        template = self.template()
        _, body = template.render(VALUES, self.party('en_IN'))
        self.assertEqual(body, "Rs 1,00,000.00 received on 06/12/2026.")
        _, body = template.render(VALUES, self.party('en'))
        self.assertEqual(body, "Rs 100,000.00 received on 12/06/2026.")

    @with_transaction()
    def test_english_template_for_en_in(self):
        "The English text written for an en_IN party, as en_IN writes"
        Lang = Pool().get('ir.lang')
        template = self.template(Lang.get('en').id)
        _, body = template.render(VALUES, self.party('en_IN'))
        self.assertEqual(body, "Rs 1,00,000.00 received on 06/12/2026.")

    @with_transaction()
    def test_context_language(self):
        "Without a party's language, the language of the user"
        template = self.template()
        with Transaction().set_context(language='en_IN'):
            _, body = template.render(VALUES, self.party())
        self.assertEqual(body, "Rs 1,00,000.00 received on 06/12/2026.")
        with Transaction().set_context(language='en'):
            _, body = template.render(
                {'amount': '100000', 'date': '2026-12-06'}, {'name': ''})
        self.assertEqual(body, "Rs 100,000.00 received on 12/06/2026.")
