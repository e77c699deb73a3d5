from hypothesis import given
from hypothesis import strategies as st
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


# ----- a cursor in RingCentral's future (issue 7 item 1) ----------------------------------------


def test_a_cursor_ahead_of_our_clock_asks_for_ringcentrals_first():
    plan = plan_window(State(cursor=NOW + DAY), settings(), NOW)
    assert plan.needs_server_time and plan.window is None


def test_a_future_cursor_without_evidence_restarts_an_overlap_before_now_and_names_the_loss():
    plan = plan_window(State(cursor=NOW + 30 * DAY), settings(), NOW, NOW)
    assert plan.window.start == NOW - 60 - 600 and plan.window.end == NOW - 60
    (warning,) = plan.warnings
    assert warning.reason == "cursor_in_future" and warning.start is None
    assert warning.end == plan.window.start
    assert plan.repaired == NOW + 30 * DAY


def test_a_future_cursor_with_remembered_ids_reads_the_usual_window_without_warning():
    state = State(cursor=NOW + 200, recent={"a": NOW - 100, "b": NOW - 30})
    plan = plan_window(state, settings(), NOW, NOW)
    assert plan.window.start == NOW + 200 - 600 and plan.window.end == NOW - 60
    assert plan.warnings == []


def test_a_cursor_within_the_lag_waits_and_is_not_repaired():
    plan = plan_window(State(cursor=NOW - 1), settings(), NOW)
    assert plan.window is None and not plan.needs_server_time and plan.repaired is None


@given(
    cursor=st.floats(-200 * DAY, 400 * DAY),
    lag=st.floats(0, 3600),
    overlap=st.floats(0, 86400),
    recent=st.lists(st.floats(-200 * DAY, 400 * DAY), max_size=5),
)
def test_no_window_ever_ends_after_now_or_starts_before_retention(cursor, lag, overlap, recent):
    state = State(cursor=NOW + cursor, recent={str(i): NOW + t for i, t in enumerate(recent)})
    plan = plan_window(state, settings(lag=lag, overlap=overlap), NOW, NOW)
    if plan.window is not None:
        assert plan.window.end <= NOW - lag + 0.001
        assert plan.window.start >= oldest_available(NOW) - 0.001
        assert plan.window.start < plan.window.end
    if cursor > 2.0:  # beyond the tolerance: repaired
        assert plan.repaired is not None and plan.window is not None


def test_a_cursor_ahead_of_our_clock_but_not_ringcentrals_waits_and_is_not_repaired():
    """Our clock is an hour behind: the cursor RingCentral's clock set is not in the future."""
    plan = plan_window(State(cursor=NOW - 60), settings(), NOW - 3600, NOW)
    assert plan.window is None and plan.warnings == [] and plan.repaired is None


# ----- reconciliation of the past (issue 15) -----------------------------------------------------


def test_only_days_this_checkpoint_read_a_day_ago_or_more_are_due_newest_first():
    from ringcentral_audit.timeutil import format_time
    from ringcentral_audit.windows import DAY as ONE_DAY
    from ringcentral_audit.windows import day_of, periods_to_reconcile

    today = day_of(NOW)
    days = {
        format_time(today - 2 * ONE_DAY): {"checked": round((NOW - 2 * DAY) * 1000)},
        format_time(today - 3 * ONE_DAY): {"checked": round((NOW - 3600) * 1000)},  # recent
        format_time(today - 30 * ONE_DAY): {"checked": 0},  # beyond reconcile_days
    }
    due = periods_to_reconcile(days, NOW - 300, NOW, settings(reconcile_days=7))
    assert due == [(today - 2 * DAY, today - DAY)]
    assert periods_to_reconcile(days, NOW - 300, NOW, settings(reconcile_days=0)) == []


def test_reconciliation_spends_at_most_its_share_of_the_day():
    from ringcentral_audit.timeutil import format_time
    from ringcentral_audit.windows import day_of, reconcile_allowance

    days = {format_time(day_of(NOW)): {"spent": 100}}
    assert reconcile_allowance(days, NOW, settings(reconcile_budget_percent=1)) == 44
    assert reconcile_allowance({}, NOW, settings(reconcile_budget_percent=10)) == 1440
