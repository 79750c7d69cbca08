"The wallet of an LCO or a joint venture: what it prepaid to the MSO"
from decimal import Decimal

from trytond.model import fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

WALLET_MODES = [
    ('none', "None"),
    ('prepaid', "Prepaid"),
    ('credit', "Credit"),
    ]
# The partners that buy from the MSO for their subscribers
WALLET_ROLES = {'jv', 'lco'}


class Partner(metaclass=PoolMeta):
    __name__ = 'rsoft.partner'

    wallet_mode = fields.Selection(
        WALLET_MODES, "Wallet Mode", required=True,
        states={
            'invisible': ~Eval('role').in_(list(WALLET_ROLES)),
            },
        help="None: the partner is not charged when it serves its "
        "subscribers.\n"
        "Prepaid: activations, renewals, packs and devices are paid from "
        "the money it prepaid.\n"
        "Credit: the same, and its balance may go under zero down to the "
        "credit limit.")
    credit_limit = Monetary(
        "Credit Limit", currency='wallet_currency', digits='wallet_currency',
        required=True,
        domain=[('credit_limit', '>=', 0)],
        states={
            'invisible': Eval('wallet_mode') != 'credit',
            },
        help="How far under zero the balance of a partner on credit "
        "may go.")
    wallet_currency = fields.Function(fields.Many2One(
            'currency.currency', "Wallet Currency"),
        'get_wallet_currency')
    wallet_balance = fields.Function(Monetary(
            "Wallet Balance", currency='wallet_currency',
            digits='wallet_currency',
            states={
                'invisible': Eval('wallet_mode') == 'none',
                },
            help="The money the partner prepaid and has not spent; "
            "negative when it owes."),
        'get_wallet_amounts')
    wallet_available = fields.Function(Monetary(
            "Available", currency='wallet_currency',
            digits='wallet_currency',
            states={
                'invisible': Eval('wallet_mode') == 'none',
                },
            help="What the partner may still spend: the balance, plus the "
            "credit limit when on credit."),
        'get_wallet_amounts')
    wallet_entries = fields.Function(fields.Many2Many(
            'rsoft.wallet.entry', None, None, "Wallet Entries",
            states={
                'invisible': Eval('wallet_mode') == 'none',
                }),
        'get_wallet_entries')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {
            'wallet_currency', 'wallet_balance', 'wallet_available',
            'wallet_entries'}

    @classmethod
    def default_wallet_mode(cls):
        return 'none'

    @classmethod
    def default_credit_limit(cls):
        return Decimal(0)

    def get_wallet_currency(self, name):
        return self.company.currency.id if self.company else None

    @classmethod
    def get_wallet_amounts(cls, partners, names):
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        result = {n: dict.fromkeys(map(int, partners)) for n in names}
        # A partner on a wallet that has not been opened yet has nothing
        # prepaid, and on credit its whole limit left
        for partner in partners:
            if partner.pays_mso:
                if 'wallet_balance' in result:
                    result['wallet_balance'][partner.id] = Decimal(0)
                if 'wallet_available' in result:
                    result['wallet_available'][partner.id] = (
                        partner.credit_limit
                        if partner.wallet_mode == 'credit' else Decimal(0))
        for wallet in Wallet.search([
                    ('partner', 'in', [p.id for p in partners]),
                    ]):
            partner = wallet.partner
            if wallet.currency != partner.company.currency:
                continue
            if 'wallet_balance' in result:
                result['wallet_balance'][partner.id] = wallet.balance
            if 'wallet_available' in result:
                result['wallet_available'][partner.id] = (
                    wallet.balance + wallet.get_overdraft())
        return result

    @classmethod
    def get_wallet_entries(cls, partners, name):
        pool = Pool()
        Entry = pool.get('rsoft.wallet.entry')
        entries = {p.id: [] for p in partners}
        for entry in Entry.search([
                    ('wallet.partner', 'in', list(entries)),
                    ]):
            entries[entry.wallet.partner.id].append(entry.id)
        return entries

    @property
    def pays_mso(self):
        "Whether the partner is charged for what it sells"
        return self.role in WALLET_ROLES and self.wallet_mode != 'none'

    @classmethod
    def charge_wallets(cls, operations):
        """Debit what the partners buy from the MSO and return the entries

        operations is a list of (partner, amount, date, description,
        origin). A partner that cannot pay is refused, naming the amount
        missing, before any entry is written."""
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        operations = [o for o in operations if o[0].pays_mso and o[1] > 0]
        if not operations:
            return []
        wallets = Wallet.get_partner_wallets([o[0] for o in operations])
        return Wallet.debit([
                (wallet, *operation[1:])
                for wallet, operation in zip(wallets, operations)])

    @classmethod
    def refund_wallets(cls, operations):
        """Give back to the partners what a credit note gave back to their
        subscribers and return the entries

        operations is a list of (partner, amount, date, description,
        origin)."""
        pool = Pool()
        Wallet = pool.get('rsoft.wallet')
        operations = [o for o in operations if o[0].pays_mso and o[1] > 0]
        if not operations:
            return []
        wallets = Wallet.get_partner_wallets([o[0] for o in operations])
        return Wallet.refund([
                (wallet, *operation[1:])
                for wallet, operation in zip(wallets, operations)])


