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
    }
