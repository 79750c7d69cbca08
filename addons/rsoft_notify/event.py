"Events the other modules raise and the templates that word them"
import re

from jinja2 import TemplateError

from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import NotifyError, TemplateValidationError
from .render import check_syntax, load_sample, render, sms_measure

CATEGORIES = [
    ('receipt', "Receipt"),
    ('alert', "Alert"),
    ('service', "Service"),
    ('promotion', "Promotion"),
    ]
CHANNELS = [
    ('email', "E-mail"),
    ('sms', "SMS"),
    ]
ENCODINGS = [
    (None, ''),
    ('gsm7', "GSM-7"),
    ('ucs2', "UCS-2 (Unicode)"),
    ]
SENDER_ID = re.compile(r'^[A-Za-z0-9]{6}$')
DLT_TEMPLATE_ID = re.compile(r'^\d{1,30}$')


class Event(ModelSQL, ModelView):
    "Something that happened to a subscriber and is worth telling"
    __name__ = 'rsoft.notify.event'
    __string__ = "Notification Event"

    code = fields.Char(
        "Code", required=True,
        help="The name the modules raise the event with.")
    name = fields.Char("Name", required=True, translate=True)
    category = fields.Selection(
        CATEGORIES, "Category", required=True,
        help="Only promotions respect the opt-outs: receipts, alerts and "
        "service messages are always sent.")
    sample = fields.Text(
        "Sample Values",
        help="A JSON object of example values, to preview the templates.")
    templates = fields.One2Many(
        'rsoft.notify.template', 'event', "Templates")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'rsoft_notify.msg_event_code_unique'),
            ]
        cls._order.insert(0, ('code', 'ASC'))

    @classmethod
    def validate_fields(cls, events, field_names):
        super().validate_fields(events, field_names)
        if field_names and 'sample' not in field_names:
            return
        for event in events:
            try:
                load_sample(event.sample)
            except ValueError as e:
                raise TemplateValidationError(gettext(
                        'rsoft_notify.msg_event_sample',
                        event=event.rec_name, error=str(e)))

    def templates_for(self, party):
        """Return the template of each channel for party: in the party's
        language, else without language, else in English"""
        lang = party.lang.code if party and party.lang else None
        by_channel = {}
        for template in self.templates:
            if not template.active:
                continue
            code = template.language.code if template.language else None
            rank = 0 if lang and code == lang else (
                1 if code is None else (2 if code == 'en' else None))
            if rank is None:
                continue
            current = by_channel.get(template.channel)
            if current is None or rank < current[0]:
                by_channel[template.channel] = (rank, template)
        return [t for _, t in sorted(
                by_channel.values(), key=lambda r: r[1].channel)]


