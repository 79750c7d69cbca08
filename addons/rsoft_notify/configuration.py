from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pool import Pool


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "How notifications are retried and which SMS gateway sends them"
    __name__ = 'rsoft.notify.configuration'
    __string__ = "Notification Configuration"

    max_attempts = fields.Integer(
        "Maximum Attempts", required=True,
        domain=[('max_attempts', '>', 0)],
        help="Tries of a notification before it is listed as failed.")
    retry_delay = fields.Integer(
        "Retry Delay", required=True, domain=[('retry_delay', '>', 0)],
        help="Minutes before the first retry; each retry doubles it.")
    sms_gateway = fields.Many2One(
        'rsoft.notify.sms.gateway', "Default SMS Gateway",
        ondelete='RESTRICT',
        help="Sends the SMS of the templates that name no gateway.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'send_queued': {'icon': 'tryton-launch'},
                })

    @classmethod
    def default_max_attempts(cls):
        return 5

    @classmethod
    def default_retry_delay(cls):
        return 5

    @classmethod
    @ModelView.button
    def send_queued(cls, configurations):
        Pool().get('rsoft.notify.notification').send_queued()
