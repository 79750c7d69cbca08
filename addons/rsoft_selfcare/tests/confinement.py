"""What an LCO login may see of rsoft_selfcare and of the web_user models
it brings (the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    # The portal logins of the LCO's subtree (user.xml's rule); those of
    # no LCO (the subscriber portal's) are the back office's
    'web.user': ('lco', 'rsoft_lco'),
    'web.user.session': (
        'none', "portal session keys and CSRF tokens: not exposed to the "
        "clients, read by the portal's routes only"),
    'web.user.authenticate.attempt': (
        'none', "failed web logins: a system table, not exposed"),
    'web.user-party.party.secondary': ('lco', 'user.rsoft_lco'),
    'rsoft.selfcare.otp': (
        'none', "one-time passwords of the subscriber portal and API: "
        "keyed hashes of the codes, read by the routes only"),
    'rsoft.selfcare.login.attempt': (
        'none', "failed portal logins of every LCO: not exposed to the "
        "clients"),
    }
