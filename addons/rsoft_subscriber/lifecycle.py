"The states an account and a connection go through, and their history"
from trytond.i18n import gettext
from trytond.model import ModelView, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import DeleteError

STATES = [
    ('draft', "Draft"),
    ('active', "Active"),
    ('suspended', "Suspended"),
    ('terminated', "Terminated"),
    ('archived', "Archived"),
    ]
SUSPENSION_REASONS = [
    (None, ''),
    ('non_payment', "Non-payment"),
    ('customer_request', "Customer request"),
    ('relocation', "Relocation"),
    ('technical', "Technical fault"),
    ('piracy', "Suspected piracy"),
    ('other', "Other"),
    ]
# Set only by the transitions: the guard of system fields refuses them
LIFECYCLE_FIELDS = {
    'state', 'activation_date', 'termination_date', 'suspension_reason',
    'suspension_note'}


def check_readable(Model, records):
    "Refuse as for access the records the user may not even read"
    if Transaction().check_access:
        Model.read([r.id for r in records], ['id'])


class LifecycleMixin(Workflow):
    "draft -> active <-> suspended -> terminated -> archived"
    __slots__ = ()

    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    activation_date = fields.Date("Activation Date", readonly=True)
    termination_date = fields.Date("Termination Date", readonly=True)
    suspension_reason = fields.Selection(
        SUSPENSION_REASONS, "Suspension Reason", readonly=True,
        states={
            'invisible': Eval('state') != 'suspended',
            })
    suspension_note = fields.Char(
        "Suspension Note", readonly=True,
        states={
            'invisible': Eval('state') != 'suspended',
            })

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._transitions |= {
            ('draft', 'active'),
            ('active', 'suspended'),
            ('suspended', 'active'),
            ('active', 'terminated'),
            ('suspended', 'terminated'),
            ('terminated', 'archived'),
            }
        cls._buttons.update({
                'activate': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'suspend': {
                    'invisible': Eval('state') != 'active',
                    'icon': 'tryton-pause',
                    'depends': ['state'],
                    },
                'resume': {
                    'invisible': Eval('state') != 'suspended',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'terminate': {
                    'invisible': ~Eval('state').in_(['active', 'suspended']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'archive': {
                    'invisible': Eval('state') != 'terminated',
                    'icon': 'tryton-archive',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    @ModelView.button_action('rsoft_subscriber.wizard_suspend')
    def suspend(cls, records):
        pass

    @classmethod
    def _date(cls, date=None):
        pool = Pool()
        Date = pool.get('ir.date')
        return date or Date.today()

    @classmethod
    def _enter(cls, records, state, date, description=None, **values):
        """Move records to state from date, logging it

        The state is written here, not by the transition, so that what
        follows in the transition sees it; _event_values says whose the
        events are."""
        pool = Pool()
        Event = pool.get('rsoft.subscriber.event')
        Event.record([{
                    **record._event_values(),
                    'kind': 'state',
                    'action': state,
                    'date': date,
                    'before': record.state,
                    'after': state,
                    'description': description,
                    } for record in records if record.state != state])
        cls.write(records, {'state': state, **values})

    @classmethod
    def _suspension_values(cls, reason, note):
        text = dict(SUSPENSION_REASONS)[reason]
        return {
            'description': f'{text}: {note}' if note else text,
            'suspension_reason': reason,
            'suspension_note': note,
            }

    @classmethod
    def check_delete(cls, records):
        for record in records:
            if record.state != 'draft':
                raise DeleteError(gettext(
                        'rsoft_subscriber.msg_delete_not_draft',
                        record=record.rec_name))

    @classmethod
    def delete(cls, records):
        # Another LCO's record is refused before its history is discussed
        check_readable(cls, records)
        cls.check_delete(records)
        super().delete(records)
