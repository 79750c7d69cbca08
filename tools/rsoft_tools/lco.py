"""The LCOs' wallets of the demo operator, when rsoft_lco is activated

Andheri Cable Services and Jayanagar Cable Vision pay the MSO in advance
(Rs 50,000 each, received by bank transfer); Dadar Digital Cable too, but
its wallet is nearly empty (Rs 300): its next sale is refused, naming the
amount missing. Kothrud Cable Network buys on credit up to Rs 25,000. The
others settle monthly without a wallet. Sales made before the wallets
were opened are not charged to them. Last month, sold without wallets,
is settled with every partner and posted first, when the fiscal year
holds its last day."""
import datetime
from decimal import Decimal

# code: (mode, credit limit, top-up)
WALLETS = {
    'LCO-MUM-01': ('prepaid', 0, 50000),
    'LCO-BLR-01': ('prepaid', 0, 50000),
    'LCO-MUM-02': ('prepaid', 0, 300),
    'LCO-PUN-01': ('credit', 25000, 0),
    }


class LcoLoader:

    def __init__(self, generator):
        self.g = generator

    def run(self):
        g = self.g
        if not g.activated('rsoft_lco') or (
                g.in_transaction(self._loaded)):
            return
        g.in_transaction(self._configure)
        # Last month was sold without wallets: settled as it was
        g.in_transaction(self._settle_last_month)
        g.in_transaction(self._open_wallets)

    def _loaded(self):
        from trytond.pool import Pool
        Partner = Pool().get('rsoft.partner')
        return bool(Partner.search([('wallet_mode', '!=', 'none')], limit=1))

    def _open_wallets(self):
        from trytond.pool import Pool
        pool = Pool()
        Date = pool.get('ir.date')
        Line = pool.get('rsoft.subscription.line')
        Method = pool.get('rsoft.payment.method')
        Partner = pool.get('rsoft.partner')
        TopUp = pool.get('rsoft.lco.top_up')
        partners = {p.code: p for p in Partner.search([
                    ('code', 'in', list(WALLETS)),
                    ])}
        if not partners:
            return
        # What the LCOs sold before their wallets were opened is not theirs
        # to pay: a wallet pays from its opening on
        today = Date.today()
        lines = Line.search([
                ('connection.subscriber.lco', 'in',
                    [p.id for p in partners.values()]),
                ('lco_paid_until', '=', None),
                ('state', 'in', ['active', 'suspended']),
                ])
        if lines:
            Line.write(lines, {'lco_paid_until': today})
        args = []
        for code, (mode, limit, _) in WALLETS.items():
            if code in partners:
                args.extend([[partners[code]], {
                            'wallet_mode': mode,
                            'credit_limit': Decimal(limit),
                            }])
        Partner.write(*args)
        transfer, = Method.search([('kind', '=', 'bank_transfer')], limit=1)
        for code, (_, _, amount) in WALLETS.items():
            if code in partners and amount:
                TopUp.record(partners[code], Decimal(amount), transfer,
                    today, f"NEFT {code}")

    def _configure(self):
        "The accounts of the LCOs' wallets and settlements"
        from trytond.pool import Pool
        pool = Pool()
        Account = pool.get('account.account')
        AccountType = pool.get('account.account.type')
        Configuration = pool.get('rsoft.wallet.configuration')
        company_id = self.g.company_id

        def first(*domain):
            account, = Account.search([
                    ('closed', '!=', True),
                    ('company', '=', company_id),
                    *domain,
                    ], order=[('code', 'ASC'), ('id', 'ASC')], limit=1)
            return account
        # What the LCOs' collectors kept for the MSO, cleared by the
        # settlements
        clearing_type, = AccountType.create([{
                    'name': "LCO Clearing", 'statement': 'balance',
                    'debt': True, 'company': company_id,
                    }])
        clearing, = Account.create([{
                    'name': "LCO Collections Clearing",
                    'type': clearing_type.id, 'company': company_id,
                    }])
        configuration = Configuration(1)
        configuration.lco_charge_account = first(('type.revenue', '=', True))
        configuration.lco_share_account = first(('type.expense', '=', True))
        configuration.lco_collection_account = clearing
        configuration.save()

    def _settle_last_month(self):
        from trytond.pool import Pool
        pool = Pool()
        Date = pool.get('ir.date')
        FiscalYear = pool.get('account.fiscalyear')
        Settlement = pool.get('rsoft.lco.settlement')
        last_month = Date.today().replace(day=1) - datetime.timedelta(days=1)
        if FiscalYear.search([
                    ('company', '=', self.g.company_id),
                    ('start_date', '<=', last_month.replace(day=1)),
                    ('end_date', '>=', last_month),
                    ]):
            Settlement.settle_month(last_month, self.g.company_id, post=True)
