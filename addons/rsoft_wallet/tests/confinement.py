"""What an LCO login may see of this module's models
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    # lco: the owning partner, or the LCO of the owning account
    'rsoft.wallet': ('lco', 'lco'),
    'rsoft.wallet.entry': ('lco', 'wallet.lco'),
    'rsoft.wallet.configuration': (
        'none', "The MSO's accounts and journal of the wallets"),
    'rsoft.wallet.configuration.account': (
        'none', "The MSO's accounts and journal of the wallets"),
    }
