"""Regression tests for issue 7 (collector half): a wrong clock and a misbehaving RingCentral.

Each test reproduces one item of the issue against the stand-in and fails on the code before the
fix (see the report for the reverts tried).
"""

from __future__ import annotations

import json
from collections import Counter

from ringcentral_audit.paging import max_requests
from ringcentral_audit.ports import MemoryStore
from ringcentral_audit.settings import InputSettings
from ringcentral_audit.timeutil import format_time, parse_time

from tests.harness import ListSink, LogCapture, collect
from tests.standins.ringcentral import (
    FakeClock,
    RingCentralStandIn,
    SkewedClock,
    generate_history,
)

INTERVAL = 300.0
DAY = 86400.0


def history(clock, count, seed=1, span_days=170):
    return generate_history(count, end=clock.now() - 3600, span_days=span_days, seed=seed)


def arrive(rc, clock, n, seed):
    """``n`` records created during the last interval (as RingCentral's clock tells)."""
    rc.add_records(
        generate_history(n, end=clock.now() - 1, span_days=(INTERVAL - 2) / DAY, seed=seed)
    )


# ----- item 1: the clock ----------------------------------------------------------------------


def test_a_forwarder_clock_a_day_ahead_for_one_run_loses_nothing_and_is_logged():
    clock = FakeClock()
    ours = SkewedClock(clock)
    logs = LogCapture()
    try:
        with RingCentralStandIn(records=history(clock, 200), clock=clock) as rc:
            store, sink = MemoryStore(), ListSink()
            settings = InputSettings(name="skew")
            for step in range(12):
                clock.advance(INTERVAL)
                arrive(rc, clock, 30, seed=500 + step)
                ours.offset = DAY if step == 2 else 0.0  # a bad NTP step, fixed by the next run
                report = collect(
                    rc, ours, checkpoint=store, sink=sink, settings=settings, logger=logs.logger
                )
                assert parse_time(store.value["cursor"]) <= clock.now()
                if step == 2:
                    assert report.clock_ahead_s is not None and report.clock_ahead_s > DAY - 5
            clock.advance(INTERVAL + 700)
            collect(rc, ours, checkpoint=store, sink=sink, settings=settings)
            assert Counter(sink.ids) == Counter(rc.retrievable_ids())
        assert "action=clock_skew" in logs.text and "ahead_s=864" in logs.text
    finally:
        logs.close()


def test_a_clock_behind_costs_nothing_but_time_and_is_logged():
    clock = FakeClock()
    ours = SkewedClock(clock, -3600)
    with RingCentralStandIn(records=history(clock, 100), clock=clock) as rc:
        store, sink = MemoryStore(), ListSink()
        report = collect(rc, ours, checkpoint=store, sink=sink)
        assert report.clock_ahead_s is not None and report.clock_ahead_s < -3590
        assert rc.count("search") == 1
        assert Counter(sink.ids) == Counter(rc.retrievable_ids())


def test_a_cursor_in_the_future_is_repaired_and_named_and_collection_resumes():
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 50), clock=clock) as rc:
        future = format_time(clock.now() + 30 * DAY)  # an admin's hand edit
        store, sink = MemoryStore(future), ListSink()
        report = collect(rc, clock, checkpoint=store, sink=sink)
        assert [w.reason for w in report.warnings] == ["cursor_in_future"]
        assert report.lag_s is not None and 0 <= report.lag_s < 120
        assert parse_time(store.value["cursor"]) <= clock.now()
        assert [d["reason"] for d in sink.collection if d["kind"] == "data_loss"] == [
            "cursor_in_future"
        ]
        clock.advance(INTERVAL)
        arrive(rc, clock, 20, seed=77)
        again = ListSink()
        clock.advance(INTERVAL)
        collect(rc, clock, checkpoint=store, sink=again)
        assert len(again.ids) == 20


def test_a_future_cursor_with_evidence_of_what_was_read_resumes_without_loss_or_warning():
    """As left by an older version's run whose clock was 5 minutes ahead, followed a minute later
    by the next run: the ids it remembered show it read up to RingCentral's now, so the repaired
    window misses nothing and repeats nothing."""
    clock = FakeClock()
    records = generate_history(40, end=clock.now() - 120, span_days=480 / DAY, seed=4)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store, sink = MemoryStore(), ListSink()
        collect(rc, clock, checkpoint=store, sink=sink)
        store.value["cursor"] = format_time(parse_time(store.value["cursor"]) + 300)
        clock.advance(60)
        rc.add_records(generate_history(10, end=clock.now() - 1, span_days=50 / DAY, seed=5))
        first = collect(rc, clock, checkpoint=store, sink=sink)
        assert parse_time(store.value["cursor"]) <= clock.now()
        clock.advance(INTERVAL)
        second = collect(rc, clock, checkpoint=store, sink=sink)
        assert first.warnings == [] and second.warnings == []
        assert Counter(sink.ids) == Counter(rc.retrievable_ids())


# ----- items 2, 3, 4: paging that lies ----------------------------------------------------------


def only_found(extra):
    def hostile(body, obj):
        obj["paging"] = {"totalFound": obj["paging"]["totalFound"] + extra}
        return obj

    return hostile


