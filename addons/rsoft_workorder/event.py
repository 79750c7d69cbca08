from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.modules.rsoft_toolkit.guard import AppendOnlyMixin
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access


class Event(AppendOnlyMixin, ModelSQL, ModelView):
    "The who, when and what of every step of a complaint or a work order"
    __name__ = 'rsoft.service.event'
    __string__ = "Service Event"
    _append_only_message = 'rsoft_workorder.msg_event_append_only'

    complaint = fields.Many2One(
        'rsoft.complaint', "Complaint", readonly=True, ondelete='CASCADE')
    work_order = fields.Many2One(
        'rsoft.work_order', "Work Order", readonly=True, ondelete='CASCADE')
    lco = fields.Many2One(
        'rsoft.partner', "LCO", readonly=True, ondelete='RESTRICT')
    timestamp = fields.DateTime("When", required=True, readonly=True)
    user = fields.Many2One(
        'res.user', "By", readonly=True, ondelete='RESTRICT',
        help="The login that acted; the administrator for scheduled jobs "
        "and portals.")
    action = fields.Char("Action", required=True, readonly=True)
    before = fields.Char("Before", readonly=True)
    after = fields.Char("After", readonly=True)
    description = fields.Text("Description", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.complaint, Index.Equality())),
                Index(t, (t.work_order, Index.Equality())),
                })
        cls._order = [('timestamp', 'DESC'), ('id', 'DESC')]

    @classmethod
    def record(cls, vlist):
        """Append events stamped with the user and the SLA clock's time

        Each value holds complaint or work_order, lco, action and
        optionally before, after and description."""
        pool = Pool()
        Configuration = pool.get('rsoft.service.configuration')
        if not vlist:
            return []
        now = Configuration.now()
        user = Transaction().user or None
        with without_check_access():
            return cls.create([{
                        'timestamp': now, 'user': user, **v} for v in vlist])
