"The LCO a notification concerns, when the partner network is activated"
from trytond.model import Index, Model, fields
from trytond.pool import Pool, PoolMeta


class Notification(metaclass=PoolMeta):
    __name__ = 'rsoft.notify.notification'
    lco = fields.Many2One(
        'rsoft.partner', "LCO", readonly=True, ondelete='RESTRICT',
        help="The LCO of the subscriber the message concerns: its users "
        "see the message.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= {'lco'}
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.lco, Index.Equality())))

    @classmethod
    def _prepare(cls, template, party, values, origin, recipient=None):
        row = super()._prepare(template, party, values, origin, recipient)
        lco = cls._lco(party, origin)
        row['lco'] = lco.id if lco else None
        return row

    @classmethod
    def _lco(cls, party, origin):
        """Return the LCO of the subscriber account the notification
        concerns

        The origin names it: an account, or a document of an account
        (payment, invoice, dunning); otherwise the party's accounts, when
        they are all of one LCO."""
        Partner = Pool().get('rsoft.partner')
        if isinstance(origin, Model):
            for record in [origin,
                    getattr(origin, 'subscriber', None),
                    getattr(origin, 'rsoft_subscriber', None)]:
                lco = getattr(record, 'lco', None)
                if isinstance(lco, Partner):
                    return lco
        lcos = {s.lco for s in getattr(party, 'rsoft_subscribers', [])}
        if len(lcos) == 1:
            return lcos.pop()