def test_only_a_too_high_total_found_costs_bounded_requests_and_a_named_warning():
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 2500, span_days=20), clock=clock) as rc:
        rc.hostile = only_found(1000)
        store, sink = MemoryStore(), ListSink()
        settings = InputSettings(name="high", max_run_seconds=1800)
        report = collect(rc, clock, checkpoint=store, sink=sink, settings=settings)
        assert report.status == "success"
        assert rc.count("search") <= max_requests(1000)
        assert store.value["window"] is None and store.value["cursor"] is not None
        assert [w.reason for w in report.warnings] == ["unreconciled"]
        assert "2500 could be read" in report.warnings[0].message
        assert Counter(sink.ids) == Counter(rc.retrievable_ids())
        (doc,) = [d for d in sink.collection if d["kind"] == "window"]
        assert doc["outcome"] == "unreconciled" and doc["total_found"] == 3500
        assert doc["records_seen"] == 2500 and doc["requests"] == rc.count("search")
        clock.advance(INTERVAL)
        before = rc.count("search")
        collect(rc, clock, checkpoint=store, sink=sink, settings=settings)
        assert rc.count("search") - before <= 4  # the next window is small: no growth


def test_a_too_low_page_total_loses_nothing():
    clock = FakeClock()
    with RingCentralStandIn(
        records=history(clock, 2500, span_days=20), clock=clock, order="shuffled", seed=3
    ) as rc:

        def hostile(body, obj):
            obj["paging"]["total"] = 1
            return obj

        rc.hostile = hostile
        store, sink = MemoryStore(), ListSink()
        report = collect(rc, clock, checkpoint=store, sink=sink)
        assert set(sink.ids) == rc.retrievable_ids()
        assert report.warnings == [] or all(w.reason == "unreconciled" for w in report.warnings)


def test_a_server_that_ignores_the_page_number_costs_bounded_requests_and_loses_nothing():
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 2500, span_days=20), clock=clock) as rc:
        rc.ignore_page = True

        def hostile(body, obj):
            obj["paging"]["total"] = 10**9
            return obj

        rc.hostile = hostile
        store, sink, logs = MemoryStore(), ListSink(), LogCapture()
        settings = InputSettings(name="ignore", max_run_seconds=1800)
        report = collect(
            rc, clock, checkpoint=store, sink=sink, settings=settings, logger=logs.logger
        )
        logs.close()
        assert "action=window_deviation" in logs.text and "ignored_page=1" in logs.text
        assert report.status == "success"
        # one page, one page that brings nothing new, then sub-windows that each fit a page
        # (2,500 records need at least 3 of them, halving costs a few more)
        assert rc.count("search") <= 16
        assert Counter(sink.ids) == Counter(rc.retrievable_ids())
        clock.advance(INTERVAL)
        before = rc.count("search")
        collect(rc, clock, checkpoint=store, sink=sink, settings=settings)
        assert rc.count("search") - before == 1


# ----- item 7: records from outside the window --------------------------------------------------


def test_a_record_from_outside_the_window_is_indexed_once_and_named():
    clock = FakeClock()
    stray = generate_history(1, end=clock.now() - 40 * DAY, span_days=0, seed=99)[0]
    logs = LogCapture()
    try:
        with RingCentralStandIn(records=history(clock, 30, span_days=1), clock=clock) as rc:

            def hostile(body, obj):
                obj["records"].append(dict(stray))
                return obj

            rc.hostile = hostile
            store, sink = MemoryStore(), ListSink()
            settings = InputSettings(name="stray", start=clock.now() - 2 * DAY)
            for step in range(5):
                clock.advance(INTERVAL)
                arrive(rc, clock, 3, seed=40 + step)
                collect(
                    rc, clock, checkpoint=store, sink=sink, logger=logs.logger, settings=settings
                )
            assert Counter(sink.ids)[stray["id"]] == 1
        assert "action=record_outside_window" in logs.text
    finally:
        logs.close()


# ----- item 12: RingCentral at its cap -----------------------------------------------------------


def test_retention_cap_warns_when_records_newer_than_the_window_fill_the_cap():
    clock = FakeClock()
    records = history(clock, 10000, span_days=150)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        # 40 records inside the lag: the account is at 10,000, the window counts 9,960
        rc.add_records(generate_history(40, end=clock.now() - 1, span_days=50 / DAY, seed=8))
        sink = ListSink()
        report = collect(rc, clock, checkpoint=MemoryStore(), sink=sink)
        assert [w.reason for w in report.warnings] == ["retention_cap"]
        warning = report.warnings[0]
        oldest = min(parse_time(r["eventTime"]) for r in rc.retrievable_records())
        assert warning.end == oldest
        assert rc.count("search") == 11  # ten pages and the one count near the cap
        (doc,) = [d for d in sink.collection if d["kind"] == "data_loss"]
        assert doc["reason"] == "retention_cap" and doc["loss_end"] == format_time(oldest)


