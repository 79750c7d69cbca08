"""What an LCO login may see of the core Tryton models no module owns

tests/test_confinement.py reads DECISIONS of every module and fails for a
model of the pool without one. Each value is one of:
  ('none', why)      the LCO group has no read access at all, or the model
                     is not exposed to the clients (no ModelView: read only
                     through the fields of another model, whose access
                     rights and rules then apply)
  ('lco', path)      confined by record rules to the LCO's subtree; path
                     leads from the record to an rsoft.partner (usable as
                     a search domain: [(path, 'in', partner_ids)])
  ('global', why)    reviewed reference data that holds no LCO's records
  ('user', why)      confined to the logged-in user by Tryton's own rules
  ('resource', why)  confined by Tryton to the access of the record it is
                     attached to (ir.attachment, ir.note, ...): the test
                     checks what is attached to LCO B's records
The record rules of this file's 'lco' models and the access rights behind
its 'none' are in addons/rsoft_partner/access_core.xml.
"""

_CLIENT = "metadata the client reads to show its views, menus and actions"
_ACL = "access rights and rules, readable by the client: no records"
_CHART = "the MSO's chart of accounts and taxes, as on every bill"
_ACCOUNT_SETUP = "the MSO's accounting set-up: no LCO's records"
_BOOKS = ("the MSO's books, where every party's balance is read: "
    "LCOs read their bills, not journal entries")
_COUNTRY = "countries, subdivisions and postal codes of the world"
_CURRENCY = "currencies and their rates"
_COMPANY = "the MSO company and its staff"
_PRODUCT = "the catalogue: offers, devices and units are the MSO's"
_SYSTEM = "a system table of the server, not exposed to the clients"
_OWN = "each user's own, by Tryton's rules"
_RESOURCE = "readable only with the record it belongs to, by Tryton"
_THROUGH_USER = ("not exposed to the clients: read through the fields "
    "of res.user, whose rule shows the LCO's subtree and the MSO's staff")

