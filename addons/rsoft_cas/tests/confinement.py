"""What an LCO login may see of this module's models
(the kinds of decision: tests/test_confinement.py)"""

DECISIONS = {
    # Read-only: what the head-end was told about the devices it holds
    'rsoft.cas.device': ('lco', 'device.holder'),
    # Read-only: the commands of its subscribers' connections; group and
    # broadcast commands (no connection) stay the MSO's
    'rsoft.cas.command': ('lco', 'connection.subscriber.lco'),
    'rsoft.cas.system': ('none', "the head-end's connections and "
        "credentials: CAS Administration only"),
    'rsoft.cas.mapping': ('none', "offer to CAS product mapping of the "
        "head-end: CAS Administration only"),
    'rsoft.cas.log': ('none', "one hash chain per CAS of every LCO's "
        "requests and replies: it cannot be split by LCO"),
    'rsoft.cas.message': ('none', "OSD and fingerprint campaigns are the "
        "MSO's, sent to groups or all devices"),
    'rsoft.cas.reconciliation': ('none', "runs over a whole CAS: CAS "
        "Administration only"),
    'rsoft.cas.reconciliation.drift': ('none', "the drifts of a whole "
        "CAS's run: CAS Administration only"),
    }
