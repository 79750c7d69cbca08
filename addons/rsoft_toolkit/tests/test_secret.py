"""The one way to keep a secret: its mask and its setter

The models that keep secrets (the Razorpay and SMS gateways, the CAS
systems) test them over RPC in their own modules."""
import unittest

from trytond.modules.rsoft_toolkit.secret import MASK, SecretMixin, mask


class Vault(SecretMixin):
    "A model of one secret that records what its setter writes"
    _secrets = {'token': 'token_store'}

    def __init__(self, token_store=None):
        self.token_store = token_store

    @classmethod
    def write(cls, records, values):
        cls.written.append((records, values))


class MaskTestCase(unittest.TestCase):
    "How a secret is shown"

    def test_mask(self):
        "No secret shows nothing; a short one no character; a long one four"
        self.assertEqual(MASK, '••••••')
        self.assertEqual(mask(None), '')
        self.assertEqual(mask(''), '')
        self.assertEqual(mask('S3cret!'), '••••••')
        self.assertEqual(mask('a' * 15), '••••••')
        self.assertEqual(mask('rzp_live_9Tq2XbQ7abcdef'), '••••••cdef')
        # The credentials of a CAS are lines: the last ones show
        self.assertEqual(
            mask('user = cas\npassword = 0123456789\n'), '••••••6789')


class SecretTestCase(unittest.TestCase):
    "What the setter writes and the accessor returns"

    def setUp(self):
        super().setUp()
        Vault.written = []

    def test_mask_written_back_changes_nothing(self):
        "The mask shown, or one shown before a change, is no new secret"
        for value in [MASK, mask('rzp_live_9Tq2XbQ7abcdef'), MASK + 'zzzz']:
            Vault.set_secret(['record'], 'token', value)
        self.assertEqual(Vault.written, [])

    def test_new_value_stored(self):
        "A new secret is stored as written; an empty one clears it"
        Vault.set_secret(['record'], 'token', ' new-token ')
        Vault.set_secret(['record'], 'token', '')
        Vault.set_secret(['record'], 'token', None)
        self.assertEqual(Vault.written, [
                (['record'], {'token_store': ' new-token '}),
                (['record'], {'token_store': None}),
                (['record'], {'token_store': None}),
                ])

    def test_reading(self):
        "Users read the mask; the server reads the value"
        vault = Vault('0123456789abcdef')
        self.assertEqual(vault.get_secret('token'), '••••••cdef')
        self.assertEqual(vault.secret_value('token'), '0123456789abcdef')
        self.assertEqual(Vault().get_secret('token'), '')
        self.assertEqual(Vault().secret_value('token'), '')
