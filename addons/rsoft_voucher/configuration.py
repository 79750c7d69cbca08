"""The settings of the vouchers: lock-out, retention, the PDF sheet and
the accounts; the PIN secret is read from the trytond configuration file"""
import datetime as dt

from trytond import config
from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.modules.company.model import (
    CompanyMultiValueMixin,
    CompanyValueMixin,
)
from trytond.pool import Pool
from trytond.pyson import Eval

from .exceptions import ConfigurationError

ACCOUNTS = {'voucher_journal', 'liability_account', 'expiry_account',
    'discount_account'}


def _account(string, help_, party_required=False):
    domain = [
        ('closed', '!=', True),
        ('type', '!=', None),
        ('company', '=', Eval('context', {}).get('company', -1)),
        ]
    if party_required:
        domain.append(('party_required', '=', True))
    return fields.MultiValue(fields.Many2One(
            'account.account', string, domain=domain, help=help_))


class Configuration(
        ModelSingleton, ModelSQL, ModelView, CompanyMultiValueMixin):
    "How vouchers are generated, guarded, accounted and purged"
    __name__ = 'rsoft.voucher.configuration'
    __string__ = "Voucher Configuration"

    lockout_tries = fields.Integer(
        "Lock-out Tries", required=True,
        domain=[('lockout_tries', '>', 0)],
        help="The wrong PINs an account, an LCO login or a client address "
        "may type within the window before it is refused every try.")
    lockout_window = fields.Integer(
        "Lock-out Window", required=True,
        domain=[('lockout_window', '>', 0)],
        help="In minutes: how far back the wrong tries are counted.")
    retention_days = fields.Integer(
        "Retention Days", required=True,
        domain=[('retention_days', '>=', 0)],
        help="The days an expired, redeemed or blocked voucher keeps its "
        "PIN hash before it is purged.")
    pdf_limit = fields.Integer(
        "PDF Cards", required=True,
        domain=[('pdf_limit', '>=', 0)],
        help="The most cards the PDF sheet of an export shows: a larger "
        "batch is printed from the CSV, which always holds every card.")
    voucher_journal = fields.MultiValue(fields.Many2One(
            'account.journal', "Journal",
            context={
                'company': Eval('context', {}).get('company', -1),
                },
            help="The journal of the moves of allocations, redemptions "
            "and expiries."))
    liability_account = _account(
        "Voucher Liability Account",
        "What the operator owes the holders of the vouchers it sold: "
        "credited by the face value at allocation, debited at "
        "redemption or expiry.", party_required=True)
    expiry_account = _account(
        "Expiry Income Account",
        "The income of the vouchers that expire unused (and the paisa "
        "a product voucher's invoice rounds off).")
    discount_account = _account(
        "Partner Discount Account",
        "The expense of the difference between the face value and the "
        "price to the partner.")

    @classmethod
    def multivalue_model(cls, field):
        pool = Pool()
        if field in ACCOUNTS:
            return pool.get('rsoft.voucher.configuration.account')
        return super().multivalue_model(field)

    @classmethod
    def default_lockout_tries(cls):
        return 5

    @classmethod
    def default_lockout_window(cls):
        return 30

    @classmethod
    def default_retention_days(cls):
        return 365

    @classmethod
    def default_pdf_limit(cls):
        return 1000

    @classmethod
    def default_voucher_journal(cls, **pattern):
        return cls.multivalue_model(
            'voucher_journal').default_voucher_journal()

    def get_account(self, name, company):
        "Return the account or journal name of company, refusing none"
        value = self.get_multivalue(name, company=company.id)
        if not value:
            raise ConfigurationError(gettext(
                    'rsoft_voucher.msg_configuration_missing',
                    field=self.__names__(name)['field'],
                    company=company.rec_name))
        return value

    @classmethod
    def pin_secret(cls):
        """Return the key of the PINs' HMAC, from [rsoft_voucher]
        pin_secret of the trytond configuration file

        Never stored in the database: a dump of it holds no way to test
        a PIN. Changing it makes every PIN unredeemable."""
        secret = config.get('rsoft_voucher', 'pin_secret', default='')
        if not secret or len(secret) < 16:
            raise ConfigurationError(gettext(
                    'rsoft_voucher.msg_pin_secret_missing'))
        return secret.encode()

    @classmethod
    def now(cls):
        """Return the time the attempts and redemptions are stamped with
        (naive UTC, to the second): the one clock of the module, tests
        set it"""
        return dt.datetime.now(dt.timezone.utc).replace(
            tzinfo=None, microsecond=0)


class ConfigurationAccount(ModelSQL, CompanyValueMixin):
    "The voucher accounts of a company"
    __name__ = 'rsoft.voucher.configuration.account'
    __string__ = "Voucher Configuration Account"

    voucher_journal = fields.Many2One(
        'account.journal', "Journal",
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    liability_account = fields.Many2One(
        'account.account', "Voucher Liability Account",
        domain=[
            ('closed', '!=', True),
            ('type', '!=', None),
            ('party_required', '=', True),
            ('company', '=', Eval('company', -1)),
            ])
    expiry_account = fields.Many2One(
        'account.account', "Expiry Income Account",
        domain=[
            ('closed', '!=', True),
            ('type', '!=', None),
            ('company', '=', Eval('company', -1)),
            ])
    discount_account = fields.Many2One(
        'account.account', "Partner Discount Account",
        domain=[
            ('closed', '!=', True),
            ('type', '!=', None),
            ('company', '=', Eval('company', -1)),
            ])

    @classmethod
    def default_voucher_journal(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id('account', 'journal_miscellaneous')
        except KeyError:
            return None
