"""What an LCO login may see of this module's models

tests/test_confinement.py reads DECISIONS of every module and fails for a
model of the pool without one. Each value is one of:
  ('none', why)      the LCO group has no read access at all
  ('lco', path)      confined by record rules to the LCO's subtree; path
                     leads from the record to an rsoft.partner (usable as
                     a search domain: [(path, 'in', partner_ids)])
  ('global', why)    reviewed reference data that holds no LCO's records
  ('user', why)      confined to the logged-in user by Tryton's own rules
"""

DECISIONS = {
    'rsoft.wallet': ('lco', 'subscriber.lco'),
    'rsoft.wallet.entry': ('lco', 'wallet.subscriber.lco'),
    'rsoft.wallet.configuration': (
        'none', "The MSO's accounts and journal of the wallets"),
    'rsoft.wallet.configuration.account': (
        'none', "The MSO's accounts and journal of the wallets"),
    }
