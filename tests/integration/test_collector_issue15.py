"""Issue 15: nothing lost without a word (filters at the cap, transient empty answers, leaking
bounds, changed records, look-alike records, slow links, ignored page numbers, time forms)."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
from ringcentral_audit.collector import Collector
from ringcentral_audit.ports import MemoryStore
from ringcentral_audit.settings import Connection, InputSettings
from ringcentral_audit.timeutil import parse_time

from tests.harness import ListSink, LogCapture, collect, make_client
from tests.hostile import HostileFront
from tests.standins.ringcentral import FakeClock, RingCentralStandIn, generate_history

DAY = 86400.0
INTERVAL = 300.0
HOURLY = 3600.0


def popular_action(records):
    return Counter(r["actionId"] for r in records).most_common(3)[-1][0]


def losses(docs):
    return [
        (parse_time(d["loss_start"]), parse_time(d["loss_end"]))
        for d in docs
        if d["kind"] == "data_loss" and d["reason"] == "retention_cap"
    ]


def assert_every_loss_named(records, wanted, emitted, docs):
    named = losses(docs)
    for record in records:
        if wanted(record) and record["id"] not in emitted:
            t = parse_time(record["eventTime"])
            assert any(a <= t <= b for a, b in named), (record["eventTime"], named)


# ----- item 2: a filtered input at the retention cap -----------------------------------------


@pytest.mark.parametrize("exclude", [False, True])
def test_a_filtered_input_names_what_the_cap_discarded_on_its_first_run(exclude):
    clock = FakeClock()
    records = generate_history(15000, end=clock.now() - 3600, span_days=40, seed=51)
    action = popular_action(records)
    start = clock.now() - 40 * DAY
    if exclude:
        settings = InputSettings("f", start=start, exclude_action_ids=(action,))
    else:
        settings = InputSettings("f", start=start, action_ids=(action,))

    def wanted(record):
        inside = parse_time(record["eventTime"]) >= start
        return inside and (record["actionId"] == action) != exclude

    with RingCentralStandIn(records=records, clock=clock) as rc:
        sink = ListSink()
        collect(rc, clock, checkpoint=MemoryStore(), sink=sink, settings=settings)
        lost = [r for r in records if wanted(r) and r["id"] not in set(sink.ids)]
        assert lost  # the cap discarded some of them before the first run
        assert_every_loss_named(records, wanted, set(sink.ids), sink.collection)
        for doc in sink.collection:
            assert doc["action_ids"] == list(settings.action_ids)
            assert doc["exclude_action_ids"] == list(settings.exclude_action_ids)


def test_a_filtered_input_names_what_the_cap_discarded_during_an_outage():
    clock = FakeClock()
    records = generate_history(3000, end=clock.now() - 3600, span_days=10, seed=52)
    action = popular_action(records)
    settings = InputSettings("f", start=clock.now() - 10 * DAY, action_ids=(action,))
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store, sink = MemoryStore(), ListSink()
        collect(rc, clock, checkpoint=store, sink=sink, settings=settings)
        assert not losses(sink.collection)
        clock.advance(3 * DAY)  # the input was down for three days
        later = generate_history(12000, end=clock.now() - 120, span_days=3, seed=53)
        rc.add_records(later)
        collect(rc, clock, checkpoint=store, sink=sink, settings=settings)
        wanted = lambda r: r["actionId"] == action  # noqa: E731
        assert [r for r in later if wanted(r) and r["id"] not in set(sink.ids)]
        assert_every_loss_named(later, wanted, set(sink.ids), sink.collection)


def test_an_unfiltered_input_spends_no_count_request_far_from_the_cap():
    clock = FakeClock()
    records = generate_history(500, end=clock.now() - 3600, span_days=10, seed=54)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        collect(rc, clock, checkpoint=MemoryStore(), sink=ListSink())
        assert rc.count("search") == 1


# ----- item 4: a transient empty answer, and late arrivals, recovered by reconciliation -------


def test_a_transiently_empty_answer_is_recovered_by_the_next_reconciliation():
    clock = FakeClock()
    records = generate_history(200, end=clock.now() - 3600, span_days=3, seed=61)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store, sink, logs = MemoryStore(), ListSink(), LogCapture()
        collect(rc, clock, checkpoint=store, sink=sink, settings=InputSettings("e"))
        clock.advance(65 * 60)  # an outage
        outage = generate_history(30, end=clock.now() - 120, span_days=65 / 1440, seed=62)
        rc.add_records(outage)
        rc.hostile = lambda body, obj: {"records": []}  # one empty answer, no paging
        collect(rc, clock, checkpoint=store, sink=sink, settings=InputSettings("e"))
        rc.hostile = None
        assert not {r["id"] for r in outage} & set(sink.ids)
        for _ in range(int(2.2 * DAY / HOURLY)):  # one reconciliation cycle, hourly runs
            clock.advance(HOURLY)
            collect(
                rc,
                clock,
                checkpoint=store,
                sink=sink,
                settings=InputSettings("e"),
                logger=logs.logger,
            )
        logs.close()
    assert Counter(sink.ids) == Counter(r["id"] for r in records + outage)
    reconciled = [d for d in sink.collection if d["kind"] == "reconcile"]
    # those the next windows' overlap did not read again
    assert 0 < sum(d["recovered"] for d in reconciled) <= len(outage)
    assert any(d["re_read"] for d in reconciled) and "action=reconciled" in logs.text
    for doc in reconciled:
        assert {"window_start", "window_end", "counted_before", "counted_now", "outcome"} <= set(
            doc
        )


def test_a_late_arrival_beyond_the_overlap_is_recovered_by_reconciliation():
    clock = FakeClock()
    records = generate_history(100, end=clock.now() - 3600, span_days=2, seed=63)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store, sink = MemoryStore(), ListSink()
        collect(rc, clock, checkpoint=store, sink=sink)
        late = generate_history(5, end=clock.now() - 2 * 3600, span_days=0.01, seed=64)
        clock.advance(INTERVAL)
        rc.add_records(late)  # dated two hours back, far beyond the 10-minute overlap
        for _ in range(int(2.2 * DAY / HOURLY)):
            clock.advance(HOURLY)
            collect(rc, clock, checkpoint=store, sink=sink)
    assert Counter(sink.ids) == Counter(r["id"] for r in records + late)


def test_reconciliation_costs_one_count_per_day_when_nothing_changed():
    clock = FakeClock()
    records = generate_history(3000, end=clock.now() - 3600, span_days=20, seed=65)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store, sink = MemoryStore(), ListSink()
        collect(rc, clock, checkpoint=store, sink=sink)
        before = rc.count("search")
        runs = int(3 * DAY / INTERVAL)
        for _ in range(runs):
            clock.advance(INTERVAL)
            collect(rc, clock, checkpoint=store, sink=sink)
        spent = rc.count("search") - before - runs  # one search per run reads its window
        counted = [d for d in sink.collection if d["kind"] == "reconcile"]
        print(f"\nreconciliation: days=3 count_requests={spent} per_day={spent / 3:.1f}")
        assert all(not d["re_read"] for d in counted)
        assert counted and spent == len(counted) and spent <= 3 * 7


# ----- item 5: a record seen inside its window, then outside the next ------------------------


@pytest.mark.parametrize("leak", [60, 300, 900])
def test_a_leaking_lower_bound_indexes_each_record_once_without_false_warnings(leak):
    clock = FakeClock()
    records = generate_history(120, end=clock.now() - 3600, span_days=1, seed=71)
    with RingCentralStandIn(records=records, clock=clock, order="oldest") as rc:

        def leaking(body, obj):
            start = parse_time(body.get("eventTimeFrom"))
            end = parse_time(body.get("eventTimeTo"))
            if start is None or body.get("perPage") == 1:
                return obj
            extra = [
                r
                for r in rc.records
                if start - leak <= parse_time(r["eventTime"]) < start
                and parse_time(r["eventTime"]) < end
            ]
            if body.get("page", 1) == 1:
                obj["records"] = extra + obj["records"]
                paging = obj.get("paging") or {}
                paging["totalFound"] = paging.get("totalFound", 0) + len(extra)
            return obj

        rc.hostile = leaking
        store, sink, logs = MemoryStore(), ListSink(), LogCapture()
        collect(rc, clock, checkpoint=store, sink=sink, logger=logs.logger)
        for n in range(6):
            clock.advance(INTERVAL)
            rc.add_records(
                generate_history(20, end=clock.now() - 61, span_days=200 / DAY, seed=72 + n)
            )
            collect(rc, clock, checkpoint=store, sink=sink, logger=logs.logger)
        logs.close()
    assert max(Counter(sink.ids).values()) == 1
    assert "reason=unreconciled" not in logs.text


# ----- item 6: changed records, look-alike records -------------------------------------------


def test_a_record_that_changed_is_indexed_again_as_a_named_new_version():
    clock = FakeClock()
    records = generate_history(20, end=clock.now() - 120, span_days=200 / DAY, seed=81)
    target = records[-1]["id"]
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store, sink, logs = MemoryStore(), ListSink(), LogCapture()
        collect(rc, clock, checkpoint=store, sink=sink, logger=logs.logger)

        def promoted(body, obj):
            for record in obj["records"]:
                if record.get("id") == target:
                    record["details"] = {"role": "Super Admin"}
            return obj

        rc.hostile = promoted
        for _ in range(3):
            clock.advance(60)
            collect(rc, clock, checkpoint=store, sink=sink, logger=logs.logger)
        logs.close()
    versions = [e for e in sink.events if json.loads(e.data)["id"] == target]
    assert len(versions) == 2
    assert versions[0].id == target and versions[1].id.startswith(target + "~")
    assert '"Super Admin"' in versions[1].data
    assert logs.text.count("action=record_new_version") == 1


def test_identical_records_without_id_are_all_kept():
    clock = FakeClock()
    base = generate_history(8, end=clock.now() - 3600, span_days=1, seed=82)
    twins = []
    for record in base:
        record = {k: v for k, v in record.items() if k != "id"}
        twins += [record, dict(record)]
    with RingCentralStandIn(records=twins, clock=clock) as rc:
        store, sink, logs = MemoryStore(), ListSink(), LogCapture()
        collect(rc, clock, checkpoint=store, sink=sink, logger=logs.logger)
        for _ in range(2):
            clock.advance(INTERVAL)
            collect(rc, clock, checkpoint=store, sink=sink, logger=logs.logger)
        logs.close()
    assert len(sink.ids) == 16 and len(set(sink.ids)) == 16
    assert "action=identical_records_without_id" in logs.text


# ----- item 7: slow links, ignored page numbers ----------------------------------------------


def test_a_page_that_cannot_arrive_in_time_is_asked_for_in_smaller_pages():
    clock = FakeClock()
    records = generate_history(1200, end=clock.now() - 3600, span_days=5, seed=91)
    with RingCentralStandIn(records=records, clock=clock) as rc, HostileFront(rc.base_url) as front:
        size = len(json.dumps(records[:1000]))
        front.bandwidth["search"] = size / 3  # a full page needs 3 s; the allowance is 1.5 s
        store, sink, logs = MemoryStore(), ListSink(), LogCapture()
        connection = Connection(connect_timeout=0.5, read_timeout=0.5)
        for _ in range(2):
            client = make_client(
                rc, clock, connection=connection, server_url=front.url, logger=logs.logger
            )
            try:
                Collector(
                    client,
                    InputSettings("slow"),
                    checkpoint=store,
                    sink=sink,
                    clock=clock,
                    logger=logs.logger,
                    stop=threading.Event(),
                ).run()
            finally:
                client.close()
            clock.advance(INTERVAL)
        logs.close()
    assert Counter(sink.ids) == Counter(r["id"] for r in records)
    assert "action=page_size_reduced" in logs.text and "reason=too_slow" in logs.text
    assert store.value["per_page"] < 1000


def test_a_server_that_ignores_page_numbers_costs_a_few_searches_per_run_and_is_named():
    clock = FakeClock()
    records = generate_history(1200, end=clock.now() - 3600, span_days=5, seed=92)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        rc.ignore_page = True

        def no_paging(body, obj):
            obj.pop("paging", None)
            return obj

        rc.hostile = no_paging
        store, sink, logs = MemoryStore(), ListSink(), LogCapture()
        collect(rc, clock, checkpoint=store, sink=sink, logger=logs.logger)
        costs = []
        for n in range(4):
            clock.advance(INTERVAL)
            rc.add_records(
                generate_history(1200, end=clock.now() - 61, span_days=200 / DAY, seed=93 + n)
            )
            before = rc.count("search")
            collect(rc, clock, checkpoint=store, sink=sink, logger=logs.logger)
            costs.append(rc.count("search") - before)
        logs.close()
    print(f"\nignored page numbers: searches per busy run {costs}")
    assert Counter(sink.ids) == Counter(r["id"] for r in rc.records)
    assert logs.text.count("action=page_number_ignored") == 1
    assert max(costs) <= 8


# ----- item 8: messages that name what happened -----------------------------------------------


def test_a_refused_refresh_and_a_first_401_are_named_as_what_they_are():
    clock = FakeClock()
    records = generate_history(10, end=clock.now() - 3600, span_days=1, seed=95)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store, tokens, logs = MemoryStore(), MemoryStore(), LogCapture()
        collect(rc, clock, checkpoint=store, sink=ListSink(), tokens=tokens)
        rc.expire_tokens()  # the cached access token is refused once: log in again
        clock.advance(INTERVAL)
        collect(rc, clock, checkpoint=store, sink=ListSink(), tokens=tokens, logger=logs.logger)
        clock.advance(3500)  # the access token is due for a refresh, which is refused
        rc.expire_refresh_tokens()
        collect(rc, clock, checkpoint=store, sink=ListSink(), tokens=tokens, logger=logs.logger)
        logs.close()
    lines = logs.text.splitlines()
    reauth = [line for line in lines if "action=reauthenticate" in line]
    refresh = [line for line in lines if "action=token_refresh_failed" in line]
    assert reauth and all("even after" not in line for line in reauth)
    assert refresh and all(
        "refresh token" in line and "JWT credential" not in line for line in refresh
    )
