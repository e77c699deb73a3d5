"""The security detections over simulated days (issue 18; issue 16 item 6), on the world of
alert_simulation.py plus logins from private and unplaceable addresses, with what breaks
time-sliced detections:

- both readings of now(): the time the run was scheduled, and the time it actually started (Splunk
  documents now() as the latter; the dispatch time range is relative to the scheduled time);
- late runs (continuous scheduling), indexing delays (records searchable up to 4 minutes after
  they are indexed), backfilled history and re-indexed copies (alert_simulation's world);
- failed and partial runs: a durable search's job that cannot finish returns no results, and the
  scheduler runs a backfill job later over the same time range (savedsearches.conf.spec,
  durable.track_time_type / durable.backfill_type = time_interval; Reporting Manual, "Make scheduled
  reports durable to prevent event loss": backfill jobs return "complete search results according
  to the original time windows"). A search that is not durable simply loses those runs.

Every detection's whole search is expanded (macros in the pipeline included) and run through the
emulation (spl_run with spl_dispatch's addinfo and search), and judged against the truth the
simulation knows: 0 missed, 0 repeated, 0 false is the bar, under both readings of now().
"""

from __future__ import annotations

import bisect
import json
import random
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import alert_simulation as sim
from . import content, spl_dispatch, spl_run, spl_search
from .search_time import SearchTime, read_conf

READINGS = ("scheduled", "started")  # what now() returns in a scheduled run
FAILURE_RATE = 0.04  # jobs that fail or return partial results
PRIVATE_IPS = ("10.20.30.40", "192.168.7.21", "172.20.1.9")
UNKNOWN_IPS = ("203.0.113.77", "203.0.113.78")  # iplocation finds nothing
UNLISTED = (  # actionId, first record (event time), then one every
    ("ENABLE_CALL_RECORDING_POLICY", sim.T0 - 10 * sim.DAY, 2 * sim.DAY),
    ("CHANGE_AI_RECEPTIONIST", sim.T0 + 3.2 * sim.DAY, 1.5 * sim.DAY),
    ("UPDATE_SMS_CAMPAIGN", sim.OUTAGE[0] + 5 * sim.HOUR, 0.7 * sim.DAY),
)


# --- the world: alert_simulation's, plus users logging in from private and unknown addresses


@cache
def world() -> sim.World:
    base = sim.world()
    rng = random.Random(18)
    extra: List[sim.Record] = []
    # two travellers whose ordinary logins come through a VPN (private) or an address iplocation
    # cannot place, and who log in from placeable countries on a few days: the old search, which
    # dropped unplaceable logins before comparing, never saw them
    trips = {"198.51.100.9": (2.3, 2.4, 9.1), "198.51.100.10": (5.6, 7.2)}  # days after install
    for n, (name, ordinary) in enumerate(
        (("Vera VPN", PRIVATE_IPS), ("Uma Unplaced", UNKNOWN_IPS))
    ):
        t = sim.T0 - sim.HISTORY + rng.uniform(0, 6 * sim.HOUR)
        while t < sim.T0 + sim.SPAN:
            extra.append(_login(rng, name, 60 + n, t, rng.choice(ordinary)))
            t += rng.uniform(3 * sim.HOUR, 9 * sim.HOUR)
        for ip, days in trips.items():
            for day in days:
                extra.append(_login(rng, name, 60 + n, sim.T0 + (day + n) * sim.DAY, ip))
    # actionIds no lookup row lists: one seen first in the backfilled history, one after install,
    # one first sent during the input's outage (indexed when it works again)
    for action_id, first, every in UNLISTED:
        t = first
        while t < sim.T0 + sim.SPAN:
            extra.append(_record(rng, action_id, "unlisted", t, "Alice Admin", 0, "198.51.100.1"))
            t += every
    geo = dict(base.geo)
    geo["198.51.100.9"] = {
        "Country": "Germany",
        "City": "Berlin",
        "Region": "",
        "lat": 52.5,
        "lon": 13.4,
    }
    geo["198.51.100.10"] = {
        "Country": "Japan",
        "City": "Tokyo",
        "Region": "",
        "lat": 35.7,
        "lon": 139.7,
    }
    copies = sorted(
        base.copies + sim.ingest(sorted(extra, key=lambda r: r.time), rng),
        key=lambda c: c.searchable,
    )
    first: Dict[str, float] = {}
    for copy in copies:
        first[copy.record.id] = min(first.get(copy.record.id, copy.indexed), copy.indexed)
    records = sorted(base.records + extra, key=lambda r: r.time)
    return sim.World(records, copies, geo, base.bursts, first)


