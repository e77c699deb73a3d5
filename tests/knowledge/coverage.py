"""The coverage content (collection events, Coverage view, completeness report, collection alerts)
as functions of an app folder, so tests can run it on the real package and on broken copies.

Searches are run whole by spl_run on the sample collection events (each through the search-time
configuration of sourcetype ringcentral:audit:collection) and on the add-on's log lines.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from pytest_splunk_addon.cim_tests.data_model_handler import DataModelHandler

from . import checks, content, psa_offline, spl_run
from .search_time import Event, Fields, SearchTime, read_conf

SOURCETYPE = "ringcentral:audit:collection"
EVENTTYPE = "ringcentral_audit_collection"
VIEW = "ringcentral_audit_coverage"
REPORT = "RingCentral Audit - Completeness report"
STALLED = "RingCentral Audit - Collection stalled"
DATA_LOSS = "RingCentral Audit - Data loss detected"
FAILING = "RingCentral Audit - Collection failing"
FAILURE_LOG = Path(__file__).parent / "data" / "collection_failure_log_lines.txt"
CIM_MODELS = ("Change", "Authentication")
REASONS = {
    "history_clamped",
    "checkpoint_expired",
    "retention_cap",
    "unreconciled",
    "cursor_in_future",
}


def epoch(text: str) -> float:
    return spl_run.epoch_of(text)


def iso(seconds: float) -> str:
    """Epoch seconds as the contract's RFC 3339 UTC with milliseconds."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def shown(seconds: float) -> str:
    """Epoch seconds as the searches show them (strftime "%Y-%m-%d %H:%M:%S.%3N %Z", UTC)."""
    return iso(seconds).replace("T", " ").replace("Z", " UTC")


def config(app: Path) -> SearchTime:
    return checks.search_time(app, SOURCETYPE)


def as_search_event(event: Event) -> Fields:
    """An emulated event as a search sees it, with _time from "time" as Splunk indexes it."""
    fields = dict(event.search_fields())
    fields["_time"] = (repr(epoch(event.fields["time"][0])),)
    return fields


def index_doc(app: Path, doc: Mapping[str, object]) -> Fields:
    """A collection document as the glue writes it, through the sourcetype's search time."""
    raw = json.dumps(doc, separators=(",", ":"))
    return as_search_event(config(app).run(raw, checks.INDEX_METADATA))


def collection_events(app: Path) -> List[Fields]:
    """The sample collection events, through the search-time configuration of their sourcetype."""
    return [
        as_search_event(event)
        for sample, event in zip(checks.samples(app), checks.events(app))
        if sample.metadata.get("sourcetype") == SOURCETYPE
    ]


