"""Decisions while reading one window, as pure functions of what RingCentral answered.

RingCentral's ``paging`` object may be absent, partial or wrong in either direction, and a page
may repeat, ignore the page number or hold records from outside the window. So paging counts
never decide when to stop: the records do (an empty or short page, a page that brings nothing
new, or as many records as RingCentral can hold). ``totalFound`` is used only to check, once the
window has been read, that every record it announced was seen; when it was not, the window is
read again as sub-windows a bounded number of times, and then ends with a named warning. Every
path costs a bounded number of requests.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

RETENTION_MAX_RECORDS = 10000  # RingCentral keeps at most this many records per account
NEAR_CAP = 9000  # a window counting this many may be at the cap: one request checks the account
MS = 0.001
PART_FILL = 0.8  # sub-windows are cut to hold this share of a page, leaving room for unseen ones
MAX_ROUNDS = 2  # re-reads by sub-windows after the first pass, before a window is unreconciled

# Keys of Window.stats (integers, kept in the checkpoint across runs).
REQUESTS, EMITTED, DUPLICATES, FOUND, ROUNDS, ROUND_SEEN = (
    "requests",
    "emitted",
    "duplicates",
    "found",
    "rounds",
    "round_seen",
)
OUTSIDE, CONFLICTS = "outside", "conflicts"
SHIFTED = "shifted"  # 1 when a page of the first pass repeated a record of an earlier page
IGNORED = "ignored_page"  # full pages that brought nothing new (the page number was ignored)


class PageFacts(NamedTuple):
    """One page as the decisions see it."""

    number: int  # the page number asked for (1-based)
    size: int  # records a full page holds
    records: int  # records on the page
    new: int  # records whose id the window had not seen


def page_facts(number: int, asked: int, records: int, new: int, paging: Any) -> PageFacts:
    """The facts of a page. RingCentral's ``perPage`` is believed only when it is smaller than
    asked and the page is full by it (a server that pages by less than it was asked)."""
    size = asked
    own = _int((paging or {}).get("perPage") if isinstance(paging, dict) else None)
    if own is not None and 1 <= own < asked and records == own:
        size = own
    return PageFacts(number, size, records, new)


def span_done(page: PageFacts) -> bool:
    """Whether the span being paged has nothing more to give after ``page``."""
    if page.records < page.size:  # empty or short: the last page, whatever paging says
        return True
    if page.number > 1 and page.new == 0:  # a full page of nothing new: page is ignored
        return True
    return page.number * page.size >= RETENTION_MAX_RECORDS  # more cannot exist


def total_found(paging: Any) -> Optional[int]:
    """``paging.totalFound`` when it is a whole number, else None."""
    return _int(paging.get("totalFound")) if isinstance(paging, dict) else None


def max_requests(per_page: int) -> int:
    """The most search requests one window may cost: a first pass and MAX_ROUNDS re-reads,
    each allowed three times the pages RingCentral could fill (parts, halvings, page size)."""
    pages = math.ceil(RETENTION_MAX_RECORDS / max(1, per_page)) + 1
    return (MAX_ROUNDS + 1) * 3 * pages


def after_pass(
    seen: int, found: Optional[int], rounds: int, round_seen: int, shifted: bool = False
) -> str:
    """What follows a finished pass: ``complete``, ``split`` (read again by sub-windows) or
    ``unreconciled`` (rounds spent, or the last one brought nothing new).

    A first pass whose pages repeated records has seen records move between pages, so others
    may have moved past it unseen: it is read again by sub-windows even when the count (which
    may be wrong too) is met. Each sub-window fits one page, so it cannot shift within itself.
    """
    if rounds == 0 and shifted:
        return "split"
    if found is None or seen >= found:
        return "complete"
    if rounds >= MAX_ROUNDS or (rounds > 0 and seen <= round_seen):
        return "unreconciled"
    return "split"


def split_by_seen(
    start: float, end: float, times: List[float], per_page: int
) -> List[Tuple[float, float]]:
    """Sub-windows of ``[start, end)`` each holding about PART_FILL of a page of ``times``.

    Neighbours overlap by a millisecond, so a record on a cut is inside one of them whichever
    way the API treats the bounds (duplicates are dropped by id).
    """
    chunk = max(1, int(per_page * PART_FILL))
    inside = sorted(t for t in times if start < t < end)
    cuts: List[float] = []
    held, previous, n = 0, None, 0
    # each part (cut, next cut] holds at most ``chunk``, or records of one moment only
    while n < len(inside):
        moment, same = inside[n], 1
        while n + same < len(inside) and inside[n + same] == moment:
            same += 1
        if held and held + same > chunk and previous is not None:
            cuts.append(previous)
            held = 0
        held += same
        previous = moment
        n += same
    bounds = [start, *cuts, end]
    parts = [(bounds[i], round(bounds[i + 1] + MS, 3)) for i in range(len(bounds) - 2)]
    parts.append((bounds[-2], end))
    return parts


def halve(start: float, end: float) -> Optional[List[Tuple[float, float]]]:
    """Two halves of a sub-window, each strictly shorter, overlapping by a millisecond; None when
    it is too short to cut (then it is paged through instead)."""
    a, b = round(start * 1000), round(end * 1000)
    if b - a < 3:
        return None
    middle = a + (b - a) // 2
    return [(a / 1000, (middle + 1) / 1000), (middle / 1000, b / 1000)]


def held_time(event_time: float, start: float, end: float) -> float:
    """The time under which a seen id is remembered: its own, or for a record outside the
    window (which RingCentral should not have sent) the window's end, so that it stays
    remembered, and is not indexed again, while later windows still overlap this one."""
    if start - MS <= event_time <= end + MS:
        return event_time
    return end


def identity(record: Any, event_id: str) -> str:
    """The key a record is de-duplicated by: its id, with a numeric id kept apart from the
    same digits as a string (RingCentral's ids are strings; 5 and "5" are two records)."""
    if isinstance(record, dict):
        rid = record.get("id")
        if isinstance(rid, int) and not isinstance(rid, bool):
            return f"int:{rid}"
    return event_id


class RetentionCheck(NamedTuple):
    at_cap: Optional[bool]  # None: unknown without one more request
    oldest_held: Optional[float]


def retention_check(found: Optional[int], oldest_seen: Optional[float]) -> RetentionCheck:
    """Whether RingCentral is at its cap, from the window's own count: certainly when the window
    counts the cap, perhaps when it is near it (records newer than the window count too)."""
    if found is not None and found >= RETENTION_MAX_RECORDS:
        return RetentionCheck(True, oldest_seen)
    if found is not None and found >= NEAR_CAP:
        return RetentionCheck(None, oldest_seen)
    return RetentionCheck(False, oldest_seen)


def retention_loss(
    at_cap: bool, oldest_held: Optional[float], needed_from: float
) -> Optional[Tuple[float, float]]:
    """The period RingCentral may have discarded: from where collection needed to start to the
    oldest record it still holds, when it is at its cap and that record is newer."""
    if not at_cap or oldest_held is None or oldest_held <= needed_from + MS:
        return None
    return (needed_from, oldest_held)


def ignored_page(page: PageFacts) -> bool:
    """A full page after the first that brought nothing new: RingCentral ignored the page."""
    return page.number > 1 and page.new == 0 and page.records >= page.size


def deviations(stats: Dict[str, int], seen: int) -> List[str]:
    """What RingCentral did wrong while a window was read, as ``name=value`` words for a log."""
    found = stats.get(FOUND)
    named = [f"{key}={stats[key]}" for key in (OUTSIDE, CONFLICTS, IGNORED) if stats.get(key)]
    if stats.get(SHIFTED):
        named.append("records_moved_between_pages=1")
    if found is not None and seen > found:
        named.append(f"total_found_below_seen={found}<{seen}")
    return named


def count(stats: Dict[str, int], key: str, by: int = 1) -> None:
    stats[key] = stats.get(key, 0) + by


def _int(value: object) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 19:
        return int(value)
    return None
