"""Reading one window, as pure decisions: which request comes next and what an answer means.

No HTTP, no logging, no clock: the collector asks :meth:`WindowReader.next_request`, sends it,
and hands the answer to :meth:`WindowReader.take`, which returns the events to emit, the notes
to record and, once the window is read, its verdict. The hostile-server tests drive it directly.

Identity: a record is kept under its id (``int:N`` for a numeric one), or for a record without
id under a digest of its content, with ``#k`` for the k-th identical one in one answer (two
distinct records may look alike: each is kept). Beside each id the window and ``State.digests``
keep a fingerprint of the content, so the same id with new content is recognised: inside one
window it is a conflict, across windows a *new version*; either is indexed once more.

A record whose id is already known and whose content is unchanged is recognised before the
per-record work (event text, escaping, digests): in a busy account most of each window is the
overlap, read again.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union

from .events import AuditEvent, to_event
from .paging import (
    CONFLICTS,
    DUPLICATES,
    EMITTED,
    FOUND,
    IGNORED,
    MS,
    OUTSIDE,
    REQUESTS,
    ROUND_SEEN,
    ROUNDS,
    SHIFTED,
    after_pass,
    count,
    halve,
    held_time,
    identity,
    ignored_page,
    max_requests,
    page_facts,
    span_done,
    split_by_seen,
    total_found,
)
from .state import State, Window

SMALLER_PAGES = (500, 200, 100)  # if the API refuses perPage=1000, or a page cannot arrive in time
NEW_VERSIONS = "new_versions"  # Window.stats key: records indexed again with changed content
SAME_CONTENT = "same_content"  # Window.stats key: id-less records that looked like another


class Request(NamedTuple):
    start: float
    end: float
    page: int
    per_page: int


# Notes: what the run's record must say about a page (see runrecord.py, one function each).
class Conflict(NamedTuple):
    key: str
    kept_as: str


class NewVersion(NamedTuple):
    key: str
    kept_as: str


class NoTime(NamedTuple):
    key: str
    raw_time: str


class Outside(NamedTuple):
    key: str
    time: float


class SameContent(NamedTuple):
    key: str
    copies: int


class PagesIgnored(NamedTuple):
    """RingCentral answered a later page number with the first page again (noticed once)."""

    requests: int


class Split(NamedTuple):
    saw: int
    found: int
    parts: int
    round: int


Note = Union[Conflict, NewVersion, NoTime, Outside, SameContent, PagesIgnored, Split]


class Taken(NamedTuple):
    events: List[AuditEvent]  # to the sink, in this order
    notes: List[Note]
    verdict: Optional[str]  # complete | unreconciled once the window is read, else None


def fingerprint(text: str) -> int:
    """A cheap fingerprint of a record's content (its JSON text), to notice changed records."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def _raw(record: Dict[str, Any]) -> Optional[str]:
    try:
        return json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    except (RecursionError, ValueError, TypeError):
        return None


def known_key(record: Any) -> Optional[str]:
    """The key of a record with an id, without building its event; None for one without."""
    rid = record.get("id") if isinstance(record, dict) else None
    kind = type(rid)
    if kind is str and rid:
        return rid  # type: ignore[no-any-return]
    if kind is int:
        return f"int:{rid}"
    return None


