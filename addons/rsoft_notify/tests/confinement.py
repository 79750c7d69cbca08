"""What an LCO login may see of this module's models
(the kinds of decision: tests/test_confinement.py)"""

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
