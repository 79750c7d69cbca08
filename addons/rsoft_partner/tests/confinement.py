"""What an LCO login may see of this module's models
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    'rsoft.partner': ('lco', 'id'),
    'rsoft.partner.agreement': ('lco', 'partner'),
    'rsoft.partner.configuration': (
        'none', "MSO settings: the default revenue shares"),
    'product.template-rsoft.partner': (
        'global', "the partners an offer is limited to: catalogue data "
        "the MSO sets, read to tell which offers an LCO may sell"),
    }
