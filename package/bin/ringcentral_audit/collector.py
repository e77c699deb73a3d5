"""Collect every audit record exactly once: frozen windows, de-duplication by id, a checkpoint per page.

A run resumes an unfinished window where it stopped, else plans ``[cursor - overlap, now - lag)``
and reads it page by page. Each page's new records go to the sink, then the checkpoint is saved:
a crash repeats at most that page, a stop between pages repeats nothing. A window is finished
only when the ids seen account for ``paging.totalFound``; otherwise it is read again, because
records can shift between pages while it is read. Nothing assumes the order of records.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .client import AuditTrailClient, SearchPage, Stopped, page_body
from .clock import Clock
from .errors import SECRETS, AuditTrailError, CheckpointError, RequestRejected
from .events import AuditEvent, to_event
from .ports import CheckpointStore, EventSink
from .settings import InputSettings
from .state import State, Window, load_state
from .timeutil import format_time
from .windows import DataLossWarning, plan_window

RETENTION_MAX_RECORDS = 10000
MS = 0.001
PART_FILL = 0.8  # sub-windows are cut to hold this share of a page, leaving room for unseen ones
SMALLER_PAGES = (500, 200, 100)  # if the API refuses perPage=1000


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
        self._ctx = f"input={_quote(settings.name)}"

    # ----- a run --------------------------------------------------------------------------

    def run(self) -> RunReport:
        """Collect until caught up, stopped or out of time; raises AuditTrailError on failure."""
        started = self.clock.now()
        self.client.deadline = started + self.settings.max_run_seconds
        self.client.context = self._ctx
        report = self.report = RunReport()
        state: Optional[State] = None
        try:
            state = self._load()
            self.client.heavy.restore(state.rate)
            planned = False
            while not self.stop.is_set():
                if state.window is None:
                    if planned:
                        break  # one fresh window per run; the next run reads the next one
                    planned = True
                    plan = plan_window(state, self.settings, self.clock.now())
                    for warning in plan.warnings:
                        self._warn(warning)
                    if plan.window is None:
                        break
                    state.window = plan.window
                if not self._read_window(state, state.window):
                    break
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

    # ----- one window ---------------------------------------------------------------------

    def _read_window(self, state: State, window: Window) -> bool:
        """Read until the window is finished (True) or a stop is requested (False).

        First page through the whole window: with a stable order that costs the minimum of
        requests. If the ids seen then fall short of ``totalFound`` (records moved between pages),
        read the window again as sub-windows cut at the seen records' times, each small enough
        for one page, which holds all its records whatever their order; a sub-window that still
        spans several pages is halved.
        """
        total_found: Optional[int] = None
        while True:
            if self.stop.is_set():
                return False
            span = (window.start, window.end) if window.parts is None else window.parts[0]
            page = self._search(state, window, span)
            if page is None:
                continue  # page size reduced: this span starts again at page 1
            self._emit(state, window, page)
            last = _is_last_page(page, window.page, state.per_page)
            if window.parts is None:
                found = _int((page.paging or {}).get("totalFound"))
                if found is not None:
                    total_found = max(total_found or 0, found)
                window.page += 1
                if last and total_found is not None and len(window.ids) < total_found:
                    window.parts = split_by_seen(window, state.per_page)
                    window.page = 1
                    last = False
                    self.log.info(
                        "action=window_split %s saw=%d total_found=%d parts=%d",
                        self._ctx,
                        len(window.ids),
                        total_found,
                        len(window.parts),
                    )
            else:
                start, end = window.parts[0]
                if last:
                    window.parts.pop(0)
                    window.page = 1
                elif window.page == 1 and end - start > 2 * MS:
                    middle = round((start + end) / 2, 3)
                    window.parts[0:1] = [(start, middle + MS), (middle, end)]
                else:  # more than a page of records in one millisecond: page through it
                    window.page += 1
                last = not window.parts
            if last:
                self._finish(state, window, total_found)
            self._save(state)
            if last:
                return True

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

    def _emit(self, state: State, window: Window, page: SearchPage) -> None:
        fallback = self.clock.now()
        new: List[AuditEvent] = []
        for record in page.records:
            event = to_event(record, fallback)
            if event.id in window.ids:
                continue
            window.ids[event.id] = event.time
            if not event.time_from_record:
                self.log.warning(
                    "action=record_without_time %s id=%s eventTime=%r: indexed with the "
                    "collection time",
                    self._ctx,
                    event.id,
                    str(record.get("eventTime"))[:40],
                )
            if event.id not in state.recent:
                new.append(event)
        if new:
            self.sink.write(new)
        self.report.records += len(new)
        self.report.pages += 1

    def _finish(self, state: State, window: Window, total_found: Optional[int]) -> None:
        if total_found is not None and total_found >= RETENTION_MAX_RECORDS:
            oldest_seen = min(window.ids.values(), default=window.end)
            self._warn(
                DataLossWarning(
                    "retention_cap",
                    window.start,
                    oldest_seen,
                    f"RingCentral holds {total_found} records for this window, its maximum of "
                    f"{RETENTION_MAX_RECORDS}: older records between {format_time(window.start)} "
                    f"and {format_time(oldest_seen)} may have been deleted before they could be "
                    "collected. Run the input more often.",
                )
            )
        horizon = window.end - self.settings.overlap
        recent = {k: v for k, v in state.recent.items() if v >= horizon}
        recent.update((k, v) for k, v in window.ids.items() if v >= horizon)
        state.recent = recent
        state.cursor = window.end
        state.window = None

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
        self.report.warnings.append(warning)
        self.log.warning(
            "action=data_loss_warning %s reason=%s from=%s to=%s message=%s",
            self._ctx,
            warning.reason,
            format_time(warning.start),
            format_time(warning.end),
            _quote(warning.message),
        )

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
            report.lag_s = round(now - state.cursor, 3)
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


def split_by_seen(window: Window, per_page: int) -> List[Tuple[float, float]]:
    """Sub-windows of ``window`` each holding about PART_FILL of a page of the records seen.

    Neighbours overlap by a millisecond, so a record on a cut is inside one of them whichever
    way the API treats the bounds (duplicates are dropped by id).
    """
    chunk = max(1, int(per_page * PART_FILL))
    times = sorted(t for t in window.ids.values() if window.start < t < window.end)
    cuts: List[float] = []
    for t in times[chunk::chunk]:
        if not cuts or t > cuts[-1]:
            cuts.append(t)
    bounds = [window.start, *cuts, window.end]
    parts = [(bounds[i], bounds[i + 1] + MS) for i in range(len(bounds) - 2)]
    parts.append((bounds[-2], window.end))
    return parts


def _is_last_page(page: SearchPage, number: int, per_page: int) -> bool:
    """Whether ``page`` (1-based ``number``) ends the window, from paging or, without it, its size."""
    if not page.records:
        return True
    paging = page.paging or {}
    size = _int(paging.get("perPage")) or per_page
    pages = _int(paging.get("total"))
    if pages is not None:
        return number >= pages
    found = _int(paging.get("totalFound"))
    if found is not None:
        return number * size >= found
    return len(page.records) < size


def _store_failure(verb: str, error: Exception, consequence: str) -> CheckpointError:
    return CheckpointError(
        f"Could not {verb} the checkpoint ({type(error).__name__}: "
        f"{SECRETS.redact(str(error))[:200]}): {consequence}"
    )


def _int(value: object) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _quote(text: str) -> str:
    """A value for a key=value log line: quoted, inner quotes escaped, on one line."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
