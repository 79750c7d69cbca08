"""The subscriber portal in Hindi: the language the browser asks for, the
texts of locale/hi.po, the Indian formats of the Hindi language"""
import datetime
import glob
import os
import re
import unittest
import xml.etree.ElementTree as ET
from decimal import Decimal
from http import HTTPStatus

import polib

from trytond.modules.rsoft_toolkit.tests.tools import run
from trytond.pool import Pool
from trytond.tests import test_tryton

from .test_portal_subscriber import BASE, SubscriberClientMixin
from .tools import PortalOperator, csrf_token

MODULE = os.path.dirname(os.path.dirname(__file__))
ROUTES = ['routes_subscriber.py', 'routes_recharge.py', 'routes_channels.py',
    'routes_engage.py', 'routes_voucher.py', 'api.py']
# Raised by the models to a subscriber and shown as they are
MODEL_MESSAGES = {
    'msg_otp_throttled',
    'msg_portal_password_length',
    'msg_poll_not_voting',
    'msg_poll_voter_state',
    'msg_poll_not_put_to',
    'msg_poll_already_voted',
    'msg_poll_vote_unique',
    }
CALL = re.compile(r"""\b_\(\s*'(\w+)'""")
# The names a route gives a page to show: error=, saved, alerts
ROUTE_NAME = re.compile(
    r"""(?:\berror\s*=\s*|\['saved'\]\s*=\s*|alerts\.append\(\(\s*"""
    r"""|\btranslate\(\s*)'(\w+)'""")
BLOCK = re.compile(r'{%\s*block\s+(\w+)\s*%}.*?{%\s*endblock\s*%}', re.S)
PLACEHOLDER = re.compile(r'%\((\w+)\)s')
HINDI = {'Accept-Language': 'hi'}
ENGLISH = {'Accept-Language': 'en'}


def _read(path):
    with open(os.path.join(MODULE, path), encoding='utf-8') as file:
        return file.read()


def portal_messages():
    """Return the ids of the messages the subscriber portal shows: those
    its pages and routes name, and the models' it shows"""
    names = set()
    for path in glob.glob(os.path.join(MODULE, 'templates', 'subscriber',
                '*.html')) + [os.path.join(MODULE, 'templates', 'alert.html')]:
        names |= set(CALL.findall(_read(path)))
    # Of the pages' common base, what the subscriber base does not replace
    replaced = set(re.findall(r'{%\s*block\s+(\w+)',
            _read(os.path.join('templates', 'subscriber', 'base.html'))))
    base = BLOCK.sub(lambda m: '' if m.group(1) in replaced else m.group(0),
        _read(os.path.join('templates', 'base.html')))
    names |= set(CALL.findall(base))
    for path in ROUTES:
        names |= set(ROUTE_NAME.findall(_read(path)))
    return {f'msg_portal_{n}' for n in names} | MODEL_MESSAGES


def english_texts():
    "Return the English text of each message of the module, by id"
    texts = {}
    for path in glob.glob(os.path.join(MODULE, 'message*.xml')):
        for record in ET.parse(path).iter('record'):
            if record.get('model') == 'ir.message':
                texts[record.get('id')] = record.find(
                    "field[@name='text']").text
    return texts


def hindi_texts():
    "Return the entries of locale/hi.po by message id"
    entries = {}
    for entry in polib.pofile(os.path.join(MODULE, 'locale', 'hi.po')):
        kind, _, fs_id = entry.msgctxt.partition(':')[2].rpartition(':')
        if kind == 'ir.message,text' and not entry.obsolete:
            entries[fs_id] = entry
    return entries