def _login(rng: random.Random, name: str, number: int, t: float, ip: str) -> sim.Record:
    return _record(rng, "LOGIN_SUCCESSFULLY", "login", t, name, number, ip)


def _record(
    rng: random.Random, action_id: str, kind: str, t: float, name: str, number: int, ip: str
) -> sim.Record:
    t = float(int(t))
    body = {
        "actionId": action_id,
        "clientIp": ip,
        "initiator": sim._party(name, number),
        "target": sim._target(name, number),
        "eventType": "LOGIN" if kind == "login" else "UPDATE",
        "eventTime": sim._iso(t),
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        **sim.ACCOUNT,
    }
    return sim.Record(body["id"], t, kind, json.dumps(body), name, name, ip)


def location(world: sim.World, ip: str) -> str:
    """What the detection calls an address's location: a country, "private" or "unknown"."""
    if ip in PRIVATE_IPS:
        return "private"
    return str(world.geo.get(ip, {}).get("Country") or "unknown")


def country_truth(world: sim.World) -> List[sim.Occurrence]:
    """A login from a country not among the user's logins of the previous 30 days, by a user who
    logged in (from anywhere) in those 30 days; private and unknown locations are activity, never a
    new country."""
    history: Dict[str, List[Tuple[float, str]]] = {}
    out = []
    for record in (r for r in world.records if r.kind == "login"):
        person, where = record.account or "", location(world, record.ip)
        recent = [(t, x) for t, x in history.get(person, []) if record.time - t < 30 * sim.DAY]
        if recent and where not in ("private", "unknown") and where not in {x for _, x in recent}:
            out.append(
                sim.Occurrence(
                    (person, where, record.time),
                    record.time,
                    world.first_indexed[record.id],
                    f"new country {person} {where} {sim._iso(record.time)}",
                )
            )
        history[person] = [*recent, (record.time, where)]
    return out


# --- the scheduler, durable searches included


@dataclass
class Job:
    scheduled: float  # the time the dispatch time range is relative to
    dispatched: float
    failed: bool = False  # the job failed or returned partial results: no results, no alert
    backfill: bool = False


def jobs(stanza: Mapping[str, str], seed: int, failures: bool = True) -> List[Job]:
    """The jobs of one detection: alert_simulation's runs (continuous scheduling, late runs), some
    failing; a durable search's failed job is run again by a backfill job over its time range, after
    the next scheduled run (the scheduler allows no concurrent jobs of one search)."""
    rng = random.Random(seed * 7919)
    durable = stanza.get("durable.track_time_type", "none").strip() in ("_time", "_indextime")
    out: List[Job] = []
    for run in sim.runs(stanza, seed):
        failed = failures and rng.random() < FAILURE_RATE
        out.append(Job(run.scheduled, run.dispatched, failed))
        if failed and durable:
            later = run.dispatched + rng.uniform(300, 3 * sim.HOUR)
            out.append(Job(run.scheduled, later, False, True))
    return sorted(out, key=lambda j: j.dispatched)


# --- running a detection


@dataclass
class Detection:
    name: str
    stanza: Dict[str, str]
    base: spl_search.Expr
    pipeline: List[str]


def load(app: Path, conf: Optional[Path] = None) -> List[Detection]:
    """The detections on audit records, each whole search expanded (pipeline macros included)."""
    macros = content.macro_definitions(app)
    out = []
    for name, stanza in read_conf(conf or app / "default" / "savedsearches.conf").items():
        if content.AUDIT_SOURCETYPE not in stanza.get("search", ""):
            continue
        segments = spl_search.split_outside_quotes(content.expand(stanza["search"], macros), "|")
        out.append(Detection(name, stanza, spl_search.parse(segments[0]), segments[1:]))
    return out


@dataclass
class Firing:
    job: Job
    row: Dict[str, Any]