DECISIONS = {
    # -- ir: what the client needs to work
    'ir.action': ('global', _CLIENT),
    'ir.action-res.group': ('global', _CLIENT),
    'ir.action.act_window': ('global', _CLIENT),
    'ir.action.act_window.domain': ('global', _CLIENT),
    'ir.action.act_window.view': ('global', _CLIENT),
    'ir.action.keyword': ('global', _CLIENT),
    'ir.action.report': ('global', _CLIENT),
    'ir.action.url': ('global', _CLIENT),
    'ir.action.wizard': ('global', _CLIENT),
    'ir.calendar.day': ('global', _CLIENT),
    'ir.calendar.month': ('global', _CLIENT),
    'ir.configuration': ('global', _CLIENT),
    'ir.email.template': ('global', "e-mail templates of the actions"),
    'ir.email.template-ir.action.report': (
        'global', "e-mail templates of the actions"),
    'ir.export': ('global', "saved export field lists: no values"),
    'ir.export-res.group': ('global', "saved export field lists"),
    'ir.export-write-res.group': ('global', "saved export field lists"),
    'ir.export.line': ('global', "saved export field lists"),
    'ir.lang': ('global', _CLIENT),
    'ir.message': ('global', _CLIENT),
    'ir.model': ('global', _CLIENT),
    'ir.model.access': ('global', _ACL),
    'ir.model.button': ('global', _CLIENT),
    'ir.model.button-button.reset': ('global', _CLIENT),
    'ir.model.button-res.group': ('global', _ACL),
    'ir.model.button.rule': ('global', _ACL),
    'ir.model.data': ('global', "XML ids of the modules' records"),
    'ir.model.field': ('global', _CLIENT),
    'ir.model.field.access': ('global', _ACL),
    'ir.module': ('global', "the activated modules"),
    'ir.module.config_wizard.item': ('global', "the set-up wizard's steps"),
    'ir.module.dependency': ('global', "the activated modules"),
    'ir.rule': ('global', _ACL),
    'ir.rule.group': ('global', _ACL),
    'ir.rule.group-res.group': ('global', _ACL),
    'ir.sequence': ('global', "numbering of documents"),
    'ir.sequence.strict': ('global', "numbering of documents"),
    'ir.sequence.type': ('global', "numbering of documents"),
    'ir.sequence.type-res.group': ('global', _ACL),
    'ir.translation': ('global', _CLIENT),
    'ir.ui.icon': ('global', _CLIENT),
    'ir.ui.menu': ('global', _CLIENT),
    'ir.ui.menu-res.group': ('global', _ACL),
    'ir.ui.view': ('global', _CLIENT),
    'ir.cache': ('global', "timestamps of the server's caches"),
    'ir.trigger': ('global', "triggers, set up by the MSO"),
    'ir.cron': ('global', "the scheduled actions, set up by the MSO"),
    'ir.cron-company.company': ('global', "the scheduled actions"),
    'ir.cron.log': ('global', "when the scheduled actions ran: times only"),
    # -- ir: the server's own tables and logs
    'ir.trigger.log': ('none', "which records triggered"),
    'ir.queue': ('none', "tasks with the ids and arguments of every LCO"),
    'ir.filestore.queue': ('none', _SYSTEM),
    'ir.session': ('none', _SYSTEM),
    'ir.session.wizard': ('none', _SYSTEM),
    'ir.error': ('none', "errors of the tasks, with their records"),
    'ir.chat.channel': ('none', "Tryton's chat is not used by LCOs"),
    'ir.chat.follower': ('none', "Tryton's chat, read through channels"),
    'ir.chat.message': ('none', "Tryton's chat, read through channels"),
    # -- ir: attached to a record, readable with it
    'ir.attachment': ('resource', _RESOURCE),
    'ir.note': ('resource', _RESOURCE),
    'ir.email': ('resource', _RESOURCE),
    'ir.email.address': ('none', "addresses of the e-mails sent"),
    'ir.model.log': ('resource', _RESOURCE),
    'ir.avatar': ('resource', _RESOURCE),
    'ir.avatar.cache': ('none', "resized avatars, read through ir.avatar"),
    # -- ir and res: the user's own
    'ir.note.read': ('user', _OWN),
    'ir.model.button.click': ('user', _OWN),
    'ir.ui.menu.favorite': ('user', _OWN),
    'ir.ui.view_search': ('user', _OWN),
    'ir.ui.view_tree_optional': ('user', _OWN),
    'ir.ui.view_tree_state': ('user', _OWN),
    'ir.ui.view_tree_width': ('user', _OWN),
    'res.notification': ('user', _OWN),
    'res.user.application': ('user', _OWN),
    'res.user.warning': ('user', _OWN),
    'res.user-ir.action': ('user', _OWN),
    'res.user.device': ('none', _SYSTEM),
    'res.user.login.attempt': ('none', _SYSTEM),
    # -- res: users and groups
    'res.group': ('global', "the groups, names of the access rights"),
    'res.user': ('lco', 'rsoft_partner'),
    'res.user-res.group': ('none', _THROUGH_USER),
    'res.user-company.company': ('none', _THROUGH_USER),
    'res.user-company.employee': ('none', _THROUGH_USER),
    # -- company, country, currency
    'company.company': ('global', _COMPANY),
    'company.company.logo.cache': ('global', _COMPANY),
    'company.company.tax_identifier': ('global', _COMPANY),
    'company.employee': ('global', _COMPANY),
    'country.country': ('global', _COUNTRY),
    'country.organization': ('global', _COUNTRY),
    'country.organization.member': ('global', _COUNTRY),
    'country.postal_code': ('global', _COUNTRY),
    'country.region': ('global', _COUNTRY),
    'country.subdivision': ('global', _COUNTRY),
    'currency.cron': ('global', _CURRENCY),
    'currency.cron-currency.currency': ('global', _CURRENCY),
    'currency.currency': ('global', _CURRENCY),
    'currency.currency.rate': ('global', _CURRENCY),
    # -- product: the catalogue
    'product.category': ('global', _PRODUCT),
    'product.category-customer-account.tax': ('global', _PRODUCT),
    'product.category-supplier-account.tax': ('global', _PRODUCT),
    'product.category.account': ('global', _PRODUCT),
    'product.configuration': ('global', _PRODUCT),
    'product.configuration.default_cost_price_method': (
        'global', _PRODUCT),
    'product.configuration.default_lot_sequence': ('global', _PRODUCT),
    'product.cost_price': ('global', _PRODUCT),
    'product.cost_price.revision': ('global', _PRODUCT),
    'product.cost_price_method': ('global', _PRODUCT),
    'product.identifier': ('global', _PRODUCT),
    'product.list_price': ('global', _PRODUCT),
    'product.price_list': ('global', "LCO price lists, by LCO or region: "
        "prices of the catalogue, not an LCO's records"),
    'product.price_list.line': ('global', "lines of the LCO price lists"),
    'product.product': ('global', _PRODUCT),
    'product.template': ('global', _PRODUCT),
    'product.template-product.category': ('global', _PRODUCT),
    'product.template-product.category.account': ('global', _PRODUCT),
    'product.template-product.category.all': ('global', _PRODUCT),
    'product.uom': ('global', _PRODUCT),
    'product.uom.category': ('global', _PRODUCT),
    # -- account: the chart and set-up are reference data
    'account.account': ('global', _CHART),
    'account.account-account.tax': ('global', _CHART),
    'account.account.template': ('global', _CHART),
    'account.account.template-account.tax.template': ('global', _CHART),
    'account.account.type': ('global', _CHART),
    'account.account.type.template': ('global', _CHART),
    'account.tax': ('global', _CHART),
    'account.tax.code': ('global', _CHART),
    'account.tax.code.line': ('global', _CHART),
    'account.tax.code.line.template': ('global', _CHART),
    'account.tax.code.template': ('global', _CHART),
    'account.tax.group': ('global', _CHART),
    'account.tax.line.template': ('global', _CHART),
    'account.tax.rule': ('global', _CHART),
    'account.tax.rule.line': ('global', _CHART),
    'account.tax.rule.line.template': ('global', _CHART),
    'account.tax.rule.template': ('global', _CHART),
    'account.tax.template': ('global', _CHART),
    'account.configuration': ('global', _ACCOUNT_SETUP),
    'account.configuration.default_account': ('global', _ACCOUNT_SETUP),
    'account.configuration.default_dunning_procedure': (
        'global', _ACCOUNT_SETUP),
    'account.configuration.default_payment_term': (
        'global', _ACCOUNT_SETUP),
    'account.configuration.default_tax_rule': ('global', _ACCOUNT_SETUP),
    'account.configuration.journal': ('global', _ACCOUNT_SETUP),
    'account.configuration.payment_group_sequence': (
        'global', _ACCOUNT_SETUP),
    'account.configuration.payment_reference': ('global', _ACCOUNT_SETUP),
    'account.configuration.payment_sequence': ('global', _ACCOUNT_SETUP),
    'account.configuration.sequence': ('global', _ACCOUNT_SETUP),
    'account.configuration.tax_rounding': ('global', _ACCOUNT_SETUP),
    'account.fiscalyear': ('global', _ACCOUNT_SETUP),
    'account.fiscalyear.invoice_sequence': ('global', _ACCOUNT_SETUP),
    'account.journal': ('global', _ACCOUNT_SETUP),
    'account.journal.period': ('global', _ACCOUNT_SETUP),
    'account.period': ('global', _ACCOUNT_SETUP),
    'account.move.reconcile.write_off': ('global', _ACCOUNT_SETUP),
    # -- account: the books
    'account.move': ('none', _BOOKS),
    'account.move.line': ('none', _BOOKS),
    'account.move.reconciliation': ('none', _BOOKS),
    'account.move.template': ('none', _BOOKS),
    'account.move.template.keyword': ('none', _BOOKS),
    'account.move.line.template': ('none', _BOOKS),
    'account.tax.line': ('none', _BOOKS),
    'account.account.deferral': ('none', _BOOKS),
    'account.account.party': ('none', _BOOKS),
    'account.aged_balance': ('none', _BOOKS),
    'account.general_ledger.account': ('none', _BOOKS),
    'account.general_ledger.account.party': ('none', _BOOKS),
    'account.general_ledger.line': ('none', _BOOKS),
    }