class WindowReader:
    """One window's reading: the requests it needs and what each answer adds."""

    def __init__(self, state: State, window: Window, deep: bool = False) -> None:
        """``deep``: a finished period read again, where any record may be known from the
        history; otherwise only one from outside the window may (a leaking bound)."""
        self.state = state
        self.window = window
        self.deep = deep
        self.budget = max_requests(state.per_page)
        self._copies: Dict[str, int] = {}  # id-less content -> copies in the current answer
        if state.pages_ignored and window.parts is None and not window.stats:
            # page numbers are ignored: read by time slices that each fit one page from the
            # start (a full slice is halved), never by page numbers
            # (cut where the records already known from the overlap lie)
            known = list(state.recent.values())
            window.parts = split_by_seen(window.start, window.end, known, state.per_page)

    # ----- what to ask ---------------------------------------------------------------------

    def spent(self) -> bool:
        """Whether the window has cost the most requests one window may."""
        return self.window.stats.get(REQUESTS, 0) >= self.budget

    def next_request(self) -> Request:
        w = self.window
        start, end = (w.start, w.end) if w.parts is None else w.parts[0]
        return Request(start, end, w.page, self.state.per_page)

    def smaller_pages(self) -> Optional[int]:
        """Ask for smaller pages from page 1 of the span; the new size, or None if none is left."""
        smaller = [size for size in SMALLER_PAGES if size < self.state.per_page]
        if not smaller:
            return None
        self.state.per_page = smaller[0]
        self.window.page = 1
        return smaller[0]

    # ----- what an answer means ------------------------------------------------------------

    def take(self, records: List[Any], paging: Any, fallback_time: float) -> Taken:
        """The page's new events and notes, the window moved on to its next request."""
        w = self.window
        count(w.stats, REQUESTS)
        notes: List[Note] = []
        self._copies = {}  # look-alikes are counted within one answer: a page sent again, or
        # a record repeated on every page, is not taken for more records
        events, new = self._identify(records, fallback_time, notes)
        count(w.stats, EMITTED, len(events))
        facts = page_facts(w.page, self.state.per_page, len(records), new, paging)
        if ignored_page(facts):
            count(w.stats, IGNORED)
            if not self.state.pages_ignored:
                self.state.pages_ignored = True
                notes.append(PagesIgnored(w.stats.get(REQUESTS, 0)))
        verdict = self._advance(facts, paging, notes)
        return Taken(events, notes, verdict)

    def _identify(
        self, records: List[Any], fallback: float, notes: List[Note]
    ) -> Tuple[List[AuditEvent], int]:
        w = self.window
        ids, digests, stats = w.ids, self.state.digests, w.stats
        known = self._known if self.deep else self._recent
        start, end = w.start, w.end
        fresh: List[AuditEvent] = []
        new_ids = 0
        for record in records:
            key = known_key(record)
            if key is not None:
                # already seen: unchanged content is recognised without building the event
                if key in ids:
                    stored: Optional[int] = digests.get(key)
                    earlier = None
                else:
                    earlier = known(key)
                    stored = None if earlier is None else earlier[1]
                if key in ids or earlier is not None:
                    raw = None if stored is None else _raw(record)
                    if stored is None or (raw is not None and fingerprint(raw) == stored):
                        if earlier is None:
                            self._repeat()
                            continue
                        new_ids += 1
                        t = earlier[0]
                        ids[key] = t if start - MS <= t <= end + MS else end
                        count(stats, DUPLICATES)
                        continue
            event = to_event(record, fallback)
            key = identity(record, event.id)
            if key.startswith("sha256:"):
                key = self._copy_key(key, notes)
            fp = fingerprint(event.data)
            earlier = None if key in ids else known(key)
            if earlier is None and key not in ids and not start - MS <= event.time <= end + MS:
                earlier = self.state.history.get(key)  # sent from outside: seen before?
            if key in ids or earlier is not None:
                stored = digests.get(key) if earlier is None else earlier[1]
                if stored is None or stored == fp:
                    if earlier is None:
                        self._repeat()
                        continue
                    new_ids += 1  # indexed by an earlier window (from outside this one: a
                    t = earlier[0]  # leaking bound, which RingCentral's count includes too)
                    ids[key] = t if start - MS <= t <= end + MS else end
                    count(stats, DUPLICATES)
                    continue
                digest = hashlib.sha256(event.data.encode("utf-8", "surrogatepass")).hexdigest()
                variant = f"{key}~{digest[:16]}"
                if variant in ids:
                    self._repeat()
                    continue
                before = known(variant)
                if before is not None:
                    new_ids += 1
                    ids[variant] = self._held(variant, before[0], event, record, notes)
                    count(stats, DUPLICATES)
                    continue
                if earlier is None:  # two records with one id in the same window: both kept
                    count(stats, CONFLICTS)
                    notes.append(Conflict(key, variant))
                    new_ids += 1
                    ids[variant] = self._held(variant, None, event, record, notes)
                    digests[variant] = fp
                    fresh.append(event._replace(id=variant))
                    continue
                # the record changed since an earlier window indexed it: a new version
                count(stats, NEW_VERSIONS)
                notes.append(NewVersion(key, variant))
                new_ids += 1
                ids[key] = self._held(key, None, event, record, notes)
                digests[key] = fp
                fresh.append(event._replace(id=variant))
                continue
            new_ids += 1
            ids[key] = self._held(key, None, event, record, notes)
            digests[key] = fp
            fresh.append(event._replace(id=key))
        return fresh, new_ids

    def _recent(self, key: str) -> Optional[Tuple[float, Optional[int]]]:
        t = self.state.recent.get(key)
        return None if t is None else (t, self.state.digests.get(key))

    def _known(self, key: str) -> Optional[Tuple[float, Optional[int]]]:
        """(time, fingerprint) of a key an earlier window emitted; None for one never seen."""
        t = self.state.recent.get(key)
        if t is not None:
            return t, self.state.digests.get(key)
        return self.state.history.get(key)

    def _repeat(self) -> None:
        """A record the window has seen already (pages moved, or the page was ignored)."""
        count(self.window.stats, DUPLICATES)
        if self.window.parts is None:
            self.window.stats[SHIFTED] = 1

    def _copy_key(self, key: str, notes: List[Note]) -> str:
        """The k-th record of one answer with this content and no id is kept as ``key#k``."""
        copies = self._copies[key] = self._copies.get(key, 0) + 1
        if copies == 1:
            return key
        if copies == 2:
            notes.append(SameContent(key, copies))
        count(self.window.stats, SAME_CONTENT)
        return f"{key}#{copies}"

    def _held(
        self, key: str, known: Optional[float], event: AuditEvent, record: Any, notes: List[Note]
    ) -> float:
        w = self.window
        held = held_time(event.time, w.start, w.end)
        if not event.time_from_record:
            if known is None:
                raw = record.get("eventTime") if isinstance(record, dict) else None
                notes.append(NoTime(key, str(raw)))
        elif held != event.time:
            count(w.stats, OUTSIDE)
            notes.append(Outside(key, event.time))
        return held

    def _advance(self, facts: Any, paging: Any, notes: List[Note]) -> Optional[str]:
        """Move to the next page or sub-window; the window's verdict once a pass is done."""
        w = self.window
        if w.parts is None:
            found = total_found(paging)
            if found is not None:
                w.stats[FOUND] = max(w.stats.get(FOUND, found), found)
            if not span_done(facts):
                w.page += 1
                return None
            return self._pass_done(notes)
        start, end = w.parts[0]
        if span_done(facts):
            w.parts.pop(0)
            w.page = 1
            return None if w.parts else self._pass_done(notes)
        halves = halve(start, end) if facts.number == 1 else None
        if halves is not None:
            w.parts[0:1] = halves
        else:  # more than a page of records in a few milliseconds: page through it
            w.page += 1
        return None

    def _pass_done(self, notes: List[Note]) -> Optional[str]:
        w = self.window
        stats = w.stats
        seen = seen_in(w)
        verdict = after_pass(
            seen,
            stats.get(FOUND),
            stats.get(ROUNDS, 0),
            stats.get(ROUND_SEEN, 0),
            bool(stats.get(SHIFTED)),
        )
        if verdict != "split":
            return verdict
        w.parts = split_by_seen(w.start, w.end, list(w.ids.values()), self.state.per_page)
        w.page = 1
        count(stats, ROUNDS)
        stats[ROUND_SEEN] = seen
        notes.append(Split(seen, stats.get(FOUND, 0), len(w.parts), stats[ROUNDS]))
        return None


def seen_in(window: Window) -> int:
    """Distinct records seen in the window: its ids, less those from outside it and variants."""
    stats = window.stats
    return len(window.ids) - stats.get(OUTSIDE, 0) - stats.get(CONFLICTS, 0)
