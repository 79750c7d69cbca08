"OSD messages and fingerprints: to one device, a group, or all devices"
import datetime

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .device import LIVE
from .drivers import base
from .exceptions import CampaignError

TARGETS = [
    ('device', "One Device"),
    ('lco', "Subscribers of an LCO"),
    ('region', "Subscribers of a Region"),
    ('offer', "Subscribers of an Offer"),
    ('all', "All Devices"),
    ]


class Campaign(SystemFieldsMixin, Workflow, ModelSQL, ModelView):
    "An on-screen message or a fingerprint sent to devices"
    __name__ = 'rsoft.cas.message'
    __string__ = "OSD / Fingerprint"

    _states = {'readonly': Eval('state') != 'draft'}

    kind = fields.Selection([
            ('osd', "OSD Message"),
            ('fingerprint', "Fingerprint"),
            ], "Kind", required=True, states=_states)
    system = fields.Many2One(
        'rsoft.cas.system', "CAS System", required=True, states=_states)
    target = fields.Selection(
        TARGETS, "Target", required=True, states=_states)
    device = fields.Many2One(
        'stock.lot', "Device", states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('target') == 'device',
            'invisible': Eval('target') != 'device',
            },
        domain=[('device_kind', 'in', ['stb', 'smartcard'])])
    lco = fields.Many2One(
        'rsoft.partner', "LCO", states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('target') == 'lco',
            'invisible': Eval('target') != 'lco',
            })
    region = fields.Many2One(
        'rsoft.region', "Region", states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('target') == 'region',
            'invisible': Eval('target') != 'region',
            })
    offer = fields.Many2One(
        'product.product', "Offer", states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('target') == 'offer',
            'invisible': Eval('target') != 'offer',
            },
        domain=[('template.rsoft_kind', '!=', None)])
    text = fields.Text(
        "Text", states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('kind') == 'osd',
            'invisible': Eval('kind') != 'osd',
            },
        help="What the screen shows; the CAS system limits its length.")
    mode = fields.Selection([
            (None, ''),
            ('overt', "Overt"),
            ('covert', "Covert"),
            ], "Mode", states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('kind') == 'fingerprint',
            'invisible': Eval('kind') != 'fingerprint',
            },
        help="Overt: viewers see the number; covert: only a trained eye "
        "or a capture does.")
    duration = fields.Integer(
        "Duration", required=True, states=_states,
        domain=[('duration', '>', 0)], help="Seconds on screen.")
    repeat = fields.Integer(
        "Repeat", required=True, states=_states,
        domain=[('repeat', '>', 0)], help="How many times it is shown.")
    state = fields.Selection([
            ('draft', "Draft"),
            ('sent', "Sent"),
            ], "State", required=True, readonly=True, sort=False)
    sent_date = fields.DateTime("Sent", readonly=True)
    commands = fields.One2Many(
        'rsoft.cas.command', 'campaign', "Commands", readonly=True)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'state', 'sent_date', 'commands'}
        cls._order = [('id', 'DESC')]
        cls._transitions |= {('draft', 'sent')}
        cls._buttons.update({
                'send': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_kind():
        return 'osd'

    @staticmethod
    def default_target():
        return 'device'

    @staticmethod
    def default_state():
        return 'draft'

    @staticmethod
    def default_duration():
        return 30

    @staticmethod
    def default_repeat():
        return 1

    def get_rec_name(self, name):
        kind = dict(self.fields_get(['kind'])['kind']['selection'])
        return f'{kind[self.kind]} #{self.id}'

    @classmethod
    @ModelView.button
    @Workflow.transition('sent')
    def send(cls, campaigns):
        for campaign in campaigns:
            campaign.check_system()
            campaign._send()
        cls.write(campaigns, {'sent_date': datetime.datetime.now()})

    def check_system(self):
        "Refuse what the CAS system cannot show"
        system = self.system
        if self.kind == 'osd':
            if not system.osd:
                raise CampaignError(gettext(
                        'rsoft_cas.msg_osd_unsupported',
                        system=system.rec_name))
            length = len(self.text or '')
            if system.osd_length and length > system.osd_length:
                raise CampaignError(gettext(
                        'rsoft_cas.msg_osd_too_long',
                        length=length, system=system.rec_name,
                        limit=system.osd_length))
        elif not system.fingerprint:
            raise CampaignError(gettext(
                    'rsoft_cas.msg_fingerprint_unsupported',
                    system=system.rec_name))

    @property
    def payload(self):
        if self.kind == 'osd':
            return {'text': self.text, 'duration': self.duration,
                'repeat': self.repeat}
        return {'mode': self.mode, 'duration': self.duration}

    def _send(self):
        pool = Pool()
        Command = pool.get('rsoft.cas.command')
        action = base.OSD if self.kind == 'osd' else base.FINGERPRINT
        now = datetime.datetime.now()
        if self.target == 'all':
            rows = [Command.row(self.system, action, self.payload, now,
                    'express', key=f'{self.system.code}:all:{action}:'
                    f'{self.id}', target='all', campaign=self.id)]
        else:
            devices = self.target_devices()
            if not devices:
                raise CampaignError(gettext(
                        'rsoft_cas.msg_campaign_no_device',
                        campaign=self.rec_name))
            priority = 'express' if self.target == 'device' else 'bulk'
            sequences = self._next_sequences(devices)
            rows = [Command.row(self.system, action, self.payload, now,
                    priority, address=d.address, sequence=sequences[d.id],
                    cas_device=d.id, campaign=self.id,
                    connection=d.connection.id if d.connection else None)
                for d in devices]
        Command.enqueue(rows)

    def target_devices(self):
        "Return the CAS devices of the target that have a live connection"
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Partner = pool.get('rsoft.partner')
        domain = [('system', '=', self.system.id)]
        if self.target == 'device':
            domain.append(('device', 'in', [self.device.id]
                    + ([self.device.paired_device.id]
                        if self.device.paired_device else [])))
            return CasDevice.search(domain)
        domain += [
            ('connection.state', 'in', list(LIVE)),
            ('blacklisted', '=', False),
            ]
        if self.target == 'lco':
            domain.append(('connection.subscriber.lco', '=', self.lco.id))
        elif self.target == 'region':
            lcos = [p for p in Partner.search([])
                if self.region in _ancestors(p.get_region())]
            domain.append(('connection.subscriber.lco', 'in',
                    [p.id for p in lcos]))
        elif self.target == 'offer':
            domain.append(('connection.lines', 'where', [
                        ('product', '=', self.offer.id),
                        ('state', '=', 'active'),
                        ]))
        return CasDevice.search(domain, order=[('id', 'ASC')])

    @staticmethod
    def _next_sequences(devices):
        "Take the next sequence of each device, in one statement"
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        table = CasDevice.__table__()
        cursor = Transaction().connection.cursor()
        ids = [d.id for d in devices]
        sequences = {}
        for i in range(0, len(ids), 1000):
            sub = ids[i:i + 1000]
            cursor.execute(*table.update(
                    [table.sequence], [table.sequence + 1],
                    where=table.id.in_(sub)))
            cursor.execute(*table.select(
                    table.id, table.sequence, where=table.id.in_(sub)))
            sequences.update(cursor)
        return sequences


def _ancestors(region):
    while region:
        yield region
        region = region.parent
