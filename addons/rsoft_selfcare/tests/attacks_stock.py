"""The requests LCO A makes with LCO B's records on the routes of
routes_stock.py (the attacker test of test_portal.py walks them)"""


def stock_attacks(case, rule, b):
    """Return {rule path: [(method, URL, form or query)]}

    case is the PortalTestCase, rule the prefix of the rules' paths and b
    the ids of LCO B's records."""
    return {}
