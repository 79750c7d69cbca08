"The steps of complaints and work orders: checked, then logged"
from trytond.i18n import gettext
from trytond.model import Workflow
from trytond.pool import Pool


class ServiceWorkflow(Workflow):
    """A transition not in _transitions is refused with a message, not
    skipped as Workflow.transition does: a portal must hear why

    A model names its events' field (_event_field) and the error it
    raises (_state_error, with the message _state_message)."""
    __slots__ = ()
    _event_field = None
    _state_error = None
    _state_message = None

    @classmethod
    def copy(cls, records, default=None):
        "A copy is a new one: its own number, clock and history"
        default = default.copy() if default is not None else {}
        for name in cls._system_fields:
            default.setdefault(name)
        return super().copy(records, default=default)

    @classmethod
    def check_state(cls, records, states, action):
        "Refuse action (a message id) on the records not in states"
        for record in records:
            if record.state not in states:
                cls._raise_state(record, action)

    @classmethod
    def _raise_state(cls, record, action):
        raise cls._state_error(gettext(cls._state_message,
                record=record.rec_name, state=record.state_string,
                action=gettext(action)))

    @classmethod
    def _enter(cls, records, state, action, description=None, **values):
        """Move records to state, logging action (a message id), or refuse
        them all if one may not go there; description is a text or a
        function of the record"""
        for record in records:
            if (record.state, state) not in cls._transitions:
                cls._raise_state(record, action)
        for record in records:
            text = description(record) if callable(description) else (
                description)
            cls._log([record], action, record.state, state, text)
        if records:
            cls.write(list(records), {'state': state, **values})

    @classmethod
    def _log(cls, records, action, before, after, description=None):
        "Append an event of action (a message id) to each record"
        pool = Pool()
        Event = pool.get('rsoft.service.event')
        states = dict(cls._fields['state'].selection)
        Event.record([{
                    cls._event_field: r.id,
                    'lco': r.lco.id if r.lco else None,
                    'action': gettext(action),
                    'before': states.get(before, before),
                    'after': states.get(after, after),
                    'description': description,
                    } for r in records])
