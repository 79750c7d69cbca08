"Money an LCO or a joint venture pays in advance, acknowledged by a receipt"
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.rsoft_toolkit.guard import SystemFieldsMixin
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import TopUpError
from .wallet import WALLET_ROLES

STATES = [
    ('draft', "Draft"),
    ('posted', "Posted"),
    ]
_DRAFT = {
    'readonly': Eval('state') != 'draft',
    }


class TopUp(SystemFieldsMixin, Workflow, ModelSQL, ModelView):
    "Money a partner paid into its wallet: numbered, then never changed"
    __name__ = 'rsoft.lco.top_up'
    __string__ = "LCO Top-up"
    _rec_name = 'number'

    number = fields.Char(
        "Receipt Number", readonly=True,
        help="From the receipt sequence, when the top-up is posted.")
    company = fields.Many2One(
        'company.company', "Company", required=True, states=_DRAFT)
    partner = fields.Many2One(
        'rsoft.partner', "Partner", required=True, ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ('role', 'in', list(WALLET_ROLES)),
            ],
        states=_DRAFT,
        help="The LCO or joint venture that paid.")
    date = fields.Date("Date", required=True, states=_DRAFT)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        domain=[('amount', '>', 0)], states=_DRAFT)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    method = fields.Many2One(
        'rsoft.payment.method', "Method", required=True, ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        states=_DRAFT,
        help="How the money came in (cash, bank transfer, gateway): its "
        "account is debited.")
    reference = fields.Char(
        "Reference", states=_DRAFT,
        help="The bank or gateway reference, or the cheque number.")
    entry = fields.Many2One(
        'rsoft.wallet.entry', "Wallet Entry", readonly=True,
        ondelete='RESTRICT',
        help="The entry that credited the wallet; a reversal cancels it.")
    state = fields.Selection(STATES, "State", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'number', 'entry', 'state'}
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {('draft', 'posted')}
        cls._buttons.update({
                'post': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_currency(cls):
        pool = Pool()
        Company = pool.get('company.company')
        company = cls.default_company()
        if company is not None and company >= 0:
            return Company(company).currency.id

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_state(cls):
        return 'draft'

    def get_rec_name(self, name):
        return self.number or str(self.id)

    @classmethod
    def check_modification(cls, mode, top_ups, values=None, external=False):
        super().check_modification(
            mode, top_ups, values=values, external=external)
        if mode in {'write', 'delete'}:
            for top_up in top_ups:
                if top_up.state != 'draft' and (
                        mode == 'delete' or external):
                    raise TopUpError(gettext(
                            'rsoft_lco.msg_top_up_posted',
                            top_up=top_up.rec_name))

    @classmethod
    def copy(cls, top_ups, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('number')
        default.setdefault('entry')
        default.setdefault('state')
        return super().copy(top_ups, default=default)

    @classmethod
    def record(cls, partner, amount, method, date=None, reference=None):
        "Post amount received from partner by method and return the top-up"
        top_up = cls(
            company=partner.company, partner=partner,
            currency=partner.company.currency, amount=amount, method=method,
            date=date or cls.default_date(), reference=reference)
        top_up.save()
        cls.post([top_up])
        return cls(top_up.id)

    @classmethod
    @ModelView.button
    @Workflow.transition('posted')
    def post(cls, top_ups):
        "Number the receipts and credit the partners' wallets"
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        for top_up in top_ups:
            top_up.check_partner()
            top_up.amount = top_up.currency.round(top_up.amount)
            top_up.number = top_up._next_number()
        cls.save(top_ups)
        wallets = Wallet.get_partner_wallets([t.partner for t in top_ups])
        entries = Wallet.top_up([
                (wallet, t.amount, t.date, t._entry_description(), t)
                for wallet, t in zip(wallets, top_ups)])
        for top_up, entry in zip(top_ups, entries):
            top_up.entry = entry
        cls.save(top_ups)

    def check_partner(self):
        if self.partner.wallet_mode == 'none':
            raise TopUpError(gettext(
                    'rsoft_lco.msg_top_up_no_wallet',
                    partner=self.partner.rec_name))
        if self.currency != self.partner.company.currency:
            raise TopUpError(gettext(
                    'rsoft_lco.msg_top_up_currency',
                    partner=self.partner.rec_name))

    def _next_number(self):
        "Return the next number of the receipts of every payment"
        pool = Pool()
        Configuration = pool.get('rsoft.billing.configuration')
        sequence = Configuration(1).payment_sequence
        if not sequence:
            raise TopUpError(gettext('rsoft_lco.msg_top_up_no_sequence'))
        with Transaction().set_context(company=self.company.id):
            return sequence.get()

    def _entry_description(self):
        description = gettext(
            'rsoft_lco.msg_top_up_description',
            number=self.number, method=self.method.rec_name)
        if self.reference:
            description += f' ({self.reference})'
        return description