class HindiCatalogTestCase(unittest.TestCase):
    "Test that locale/hi.po translates every text of the subscriber portal"

    def test_every_text_translated(self):
        "Each text the subscriber portal shows has its Hindi"
        texts, entries = english_texts(), hindi_texts()
        names = portal_messages()
        self.assertIn('msg_portal_sc_title', names)
        self.assertIn('msg_portal_sc_saved_email', names)
        self.assertIn('msg_portal_alert_due', names)
        self.assertEqual(sorted(names - set(texts)), [],
            msg="named by the portal but missing from message*.xml")
        self.assertEqual(sorted(names - set(entries)), [],
            msg="shown by the subscriber portal but not in locale/hi.po")
        for fs_id in names:
            with self.subTest(message=fs_id):
                self.assertTrue(entries[fs_id].msgstr)
                self.assertFalse(entries[fs_id].fuzzy)

    def test_english_unchanged(self):
        """Each Hindi text translates the English of today: a text
        reworded in message*.xml needs its Hindi reworded too"""
        texts = english_texts()
        for fs_id, entry in hindi_texts().items():
            with self.subTest(message=fs_id):
                self.assertIn(fs_id, texts)
                self.assertEqual(entry.msgid, texts[fs_id])

    def test_placeholders(self):
        "The Hindi keeps the placeholders of the English"
        for fs_id, entry in hindi_texts().items():
            with self.subTest(message=fs_id):
                self.assertEqual(
                    sorted(PLACEHOLDER.findall(entry.msgstr)),
                    sorted(PLACEHOLDER.findall(entry.msgid)))


