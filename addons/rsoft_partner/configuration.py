from decimal import Decimal

from trytond.model import ModelSingleton, ModelSQL, ModelView, fields

# TRAI Interconnection Regulations 2017: when MSO and LCO have not agreed
# otherwise, the NCF is shared 55:45.
DEFAULT_NCF_SHARE = Decimal('0.45')


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'rsoft.partner.configuration'
    __string__ = "Partner Configuration"

    default_ncf_share = fields.Numeric(
        "Default NCF Share", digits=(16, 4), required=True,
        help="The part of the NCF an LCO keeps when its agreement "
        "says nothing (TRAI default: 45%).")
    default_pay_channel_share = fields.Numeric(
        "Default Pay Channel Share", digits=(16, 4), required=True,
        help="The part of pay channel revenue an LCO keeps "
        "without an agreement.")
    default_hardware_share = fields.Numeric(
        "Default Hardware Share", digits=(16, 4), required=True,
        help="The part of hardware revenue an LCO keeps "
        "without an agreement.")

    @classmethod
    def default_default_ncf_share(cls):
        return DEFAULT_NCF_SHARE

    @classmethod
    def default_default_pay_channel_share(cls):
        return Decimal(0)

    @classmethod
    def default_default_hardware_share(cls):
        return Decimal(0)

    def get_default_share(self, kind):
        return getattr(self, f'default_{kind}_share')
