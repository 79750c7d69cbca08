import datetime
import json
from decimal import Decimal

import trytond.config as config
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.rsoft_notify.exceptions import (
    GatewayValidationError,
    TemplateValidationError,
)
from trytond.modules.rsoft_notify.render import sms_measure
from trytond.modules.rsoft_toolkit.secret import MASK
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .servers import MailServer, SmsGatewayServer, free_port

SECRET = 'Sm5-k3y/with+odd=chars'
ENTITY_ID = '1101234567890123456'
RECEIPT_SAMPLE = {
    'receipt': 'RCP/0042', 'amount': '236.00', 'date': '2026-03-02'}


class NotifyTestCase(ModuleTestCase):
    "Test the notifications: templates, outbox, e-mail and SMS"
    module = 'rsoft_notify'
    # The LCO link and its views come with the partner network
    extras = ['rsoft_subscriber']

    def gateway(self, url, **values):
        Gateway = Pool().get('rsoft.notify.sms.gateway')
        gateway, = Gateway.create([{
                    'name': "Bulk SMS",
                    'url': url,
                    'method': 'post_form',
                    'auth': 'basic',
                    'username': 'rsoft',
                    'secret': SECRET,
                    'parameters': '\n'.join([
                            'to={to}', 'message={text}', 'sender={sender}',
                            'template_id={template_id}',
                            'unicode={unicode}',
                            f'entity_id={ENTITY_ID}']),
                    'success_pattern': '"status": "OK"',
                    'timeout': 2,
                    **values}])
        Configuration = Pool().get('rsoft.notify.configuration')
        Configuration.write([Configuration(1)], {
                'sms_gateway': gateway.id,
                'max_attempts': 3,
                'retry_delay': 5,
                })
        return gateway

    def event(self, code='payment_receipt', category='receipt'):
        Event = Pool().get('rsoft.notify.event')
        event, = Event.create([{
                    'code': code,
                    'name': "Payment Receipt",
                    'category': category,
                    'sample': json.dumps(RECEIPT_SAMPLE),
                    'templates': [('create', [{
                                    'channel': 'email',
                                    'subject': "Receipt {{ receipt }}",
                                    'body': "Dear {{ party.name }},\n"
                                    "we received Rs {{ amount|amount }} on "
                                    "{{ date|date }}.",
                                    }, {
                                    'channel': 'sms',
                                    'body': "Rs {{ amount|amount }} received,"
                                    " receipt {{ receipt }}. RSoft Cable",
                                    'sender_id': 'RSOFTC',
                                    'dlt_template_id': '1107160000000012345',
                                    }])],
                    }])
        return event

    def party(self, name="Meera Iyer", email='meera@example.com',
            mobile='+91 98450 12345', lang=None):
        Party = Pool().get('party.party')
        mechanisms = []
        if email:
            mechanisms.append({'type': 'email', 'value': email})
        if mobile:
            mechanisms.append({'type': 'mobile', 'value': mobile})
        party, = Party.create([{
                    'name': name,
                    'lang': lang.id if lang else None,
                    'contact_mechanisms': [('create', mechanisms)],
                    }])
        return party

    def notify(self, party, code='payment_receipt', **values):
        Notification = Pool().get('rsoft.notify.notification')
        values = values or {
            'receipt': 'RCP/0042', 'amount': Decimal('236.00'),
            'date': datetime.date(2026, 3, 2)}
        return {n.channel: n for n in Notification.notify(
                code, party, values)}

    def make_due(self, notifications):
        Notification = Pool().get('rsoft.notify.notification')
        Notification.write(list(notifications), {
                'next_attempt': datetime.datetime.now()
                - datetime.timedelta(seconds=1)})

    def hindi(self):
        Lang = Pool().get('ir.lang')
        langs = Lang.search([('code', '=', 'hi')])
        if langs:
            lang, = langs
        else:
            lang, = Lang.create([{
                        'name': "Hindi", 'code': 'hi', 'translatable': False,
                        'date': '%d/%m/%Y', 'decimal_point': '.',
                        'thousands_sep': ',', 'grouping': '[3, 2, 0]',
                        }])
        return lang

    @with_transaction()
    def test_receipt_by_email_and_sms(self):
        "A receipt is queued, then e-mailed and sent by SMS"
        pool = Pool()
        Notification = pool.get('rsoft.notify.notification')
        Queue = pool.get('ir.queue')
        Lang = pool.get('ir.lang')
        with MailServer() as mail, SmsGatewayServer() as sms:
            self.gateway(sms.url)
            self.event()
            # Meera reads English (India): dates day first
            party = self.party(lang=Lang.get('en_IN'))
            notifications = self.notify(party)

            self.assertEqual(set(notifications), {'email', 'sms'})
            email, text = notifications['email'], notifications['sms']
            self.assertEqual(
                {n.state for n in notifications.values()}, {'queued'})
            self.assertEqual(email.recipient, 'meera@example.com')
            self.assertEqual(email.subject, "Receipt RCP/0042")
            self.assertEqual(email.body,
                "Dear Meera Iyer,\nwe received Rs 236.00 on 02/03/2026.")
            self.assertEqual(text.body,
                "Rs 236.00 received, receipt RCP/0042. RSoft Cable")
            task, = Queue.search([('name', '=', 'notify')])
            self.assertEqual(task.data['method'], 'send')
            self.assertEqual(
                sorted(task.data['instances']), sorted([email.id, text.id]))

            Notification.send(list(notifications.values()))

            self.assertEqual(email.state, 'sent')
            self.assertEqual(email.attempts, 1)
            self.assertTrue(email.sent_at)
            (recipients, message), = mail.messages
            self.assertEqual(recipients, ['meera@example.com'])
            self.assertEqual(message['Subject'], "Receipt RCP/0042")
            self.assertEqual(
                message['To'], 'Meera Iyer <meera@example.com>')
            self.assertEqual(message['From'], mail.from_addr)
            self.assertTrue(message['Date'])
            self.assertIn(message['Message-ID'], email.reply)
            self.assertEqual(
                message.get_content().replace('\r\n', '\n').strip(),
                email.body)

            self.assertEqual(text.state, 'sent')
            self.assertIn('HTTP 200', text.reply)
            request, = sms.requests
            self.assertEqual(request.method, 'POST')
            self.assertEqual(request.params, {
                    'to': '919845012345',
                    'message': text.body,
                    'sender': 'RSOFTC',
                    'template_id': '1107160000000012345',
                    'unicode': '0',
                    'entity_id': ENTITY_ID,
                    })
            self.assertEqual(request.basic_auth, ('rsoft', SECRET))

    @with_transaction()
    def test_email_attachment(self):
        "A file given to the notification goes with the e-mail, not the SMS"
        Notification = Pool().get('rsoft.notify.notification')
        pdf = b'%PDF-1.4 bill of March'
        with MailServer() as mail, SmsGatewayServer() as sms:
            self.gateway(sms.url)
            self.event()
            notifications = {n.channel: n for n in Notification.notify(
                    'payment_receipt', self.party(), {
                        'receipt': 'RCP/0042', 'amount': Decimal('236.00'),
                        'date': datetime.date(2026, 3, 2)},
                    attachments=[('BILL-0042.pdf', pdf)])}
            email, text = notifications['email'], notifications['sms']
            self.assertEqual(
                [a.name for a in email.attachments], ['BILL-0042.pdf'])
            self.assertEqual(text.attachments, ())

            Notification.send([email, text])

            self.assertEqual((email.state, text.state), ('sent', 'sent'))
            (_, message), = mail.messages
            attachment, = message.iter_attachments()
            self.assertEqual(attachment.get_filename(), 'BILL-0042.pdf')
            self.assertEqual(attachment.get_content_type(), 'application/pdf')
            self.assertEqual(attachment.get_content(), pdf)
            self.assertEqual(
                message.get_body(('plain',)).get_content().replace(
                    '\r\n', '\n').strip(),
                email.body)

    @with_transaction()
    def test_log_written_by_the_queue_only(self):
        """A back-office user cannot rewrite the outcome or the text of a
        message; the buttons still work for him"""
        pool = Pool()
        Notification = pool.get('rsoft.notify.notification')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        clerk, = User.create([{
                    'login': 'clerk', 'name': "Clerk",
                    'groups': [('add', [
                                ModelData.get_id('rsoft_catalogue',
                                    'group_paytv'),
                                ModelData.get_id('rsoft_catalogue',
                                    'group_paytv_admin')])],
                    }])
        self.event()
        email = self.notify(self.party(mobile=None))['email']
        transaction = Transaction()
        with transaction.set_user(clerk.id), \
                transaction.set_context(_check_access=True):
            for values in [{'state': 'sent'}, {'attempts': 0},
                    {'reply': "250 OK"}, {'sent_at': datetime.datetime.now()},
                    {'body': "Nothing is due"},
                    {'recipient': 'someone@example.com'}]:
                with self.subTest(values=values):
                    with self.assertRaises(AccessError):
                        Notification.write([Notification(email.id)], values)
            Notification.cancel([Notification(email.id)])
        email = Notification(email.id)
        # Meera has no language: the user's, English, writes MM/DD/YYYY
        self.assertEqual((email.state, email.body), ('cancelled',
                "Dear Meera Iyer,\nwe received Rs 236.00 on 03/02/2026."))

    @with_transaction()
    def test_gateway_down_retries_then_fails(self):
        "An SMS the gateway refuses is retried with back-off, then failed"
        pool = Pool()
        Notification = pool.get('rsoft.notify.notification')
        Queue = pool.get('ir.queue')
        with SmsGatewayServer() as sms:
            self.gateway(sms.url)
            self.event()
            text = self.notify(self.party(email=None))['sms']
            sms.fail()

            before = datetime.datetime.now()
            Notification.send([text])
            self.assertEqual(
                (text.state, text.attempts), ('queued', 1))
            self.assertIn('HTTP 503', text.error)
            delay = text.next_attempt - before
            # The next attempt is stored to the second
            self.assertGreaterEqual(delay, datetime.timedelta(seconds=299))
            self.assertLess(delay, datetime.timedelta(minutes=6))
            retry, = Queue.search([
                    ('name', '=', 'notify'),
                    ('scheduled_at', '!=', None)])
            self.assertEqual(list(retry.data['instances']), [text.id])

            # Not due yet: neither the task nor the cron sends it
            Notification.send([text])
            Notification.send_queued()
            self.assertEqual(len(sms.requests), 1)

            self.make_due([text])
            Notification.send_queued()
            self.assertEqual(
                (text.state, text.attempts), ('queued', 2))
            delay = text.next_attempt - datetime.datetime.now()
            self.assertGreater(delay, datetime.timedelta(minutes=9))

            self.make_due([text])
            Notification.send_queued()
            self.assertEqual((text.state, text.attempts), ('failed', 3))
            self.assertIsNone(text.next_attempt)
            self.assertEqual(len(sms.requests), 3)

            Notification.retry([text])
            self.assertEqual((text.state, text.attempts), ('queued', 0))
            Notification.cancel([text])
            self.assertEqual(text.state, 'cancelled')

    @with_transaction()
    def test_success_after_failure(self):
        "The gateway is back: the retry sends the SMS"
        Notification = Pool().get('rsoft.notify.notification')
        with SmsGatewayServer() as sms:
            self.gateway(sms.url)
            self.event()
            text = self.notify(self.party(email=None))['sms']
            sms.fail(1, 200, '{"status": "ERROR", "reason": "busy"}')

            Notification.send([text])
            self.assertEqual((text.state, text.attempts), ('queued', 1))
            self.assertIn('ERROR', text.error)

            self.make_due([text])
            Notification.send_queued()
            self.assertEqual((text.state, text.attempts), ('sent', 2))
            self.assertIsNone(text.error)
            self.assertEqual(len(sms.sent), 1)

    @with_transaction()
    def test_skipped_without_mobile(self):
        "A party without mobile gets the e-mail; the SMS is skipped"
        Notification = Pool().get('rsoft.notify.notification')
        with SmsGatewayServer() as sms:
            self.gateway(sms.url)
            self.event()
            notifications = self.notify(self.party(mobile=None))
            text = notifications['sms']
            self.assertEqual(text.state, 'skipped')
            self.assertEqual(text.error, "Meera Iyer has no mobile number.")
            self.assertEqual(notifications['email'].state, 'queued')
            Notification.send([text])
            self.assertEqual(text.state, 'skipped')
            self.assertFalse(sms.requests)

    @with_transaction()
    def test_registered_recipients(self):
        "The account's registered mobile and e-mail win over the party's"
        pool = Pool()
        Notification = pool.get('rsoft.notify.notification')
        with MailServer() as mail, SmsGatewayServer() as sms:
            self.gateway(sms.url)
            self.event()
            notifications = {n.channel: n for n in Notification.notify(
                    'payment_receipt', self.party(email=None, mobile=None),
                    {'receipt': 'RCP/0043', 'amount': Decimal('300'),
                        'date': datetime.date(2026, 3, 2)},
                    email='asha@example.com', mobile='+91 98200 11223')}
            self.assertEqual(
                notifications['email'].recipient, 'asha@example.com')
            self.assertEqual(notifications['sms'].recipient, '+919820011223')
            Notification.send(list(notifications.values()))
            self.assertEqual(
                [n.state for n in notifications.values()], ['sent', 'sent'])
            (recipients, message), = mail.messages
            self.assertIn('asha@example.com', message['To'])
            request, = sms.requests
            self.assertIn('919820011223', str(request.params))

    @with_transaction()
    def test_promotion_respects_opt_out(self):
        "Opted out: no promotion, but the receipt is sent"
        pool = Pool()
        Notification = pool.get('rsoft.notify.notification')
        OptOut = pool.get('rsoft.notify.opt_out')
        with MailServer() as mail, SmsGatewayServer() as sms:
            self.gateway(sms.url)
            self.event()
            self.event('sports_offer', 'promotion')
            party = self.party()
            OptOut.create([
                    {'party': party.id, 'channel': 'sms'},
                    {'party': party.id, 'channel': 'email'}])

            promotion = self.notify(party, 'sports_offer')
            self.assertEqual(
                {n.state for n in promotion.values()}, {'skipped'})
            self.assertIn('opted out', promotion['sms'].error)

            receipt = self.notify(party)
            Notification.send(
                list(promotion.values()) + list(receipt.values()))
            self.assertEqual(
                {n.state for n in receipt.values()}, {'sent'})
            self.assertEqual(len(mail.messages), 1)
            self.assertEqual(len(sms.requests), 1)

    @with_transaction()
    def test_template_syntax_checked(self):
        "A broken template is refused, naming it"
        Template = Pool().get('rsoft.notify.template')
        event = self.event()
        with self.assertRaises(TemplateValidationError) as cm:
            Template.create([{
                        'event': event.id, 'channel': 'email',
                        'language': self.hindi().id,
                        'subject': "Receipt", 'body': "Rs {{ amount ",
                        }])
        self.assertIn('Payment Receipt (E-mail, Hindi)', cm.exception.message)
        self.assertIn('Body', cm.exception.message)

    @with_transaction()
    def test_sms_template_needs_dlt(self):
        "An SMS template needs its DLT header and template ID"
        Template = Pool().get('rsoft.notify.template')
        event = self.event()
        sms, = [t for t in event.templates if t.channel == 'sms']
        with self.assertRaisesRegex(ValidationError, 'DLT template ID'):
            Template.write([sms], {'dlt_template_id': None})
        with self.assertRaisesRegex(ValidationError, 'sender ID'):
            Template.write([sms], {'sender_id': 'RSOFT'})
        with self.assertRaisesRegex(ValidationError, 'one active template'):
            Template.copy([sms])

    @with_transaction()
    def test_language(self):
        "A Hindi-speaking party gets the Hindi SMS, in UCS-2"
        pool = Pool()
        Template = pool.get('rsoft.notify.template')
        Notification = pool.get('rsoft.notify.notification')
        hindi = self.hindi()
        with SmsGatewayServer() as sms:
            self.gateway(sms.url)
            event = self.event()
            Template.create([{
                        'event': event.id, 'channel': 'sms',
                        'language': hindi.id,
                        'body': "₹{{ amount|amount }} प्राप्त हुए, रसीद "
                        "{{ receipt }}",
                        'sender_id': 'RSOFTC',
                        'dlt_template_id': '1107160000000054321',
                        }])
            meera = self.notify(self.party(email=None, lang=hindi))['sms']
            john = self.notify(self.party(
                    "John", email=None, mobile='+91 98450 54321'))['sms']
            self.assertEqual(meera.body, "₹236.00 प्राप्त हुए, रसीद RCP/0042")
            self.assertEqual(meera.language, hindi)
            self.assertEqual(meera.dlt_template_id, '1107160000000054321')
            self.assertTrue(john.body.startswith("Rs 236.00"))

            Notification.send([meera, john])
            by_to = {r.params['to']: r.params for r in sms.requests}
            self.assertEqual(by_to['919845012345']['unicode'], '1')
            self.assertEqual(by_to['919845012345']['message'], meera.body)
            self.assertEqual(by_to['919845054321']['unicode'], '0')

    @with_transaction()
    def test_secret_never_stored(self):
        "The gateway's key is never written in the errors"
        Notification = Pool().get('rsoft.notify.notification')
        # Nobody listens: the error names the URL, key included
        self.gateway(
            f'http://127.0.0.1:{free_port()}/send', method='get',
            auth='none', parameters='apikey={secret}\nto={to}\nmsg={text}')
        self.event()
        text = self.notify(self.party(email=None))['sms']
        Notification.send([text])
        self.assertEqual(text.state, 'queued')
        self.assertIn('ConnectionError', text.error)
        self.assertNotIn(SECRET, text.error)
        self.assertNotIn('Sm5-k3y%2Fwith%2Bodd%3Dchars', text.error)
        self.assertIn(f'apikey={MASK}', text.error)

    @with_transaction()
    def test_secret_write_only(self):
        """Over RPC the key reads masked, its stored field not at all; the
        mask written back changes nothing, a new key is the one sent"""
        Gateway = Pool().get('rsoft.notify.sms.gateway')
        gateway = self.gateway(
            'http://127.0.0.1/send', method='get', auth='none',
            parameters='apikey={secret}\nto={to}\nmsg={text}')
        with Transaction().set_context(_check_access=True):
            read, = Gateway.read([gateway.id], ['secret'])
            self.assertEqual(read['secret'], '••••••hars')
            with self.assertRaises(AccessError):
                Gateway.read([gateway.id], ['secret_store'])
            with self.assertRaises(AccessError):
                Gateway.search([('secret_store', '=', SECRET)])
            with self.assertRaises(AccessError):
                Gateway.write([gateway], {'secret_store': 'n3w'})
            Gateway.write([gateway], {'secret': read['secret']})
        self.assertEqual(Gateway(gateway.id).secret_value('secret'), SECRET)

        with Transaction().set_context(_check_access=True):
            Gateway.write([gateway], {'secret': 'n3w-k3y'})
            read, = Gateway.read([gateway.id], ['secret'])
        self.assertEqual(read['secret'], MASK)
        parameters = Gateway(gateway.id).request_parameters(
            '+91 98450 12345', "Hello", None, None)
        self.assertEqual(parameters['apikey'], 'n3w-k3y')

    @with_transaction()
    def test_smtp_down(self):
        "No mail server: the e-mail waits for a retry"
        Notification = Pool().get('rsoft.notify.notification')
        self.event()
        email = self.notify(self.party(mobile=None))['email']
        with MailServer():
            # Nobody listens on that port
            config.set('email', 'uri', f'smtp://127.0.0.1:{free_port()}')
            Notification.send([email])
        self.assertEqual((email.state, email.attempts), ('queued', 1))
        self.assertIn('mail server cannot be reached', email.error)

    @with_transaction()
    def test_render_failure_logged(self):
        "A value the caller did not give fails the notification, not him"
        Notification = Pool().get('rsoft.notify.notification')
        self.event()
        notifications = self.notify(self.party(), receipt='RCP/1')
        self.assertEqual(
            {n.state for n in notifications.values()}, {'failed'})
        self.assertIn("'amount' is undefined", notifications['sms'].error)
        Notification.send(list(notifications.values()))

    @with_transaction()
    def test_preview(self):
        "The preview renders the sample values and counts the SMS"
        pool = Pool()
        Preview = pool.get('rsoft.notify.template.preview', type='wizard')
        Start = pool.get('rsoft.notify.template.preview.start')
        event = self.event()
        email, sms = sorted(event.templates, key=lambda t: t.channel)
        for template, expected in [
                (email, "Receipt RCP/0042"), (sms, None)]:
            with Transaction().set_context(
                    active_model='rsoft.notify.template',
                    active_id=template.id, active_ids=[template.id]):
                session_id, start, _ = Preview.create()
                result = Preview.execute(session_id, {}, start)
                Preview.delete(session_id)
            defaults = result['view']['defaults']
            self.assertEqual(defaults['subject'], expected)
            self.assertIsNone(defaults['error'])
        self.assertEqual(defaults['body'],
            "Rs 236.00 received, receipt RCP/0042. RSoft Cable")
        self.assertEqual(
            (defaults['encoding'], defaults['length'], defaults['segments']),
            ('gsm7', 49, 1))

        start = Start(template=sms, values='{"amount": 10}')
        start.on_change_values()
        self.assertIn("'receipt' is undefined", start.error)
        start.values = '[1, 2]'
        start.on_change_values()
        self.assertIn('JSON object', start.error)

    @with_transaction()
    def test_gateway_parameters_checked(self):
        "A placeholder the gateway does not know is refused"
        with self.assertRaises(GatewayValidationError):
            self.gateway('http://127.0.0.1/send', parameters='to={mobile}')
        with self.assertRaises(GatewayValidationError):
            self.gateway('ftp://127.0.0.1/send')

    def test_sms_measure(self):
        "SMS length and segments: GSM-7 and UCS-2"
        self.assertEqual(sms_measure('a' * 160), ('gsm7', 160, 1))
        self.assertEqual(sms_measure('a' * 161), ('gsm7', 161, 2))
        self.assertEqual(sms_measure('€' * 80), ('gsm7', 160, 1))
        self.assertEqual(sms_measure('क' * 70), ('ucs2', 70, 1))
        self.assertEqual(sms_measure('क' * 71), ('ucs2', 71, 2))
        self.assertEqual(sms_measure('क' * 135), ('ucs2', 135, 3))
        self.assertEqual(sms_measure(''), ('gsm7', 0, 0))


del ModuleTestCase
