"""What an LCO login may see of this module's models
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    # Read-only: the events and titles its subscribers bought; made by
    # buying, cancelled by the MSO
    'rsoft.ppv.purchase': ('lco', 'subscriber.lco'),
    'rsoft.ppv.configuration': (
        'none', "The MSO's purchase sequence and impulse credit limit"),
    }