class Simulation:
    def __init__(self, app: Path, w: sim.World) -> None:
        self.world = w
        config = SearchTime(app)
        metadata = {"index": ("main",), "sourcetype": ("ringcentral:audit",)}
        self.fields: Dict[str, Dict[str, Sequence[str]]] = {}
        for record in w.records:
            fields = dict(config.run(record.raw, metadata).search_fields())
            fields["_raw"] = (record.raw,)
            self.fields[record.id] = fields

    def fire(
        self,
        detection: Detection,
        reading: str,
        failures: bool = True,
        seed: int = 1,
        slow_indexing: float = 0.0,
    ) -> List[Firing]:
        """slow_indexing: every third copy becomes searchable this many seconds later still."""
        stanza = detection.stanza
        matching = [
            c
            for c in self.world.copies
            if spl_search.matches(detection.base, self.fields[c.record.id])
        ]
        if slow_indexing:
            matching = sorted(
                (
                    sim.Copy(c.record, c.indexed, c.searchable + (slow_indexing if i % 3 else 0.0))
                    for i, c in enumerate(matching)
                ),
                key=lambda c: c.searchable,
            )
        visible_at = [c.searchable for c in matching]
        prepared = []
        for copy in matching:
            row = {
                k: (tuple(v) if len(v) > 1 else v[0])
                for k, v in self.fields[copy.record.id].items()
                if v and k != "_raw"
            }
            row["_time"], row["_indextime"] = copy.record.time, copy.indexed
            prepared.append(row)
        suppress = stanza.get("alert.suppress") == "1"
        digest = stanza.get("alert.digest_mode", "1").strip() != "0"
        fields = [
            f.strip() for f in stanza.get("alert.suppress.fields", "").split(",") if f.strip()
        ]
        period = sim._duration(stanza.get("alert.suppress.period", "0s")) if suppress else 0.0
        suppressed: Dict[Tuple[Any, ...], float] = {}
        firings = []
        for job in jobs(stanza, seed, failures):
            earliest = spl_run.relative_time(
                job.scheduled, stanza.get("dispatch.earliest_time", "0")
            )
            latest = spl_run.relative_time(job.scheduled, stanza.get("dispatch.latest_time", "now"))
            now = job.scheduled if reading == "scheduled" else job.dispatched
            rows = [
                row
                for row in prepared[: bisect.bisect_right(visible_at, job.dispatched)]
                if earliest <= row["_time"] < latest
            ]
            rows.sort(key=lambda r: -r["_time"])
            ctx = spl_dispatch.DispatchContext(
                now=now, geo=self.world.geo, info_min_time=earliest, info_max_time=latest
            )
            results = spl_run.run_pipeline(detection.pipeline, rows, ctx).rows
            if job.failed or not results:
                continue
            for result in results:
                if suppress:
                    key = () if digest else tuple(sim._hashable(result.get(f)) for f in fields)
                    if suppressed.get(key, -1.0) > job.dispatched:
                        continue
                    suppressed[key] = job.dispatched + period
                firings.append(Firing(job, result))
        return firings


def new_action_truth(w: sim.World) -> List[sim.Occurrence]:
    """Each unlisted actionId, once: when its first record is first indexed."""
    out = []
    for action_id, _, _ in UNLISTED:
        ids = [r.id for r in w.records if f'"actionId": "{action_id}"' in r.raw]
        first = min(w.first_indexed[i] for i in ids)
        out.append(sim.Occurrence((action_id,), first, first, f"new actionId {action_id}"))
    return out


def judge(w: sim.World, name: str, firings: Sequence[Firing]) -> sim.Verdict:
    as_alert = [
        sim.Firing(sim.Run(f.job.scheduled, f.job.dispatched, f.job.scheduled), f.row)
        for f in firings
    ]
    if "new actionid" in name.lower():
        match = lambda row: (sim._single(row.get("actionId")),)  # noqa: E731
        return sim.judge(new_action_truth(w), as_alert, match, float("inf"))
    topic = sim._topic(name)
    horizon = sim.HORIZONS[topic]
    if topic == "privileged role":
        return sim.judge(sim.per_record_truth(w, "grant"), as_alert, sim.per_record_match, horizon)
    if topic == "account locked":
        return sim.judge(
            sim.per_record_truth(w, "lockout"), as_alert, sim.per_record_match, horizon
        )
    if topic == "secret":
        return sim.judge(sim.per_record_truth(w, "secret"), as_alert, sim.per_record_match, horizon)
    if topic == "failed logins":
        truth = sim.burst_truth(w)
        return sim.judge(truth, as_alert, lambda row, t=truth: sim.burst_match(row, t), horizon)
    if topic == "new client ip":
        truth = sim.novelty_truth(w, w.records, lambda r: r.actor, lambda r: r.ip, "new address")
        return sim.judge(truth, as_alert, sim.novelty_match("src", "src_user"), horizon)
    return sim.judge(country_truth(w), as_alert, sim.novelty_match("Country", "user"), horizon)


@cache
def simulation(app: Path) -> Simulation:
    return Simulation(app, world())


def verdicts(
    app: Path,
    reading: str,
    only: Optional[str] = None,
    conf: Optional[Path] = None,
    failures: bool = True,
    slow_indexing: float = 0.0,
) -> Dict[str, sim.Verdict]:
    out = {}
    for detection in load(app, conf):
        if only and only.lower() not in detection.name.lower():
            continue
        firings = simulation(app).fire(detection, reading, failures, slow_indexing=slow_indexing)
        out[detection.name] = judge(world(), detection.name, firings)
    return out
