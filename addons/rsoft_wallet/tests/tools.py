"Helpers for the tests of the modules that use wallets"
import datetime

from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.pool import Pool


def setup_wallet_accounting(company, today=None):
    """Give company a fiscal year with monthly periods around today, the
    minimal chart of accounts, a "Customer Wallets" liability account and
    the wallet configuration; return that account and the cash account"""
    pool = Pool()
    FiscalYear = pool.get('account.fiscalyear')
    fiscalyear = get_fiscalyear(company, today=today or datetime.date.today())
    fiscalyear.save()
    FiscalYear.create_period([fiscalyear])
    create_chart(company)
    return configure_wallets(company)


def configure_wallets(company):
    """Give company's chart a "Customer Wallets" liability account and
    configure the wallets with it and the cash account; return both"""
    pool = Pool()
    Account = pool.get('account.account')
    Journal = pool.get('account.journal')
    Configuration = pool.get('rsoft.wallet.configuration')
    cash, = Account.search([
            ('code', '=', '1.1.1'),
            ('company', '=', company.id),
            ])
    deferred, = Account.search([
            ('code', '=', '2.2.2'),
            ('company', '=', company.id),
            ])
    wallets, = Account.create([{
                'name': "Customer Wallets",
                'code': '2.2.5',
                'type': deferred.type.id,
                'parent': deferred.parent.id,
                'party_required': True,
                'company': company.id,
                }])
    journal, = Journal.search([('code', '=', 'CASH')])
    config = Configuration(1)
    config.wallet_journal = journal
    config.wallet_account = wallets
    config.top_up_account = cash
    config.save()
    return wallets, cash
