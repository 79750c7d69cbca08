"""What an LCO login may see of this module's models
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    # The devices an LCO holds, in stock or at its subscribers' premises
    'stock.lot': ('lco', 'holder'),
    'stock.move': ('lco', 'lot.holder'),
    'rsoft.device.event': ('lco', 'device.holder'),
    'rsoft.device.swap': ('lco', 'connection.subscriber.lco'),
    'rsoft.device.stock_position': ('lco', 'holder'),
    'rsoft.device.ageing': ('lco', 'holder'),
    # Its own stock location and those of the partners above it
    'stock.location': ('lco', 'rsoft_partner'),
    'rsoft.device.receipt': ('none', "vendor deliveries to the MSO's "
        "warehouse: Pay-TV Administration only"),
    'rsoft.device.receipt.error': ('none', "the refused rows of a "
        "receipt: Pay-TV Administration only"),
    'stock.configuration': ('global', "sequences and default locations; "
        "Tryton lets everyone read it, the stock administrator change it"),
    'stock.configuration.location': ('global', "the default locations of "
        "the stock configuration"),
    'stock.configuration.sequence': ('global', "the shipment sequences of "
        "the stock configuration"),
    'stock.location.lead_time': ('global', "lead times between "
        "warehouses, none of an LCO"),
    'stock.location.waste': ('global', "the waste locations of the "
        "warehouses"),
    'stock.products_by_locations': ('none', "quantities per location "
        "would count other LCOs' stock: stock users only"),
    'stock.lot.trace': ('none', "Tryton's lot tracing: stock users only"),
    'stock.lots_by_locations': ('none', "stock users only"),
    'stock.inventory': ('none', "warehouse counts: stock users only"),
    'stock.inventory.line': ('none', "warehouse counts: stock users only"),
    'stock.period': ('none', "stock periods: stock administrators only"),
    'stock.period.cache': ('none', "stock periods: stock administrators "
        "only"),
    'stock.period.cache.lot': ('none', "stock periods: stock "
        "administrators only"),
    'stock.product_quantities_warehouse': ('none', "warehouse forecasts: "
        "stock users only"),
    'stock.product_quantities_warehouse.move': ('none', "warehouse "
        "forecasts: stock users only"),
    'stock.reporting.inventory': ('none', "stock reporting: stock users "
        "only"),
    'stock.reporting.inventory.daily': ('none', "stock reporting: stock "
        "users only"),
    'stock.reporting.inventory.move': ('none', "stock reporting: stock "
        "users only"),
    'stock.reporting.inventory.turnover': ('none', "stock reporting: "
        "stock users only"),
    'stock.reporting.margin.category': ('none', "margins: stock users "
        "only"),
    'stock.reporting.margin.category.time_series': ('none', "margins: "
        "stock users only"),
    'stock.reporting.margin.category.tree': ('none', "margins: stock "
        "users only"),
    'stock.reporting.margin.main': ('none', "margins: stock users only"),
    'stock.reporting.margin.main.time_series': ('none', "margins: stock "
        "users only"),
    'stock.reporting.margin.product': ('none', "margins: stock users "
        "only"),
    'stock.reporting.margin.product.time_series': ('none', "margins: "
        "stock users only"),
    'stock.shipment.in': ('none', "supplier deliveries: stock users only"),
    'stock.shipment.in.return': ('none', "supplier returns: stock users "
        "only"),
    'stock.shipment.internal': ('none', "allocations and take-backs are "
        "the MSO's: Pay-TV Administration and stock users only"),
    'stock.shipment.out': ('none', "customer shipments: stock users only"),
    'stock.shipment.out.return': ('none', "customer returns: stock users "
        "only"),
    'party.party.location': ('lco', 'party.rsoft_subscribers.lco'),
    'party.party-delivered_to-stock.location': (
        'lco', 'party.rsoft_subscribers.lco'),
    }
