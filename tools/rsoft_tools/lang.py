"""The language of the demo operator: English (India), en_IN

rsoft_catalogue ships it (lang.xml): dates day first, 06/12/2026, and
amounts in lakhs and crores, ₹1,00,000.00. The web client shows the dates
and the amounts of a user in the language of the user; the bills, the
receipts and the reminders of a subscriber in the language of their party.

The database keeps English (en), Tryton's, as its default language: the
texts of the modules are written in it and en_IN reads them through it."""

LANGUAGE = 'en_IN'


def set_language(database, company_id, code=LANGUAGE):
    """Make code the language of the company's party, the default language
    of new parties and the language of the admin and the users without one

    The parties written in bulk, without a language of their own, read the
    default one."""
    from trytond.transaction import Transaction, TransactionError
    extras = {}
    while True:
        try:
            with Transaction().start(database, 0, **extras) as transaction:
                _set_language(company_id, code)
                transaction.commit()
                return
        except TransactionError as exception:
            # Creating the party configuration locks its table
            exception.fix(extras)


def _set_language(company_id, code):
    from trytond.pool import Pool
    pool = Pool()
    Lang = pool.get('ir.lang')
    Company = pool.get('company.company')
    PartyLang = pool.get('party.configuration.party_lang')
    Party = pool.get('party.party')
    User = pool.get('res.user')
    # Not Lang.get: it would fall back on English without en_IN
    lang, = Lang.search([('code', '=', code)])
    # The default of every company (no company): written on the value
    # model itself, as saving the singleton would lock its table and
    # start the transaction again halfway
    defaults = PartyLang.search([('company', '=', None)])
    if defaults:
        PartyLang.write(defaults, {'party_lang': lang.id})
    else:
        PartyLang.create([{'party_lang': lang.id}])
    Party.write([Company(company_id).party], {'lang': lang.id})
    User.write(User.search(['OR',
                ('login', '=', 'admin'),
                ('language', '=', None),
                ]), {
            'language': lang.id,
            })
