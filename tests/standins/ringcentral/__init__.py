"""A stand-in for RingCentral's Audit Trail API (test equipment; never shipped in package/).

from tests.standins.ringcentral import RingCentralStandIn, FakeClock, generate_history

clock = FakeClock()
records = generate_history(500, end=clock.now())
with RingCentralStandIn(records=records, clock=clock) as rc:
    ...  # rc.base_url, rc.client_id, rc.client_secret, rc.jwt
"""

from .clock import DEFAULT_START, FakeClock, RealClock, SkewedClock
from .history import format_ms, format_time, generate_history, parse_rfc3339_us
from .server import FAULT_KINDS, JWT_GRANT, RingCentralStandIn

__all__ = [
    "DEFAULT_START",
    "FAULT_KINDS",
    "JWT_GRANT",
    "FakeClock",
    "RealClock",
    "RingCentralStandIn",
    "SkewedClock",
    "format_ms",
    "format_time",
    "generate_history",
    "parse_rfc3339_us",
]
