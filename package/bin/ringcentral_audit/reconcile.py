"""Reconciliation of the past: finished days counted again, and read again when their count grew.

Within RingCentral's 180 days, each finished day of the last ``reconcile_days`` that this
checkpoint read is counted once a day (one request, ``perPage=1``, with the input's filters);
a day whose count grew, or exceeds the ids indexed for it (history.py), is read again and only
records not indexed before are emitted: late arrivals beyond the overlap, a transiently empty
answer, a changed record seen again. Spending stays within the input's share of the day's
budget; each day counted is named in a ``reconcile`` collection event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Tuple

from .client import page_body
from .history import HISTORY_MAX
from .paging import total_found
from .reader import NEW_VERSIONS, WindowReader
from .state import State, Window
from .timeutil import format_time, parse_time
from .windows import DAY, day_of, periods_to_reconcile, reconcile_allowance

if TYPE_CHECKING:
    from .collector import Collector


class Reconciliation:
    """One run's reconciliation, through the collector's search, emit and save."""

    def __init__(self, collector: Collector, state: State) -> None:
        self.c = collector
        self.state = state

    def run(self) -> None:
        """Count finished days again (one request each, once a day); re-read a day whose count
        grew or exceeds what was emitted, indexing only what is new. Within its budget share."""
        now = self.c._now()
        due = periods_to_reconcile(self.state.days, self.state.cursor, now, self.c.settings)
        if not due:
            return
        allowance = reconcile_allowance(self.state.days, now, self.c.settings)
        today = self.state.days.setdefault(format_time(day_of(now)), {})
        oldest_known = self.state.history.oldest()
        full = len(self.state.history) >= HISTORY_MAX
        for start, end in due:
            if self.c.stop.is_set() or allowance <= 0:
                break
            facts = self.state.days.setdefault(format_time(day_of(start)), {})
            before = facts.get("counted")
            counted = self._count(start, end)
            spent = 1
            held = self.state.history.count(start, end)
            grew = counted is not None and before is not None and counted > before
            beyond = full and oldest_known is not None and start < oldest_known
            re_read = counted is not None and (counted > held or grew) and not beyond
            recovered = versions = 0
            outcome = "unknown" if counted is None else "beyond_history" if beyond else "match"
            if re_read:
                recovered, versions, cost, outcome = self._re_read(start, end, allowance)
                spent += cost
            facts["counted"] = counted if counted is not None else facts.get("counted", 0)
            facts["checked"] = round(now * 1000)
            today["spent"] = today.get("spent", 0) + spent
            allowance -= spent
            self.c.report.reconciled += 1
            self.c.report.recovered += recovered
            self.c.record.reconciled(
                start, end, before, counted, re_read, recovered, versions, outcome, spent
            )
            self.c._save(self.state)
        self._prune_days(now)

    def _count(self, start: float, end: float) -> Optional[int]:
        body = page_body(
            format_time(start),
            format_time(end),
            1,
            1,
            self.c.settings.action_ids,
            self.c.settings.exclude_action_ids,
        )
        page = self.c.client.search(body)
        self.c._observe(page)
        return total_found(page.paging)

    def _re_read(self, start: float, end: float, allowance: int) -> Tuple[int, int, int, str]:
        """Read a finished period again; (records indexed, new versions, requests, outcome)."""
        window = Window(start=start, end=end)
        reader = WindowReader(self.state, window, deep=True)
        reader.budget = min(reader.budget, max(1, allowance - 1))
        recovered = 0
        verdict: Optional[str] = None
        while verdict is None and not self.c.stop.is_set() and not reader.spent():
            page = self.c._search(reader, reader.next_request())
            if page is None:
                continue
            self.c._observe(page)
            taken = reader.take(page.records, page.paging, self.c._now())
            self.c._emit(taken.events)
            self.c.record.notes(taken.notes, window)
            recovered += len(taken.events)
            verdict = taken.verdict
            emitted = {e.id for e in taken.events}
            digests = self.state.digests
            self.state.history.remember(
                (k, (t, digests.get(k, 0))) for k, t in window.ids.items() if k in emitted
            )
            if emitted:
                self.c._save(self.state)
        outcome = verdict or ("stopped" if self.c.stop.is_set() else "budget_spent")
        for key in window.ids:  # the period's fingerprints now live in the history
            if key not in self.state.recent:
                self.state.digests.pop(key, None)
        return (
            recovered,
            window.stats.get(NEW_VERSIONS, 0),
            window.stats.get("requests", 0),
            outcome,
        )

    def _prune_days(self, now: float) -> None:
        keep = now - (self.c.settings.reconcile_days + 2) * DAY
        self.state.days = {
            k: v for k, v in self.state.days.items() if (parse_time(k) or 0.0) >= keep
        }
