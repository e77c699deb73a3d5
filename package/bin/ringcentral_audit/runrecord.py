"""The run's record: every log line and collection event a run writes, one function each.

The collector and the window reader decide; this module says what they decided, in key=value
log lines an admin can search and in collection events (coverage.py) the views count.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from .coverage import data_loss_doc, reconcile_doc, window_doc
from .errors import shown_id
from .paging import FOUND, REQUESTS, ROUNDS, deviations
from .ports import EventSink
from .reader import (
    Conflict,
    NewVersion,
    Note,
    NoTime,
    Outside,
    PagesIgnored,
    SameContent,
    Split,
    seen_in,
)
from .settings import InputSettings
from .state import Window
from .timeutil import format_time
from .windows import DataLossWarning


def quote(text: str) -> str:
    """A value for a key=value log line: quoted, inner quotes escaped, on one line."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


class RunRecord:
    """Writes one input's log lines and collection events for one run."""

    def __init__(self, settings: InputSettings, log: logging.Logger, sink: EventSink) -> None:
        self.settings = settings
        self.log = log
        self.sink = sink
        self.ctx = f"input={quote(settings.name)}"
        self.started = 0.0
        self.warnings: List[DataLossWarning] = []

    def _filters(self) -> Dict[str, Any]:
        return {
            "action_ids": list(self.settings.action_ids),
            "exclude_action_ids": list(self.settings.exclude_action_ids),
        }

    # ----- notes from the window reader ----------------------------------------------------

    def notes(self, notes: List[Note], window: Window) -> None:
        for note in notes:
            if isinstance(note, Conflict):
                self.conflict(note)
            elif isinstance(note, NewVersion):
                self.new_version(note)
            elif isinstance(note, NoTime):
                self.without_time(note)
            elif isinstance(note, Outside):
                self.outside(note, window)
            elif isinstance(note, SameContent):
                self.same_content(note)
            elif isinstance(note, Split):
                self.split(note)
            elif isinstance(note, PagesIgnored):
                self.pages_ignored(note.requests)

    def conflict(self, note: Conflict) -> None:
        self.log.warning(
            "action=duplicate_id_conflict %s id=%s: RingCentral sent two records with this "
            "id and different content; the second is indexed too (kept as %s)",
            self.ctx,
            shown_id(note.key),
            shown_id(note.kept_as),
        )

    def new_version(self, note: NewVersion) -> None:
        self.log.warning(
            "action=record_new_version %s id=%s kept_as=%s: RingCentral now holds this record "
            "with other content than when it was indexed; the new version is indexed too",
            self.ctx,
            shown_id(note.key),
            shown_id(note.kept_as),
        )

    def without_time(self, note: NoTime) -> None:
        self.log.warning(
            "action=record_without_time %s id=%s eventTime=%s: indexed with the collection time",
            self.ctx,
            shown_id(note.key),
            shown_id(note.raw_time),
        )

    def outside(self, note: Outside, window: Window) -> None:
        self.log.warning(
            "action=record_outside_window %s id=%s eventTime=%s window_start=%s "
            "window_end=%s: RingCentral sent a record from outside the requested window; "
            "indexed once",
            self.ctx,
            shown_id(note.key),
            format_time(note.time) if abs(note.time) < 2.5e11 else "out-of-range",
            format_time(window.start),
            format_time(window.end),
        )

    def same_content(self, note: SameContent) -> None:
        self.log.info(
            "action=identical_records_without_id %s key=%s: RingCentral sent several records "
            "without id and with the same content in one answer; each is indexed",
            self.ctx,
            shown_id(note.key),
        )

    def split(self, note: Split) -> None:
        self.log.info(
            "action=window_split %s saw=%d total_found=%d parts=%d round=%d",
            self.ctx,
            note.saw,
            note.found,
            note.parts,
            note.round,
        )

    # ----- the run's events ----------------------------------------------------------------

    def stopped(self, reason: str) -> None:
        self.log.info("action=collection_stopped %s reason=%r", self.ctx, reason)

    def error(self, kind: str, message: str) -> None:
        self.log.error(
            "action=collection_error %s error_kind=%s message=%s", self.ctx, kind, quote(message)
        )

    def checkpoint_reset(self, old: str, new: str) -> None:
        self.log.warning(
            "action=checkpoint_reset %s reason=start_date_changed old=%s new=%s: collection "
            "starts again from the new start date",
            self.ctx,
            old or "all",
            new or "all",
        )

    def checkpoint_save_failed(self, error: Exception) -> None:
        self.log.warning("action=checkpoint_save_failed %s message=%s", self.ctx, error)

    def cursor_repaired(self, cursor: float, server: float, start: Optional[float]) -> None:
        self.log.warning(
            "action=cursor_repaired %s cursor=%s server_time=%s window_start=%s: the "
            "checkpoint's cursor was ahead of RingCentral's clock",
            self.ctx,
            format_time(cursor),
            format_time(server),
            "" if start is None else format_time(start),
        )

    def clock_skew(self, ahead: float) -> None:
        self.log.warning(
            "action=clock_skew %s ahead_s=%.3f: this machine's clock is %s RingCentral's by "
            "%.0f s; windows end by RingCentral's clock. Check the machine's time sync (NTP).",
            self.ctx,
            ahead,
            "ahead of" if ahead > 0 else "behind",
            abs(ahead),
        )

    def beyond_server_time(self, end: float, bound: float) -> None:
        self.log.warning(
            "action=window_beyond_server_time %s window_end=%s server_bound=%s: planned again",
            self.ctx,
            format_time(end),
            format_time(bound),
        )

    def page_size_reduced(self, old: int, new: int, why: str) -> None:
        self.log.warning(
            "action=page_size_reduced %s from=%d to=%d reason=%s", self.ctx, old, new, why
        )

    def pages_ignored(self, searches: int) -> None:
        self.log.warning(
            "action=page_number_ignored %s searches=%d: RingCentral answered every page number "
            "with the first page; windows are read in time slices that each fit one page",
            self.ctx,
            searches,
        )

    def deviations(self, window: Window) -> None:
        """What RingCentral did wrong while the window was read, if anything."""
        named = deviations(window.stats, seen_in(window))
        if named:
            self.log.warning(
                "action=window_deviation %s window_start=%s window_end=%s %s: RingCentral's "
                "answers for this window did not add up; every record read was indexed once",
                self.ctx,
                format_time(window.start),
                format_time(window.end),
                " ".join(named),
            )

    def window_finished(self, window: Window, outcome: str, gave_up: bool) -> None:
        """The window's unreconciled warning, if any, and its collection event."""
        seen = seen_in(window)
        if outcome == "unreconciled":
            self.warn(unreconciled(window, seen, gave_up))
        doc = window_doc(self.settings.name, self.started, window, seen, outcome)
        doc.update(self._filters())
        self.sink.write_collection(doc)

    def warn(self, warning: DataLossWarning) -> None:
        """A data-loss warning, logged and written as a collection event."""
        self.warnings.append(warning)
        self.log.warning(
            "action=data_loss_warning %s reason=%s from=%s to=%s message=%s",
            self.ctx,
            warning.reason,
            "unknown" if warning.start is None else format_time(warning.start),
            format_time(warning.end),
            quote(warning.message),
        )
        window = warning.window
        doc = data_loss_doc(
            self.settings.name,
            self.started,
            warning.reason,
            warning.start,
            warning.end,
            warning.message,
            window,
            None if window is None else seen_in(window),
        )
        doc.update(self._filters())
        self.sink.write_collection(doc)

    def reconciled(
        self,
        start: float,
        end: float,
        before: Optional[int],
        now: Optional[int],
        re_read: bool,
        recovered: int,
        new_versions: int,
        outcome: str,
        requests: int,
    ) -> None:
        """A finished period counted again (and re-read when its count said so)."""
        if re_read:
            self.log.warning(
                "action=reconciled %s window_start=%s window_end=%s counted_before=%s "
                "counted_now=%s recovered=%d new_versions=%d outcome=%s: a finished period "
                "was read again because RingCentral's count of it changed",
                self.ctx,
                format_time(start),
                format_time(end),
                before,
                now,
                recovered,
                new_versions,
                outcome,
            )
        doc = reconcile_doc(
            self.settings.name,
            self.started,
            start,
            end,
            before,
            now,
            re_read,
            recovered,
            new_versions,
            outcome,
            requests,
        )
        doc.update(self._filters())
        self.sink.write_collection(doc)

    def run_summary(self, report: Any) -> None:
        self.log.info(
            "action=collection_run %s status=%s records=%d pages=%d requests=%d logins=%d "
            "rate_limited=%d retries=%d duration_s=%.3f lag_s=%s cursor=%s",
            self.ctx,
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


def unreconciled(window: Window, seen: int, gave_up: bool) -> DataLossWarning:
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
