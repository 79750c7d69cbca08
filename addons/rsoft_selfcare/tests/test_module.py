from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class SelfcareModuleTestCase(CompanyTestMixin, ModuleTestCase):
    "Test the selfcare module"
    module = 'rsoft_selfcare'


del ModuleTestCase
