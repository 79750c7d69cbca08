"""What an LCO login may see of this module's models
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    'rsoft.subscriber': ('lco', 'lco'),
    'rsoft.connection': ('lco', 'subscriber.lco'),
    'rsoft.subscription.line': ('lco', 'connection.subscriber.lco'),
    'rsoft.subscriber.event': ('lco', 'subscriber.lco'),
    'rsoft.subscriber.configuration': (
        'none', "MSO settings: the customer ID sequence, the phone country"),
    # The parties of LCO B's accounts are hidden from LCO A; those of no
    # account (company, broadcasters, suppliers, partners) stay readable
    'party.party': ('lco', 'rsoft_subscribers.lco'),
    'party.address': ('lco', 'party.rsoft_subscribers.lco'),
    'party.contact_mechanism': ('lco', 'party.rsoft_subscribers.lco'),
    'party.identifier': ('lco', 'party.rsoft_subscribers.lco'),
    'party.party.lang': ('lco', 'party.rsoft_subscribers.lco'),
    'party.party-party.category': ('lco', 'party.rsoft_subscribers.lco'),
    'party.party.account': ('lco', 'party.rsoft_subscribers.lco'),
    'party.contact_mechanism.language': (
        'lco', 'contact_mechanism.party.rsoft_subscribers.lco'),
    'party.address.format': ('global', "the address formats of countries"),
    'party.address.subdivision_type': (
        'global', "the subdivision types of countries"),
    'party.category': ('global', "the party categories"),
    'party.configuration': ('global', "the party settings"),
    'party.configuration.party_sequence': (
        'global', "the sequence of party codes"),
    'party.configuration.party_lang': (
        'global', "the default language of parties"),
    }
