"""RingCentral Audit Trail collection library.

Knows nothing of splunkd: the modular input helper plugs Splunk's checkpoint store, secure
storage and EventWriter into the small interfaces in :mod:`ringcentral_audit.ports`.
"""

__version__ = "0.1.0"
