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
     "rate": null | {...}}          # the Heavy group's pacing: limit, window, penalty end,
                                    # recent sends (see ratelimit.RateGate.export)

Version 1 (``{"version": 1, "cursor": ...}``), the unversioned ``{"cursor": ...}`` and a bare
time string (what an admin may write to move an input's start by hand) migrate to version 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .errors import CheckpointError
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

    def to_json(self) -> Dict[str, Any]:
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
        }


def _millis(times: Dict[str, float]) -> Dict[str, int]:
    """Id -> event time as integer milliseconds: compact, and cheap to write after every page."""
    return {k: round(v * 1000) for k, v in times.items()}


def _fmt(value: Optional[float]) -> Optional[str]:
    return None if value is None else format_time(value)


def _time(value: Any, what: str) -> Optional[float]:
    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None:
        raise CheckpointError(
            f"The checkpoint's {what} {value!r} is not a time: reset the input's checkpoint "
            "(change its start date) to start over."
        )
    return parsed


def _times(values: Any, what: str) -> Dict[str, float]:
    if not isinstance(values, dict):
        raise CheckpointError(f"The checkpoint's {what} is not an object: reset the checkpoint.")
    return {
        str(k): v / 1000 if isinstance(v, (int, float)) else _time(v, what) or 0.0
        for k, v in values.items()
    }


def _parts(value: Any) -> Optional[List[Tuple[float, float]]]:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
        raise CheckpointError("The checkpoint's window parts are malformed: reset the checkpoint.")
    return [(_time(a, "window part") or 0.0, _time(b, "window part") or 0.0) for a, b in value]


def _counts(value: Any) -> Dict[str, int]:
    """The window's counters; anything that is not a whole number counts as absent."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}


def _migrate_v1(raw: Dict[str, Any]) -> Dict[str, Any]:
    return {"version": 2, "origin": None, "cursor": raw.get("cursor"), "recent": {}, "window": None}


_MIGRATIONS = {1: _migrate_v1}


def load_state(raw: Any) -> State:
    """A State from whatever the store held: None (new input), any known version, or an error."""
    if raw is None:
        return State()
    if isinstance(raw, str):
        raw = {"version": 1, "cursor": raw}
    if not isinstance(raw, dict):
        raise CheckpointError(
            f"The checkpoint holds {type(raw).__name__}, not an object: reset the checkpoint."
        )
    version = raw.get("version", 1)
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"The checkpoint has version {version!r}, newer than this add-on understands "
            f"({VERSION}): upgrade the add-on, or reset the checkpoint."
        )
    while version < VERSION:
        raw = _MIGRATIONS[version](raw)
        version = raw["version"]
    window = raw.get("window")
    per_page = raw.get("per_page") or DEFAULT_PER_PAGE
    return State(
        origin=raw.get("origin") if isinstance(raw.get("origin"), str) else None,
        cursor=_time(raw.get("cursor"), "cursor"),
        recent=_times(raw.get("recent") or {}, "recent ids"),
        window=None
        if not window
        else Window(
            start=_time(window.get("start"), "window start") or 0.0,
            end=_time(window.get("end"), "window end") or 0.0,
            page=int(window.get("page") or 1),
            ids=_times(window.get("ids") or {}, "window ids"),
            parts=_parts(window.get("parts")),
            stats=_counts(window.get("stats")),
        ),
        per_page=int(per_page),
        rate=raw.get("rate") if isinstance(raw.get("rate"), dict) else None,
    )
