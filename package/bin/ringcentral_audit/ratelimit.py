"""Client-side pacing for one RingCentral rate-limit group (Heavy: 10 / 60 s; Auth: 5 / 60 s).

RingCentral punishes a request over the limit with a 60 s penalty that every further request
restarts, so the gate never sends one it expects to be refused: it keeps its own sliding log of
sent requests, believes the server's ``X-Rate-Limit-*`` headers when they say less is left (other
clients of the same user spend the same budget), and after a 429 sends nothing until
``Retry-After`` has passed.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Deque, Dict, Mapping, Optional

from .timeutil import format_time, parse_time

# Requests reach the server a little after we log them: widen the window by this much.
SAFETY_SECONDS = 1.0


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

    def export(self, now: float) -> Dict[str, Any]:
        """What the next run must know (limit, window, penalty, recent sends), as JSON."""
        return {
            "limit": self.limit,
            "window": self.window,
            "blocked_until": format_time(self.blocked_until) if self.blocked_until > now else None,
            "sent": [format_time(t) for t in self._sent if t > now - self.window - SAFETY_SECONDS],
        }

    def restore(self, data: Optional[Mapping[str, Any]]) -> None:
        """Take over an earlier run's view, so a run started right after it paces too."""
        if not data:
            return
        self.limit = _int(str(data.get("limit"))) or self.limit
        try:
            self.window = float(data.get("window") or self.window)
        except (TypeError, ValueError):
            pass
        self.blocked_until = max(self.blocked_until, parse_time(data.get("blocked_until")) or 0.0)
        sent = [t for t in (parse_time(v) for v in data.get("sent") or []) if t is not None]
        self._sent = deque(sorted(set(self._sent) | set(sent)))


def _int(value: Optional[str]) -> Optional[int]:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def retry_after(headers: Mapping[str, str], default: float = 60.0) -> float:
    """Seconds from a Retry-After header (delta-seconds); ``default`` when absent or unparsable."""
    value = headers.get("Retry-After")
    try:
        seconds = float(str(value).strip()) if value is not None else default
    except ValueError:
        seconds = default
    return seconds if seconds >= 0 else default
