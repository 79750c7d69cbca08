"""What the portal tests' operator needs for the routes of
routes_stock.py, added to it by create_portal_operator (tools.py)"""


def set_up_stock_fixture(op):
    """Add to op (the operator of create_portal_operator, in its company
    context) the records the tests of routes_stock.py need"""
