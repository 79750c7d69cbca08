"""What an LCO login may see of this module's models

tests/test_confinement.py reads DECISIONS of every module and fails for a
model of the pool without one. Each value is one of:
  ('none', why)      the LCO group has no read access at all
  ('lco', path)      confined by record rules to the LCO's subtree; path
                     leads from the record to an rsoft.partner (usable as
                     a search domain: [(path, 'in', partner_ids)])
  ('global', why)    reviewed reference data that holds no LCO's records
  ('user', why)      confined to the logged-in user by Tryton's own rules
"""

DECISIONS = {
    'rsoft.notify.notification': ('lco', 'lco'),
    'rsoft.notify.opt_out': (
        'none', "the MSO's do-not-disturb register, kept by its staff"),
    'rsoft.notify.event': (
        'global', "the kinds of message the system sends, no LCO's data"),
    'rsoft.notify.template': (
        'none', "the MSO's wording, with its DLT registrations"),
    'rsoft.notify.sms.gateway': (
        'none', "gateway credentials: Pay-TV Administration only"),
    'rsoft.notify.configuration': (
        'none', "the MSO's settings of the outbox"),
    }
