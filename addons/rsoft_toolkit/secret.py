"""The one way to keep a secret: gateway keys, tokens, CAS credentials

A secret is two fields of the model:

- a Function field that users see and write, which reads as a mask;
  writing a mask back changes nothing, writing '' or None clears it;
- the field that stores it, which no user may read, search or write: the
  module's XML gives it an ir.model.field.access with no group and
  neither read nor write.

Server code reads the value by `record.secret_value(name)`. The model
names its secrets in `_secrets`, each Function field with the field that
stores it:

    key_secret = fields.Function(fields.Char("Key Secret", strip=False),
        'get_secret', setter='set_secret')
    key_secret_value = fields.Char("Key Secret Value", strip=False,
        readonly=True)

    cls._secrets['key_secret'] = 'key_secret_value'"""
__all__ = ['MASK', 'SecretMixin', 'mask']

MASK = '•' * 6
# A secret this long ends its mask with its last characters, to tell which
# one is set as the gateways' dashboards do; a shorter one shows none
SHOWN_FROM, SHOWN = 16, 4


def mask(secret):
    "Return how secret is shown: '' when there is none"
    if not secret:
        return ''
    secret = secret.strip()
    if len(secret) >= SHOWN_FROM:
        return MASK + secret[-SHOWN:]
    return MASK


class SecretMixin:
    __slots__ = ()

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # {Function field: the field that stores it}
        cls._secrets = {}

    def get_secret(self, name):
        return mask(getattr(self, self._secrets[name]))

    @classmethod
    def set_secret(cls, records, name, value):
        # A mask, the current one or one read before a change, is no
        # secret: it was shown back unchanged
        if value and value.startswith(MASK):
            return
        # Tryton calls setters without access checks: the user writes the
        # field that stores the secret only through this one
        cls.write(records, {cls._secrets[name]: value or None})

    def secret_value(self, name):
        "Return the value of secret name, for the server's own use"
        return getattr(self, self._secrets[name]) or ''
