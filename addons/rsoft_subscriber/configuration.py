from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Id


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'rsoft.subscriber.configuration'
    __string__ = "Subscriber Configuration"

    subscriber_sequence = fields.Many2One(
        'ir.sequence', "Customer ID Sequence", required=True,
        domain=[
            ('sequence_type', '=',
                Id('rsoft_subscriber', 'sequence_type_subscriber')),
            ],
        help="Numbers the unique customer ID of every new account.")
    phone_country = fields.Char(
        "Phone Country", size=2, required=True,
        help="The ISO country code used to read phone numbers "
        "written without their international prefix.")

    @classmethod
    def default_subscriber_sequence(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        return ModelData.get_id('rsoft_subscriber', 'sequence_subscriber')

    @classmethod
    def default_phone_country(cls):
        return 'IN'
