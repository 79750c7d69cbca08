from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class SubscriberTestCase(CompanyTestMixin, ModuleTestCase):
    "Test the subscriber accounts"
    module = 'rsoft_subscriber'


del ModuleTestCase