def test_no_retention_warning_and_no_extra_request_far_from_the_cap():
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 2500), clock=clock) as rc:
        report = collect(rc, clock, checkpoint=MemoryStore(), sink=ListSink())
        assert report.warnings == [] and rc.count("search") == 3


# ----- item 13: ids -----------------------------------------------------------------------------


def test_numeric_and_string_ids_with_the_same_digits_are_two_records():
    clock = FakeClock()
    base = history(clock, 2, span_days=1)
    a, b = dict(base[0], id=5), dict(base[1], id="5")
    with RingCentralStandIn(records=[a, b], clock=clock) as rc:
        sink = ListSink()
        collect(rc, clock, checkpoint=MemoryStore(), sink=sink)
        assert sorted(repr(json.loads(e.data)["id"]) for e in sink.events) == ["'5'", "5"]
        assert sorted(sink.ids) == ["5", "int:5"]  # two records, not one id seen twice


def test_a_duplicate_id_with_other_content_is_indexed_and_named():
    clock = FakeClock()
    base = history(clock, 2, span_days=1)
    twin = dict(base[1], id=base[0]["id"])
    logs = LogCapture()
    try:
        with RingCentralStandIn(records=[base[0], twin], clock=clock) as rc:
            sink = ListSink()
            collect(rc, clock, checkpoint=MemoryStore(), sink=sink, logger=logs.logger)
            assert sorted(e.data for e in sink.events) == sorted(
                json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in (base[0], twin)
            )
        assert "action=duplicate_id_conflict" in logs.text
    finally:
        logs.close()


def test_a_too_low_total_found_with_records_moving_between_pages_loses_nothing():
    """Found by the property test: a count that lies low hides the records that the shuffled
    pages skipped; pages that repeat records show the shift, so the window is read again."""
    clock = FakeClock()
    with RingCentralStandIn(
        records=history(clock, 1592, span_days=20), clock=clock, order="shuffled", seed=32465
    ) as rc:

        def hostile(body, obj):
            obj["paging"]["totalFound"] = "12"
            return obj

        rc.hostile = hostile
        sink, logs = ListSink(), LogCapture()
        collect(rc, clock, checkpoint=MemoryStore(), sink=sink, logger=logs.logger)
        logs.close()
        assert Counter(sink.ids) == Counter(rc.retrievable_ids())
        assert "records_moved_between_pages=1 total_found_below_seen=12<1592" in logs.text


def test_a_server_that_ignores_the_time_filter_costs_at_most_the_window_budget():
    """Every sub-window answers with the same full page: halving could go on for billions of
    requests; the window's budget ends it with a named warning."""
    clock = FakeClock()
    records = history(clock, 2500, span_days=20)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        same = [dict(r) for r in records[:1000]]

        def hostile(body, obj):
            return {"records": same, "paging": {"totalFound": 2500}}

        rc.hostile = hostile
        store, sink = MemoryStore(), ListSink()
        settings = InputSettings(name="nofilter", max_run_seconds=3300)
        report = collect(rc, clock, checkpoint=store, sink=sink, settings=settings)
        assert report.status == "success" and store.value["window"] is None
        assert rc.count("search") == max_requests(1000)
        assert [w.reason for w in report.warnings] == ["unreconciled"]
        assert "the most one window may cost" in report.warnings[0].message
        assert Counter(sink.ids) == Counter(r["id"] for r in same)


def test_retention_cap_after_an_outage_names_the_period_from_the_cursor():
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 100, span_days=5), clock=clock) as rc:
        store, sink = MemoryStore(), ListSink()
        collect(rc, clock, checkpoint=store, sink=sink)
        cursor = parse_time(store.value["cursor"])
        clock.advance(2 * DAY)  # the input was off; the account filled its cap meanwhile
        burst = generate_history(10050, end=clock.now() - 120, span_days=1.9, seed=12)
        rc.add_records(burst)
        report = collect(rc, clock, checkpoint=store, sink=sink)
        assert [w.reason for w in report.warnings] == ["retention_cap"]
        oldest = min(parse_time(r["eventTime"]) for r in rc.retrievable_records())
        assert (report.warnings[0].start, report.warnings[0].end) == (cursor, oldest)
        assert set(sink.ids) >= rc.retrievable_ids()


def test_an_unfinished_window_reaching_into_the_future_is_planned_again():
    """Left by an older version whose clock was a day ahead, in the middle of a window."""
    clock = FakeClock()
    records = generate_history(30, end=clock.now() - 120, span_days=500 / DAY, seed=6)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        seen = {r["id"]: round(parse_time(r["eventTime"]) * 1000) for r in records[:10]}
        store = MemoryStore(
            {
                "version": 2,
                "origin": "",
                "cursor": format_time(clock.now() - 700),
                "recent": {},
                "window": {
                    "start": format_time(clock.now() - 1300),
                    "end": format_time(clock.now() + DAY),
                    "page": 2,
                    "ids": seen,
                    "parts": None,
                },
            }
        )
        sink = ListSink()
        report = collect(rc, clock, checkpoint=store, sink=sink)
        assert report.status == "success"
        assert parse_time(store.value["cursor"]) <= clock.now()
        assert sorted(sink.ids) == sorted(r["id"] for r in records[10:])