class Template(DeactivableMixin, ModelSQL, ModelView):
    "The wording of an event on a channel, in a language"
    __name__ = 'rsoft.notify.template'
    __string__ = "Notification Template"

    event = fields.Many2One(
        'rsoft.notify.event', "Event", required=True, ondelete='CASCADE')
    channel = fields.Selection(CHANNELS, "Channel", required=True)
    language = fields.Many2One(
        'ir.lang', "Language", ondelete='RESTRICT',
        help="Used for the parties of this language; "
        "empty for all the others.")
    subject = fields.Char(
        "Subject", states={'invisible': Eval('channel') != 'email'},
        help="A Jinja2 template, like the body.")
    body = fields.Text(
        "Body", required=True,
        help="A Jinja2 template: {{ party.name }}, the event's values "
        "like {{ amount|amount }} or {{ date|date }}, {% if %} blocks.")
    sender_id = fields.Char(
        "Sender ID", size=6,
        states={'invisible': Eval('channel') != 'sms'},
        help="The 6-character header registered on the DLT platform.")
    dlt_template_id = fields.Char(
        "DLT Template ID",
        states={'invisible': Eval('channel') != 'sms'},
        help="The ID under which this text is registered on the DLT "
        "platform (TCCCPR 2018): the operator drops an SMS without it.")
    sms_gateway = fields.Many2One(
        'rsoft.notify.sms.gateway', "SMS Gateway", ondelete='RESTRICT',
        states={'invisible': Eval('channel') != 'sms'},
        help="Empty: the default gateway of the configuration.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('event', 'ASC'), ('channel', 'ASC'), ('id', 'ASC')]
        cls._buttons.update({
                'preview': {'icon': 'tryton-print'},
                })

    @classmethod
    def default_channel(cls):
        return 'email'

    def get_rec_name(self, name):
        channel = dict(CHANNELS)[self.channel]
        language = self.language.name if self.language else '*'
        return f'{self.event.rec_name} ({channel}, {language})'

    @classmethod
    def validate_fields(cls, templates, field_names):
        super().validate_fields(templates, field_names)
        for template in templates:
            template.check_syntax()
            template.check_required()
            template.check_dlt()

    @classmethod
    def validate(cls, templates):
        super().validate(templates)
        for template in templates:
            template.check_unique()

    def check_syntax(self):
        for field in ['subject', 'body']:
            try:
                check_syntax(getattr(self, field))
            except TemplateError as e:
                raise TemplateValidationError(gettext(
                        'rsoft_notify.msg_template_syntax',
                        template=self.rec_name,
                        field=self.__names__(field)['field'],
                        line=getattr(e, 'lineno', '') or '', error=str(e)))

    def check_required(self):
        if self.channel == 'email' and not self.subject:
            raise TemplateValidationError(gettext(
                    'rsoft_notify.msg_template_subject',
                    template=self.rec_name))

    def check_dlt(self):
        if self.channel != 'sms':
            return
        if not SENDER_ID.match(self.sender_id or ''):
            raise TemplateValidationError(gettext(
                    'rsoft_notify.msg_template_sender_id',
                    template=self.rec_name))
        if not DLT_TEMPLATE_ID.match(self.dlt_template_id or ''):
            raise TemplateValidationError(gettext(
                    'rsoft_notify.msg_template_dlt_id',
                    template=self.rec_name))

    def check_unique(self):
        if not self.active:
            return
        others = self.search([
                ('id', '!=', self.id),
                ('event', '=', self.event.id),
                ('channel', '=', self.channel),
                ('language', '=',
                    self.language.id if self.language else None),
                ], limit=1)
        if others:
            raise TemplateValidationError(gettext(
                    'rsoft_notify.msg_template_unique',
                    template=self.rec_name))

    def render(self, values, party=None, lang=None):
        """Return the subject and the body for values and party

        Dates and amounts are written as lang, else the party's language,
        else the template's, else the language of the context.
        Raise jinja2.TemplateError on an undefined name."""
        pool = Pool()
        Company = pool.get('company.company')
        context = {}
        company = Transaction().context.get('company')
        if company:
            context['company'] = Company(company)
        context['party'] = party
        context.update(values)
        # The party may be the stand-in dict of a preview
        lang = lang or getattr(party, 'lang', None) or self.language
        subject = None
        if self.channel == 'email':
            subject = render(self.subject, context, lang)
            subject = ' '.join(subject.split())
        return subject, render(self.body, context, lang)

    @classmethod
    @ModelView.button_action('rsoft_notify.wizard_template_preview')
    def preview(cls, templates):
        pass


class TemplatePreview(Wizard):
    "Render a template with the sample values of its event"
    __name__ = 'rsoft.notify.template.preview'

    start = StateView(
        'rsoft.notify.template.preview.start',
        'rsoft_notify.template_preview_start_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            Button("Send Test", 'send', 'tryton-launch',
                states={'readonly': ~Eval('party')}),
            ])
    send = StateTransition()

    def default_start(self, fields):
        Start = Pool().get('rsoft.notify.template.preview.start')
        start = Start(
            template=self.record, party=None,
            values=self.record.event.sample or '{}')
        start.on_change_values()
        defaults = {
            name: getattr(start, name)
            for name in [
                'channel', 'values', 'subject', 'body', 'error', 'encoding',
                'length', 'segments']}
        defaults['template'] = self.record.id
        return defaults

    def transition_send(self):
        "Queue the template for the party, to see it as they will"
        Notification = Pool().get('rsoft.notify.notification')
        try:
            values = load_sample(self.start.values)
        except ValueError as e:
            raise NotifyError(gettext(
                    'rsoft_notify.msg_preview_error', error=str(e)))
        Notification.queue([self.record], self.start.party, values)
        return 'end'


class TemplatePreviewStart(ModelView):
    "Template Preview"
    __name__ = 'rsoft.notify.template.preview.start'

    template = fields.Many2One(
        'rsoft.notify.template', "Template", readonly=True)
    channel = fields.Selection(CHANNELS, "Channel", readonly=True)
    party = fields.Many2One(
        'party.party', "Party",
        help="Render for this party; empty: the party of the values, "
        "if any.")
    values = fields.Text(
        "Values", help="A JSON object; change it to see the text change.")
    subject = fields.Char(
        "Subject", readonly=True,
        states={'invisible': Eval('channel') != 'email'})
    body = fields.Text("Body", readonly=True)
    error = fields.Text(
        "Error", readonly=True, states={'invisible': ~Eval('error')})
    encoding = fields.Selection(
        ENCODINGS, "Encoding", readonly=True,
        states={'invisible': Eval('channel') != 'sms'})
    length = fields.Integer(
        "Length", readonly=True,
        states={'invisible': Eval('channel') != 'sms'},
        help="Characters of the SMS as the network counts them: "
        "GSM-7 extension characters like € or { count twice.")
    segments = fields.Integer(
        "Segments", readonly=True,
        states={'invisible': Eval('channel') != 'sms'},
        help="SMS billed: 160 GSM-7 or 70 UCS-2 characters fit in one, "
        "153 or 67 per part beyond.")

    @fields.depends('template', 'party', 'values')
    def on_change_values(self):
        self.subject = self.body = self.error = None
        self.encoding = self.length = self.segments = None
        if not self.template:
            return
        self.channel = self.template.channel
        try:
            values = load_sample(self.values)
            self.subject, self.body = self.template.render(
                values, self._party(values))
        except (ValueError, TemplateError) as e:
            self.error = gettext(
                'rsoft_notify.msg_preview_error',
                error=f'{type(e).__name__}: {e}')
            return
        if self.channel == 'sms':
            self.encoding, self.length, self.segments = sms_measure(
                self.body)

    @fields.depends('template', 'party', 'values')
    def on_change_party(self):
        self.on_change_values()

    def _party(self, values):
        "The party, or a stand-in with the sample's party values"
        if self.party:
            return self.party
        return values.get('party', {'name': ''})
