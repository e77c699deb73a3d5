"""The coverage checks can fail: each test breaks a copy of the package in one realistic way and
expects the check that guards against it to notice."""

from pathlib import Path

import pytest

from . import coverage
from . import operational_simulation as sim
from .test_mutations import _copy, _edit

VIEW = f"default/data/ui/views/{coverage.VIEW}.xml"

MUTATIONS = {
    "holes computed with the current window included": (
        VIEW,
        "| streamstats current=f max(end) AS covered_until by input | where start > covered_until "
        "| eval hole_from",
        "| streamstats max(end) AS covered_until by input | where start > covered_until "
        "| eval hole_from",
        coverage.search_problems,
        "holes: [] != ",
    ),
    "completeness forgets the period after the last window": (
        "default/macros.conf",
        "if(isnotnull(s) AND e == covered_to AND e < range_end,",
        "if(isnotnull(s) AND e == covered_to AND e > range_end,",
        coverage.search_problems,
        "contoso stops at 08:15",
    ),
    "completeness counts touching windows as a gap": (
        "default/macros.conf",
        "if(isnotnull(s) AND s > coalesce(covered_until, range_start),",
        "if(isnotnull(s) AND s >= coalesce(covered_until, range_start),",
        coverage.search_problems,
        "northwind 08:00-08:25 is complete, the report says",
    ),
    "completeness ignores data loss": (
        "default/macros.conf",
        "if(loss_to > range_start AND loss_from < range_end,",
        "if(loss_to > range_start AND loss_from < range_start,",
        coverage.search_problems,
        "northwind 08:00-09:15",
    ),
    "collection events tagged as changes": (
        "default/tags.conf",
        "ringcentral_audit_collection = enabled",
        "ringcentral_audit_collection = enabled\nchange = enabled",
        coverage.cim_problems,
        "put it in data models ['Change']",
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_coverage_check_reports_the_mutation(tmp_path, name):
    relative, old, new, check, expected = MUTATIONS[name]
    assert not any(expected in p for p in check(coverage.checks.PACKAGE)), "the real package fails"
    app = _copy(tmp_path)
    _edit(app / relative, old, new)
    problems = check(app)
    assert any(expected in p for p in problems), problems


def _alert_copy(tmp_path: Path, old: str, new: str) -> Path:
    app = _copy(tmp_path)
    _edit(app / "default" / "savedsearches.conf", old, new)
    return app


def test_stall_alert_without_the_lower_end_of_its_share_fires_a_stall_every_run(tmp_path):
    app = _alert_copy(
        tmp_path,
        "stall_at >= info_max_time - 900 AND stall_at < info_max_time",
        "stall_at < info_max_time",
    )
    _edit(
        app / "default" / "savedsearches.conf",
        "alert.suppress.fields = input,stalled_since\nalert.suppress.period = 1d",
        "alert.suppress.fields = input,stalled_since\nalert.suppress.period = 1m",
    )
    verdict = sim.stalled_verdict(app, sim.build_world(app, 3), "scheduled", seed=5)
    assert verdict.repeated and not verdict.missed


def test_failing_alert_without_the_look_back_guard_fires_a_streak_twice(tmp_path):
    app = _alert_copy(
        tmp_path,
        "AND NOT (starts_look_back == 1 AND first_failure_time < info_min_time + 3600)",
        "",
    )
    firings = coverage.failing_firings(app)
    assert len(firings) > len({(f[0], f[1]) for f in firings}), "a streak fired twice"


def test_data_loss_alert_without_index_time_slices_fires_again_after_a_day(tmp_path):
    app = _alert_copy(
        tmp_path,
        "dispatch.index_earliest = -25m@m\ndispatch.index_latest = -10m@m\n"
        "counttype = number of events\nrelation = greater than\nquantity = 0\n"
        "alert.track = 1\nalert.severity = 5",
        "counttype = number of events\nrelation = greater than\nquantity = 0\n"
        "alert.track = 1\nalert.severity = 5",
    )
    firings = coverage.data_loss_firings(app)
    assert len(firings) > len(set(firings))


def test_data_loss_alert_without_a_latency_margin_misses_events(tmp_path):
    # the shipped slices before issue 16: [-15m@m, @m), an event indexed just before the end
    # of its slice is not searchable yet when the run starts
    app = _alert_copy(
        tmp_path,
        "dispatch.index_earliest = -25m@m\ndispatch.index_latest = -10m@m",
        "dispatch.index_earliest = -15m@m\ndispatch.index_latest = @m",
    )
    verdict = sim.data_loss_verdict(app, sim.build_world(app, 3), "scheduled", seed=5)
    assert verdict.missed
