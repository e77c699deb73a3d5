"""The input inventory (issue 16): every input stanza of the add-on on a host, disabled ones
included, as collection documents; the schedule each one promises (interval or cron)."""

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from ringcentral_audit.inventory import (
    cron_period_seconds,
    input_stanzas,
    inventory_events,
    schedule_seconds,
)

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=timezone.utc).timestamp()


def test_every_input_stanza_is_listed_disabled_ones_included_and_nothing_else():
    stanzas = {
        "ringcentral_audit_trail": {"interval": "300"},  # the type's defaults, not an input
        "ringcentral_audit_trail://new": {
            "account": "acme",
            "interval": "300",
            "index": "ringcentral",
            "disabled": "0",
            "action_ids": "LOGIN_FAILED, CHANGE_USER_ROLE;LOGIN_FAILED",
            "collection_events": "0",
        },
        "ringcentral_audit_trail://old": {
            "account": "acme",
            "interval": "0 * * * *",
            "disabled": "1",
        },
        "monitor:///var/log": {"disabled": "0"},
        "ringcentral_audit_trail://": {},
    }
    docs = inventory_events(stanzas, reported_by="new", host="hf1", now=NOW)
    assert [d["input"] for d in docs] == ["new", "old"]
    new, old = docs
    assert new == {
        "kind": "inventory",
        "time": "2026-06-01T10:00:00.000Z",
        "input": "new",
        "account": "acme",
        "disabled": False,
        "interval": "300",
        "interval_s": 300,
        "schedule_s": 300,
        "index": "ringcentral",
        "action_ids": ["LOGIN_FAILED", "CHANGE_USER_ROLE"],
        "exclude_action_ids": [],
        "collection_events": False,
        "host": "hf1",
        "reported_by": "new",
        "addon_version": new["addon_version"],
    }
    assert old["disabled"] is True and old["interval_s"] is None and old["schedule_s"] == 3600
    assert old["index"] == "default" and old["collection_events"] is True


def test_no_stanza_no_inventory():
    assert inventory_events({}, reported_by="x", host="h", now=NOW) == []


def _brute_force_longest_gap(minutes, hours):
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    fires = [
        start + timedelta(minutes=m)
        for m in range(8 * 24 * 60)
        if (m % 60) in minutes and (m // 60 % 24) in hours
    ]
    return int(max((b - a).total_seconds() for a, b in zip(fires, fires[1:])))


@given(
    st.sets(st.integers(0, 59), min_size=1, max_size=6),
    st.sets(st.integers(0, 23), min_size=1, max_size=6),
)
def test_cron_period_is_the_longest_wait_between_two_runs(minutes, hours):
    cron = f"{','.join(map(str, sorted(minutes)))} {','.join(map(str, sorted(hours)))} * * *"
    assert cron_period_seconds(cron) == _brute_force_longest_gap(minutes, hours)


def test_cron_forms():
    assert cron_period_seconds("*/5 * * * *") == 300
    assert cron_period_seconds("*/5 8-18 * * *") == (13 * 3600 + 5 * 60)  # the night
    assert cron_period_seconds("0 6 * * 1-5") == 3 * 86400  # Friday 06:00 to Monday 06:00
    assert cron_period_seconds("0 0 1 * *") == 31 * 86400
    for bad in ("", "* * * *", "61 * * * *", "*/0 * * * *", "a b c d e", "5-1 * * * *"):
        assert cron_period_seconds(bad) is None, bad


@given(st.integers(1, 10**8))
def test_a_numeric_interval_is_its_own_schedule(seconds):
    assert schedule_seconds(str(seconds)) == seconds
    assert schedule_seconds(f"{seconds}.0") == seconds


def test_names_are_sorted_and_prefix_only():
    stanzas = {"ringcentral_audit_trail://b": {}, "ringcentral_audit_trail://a": {}, "x://c": {}}
    assert [name for name, _ in input_stanzas(stanzas)] == ["a", "b"]
