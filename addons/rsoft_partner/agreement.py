from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If

from .exceptions import AgreementError


class Agreement(ModelSQL, ModelView):
    __name__ = 'rsoft.partner.agreement'
    __string__ = "Partner Agreement"

    partner = fields.Many2One(
        'rsoft.partner', "Partner", required=True, ondelete='CASCADE',
        domain=[('role', '!=', 'mso')])
    reference = fields.Char(
        "Reference", help="The number of the signed agreement.")
    start_date = fields.Date(
        "Start Date", required=True,
        domain=[
            If(Eval('start_date') & Eval('end_date'),
                ('start_date', '<=', Eval('end_date')),
                ()),
            ])
    end_date = fields.Date(
        "End Date",
        domain=[
            If(Eval('start_date') & Eval('end_date'),
                ('end_date', '>=', Eval('start_date')),
                ()),
            ],
        help="Leave empty for an agreement without end.")
    ncf_share = fields.Numeric(
        "NCF Share", digits=(16, 4), required=True,
        help="The part of the network capacity fee the partner keeps.")
    pay_channel_share = fields.Numeric(
        "Pay Channel Share", digits=(16, 4), required=True,
        help="The part of the pay channel and pack revenue "
        "the partner keeps.")
    hardware_share = fields.Numeric(
        "Hardware Share", digits=(16, 4), required=True,
        help="The part of the set-top box sale, rental and lease revenue "
        "the partner keeps.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('start_date', 'DESC'))

    @classmethod
    def default_ncf_share(cls):
        pool = Pool()
        Configuration = pool.get('rsoft.partner.configuration')
        return Configuration(1).get_default_share('ncf')

    @classmethod
    def default_pay_channel_share(cls):
        pool = Pool()
        Configuration = pool.get('rsoft.partner.configuration')
        return Configuration(1).get_default_share('pay_channel')

    @classmethod
    def default_hardware_share(cls):
        pool = Pool()
        Configuration = pool.get('rsoft.partner.configuration')
        return Configuration(1).get_default_share('hardware')

    def get_rec_name(self, name):
        name = f'{self.partner.rec_name} @ {self.start_date}'
        if self.reference:
            name = f'[{self.reference}] {name}'
        return name

    @classmethod
    def validate_fields(cls, agreements, field_names):
        super().validate_fields(agreements, field_names)
        for agreement in agreements:
            agreement.check_shares()
        if field_names & {'partner', 'start_date', 'end_date'}:
            for agreement in agreements:
                agreement.check_overlap()

    def check_shares(self):
        for name in ['ncf_share', 'pay_channel_share', 'hardware_share']:
            value = getattr(self, name)
            if not (0 <= value <= 1):
                raise AgreementError(gettext(
                        'rsoft_partner.msg_agreement_share_range',
                        agreement=self.rec_name,
                        field=self.__names__(name)['field']))

    def check_overlap(self):
        domain = [
            ('id', '!=', self.id),
            ('partner', '=', self.partner.id),
            ['OR',
                ('end_date', '=', None),
                ('end_date', '>=', self.start_date),
                ],
            ]
        if self.end_date:
            domain.append(('start_date', '<=', self.end_date))
        others = self.search(domain, limit=1)
        if others:
            other, = others
            raise AgreementError(gettext(
                    'rsoft_partner.msg_agreement_overlap',
                    agreement=self.rec_name, other=other.rec_name))
