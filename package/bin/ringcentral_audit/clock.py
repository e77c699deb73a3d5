"""Time as a dependency, and RingCentral's own clock as the bound of every window.

The forwarder's clock may be wrong (a bad NTP step). A window that ends in RingCentral's future
would move the cursor past records that do not exist yet, so windows end by the earlier of our
clock and RingCentral's, which every answer states in its ``Date`` header.
"""

from __future__ import annotations

import threading
import time
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Optional, Protocol

# The Date header has 1 s resolution and is written before the answer travels: within this much
# our clock is taken to agree with RingCentral's (no window is cut, nothing is logged).
SKEW_TOLERANCE = 2.0
# A difference beyond this is logged with its size (once per run).
SKEW_LOG_THRESHOLD = 5.0


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""

    def sleep(self, seconds: float) -> bool:
        """Wait up to ``seconds``; return False if the wait was cut short by a stop request."""


class SystemClock:
    """Wall-clock time; sleeps end early when ``stop`` is set (SIGTERM between pages)."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.stop = stop or threading.Event()

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> bool:
        if seconds <= 0:
            return not self.stop.is_set()
        return not self.stop.wait(seconds)


def http_date(value: object) -> Optional[float]:
    """Epoch seconds from an HTTP ``Date`` header; None when absent or unparsable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:  # RFC 9110: every HTTP-date is GMT (asctime has no zone)
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


class ServerTime:
    """What RingCentral's answers have shown of its clock during one run.

    ``offset`` is RingCentral's time minus ours, estimated from below (a Date header is truncated
    to the second and written before we read it), so ``now`` never runs ahead of RingCentral.
    """

    def __init__(self) -> None:
        self.offset: Optional[float] = None
        self.asked = False  # a request was sent only to learn the time

    def observe(self, server_date: Optional[float], local_now: float) -> None:
        if server_date is None:
            return
        seen = server_date - local_now
        self.offset = seen if self.offset is None else max(self.offset, seen)

    @property
    def known(self) -> bool:
        return self.offset is not None

    def server_now(self, local_now: float) -> Optional[float]:
        """RingCentral's time (from below), if an answer has shown it this run."""
        return None if self.offset is None else local_now + self.offset

    def now(self, local_now: float) -> float:
        """The latest time both clocks have reached: ours, or RingCentral's if it is behind."""
        if self.offset is None or self.offset >= 0:
            return local_now
        return local_now + self.offset

    def skew(self) -> Optional[float]:
        """How far our clock is ahead (+) or behind (-) RingCentral's, if beyond the threshold."""
        if self.offset is None or abs(self.offset) <= SKEW_LOG_THRESHOLD:
            return None
        return -self.offset
