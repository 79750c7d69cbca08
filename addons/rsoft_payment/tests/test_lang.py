"The receipts speak the subscriber's language: en_IN writes DD/MM/YYYY"
import datetime as dt
import unittest
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

RECEIPT = {
    'number': 'RCT00000042', 'customer_id': 'RS0001042',
    'name': "Asha Patil", 'amount': Decimal('100000'), 'currency': 'INR',
    'date': dt.date(2026, 12, 6), 'mode': "Cash", 'reference': '',
    'lco': "Sai Cable Network", 'wallet_balance': None,
    'outstanding': Decimal('0'), 'reason': '',
    }


class ReceiptLangTestCase(unittest.TestCase):
    "The payment receipt in the language of the subscriber's party"

    @classmethod
    def setUpClass(cls):
        activate_module('rsoft_payment')

    def create_inr(self):
        Currency = Pool().get('currency.currency')
        Currency.create([{
                    'name': "Indian Rupee", 'code': 'INR', 'symbol': '₹',
                    'numeric_code': '356', 'rounding': Decimal('0.01'),
                    'digits': 2,
                    }])

    def receipt(self, lang_code=None):
        "Return the receipt by SMS and by e-mail of a party in lang_code"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Party = pool.get('party.party')
        Notification = pool.get('rsoft.notify.notification')
        party, = Party.create([{
                    'name': "Asha Patil",
                    'lang': Lang.get(lang_code).id if lang_code else None,
                    }])
        notifications = Notification.notify(
            'payment_receipt', party, RECEIPT,
            email='asha@example.com', mobile='+91 98200 12345')
        return {n.channel: n for n in notifications}

    @with_transaction()
    def test_receipt_en_in(self):
        "A subscriber of English (India) reads DD/MM/YYYY and lakhs"
        self.create_inr()
        receipt = self.receipt('en_IN')
        self.assertEqual(receipt['sms'].body,
            "Received Rs 1,00,000.00 by Cash on 06/12/2026 for TV a/c "
            "RS0001042. Receipt RCT00000042. Thank you -RSOFTV")
        self.assertEqual(receipt['email'].subject,
            "Receipt RCT00000042: ₹1,00,000.00 received for account "
            "RS0001042")
        self.assertIn(
            "We have received ₹1,00,000.00 by Cash on 06/12/2026",
            receipt['email'].body)

    @with_transaction()
    def test_receipt_party_language_first(self):
        "The party's language, not the user's, writes the receipt"
        self.create_inr()
        with Transaction().set_context(language='en_IN'):
            receipt = self.receipt('en')
        self.assertIn("on 12/06/2026", receipt['sms'].body)
        self.assertIn("Rs 100,000.00", receipt['sms'].body)
        # A party without language: the language of the user
        with Transaction().set_context(language='en_IN'):
            receipt = self.receipt()
        self.assertIn("on 06/12/2026", receipt['sms'].body)
