from ringcentral_audit.settings import InputSettings
from ringcentral_audit.state import State
from ringcentral_audit.windows import RETENTION_MARGIN, oldest_available, plan_window

NOW = 1_780_000_000.0
DAY = 86400.0


def settings(**kw):
    return InputSettings(name="i", **{"lag": 60.0, "overlap": 600.0, **kw})


def test_first_run_without_start_date_reads_all_retained_history_without_warning():
    plan = plan_window(State(), settings(), NOW)
    assert plan.window.start == round(NOW - 180 * DAY + RETENTION_MARGIN, 3)
    assert plan.window.end == NOW - 60
    assert plan.warnings == []


def test_first_run_clamps_an_old_start_date_and_warns():
    plan = plan_window(State(), settings(start=NOW - 200 * DAY), NOW)
    assert plan.window.start == round(oldest_available(NOW), 3)
    assert [w.reason for w in plan.warnings] == ["history_clamped"]


def test_first_run_honours_a_recent_start_date():
    plan = plan_window(State(), settings(start=NOW - 3 * DAY), NOW)
    assert plan.window.start == NOW - 3 * DAY
    assert plan.warnings == []


def test_next_window_overlaps_the_previous_one_and_stops_lag_seconds_ago():
    plan = plan_window(State(cursor=NOW - 300), settings(), NOW)
    assert plan.window.start == NOW - 300 - 600
    assert plan.window.end == NOW - 60


def test_checkpoint_older_than_retention_warns_of_the_gap():
    plan = plan_window(State(cursor=NOW - 190 * DAY), settings(), NOW)
    assert [w.reason for w in plan.warnings] == ["checkpoint_expired"]
    assert plan.window.start == round(oldest_available(NOW), 3)


def test_no_window_when_no_time_has_passed_since_the_cursor():
    assert plan_window(State(cursor=NOW - 30), settings(), NOW).window is None
