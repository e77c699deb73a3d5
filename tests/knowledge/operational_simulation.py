"""The operational alerts (Collection stalled, Collection failing, Data loss detected) run as
Splunk's scheduler runs them, over a simulated day of inputs that live, stall, recover, never
run, are disabled, run long, run on cron, run with the Collection events box off, and fail.

What the simulation takes from Splunk's documentation, and where it leaves a choice open:
- A scheduled search's dispatch time range (dispatch.earliest_time / latest_time, and
  dispatch.index_earliest / index_latest) is relative to its scheduled time; addinfo reports it
  as info_min_time / info_max_time (Search Reference, addinfo: "the earliest/latest time
  boundaries for the search"). Not simulated: a dispatch range taken from the actual start of a
  late run (no Splunk document says so; see the report of issue 16).
- now() is "the time the search started" (Search Reference, now()): the scheduled time or the
  actual start of a delayed run. Every run is simulated under both readings (NOW_READINGS).
- realtime_schedule = 0 (continuous scheduling, savedsearches.conf.spec): no scheduled time is
  skipped; a run that starts late still runs for its scheduled time. Runs are delayed at random,
  some beyond the next scheduled time (a "skipped" slot run late).
- An event is searchable from its index time plus an indexing delay (random, up to MAX_DELAY);
  a run sees what is searchable when it starts.
- Per-result suppression (alert.suppress.fields for alert.suppress.period) from the run's start.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from . import content, coverage, spl_run, spl_search
from .alert_simulation import cron_times
from .search_time import Fields

NOW_READINGS = ("scheduled", "start")
MAX_DELAY = 8 * 60.0  # indexing delay, below the searches' 10-minute margin
DAY = 86400.0


@dataclass
class Written:
    """One event as the index holds it."""

    fields: Fields
    searchable_at: float
    indexed_at: float


@dataclass
class World:
    start: float
    end: float
    events: List[Written] = field(default_factory=list)
    # the truth: (input, moment) of every stall (no window finished for 3 schedules, enabled)
    stalls: List[Tuple[str, float]] = field(default_factory=list)
    # (input, error kind, first failure) of every streak of >= 2 same-kind failures
    streaks: List[Tuple[str, str, float]] = field(default_factory=list)
    data_losses: List[Tuple[str, str]] = field(default_factory=list)


def log_fields(line: str, when: float) -> Fields:
    """A log line as Splunk's automatic key=value extraction sees it (content.log_events)."""
    fields: Dict[str, Tuple[str, ...]] = {
        "index": ("_internal",),
        "source": (f"/opt/splunk/var/log/splunk/{content.ADDON_LOG}",),
        "sourcetype": ("ta_ringcentral_audit_ringcentral_audit_trail",),
    }
    for key, value in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line):
        fields.setdefault(key, (value.strip('"'),))
    fields["_time"] = (repr(when),)
    return fields


class _Docs:
    """Collection documents through the sourcetype's real search time, cached by content (the
    same inventory listing recurs with another time only)."""

    def __init__(self, app: Path) -> None:
        self.app = app
        self.cache: Dict[str, Fields] = {}

    def fields(self, doc: Mapping[str, object], when: float) -> Fields:
        body = {k: v for k, v in doc.items() if k != "time"}
        key = json.dumps(body, sort_keys=True)
        if key not in self.cache:
            self.cache[key] = coverage.index_doc(self.app, {**body, "time": coverage.iso(when)})
        out = dict(self.cache[key])
        out["_time"] = (repr(when),)
        out["time"] = (coverage.iso(when),)
        return out


@dataclass
class Input:
    name: str
    interval: str  # as inputs.conf holds it: seconds or a cron expression
    schedule_s: float
    # (from, to): periods in which runs happen and finish windows
    alive: List[Tuple[float, float]]
    listed_from: float = 0.0
    disabled_from: Optional[float] = None
    box: bool = True
    long_run: Optional[Tuple[float, float]] = None  # one run finishing a window every minute
    failures: List[Tuple[float, float, str]] = field(default_factory=list)  # (from, to, kind)


def _inputs(start: float) -> List[Input]:
    h = 3600.0
    return [
        Input("steady", "900", 900, [(start, start + DAY)]),
        Input("dead", "900", 900, [(start, start + 8 * h)]),
        Input("flaky", "900", 900, [(start, start + 5 * h), (start + 7 * h, start + 15 * h)]),
        Input("fresh", "900", 900, [], listed_from=start + 9 * h),
        Input("retired", "900", 900, [(start, start + 10 * h)], disabled_from=start + 10 * h),
        Input("cron", "*/30 * * * *", 1800, [(start, start + 12 * h)]),
        Input("quiet", "900", 900, [(start, start + 14 * h)], box=False),
        Input(
            "slow",
            "900",
            900,
            [(start, start + 13 * h)],
            long_run=(start + 11 * h, start + 12 * h + 40 * 60),
        ),
        Input(
            "broken",
            "600",
            600,
            [(start, start + DAY)],
            failures=[
                (start + 2 * h, start + 2 * h + 40 * 60, "configuration"),
                (start + 6 * h, start + 6 * h + 4, "auth"),  # at most one failed run: no streak
                (start + 16 * h, start + 17 * h, "auth"),
            ],
        ),
    ]


