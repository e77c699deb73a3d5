"""The checkpoint: versioned JSON, migrated on load, and the only memory the collector has.

Shape (version 2)::

    {"version": 2,
     "origin": "...Z" | "" | null, # the input's start date this state began from ("" = all
                                    # history); null after a migration: adopt the current one
     "cursor": "...Z" | null,      # end of the last finished window (exclusive)
     "recent": {"<id>": ms},       # ids emitted within ``overlap`` before the cursor, with
                                    # their event times in epoch milliseconds
     "window": null | {"start": "...Z", "end": "...Z", "page": N,
                       "ids": {"<id>": ms},        # an unfinished window and what it has seen
                       "parts": null | [["...Z", "...Z"], ...],  # sub-windows still to read
                       "stats": {"requests": N, ...}},  # counters (absent in older ones)
     "per_page": N,                 # the page size the API accepted
     "rate": null | {...},          # the Heavy group's pacing: limit, window, penalty end,
                                    # recent sends (see ratelimit.RateGate.export); only when
                                    # no shared budget store is given (see budget.py)
     "digests": {"<id>": N},        # content fingerprints of the ids in recent and window
     "history": {"<day>": [N, "[[id, ms, fp], ...]"]},  # ids emitted lately, one JSON text
                                    # per day (history.py); in a document of its own when the
                                    # host gives one (saved once per window)
     "days": {"<day start>": {"counted": N, "checked": ms}},  # reconciliation, per day
     "pages_ignored": bool}         # RingCentral was seen to answer every page with the first

The fields after ``rate`` were added without a new version: absent, they start empty.

Version 1 (``{"version": 1, "cursor": ...}``), the unversioned ``{"cursor": ...}`` and a bare
time string (what an admin may write to move an input's start by hand) migrate to version 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .errors import CheckpointError
from .history import History, history_from
from .timeutil import format_time, parse_time

VERSION = 2
DEFAULT_PER_PAGE = 1000


@dataclass
class Window:
    """A frozen window [start, end) being read page by page."""

    start: float
    end: float
    page: int = 1
    ids: Dict[str, float] = field(default_factory=dict)  # id -> event time, all seen in this window
    # None while paging the whole window; after a count that did not add up, the sub-windows
    # (each small enough for one page) still to be read.
    parts: Optional[List[Tuple[float, float]]] = None
    # What reading this window has cost and found so far, across runs (see paging.WindowStats).
    stats: Dict[str, int] = field(default_factory=dict)


@dataclass
class State:
    origin: Optional[str] = None
    cursor: Optional[float] = None
    recent: Dict[str, float] = field(default_factory=dict)
    window: Optional[Window] = None
    per_page: int = DEFAULT_PER_PAGE
    rate: Optional[Dict[str, Any]] = None
    digests: Dict[str, int] = field(default_factory=dict)
    history: History = field(default_factory=History)  # emitted ids by day (history.py)
    days: Dict[str, Dict[str, int]] = field(default_factory=dict)
    pages_ignored: bool = False

    def to_json(self, with_history: bool = True) -> Dict[str, Any]:
        window = None
        if self.window is not None:
            w = self.window
            window = {
                "start": format_time(w.start),
                "end": format_time(w.end),
                "page": w.page,
                "ids": _millis(w.ids),
                "parts": None
                if w.parts is None
                else [[format_time(a), format_time(b)] for a, b in w.parts],
                "stats": dict(w.stats),
            }
        return {
            "version": VERSION,
            "origin": self.origin,
            "cursor": _fmt(self.cursor),
            "recent": _millis(self.recent),
            "window": window,
            "per_page": self.per_page,
            "rate": self.rate,
            "digests": self.digests,
            "history": self.history.to_json() if with_history else None,
            "days": self.days,
            "pages_ignored": self.pages_ignored,
        }


def _millis(times: Dict[str, float]) -> Dict[str, int]:
    """Id -> event time as integer milliseconds: compact, and cheap to write after every page."""
    return {k: round(v * 1000) for k, v in times.items()}


def _fmt(value: Optional[float]) -> Optional[str]:
    return None if value is None else format_time(value)


# What to do about a damaged checkpoint (README: "Reset an input's checkpoint").
RESET = (
    "reset the input's checkpoint by changing its start date (records since then are "
    "collected again)"
)
MAX_PER_PAGE = 1000
MAX_EPOCH = 253402300799.0  # 9999-12-31T23:59:59Z, the last time format_time can write


def _bad(field: str, value: Any, expected: str) -> CheckpointError:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return CheckpointError(f"The checkpoint's {field} is {shown}, not {expected}: {RESET}.")


def _time(value: Any, what: str) -> Optional[float]:
    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None or not 0 <= parsed <= MAX_EPOCH:
        raise _bad(what, value, "a time like 2024-08-06T10:50:19.442Z")
    return parsed


def _required_time(value: Any, what: str) -> float:
    parsed = _time(value, what)
    if parsed is None:
        raise _bad(what, value, "a time like 2024-08-06T10:50:19.442Z")
    return parsed


def _times(values: Any, what: str) -> Dict[str, float]:
    """Id -> event time, from milliseconds (as saved) or time strings (older forms)."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise _bad(what, values, "an object of ids and times")
    times: Dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not (math.isfinite(value) and 0 <= value <= MAX_EPOCH * 1000):
                raise _bad(f"{what} time of id {key!r}", value, "milliseconds since 1970")
            times[str(key)] = value / 1000
        else:
            times[str(key)] = _required_time(value, f"{what} time of id {key!r}")
    return times


