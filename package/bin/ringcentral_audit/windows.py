"""Which window a run reads next: ``[cursor - overlap, now - lag)``, frozen, never before retention,
never after RingCentral's own clock; and what a cursor found in RingCentral's future becomes."""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple

from .clock import SKEW_TOLERANCE
from .settings import RETENTION_DAYS, InputSettings
from .state import State, Window
from .timeutil import format_time

# Ask for a little less than the full 180 days, so a request is never refused for being too old.
RETENTION_MARGIN = 120.0


class DataLossWarning(NamedTuple):
    # history_clamped | checkpoint_expired | retention_cap | unreconciled | cursor_in_future
    reason: str
    start: Optional[float]  # None: the period's start is not known
    end: float
    message: str
    window: Optional[Window] = None  # for unreconciled: the window whose count did not add up
    found: Optional[int] = None


class Plan(NamedTuple):
    window: Optional[Window]
    warnings: List[DataLossWarning]
    needs_server_time: bool = False  # the cursor looks to be in the future: ask RingCentral first
    repaired: Optional[float] = None  # a cursor found in RingCentral's future, now repaired


def oldest_available(now: float) -> float:
    return now - RETENTION_DAYS * 86400 + RETENTION_MARGIN


def plan_window(
    state: State, settings: InputSettings, now: float, server_now: Optional[float] = None
) -> Plan:
    """The next window to read; None when no time has passed since the cursor.

    ``now`` is the earlier of our clock and RingCentral's, which bounds every window;
    ``server_now`` is RingCentral's, when an answer has shown it this run. A cursor ahead of
    ``now`` is judged by RingCentral's clock: without it, the plan asks for it first.
    """
    if state.cursor is None:
        return _first_window(settings, now)
    if state.cursor > now + SKEW_TOLERANCE:
        if server_now is None:
            return Plan(None, [], needs_server_time=True)
        if state.cursor > server_now + SKEW_TOLERANCE:
            return _repair_future_cursor(state, state.cursor, settings, now)
        return Plan(None, [])  # ahead of our clock only: wait for it
    warnings: List[DataLossWarning] = []
    end = now - settings.lag
    oldest = oldest_available(now)
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
    if end <= state.cursor:
        return Plan(None, warnings)
    return Plan(_window(start, end), warnings)


def _first_window(settings: InputSettings, now: float) -> Plan:
    warnings: List[DataLossWarning] = []
    end = now - settings.lag
    oldest = oldest_available(now)
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
    return Plan(_window(start, end), warnings)


def _repair_future_cursor(state: State, cursor: float, settings: InputSettings, now: float) -> Plan:
    """A window that reads everything still retrievable the cursor might have skipped.

    The cursor claims everything before it was collected, but time after RingCentral's ``now``
    cannot have been. The run that saved it had read up to some moment before ``now``; the ids
    it remembered (``recent``, kept for ``overlap`` before the cursor) show how far. With such
    evidence the usual window ``[cursor - overlap, now - lag)`` misses nothing; without it, the
    window starts ``overlap`` before ``now - lag`` and the time before is named as possibly lost.
    """
    end = now - settings.lag
    oldest = oldest_available(now)
    start = max(cursor - settings.overlap, oldest)
    evidence = _newest_seen(state.recent, start, end)
    warnings: List[DataLossWarning] = []
    if start >= end or evidence is None:
        start = max(min(start, end - max(settings.overlap, 1.0)), oldest)
        warnings.append(
            DataLossWarning(
                "cursor_in_future",
                None,
                start,
                f"The checkpoint's cursor {format_time(cursor)} was ahead of RingCentral's clock "
                f"({format_time(now)}): it was saved by a run whose clock was ahead, or edited by "
                f"hand. Collection continues from {format_time(start)}; records before that "
                "which arrived after the run that saved it may be missing. To collect them, "
                "change the input's start date.",
            )
        )
    return Plan(_window(start, end), warnings, repaired=cursor)


def _window(start: float, end: float) -> Optional[Window]:
    """The window [start, end) at the API's millisecond precision; None if that leaves nothing."""
    start, end = round(start, 3), round(end, 3)
    return Window(start=start, end=end) if start < end else None


def _newest_seen(recent: Dict[str, float], start: float, end: float) -> Optional[float]:
    times = [t for t in recent.values() if start <= t <= end]
    return max(times) if times else None


# ----- during a run ----------------------------------------------------------------------------


def server_bound(server_now: float, settings: InputSettings) -> float:
    """The latest end a window may have by RingCentral's clock."""
    return server_now - settings.lag


def beyond_server_time(window: Window, server_now: float, settings: InputSettings) -> bool:
    """Whether ``window`` ends after RingCentral's now - lag (it is then planned again)."""
    return window.end > server_bound(server_now, settings) + SKEW_TOLERANCE


def recent_horizon(window: Window, settings: InputSettings) -> float:
    """Ids with event times from here on are remembered exactly: the next window re-reads them."""
    return window.end - settings.overlap


def retention_needed_from(window: Window, cursor: Optional[float]) -> float:
    """Where collection needed to start for ``window``: its start, or the cursor inside it."""
    if cursor is not None and window.start <= cursor <= window.end:
        return cursor
    return window.start


# ----- reconciliation of the past --------------------------------------------------------------

DAY = 86400.0
HEAVY_PER_DAY = 10 * 1440  # RingCentral's Heavy group: 10 requests a minute


def day_of(moment: float) -> float:
    return moment - moment % DAY


def periods_to_reconcile(
    days: Dict[str, Dict[str, int]],
    cursor: Optional[float],
    now: float,
    settings: InputSettings,
) -> List[Tuple[float, float]]:
    """The finished days due for a count, newest first: within the last ``reconcile_days``,
    wholly before the cursor's overlap (the regular windows still re-read that), inside what
    RingCentral keeps, read by this checkpoint, and not read or counted in the last day."""
    if cursor is None or settings.reconcile_days <= 0:
        return []
    oldest = max(oldest_available(now), day_of(now) - settings.reconcile_days * DAY)
    if settings.start is not None:
        oldest = max(oldest, settings.start)
    due: List[Tuple[float, float]] = []
    day = day_of(cursor - settings.overlap) - DAY
    while day + DAY > oldest:
        start = max(day, oldest)
        checked = days.get(format_time(day), {}).get("checked")
        # only days this checkpoint read (not those of an older version or another start)
        if checked is not None and checked / 1000 <= now - DAY:
            due.append((round(start, 3), round(day + DAY, 3)))
        day -= DAY
    return due


def reconcile_allowance(
    days: Dict[str, Dict[str, int]], now: float, settings: InputSettings
) -> int:
    """Requests reconciliation may still spend today (its share of the day's Heavy budget)."""
    share = int(HEAVY_PER_DAY * settings.reconcile_budget_percent / 100)
    spent = days.get(format_time(day_of(now)), {}).get("spent", 0)
    return max(0, share - spent)


def mark_read(
    days: Dict[str, Dict[str, int]], window: Window, now: float, settings: InputSettings
) -> None:
    """The days a window just read are due for a count a day later, not now."""
    if settings.reconcile_days <= 0:
        return
    day = max(day_of(window.start), day_of(now) - (settings.reconcile_days + 1) * DAY)
    while day < window.end:
        days.setdefault(format_time(day), {})["checked"] = round(now * 1000)
        day += DAY
