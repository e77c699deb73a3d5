"""The alerts run over simulated days: what RingCentral records happened (event time), when the
input indexed them (index time, from its schedule, its safety lag, RingCentral's own delay, an
outage, the first backfill of history and a checkpoint reset that re-indexes records), when they
became searchable, and when Splunk's scheduler ran each alert (cron times, delays, skipped runs,
realtime_schedule, dispatch.earliest/latest and index_earliest/index_latest, suppression).

Each alert's search runs through the add-on's real search-time configuration (SearchTime) and the
pipeline evaluator (spl_run), and its firings are compared with the true occurrences, which
are known because the simulation made them:

- missed: an occurrence that never fired (first indexed within the alert's lateness horizon);
- repeated: an occurrence that fired more than once;
- false: a firing that matches no occurrence (e.g. a role removal, re-indexed history).
"""

from __future__ import annotations

import bisect
import json
import random
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from . import content, spl_dispatch, spl_run, spl_search
from .search_time import SearchTime, read_conf

# A role granted or revoked, each in RingCentral's two ways (a role assigned or unassigned, or a
# user's role changed), picked at random with equal odds.
ROLE_MOVES = {
    "grant": (
        ("ASSIGN_USER_ROLE", [("roleName", "Super Admin")]),
        ("CHANGE_USER_ROLE", [("oldRoleName", "Standard"), ("newRoleName", "Account Admin")]),
    ),
    "revoke": (
        ("UNASSIGN_USER_ROLE", [("roleName", "Super Admin")]),
        ("CHANGE_USER_ROLE", [("oldRoleName", "Account Admin"), ("newRoleName", "Standard")]),
    ),
}

DAY = 86400.0
HOUR = 3600.0
MINUTE = 60.0
T0 = 1_790_000_000.0 - (1_790_000_000.0 % DAY)  # install time, midnight UTC
HISTORY = 14 * DAY  # the first run backfills 14 days of history
SPAN = 10 * DAY  # simulated days after install
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ACCOUNT = {"accountId": "401587123008", "accountName": "Northwind Traders"}

# An emulated GeoIP database for `iplocation` (documentation address ranges have no real location).
HOME_COUNTRY = "United States"
COUNTRIES = {
    "United States": (37.77, -122.42),
    "Germany": (52.52, 13.40),
    "Brazil": (-23.55, -46.63),
    "India": (19.08, 72.88),
    "Japan": (35.68, 139.69),
}


# --- the world


@dataclass
class Record:
    id: str
    time: float
    kind: str  # grant, revoke, lockout, secret, login, failure, change
    raw: str
    actor: Optional[str]  # initiator.name
    account: Optional[str]  # target.name
    ip: str
    burst: Optional[int] = None


@dataclass
class Copy:
    record: Record
    indexed: float
    searchable: float


@dataclass
class World:
    records: List[Record]
    copies: List[Copy]
    geo: Dict[str, Dict[str, Any]]
    bursts: Dict[int, List[Record]]
    first_indexed: Dict[str, float]


def _party(name: str, number: int, role: str = "Standard") -> Dict[str, str]:
    return {
        "extensionId": f"40{number:04d}",
        "extensionNumber": str(100 + number),
        "name": name,
        "role": role,
    }


def _target(name: str, number: int) -> Dict[str, str]:
    return {
        "objectId": f"40{number:04d}",
        "objectType": "Extension",
        "name": name,
        "extensionNumber": str(100 + number),
    }


def _iso(t: float) -> str:
    return spl_run.strftime(t, "%Y-%m-%dT%H:%M:%S") + ".000Z"


