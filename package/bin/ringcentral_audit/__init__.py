"""RingCentral Audit Trail collection library.

Knows nothing of splunkd: the modular input helper plugs Splunk's checkpoint store, secure
storage and EventWriter into the small interfaces in :mod:`ringcentral_audit.ports`.
"""

from .sdk_import import register_lazy_package

__version__ = "0.1.0"

register_lazy_package()  # before any module of this package imports the SDK (see sdk_import)
