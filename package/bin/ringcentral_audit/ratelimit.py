"""Client-side pacing for one RingCentral rate-limit group (Heavy: 10 / 60 s; Auth: 5 / 60 s).

RingCentral punishes a request over the limit with a 60 s penalty that every further request
restarts, so the gate never sends one it expects to be refused: it keeps its own sliding log of
sent requests, believes the server's ``X-Rate-Limit-*`` headers when they say less is left (other
clients of the same user spend the same budget), and after a 429 sends nothing until
``Retry-After`` has passed.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any, Deque, Dict, Mapping, Optional

from .clock import http_date
from .timeutil import format_time, parse_time

# Requests reach the server a little after we log them: widen the window by this much.
SAFETY_SECONDS = 1.0
# The longest a Retry-After is obeyed: RingCentral's penalty is 60 s; a larger value is a proxy's
# or a broken server's, and waiting on it would stall the input past any run.
MAX_RETRY_AFTER = 900.0


class RateGate:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.blocked_until = 0.0
        self._sent: Deque[float] = deque()
        self._remaining: Optional[int] = None
        self._remaining_at = 0.0

    def delay(self, now: float) -> float:
        """Seconds to wait before the next request may be sent."""
        window = self.window + SAFETY_SECONDS
        while self._sent and self._sent[0] <= now - window:
            self._sent.popleft()
        # A restored view from a damaged checkpoint (or a clock set back) cannot hold us longer
        # than one bounded penalty: sends "in the future" are forgotten, a penalty is cut.
        while self._sent and self._sent[-1] > now + SAFETY_SECONDS:
            self._sent.pop()
        self.blocked_until = min(self.blocked_until, now + MAX_RETRY_AFTER)
        wait = self.blocked_until - now
        if len(self._sent) >= self.limit:
            wait = max(wait, self._sent[len(self._sent) - self.limit] + window - now)
        if self._remaining is not None and self._remaining <= 0:
            wait = max(wait, self._remaining_at + window - now)
        return max(0.0, wait)

    def sent(self, now: float) -> None:
        self._sent.append(now)
        if self._remaining is not None:
            self._remaining -= 1

    def observe(self, headers: Mapping[str, str], now: float) -> None:
        """Learn the limit, window and what is left from a response's rate-limit headers."""
        limit = _int(headers.get("X-Rate-Limit-Limit"))
        window = _int(headers.get("X-Rate-Limit-Window"))
        remaining = _int(headers.get("X-Rate-Limit-Remaining"))
        if limit and limit > 0:
            self.limit = limit
        if window and window > 0:
            self.window = float(window)
        if remaining is not None:
            self._remaining = remaining
            self._remaining_at = now

    def penalize(self, retry_after: float, now: float) -> None:
        """A 429: nothing may be sent to this group for ``retry_after`` seconds (that decides)."""
        self.blocked_until = max(self.blocked_until, now + retry_after)
        self._remaining = None

    def cause(self) -> str:
        """Who else may have spent the budget, as a message names it (see budget.SharedGate)."""
        return (
            "another application, or another input of this add-on, using the same RingCentral "
            "user is spending its API budget"
        )

    def export(self, now: float) -> Dict[str, Any]:
        """What the next run must know (limit, window, penalty, recent sends), as JSON."""
        return {
            "limit": self.limit,
            "window": self.window,
            "blocked_until": format_time(self.blocked_until) if self.blocked_until > now else None,
            "sent": [format_time(t) for t in self._sent if t > now - self.window - SAFETY_SECONDS],
        }

    def restore(self, data: Optional[Mapping[str, Any]]) -> None:
        """Take over an earlier run's view, so a run started right after it paces too.

        The view comes from a checkpoint an admin may have edited: values of the wrong type are
        ignored, and delay() lets nothing in it block this group longer than MAX_RETRY_AFTER.
        """
        if not isinstance(data, Mapping):
            return
        limit = _int(data.get("limit"))
        if limit is not None and 0 < limit <= 10000:
            self.limit = limit
        window = data.get("window")
        if isinstance(window, (int, float)) and not isinstance(window, bool):
            if 0 < window <= 3600:
                self.window = float(window)
        blocked = parse_time(data.get("blocked_until"))
        if blocked is not None:
            self.blocked_until = max(self.blocked_until, blocked)  # delay() bounds it
        values = data.get("sent")
        times = [parse_time(v) for v in values] if isinstance(values, list) else []
        sent = {t for t in times if t is not None}
        self._sent = deque(sorted(set(self._sent) | sent))


def _int(value: Any) -> Optional[int]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def retry_after(
    headers: Mapping[str, str], default: float = 60.0, now: Optional[float] = None
) -> float:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110),
    within [0, MAX_RETRY_AFTER]; ``default`` when absent or unreadable."""
    value = headers.get("Retry-After")
    if value is None:
        return default
    text = str(value).strip()
    try:
        seconds: Optional[float] = float(text)
        if seconds is not None and seconds < 0:
            seconds = None  # delay-seconds are never negative: unreadable
    except ValueError:
        # An HTTP-date counts from the answer's own Date (the server's clock) when it has one,
        # so a skewed local clock does not stretch or cut the wait.
        when = http_date(text)
        served = http_date(str(headers.get("Date") or ""))
        origin = served if served is not None else (time.time() if now is None else now)
        seconds = None if when is None else when - origin
    if seconds is None or math.isnan(seconds):
        return default
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
