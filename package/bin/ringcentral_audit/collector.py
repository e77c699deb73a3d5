"""Collect every audit record exactly once: frozen windows, de-duplication by id, a checkpoint per page.

A run resumes an unfinished window where it stopped, else plans ``[cursor - overlap, now - lag)``
(``now`` being the earlier of our clock and RingCentral's) and reads it page by page. Each page's
new records go to the sink, then the checkpoint is saved: a crash repeats at most that page, a
stop between pages repeats nothing. When to stop paging, whether a window is finished and whether
something may be lost are decided in :mod:`paging` from what RingCentral answered; this module
does the I/O around those decisions. Nothing assumes the order of records.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .client import AuditTrailClient, SearchPage, Stopped, page_body
from .clock import SKEW_TOLERANCE, Clock, ServerTime
from .coverage import data_loss_doc, window_doc
from .errors import SECRETS, AuditTrailError, CheckpointError, RequestRejected, shown_id
from .events import AuditEvent, to_event
from .paging import (
    CONFLICTS,
    DUPLICATES,
    EMITTED,
    FOUND,
    IGNORED,
    OUTSIDE,
    REQUESTS,
    RETENTION_MAX_RECORDS,
    ROUND_SEEN,
    ROUNDS,
    SHIFTED,
    PageFacts,
    after_pass,
    count,
    deviations,
    halve,
    held_time,
    identity,
    ignored_page,
    max_requests,
    page_facts,
    retention_check,
    retention_loss,
    span_done,
    split_by_seen,
    total_found,
)
from .ports import CheckpointStore, EventSink
from .settings import InputSettings
from .state import State, Window, load_state
from .timeutil import format_time
from .windows import DataLossWarning, Plan, plan_window

SMALLER_PAGES = (500, 200, 100)  # if the API refuses perPage=1000
FINISHED, STOPPED, REPLAN = "finished", "stopped", "replan"


@dataclass
class RunReport:
    status: str = "success"  # success | stopped | error
    records: int = 0
    pages: int = 0
    requests: int = 0
    logins: int = 0
    rate_limited: int = 0
    retries: int = 0
    duration_s: float = 0.0
    cursor: Optional[str] = None
    lag_s: Optional[float] = None
    clock_ahead_s: Optional[float] = None  # our clock minus RingCentral's, when beyond threshold
    warnings: List[DataLossWarning] = field(default_factory=list)
    error: Optional[AuditTrailError] = None


class Collector:
    def __init__(
        self,
        client: AuditTrailClient,
        settings: InputSettings,
        *,
        checkpoint: CheckpointStore,
        sink: EventSink,
        clock: Optional[Clock] = None,
        logger: Optional[logging.Logger] = None,
        stop: Optional[threading.Event] = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.checkpoint = checkpoint
        self.sink = sink
        self.clock = clock or client.clock
        self.log = logger or client.log
        self.stop = stop or getattr(self.clock, "stop", None) or threading.Event()
        self.report = RunReport()
        self.server = ServerTime()
        self._ctx = f"input={_quote(settings.name)}"
        self._started = 0.0
        self._digests: Dict[str, str] = {}

    # ----- a run --------------------------------------------------------------------------

    def run(self) -> RunReport:
        """Collect until caught up, stopped or out of time; raises AuditTrailError on failure."""
        started = self._started = self.clock.now()
        self.client.deadline = started + self.settings.max_run_seconds
        self.client.context = self._ctx
        report = self.report = RunReport()
        self.server = ServerTime()
        self._digests = {}
        state: Optional[State] = None
        try:
            state = self._load()
            self.client.heavy.restore(state.rate)
            self._collect(state)
            if self.stop.is_set():
                report.status = "stopped"
        except Stopped as stopped:
            report.status = "stopped"
            self.log.info("action=collection_stopped %s reason=%r", self._ctx, str(stopped))
        except AuditTrailError as error:
            report.status = "error"
            report.error = error
            self.log.error(
                "action=collection_error %s error_kind=%s message=%s",
                self._ctx,
                error.kind,
                _quote(error.message),
            )
        # Not in a finally: after a crash (BaseException) nothing more may be written.
        if state is not None:
            self._save_penalty(state)
        self._summarise(report, state, started)
        if report.error is not None:
            raise report.error
        return report

    def _collect(self, state: State) -> None:
        """Finish the window begun by an earlier run, then read one fresh window (the next run
        reads the next one). A window found to reach past RingCentral's clock is planned again."""
        fresh, replanned = False, False
        while not self.stop.is_set():
            if state.window is None:
                if fresh:
                    return
                fresh = True
                if not self._open_window(state):
                    return
            assert state.window is not None
            outcome = self._read_window(state, state.window)
            if outcome == STOPPED:
                return
            if outcome == REPLAN:
                if replanned:
                    return
                replanned, fresh = True, False

    def _load(self) -> State:
        try:
            raw = self.checkpoint.load()
        except AuditTrailError:
            raise
        except Exception as error:  # noqa: BLE001 - any store failure is reported the same way
            raise _store_failure("read", error, "is the KV store running?") from None
        state = load_state(raw)
        configured = "" if self.settings.start is None else format_time(self.settings.start)
        if state.origin is None:
            state.origin = configured
        elif state.origin != configured:
            self.log.warning(
                "action=checkpoint_reset %s reason=start_date_changed old=%s new=%s: collection "
                "starts again from the new start date",
                self._ctx,
                state.origin or "all",
                configured or "all",
            )
            # a new start, but the same API budget: keep the page size and the rate state
            state = State(origin=configured, per_page=state.per_page, rate=state.rate)
        return state

    # ----- RingCentral's clock ------------------------------------------------------------

    def _now(self) -> float:
        """The earlier of our clock and RingCentral's, as far as its answers have shown it."""
        return self.server.now(self.clock.now())

    def _open_window(self, state: State) -> bool:
        plan = self._plan(state)
        if plan.needs_server_time:
            self._ask_server_time()
            plan = self._plan(state)
        if plan.repaired is not None:
            self.log.warning(
                "action=cursor_repaired %s cursor=%s server_time=%s window_start=%s: the "
                "checkpoint's cursor was ahead of RingCentral's clock",
                self._ctx,
                format_time(plan.repaired),
                format_time(self._now()),
                "" if plan.window is None else format_time(plan.window.start),
            )
        for warning in plan.warnings:
            self._warn(warning)
        if plan.window is None:
            return False
        state.window = plan.window
        return True

    def _plan(self, state: State) -> Plan:
        local = self.clock.now()
        server = self.server.server_now(local)
        if server is None and self.server.asked:
            server = local  # RingCentral sent no usable Date: our clock is all there is
        return plan_window(state, self.settings, self.server.now(local), server)

    def _ask_server_time(self) -> None:
        """One small search, only for its Date header: the cursor looks to be in the future."""
        end = self.clock.now() - self.settings.lag
        page = self.client.search(page_body(format_time(end - 1), format_time(end), 1, 1))
        self.server.asked = True
        self._observe(page)

    def _observe(self, page: SearchPage) -> None:
        self.server.observe(page.date, self.clock.now())
        ahead = self.server.skew()
        if ahead is not None and self.report.clock_ahead_s is None:
            self.report.clock_ahead_s = round(ahead, 3)
            self.log.warning(
                "action=clock_skew %s ahead_s=%.3f: this machine's clock is %s RingCentral's by "
                "%.0f s; windows end by RingCentral's clock. Check the machine's time sync (NTP).",
                self._ctx,
                ahead,
                "ahead of" if ahead > 0 else "behind",
                abs(ahead),
            )

    def _beyond_server_time(self, state: State, window: Window) -> bool:
        """Whether ``window`` ends after RingCentral's now - lag; then it is given up (its ids
        stay remembered as emitted) so that it can be planned again by RingCentral's clock."""
        bound = self._now() - self.settings.lag
        if window.end <= bound + SKEW_TOLERANCE:
            return False
        self.log.warning(
            "action=window_beyond_server_time %s window_end=%s server_bound=%s: planned again",
            self._ctx,
            format_time(window.end),
            format_time(bound),
        )
        state.recent.update(window.ids)
        state.window = None
        return True

    # ----- one window ---------------------------------------------------------------------

    def _read_window(self, state: State, window: Window) -> str:
        """Read until the window is finished, a stop is requested, or it must be planned again.

        First page through the whole window: with a stable order that costs the minimum of
        requests. If the ids seen then fall short of ``totalFound`` (records moved between pages),
        read the window again as sub-windows cut at the seen records' times, each small enough
        for one page; a sub-window that still fills a page is halved. Requests are bounded.
        """
        budget = max_requests(state.per_page)
        while True:
            if self.stop.is_set():
                return STOPPED
            if window.stats.get(REQUESTS, 0) >= budget:
                self._finish(state, window, "unreconciled", gave_up=True)
                self._save(state)
                return FINISHED
            span = (window.start, window.end) if window.parts is None else window.parts[0]
            page = self._search(state, window, span)
            if page is None:
                continue  # page size reduced: this span starts again at page 1
            count(window.stats, REQUESTS)
            self._observe(page)
            if self._beyond_server_time(state, window):
                return REPLAN
            new = self._emit(state, window, page)
            facts = page_facts(window.page, state.per_page, len(page.records), new, page.paging)
            verdict = self._advance(state, window, page, facts)
            if verdict is not None:
                self._finish(state, window, verdict)
            self._save(state)
            if verdict is not None:
                return FINISHED

    def _advance(
        self, state: State, window: Window, page: SearchPage, facts: PageFacts
    ) -> Optional[str]:
        """Move to the next page or sub-window; the window's verdict once a pass is done."""
        if ignored_page(facts):
            count(window.stats, IGNORED)
        if window.parts is None:
            found = total_found(page.paging)
            if found is not None:
                window.stats[FOUND] = max(window.stats.get(FOUND, found), found)
            if not span_done(facts):
                window.page += 1
                return None
            return self._pass_done(state, window)
        start, end = window.parts[0]
        if span_done(facts):
            window.parts.pop(0)
            window.page = 1
            return None if window.parts else self._pass_done(state, window)
        halves = halve(start, end) if facts.number == 1 else None
        if halves is not None:
            window.parts[0:1] = halves
        else:  # more than a page of records in a few milliseconds: page through it
            window.page += 1
        return None

    def _pass_done(self, state: State, window: Window) -> Optional[str]:
        stats = window.stats
        seen = _seen(window)
        verdict = after_pass(
            seen,
            stats.get(FOUND),
            stats.get(ROUNDS, 0),
            stats.get(ROUND_SEEN, 0),
            bool(stats.get(SHIFTED)),
        )
        if verdict != "split":
            return verdict
        window.parts = split_by_seen(
            window.start, window.end, list(window.ids.values()), state.per_page
        )
        window.page = 1
        count(stats, ROUNDS)
        stats[ROUND_SEEN] = seen
        self.log.info(
            "action=window_split %s saw=%d total_found=%d parts=%d round=%d",
            self._ctx,
            seen,
            stats.get(FOUND, 0),
            len(window.parts),
            stats[ROUNDS],
        )
        return None

    def _search(
        self, state: State, window: Window, span: Tuple[float, float]
    ) -> Optional[SearchPage]:
        body = page_body(
            format_time(span[0]),
            format_time(span[1]),
            window.page,
            state.per_page,
            self.settings.action_ids,
            self.settings.exclude_action_ids,
        )
        try:
            return self.client.search(body)
        except RequestRejected as error:
            smaller = [size for size in SMALLER_PAGES if size < state.per_page]
            if error.code != "CMN-101" or "perPage" not in error.message or not smaller:
                raise
            self.log.warning(
                "action=page_size_reduced %s from=%d to=%d", self._ctx, state.per_page, smaller[0]
            )
            state.per_page = smaller[0]
            window.page = 1
            return None

    def _emit(self, state: State, window: Window, page: SearchPage) -> int:
        """Hand the page's new records to the sink; the number of ids new to the window."""
        fallback = self._now()
        fresh: List[AuditEvent] = []
        new_ids = 0
        for record in page.records:
            event = to_event(record, fallback)
            key = self._key(window, identity(record, event.id), event)
            if key is None:
                count(window.stats, DUPLICATES)
                if window.parts is None:
                    window.stats[SHIFTED] = 1
                continue
            new_ids += 1
            window.ids[key] = self._held(window, key, event, record)
            if key in state.recent:
                count(window.stats, DUPLICATES)
                continue
            fresh.append(event._replace(id=key))
        if fresh:
            self.sink.write(fresh)
        count(window.stats, EMITTED, len(fresh))
        self.report.records += len(fresh)
        self.report.pages += 1
        return new_ids

    def _key(self, window: Window, key: str, event: AuditEvent) -> Optional[str]:
        """The key the record is kept under; None for a duplicate of a record already seen.

        A record whose id was seen this run with other content is a different record: it is
        kept (under its id and a digest of its content) and named in a warning.
        """
        digest = hashlib.sha256(event.data.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        first = self._digests.setdefault(key, digest)
        if first != digest:
            variant = f"{key}~{digest}"
            if variant in window.ids or variant in self._digests:
                return None
            self._digests[variant] = digest
            count(window.stats, CONFLICTS)
            self.log.warning(
                "action=duplicate_id_conflict %s id=%s: RingCentral sent two records with this "
                "id and different content; the second is indexed too (kept as %s)",
                self._ctx,
                shown_id(key),
                shown_id(variant),
            )
            return variant
        return None if key in window.ids else key

    def _held(self, window: Window, key: str, event: AuditEvent, record: object) -> float:
        held = held_time(event.time, window.start, window.end)
        if not event.time_from_record:
            self.log.warning(
                "action=record_without_time %s id=%s eventTime=%s: indexed with the "
                "collection time",
                self._ctx,
                shown_id(key),
                shown_id(record.get("eventTime") if isinstance(record, dict) else None),
            )
        elif held != event.time:
            count(window.stats, OUTSIDE)
            self.log.warning(
                "action=record_outside_window %s id=%s eventTime=%s window_start=%s "
                "window_end=%s: RingCentral sent a record from outside the requested window; "
                "indexed once",
                self._ctx,
                shown_id(key),
                format_time(event.time) if abs(event.time) < 2.5e11 else "out-of-range",
                format_time(window.start),
                format_time(window.end),
            )
        return held

    # ----- a finished window --------------------------------------------------------------

    def _finish(self, state: State, window: Window, outcome: str, gave_up: bool = False) -> None:
        seen = _seen(window)
        named = deviations(window.stats, seen)
        if named:
            self.log.warning(
                "action=window_deviation %s window_start=%s window_end=%s %s: RingCentral's "
                "answers for this window did not add up; every record read was indexed once",
                self._ctx,
                format_time(window.start),
                format_time(window.end),
                " ".join(named),
            )
        self._check_retention(state, window)
        if outcome == "unreconciled":
            self._warn(_unreconciled(window, seen, gave_up))
        self._write_collection(window_doc(self.settings.name, self._started, window, seen, outcome))
        horizon = window.end - self.settings.overlap
        recent = {k: v for k, v in state.recent.items() if v >= horizon}
        recent.update((k, v) for k, v in window.ids.items() if v >= horizon)
        state.recent = recent
        state.cursor = window.end
        state.window = None

    def _check_retention(self, state: State, window: Window) -> None:
        """Warn when RingCentral is at its cap and its oldest record is newer than where
        collection needed to start: what lay between may have been discarded unseen."""
        inside = [t for t in window.ids.values() if window.start <= t < window.end]
        check = retention_check(window.stats.get(FOUND), min(inside, default=None))
        at_cap = check.at_cap
        if at_cap is None:
            at_cap = self._account_at_cap(window.start)
        needed = window.start
        if state.cursor is not None and window.start <= state.cursor <= window.end:
            needed = state.cursor
        loss = retention_loss(at_cap, check.oldest_held, needed)
        if loss is None:
            return
        self._warn(
            DataLossWarning(
                "retention_cap",
                loss[0],
                loss[1],
                f"RingCentral holds its maximum of {RETENTION_MAX_RECORDS} records and the "
                f"oldest it still holds is from {format_time(loss[1])}: records between "
                f"{format_time(loss[0])} and {format_time(loss[1])} may have been deleted "
                "before they could be collected. Run the input more often.",
            )
        )

    def _account_at_cap(self, since: float) -> bool:
        """One request: does RingCentral hold its maximum of records from ``since`` on?"""
        end = self._now()
        page = self.client.search(page_body(format_time(since), format_time(end), 1, 1))
        self._observe(page)
        found = total_found(page.paging)
        return found is not None and found >= RETENTION_MAX_RECORDS

    # ----- persistence and reporting ------------------------------------------------------

    def _save(self, state: State) -> None:
        state.rate = self.client.heavy.export(self.clock.now())
        try:
            self.checkpoint.save(state.to_json())
        except AuditTrailError:
            raise
        except Exception as error:  # noqa: BLE001 - any store failure is reported the same way
            raise _store_failure("save", error, "the last page will be collected again.") from None

    def _save_penalty(self, state: State) -> None:
        """Remember an unexpired 429 penalty, so the next run does not restart it."""
        rate = self.client.heavy.export(self.clock.now())
        if rate["blocked_until"] and rate["blocked_until"] != (state.rate or {}).get(
            "blocked_until"
        ):
            try:
                self._save(state)
            except CheckpointError as error:
                self.log.warning("action=checkpoint_save_failed %s message=%s", self._ctx, error)

    def _warn(self, warning: DataLossWarning) -> None:
        """Log a data-loss warning and write it as a collection event."""
        self.report.warnings.append(warning)
        self.log.warning(
            "action=data_loss_warning %s reason=%s from=%s to=%s message=%s",
            self._ctx,
            warning.reason,
            "unknown" if warning.start is None else format_time(warning.start),
            format_time(warning.end),
            _quote(warning.message),
        )
        window = warning.window
        self._write_collection(
            data_loss_doc(
                self.settings.name,
                self._started,
                warning.reason,
                warning.start,
                warning.end,
                warning.message,
                window,
                None if window is None else _seen(window),
            )
        )

    def _write_collection(self, doc: Dict[str, Any]) -> None:
        """A collection event to the sink (the host decides whether to index it)."""
        self.sink.write_collection(doc)

    def _summarise(self, report: RunReport, state: Optional[State], started: float) -> None:
        now = self.clock.now()
        stats = self.client.stats
        report.requests = stats.requests
        report.logins = stats.logins
        report.rate_limited = stats.rate_limited
        report.retries = stats.retries
        report.duration_s = round(now - started, 3)
        if state is not None and state.cursor is not None:
            report.cursor = format_time(state.cursor)
            report.lag_s = round(self.server.now(now) - state.cursor, 3)
        self.log.info(
            "action=collection_run %s status=%s records=%d pages=%d requests=%d logins=%d "
            "rate_limited=%d retries=%d duration_s=%.3f lag_s=%s cursor=%s",
            self._ctx,
            report.status,
            report.records,
            report.pages,
            report.requests,
            report.logins,
            report.rate_limited,
            report.retries,
            report.duration_s,
            "" if report.lag_s is None else f"{report.lag_s:.3f}",
            report.cursor or "",
        )


def _store_failure(verb: str, error: Exception, consequence: str) -> CheckpointError:
    return CheckpointError(
        f"Could not {verb} the checkpoint ({type(error).__name__}: "
        f"{SECRETS.redact(str(error), limit=200)}): {consequence}"
    )


def _seen(window: Window) -> int:
    """Distinct records seen in the window: its ids, less those from outside it and variants."""
    stats = window.stats
    return len(window.ids) - stats.get(OUTSIDE, 0) - stats.get(CONFLICTS, 0)


def _unreconciled(window: Window, seen: int, gave_up: bool) -> DataLossWarning:
    found = window.stats.get(FOUND)
    why = (
        f"after {window.stats.get(REQUESTS, 0)} requests, the most one window may cost"
        if gave_up
        else f"after {window.stats.get(ROUNDS, 0)} re-reads"
    )
    return DataLossWarning(
        "unreconciled",
        window.start,
        window.end,
        f"RingCentral reported {found if found is not None else 'an unknown number of'} records "
        f"between {format_time(window.start)} and {format_time(window.end)} but {seen} could be "
        f"read {why}: records of this period may be missing. Compare with RingCentral's audit "
        "trail; if it persists, contact RingCentral support.",
        window,
        found,
    )


def _quote(text: str) -> str:
    """A value for a key=value log line: quoted, inner quotes escaped, on one line."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
