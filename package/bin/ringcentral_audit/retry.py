"""Bounded retries with jittered exponential backoff, for errors that may pass on their own."""

from __future__ import annotations

import random
from typing import Optional


class Backoff:
    """Delay before retry ``n`` (0-based): base * 2**n capped, randomised to between half and all of it."""

    def __init__(
        self,
        attempts: int = 5,
        base: float = 2.0,
        cap: float = 60.0,
        rng: Optional[random.Random] = None,
    ) -> None:
        self.attempts = attempts
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    def delay(self, retry: int) -> float:
        ceiling = min(self.cap, self.base * (2**retry))
        return float(ceiling * self._rng.uniform(0.5, 1.0))