def _count(value: Any, what: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(what, value, f"a whole number from {low} to {high}")
    return value


def _parts(value: Any) -> Optional[List[Tuple[float, float]]]:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
        raise _bad("window parts", value, "a list of [start, end] pairs")
    return [
        (_required_time(a, "window part start"), _required_time(b, "window part end"))
        for a, b in value
    ]


def _window(value: Any) -> Optional[Window]:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad("window", value, "an object or null")
    start = _required_time(value.get("start"), "window start")
    end = _required_time(value.get("end"), "window end")
    if end < start:
        raise _bad("window end", value.get("end"), "a time after the window start")
    return Window(
        start=start,
        end=end,
        page=_count(value.get("page"), "window page", 1, 1, 10**9),
        ids=_times(value.get("ids"), "window ids"),
        parts=_parts(value.get("parts")),
        stats=_counts(value.get("stats")),
    )


def _counts(value: Any) -> Dict[str, int]:
    """The window's counters; anything that is not a whole number counts as absent."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}


def _migrate_v1(raw: Dict[str, Any]) -> Dict[str, Any]:
    return {"version": 2, "origin": None, "cursor": raw.get("cursor"), "recent": {}, "window": None}


_MIGRATIONS = {1: _migrate_v1}


def load_state(raw: Any) -> State:
    """A State from whatever the store held: None (new input), any known version, or a
    CheckpointError naming the field that is wrong and what to do."""
    if raw is None:
        return State()
    if isinstance(raw, str):
        raw = {"version": 1, "cursor": raw}
    if not isinstance(raw, dict):
        raise _bad("content", raw, "an object")
    version = raw.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        raise _bad("version", version, f"a whole number from 1 to {VERSION}")
    if version > VERSION:
        raise CheckpointError(
            f"The checkpoint has version {version}, newer than this add-on understands "
            f"({VERSION}): upgrade the add-on, or {RESET}."
        )
    if version < 1:
        raise _bad("version", version, f"a whole number from 1 to {VERSION}")
    while version < VERSION:
        raw = _MIGRATIONS[version](raw)
        version = raw["version"]
    origin = raw.get("origin")
    if origin is not None and not isinstance(origin, str):
        raise _bad("origin", origin, "a time, an empty text or null")
    rate = raw.get("rate")
    return State(
        origin=origin,
        cursor=_time(raw.get("cursor"), "cursor"),
        recent=_times(raw.get("recent"), "recent ids"),
        window=_window(raw.get("window") or None),
        per_page=_count(raw.get("per_page"), "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE),
        # pacing only: a damaged one is dropped (RateGate.restore also checks each value)
        rate=rate if isinstance(rate, dict) else None,
        digests=_digests(raw.get("digests")),
        history=history_from(raw.get("history")),
        days=_days(raw.get("days")),
        pages_ignored=raw.get("pages_ignored") is True,
    )


# The fields below only save work or recover more: damaged, they are dropped, never fatal.


def _digests(value: Any) -> Dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {
        str(k): v
        for k, v in value.items()
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32
    }


def load_history(raw: Any) -> History:
    """The history from its own document (see Collector's ``history``)."""
    return history_from(raw.get("history")) if isinstance(raw, dict) else History()


def _days(value: Any) -> Dict[str, Dict[str, int]]:
    if not isinstance(value, dict):
        return {}
    days: Dict[str, Dict[str, int]] = {}
    for day, facts in value.items():
        if parse_time(day) is not None and isinstance(facts, dict):
            days[str(day)] = {
                str(k): v
                for k, v in facts.items()
                if isinstance(v, int) and not isinstance(v, bool) and v >= 0
            }
    return days
