from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.rsoft_toolkit.guard import AppendOnlyMixin
from trytond.pool import Pool
from trytond.transaction import without_check_access

KINDS = [
    ('state', "State"),
    ('subscription', "Subscription"),
    ]


class Event(AppendOnlyMixin, ModelSQL, ModelView):
    "The who, when and what of every change of an account's state or offers"
    __name__ = 'rsoft.subscriber.event'
    __string__ = "Subscriber Event"
    _append_only_message = 'rsoft_subscriber.msg_event_append_only'

    subscriber = fields.Many2One(
        'rsoft.subscriber', "Subscriber", required=True, readonly=True,
        ondelete='CASCADE')
    connection = fields.Many2One(
        'rsoft.connection', "Connection", readonly=True,
        ondelete='CASCADE')
    line = fields.Many2One(
        'rsoft.subscription.line', "Subscription Line", readonly=True,
        ondelete='CASCADE')
    date = fields.Date(
        "Effective Date", required=True, readonly=True,
        help="The day from which the change applies.")
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    action = fields.Char("Action", required=True, readonly=True)
    before = fields.Char("Before", readonly=True)
    after = fields.Char("After", readonly=True)
    description = fields.Text("Description", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]
        cls.__access__.add('subscriber')

    @classmethod
    def record(cls, vlist):
        """Append events: access rights let nobody write or delete them

        Each value holds subscriber, kind, action and optionally
        connection, line, date (today by default), before, after and
        description."""
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        with without_check_access():
            return cls.create([{'date': today, **v} for v in vlist])
