"""Events scanned per run by each security detection, for a year of data from 10 accounts: how many
events the indexers hand to the search head for extraction, before and after issue 18.

What the indexers can filter on is modelled on Splunk's documented behaviour: a search reads the
buckets of its event-time range and, in them, only events whose indexed terms satisfy the search's
indexed constraints (index, sourcetype, and TERM() terms found in the lexicon: Search Manual, "Use
the TERM directive"; Splunk's "Write better searches": filter on terms as early as possible). A
field comparison on a search-time field (an extraction, an EVAL, an automatic lookup's output) is
counted as no filter at all: the event is scanned, extracted, and then kept or dropped. That is
exact for fields computed by EVAL or lookups on EVAL'd keys (no term can be derived); for fields
extracted by regex Splunk may add the value as a term, so the "before" figure is an upper bound
for those (none of the detections before issue 18 relied only on such a field).

The year: 10 accounts, each with the daily volume of VOLUME (an assumed mid-sized tenant: about
1,000 audit records a day). Every actionId's representative record runs through the add-on's real
search-time configuration, so each search's constraints are judged on real fields and raw text.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

from . import alert_simulation as sim
from . import content, spl_run, spl_search
from .search_time import SearchTime, read_conf

ACCOUNTS = 10
# records per account per day, by actionId (eventType, parameters)
VOLUME: Dict[str, Tuple[float, str, Sequence[Tuple[str, str]]]] = {
    "LOGIN_SUCCESSFULLY": (220.0, "LOGIN", ()),
    "SSO_LOGIN_SUCCESSFULLY": (180.0, "LOGIN", ()),
    "LOGOUT": (150.0, "LOGIN", ()),
    "LOGIN_FAILED": (18.0, "LOGIN", ()),
    "LOGIN_FAILED_MFA": (3.0, "LOGIN", ()),
    "SSO_LOGIN_FAILED": (4.0, "LOGIN", ()),
    "ACCOUNT_LOCKED": (0.5, "UPDATE", (("reason", "Too many failed login attempts"),)),
    "ACCOUNT_UNLOCKED": (0.5, "UPDATE", ()),
    "ASSIGN_USER_ROLE": (0.6, "UPDATE", (("roleName", "Super Admin"),)),
    "UNASSIGN_USER_ROLE": (0.4, "UPDATE", (("roleName", "Super Admin"),)),
    "CHANGE_USER_ROLE": (
        0.8,
        "UPDATE",
        (("oldRoleName", "Standard"), ("newRoleName", "Account Admin")),
    ),
    "CHANGE_SECRET_INFO": (3.0, "UPDATE", (("settingName", "Password"),)),
    "RESET_USER_PASSWORD": (1.0, "UPDATE", ()),
    "CHANGE_USER_PIN": (1.0, "UPDATE", ()),
    "CHANGE_USER_INFO": (25.0, "UPDATE", (("firstName", "Ann"),)),
    "CREATE_USER": (2.0, "CREATE", ()),
    "CHANGE_CALL_HANDLING": (120.0, "UPDATE", (("setting1", "x"),)),
    "CHANGE_CALL_QUEUE_MEMBERS": (40.0, "UPDATE", (("addedMember", "101"),)),
    "CHANGE_DEVICE": (30.0, "UPDATE", (("deviceModel", "Yealink"),)),
    "CHANGE_MEETING_SETTINGS": (60.0, "UPDATE", (("waitingRoom", "on"),)),
    "ASSIGN_PHONE_NUMBER": (20.0, "UPDATE", (("phoneNumber", "+15550100"),)),
    "CHANGE_COMPANY_INFO": (2.0, "UPDATE", (("companyName", "Northwind"),)),
}
INDEXED_FIELDS = {"index", "sourcetype", "source", "host"}


def record(action_id: str) -> str:
    _, event_type, parameters = VOLUME[action_id]
    body: Dict[str, object] = {}
    if parameters:
        body["details"] = {"parameters": [{"key": k, "value": v} for k, v in parameters]}
    body.update(
        id="a1b2c3",
        eventTime="2026-06-01T09:00:00.000Z",
        actionId=action_id,
        eventType=event_type,
        clientIp="198.51.100.7",
        initiator=sim._party("Alice Admin", 1, "Super Admin"),
        target=sim._target("User B", 2),
        **sim.ACCOUNT,
    )
    return json.dumps(body)


def indexer_filter(expr: spl_search.Expr, fields: Mapping[str, Sequence[str]]) -> bool:
    """Would the indexers hand this event over? Only indexed fields and TERM()s can say no."""
    if isinstance(expr, spl_search.Bool):
        results = (indexer_filter(item, fields) for item in expr.items)
        return all(results) if expr.op == "AND" else any(results)
    if isinstance(expr, spl_search.Term):
        return spl_search.matches(expr, fields)
    if isinstance(expr, spl_search.Compare) and expr.field in INDEXED_FIELDS:
        return spl_search.matches(expr, fields)
    return True  # a search-time field, NOT, or always: read and extract the event


@dataclass
class Cost:
    name: str
    cron: str
    window_days: float
    scanned_per_run: float
    matching_per_run: float
    runs_per_year: float

    @property
    def scanned_per_year(self) -> float:
        return self.scanned_per_run * self.runs_per_year


def _days(stanza: Mapping[str, str]) -> float:
    now = sim.T0 + 12 * sim.HOUR + 7 * sim.MINUTE
    earliest = spl_run.relative_time(now, stanza.get("dispatch.earliest_time", "0"))
    latest = spl_run.relative_time(now, stanza.get("dispatch.latest_time", "now"))
    return min(365.0, (latest - earliest) / sim.DAY)


def costs(app: Path, conf: Path) -> List[Cost]:
    macros = content.macro_definitions(app)
    config = SearchTime(app)
    metadata = {"index": ("main",), "sourcetype": ("ringcentral:audit",)}
    events = {}
    for action_id in VOLUME:
        raw = record(action_id)
        fields = dict(config.run(raw, metadata).search_fields())
        events[action_id] = fields
    out = []
    for name, stanza in read_conf(conf).items():
        if content.AUDIT_SOURCETYPE not in stanza.get("search", ""):
            continue
        base = spl_search.parse(content.base_search(stanza["search"], macros))
        days = _days(stanza)
        scanned = matching = 0.0
        for action_id, fields in events.items():
            per_window = VOLUME[action_id][0] * ACCOUNTS * days
            scanned += per_window if indexer_filter(base, fields) else 0.0
            matching += per_window if spl_search.matches(base, fields) else 0.0
        runs = len(sim.cron_times(stanza["cron_schedule"], sim.T0, sim.T0 + sim.DAY)) * 365.0
        out.append(Cost(name, stanza["cron_schedule"], days, scanned, matching, runs))
    return out


def report(app: Path, before: Path, after: Path) -> List[str]:
    old = {c.name: c for c in costs(app, before)}
    new = {c.name: c for c in costs(app, after)}
    per_day = sum(v[0] for v in VOLUME.values()) * ACCOUNTS
    lines = [
        f"scan-cost: {ACCOUNTS} accounts, {per_day:,.0f} audit records a day "
        f"({per_day * 365:,.0f} a year); events the indexers hand over per run, before -> after issue 18",
    ]
    total_before = total_after = 0.0
    for name in new:
        a, b = old.get(name), new[name]
        if a is None:
            continue
        total_before += a.scanned_per_year
        total_after += b.scanned_per_year
        lines.append(
            f"  {name.split(' - ', 1)[1]:<30} {a.scanned_per_run:>12,.0f} -> {b.scanned_per_run:>10,.0f} per run"
            f"  ({b.runs_per_year:,.0f} runs a year, {b.window_days:.0f}-day window; "
            f"{b.matching_per_run:,.0f} match the base search)"
        )
    lines.append(
        f"scan-cost: all detections, a year: {total_before:,.0f} -> {total_after:,.0f} events scanned"
        f" ({total_before / max(total_after, 1):.1f}x fewer)"
    )
    return lines


def main() -> int:
    app = Path(__file__).resolve().parents[2] / "package"
    before = Path(__file__).parent / "data" / "savedsearches_before_issue18.conf"
    for line in report(app, before, app / "default" / "savedsearches.conf"):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
