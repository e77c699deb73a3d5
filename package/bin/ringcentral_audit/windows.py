"""Which window a run reads next: ``[cursor - overlap, now - lag)``, frozen, never before retention."""

from __future__ import annotations

from typing import List, NamedTuple, Optional

from .settings import RETENTION_DAYS, InputSettings
from .state import State, Window
from .timeutil import format_time

# Ask for a little less than the full 180 days, so a request is never refused for being too old.
RETENTION_MARGIN = 120.0


class DataLossWarning(NamedTuple):
    reason: str  # history_clamped | checkpoint_expired | retention_cap
    start: float
    end: float
    message: str


class Plan(NamedTuple):
    window: Optional[Window]
    warnings: List[DataLossWarning]


def oldest_available(now: float) -> float:
    return now - RETENTION_DAYS * 86400 + RETENTION_MARGIN


def plan_window(state: State, settings: InputSettings, now: float) -> Plan:
    """The next window to read; None when no time has passed since the cursor."""
    warnings: List[DataLossWarning] = []
    end = now - settings.lag
    oldest = oldest_available(now)
    if state.cursor is None:
        start = oldest if settings.start is None else settings.start
        if start < oldest:
            warnings.append(
                DataLossWarning(
                    "history_clamped",
                    start,
                    oldest,
                    f"The input's start date {format_time(start)} is older than the "
                    f"{RETENTION_DAYS} days RingCentral keeps: records before "
                    f"{format_time(oldest)} can no longer be collected.",
                )
            )
            start = oldest
    else:
        start = state.cursor - settings.overlap
        if state.cursor < oldest:
            warnings.append(
                DataLossWarning(
                    "checkpoint_expired",
                    state.cursor,
                    oldest,
                    f"The input last collected up to {format_time(state.cursor)}, more than "
                    f"{RETENTION_DAYS} days ago: records between then and {format_time(oldest)} "
                    "were deleted by RingCentral before they could be collected.",
                )
            )
        start = max(start, oldest)
    if end <= start or (state.cursor is not None and end <= state.cursor):
        return Plan(None, warnings)
    return Plan(Window(start=round(start, 3), end=round(end, 3)), warnings)
