"The outbox and log of the notifications, and the parties' opt-outs"
import datetime
import logging
import mimetypes
import smtplib
from collections import defaultdict
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

import requests
from jinja2 import TemplateError

import trytond.config as config
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.sendmail import get_smtp_server, send_message
from trytond.transaction import Transaction, without_check_access
from trytond.url import host

from .event import CHANNELS
from .exceptions import DeliveryError, NotifyError

logger = logging.getLogger(__name__)

STATES = [
    ('queued', "Queued"),
    ('sent', "Sent"),
    ('failed', "Failed"),
    ('skipped', "Skipped"),
    ('cancelled', "Cancelled"),
    ]
RETRYABLE = {'failed', 'cancelled'}
CANCELLABLE = {'queued', 'failed'}
# The longest wait between two tries, whatever the attempts
MAX_DELAY = datetime.timedelta(days=1)
CONTACT_TYPES = {
    'email': ['email'],
    'sms': ['mobile'],
    }


class Notification(SystemFieldsMixin, ModelSQL, ModelView):
    "A message to a party: queued, then sent or failed, kept as the log"
    __name__ = 'rsoft.notify.notification'
    __string__ = "Notification"

    event = fields.Many2One(
        'rsoft.notify.event', "Event", required=True, readonly=True,
        ondelete='RESTRICT')
    template = fields.Many2One(
        'rsoft.notify.template', "Template", readonly=True,
        ondelete='SET NULL')
    channel = fields.Selection(CHANNELS, "Channel", required=True,
        readonly=True)
    party = fields.Many2One(
        'party.party', "Party", required=True, readonly=True,
        ondelete='RESTRICT')
    recipient = fields.Char(
        "Recipient", readonly=True,
        help="The e-mail address or mobile number it goes to.")
    language = fields.Many2One(
        'ir.lang', "Language", readonly=True, ondelete='SET NULL')
    subject = fields.Char("Subject", readonly=True,
        states={'invisible': Eval('channel') != 'email'})
    body = fields.Text("Body", readonly=True)
    sender_id = fields.Char("Sender ID", readonly=True,
        states={'invisible': Eval('channel') != 'sms'})
    dlt_template_id = fields.Char("DLT Template ID", readonly=True,
        states={'invisible': Eval('channel') != 'sms'})
    sms_gateway = fields.Many2One(
        'rsoft.notify.sms.gateway', "SMS Gateway", readonly=True,
        ondelete='RESTRICT',
        states={'invisible': Eval('channel') != 'sms'},
        help="The gateway of the last attempt.")
    origin = fields.Reference(
        "Origin", selection='get_origin', readonly=True,
        help="The document that raised the notification.")
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    state_string = state.translated('state')
    attempts = fields.Integer("Attempts", required=True, readonly=True)
    next_attempt = fields.DateTime(
        "Next Attempt", readonly=True,
        help="Set after a failed try: it is not sent again before.")
    error = fields.Text(
        "Error", readonly=True,
        help="Why it was skipped, or why the last try failed.")
    reply = fields.Text(
        "Provider Reply", readonly=True,
        help="What the SMS gateway or the mail server answered last.")
    sent_at = fields.Timestamp("Sent", readonly=True)
    attachments = fields.One2Many(
        'ir.attachment', 'resource', "Attachments", readonly=True,
        states={'invisible': Eval('channel') != 'email'},
        help="The files the e-mail carries, e.g. the PDF bill.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The outbox is the log: what was sent, to whom, and what came of
        # it are written by the queue alone
        cls._system_fields |= {
            'event', 'template', 'channel', 'party', 'recipient', 'language',
            'subject', 'body', 'sender_id', 'dlt_template_id',
            'sms_gateway', 'origin', 'state', 'attempts', 'next_attempt',
            'error', 'reply', 'sent_at', 'attachments',
            }
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.state, Index.Equality()),
                    (t.next_attempt, Index.Range(nulls_first=True)),
                    where=t.state == 'queued'),
                Index(t, (t.party, Index.Equality())),
                Index(t, (t.origin, Index.Equality())),
                })
        cls._order = [('id', 'DESC')]
        cls._buttons.update({
                'send_now': {
                    'invisible': Eval('state') != 'queued',
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                'retry': {
                    'invisible': ~Eval('state').in_(list(RETRYABLE)),
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(list(CANCELLABLE)),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_attempts(cls):
        return 0

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def get_origin(cls):
        Model = Pool().get('ir.model')
        return [(None, '')] + Model.get_name_items()

    def get_rec_name(self, name):
        return (f'{self.event.rec_name} → '
            f'{self.recipient or self.party.rec_name}')

    @classmethod
    @without_check_access
    def notify(cls, event, party, values, origin=None, email=None,
            mobile=None, attachments=None):
        """Queue the notifications of the event code for party, rendered
        with values, and return them

        email and mobile, when given, are the recipients instead of the
        party's contact mechanisms; attachments, a list of (file name,
        data), go with the e-mails. A task of the queue 'notify' sends them
        once the transaction is committed."""
        pool = Pool()
        Event = pool.get('rsoft.notify.event')
        events = Event.search([('code', '=', event)], limit=1)
        if not events:
            raise NotifyError(gettext(
                    'rsoft_notify.msg_event_unknown', event=event))
        event, = events
        return cls.queue(event.templates_for(party), party, values, origin,
            recipients={'email': email, 'sms': mobile},
            attachments=attachments)

    @classmethod
    @without_check_access
    def queue(cls, templates, party, values, origin=None, recipients=None,
            attachments=None):
        """Queue a notification of each template for party and return them

        recipients maps a channel to its recipient instead of the party's;
        attachments, a list of (file name, data), go with the e-mails"""
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        recipients = recipients or {}
        notifications = cls.create([
                cls._prepare(template, party, values, origin,
                    recipients.get(template.channel))
                for template in templates])
        if attachments:
            Attachment.create([{
                        'resource': str(notification),
                        'name': name,
                        'type': 'data',
                        'data': data,
                        }
                    for notification in notifications
                    if notification.channel == 'email'
                    for name, data in attachments])
        queued = [n for n in notifications if n.state == 'queued']
        if queued:
            with Transaction().set_context(queue_name='notify'):
                cls.__queue__.send(queued)
        return notifications

    @classmethod
    def _prepare(cls, template, party, values, origin, recipient=None):
        "Return the values of the notification of template for party"
        lang = template.language or party.lang
        row = {
            'event': template.event.id,
            'template': template.id,
            'channel': template.channel,
            'party': party.id,
            'language': lang.id if lang else None,
            'origin': str(origin) if origin else None,
            'state': 'queued',
            'attempts': 0,
            }
        if template.channel == 'sms':
            row['sender_id'] = template.sender_id
            row['dlt_template_id'] = template.dlt_template_id
        try:
            row['subject'], row['body'] = template.render(values, party)
        except TemplateError as e:
            row['state'] = 'failed'
            row['error'] = gettext(
                'rsoft_notify.msg_render_failed', template=template.rec_name,
                error=f'{type(e).__name__}: {e}')
            return row
        row['recipient'] = (cls._normalize(recipient, template.channel)
            if recipient else cls._recipient(party, template.channel))
        if (template.event.category == 'promotion'
                and cls._opted_out(party, template.channel)):
            row['state'] = 'skipped'
            row['error'] = gettext(
                'rsoft_notify.msg_opted_out', party=party.rec_name)
        elif not row['recipient']:
            row['state'] = 'skipped'
            row['error'] = gettext(
                'rsoft_notify.msg_no_email' if template.channel == 'email'
                else 'rsoft_notify.msg_no_mobile', party=party.rec_name)
        return row

    @classmethod
    def _recipient(cls, party, channel):
        mechanism = party.contact_mechanism_get(CONTACT_TYPES[channel])
        if not mechanism:
            return None
        if channel == 'sms':
            return mechanism.value_compact or mechanism.value
        return mechanism.value

    @classmethod
    def _normalize(cls, recipient, channel):
        "Return the recipient as the channel sends to it"
        if channel == 'sms':
            return ''.join(c for c in recipient if c.isdigit() or c == '+')
        return recipient.strip()

    @classmethod
    def _opted_out(cls, party, channel):
        OptOut = Pool().get('rsoft.notify.opt_out')
        return bool(OptOut.search([
                    ('party', '=', party.id),
                    ('channel', '=', channel),
                    ], limit=1))

    @classmethod
    def send_queued(cls):
        "Send the queued notifications that are due"
        now = datetime.datetime.now()
        notifications = cls.search([
                ('state', '=', 'queued'),
                ['OR',
                    ('next_attempt', '=', None),
                    ('next_attempt', '<=', now),
                    ],
                ], order=[('id', 'ASC')])
        cls.send(notifications)

    @classmethod
    @without_check_access
    def send(cls, notifications, force=False):
        """Send the queued notifications that are due, or all the queued
        ones with force; retry the failures later with back-off"""
        pool = Pool()
        Configuration = pool.get('rsoft.notify.configuration')
        configuration = Configuration(1)
        cls.lock(notifications)
        now = datetime.datetime.now()
        # Another task or the cron may have sent them meanwhile
        notifications = [n for n in cls.browse(notifications)
            if n.state == 'queued'
            and (force or not n.next_attempt or n.next_attempt <= now)]
        if not notifications:
            return
        results = {}
        results.update(cls._send_emails(
                [n for n in notifications if n.channel == 'email']))
        results.update(cls._send_sms(
                [n for n in notifications if n.channel == 'sms'],
                configuration))
        cls._save_outcome(notifications, results, configuration)

    @classmethod
    def _save_outcome(cls, notifications, results, configuration):
        "Write the outcome of the attempts and queue the retries"
        now = datetime.datetime.now()
        to_write = []
        retries = defaultdict(list)
        for notification in notifications:
            ok, reply, gateway = results[notification]
            attempts = notification.attempts + 1
            values = {
                'attempts': attempts,
                'sms_gateway': gateway.id if gateway else None,
                }
            if ok:
                values.update(state='sent', sent_at=now, reply=reply,
                    error=None, next_attempt=None)
                logger.info("notification %s sent to %s: %s",
                    notification.id, notification.recipient, reply)
            else:
                values['error'] = reply
                if attempts >= configuration.max_attempts:
                    values.update(state='failed', next_attempt=None)
                else:
                    delay = min(datetime.timedelta(
                            minutes=configuration.retry_delay
                            * 2 ** (attempts - 1)), MAX_DELAY)
                    values['next_attempt'] = now + delay
                    retries[delay].append(notification)
                logger.warning(
                    "notification %s not sent to %s (attempt %s): %s",
                    notification.id, notification.recipient, attempts, reply)
            to_write.extend(([notification], values))
        cls.write(*to_write)
        for delay, records in retries.items():
            with Transaction().set_context(
                    queue_name='notify', queue_scheduled_at=delay):
                cls.__queue__.send(records)

    @classmethod
    def _send_emails(cls, notifications):
        "Return the (sent, reply, gateway) of each e-mail notification"
        results = {}
        if not notifications:
            return results
        from_addr = config.get('email', 'from')
        try:
            server = get_smtp_server(strict=True)
        except (OSError, smtplib.SMTPException) as e:
            reason = gettext(
                'rsoft_notify.msg_smtp_unreachable', error=_error(e))
            return {n: (False, reason, None) for n in notifications}
        try:
            for notification in notifications:
                msg = notification.email_message(from_addr)
                try:
                    server = send_message(
                        msg, from_addr, [notification.recipient],
                        server=server, strict=True) or server
                except (OSError, smtplib.SMTPException) as e:
                    results[notification] = (False, _error(e), None)
                else:
                    results[notification] = (True, gettext(
                            'rsoft_notify.msg_smtp_accepted',
                            reference=msg['Message-ID']), None)
        finally:
            try:
                server.quit()
            except (OSError, smtplib.SMTPException):
                pass
        return results

    def email_message(self, from_addr):
        msg = EmailMessage()
        msg['From'] = from_addr
        msg['To'] = formataddr((self.party.name, self.recipient))
        msg['Subject'] = self.subject
        msg['Date'] = formatdate(localtime=True)
        msg['Message-ID'] = make_msgid(domain=host())
        msg['Auto-Submitted'] = 'auto-generated'
        msg.set_content(self.body)
        for attachment in sorted(self.attachments, key=lambda a: a.id):
            type_, _ = mimetypes.guess_type(attachment.name)
            maintype, subtype = (
                type_ or 'application/octet-stream').split('/', 1)
            msg.add_attachment(bytes(attachment.data), maintype=maintype,
                subtype=subtype, filename=attachment.name)
        return msg

    @classmethod
    def _send_sms(cls, notifications, configuration):
        "Return the (sent, reply, gateway) of each SMS notification"
        results = {}
        with requests.Session() as session:
            for notification in notifications:
                gateway = (
                    notification.template and notification.template.sms_gateway
                    or configuration.sms_gateway)
                if not gateway or not gateway.active:
                    results[notification] = (False, gettext(
                            'rsoft_notify.msg_no_gateway'), None)
                    continue
                try:
                    reply = gateway.send(
                        notification.recipient, notification.body,
                        notification.sender_id, notification.dlt_template_id,
                        session=session)
                except DeliveryError as e:
                    results[notification] = (False, str(e), gateway)
                else:
                    results[notification] = (True, reply, gateway)
        return results

    @classmethod
    @ModelView.button
    def send_now(cls, notifications):
        cls.send(notifications, force=True)

    @classmethod
    @ModelView.button
    def retry(cls, notifications):
        for notification in notifications:
            if notification.state not in RETRYABLE:
                raise NotifyError(gettext(
                        'rsoft_notify.msg_not_retryable',
                        notification=notification.rec_name,
                        state=notification.state_string))
        cls.write(list(notifications), {
                'state': 'queued', 'attempts': 0, 'next_attempt': None,
                })
        with Transaction().set_context(queue_name='notify'):
            cls.__queue__.send(notifications)

    @classmethod
    @ModelView.button
    def cancel(cls, notifications):
        for notification in notifications:
            if notification.state not in CANCELLABLE:
                raise NotifyError(gettext(
                        'rsoft_notify.msg_not_cancellable',
                        notification=notification.rec_name,
                        state=notification.state_string))
        cls.write(list(notifications), {
                'state': 'cancelled', 'next_attempt': None,
                })


def _error(exception):
    "The text of an SMTP or network error"
    if isinstance(exception, smtplib.SMTPResponseException):
        error = exception.smtp_error
        if isinstance(error, bytes):
            error = error.decode('utf-8', 'replace')
        return f'SMTP {exception.smtp_code}: {error}'
    return f'{type(exception).__name__}: {exception}'


class OptOut(ModelSQL, ModelView):
    "A party that does not want promotions on a channel"
    __name__ = 'rsoft.notify.opt_out'
    __string__ = "Notification Opt-out"

    party = fields.Many2One(
        'party.party', "Party", required=True, ondelete='CASCADE')
    channel = fields.Selection(CHANNELS, "Channel", required=True)
    date = fields.Date("Date", required=True,
        help="When the party asked.")
    note = fields.Text("Note", help="How the party asked, e.g. STOP by SMS.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('party_channel_unique', Unique(t, t.party, t.channel),
                'rsoft_notify.msg_opt_out_unique'),
            ]

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    def get_rec_name(self, name):
        return f'{self.party.rec_name} ({dict(CHANNELS)[self.channel]})'
