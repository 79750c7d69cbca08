"""What an LCO login may see of the polls and votes
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    # The rule of poll.xml hides the polls put to other LCOs' subscribers
    'rsoft.poll': (
        'global', "the MSO's polls, read by the LCOs they are put to, "
        "written by Pay-TV Administration only"),
    'rsoft.poll.option': (
        'global', "the answers of the MSO's polls, under the rules of "
        "their polls"),
    # Read through the rules of the accounts (Vote.__access__), written
    # by nobody over RPC
    'rsoft.poll.vote': ('lco', 'subscriber.lco'),
    }
