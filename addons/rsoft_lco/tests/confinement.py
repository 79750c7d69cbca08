"""What an LCO login may see of rsoft_lco
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    # Its own receipts, read-only: it never credits its own wallet
    'rsoft.lco.top_up': ('lco', 'partner'),
    # Its own settlements and their lines, read-only: the administration
    # makes and posts them
    'rsoft.lco.settlement': ('lco', 'partner'),
    'rsoft.lco.settlement.line': ('lco', 'settlement.partner'),
    # Its own revenue rows, read-only: a record rule on the partner
    # hides the rows of other partners and of the partners above it
    'rsoft.lco.revenue': ('lco', 'partner'),
    # The confirmation records of its subscribers' changes, read-only:
    # the subscriber's rules (__access__); only the submission writes them
    'rsoft.subscription.request': ('lco', 'subscriber.lco'),
    'rsoft.subscription.request.line': ('lco', 'request.subscriber.lco'),
    'rsoft.subscription.request-rsoft.channel': (
        'lco', 'request.subscriber.lco'),
    'rsoft.subscription.request-rsoft.cas.command': (
        'lco', 'request.subscriber.lco'),
    }
