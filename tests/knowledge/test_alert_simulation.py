"""Every alert over simulated days (alert_simulation.py): it fires once for each true occurrence
and never otherwise, across the input's schedule and lag, an outage, the first backfill of history,
a checkpoint reset that re-indexes records, late and skipped scheduler runs and indexing delay."""

import shutil
from pathlib import Path

import pytest

from . import alert_simulation as sim
from . import checks, content

APP = checks.PACKAGE
BEFORE = Path(__file__).parent / "data" / "savedsearches_before_issue9.conf"
OLD_MACRO = """
[ringcentral_audit_privileged_roles]
definition = (param_newRoleName="*Admin*" OR param_roleName="*Admin*")
iseval = 0
"""


def _audit_alerts(app: Path):
    return [alert for alert in sim.load_alerts(app) if sim.simulated(alert)]


def test_the_simulated_world_has_what_breaks_alerts():
    world = sim.world()
    ids = [copy.record.id for copy in world.copies]
    assert len(ids) - len(set(ids)) > 100, "the reset re-indexes records"
    late = [world.first_indexed[r.id] - r.time for r in world.records]
    live = sorted(world.first_indexed[r.id] - r.time for r in world.records if r.time >= sim.T0)
    assert max(late) > 7 * sim.DAY, "the first backfill indexes old history"
    assert live[len(live) // 2] < 900 and live[-1] > sim.DAY, "minutes late, or days (outage)"
    assert any(
        sim.OUTAGE[1] <= world.first_indexed[r.id] < sim.OUTAGE[1] + 3600 for r in world.records
    )
    spreads = {round((b[-1].time - b[0].time) / 60) for b in world.bursts.values()}
    assert {1, 4, 10, 14} <= spreads
    default = sim.runs({"cron_schedule": "*/15 * * * *"}, 1)
    continuous = sim.runs({"cron_schedule": "*/15 * * * *", "realtime_schedule": "0"}, 1)
    assert len(continuous) == len(sim.cron_times("*/15 * * * *", sim.T0, sim.T0 + sim.SPAN))
    assert len(default) < len(continuous) - 10, "real-time scheduling skips runs"
    assert max(r.dispatched - r.scheduled for r in continuous) > 1200


def test_every_audit_alert_is_simulated():
    names = [alert.name for alert in _audit_alerts(APP)]
    assert len(names) == 6
    assert set(sim.verdicts(APP)) == set(names)


@pytest.mark.parametrize("name", [alert.name for alert in _audit_alerts(APP)])
def test_alert_fires_once_per_occurrence_and_never_otherwise(name):
    verdict = sim.verdicts(APP)[name]
    print(f"{name}: {verdict.summary()}")
    assert verdict.occurrences - verdict.history >= 9, "too few occurrences to judge"
    assert verdict.missed == []
    assert verdict.repeated == []
    assert verdict.false == []


def test_the_alerts_before_issue_9_fail_the_simulation(tmp_path):
    app = tmp_path / "package"
    for part in ("default", "lookups"):
        shutil.copytree(APP / part, app / part)
    shutil.copy(BEFORE, app / "default" / "savedsearches.conf")
    with open(app / "default" / "macros.conf", "a", encoding="utf-8") as handle:
        handle.write(OLD_MACRO)
    verdicts = sim.verdicts(app)
    for name, verdict in sorted(verdicts.items()):
        print(f"before: {name}: {verdict.summary()}")
    assert all(not verdict.ok() for verdict in verdicts.values())
    burst = next(v for n, v in verdicts.items() if "failed logins" in n)
    assert len(burst.missed) > 10
    grant = next(v for n, v in verdicts.items() if "Privileged" in n)
    assert grant.false, "a role removal fires"
    new_ip = next(v for n, v in verdicts.items() if "client IP" in n)
    assert len(new_ip.false) > 10, "history and re-collected records alert as new"


def test_alerts_search_through_the_index_macro():
    for alert in _audit_alerts(APP):
        assert alert.stanza["search"].startswith(content.AUDIT_MACRO)
        assert alert.stanza.get("realtime_schedule") == "0", alert.name


def _stanza_edit(path: Path, stanza: str, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    start = text.index(f"[{stanza}]")
    end = text.find("\n[", start + 1)
    end = len(text) if end < 0 else end
    body = text[start:end]
    assert old in body, f"{old!r} not in [{stanza}]"
    path.write_text(text[:start] + body.replace(old, new) + text[end:], encoding="utf-8")


ALERT_MUTATIONS = {
    "real-time scheduling (runs skipped, slices lost)": (
        "RingCentral Audit - Secret changed",
        "realtime_schedule = 0",
        "realtime_schedule = 1",
        "missed",
    ),
    "copies of a record not merged (reset re-alerts)": (
        "RingCentral Audit - Secret changed",
        "by event_id _time",
        "by event_id _time _indextime",
        "repeated",
    ),
    "a digest alert throttled (Splunk throttles a digest whole)": (
        "RingCentral Audit - Secret changed",
        "alert.suppress = 0",
        "alert.suppress = 1\nalert.suppress.fields = event_id\nalert.suppress.period = 2h",
        "missed",
    ),
    "role removals match": (
        "RingCentral Audit - Privileged role granted",
        '`ringcentral_audit_role_grant_terms` ((actionId="ASSIGN_USER_ROLE" `ringcentral_audit_privileged_role(param_roleName)`) OR',
        "((`ringcentral_audit_privileged_role(param_roleName)`) OR",
        "false",
    ),
    "burst counted only within one index-time slice": (
        "RingCentral Audit - Burst of failed logins",
        "| where first_indexed < run_end",
        "| where first_indexed < run_end AND first_indexed >= run_start",
        "missed",
    ),
    "backfilled history counted as new addresses": (
        "RingCentral Audit - Activity from a new client IP",
        "`ringcentral_audit_first_indexed_in_run(3600, 604800)`",
        "`ringcentral_audit_first_indexed_in_run(3600, 999999999)`",
        "false",
    ),
}


@pytest.mark.parametrize("name", sorted(ALERT_MUTATIONS))
def test_the_simulation_catches_the_mutation(tmp_path, name):
    stanza, old, new, kind = ALERT_MUTATIONS[name]
    app = tmp_path / "package"
    for part in ("default", "lookups"):
        shutil.copytree(APP / part, app / part)
    _stanza_edit(app / "default" / "savedsearches.conf", stanza, old, new)
    problems = sim.alert_problems(app, only=stanza.split(" - ", 1)[1])
    assert any(f"] {kind} " in p for p in problems), problems