class Wallet(metaclass=PoolMeta):
    __name__ = 'rsoft.wallet'

    def get_overdraft(self):
        overdraft = super().get_overdraft()
        if self.partner and self.partner.wallet_mode == 'credit':
            overdraft += self.partner.credit_limit
        return overdraft


class Entry(metaclass=PoolMeta):
    __name__ = 'rsoft.wallet.entry'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + [
            'rsoft.lco.top_up', 'rsoft.subscription.line',
            'rsoft.billing.charge']

    def _get_wallet_account(self):
        if self.wallet.partner:
            account = self._get_lco_configuration('lco_wallet_account')
            if account:
                return account
        return super()._get_wallet_account()

    def _get_counterpart_account(self):
        pool = Pool()
        TopUp = pool.get('rsoft.lco.top_up')
        if not self.wallet.partner:
            return super()._get_counterpart_account()
        if self.kind == 'top_up' and isinstance(self.origin, TopUp):
            return self.origin.method.account
        if self.kind in {'debit', 'refund'}:
            return self._get_configuration(
                'lco_charge_account', self.wallet.company)
        return super()._get_counterpart_account()

    def _get_lco_configuration(self, name):
        pool = Pool()
        Configuration = pool.get('rsoft.wallet.configuration')
        return Configuration(1).get_multivalue(
            name, company=self.wallet.company.id)


class Configuration(metaclass=PoolMeta):
    __name__ = 'rsoft.wallet.configuration'

    lco_wallet_account = fields.MultiValue(fields.Many2One(
            'account.account', "LCO Wallet Account",
            domain=[
                ('closed', '!=', True),
                ('type', '!=', None),
                ('party_required', '=', True),
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="The liability account holding what the LCOs and joint "
            "ventures prepaid, per party; empty uses the wallet account."))
    lco_charge_account = fields.MultiValue(fields.Many2One(
            'account.account', "LCO Charge Account",
            domain=[
                ('closed', '!=', True),
                ('type', '!=', None),
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="The account credited by what the LCOs' wallets pay the "
            "MSO: its revenue from the LCOs, or the clearing account of the "
            "LCO settlement."))

    @classmethod
    def multivalue_model(cls, field):
        pool = Pool()
        if field in {'lco_wallet_account', 'lco_charge_account'}:
            return pool.get('rsoft.wallet.configuration.account')
        return super().multivalue_model(field)


class ConfigurationAccount(metaclass=PoolMeta):
    __name__ = 'rsoft.wallet.configuration.account'

    lco_wallet_account = fields.Many2One(
        'account.account', "LCO Wallet Account",
        domain=[
            ('closed', '!=', True),
            ('type', '!=', None),
            ('party_required', '=', True),
            ('company', '=', Eval('company', -1)),
            ])
    lco_charge_account = fields.Many2One(
        'account.account', "LCO Charge Account",
        domain=[
            ('closed', '!=', True),
            ('type', '!=', None),
            ('company', '=', Eval('company', -1)),
            ])

