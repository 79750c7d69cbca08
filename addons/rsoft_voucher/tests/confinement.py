"""What an LCO login may see of this module's models
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    # Read-only: the vouchers allocated to it (and to the partners under
    # it) and their history; changed by the wizards and the redemption
    'rsoft.voucher': ('lco', 'partner'),
    'rsoft.voucher.event': ('lco', 'voucher.partner'),
    'rsoft.voucher.template': (
        'global', "The MSO's card designs: value, validity, PIN format; "
        "read by the logins whose vouchers name them"),
    'rsoft.voucher.template-rsoft.partner': (
        'global', "Which partners a card design may be allocated to"),
    'rsoft.voucher.template-rsoft.region': (
        'global', "Which regions a card design is sold in"),
    'rsoft.voucher.batch': (
        'none', "The MSO's generation records, read by Pay-TV "
        "Administration only"),
    'rsoft.voucher.attempt': (
        'none', "The log of redemption tries, read by Pay-TV "
        "Administration only"),
    'rsoft.voucher.configuration': (
        'none', "The MSO's lock-out, retention and accounts"),
    'rsoft.voucher.configuration.account': (
        'none', "The MSO's voucher accounts"),
    }
