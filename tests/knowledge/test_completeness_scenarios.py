"""Completeness that never says "yes" without evidence (issue 16 item 2): the macro answers per
input and per account (the union of its unfiltered inputs), a filtered input says what it
covers, an input in the inventory that never ran is "no", no evidence at all is "unknown", a
re-read window that did not reconcile is a gap; and the index reconciliation finds records the
collector emitted that are not in the index (a numeric id counts like any other)."""

import json

from hypothesis import given
from hypothesis import strategies as st

from . import checks, coverage
from .test_coverage import SLOW, _reference_gaps

APP = checks.PACKAGE
DAY = 86400.0
JAN = coverage.epoch("2026-01-01T00:00:00Z")


def _window(name, start, end, account="acme", **extra):
    return {
        "kind": "window",
        "input": name,
        "account": account,
        "interval_s": 300,
        "time": coverage.iso(end),
        "run_started": coverage.iso(end + 60),
        "window_start": coverage.iso(start),
        "window_end": coverage.iso(end),
        "records_seen": 1,
        "emitted": 1,
        "duplicates": 0,
        "requests": 1,
        "outcome": "complete",
        "action_ids": [],
        "exclude_action_ids": [],
        **extra,
    }


def _inventory(name, when, account="acme", **extra):
    return {
        "kind": "inventory",
        "time": coverage.iso(when),
        "input": name,
        "account": account,
        "disabled": False,
        "interval": "300",
        "interval_s": 300,
        "schedule_s": 300,
        "index": "main",
        "action_ids": [],
        "exclude_action_ids": [],
        "collection_events": True,
        "host": "hf1",
        "reported_by": name,
        **extra,
    }


def _answer(docs, start="2026-01-01T00:00:00Z", end="2026-07-01T00:00:00Z"):
    events = [coverage.index_doc(APP, doc) for doc in docs]
    return coverage.completeness(APP, events, start, end, now="2026-07-02T00:00:00Z")


def _shown(epoch):
    return coverage.shown(epoch)


def test_no_collection_event_at_all_is_unknown_never_an_empty_answer():
    answer = _answer([])
    assert list(answer) == ["none"]
    assert answer["none"][0].startswith("unknown: no collection events")


def test_a_replaced_input_and_its_replacement_cover_the_account():
    mar = coverage.epoch("2026-03-15T00:00:00Z")
    jul = coverage.epoch("2026-07-01T00:00:00Z")
    answer = _answer([_window("old", JAN, mar), _window("new", mar, jul)])
    assert answer["old"] == ("no", (f"{_shown(mar)} to {_shown(jul)} not collected",))
    assert answer["new"] == ("no", (f"{_shown(JAN)} to {_shown(mar)} not collected",))
    assert answer["account:acme"] == ("yes", ())


def test_a_filtered_input_covers_only_its_actions_and_not_its_account():
    jul = coverage.epoch("2026-07-01T00:00:00Z")
    docs = [_window("logins", JAN, jul, action_ids=["LOGIN_FAILED", "LOGIN_SUCCESSFULLY"])]
    events = [coverage.index_doc(APP, doc) for doc in docs]
    rows = coverage.run(
        APP,
        coverage.view_query(APP, "ds_completeness"),
        events,
        "2026-07-02T00:00:00Z",
        {"cov_from": "2026-01-01T00:00:00Z", "cov_to": "2026-07-01T00:00:00Z"},
    )
    by = {(r["level"], r["name"]): r for r in rows}
    assert by[("input", "logins")]["complete"] == "yes"
    assert by[("input", "logins")]["covers"] == "only actionIds LOGIN_FAILED, LOGIN_SUCCESSFULLY"
    assert by[("account", "acme")]["complete"] == "no"
    assert by[("account", "acme")]["gaps"] == f"{_shown(JAN)} to {_shown(jul)} not collected"


def test_an_input_that_never_ran_is_not_collected_for_the_whole_period():
    jul = coverage.epoch("2026-07-01T00:00:00Z")
    answer = _answer([_window("alive", JAN, jul), _inventory("never", jul - DAY)])
    whole = (f"{_shown(JAN)} to {_shown(jul)} not collected",)
    assert answer["never"] == ("no", whole)
    assert answer["alive"] == ("yes", ())
    assert answer["account:acme"] == ("yes", ())  # the account is covered by "alive"


def test_a_reconciliation_that_found_missing_records_is_a_gap():
    jul = coverage.epoch("2026-07-01T00:00:00Z")
    reconcile = {
        "kind": "reconcile",
        "input": "alive",
        "account": "acme",
        "time": coverage.iso(JAN + 2 * DAY),
        "window_start": coverage.iso(JAN + DAY),
        "window_end": coverage.iso(JAN + 2 * DAY),
        "counted_before": 10,
        "counted_now": 12,
        "re_read": 12,
        "recovered": 0,
        "outcome": "unreconciled",  # the engine's outcome when the count still disagrees
    }
    answer = _answer([_window("alive", JAN, jul), reconcile])
    gap = (
        f"{_shown(JAN + DAY)} to {_shown(JAN + 2 * DAY)} reconciliation: unreconciled "
        "(10 records counted, 12 now, 0 recovered)"
    )
    assert answer["alive"] == ("no", (gap,))
    assert answer["account:acme"] == ("no", (gap,))
    # a day whose count matched, or was re-read to the end, is no gap
    for outcome in ("match", "complete", "beyond_history", "unknown"):
        fine = _answer([_window("alive", JAN, jul), {**reconcile, "outcome": outcome}])
        assert fine["alive"] == ("yes", ()), outcome


