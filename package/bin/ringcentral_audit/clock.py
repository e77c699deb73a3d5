"""Time as a dependency, so that waits for rate limits and retries can be tested without sleeping."""

from __future__ import annotations

import threading
import time
from typing import Protocol


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
