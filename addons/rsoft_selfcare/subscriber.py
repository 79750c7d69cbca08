"What a subscriber changes of the accounts in the subscriber portal"
from trytond.pool import Pool, PoolMeta


class Subscriber(metaclass=PoolMeta):
    __name__ = 'rsoft.subscriber'

    @classmethod
    def change_contact(cls, accounts, name, value):
        """Write the contact field name (mobile, email) of accounts, as
        their holder asked, and keep the change in the accounts' histories

        The value is checked as every account's is (KYC): a refusal
        raises and nothing is written."""
        pool = Pool()
        Event = pool.get('rsoft.subscriber.event')
        before = {a.id: getattr(a, name) for a in accounts}
        cls.write(list(accounts), {name: value or None})
        label = cls.fields_get([name])[name]['string']
        Event.record([{
                    'subscriber': a.id,
                    'kind': 'contact',
                    'action': label,
                    'before': before[a.id],
                    'after': getattr(cls(a.id), name),
                    } for a in accounts
                if getattr(cls(a.id), name) != before[a.id]])

