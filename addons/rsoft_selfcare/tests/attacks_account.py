"""The requests LCO A makes with LCO B's records on the routes of
routes_account.py and routes_voucher.py (the attacker test of
test_portal.py walks them)"""

LIFECYCLE = ['activate', 'suspend', 'resume', 'terminate', 'renew']


def account_attacks(case, rule, b):
    """Return {rule path: [(method, URL, form or query)]}

    case is the PortalTestCase, rule the prefix of the rules' paths and b
    the ids of LCO B's records."""
    a = case.a['id']
    foreign = [b['subscriber'], b['connection'], b['invoice'], b['payment']]
    attacks = {
        # B's LCO in the form is not taken: the form is refused as it
        # stands (no name, no mobile) and nothing is created for B
        f'{rule}/subscribers/new': [
            ('GET', '/subscribers/new', {'lco': str(b['lco'])}),
            ('POST', '/subscribers/new', {
                    'lco': str(b['lco']), 'company': '0',
                    'name': '', 'mobile': '', 'street': '', 'city': ''}),
            ],
        f'{rule}/renew': [
            ('POST', '/renew', {'subscriber': [str(i)]}) for i in foreign
            ] + [
            # Checked before any is renewed: A's own is not either
            ('POST', '/renew', {
                    'subscriber': [str(a['subscriber']),
                        str(b['subscriber'])]}),
            ],
        f'{rule}/connections/<int:connection>/packs': [
            ('GET', f'/connections/{i}/packs', {})
            for i in [b['connection'], b['subscriber'], b['device']]
            ] + [
            ('POST', f"/connections/{b['connection']}/packs", data)
            for data in [
                {'step': 'quote', 'product': '0'},
                {'step': 'confirm', 'product': '0'},
                {'step': 'stop_quote', 'line': '0'},
                {'step': 'stop', 'line': '0'},
                ]
            ] + [
            # A's connection with lines and offers not its own (ids no
            # record has: another model's ids could be A's own lines)
            ('POST', f"/connections/{a['connection']}/packs", data)
            for data in [
                {'step': 'stop', 'line': '999999'},
                {'step': 'stop_quote', 'line': '0'},
                {'step': 'confirm', 'product': '999999'},
                {'step': 'quote', 'product': '0'},
                ]],
        }
    attacks[f'{rule}/receipts/<int:payment>.pdf'] = [
        ('GET', f'/receipts/{i}.pdf', {}) for i in foreign + [b['device']]]
    # A card for B's accounts, or for A's on B's connection
    attacks[f'{rule}/subscribers/<int:subscriber>/voucher'] = [
        ('POST', f'/subscribers/{i}/voucher', {'pin': '12345678901234'})
        for i in foreign] + [
        ('POST', f"/subscribers/{a['subscriber']}/voucher", {
                'connection': str(b['connection']),
                'pin': '12345678901234'}),
        ]
    for action in LIFECYCLE:
        attacks[f'{rule}/subscribers/<int:subscriber>/{action}'] = [
            (method, f'/subscribers/{i}/{action}', {'reason': 'other'})
            for method in ['GET', 'POST'] for i in foreign]
    return attacks
