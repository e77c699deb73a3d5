"""Collect every audit record exactly once: load, plan, search, emit, save.

A run resumes an unfinished window where it stopped, else plans ``[cursor - overlap, now - lag)``
(``now`` being the earlier of our clock and RingCentral's, see windows.py) and reads it page by
page. Each page's new records go to the sink, then the checkpoint is saved: a crash repeats at
most that page, a stop between pages repeats nothing. What to ask next and what an answer means
are decided by the window reader (reader.py); what is said about it, by the run record
(runrecord.py). After the fresh window, finished days are counted again and re-read when their
count grew (reconciliation of the past, within its share of the request budget).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import List, Optional

from .client import AuditTrailClient, SearchPage, Stopped, page_body
from .clock import Clock, ServerTime
from .errors import SECRETS, AuditTrailError, CheckpointError, RequestRejected
from .events import AuditEvent
from .history import History
from .paging import (
    FOUND,
    RETENTION_MAX_RECORDS,
    retention_check,
    retention_loss,
    total_found,
)
from .policy import AnswerTooSlow
from .ports import CheckpointStore, EventSink
from .reader import SMALLER_PAGES, Request, WindowReader
from .reconcile import Reconciliation
from .runrecord import RunRecord
from .settings import InputSettings
from .state import State, Window, load_history, load_state
from .timeutil import format_time
from .windows import (
    DataLossWarning,
    Plan,
    beyond_server_time,
    mark_read,
    plan_window,
    recent_horizon,
    retention_needed_from,
    server_bound,
)

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
    reconciled: int = 0  # periods counted again this run
    recovered: int = 0  # records indexed by reconciliation


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
        history: Optional[CheckpointStore] = None,
    ) -> None:
        self.client = client
        # the emitted ids' history in a document of its own, saved once per window instead of
        # with every page (None: inside the checkpoint)
        self.history = history
        self.settings = settings
        self.checkpoint = checkpoint
        self.sink = sink
        self.clock = clock or client.clock
        self.log = logger or client.log
        self.stop = stop or getattr(self.clock, "stop", None) or threading.Event()
        self.report = RunReport()
        self.server = ServerTime()
        self.record = RunRecord(settings, self.log, sink)

    # ----- a run --------------------------------------------------------------------------

    def run(self) -> RunReport:
        """Collect until caught up, stopped or out of time; raises AuditTrailError on failure."""
        started = self.clock.now()
        self.client.deadline = started + self.settings.max_run_seconds
        self.client.context = self.record.ctx
        report = self.report = RunReport()
        self.record = RunRecord(self.settings, self.log, self.sink)
        self.record.started = started
        report.warnings = self.record.warnings
        self.server = ServerTime()
        state: Optional[State] = None
        try:
            state = self._load()
            if not self.client.shared_budget:
                self.client.heavy.restore(state.rate)
            self._collect(state)
            if not self.stop.is_set() and state.window is None:
                self._reconcile(state)
            if self.stop.is_set():
                report.status = "stopped"
        except Stopped as stopped:
            report.status = "stopped"
            self.record.stopped(str(stopped))
        except AuditTrailError as error:
            report.status = "error"
            report.error = error
            self.record.error(error.kind, error.message)
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
        if self.history is not None:
            try:
                state.history = load_history(self.history.load())
            except Exception:  # noqa: BLE001 - only recovery and leak checks use it
                state.history = History()
        configured = "" if self.settings.start is None else format_time(self.settings.start)
        if state.origin is None:
            state.origin = configured
        elif state.origin != configured:
            self.record.checkpoint_reset(state.origin, configured)
            # a new start, but the same API budget: keep the page size and the rate state
            state = State(origin=configured, per_page=state.per_page, rate=state.rate)
            state.history.changed = True  # the old history goes too
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
            self.record.cursor_repaired(
                plan.repaired, self._now(), None if plan.window is None else plan.window.start
            )
        for warning in plan.warnings:
            self.record.warn(warning)
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
            self.record.clock_skew(ahead)

    def _beyond_server_time(self, state: State, window: Window) -> bool:
        """Whether ``window`` ends after RingCentral's now - lag; then it is given up (its ids
        stay remembered as emitted) so that it can be planned again by RingCentral's clock."""
        now = self._now()
        if not beyond_server_time(window, now, self.settings):
            return False
        self.record.beyond_server_time(window.end, server_bound(now, self.settings))
        digests = state.digests
        state.history.remember((k, (t, digests.get(k, 0))) for k, t in window.ids.items())
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
        reader = WindowReader(state, window)
        while True:
            if self.stop.is_set():
                return STOPPED
            if reader.spent():
                self._finish(state, window, "unreconciled", gave_up=True)
                self._save(state)
                return FINISHED
            page = self._search(reader, reader.next_request())
            if page is None:
                continue  # page size reduced: this span starts again at page 1
            self._observe(page)
            if self._beyond_server_time(state, window):
                return REPLAN
            taken = reader.take(page.records, page.paging, self._now())
            self._emit(taken.events)
            self.record.notes(taken.notes, window)
            if taken.verdict is not None:
                self._finish(state, window, taken.verdict)
            self._save(state)
            if taken.verdict is not None:
                return FINISHED

    def _search(self, reader: WindowReader, request: Request) -> Optional[SearchPage]:
        """The page asked for; None when the page size had to be reduced (ask again)."""
        body = page_body(
            format_time(request.start),
            format_time(request.end),
            request.page,
            request.per_page,
            self.settings.action_ids,
            self.settings.exclude_action_ids,
        )
        try:
            # an answer cut for slowness is asked for in smaller pages, down to the smallest
            return self.client.search(body, shrinkable=request.per_page > SMALLER_PAGES[-1])
        except RequestRejected as error:
            if error.code != "CMN-101" or "perPage" not in error.message:
                raise
            if reader.smaller_pages() is None:
                raise
            self.record.page_size_reduced(request.per_page, reader.state.per_page, "refused")
            return None
        except AnswerTooSlow as slow:
            if reader.smaller_pages() is None:
                raise slow.error from None
            self.record.page_size_reduced(request.per_page, reader.state.per_page, "too_slow")
            return None

    def _emit(self, events: List[AuditEvent]) -> None:
        if events:
            self.sink.write(events)
        self.report.records += len(events)
        self.report.pages += 1

    # ----- a finished window --------------------------------------------------------------

    def _finish(self, state: State, window: Window, outcome: str, gave_up: bool = False) -> None:
        self.record.deviations(window)
        self._check_retention(state, window)
        self.record.window_finished(window, outcome, gave_up)
        digests, before = state.digests, state.recent
        # what the overlap read again is in the history already (changed ones are not)
        state.history.remember(
            (k, (t, digests.get(k, 0))) for k, t in window.ids.items() if k not in before
        )
        horizon = recent_horizon(window, self.settings)
        recent = {k: v for k, v in state.recent.items() if v >= horizon}
        recent.update((k, v) for k, v in window.ids.items() if v >= horizon)
        state.recent = recent
        state.digests = {k: digests[k] for k in recent if k in digests}
        mark_read(state.days, window, self._now(), self.settings)
        state.cursor = window.end
        state.window = None

    def _check_retention(self, state: State, window: Window) -> None:
        """Warn when RingCentral is at its cap and its oldest record is newer than where
        collection needed to start: what lay between may have been discarded unseen.

        The window's own count judges the account only when the input has no filter; with one,
        one unfiltered count of the account from where collection needed to start decides."""
        inside = [t for t in window.ids.values() if window.start <= t < window.end]
        needed = retention_needed_from(window, state.cursor)
        filtered = bool(self.settings.action_ids or self.settings.exclude_action_ids)
        if filtered:
            at_cap: Optional[bool] = self._account_at_cap(needed)
            # the oldest record RingCentral holds is no newer than the oldest one seen here
            oldest = min(inside, default=window.end)
        else:
            check = retention_check(window.stats.get(FOUND), min(inside, default=None))
            at_cap, oldest = check.at_cap, check.oldest_held  # type: ignore[assignment]
            if at_cap is None:
                at_cap = self._account_at_cap(window.start)
        loss = retention_loss(bool(at_cap), oldest, needed)
        if loss is None:
            return
        self.record.warn(
            DataLossWarning(
                "retention_cap",
                loss[0],
                loss[1],
                f"RingCentral holds its maximum of {RETENTION_MAX_RECORDS} records and the "
                f"oldest it still holds is from {format_time(loss[1])}"
                + (" or earlier" if filtered else "")
                + f": records between {format_time(loss[0])} and {format_time(loss[1])} may "
                "have been deleted before they could be collected. Run the input more often.",
            )
        )

    def _account_at_cap(self, since: float) -> bool:
        """One request: does RingCentral hold its maximum of records from ``since`` on?"""
        end = self._now()
        page = self.client.search(page_body(format_time(since), format_time(end), 1, 1))
        self._observe(page)
        found = total_found(page.paging)
        return found is not None and found >= RETENTION_MAX_RECORDS

    # ----- reconciliation of the past (reconcile.py) ---------------------------------------

    def _reconcile(self, state: State) -> None:
        Reconciliation(self, state).run()

    # ----- persistence and reporting ------------------------------------------------------

    def _save(self, state: State) -> None:
        if not self.client.shared_budget:
            state.rate = self.client.heavy.export(self.clock.now())
        try:
            if self.history is not None and state.history.changed:
                # first: ids in it were emitted already, so it may run ahead of the checkpoint
                self.history.save({"version": 1, "history": state.history.to_json()})
                state.history.changed = False
            self.checkpoint.save(state.to_json(with_history=self.history is None))
        except AuditTrailError:
            raise
        except Exception as error:  # noqa: BLE001 - any store failure is reported the same way
            raise _store_failure("save", error, "the last page will be collected again.") from None

    def _save_penalty(self, state: State) -> None:
        """Remember an unexpired 429 penalty, so the next run does not restart it (with a
        shared budget the budget store remembers it)."""
        if self.client.shared_budget:
            return
        rate = self.client.heavy.export(self.clock.now())
        if rate["blocked_until"] and rate["blocked_until"] != (state.rate or {}).get(
            "blocked_until"
        ):
            try:
                self._save(state)
            except CheckpointError as error:
                self.record.checkpoint_save_failed(error)

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
        self.record.run_summary(report)


def _store_failure(verb: str, error: Exception, consequence: str) -> CheckpointError:
    return CheckpointError(
        f"Could not {verb} the checkpoint ({type(error).__name__}: "
        f"{SECRETS.redact(str(error), limit=200)}): {consequence}"
    )
