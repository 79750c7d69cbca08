"""What an LCO login may see of this module's models
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    # Its subscribers' complaints and work orders: lodged, worked and
    # completed by the LCO, never another LCO's
    'rsoft.complaint': ('lco', 'lco'),
    'rsoft.work_order': ('lco', 'lco'),
    # Read-only: the history of its own complaints and orders
    'rsoft.service.event': ('lco', 'lco'),
    # Its own field team; the MSO's technicians stay the MSO's
    'rsoft.technician': ('lco', 'lco'),
    'rsoft.technician-rsoft.service.area': ('lco', 'technician.lco'),
    # Read-only: its own rows of the statistics
    'rsoft.complaint.statistics': ('lco', 'lco'),
    'rsoft.work_order.statistics': ('lco', 'lco'),
    'rsoft.technician.statistics': ('lco', 'lco'),
    'rsoft.service.configuration': ('global', "business hours, windows, "
        "fee offers and the officers told of escalations: read by the "
        "SLA clocks, written by Pay-TV Administration"),
    'rsoft.service.target': ('global', "the SLA targets of the operator, "
        "the same for every LCO: Pay-TV Administration writes them"),
    'rsoft.service.area': ('global', "the areas of the network by PIN "
        "code, shared by the LCOs: Pay-TV Administration writes them"),
    }
