"""What an LCO login may see of this module's models
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    'rsoft.region': ('global', "the MSO's territories"),
    'rsoft.channel': ('global', "the channels the MSO carries"),
    'rsoft.channel.mrp': ('global', "the broadcasters' declared MRPs"),
    'rsoft.bouquet': ('global', "the broadcaster and operator bouquets"),
    'rsoft.bouquet-rsoft.channel': ('global', "the contents of bouquets"),
    'rsoft.bouquet-rsoft.bouquet': ('global', "the contents of bouquets"),
    'rsoft.bouquet.price': ('global', "the declared MRPs and DRPs"),
    'product.template-rsoft.region': (
        'global', "the regions an offer is sold in"),
    'rsoft.offer.price': ('global', "the published price list"),
    'rsoft.offer.price.term': ('global', "the prices of longer terms"),
    'rsoft.ncf.rule': ('global', "TRAI's NCF rules as the MSO applies them"),
    'rsoft.ncf.slab': ('global', "the slabs of the NCF rules"),
    'rsoft.tariff.rule': ('global', "the TRAI tariff rules checked on "
        "publishing"),
    }
