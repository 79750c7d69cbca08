from trytond.tests.test_tryton import ModuleTestCase


class ToolkitTestCase(ModuleTestCase):
    "Test the rsoft_toolkit module"
    module = 'rsoft_toolkit'


del ModuleTestCase
