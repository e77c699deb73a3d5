"""Clocks for the RingCentral stand-in: a fake one tests control, and the real one."""

from __future__ import annotations

import threading
import time
from typing import List

# 2026-06-01T00:00:00Z: a fixed, round start so that tests are reproducible.
DEFAULT_START = 1780272000.0


class FakeClock:
    """A thread-safe clock that moves only when told to.

    Share one instance between the stand-in and the client under test: ``sleep`` returns at once
    after moving time forward, so waits for rate-limit penalties or token expiry cost nothing.
    """

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: List[float] = []  # every sleep() request, in order (for assertions)

    def now(self) -> float:
        """Epoch seconds."""
        with self._lock:
            return self._now

    __call__ = now  # usable wherever a ``time.time``-like callable is expected

    def sleep(self, seconds: float) -> bool:
        """Advance time by ``seconds`` (if positive) instantly; always returns True."""
        with self._lock:
            self.sleeps.append(float(seconds))
            if seconds > 0:
                self._now += float(seconds)
        return True

    def advance(self, seconds: float) -> None:
        """Move time forward (or backward, if negative) by ``seconds``."""
        with self._lock:
            self._now += float(seconds)

    def set(self, epoch: float) -> None:
        """Jump to an absolute time."""
        with self._lock:
            self._now = float(epoch)

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now()!r})"


class RealClock:
    """The wall clock, with the same interface as FakeClock."""

    def now(self) -> float:
        return time.time()

    __call__ = now

    def sleep(self, seconds: float) -> bool:
        if seconds > 0:
            time.sleep(seconds)
        return True

    def __repr__(self) -> str:
        return "RealClock()"


class SkewedClock:
    """Another machine's view of a shared clock: ``base`` shifted by ``offset`` seconds.

    Give it to the collector while the stand-in keeps ``base``: a positive offset is a forwarder
    whose clock runs ahead of RingCentral's. ``offset`` may be changed between runs (NTP fixed it).
    Sleeping moves the shared clock, so both sides see the same time pass.
    """

    def __init__(self, base: FakeClock, offset: float = 0.0) -> None:
        self.base = base
        self.offset = float(offset)

    def now(self) -> float:
        return self.base.now() + self.offset

    __call__ = now

    def sleep(self, seconds: float) -> bool:
        return self.base.sleep(seconds)

    def __repr__(self) -> str:
        return f"SkewedClock(offset={self.offset!r})"