def build_world(app: Path, seed: int, start: str = "2026-06-01T00:00:00Z") -> World:
    rng = random.Random(seed)
    t0 = coverage.epoch(start)
    world = World(t0, t0 + DAY)
    docs = _Docs(app)
    inputs = _inputs(t0)

    def add(fields: Fields, written: float) -> None:
        indexed = written + rng.uniform(0, 60)
        world.events.append(Written(fields, indexed + rng.uniform(0, MAX_DELAY - 60), indexed))

    def listing(now: float) -> List[Dict[str, object]]:
        return [
            {
                "kind": "inventory",
                "input": i.name,
                "account": "acme",
                "disabled": i.disabled_from is not None and now >= i.disabled_from,
                "interval": i.interval,
                "interval_s": int(i.interval) if i.interval.isdigit() else None,
                "schedule_s": int(i.schedule_s),
                "index": "main",
                "action_ids": [],
                "exclude_action_ids": [],
                "collection_events": i.box,
                "host": "hf1",
                "reported_by": "",
                "addon_version": "0.1.0",
            }
            for i in inputs
            if now >= i.listed_from
        ]

    def finished_window(i: Input, end: float, written: float) -> None:
        stamp = coverage.iso(end)
        line = (
            f'action=window_finished input="{i.name}" window_start={coverage.iso(end - i.schedule_s)} '
            f"window_end={stamp} emitted=1"
        )
        add(log_fields(line, written), written)
        if i.box:
            doc = {
                "kind": "window",
                "input": i.name,
                "account": "acme",
                "interval_s": None,
                "window_start": coverage.iso(end - i.schedule_s),
                "window_end": stamp,
                "run_started": coverage.iso(written - 1),
                "emitted": 1,
                "outcome": "complete",
            }
            add(docs.fields(doc, end), written)

    progress_of: Dict[str, List[float]] = {}
    for i in inputs:
        progress: List[float] = []
        kind_before: Optional[str] = None
        streak: Optional[Tuple[str, float, int]] = None
        for a, b in i.alive:
            t = a + rng.uniform(1, 30)
            while t < b:
                if i.long_run and i.long_run[0] <= t < i.long_run[1]:
                    u = t
                    while u < i.long_run[1]:
                        finished_window(i, u - 180, u)
                        progress.append(u)
                        u += 180 + rng.uniform(-5, 5)
                    t = i.long_run[1]
                failing = next((k for f, g, k in i.failures if f <= t < g), None)
                for doc in listing(t):
                    add(docs.fields({**doc, "reported_by": i.name}, t), t)
                if failing:
                    line = (
                        f'action=collection_error input="{i.name}" error_kind={failing} '
                        f'message="it failed: {failing}"'
                    )
                    add(log_fields(line, t + 1), t + 1)
                    if streak and streak[0] == failing:
                        streak = (failing, streak[1], streak[2] + 1)
                    else:
                        streak = (failing, t + 1, 1)
                    if streak[2] == 2:
                        world.streaks.append((i.name, failing, streak[1]))
                else:
                    streak = None
                    end = t + rng.uniform(2, 20)
                    finished_window(i, t - 60, end - 0.5)
                    line = (
                        f'action=collection_run input="{i.name}" status=success records=1 lag_s=60'
                    )
                    add(log_fields(line, end), end)
                    progress.append(end)
                kind_before = failing
                t += i.schedule_s + rng.uniform(-3, 3)
        del kind_before
        progress_of[i.name] = progress
    # the truth: a stall 3 schedules after a progress (or after the input first appears in an
    # inventory, if it never ran) with none after it, while the input is enabled
    for i in inputs:
        listed = min(
            float(e.fields["_time"][0])
            for e in world.events
            if e.fields.get("kind") == ("inventory",) and e.fields.get("input") == (i.name,)
        )
        starts = sorted(progress_of[i.name]) or [listed]
        for p, q in zip(starts, [*starts[1:], None]):
            moment = p + 3 * i.schedule_s
            enabled = i.disabled_from is None or moment < i.disabled_from
            if (q is None or q > moment) and enabled and moment < world.end - 1800:
                world.stalls.append((i.name, moment))
    # data-loss events: dated months back or now, indexed at random moments
    for n in range(12):
        written = t0 + rng.uniform(600, DAY - 3600)
        reason = rng.choice(sorted(coverage.REASONS))
        loss_end = written - rng.choice([0, 3600, 90 * DAY, 179 * DAY])
        doc = {
            "kind": "data_loss",
            "input": f"loss{n % 3}",
            "account": "acme",
            "reason": reason,
            "loss_start": coverage.iso(loss_end - 3600),
            "loss_end": coverage.iso(loss_end),
            "run_started": coverage.iso(written),
            "message": f"loss {n}",
        }
        add(docs.fields(doc, loss_end), written)
        world.data_losses.append((f"loss{n % 3}", coverage.iso(loss_end - 3600)))
    return world