windows = st.lists(
    st.tuples(st.integers(0, 2000), st.integers(1, 400)).map(
        lambda p: (JAN + p[0] * 60, JAN + (p[0] + p[1]) * 60)
    ),
    max_size=8,
)


@given(
    first=windows, second=windows, bounds=st.tuples(st.integers(-50, 2500), st.integers(1, 2000))
)
@SLOW
def test_an_account_is_complete_exactly_where_the_union_of_its_inputs_is(first, second, bounds):
    docs = [_window("a", s, e) for s, e in first] + [_window("b", s, e) for s, e in second]
    docs.append(_inventory("a", JAN))
    docs.append(_inventory("b", JAN))
    low = JAN + bounds[0] * 60
    high = low + bounds[1] * 60
    answer = _answer(docs, coverage.iso(low)[:19] + "Z", coverage.iso(high)[:19] + "Z")
    gaps = tuple(
        sorted(
            f"{_shown(a)} to {_shown(b)} not collected"
            for a, b in _reference_gaps(first + second, low, high)
        )
    )
    assert answer["account:acme"] == (("no", gaps) if gaps else ("yes", ()))


# --- did what the collector emitted reach the index?


def _record(input_name, rid, when):
    raw = json.dumps({"id": rid, "eventTime": coverage.iso(when), "actionId": "LOGIN_FAILED"})
    event = checks.search_time(APP).run(
        raw, {"index": ("main",), "source": (f"ringcentral_audit_trail://{input_name}",)}
    )
    fields = dict(event.search_fields())
    fields["_time"] = (repr(when),)
    return fields


def _reconciliation(events):
    search = (
        '(`ringcentral_audit_index` sourcetype="ringcentral:audit") OR (`ringcentral_audit_index` '
        'sourcetype="ringcentral:audit:collection" kind="window") | `ringcentral_audit_index_reconciliation`'
    )
    rows = coverage.run(APP, search, events, "2026-07-02T00:00:00Z")
    return [
        (r["input"], float(r["emitted"]), float(r["found_in_index"]), float(r["missing"]))
        for r in rows
    ]


def test_records_emitted_but_absent_from_the_index_are_a_shortfall():
    t = JAN + 3600
    docs = [
        _window("alpha", t, t + 300, emitted=3),
        _window("alpha", t + 300, t + 600, emitted=2),
        _window("alpha", t + 900, t + 1200, emitted=1),  # a second period, after a hole
    ]
    events = [coverage.index_doc(APP, d) for d in docs]
    events += [
        _record("alpha", "a1", t + 10),
        _record("alpha", 42, t + 20),
        _record("alpha", "a3", t + 299),
    ]
    events += [_record("alpha", "a4", t + 300)]  # one of the second window's two: one missing
    events += [_record("alpha", "a3", t + 299)]  # a copy: counted once
    events += [_record("alpha", "b1", t + 1000)]
    events += [_record("alpha", "h1", t + 700)]  # in the hole: no window emitted it
    events += [_record("beta", "x1", t + 400)]  # another input's record does not count
    assert _reconciliation(events) == [("alpha", 5.0, 4.0, 1.0), ("alpha", 1.0, 1.0, 0.0)]


def test_a_numeric_id_and_a_record_without_id_are_counted():
    t = JAN + 3600
    events = [coverage.index_doc(APP, _window("alpha", t, t + 300, emitted=2))]
    events.append(_record("alpha", 7, t + 5))
    raw = json.dumps({"eventTime": coverage.iso(t + 6), "actionId": "LOGIN_FAILED"})
    event = checks.search_time(APP).run(
        raw, {"index": ("main",), "source": ("ringcentral_audit_trail://alpha",)}
    )
    fields = dict(event.search_fields())
    fields["_time"] = (repr(t + 6),)
    events.append(fields)
    assert _reconciliation(events) == [("alpha", 2.0, 2.0, 0.0)]


def test_the_missing_records_alert_names_the_shortfall():
    t = JAN + 3600
    events = [coverage.index_doc(APP, _window("alpha", t, t + 300, emitted=3))]
    events += [_record("alpha", "a1", t + 10), _record("alpha", 42, t + 20)]
    stanza = coverage.saved(APP, "RingCentral Audit - Records missing from the index")
    rows = coverage.run(APP, stanza["search"], events, "2026-01-02T00:00:00Z")
    assert [(r["input"], r["emitted"], r["found_in_index"], r["missing"]) for r in rows] == [
        ("alpha", 3.0, 2.0, 1.0)
    ]
    complete = [*events[:1], _record("alpha", "a1", t + 10), _record("alpha", 42, t + 20)]
    complete.append(_record("alpha", "a3", t + 30))
    assert coverage.run(APP, stanza["search"], complete, "2026-01-02T00:00:00Z") == []
