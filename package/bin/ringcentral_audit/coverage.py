"""Collection events (issue 11): the evidence of coverage written into the records' own index.

One document per finished window, per data-loss warning and per reconciled period, built here as pure functions of
the window and its counters; the collector hands them to ``EventSink.write_collection`` after the
window's records and before the checkpoint save that marks the window finished. Field names are
fixed by the contract in COLLECTION_EVENTS.md.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from . import __version__
from .paging import DUPLICATES, EMITTED, FOUND, REQUESTS
from .state import Window
from .timeutil import format_time

JsonDict = Dict[str, Any]


def _common(kind: str, input_name: str, time: float, run_started: float) -> JsonDict:
    return {
        "kind": kind,
        "input": input_name,
        "addon_version": __version__,
        "time": format_time(time),
        "run_started": format_time(run_started),
    }


def window_doc(
    input_name: str, run_started: float, window: Window, seen: int, outcome: str
) -> JsonDict:
    """A finished window: what RingCentral reported, what was seen, emitted and spent."""
    doc = _common("window", input_name, window.end, run_started)
    stats = window.stats
    doc.update(
        window_start=format_time(window.start),
        window_end=format_time(window.end),
        total_found=stats.get(FOUND),
        records_seen=seen,
        emitted=stats.get(EMITTED, 0),
        duplicates=stats.get(DUPLICATES, 0),
        requests=stats.get(REQUESTS, 0),
        outcome=outcome,
    )
    return doc


def data_loss_doc(
    input_name: str,
    run_started: float,
    reason: str,
    loss_start: Optional[float],
    loss_end: float,
    message: str,
    window: Optional[Window] = None,
    seen: Optional[int] = None,
) -> JsonDict:
    """A period that may be missing, and why; for ``unreconciled`` also the window's counts."""
    doc = _common("data_loss", input_name, loss_end, run_started)
    doc.update(
        reason=reason,
        loss_start=None if loss_start is None else format_time(loss_start),
        loss_end=format_time(loss_end),
        message=message,
    )
    if window is not None:
        doc.update(
            window_start=format_time(window.start),
            window_end=format_time(window.end),
            total_found=window.stats.get(FOUND),
            records_seen=seen,
        )
    return doc


def reconcile_doc(
    input_name: str,
    run_started: float,
    start: float,
    end: float,
    counted_before: Optional[int],
    counted_now: Optional[int],
    re_read: bool,
    recovered: int,
    new_versions: int,
    outcome: str,
    requests: int,
) -> JsonDict:
    """A finished period counted again: RingCentral's count then and now, and what a re-read of
    it recovered (records newly indexed; new versions of changed records among them)."""
    doc = _common("reconcile", input_name, end, run_started)
    doc.update(
        window_start=format_time(start),
        window_end=format_time(end),
        counted_before=counted_before,
        counted_now=counted_now,
        re_read=re_read,
        recovered=recovered,
        new_versions=new_versions,
        requests=requests,
        outcome=outcome,
    )
    return doc
