"Campaigns: discounts on offers for a time, for all or some LCOs"
from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.modules.rsoft_catalogue.common import RATE_DIGITS
from trytond.pyson import Eval, If

from .exceptions import CampaignError


class Campaign(DeactivableMixin, ModelSQL, ModelView):
    "A discount on the periods of some offers charged between two dates"
    __name__ = 'rsoft.billing.campaign'
    __string__ = "Campaign"

    name = fields.Char("Name", required=True, translate=True)
    start_date = fields.Date(
        "Start Date", required=True,
        domain=[
            If(Eval('end_date'),
                ('start_date', '<=', Eval('end_date')),
                ()),
            ],
        help="The first day of the first period discounted.")
    end_date = fields.Date(
        "End Date",
        help="The last day a discounted period may start; "
        "empty while the campaign runs.")
    discount = fields.Numeric(
        "Discount", digits=RATE_DIGITS, required=True,
        help="The fraction taken off the period price (0.20 = 20%).")
    offers = fields.Many2Many(
        'rsoft.billing.campaign-product.product', 'campaign', 'product',
        "Offers", required=True,
        domain=[('template.rsoft_kind', '!=', None)],
        help="The offers discounted.")
    lcos = fields.Many2Many(
        'rsoft.billing.campaign-rsoft.partner', 'campaign', 'lco', "LCOs",
        domain=[('role', '=', 'lco')],
        help="The LCOs whose subscribers get the discount; empty for all.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('start_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def validate_fields(cls, campaigns, field_names):
        super().validate_fields(campaigns, field_names)
        for campaign in campaigns:
            if not 0 < campaign.discount <= 1:
                raise CampaignError(gettext(
                        'rsoft_billing.msg_campaign_discount',
                        campaign=campaign.rec_name))

    def applies(self, product, lco, date):
        "Tell if the campaign discounts product for lco's subscribers at date"
        return (self.start_date <= date
            and (not self.end_date or date <= self.end_date)
            and product in self.offers
            and (not self.lcos or lco in self.lcos))


class CampaignOffer(ModelSQL):
    __name__ = 'rsoft.billing.campaign-product.product'
    campaign = fields.Many2One(
        'rsoft.billing.campaign', "Campaign", required=True,
        ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Offer", required=True, ondelete='CASCADE')


class CampaignLco(ModelSQL):
    __name__ = 'rsoft.billing.campaign-rsoft.partner'
    campaign = fields.Many2One(
        'rsoft.billing.campaign', "Campaign", required=True,
        ondelete='CASCADE')
    lco = fields.Many2One(
        'rsoft.partner', "LCO", required=True, ondelete='CASCADE')
