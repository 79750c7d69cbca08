"""Reconciliation: what each CAS holds against what the SMS commanded

Activation comes from the SMS only, so any difference is drift: it is
listed and the SMS's state is sent again. Many differences at once more
likely mean a wrong export or a wrong mapping than a head-end gone
astray: above the system's threshold nothing is sent and an alert is
raised instead."""
import datetime
import json
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval

from .command import PENDING
from .drivers import base


def _products(values):
    return sorted((p['id'], p['start'], p['end']) for p in values)


class Reconciliation(SystemFieldsMixin, Workflow, ModelSQL, ModelView):
    "A comparison of a CAS's devices with the SMS's"
    __name__ = 'rsoft.cas.reconciliation'
    __string__ = "CAS Reconciliation"

    system = fields.Many2One(
        'rsoft.cas.system', "CAS System", required=True,
        states={'readonly': Eval('state') != 'draft'})
    date = fields.DateTime("Date", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('done', "Done"),
            ('stopped', "Stopped"),
            ('skipped', "Skipped"),
            ], "State", required=True, readonly=True, sort=False,
        help="Stopped: too many differences, nothing was re-sent.")
    checked = fields.Integer("Devices Checked", readonly=True)
    drifted = fields.Integer("Devices Drifted", readonly=True)
    rate = fields.Numeric(
        "Drift Rate", digits=(5, 2), readonly=True,
        help="Percentage of the devices checked that differ.")
    threshold = fields.Numeric("Threshold", digits=(5, 2), readonly=True)
    resent = fields.Integer("Commands Sent", readonly=True)
    note = fields.Text("Note", readonly=True)
    drifts = fields.One2Many(
        'rsoft.cas.reconciliation.drift', 'reconciliation', "Drifts",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {
            'date', 'state', 'checked', 'drifted', 'rate', 'threshold',
            'resent', 'note', 'drifts'}
        cls._order = [('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'done'), ('draft', 'stopped'), ('draft', 'skipped')}
        cls._buttons.update({
                'run': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_state():
        return 'draft'

    def get_rec_name(self, name):
        return f'{self.system.rec_name} {self.date or ""}'

    @classmethod
    def run_all(cls):
        "Cron: reconcile every active system"
        pool = Pool()
        System = pool.get('rsoft.cas.system')
        runs = cls.create([{'system': s.id} for s in System.search([])])
        cls.run(runs)

    @classmethod
    @ModelView.button
    def run(cls, runs):
        for run in runs:
            run._run()

    def _run(self):
        pool = Pool()
        Log = pool.get('rsoft.cas.log')
        system = self.system
        self.date = datetime.datetime.now()
        self.threshold = system.drift_threshold
        with system.get_driver() as driver:
            if not driver.capabilities().export:
                self._end('skipped', gettext(
                        'rsoft_cas.msg_reconcile_no_export',
                        system=system.rec_name))
                return
            reported = {s.device: s for s in driver.export_state()}
        drifts, checked = self._compare(reported)
        self.checked = checked
        self.drifted = len({d['address'] for d in drifts})
        self.rate = (Decimal(self.drifted * 100) / checked
            if checked else Decimal(0)).quantize(Decimal('0.01'))
        self.drifts = drifts
        if self.rate > self.threshold:
            note = gettext('rsoft_cas.msg_reconcile_stopped',
                system=system.rec_name, rate=self.rate,
                threshold=self.threshold, drifted=self.drifted,
                checked=checked)
            Log.append([{'system': system.id, 'kind': 'alert',
                        'message': note}])
            self._end('stopped', note)
            return
        self.resent = self._heal(drifts)
        self._end('done', gettext('rsoft_cas.msg_reconcile_done',
                drifted=self.drifted, checked=checked, resent=self.resent))

    def _end(self, state, note):
        self.note = note
        self.save()
        getattr(self.__class__, '_set_' + state)([self])

    @classmethod
    @Workflow.transition('done')
    def _set_done(cls, runs):
        pass

    @classmethod
    @Workflow.transition('stopped')
    def _set_stopped(cls, runs):
        pass

    @classmethod
    @Workflow.transition('skipped')
    def _set_skipped(cls, runs):
        pass

    def _compare(self, reported):
        "Return the drifts (as values) and the number of devices checked"
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Command = pool.get('rsoft.cas.command')
        devices = CasDevice.search([('system', '=', self.system.id)])
        busy = {c.cas_device.id for c in Command.search([
                    ('system', '=', self.system.id),
                    ('state', 'in', list(PENDING)),
                    ('cas_device', '!=', None),
                    ])}
        drifts = []
        known = set()
        for device in devices:
            known.add(device.address)
            # In flight: not drift, just not there yet
            if device.id in busy:
                continue
            state = reported.get(device.address) or base.DeviceState(
                device.address)
            drifts.extend(self._differences(device, state))
        # A box paired with a known card shows up with its pairing only:
        # what matters is an address with products the SMS never gave
        strays = [s for a, s in reported.items()
            if a not in known and s.products]
        for state in strays:
            drifts.append({
                    'address': state.device, 'field': 'unknown',
                    'sms_value': '',
                    'cas_value': json.dumps(
                        [p.as_dict() for p in state.products]),
                    })
        return drifts, len(devices) + len(strays)

    @staticmethod
    def _differences(device, state):
        sms = {
            'products': _products(json.loads(device.products or '[]')),
            'pairing': device.paired_with or '',
            'suspended': bool(device.suspended),
            'blacklisted': bool(device.blacklisted),
            }
        cas = {
            'products': _products([p.as_dict() for p in state.products]),
            'pairing': state.paired_with or '',
            'suspended': bool(state.suspended),
            'blacklisted': bool(state.blacklisted),
            }
        return [{
                'cas_device': device.id, 'address': device.address,
                'field': name, 'sms_value': str(sms[name]),
                'cas_value': str(cas[name]),
                } for name in sms if sms[name] != cas[name]]

    def _heal(self, drifts):
        "Send the SMS's state of the drifted devices again; revoke strays"
        pool = Pool()
        CasDevice = pool.get('rsoft.cas.device')
        Command = pool.get('rsoft.cas.command')
        known = CasDevice.browse(sorted({
                    d['cas_device'] for d in drifts if d.get('cas_device')}))
        commands = CasDevice.command(
            [d.device for d in known], priority='bulk', full=True)
        now = datetime.datetime.now()
        strays = sorted({d['address'] for d in drifts
                if d['field'] == 'unknown'})
        rows = [Command.row(self.system, base.REVOKE, {}, now, 'bulk',
                address=a, key=f'{self.system.code}:{a}:revoke:{self.id}')
            for a in strays]
        commands += Command.enqueue(rows)
        return len(commands)


class Drift(ModelSQL, ModelView):
    "A difference found between the SMS and a CAS"
    __name__ = 'rsoft.cas.reconciliation.drift'
    __string__ = "CAS Drift"

    reconciliation = fields.Many2One(
        'rsoft.cas.reconciliation', "Reconciliation", required=True,
        readonly=True, ondelete='CASCADE')
    cas_device = fields.Many2One(
        'rsoft.cas.device', "CAS Device", readonly=True, ondelete='SET NULL')
    address = fields.Char("Address", readonly=True)
    field = fields.Selection([
            ('products', "Products"),
            ('pairing', "Pairing"),
            ('suspended', "Suspended"),
            ('blacklisted', "Blacklisted"),
            ('unknown', "Unknown to the SMS"),
            ], "Difference", readonly=True)
    sms_value = fields.Text("In the SMS", readonly=True)
    cas_value = fields.Text("In the CAS", readonly=True)