def build_world(seed: int = 9) -> World:
    rng = random.Random(seed)
    users = [f"User {chr(65 + i)}" for i in range(8)]
    admins = ["Alice Admin", "Bob Admin"]
    number = {name: i for i, name in enumerate(admins + users)}
    geo: Dict[str, Dict[str, Any]] = {}
    ip_counter = iter(range(1, 10_000))

    def new_ip(country: str) -> str:
        n = next(ip_counter)
        ip = f"198.51.{100 + n // 250}.{n % 250 + 1}"
        lat, lon = COUNTRIES[country]
        geo[ip] = {
            "Country": country,
            "City": f"City of {country}",
            "Region": "",
            "lat": lat,
            "lon": lon,
        }
        return ip

    home: Dict[str, List[str]] = {
        name: [new_ip(HOME_COUNTRY), new_ip(HOME_COUNTRY)] for name in admins + users
    }
    attacker = new_ip("Brazil")
    records: List[Record] = []

    def add(
        kind: str,
        t: float,
        action_id: str,
        event_type: str,
        actor: Optional[str],
        account: Optional[str],
        ip: str,
        parameters: Sequence[Tuple[str, str]] = (),
        burst: Optional[int] = None,
    ) -> None:
        t = float(int(t))  # whole seconds (RingCentral writes milliseconds; ours are .000)
        body: Dict[str, Any] = {}
        if parameters:  # RingCentral's key order: details first
            body["details"] = {"parameters": [{"key": k, "value": v} for k, v in parameters]}
        body.update(actionId=action_id, clientIp=ip)
        if actor:
            body["initiator"] = _party(
                actor, number[actor], "Super Admin" if actor in admins else "Standard"
            )
        if account:
            body["target"] = _target(account, number[account])
        body.update(
            eventType=event_type,
            eventTime=_iso(t),
            id=str(uuid.UUID(int=rng.getrandbits(128))),
            **ACCOUNT,
        )
        records.append(Record(body["id"], t, kind, json.dumps(body), actor, account, ip, burst))

    start, end = T0 - HISTORY, T0 + SPAN
    # logins: each user 4 a day from home; now and then from a new address, in or out of the country
    for user in users:
        t = start + rng.uniform(0, 6 * HOUR)
        while t < end:
            ip = rng.choice(home[user])
            if rng.random() < 0.04:
                country = HOME_COUNTRY if rng.random() < 0.5 else rng.choice(list(COUNTRIES)[1:])
                ip = new_ip(country)
                home[user].append(ip) if rng.random() < 0.5 else None
            add("login", t, "LOGIN_SUCCESSFULLY", "LOGIN", user, user, ip)
            t += rng.uniform(2 * HOUR, 10 * HOUR)
    # admin actions: grants, removals, lockouts, secret changes, configuration changes
    plan = [("grant", 1.0), ("revoke", 1.0), ("lockout", 0.7), ("secret", 1.5), ("change", 5.0)]
    for kind, per_day in plan:
        t = start + rng.uniform(0, DAY / per_day)
        while t < end:
            admin, user = rng.choice(admins), rng.choice(users)
            ip = home[admin][0]
            if kind in ROLE_MOVES:
                action, params = ROLE_MOVES[kind][0 if rng.random() < 0.5 else 1]
                add(kind, t, action, "UPDATE", admin, user, ip, params)
            elif kind == "lockout":
                add(
                    kind,
                    t,
                    "ACCOUNT_LOCKED",
                    "UPDATE",
                    None,
                    user,
                    attacker,
                    [("reason", "Too many failed login attempts")],
                )
            elif kind == "secret":
                add(
                    kind,
                    t,
                    "CHANGE_SECRET_INFO",
                    "UPDATE",
                    admin,
                    user,
                    ip,
                    [("settingName", "Password")],
                )
            else:
                params = [
                    (f"setting{i}", "x" * rng.randint(1, 900)) for i in range(rng.randint(1, 80))
                ]
                add(kind, t, "CHANGE_CALL_HANDLING", "UPDATE", admin, user, ip, params)
            t += rng.expovariate(per_day / DAY)
    # failed logins: bursts of 5-8 spread over 1-14 minutes, and isolated failures, per user at
    # least 3 hours apart from each other (the alert suppresses per user for 2 hours)
    bursts: Dict[int, List[Record]] = {}
    for user in users:
        t = start + rng.uniform(0, DAY)
        while t < end:
            if rng.random() < 0.35:
                spread = rng.choice([1, 4, 10, 14]) * MINUTE
                size = rng.randint(5, 8)
                burst_id = len(bursts)
                times = sorted(
                    [t, t + spread] + [t + rng.uniform(0, spread) for _ in range(size - 2)]
                )
                for moment in times:
                    add(
                        "failure",
                        moment,
                        "LOGIN_FAILED",
                        "LOGIN",
                        None,
                        user,
                        attacker,
                        burst=burst_id,
                    )
                bursts[burst_id] = [r for r in records if r.burst == burst_id]
            else:
                for _ in range(rng.randint(1, 3)):  # at most 3 within 45 minutes: never a burst
                    add("failure", t, "LOGIN_FAILED", "LOGIN", None, user, home[user][0])
                    t += rng.uniform(5 * MINUTE, 15 * MINUTE)
            t += rng.uniform(3 * HOUR, 30 * HOUR)
    records.sort(key=lambda r: r.time)
    copies = ingest(records, rng)
    first: Dict[str, float] = {}
    for copy in copies:
        first[copy.record.id] = min(first.get(copy.record.id, copy.indexed), copy.indexed)
    return World(records, copies, geo, bursts, first)


