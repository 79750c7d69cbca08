"""What an LCO login may see of rsoft_lco
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    # Its own receipts, read-only: it never credits its own wallet
    'rsoft.lco.top_up': ('lco', 'partner'),
    }
