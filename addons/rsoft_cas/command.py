"The outbox: absolute, idempotent commands waiting for their CAS"
import datetime
import json

from sql import Literal

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.rsoft_billing.common import forget
from trytond.modules.rsoft_toolkit.bulk import BulkWriter
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .device import ASPECTS, PRIORITIES, dumps, notify_dispatchers
from .drivers import base
from .exceptions import CasError

ACTIONS = [
    (base.ENTITLE, "Entitle"),
    (base.REVOKE, "Revoke"),
    (base.PAIR, "Pair"),
    (base.UNPAIR, "Unpair"),
    (base.SUSPEND, "Suspend"),
    (base.RESUME, "Resume"),
    (base.BLACKLIST, "Blacklist"),
    (base.OSD, "OSD Message"),
    (base.FINGERPRINT, "Fingerprint"),
    (base.RESET_PIN, "Reset PIN"),
    (base.REFRESH, "Refresh"),
    ]
STATES = [
    ('queued', "Queued"),
    ('sent', "Awaiting Result"),
    ('unknown', "Unknown"),
    ('acked', "Acknowledged"),
    ('rejected', "Rejected"),
    ('failed', "Failed"),
    ('superseded', "Superseded"),
    ('cancelled', "Cancelled"),
    ]
PENDING = {'queued', 'sent', 'unknown'}
RETRYABLE = {'rejected', 'failed', 'unknown', 'cancelled'}
CANCELLABLE = {'queued', 'rejected', 'failed', 'unknown'}
TARGETS = [
    ('device', "Device"),
    ('group', "Group"),
    ('all', "All Devices"),
    ]