def log_events(path: Path) -> List[Fields]:
    """The add-on's log lines (content.log_events) with _time from the line's timestamp."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    events = content.log_events(path)
    for line, fields in zip(lines, events):
        stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=timezone.utc)
        fields["_time"] = (repr(stamp.timestamp()),)
    return events


def macros(app: Path) -> Dict[str, spl_run.Macro]:
    return spl_run.macros_from_conf(read_conf(app / "default" / "macros.conf"))


def saved(app: Path, name: str) -> Dict[str, str]:
    return read_conf(app / "default" / "savedsearches.conf")[name]


def view_query(app: Path, source: str) -> str:
    path = app / "default" / "data" / "ui" / "views" / f"{VIEW}.xml"
    board = content.load_dashboard(path)
    # a ds.chain runs as its base search followed by its own post-processing query
    return next(q.text for q in board.queries() if q.where.endswith(f", {source}"))


def run(
    app: Path,
    search: str,
    events: Sequence[Fields],
    now: str,
    tokens: Optional[Mapping[str, str]] = None,
) -> List[spl_run.Row]:
    tokens = {"input_filter": "*", **(tokens or {})}  # the views' input filter at its default
    return spl_run.run(search, events, macros(app), epoch(now), tokens)


def completeness(
    app: Path, events: Sequence[Fields], start: str, end: str, now: str = "2026-06-01T10:20:00Z"
) -> Dict[str, Tuple[str, Tuple[str, ...]]]:
    """input -> (complete, gaps) of the completeness macro as the Coverage view calls it."""
    rows = run(
        app, view_query(app, "ds_completeness"), events, now, {"cov_from": start, "cov_to": end}
    )
    return {
        _answer_key(row): (str(row["complete"]), tuple(spl_run.values_of(row.get("gaps"))))  # type: ignore[misc]
        for row in rows
    }


def _answer_key(row: spl_run.Row) -> str:
    """An input's row by its name, an account's as "account:<name>", the no-evidence row "none"."""
    level, name = str(row["level"]), str(row.get("name"))
    return {"input": name, "account": f"account:{name}"}.get(level, level)


def holes(app: Path, events: Sequence[Fields]) -> List[Tuple[str, str, str, float]]:
    rows = run(
        app, view_query(app, "ds_holes"), events, "2026-06-01T10:20:00Z", {"input_filter": "*"}
    )
    return [
        (
            str(r["Input"]),
            str(r["Not collected from"]),
            str(r["Not collected to"]),
            float(r["Minutes"]),
        )  # type: ignore[arg-type]
        for r in rows
    ]


# --- the checks (lists of problems, empty when all is well)

EXPECTED_HOLES = [
    ("northwind", "2026-06-01 08:25:00.000 UTC", "2026-06-01 08:40:00.000 UTC", 15.0),
    ("northwind", "2026-06-01 09:00:00.000 UTC", "2026-06-01 09:10:00.000 UTC", 10.0),
]


def cim_problems(app: Path) -> List[str]:
    """Collection events carry their own eventtype and tag only, and pytest-splunk-addon's data
    model definitions put them in no data model; the record eventtypes never match them."""
    problems = []
    handler = DataModelHandler(str(psa_offline.DATA_MODELS))
    for sample, event in zip(checks.samples(app), checks.events(app)):
        if sample.metadata.get("sourcetype") != SOURCETYPE:
            continue
        where = sample.name
        if event.eventtypes != [EVENTTYPE]:
            problems.append(f"{where}: eventtypes {event.eventtypes}, expected [{EVENTTYPE}]")
        models = psa_offline.models_of_tags(event.tags, handler)
        if models:
            problems.append(f"{where}: tags {event.tags} put it in data models {models}")
        if psa_offline.assigned_datamodels(event.tags):
            problems.append(f"{where}: pytest-splunk-addon assigns data models to {event.tags}")
    return problems


def search_problems(app: Path) -> List[str]:
    """The holes, the data-loss periods and the completeness answers on the sample events."""
    events = collection_events(app)
    problems = []
    found = holes(app, events)
    if found != EXPECTED_HOLES:
        problems.append(f"holes: {found} != {EXPECTED_HOLES}")
    answer = completeness(app, events, "2026-06-01T08:00:00Z", "2026-06-01T08:25:00Z")
    if answer.get("northwind") != ("yes", ()):
        problems.append(f"northwind 08:00-08:25 is complete, the report says {answer}")
    trailing = ("2026-06-01 08:15:00.000 UTC to 2026-06-01 08:25:00.000 UTC not collected",)
    if answer.get("contoso") != ("no", trailing):
        problems.append(f"contoso stops at 08:15, the report says {answer.get('contoso')}")
    answer = completeness(app, events, "2026-06-01T08:00:00Z", "2026-06-01T09:15:00Z")
    expected_gaps = (
        "2026-06-01 08:25:00.000 UTC to 2026-06-01 08:40:00.000 UTC not collected",
        "2026-06-01 08:40:00.000 UTC to 2026-06-01 08:45:00.000 UTC data loss: unreconciled",
        "2026-06-01 09:00:00.000 UTC to 2026-06-01 09:10:00.000 UTC not collected",
    )
    if answer.get("northwind") != ("no", expected_gaps):
        problems.append(f"northwind 08:00-09:15: {answer.get('northwind')}")
    return problems


def suppressed_firings(
    stanza: Mapping[str, str], results_per_run: Sequence[Tuple[float, List[spl_run.Row]]]
) -> List[Tuple[str, ...]]:
    """The result rows that would trigger an action, run after run, under the stanza's
    per-result suppression (alert.suppress.fields for alert.suppress.period)."""
    fields = [f.strip() for f in stanza.get("alert.suppress.fields", "").split(",") if f.strip()]
    period = _duration(stanza.get("alert.suppress.period", "0"))
    last: Dict[Tuple[str, ...], float] = {}
    fired = []
    for now, rows in results_per_run:
        for row in rows:
            key = tuple(spl_run.text(spl_run.single(row.get(f), f) or "") for f in fields)  # type: ignore[arg-type]
            if stanza.get("alert.suppress") == "1" and key in last and now - last[key] < period:
                continue
            last[key] = now
            fired.append(key)
    return fired


def _duration(text: str) -> float:
    match = re.fullmatch(r"(\d+)([smhd]?)", text.strip())
    if not match:
        raise ValueError(f"suppression period {text!r}")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def relative(now: float, spec: str) -> float:
    if spec == "0":
        return 0.0
    if spec == "now":
        return now
    return spl_run.relative_time(now, spec)


# --- alerts, run as the scheduler runs them


def schedule(start: str, end: str, every_minutes: int) -> List[float]:
    first, last = epoch(start), epoch(end)
    return [
        first + i * every_minutes * 60
        for i in range(int((last - first) // (every_minutes * 60)) + 1)
    ]


def _minutes(cron: str) -> int:
    match = re.fullmatch(r"\*/(\d+) \* \* \* \*", cron.strip())
    if not match:
        raise ValueError(f"cron_schedule {cron!r}: only */N * * * * is simulated")
    return int(match.group(1))


def simulate(
    app: Path,
    name: str,
    events: Sequence[Fields],
    start: str,
    end: str,
    visible_from: Mapping[int, float],
    indexed_at: Optional[Mapping[int, float]] = None,
) -> List[Tuple[str, ...]]:
    """Fire the alert `name` at every scheduled time from start to end: each run sees the events
    already written (visible_from[i] <= now) within its dispatch time range (and index-time slice
    when the stanza has one); the firings that survive suppression, in order."""
    stanza = saved(app, name)
    results = []
    for now in schedule(start, end, _minutes(stanza["cron_schedule"])):
        earliest = relative(now, stanza["dispatch.earliest_time"])
        latest = relative(now, stanza.get("dispatch.latest_time", "now"))
        window = []
        for position, fields in enumerate(events):
            time = float(fields["_time"][0])
            if visible_from[position] > now or not earliest <= time < latest:
                continue
            if "dispatch.index_earliest" in stanza:
                assert indexed_at is not None, "index-time slices need index times"
                low = relative(now, stanza["dispatch.index_earliest"])
                high = relative(now, stanza["dispatch.index_latest"])
                if not low <= indexed_at[position] < high:
                    continue
            window.append(fields)
        rows = spl_run.run(stanza["search"], window, macros(app), now, None, (earliest, latest))
        results.append((now, rows))
    return suppressed_firings(stanza, results)


def written_at(fields: Fields) -> float:
    """When an event exists: a collection event when its run wrote it, a log line at its time."""
    if "run_started" in fields:
        return epoch(fields["run_started"][0]) + 1.0
    return float(fields["_time"][0])


def stalled_firings(app: Path) -> List[Tuple[str, ...]]:
    events = collection_events(app) + log_events(checks.LOG_SAMPLE)
    visible = {i: written_at(f) for i, f in enumerate(events)}
    return simulate(app, STALLED, events, "2026-06-01T06:00:00Z", "2026-06-02T12:00:00Z", visible)


def data_loss_firings(app: Path) -> List[Tuple[str, ...]]:
    events = collection_events(app)
    visible = {i: written_at(f) for i, f in enumerate(events)}
    return simulate(
        app, DATA_LOSS, events, "2026-06-01T06:00:00Z", "2026-06-02T12:00:00Z", visible, visible
    )


def failing_firings(app: Path) -> List[Tuple[str, ...]]:
    events = log_events(FAILURE_LOG) + log_events(checks.LOG_SAMPLE)
    visible = {i: written_at(f) for i, f in enumerate(events)}
    return simulate(app, FAILING, events, "2026-06-01T06:00:00Z", "2026-06-02T12:00:00Z", visible)