# the input: interval 300 s, safety lag 120 s; an outage; the first backfill; a checkpoint reset
INTERVAL = 300.0
SAFETY_LAG = 120.0
OUTAGE = (T0 + 4 * DAY + 7 * HOUR, T0 + 6 * DAY + 2 * HOUR)
RESET_AT = T0 + 8 * DAY + 9 * HOUR
RESET_START = T0 + 5 * DAY  # the start date the checkpoint is reset to


def ingest(records: Sequence[Record], rng: random.Random) -> List[Copy]:
    copies = []

    def searchable(indexed: float) -> float:
        return indexed + (rng.uniform(1, 30) if rng.random() < 0.95 else rng.uniform(60, 240))

    for record in records:
        if record.time < T0:  # history: the first run pages through 14 days in about 30 minutes
            indexed = T0 + 60 + (record.time - (T0 - HISTORY)) / HISTORY * 1800
        else:
            delay = rng.uniform(0, 60) if rng.random() < 0.9 else rng.uniform(60, 1800)
            ready = record.time + max(SAFETY_LAG, delay)
            run = T0 + (int((ready - T0) // INTERVAL) + 1) * INTERVAL
            if OUTAGE[0] <= run < OUTAGE[1]:  # collected when the input works again
                run = OUTAGE[1] + (record.time - OUTAGE[0]) / (OUTAGE[1] - OUTAGE[0]) * 900
            indexed = run + rng.uniform(1, 20)
        copies.append(Copy(record, indexed, searchable(indexed)))
        if RESET_START <= record.time < RESET_AT and indexed < RESET_AT:
            # the reset re-collects everything since the start date: a second copy, same record
            again = RESET_AT + 60 + (record.time - RESET_START) / (RESET_AT - RESET_START) * 1200
            copies.append(Copy(record, again, searchable(again)))
    copies.sort(key=lambda c: c.searchable)
    return copies


# --- Splunk's scheduler


def cron_times(cron: str, start: float, end: float) -> List[float]:
    minute, hour, dom, month, dow = cron.split()
    if (dom, month, dow) != ("*", "*", "*"):
        raise spl_run.RunError(f"cron {cron!r}: only minute and hour fields are simulated")

    def values(spec: str, top: int) -> Set[int]:
        out: Set[int] = set()
        for part in spec.split(","):
            base, _, step = part.partition("/")
            if base == "*":
                low, high = 0, top - 1
            elif "-" in base:
                low, high = (int(x) for x in base.split("-"))
            else:
                low = high = int(base)
                if step:
                    high = top - 1
            out.update(range(low, high + 1, int(step) if step else 1))
        return out

    minutes, hours = values(minute, 60), values(hour, 24)
    out = []
    t = start - start % MINUTE
    while t < end:
        if int(t % HOUR // MINUTE) in minutes and int(t % DAY // HOUR) in hours:
            out.append(t)
        t += MINUTE
    return out


@dataclass
class Run:
    scheduled: float
    dispatched: float
    now: float  # what the search's relative times are relative to


# the search head is down for 40 minutes once: runs in between are late (continuous scheduling) or
# skipped (real-time scheduling, the default)
SEARCH_HEAD_DOWN = (T0 + 2 * DAY + 10 * HOUR + 7 * MINUTE, T0 + 2 * DAY + 10 * HOUR + 47 * MINUTE)


def runs(stanza: Mapping[str, str], seed: int) -> List[Run]:
    rng = random.Random(seed)
    realtime = stanza.get("realtime_schedule", "1").strip() != "0"
    out = []
    for scheduled in cron_times(stanza["cron_schedule"], T0, T0 + SPAN):
        roll = rng.random()
        delay = (
            rng.uniform(0, 30)
            if roll < 0.85
            else rng.uniform(30, 300)
            if roll < 0.97
            else rng.uniform(300, 1500)
        )
        dispatched = scheduled + delay
        if SEARCH_HEAD_DOWN[0] <= dispatched < SEARCH_HEAD_DOWN[1]:
            dispatched = SEARCH_HEAD_DOWN[1] + rng.uniform(0, 60)
            if realtime:
                continue
        if realtime and (delay > 300 or rng.random() < 0.02):
            continue  # skipped: the scheduler was busy past the run's window
        out.append(Run(scheduled, dispatched, scheduled if not realtime else dispatched))
    return out


# --- running an alert


@dataclass
class Alert:
    name: str
    stanza: Dict[str, str]
    base: spl_search.Expr
    pipeline: List[str]


def load_alerts(app: Path) -> List[Alert]:
    macros = content.macro_definitions(app)
    alerts = []
    for name, stanza in read_conf(app / "default" / "savedsearches.conf").items():
        # macros expanded first: a macro in the pipeline may hold several commands
        segments = spl_search.split_outside_quotes(content.expand(stanza["search"], macros), "|")
        base = spl_search.parse(segments[0])
        alerts.append(Alert(name, stanza, base, segments[1:]))
    return alerts


@dataclass
class Firing:
    run: Run
    row: Dict[str, Any]


class Simulation:
    def __init__(self, app: Path, world: World) -> None:
        self.world = world
        config = SearchTime(app)
        metadata = {"index": ("main",), "sourcetype": ("ringcentral:audit",)}
        self.fields: Dict[str, Mapping[str, Sequence[str]]] = {}
        for record in world.records:
            self.fields[record.id] = config.run(record.raw, metadata).search_fields()

    def _row(self, copy: Copy) -> Dict[str, Any]:
        row: Dict[str, Any] = {
            k: (tuple(v) if len(v) > 1 else v[0])
            for k, v in self.fields[copy.record.id].items()
            if v
        }
        row["_time"] = copy.record.time
        row["_indextime"] = copy.indexed
        return row

    def fire(self, alert: Alert, seed: int = 1) -> List[Firing]:
        stanza = alert.stanza
        matching = [
            c for c in self.world.copies if spl_search.matches(alert.base, self.fields[c.record.id])
        ]
        visible_at = [c.searchable for c in matching]
        prepared = [self._row(copy) for copy in matching]
        ctx_geo = self.world.geo
        suppress = stanza.get("alert.suppress") == "1"
        # throttling by field values applies to per-result alerts; a digest alert is throttled whole
        suppress_fields = [
            f.strip() for f in stanza.get("alert.suppress.fields", "").split(",") if f.strip()
        ]
        if stanza.get("alert.digest_mode", "1").strip() != "0":
            suppress_fields = []
        period = _duration(stanza.get("alert.suppress.period", "0s")) if suppress else 0.0
        suppressed: Dict[Tuple[Any, ...], float] = {}
        firings = []
        for run in runs(stanza, seed):
            now = run.now
            earliest = spl_run.relative_time(now, stanza.get("dispatch.earliest_time", "0"))
            latest = spl_run.relative_time(now, stanza.get("dispatch.latest_time", "now"))
            index_earliest = stanza.get("dispatch.index_earliest")
            index_latest = stanza.get("dispatch.index_latest")
            ie = spl_run.relative_time(now, index_earliest) if index_earliest else None
            il = spl_run.relative_time(now, index_latest) if index_latest else None
            rows = []
            for row in prepared[: bisect.bisect_right(visible_at, run.dispatched)]:
                if not earliest <= row["_time"] < latest:
                    continue
                if (ie is not None and row["_indextime"] < ie) or (
                    il is not None and row["_indextime"] >= il
                ):
                    continue
                rows.append(row)
            rows.sort(key=lambda r: -r["_time"])  # a search returns the newest events first
            ctx = spl_dispatch.DispatchContext(
                now=now, geo=ctx_geo, info_min_time=earliest, info_max_time=latest
            )
            results = spl_run.run_pipeline(alert.pipeline, rows, ctx).rows
            if not results:
                continue
            for result in results:
                if suppress:
                    key = tuple(_hashable(result.get(f)) for f in suppress_fields)
                    if suppressed.get(key, -1.0) > run.dispatched:
                        continue
                    suppressed[key] = run.dispatched + period
                firings.append(Firing(run, result))
        return firings


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _duration(text: str) -> float:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match:
        raise spl_run.RunError(f"suppression period {text!r}")
    return int(match.group(1)) * spl_run._UNITS[match.group(2)]


# --- the truth, and the comparison


@dataclass
class Occurrence:
    key: Tuple[Any, ...]
    time: float
    first_indexed: float  # when Splunk had all of it for the first time
    describe: str


@dataclass
class Verdict:
    occurrences: int = 0
    history: int = 0  # first indexed later than the alert's horizon: must not fire
    fired: int = 0
    missed: List[str] = field(default_factory=list)
    repeated: List[str] = field(default_factory=list)
    false: List[str] = field(default_factory=list)

    def ok(self) -> bool:
        return not (self.missed or self.repeated or self.false)

    def summary(self) -> str:
        return (
            f"{self.occurrences} occurrences ({self.history} history), {self.fired} firings: "
            f"{len(self.missed)} missed, {len(self.repeated)} repeated, {len(self.false)} false"
        )


def _as_time(value: Any) -> Optional[float]:
    value = spl_run.single(value, "time")
    if value is None:
        return None
    number = spl_run.number(value)
    if number is not None:
        return number
    return spl_run.strptime(str(value), TIME_FORMAT)


def _single(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value


def per_record_truth(world: World, kind: str) -> List[Occurrence]:
    return [
        Occurrence(
            (r.account, r.time),
            r.time,
            world.first_indexed[r.id],
            f"{kind} {r.account} {_iso(r.time)}",
        )
        for r in world.records
        if r.kind == kind
    ]


def per_record_match(row: Mapping[str, Any]) -> Optional[Tuple[Any, ...]]:
    return (_single(row.get("user")), _as_time(row.get("_time")))


def burst_truth(world: World) -> List[Occurrence]:
    return [
        Occurrence(
            (group[0].account, group[0].time, group[-1].time),
            group[0].time,
            max(world.first_indexed[r.id] for r in group),
            f"burst of {len(group)} for {group[0].account} at {_iso(group[0].time)} over {(group[-1].time - group[0].time) / 60:.0f} min",
        )
        for group in world.bursts.values()
    ]


def burst_match(
    row: Mapping[str, Any], occurrences: Sequence[Occurrence]
) -> Optional[Tuple[Any, ...]]:
    user = _single(row.get("user"))
    first, last = _as_time(row.get("first_seen")), _as_time(row.get("last_seen"))
    for occ in occurrences:
        if (
            occ.key[0] == user
            and first is not None
            and last is not None
            and first <= occ.key[2]
            and last >= occ.key[1]
        ):
            return occ.key
    return None


def novelty_truth(
    world: World,
    records: Iterable[Record],
    who: Callable[[Record], Optional[str]],
    what: Callable[[Record], Optional[str]],
    label: str,
) -> List[Occurrence]:
    """(who, what) pairs used for the first time in 30 days by someone active in those 30 days."""
    history: Dict[str, List[Tuple[float, str]]] = defaultdict(list)
    out = []
    for record in sorted(records, key=lambda r: r.time):
        person, thing = who(record), what(record)
        if not person or not thing:
            continue
        recent = [(t, x) for t, x in history[person] if record.time - t < 30 * DAY]
        if recent and thing not in {x for _, x in recent}:
            out.append(
                Occurrence(
                    (person, thing, record.time),
                    record.time,
                    world.first_indexed[record.id],
                    f"{label} {person} {thing} {_iso(record.time)}",
                )
            )
        history[person] = [*recent, (record.time, thing)]
    return out


def novelty_match(field: str, who: str) -> Callable[[Mapping[str, Any]], Tuple[Any, ...]]:
    def match(row: Mapping[str, Any]) -> Tuple[Any, ...]:
        return (_single(row.get(who)), _single(row.get(field)), _as_time(row.get("first_seen")))

    return match


def judge(
    occurrences: Sequence[Occurrence],
    firings: Sequence[Firing],
    key_of: Callable[[Mapping[str, Any]], Optional[Tuple[Any, ...]]],
    horizon: float,
) -> Verdict:
    verdict = Verdict(occurrences=len(occurrences), fired=len(firings))
    by_key = {occ.key: occ for occ in occurrences}
    counts: Dict[Tuple[Any, ...], int] = defaultdict(int)
    for firing in firings:
        key = key_of(firing.row)
        if key not in by_key:
            verdict.false.append(
                f"{spl_run.strftime(firing.run.scheduled, TIME_FORMAT)}: {firing.row}"
            )
        else:
            counts[key] += 1
    for occ in occurrences:
        due = occ.first_indexed - occ.time <= horizon
        verdict.history += 0 if due else 1
        if occ.first_indexed > T0 + SPAN - 2 * HOUR and counts[occ.key] <= 1:
            continue  # complete too close to the end of the simulation to be judged
        if due and counts[occ.key] == 0:
            verdict.missed.append(occ.describe)
        elif counts[occ.key] > (1 if due else 0):
            (verdict.repeated if due else verdict.false).append(
                f"{occ.describe}: {counts[occ.key]} firings"
            )
    return verdict


# The lateness each alert promises to handle: an occurrence first indexed later than this after it
# happened is history (a backfill of old records) and must not fire.
HORIZONS = {
    "privileged role": 30 * DAY,
    "account locked": 30 * DAY,
    "secret": 30 * DAY,
    "failed logins": 7 * DAY,
    "new client ip": 7 * DAY,
    "country": 7 * DAY,
}


def _topic(name: str) -> str:
    for topic in HORIZONS:
        if topic in name.lower():
            return topic
    raise KeyError(f"no simulated truth for alert {name!r}")


@cache
def world() -> World:
    return build_world()


def simulated(alert: Alert) -> bool:
    """Alerts on the audit records (other sourcetypes' alerts are not simulated here; the detections
    without a truth here are in detection_simulation.py)."""
    name = alert.name.lower()
    return content.AUDIT_SOURCETYPE in alert.stanza.get("search", "") and any(
        topic in name for topic in HORIZONS
    )


@cache
def verdicts(app: Path, only: Optional[str] = None) -> Dict[str, Verdict]:
    """Each simulated alert's verdict (only: the alerts whose name contains this text)."""
    w = world()
    sim = Simulation(app, w)
    logins = [r for r in w.records if r.kind == "login"]
    out = {}
    for alert in filter(simulated, load_alerts(app)):
        if only and only.lower() not in alert.name.lower():
            continue
        topic = _topic(alert.name)
        firings = sim.fire(alert)
        if topic == "privileged role":
            v = judge(per_record_truth(w, "grant"), firings, per_record_match, HORIZONS[topic])
        elif topic == "account locked":
            v = judge(per_record_truth(w, "lockout"), firings, per_record_match, HORIZONS[topic])
        elif topic == "secret":
            v = judge(per_record_truth(w, "secret"), firings, per_record_match, HORIZONS[topic])
        elif topic == "failed logins":
            truth = burst_truth(w)
            v = judge(truth, firings, lambda row, t=truth: burst_match(row, t), HORIZONS[topic])
        elif topic == "new client ip":
            truth = novelty_truth(w, w.records, lambda r: r.actor, lambda r: r.ip, "new address")
            v = judge(truth, firings, novelty_match("src", "src_user"), HORIZONS[topic])
        else:
            truth = novelty_truth(
                w, logins, lambda r: r.account, lambda r: w.geo[r.ip]["Country"], "new country"
            )
            v = judge(truth, firings, novelty_match("Country", "user"), HORIZONS[topic])
        out[alert.name] = v
    return out


def alert_problems(app: Path, only: Optional[str] = None) -> List[str]:
    problems = []
    for name, verdict in verdicts(app, only).items():
        if not verdict.ok():
            problems.append(f"[{name}] {verdict.summary()}")
            problems += [f"[{name}] missed {x}" for x in verdict.missed[:5]]
            problems += [f"[{name}] repeated {x}" for x in verdict.repeated[:5]]
            problems += [f"[{name}] false {x}" for x in verdict.false[:5]]
    return problems
