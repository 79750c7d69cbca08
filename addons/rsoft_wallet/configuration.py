from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.modules.company.model import (
    CompanyMultiValueMixin,
    CompanyValueMixin,
)
from trytond.pool import Pool
from trytond.pyson import Eval


class Configuration(
        ModelSingleton, ModelSQL, ModelView, CompanyMultiValueMixin):
    __name__ = 'rsoft.wallet.configuration'
    __string__ = "Wallet Configuration"

    wallet_journal = fields.MultiValue(fields.Many2One(
            'account.journal', "Journal",
            context={
                'company': Eval('context', {}).get('company', -1),
                },
            help="The journal of the moves of the wallet entries."))
    wallet_account = fields.MultiValue(fields.Many2One(
            'account.account', "Wallet Account",
            domain=[
                ('closed', '!=', True),
                ('type', '!=', None),
                ('party_required', '=', True),
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="The liability account holding the customers' prepaid "
            "balances, per party."))
    top_up_account = fields.MultiValue(fields.Many2One(
            'account.account', "Top-up Account",
            domain=[
                ('closed', '!=', True),
                ('type', '!=', None),
                ('company', '=', Eval('context', {}).get('company', -1)),
                ],
            help="The cash, bank or clearing account debited by top-ups."))

    @classmethod
    def multivalue_model(cls, field):
        pool = Pool()
        if field in {'wallet_journal', 'wallet_account', 'top_up_account'}:
            return pool.get('rsoft.wallet.configuration.account')
        return super().multivalue_model(field)

    @classmethod
    def default_wallet_journal(cls, **pattern):
        return cls.multivalue_model(
            'wallet_journal').default_wallet_journal()


class ConfigurationAccount(ModelSQL, CompanyValueMixin):
    __name__ = 'rsoft.wallet.configuration.account'
    __string__ = "Wallet Configuration Account"

    wallet_journal = fields.Many2One(
        'account.journal', "Journal",
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    wallet_account = fields.Many2One(
        'account.account', "Wallet Account",
        domain=[
            ('closed', '!=', True),
            ('type', '!=', None),
            ('party_required', '=', True),
            ('company', '=', Eval('company', -1)),
            ])
    top_up_account = fields.Many2One(
        'account.account', "Top-up Account",
        domain=[
            ('closed', '!=', True),
            ('type', '!=', None),
            ('company', '=', Eval('company', -1)),
            ])

    @classmethod
    def default_wallet_journal(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id('account', 'journal_cash')
        except KeyError:
            return None
