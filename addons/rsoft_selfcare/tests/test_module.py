from unittest.mock import patch

from email_validator import EmailNotValidError

from trytond import config
from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.web_user.exceptions import UserValidationError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


def undeliverable(email):
    # What email_validator answers when DNS cannot be asked
    raise EmailNotValidError(
        "The domain name portal.example.com does not accept email.")


class SelfcareModuleTestCase(CompanyTestMixin, ModuleTestCase):
    "Test the selfcare module"
    module = 'rsoft_selfcare'

    def create_web_user(self, email):
        WebUser = Pool().get('web.user')
        user, = WebUser.create([{'email': email}])
        return user

    @with_transaction()
    def test_email_deliverability_checked(self):
        "By default a login's e-mail domain must take mail"
        with patch('trytond.modules.web_user.user.validate_email',
                undeliverable):
            with self.assertRaises(UserValidationError):
                self.create_web_user('lco-1@portal.example.com')

    @with_transaction()
    def test_email_syntax_only(self):
        "Offline servers check the syntax of a login's e-mail only"
        if not config.has_section('rsoft_selfcare'):
            config.add_section('rsoft_selfcare')
        # set clears trytond's cache of the settings; remove_section not
        self.addCleanup(config.set, 'rsoft_selfcare',
            'check_email_deliverability', config.get(
                'rsoft_selfcare', 'check_email_deliverability',
                default='True'))
        config.set('rsoft_selfcare', 'check_email_deliverability', 'False')
        with patch('trytond.modules.web_user.user.validate_email',
                undeliverable):
            user = self.create_web_user('lco-1@portal.example.com')
            self.assertEqual(user.email, 'lco-1@portal.example.com')
            with self.assertRaises(UserValidationError):
                self.create_web_user('lco-1@portal@example.com')


del ModuleTestCase
