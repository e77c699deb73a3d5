"""The coverage checks can fail: each test breaks a copy of the package in one realistic way and
expects the check that guards against it to notice."""

from pathlib import Path

import pytest

from . import coverage
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
        "if(e == covered_to AND e < range_end,",
        "if(e == covered_to AND e > range_end,",
        coverage.search_problems,
        "contoso stops at 08:15",
    ),
    "completeness counts touching windows as a gap": (
        "default/macros.conf",
        "if(s > coalesce(covered_until, range_start),",
        "if(s >= coalesce(covered_until, range_start),",
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


def test_stall_alert_without_suppression_fires_every_run(tmp_path):
    app = _alert_copy(
        tmp_path,
        "alert.suppress.fields = input,last_success\nalert.suppress.period = 7d",
        "alert.suppress.fields = input,last_success\nalert.suppress.period = 1m",
    )
    firings = coverage.stalled_firings(app)
    assert len(firings) > len(set(firings)), "expected repeated firings of one stall"


def test_failing_alert_without_the_look_back_guard_fires_a_streak_twice(tmp_path):
    app = _alert_copy(
        tmp_path,
        'AND NOT (starts_look_back == 1 AND first_failure_time < relative_time(now(), "-23h"))',
        "",
    )
    firings = coverage.failing_firings(app)
    assert len(firings) > len({(f[0], f[1]) for f in firings}), "a streak fired twice"


def test_data_loss_alert_without_index_time_slices_fires_again_after_a_day(tmp_path):
    app = _alert_copy(
        tmp_path,
        "dispatch.index_earliest = -15m@m\ndispatch.index_latest = @m\n"
        "counttype = number of events\nrelation = greater than\nquantity = 0\n"
        "alert.track = 1\nalert.severity = 5",
        "counttype = number of events\nrelation = greater than\nquantity = 0\n"
        "alert.track = 1\nalert.severity = 5",
    )
    firings = coverage.data_loss_firings(app)
    assert len(firings) > len(set(firings))
