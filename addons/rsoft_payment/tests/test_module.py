from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class PaymentModuleTestCase(CompanyTestMixin, ModuleTestCase):
    "Test the payment module"
    module = 'rsoft_payment'


del ModuleTestCase
