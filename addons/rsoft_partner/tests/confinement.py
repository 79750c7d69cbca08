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
    'rsoft.partner': ('lco', 'id'),
    'rsoft.partner.agreement': ('lco', 'partner'),
    'rsoft.partner.configuration': (
        'none', "MSO settings: the default revenue shares"),
    'product.template-rsoft.partner': (
        'global', "the partners an offer is limited to: catalogue data "
        "the MSO sets, read to tell which offers an LCO may sell"),
    }