class HindiPortalTestCase(
        SubscriberClientMixin, PortalOperator, test_tryton._DBTestCase):
    "Test the subscriber portal in Hindi and in English"
    module = 'rsoft_selfcare'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

        def load_hindi():
            # Hindi becomes translatable by the module's own XML, after the
            # languages of the activation are read: its texts are loaded
            # as an administrator does for a language
            Lang = Pool().get('ir.lang')
            hindi, = Lang.search([('code', '=', 'hi')])
            Lang.load_translations([hindi])

        def read():
            with cls.fixture(cls) as op:
                a = op.accounts[op.lco_a.code]
                return {name: a[name]
                    for name in ['customer_id', 'name', 'mobile']}
        run(load_hindi)
        cls.a = run(read)

    def get(self, client, path, headers):
        response = client.get(BASE + path, headers=headers)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        return response.get_data(as_text=True)

    def post_in(self, client, path, data, headers):
        "Post data to path with the token of its page, in a language"
        token = csrf_token(client.get(BASE + path, headers=headers))
        return client.post(BASE + path, headers=headers,
            data={**data, 'csrf_token': token})

    def test_language(self):
        "Hindi is a translatable language with Indian formats"
        def check():
            Lang = Pool().get('ir.lang')
            hindi = Lang.get('hi')
            self.assertEqual(hindi.code, 'hi')
            self.assertEqual(hindi.name, "हिन्दी (Hindi)")
            self.assertTrue(hindi.translatable)
            self.assertEqual(hindi.direction, 'ltr')
            self.assertEqual(
                hindi.strftime(datetime.date(2025, 3, 7)), '07/03/2025')
            self.assertEqual(
                hindi.format_number(Decimal('1234567.5'), digits=2),
                '12,34,567.50')
        run(check)

    def test_api_error(self):
        "The API tells an error in the language asked for, its code not"
        client = self.client()
        response = client.get(BASE + '/api/v1/subscription', headers=HINDI)
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
        self.assertEqual(response.get_json(), {'error': 'unauthorized',
                'message': "पहले लॉग इन करें: /auth/token का बेयरर टोकन भेजें।"})

    def test_login_page(self):
        "The login page speaks the browser's language"
        client = self.client()
        body = self.get(client, '/login', HINDI)
        self.assertIn('<html lang="hi">', body)
        self.assertIn("<title>टीवी सेल्फ-केयर</title>", body)
        self.assertIn("अपने टीवी खाते में लॉग इन करें", body)
        self.assertIn("कस्टमर आईडी या रजिस्टर्ड मोबाइल नंबर", body)
        self.assertIn("ओटीपी भेजें", body)
        self.assertIn("इसके बजाय पासवर्ड से लॉग इन करें", body)
        self.assertNotIn("Log in to your TV account", body)

        body = self.get(client, '/login', ENGLISH)
        self.assertIn('<html lang="en">', body)
        self.assertIn("Log in to your TV account", body)
        self.assertIn("Send OTP", body)
        self.assertNotIn("अपने टीवी खाते में लॉग इन करें", body)

    def test_login_language_preferences(self):
        """A browser's region and preferences find Hindi; a language not
        translated gets English"""
        client = self.client()
        body = self.get(client, '/login', {
                'Accept-Language': 'hi-IN,hi;q=0.9,en-US;q=0.8,en;q=0.7'})
        self.assertIn("अपने टीवी खाते में लॉग इन करें", body)
        body = self.get(client, '/login', {
                'Accept-Language': 'ta-IN,ta;q=0.9'})
        self.assertIn("Log in to your TV account", body)
        body = self.get(client, '/login', {})
        self.assertIn("Log in to your TV account", body)

    def test_login_refusals(self):
        "The OTP's steps and refusals are in Hindi"
        client = self.client()
        response = self.post_in(client, '/login', {
                'action': 'otp', 'login': self.a['customer_id']}, HINDI)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = response.get_data(as_text=True)
        self.assertIn("रजिस्टर्ड मोबाइल पर SMS से ओटीपी भेजा गया है", body)
        self.assertIn("ओटीपी फिर से भेजें", body)
        response = self.post_in(client, '/login', {
                'action': 'verify', 'login': self.a['customer_id'],
                'otp': '000000'}, HINDI)
        self.assertEqual(response.status_code, HTTPStatus.UNAUTHORIZED)
        self.assertIn("ओटीपी गलत है या उसकी समय-सीमा खत्म हो गई है।",
            response.get_data(as_text=True))

    def test_home(self):
        "The home page of a logged-in subscriber in Hindi, then in English"
        client = self.subscriber_client(self.a)
        body = self.get(client, '/', HINDI)
        self.assertIn(f"स्वागत है, {self.a['name']}", body)
        self.assertIn(f"खाता {self.a['customer_id']}", body)
        for text in ["होम", "रिचार्ज", "चैनल", "बिल", "वॉलेट", "प्रोफ़ाइल",
                "लॉग आउट", "बकाया राशि", "अगले बिल की तारीख", "बिल भरें",
                "पैक या चैनल", "चैनल बदलें"]:
            self.assertIn(f">{text}<", body)
        self.assertNotIn("Amount due", body)
        self.assertNotIn("Log out", body)

        body = self.get(client, '/', ENGLISH)
        self.assertIn(f"Welcome, {self.a['name']}", body)
        self.assertIn(">Amount due<", body)
        self.assertIn(">Log out<", body)
        self.assertNotIn("बकाया राशि", body)

    def test_bills(self):
        "The bills and payments in Hindi"
        client = self.subscriber_client(self.a)
        body = self.get(client, '/bills', HINDI)
        for text in ["बिल", "भुगतान", "नंबर", "खाता", "तारीख", "स्थिति",
                "राशि", "बकाया", "माध्यम", "PDF"]:
            self.assertIn(f">{text}<", body)
        self.assertNotIn("Payments", body)
        self.assertNotIn("Unpaid", body)
        body = self.get(client, '/bills', ENGLISH)
        self.assertIn(">Payments<", body)
        self.assertIn(">Unpaid<", body)

    def test_profile(self):
        "The profile in Hindi, with its refusals and the models' messages"
        client = self.subscriber_client(self.a)
        body = self.get(client, '/profile', HINDI)
        for text in ["संपर्क विवरण", "नया मोबाइल नंबर", "ऑफ़र और प्रमोशन",
                "नया पासवर्ड", "नया पासवर्ड दोबारा दर्ज करें", "सेव करें"]:
            self.assertIn(f">{text}<", body)
        self.assertIn("मुझे SMS से ऑफ़र भेजें", body)
        self.assertNotIn("Contact details", body)

        response = self.post_in(client, '/profile', {
                'action': 'password', 'password': 'Ab-12345-xyz',
                'password2': 'Ab-12345-xyw'}, HINDI)
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn("दोनों पासवर्ड मेल नहीं खाते।",
            response.get_data(as_text=True))
        response = self.post_in(client, '/profile', {
                'action': 'password', 'password': 'Ab-1',
                'password2': 'Ab-1'}, HINDI)
        self.assertEqual(
            response.status_code, HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertRegex(response.get_data(as_text=True),
            r"पासवर्ड कम से कम \d+ अक्षरों का होना चाहिए।")

        body = self.get(client, '/profile', ENGLISH)
        self.assertIn(">Contact details<", body)
        self.assertNotIn("संपर्क विवरण", body)