@dataclass(frozen=True)
class Run:
    scheduled: float
    started: float


def runs(stanza: Mapping[str, str], world: World, seed: int) -> List[Run]:
    """Every scheduled time in the day (none skipped: continuous scheduling); most runs start
    within a few seconds, some minutes late, a few after the next scheduled time."""
    rng = random.Random(seed)
    out, ready = [], 0.0
    for scheduled in cron_times(stanza["cron_schedule"], world.start + 3600, world.end):
        roll = rng.random()
        delay = (
            rng.uniform(0, 20)
            if roll < 0.7
            else rng.uniform(60, 600)
            if roll < 0.9
            else rng.uniform(900, 2400)
        )
        started = max(scheduled + delay, ready)
        ready = started + 30  # one run at a time
        out.append(Run(scheduled, started))
    return out


def fire(
    app: Path, name: str, world: World, reading: str, seed: int
) -> List[Tuple[float, spl_run.Row]]:
    """The (run start, result row) pairs that trigger the alert's action after suppression."""
    stanza = coverage.saved(app, name)
    macros = coverage.macros(app)
    fields = [f.strip() for f in stanza.get("alert.suppress.fields", "").split(",") if f.strip()]
    period = coverage._duration(stanza.get("alert.suppress.period", "0"))
    last: Dict[Tuple[str, ...], float] = {}
    fired = []
    # the base search matched once (it does not depend on the run), rows made once
    segments = spl_search.split_outside_quotes(spl_run.expand(stanza["search"], macros), "|")
    base = spl_search.parse(segments[0].strip())
    matching = [
        (event, spl_run.rows_of([event.fields])[0])
        for event in world.events
        if spl_search.matches(base, event.fields)
    ]
    matching.sort(key=lambda pair: -float(pair[0].fields["_time"][0]))  # newest first
    for run in runs(stanza, world, seed):
        t = run.scheduled
        earliest = coverage.relative(t, stanza["dispatch.earliest_time"])
        latest = coverage.relative(t, stanza.get("dispatch.latest_time", "now"))
        index_low = index_high = None
        if "dispatch.index_earliest" in stanza:
            index_low = coverage.relative(t, stanza["dispatch.index_earliest"])
            index_high = coverage.relative(t, stanza["dispatch.index_latest"])
        seen = []
        for event, row in matching:
            if event.searchable_at > run.started:
                continue
            when = float(event.fields["_time"][0])
            if not earliest <= when < latest:
                continue
            if index_low is not None and not index_low <= event.indexed_at < index_high:  # type: ignore[operator]
                continue
            seen.append(row)
        now = run.scheduled if reading == "scheduled" else run.started
        context = spl_run.Context(now, (earliest, latest))
        rows = spl_run.run_pipeline(segments[1:], seen, context).rows
        for row in rows:
            key = tuple(spl_run.text(spl_run.single(row.get(f), f) or "") for f in fields)  # type: ignore[arg-type]
            if (
                stanza.get("alert.suppress") == "1"
                and key in last
                and run.started - last[key] < period
            ):
                continue
            last[key] = run.started
            fired.append((run.started, row))
    return fired


@dataclass
class Verdict:
    missed: List[object]
    repeated: List[object]
    false: List[object]

    @property
    def ok(self) -> bool:
        return not (self.missed or self.repeated or self.false)


def judge(truth: Sequence[object], found: Sequence[object]) -> Verdict:
    expected = list(truth)
    missed = [t for t in expected if t not in found]
    repeated = sorted({f for f in found if found.count(f) > 1}, key=repr)
    false = [f for f in found if f not in expected]
    return Verdict(missed, repeated, false)


def stalled_verdict(app: Path, world: World, reading: str, seed: int) -> Verdict:
    fired = fire(app, coverage.STALLED, world, reading, seed)
    found = [(str(row["input"]), str(row["stalled_since"])) for _, row in fired]
    truth = [
        (name, spl_run.strftime(moment, "%Y-%m-%d %H:%M:%S %Z")) for name, moment in world.stalls
    ]
    return judge(truth, found)


def failing_verdict(app: Path, world: World, reading: str, seed: int) -> Verdict:
    fired = fire(app, coverage.FAILING, world, reading, seed)
    found = [(str(r["input"]), str(r["error_kind"]), str(r["first_failure"])) for _, r in fired]
    truth = [(n, k, spl_run.strftime(t, "%Y-%m-%d %H:%M:%S %Z")) for n, k, t in world.streaks]
    return judge(truth, found)


def data_loss_verdict(app: Path, world: World, reading: str, seed: int) -> Verdict:
    fired = fire(app, coverage.DATA_LOSS, world, reading, seed)
    found = [(str(r["input"]), str(r["loss_start"])) for _, r in fired]
    return judge(world.data_losses, found)