class Command(SystemFieldsMixin, ModelSQL, ModelView):
    "A command for a CAS, kept until the CAS has answered it"
    __name__ = 'rsoft.cas.command'
    __string__ = "CAS Command"

    system = fields.Many2One(
        'rsoft.cas.system', "CAS System", required=True, readonly=True,
        ondelete='RESTRICT')
    cas_device = fields.Many2One(
        'rsoft.cas.device', "CAS Device", readonly=True, ondelete='RESTRICT')
    connection = fields.Many2One(
        'rsoft.connection', "Connection", readonly=True, ondelete='SET NULL')
    campaign = fields.Many2One(
        'rsoft.cas.message', "Campaign", readonly=True, ondelete='RESTRICT')
    address = fields.Char(
        "Address", readonly=True,
        help="The card number or chip ID; empty for a group or all.")
    action = fields.Selection(ACTIONS, "Action", required=True, readonly=True)
    action_string = action.translated('action')
    target = fields.Selection(TARGETS, "Target", required=True, readonly=True)
    group = fields.Char("Group", readonly=True,
        help="For a group target: lco:, region: or offer: and its code.")
    payload = fields.Text("Payload", readonly=True)
    key = fields.Char(
        "Key", required=True, readonly=True,
        help="The idempotency key: the CAS applies a key once.")
    sequence = fields.Integer(
        "Sequence", required=True, readonly=True,
        help="The order of the command among those of its device.")
    priority = fields.Selection(
        PRIORITIES, "Priority", required=True, readonly=True,
        help="Express commands (subscriber actions) go before bulk ones.")
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    state_string = state.translated('state')
    attempts = fields.Integer("Attempts", required=True, readonly=True)
    next_attempt = fields.DateTime(
        "Next Attempt", readonly=True,
        help="Set after a failed try: nothing of the device is sent "
        "before.")
    error = fields.Text("Error", readonly=True,
        help="What went wrong, in the CAS's words when it answered.")
    reply = fields.Text("Reply", readonly=True)
    queued_at = fields.Timestamp("Queued", required=True, readonly=True)
    sent_at = fields.Timestamp("Sent", readonly=True)
    done_at = fields.Timestamp("Done", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Only the outbox, its dispatchers and the Retry and Cancel buttons
        # set a command: the CAS applies what it says, once per key
        cls._system_fields |= {
            'system', 'cas_device', 'connection', 'campaign', 'address',
            'action', 'target', 'group', 'payload', 'key', 'sequence',
            'priority', 'state', 'attempts', 'next_attempt', 'error',
            'reply', 'queued_at', 'sent_at', 'done_at'}
        t = cls.__table__()
        cls._sql_constraints += [
            ('key_unique', Unique(t, t.key),
                'rsoft_cas.msg_command_key_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.system, Index.Equality()),
                    (t.state, Index.Equality()),
                    (t.priority, Index.Equality()),
                    (t.id, Index.Range()),
                    where=t.state.in_(list(PENDING))),
                Index(t, (t.cas_device, Index.Equality()),
                    (t.sequence, Index.Range())),
                Index(t, (t.address, Index.Equality())),
                Index(t, (t.connection, Index.Equality())),
                })
        cls._order = [('id', 'DESC')]
        cls._buttons.update({
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

    def get_rec_name(self, name):
        return f'{self.action_string} {self.address or self.target} ' \
            f'#{self.sequence}'

    @property
    def driver_command(self):
        return base.Command(
            key=self.key, sequence=self.sequence, action=self.action,
            device=self.address or '', target=self.target,
            group=self.group or '', payload=json.loads(self.payload or '{}'))

    @classmethod
    def row(cls, system, action, payload, now, priority, address='',
            sequence=0, key=None, **values):
        "Return the values of a new command, to give to enqueue()"
        return {
            'system': system.id,
            'action': action,
            'payload': dumps(payload),
            'address': address,
            'sequence': sequence,
            'key': key or system.key(address, sequence),
            'priority': priority,
            'target': 'device',
            'state': 'queued',
            'attempts': 0,
            'queued_at': now,
            **values,
            }

    @classmethod
    def enqueue(cls, rows, writer=None):
        """Insert the command rows, log them, wake the dispatchers and
        return the ids (browsing 100,000 ids at once costs minutes)"""
        pool = Pool()
        Log = pool.get('rsoft.cas.log')
        if not rows:
            return []
        writer = writer or BulkWriter()
        columns = set().union(*rows)
        rows = [{c: row.get(c) for c in sorted(columns)} for row in rows]
        ids = writer.allocate(cls, len(rows))
        for id_, row in zip(ids, rows):
            row['id'] = id_
        writer.insert(cls, rows)
        Log.append([{
                    'system': row['system'],
                    'kind': 'queued',
                    'command': row['id'],
                    'address': row['address'],
                    'message': ' '.join(filter(None, [
                                row['action'], row['key'], row['payload'],
                                row.get('error')])),
                    } for row in rows], writer)
        notify_dispatchers()
        return ids

    @classmethod
    def supersede(cls, pairs, writer=None):
        """Mark as superseded the queued commands of the (CAS device id,
        aspect) pairs: a newer absolute state replaces them"""
        pool = Pool()
        Log = pool.get('rsoft.cas.log')
        if not pairs:
            return
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        by_aspect = {}
        for device, aspect in pairs:
            by_aspect.setdefault(aspect, set()).add(device)
        found = []
        for aspect, devices in by_aspect.items():
            actions = [a for a, s in ASPECTS.items() if s == aspect]
            cursor.execute(*table.select(
                    table.id, table.system, table.address,
                    where=table.cas_device.in_(sorted(devices))
                    & table.action.in_(actions)
                    & (table.state == 'queued')))
            found.extend(cursor.fetchall())
        if not found:
            return
        cls.set_state([i for i, _, _ in found], 'superseded')
        Log.append([{
                    'system': system, 'kind': 'state', 'command': id_,
                    'address': address, 'message': 'superseded',
                    } for id_, system, address in found], writer)

    @classmethod
    def set_state(cls, ids, state, **values):
        "Set state (and values) of the commands ids in one statement"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        columns = [table.state, table.write_date, table.write_uid]
        new = [state, datetime.datetime.now(), Transaction().user]
        for name, value in values.items():
            columns.append(getattr(table, name))
            new.append(value if value is not None else Literal(None))
        for sub in _slices(ids):
            cursor.execute(*table.update(
                    columns, new, where=table.id.in_(sub)))
        forget(cls, ids)

    @classmethod
    @ModelView.button
    def retry(cls, commands):
        pool = Pool()
        Log = pool.get('rsoft.cas.log')
        for command in commands:
            command.check_retry()
        cls.write(list(commands), {
                'state': 'queued', 'attempts': 0, 'next_attempt': None,
                'error': None,
                })
        Log.append([{
                    'system': c.system.id, 'kind': 'state', 'command': c.id,
                    'address': c.address, 'message': 'retry asked',
                    } for c in commands])
        notify_dispatchers()

    def check_retry(self):
        "Refuse to send an old state after a newer one of the same kind"
        if self.state not in RETRYABLE:
            raise CasError(gettext(
                    'rsoft_cas.msg_command_not_retryable',
                    command=self.rec_name, state=self.state_string))
        if self.cas_device and self.action in ASPECTS:
            actions = [a for a, s in ASPECTS.items()
                if s == ASPECTS[self.action]]
            newer = self.search([
                    ('cas_device', '=', self.cas_device.id),
                    ('action', 'in', actions),
                    ('sequence', '>', self.sequence),
                    ], limit=1)
            if newer:
                raise CasError(gettext(
                        'rsoft_cas.msg_command_replaced',
                        command=self.rec_name, newer=newer[0].rec_name))

    @classmethod
    @ModelView.button
    def cancel(cls, commands):
        pool = Pool()
        Log = pool.get('rsoft.cas.log')
        for command in commands:
            if command.state not in CANCELLABLE:
                raise CasError(gettext(
                        'rsoft_cas.msg_command_not_cancellable',
                        command=command.rec_name,
                        state=command.state_string))
        cls.write(list(commands), {'state': 'cancelled'})
        Log.append([{
                    'system': c.system.id, 'kind': 'state', 'command': c.id,
                    'address': c.address, 'message': 'cancelled',
                    } for c in commands])


def _slices(ids, size=1000):
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i:i + size]
