"""The collector against the RingCentral stand-in: exactly once, across orders, faults and restarts."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
from ringcentral_audit.errors import AuthError, PermissionDenied, RateLimitExceeded, ServiceError
from ringcentral_audit.ports import MemoryStore
from ringcentral_audit.settings import InputSettings
from ringcentral_audit.timeutil import format_time, parse_time

from tests.harness import Crash, DyingStore, ListSink, LogCapture, collect, make_client
from tests.standins.ringcentral import FakeClock, RingCentralStandIn, generate_history

INTERVAL = 300.0


def history(clock, count, seed=1, span_days=170):
    return generate_history(count, end=clock.now() - 3600, span_days=span_days, seed=seed)


def test_backfill_collects_every_record_once_with_the_minimum_of_requests():
    clock = FakeClock()
    records = history(clock, 2500)
    with RingCentralStandIn(records=records, clock=clock, order="newest") as rc:
        sink, store = ListSink(), MemoryStore()
        report = collect(rc, clock, checkpoint=store, sink=sink)
        assert Counter(sink.ids) == Counter(r["id"] for r in records)
        assert report.status == "success" and report.records == 2500
        assert rc.count("search") == 3 and rc.logins == 1
        assert rc.count(status=429) == 0
        assert store.saves == 3  # once per page


def test_events_carry_the_record_json_and_time():
    clock = FakeClock()
    records = history(clock, 50)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        sink = ListSink()
        collect(rc, clock, checkpoint=MemoryStore(), sink=sink)
    by_id = {r["id"]: r for r in records}
    for event in sink.events:
        assert json.loads(event.data) == by_id[event.id]
        assert list(json.loads(event.data)) == list(by_id[event.id])  # key order kept
        assert event.time == parse_time(by_id[event.id]["eventTime"])


def test_steady_state_run_with_nothing_new_costs_one_search_and_no_login():
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 300), clock=clock) as rc:
        store, tokens = MemoryStore(), MemoryStore()
        collect(rc, clock, checkpoint=store, sink=ListSink(), tokens=tokens)
        clock.advance(INTERVAL)
        searches, logins = rc.count("search"), rc.logins
        sink = ListSink()
        report = collect(rc, clock, checkpoint=store, sink=sink, tokens=tokens)
        assert sink.events == []
        assert rc.count("search") - searches == 1
        assert rc.logins == logins and rc.count("token") == logins
        assert report.lag_s == pytest.approx(60, abs=1)


def test_new_records_and_late_arrivals_are_picked_up_exactly_once():
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 100), clock=clock, order="newest") as rc:
        store, tokens, sink = MemoryStore(), MemoryStore(), ListSink()
        collect(rc, clock, checkpoint=store, sink=sink, tokens=tokens)
        expected = {r["id"] for r in rc.records} if hasattr(rc, "records") else None
        for step in range(6):
            clock.advance(INTERVAL)
            now = clock.now()
            fresh = generate_history(5, end=now - 90, span_days=0.001, seed=100 + step)
            # late: event time 4 minutes ago, visible only from the next run on
            late = generate_history(3, end=now - 240, span_days=0.0005, seed=200 + step)
            rc.add_records(fresh)
            rc.add_records(late, visible_at=now + 30)
            collect(rc, clock, checkpoint=store, sink=sink, tokens=tokens)
        clock.advance(INTERVAL)
        collect(rc, clock, checkpoint=store, sink=sink, tokens=tokens)
        retrievable = rc.retrievable_ids()
    assert Counter(sink.ids) == Counter(retrievable)
    assert expected is None or expected <= retrievable


@pytest.mark.parametrize("order", ["newest", "oldest", "shuffled"])
@pytest.mark.parametrize("bounds", ["[)", "[]", "()"])
def test_every_order_and_bound_convention_yields_each_record_once(order, bounds):
    clock = FakeClock()
    records = history(clock, 1200, seed=7)
    with RingCentralStandIn(records=records, clock=clock, order=order, bounds=bounds) as rc:
        store, sink = MemoryStore(), ListSink()
        for i in range(3):
            collect(rc, clock, checkpoint=store, sink=sink)
            rc.add_records(generate_history(40, end=clock.now() - 70, span_days=0.002, seed=90 + i))
            clock.advance(INTERVAL)
        collect(rc, clock, checkpoint=store, sink=sink)
        assert Counter(sink.ids) == Counter(rc.retrievable_ids())


def test_changing_the_start_date_resets_the_checkpoint_and_collects_again_from_it():
    clock = FakeClock()
    records = history(clock, 400, seed=21, span_days=20)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store, logs = MemoryStore(), LogCapture()
        try:
            ten_days = InputSettings(name="t", start=clock.now() - 10 * 86400)
            first = ListSink()
            collect(rc, clock, checkpoint=store, sink=first, settings=ten_days)
            clock.advance(INTERVAL)
            again = ListSink()
            collect(rc, clock, checkpoint=store, sink=again, settings=ten_days)
            assert again.events == []  # same start date: nothing new
            clock.advance(INTERVAL)
            everything = ListSink()
            all_history = InputSettings(name="t")
            collect(
                rc,
                clock,
                checkpoint=store,
                sink=everything,
                settings=all_history,
                logger=logs.logger,
            )
        finally:
            logs.close()
    newer = {
        r["id"]
        for r in records
        if parse_time(r["eventTime"]) >= clock.now() - 10 * 86400 - 2 * INTERVAL
    }
    assert set(first.ids) <= newer and len(first.ids) < len(records)
    assert Counter(everything.ids) == Counter(r["id"] for r in records)
    assert "action=checkpoint_reset" in logs.text and "reason=start_date_changed" in logs.text
    assert store.value["origin"] == ""
    assert store.value["rate"]["sent"]  # the reset kept the rate state (recent requests)


def test_a_migrated_checkpoint_adopts_the_start_date_and_goes_on_from_its_cursor():
    clock = FakeClock()
    records = history(clock, 200, seed=22, span_days=5)
    cursor = clock.now() - 2 * 86400
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store = MemoryStore({"version": 1, "cursor": format_time(cursor)})
        sink = ListSink()
        collect(
            rc,
            clock,
            checkpoint=store,
            sink=sink,
            settings=InputSettings("t", start=clock.now() - 4 * 86400),
        )
    expected = {r["id"] for r in records if parse_time(r["eventTime"]) >= cursor - 600}
    assert set(sink.ids) == expected
    assert store.value["version"] == 2 and store.value["origin"]


def test_a_window_whose_pages_shift_is_read_again_in_parts_until_the_count_adds_up():
    clock = FakeClock()
    records = history(clock, 2100, seed=3)
    with RingCentralStandIn(records=records, clock=clock, order="shuffled", seed=5) as rc:
        store, sink = MemoryStore(), ListSink()
        report = collect(rc, clock, checkpoint=store, sink=sink)
        assert Counter(sink.ids) == Counter(r["id"] for r in records)
        # shuffled differently on every request: pages overlap, so the window was split
        assert rc.count("search") > 3
        assert store.value["window"] is None
        assert report.records == 2100


def test_a_clean_stop_between_pages_repeats_nothing_and_the_next_run_resumes():
    clock = FakeClock()
    records = history(clock, 3500, seed=11)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store, sink, stop = MemoryStore(), ListSink(), threading.Event()

        class StopAfterTwoPages(ListSink):
            def write(self, events):
                super().write(events)
                if self.pages == 2:
                    stop.set()

        first = StopAfterTwoPages()
        report = collect(rc, clock, checkpoint=store, sink=first, stop=stop)
        assert report.status == "stopped" and len(first.events) == 2000
        assert store.value["window"]["page"] == 3
        collect(rc, clock, checkpoint=store, sink=sink)
        assert Counter(first.ids + sink.ids) == Counter(r["id"] for r in records)


def test_a_crash_after_events_were_written_but_before_the_checkpoint_repeats_one_page_at_most():
    clock = FakeClock()
    records = history(clock, 3500, seed=12)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store = DyingStore(die_at=2)
        first = ListSink()
        with pytest.raises(Crash):
            collect(rc, clock, checkpoint=store, sink=first)
        store.revive()  # the input is started again
        second = ListSink()
        collect(rc, clock, checkpoint=store, sink=second)
    counts = Counter(first.ids + second.ids)
    assert set(counts) == {r["id"] for r in records}
    assert sum(n - 1 for n in counts.values()) <= 1000


def test_faults_are_retried_and_nothing_is_lost():
    clock = FakeClock()
    records = history(clock, 2500, seed=13)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        for kind in ("500", "503", "truncated", "not_json", "drop", "429"):
            rc.inject(kind)
        rc.inject("missing_paging", count=1)
        sink = ListSink()
        # seven faults in a row hit the first request: allow that many attempts
        report = collect(rc, clock, checkpoint=MemoryStore(), sink=sink, attempts=8)
        assert Counter(sink.ids) == Counter(r["id"] for r in records)
        assert report.retries >= 5 and report.rate_limited == 1


def test_persistent_server_errors_end_the_run_with_a_clear_error_and_an_intact_checkpoint():
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 2500, seed=14), clock=clock) as rc:
        store, sink = MemoryStore(), ListSink()
        rc.inject("503", count=1)  # recovered
        collect(rc, clock, checkpoint=store, sink=ListSink(), settings=InputSettings("t"))
        saved = dict(store.value)
        clock.advance(INTERVAL)
        rc.inject("503", count=50)
        with pytest.raises(ServiceError, match="server error"):
            collect(rc, clock, checkpoint=store, sink=sink)
        assert store.value == saved and sink.events == []


def test_a_429_penalty_is_waited_out_and_remembered_across_runs():
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 10), clock=clock) as rc:
        store = MemoryStore()
        rc.inject("429", count=6, retry_after=30)  # the client gives up after the 6th in a row
        with pytest.raises(RateLimitExceeded, match="rate limit"):
            collect(rc, clock, checkpoint=store, sink=ListSink())
        blocked_until = parse_time(store.value["rate"]["blocked_until"])
        assert blocked_until > clock.now()
        before = len(rc.requests)
        sink = ListSink()
        report = collect(rc, clock, checkpoint=store, sink=sink)
        assert report.status == "success" and len(sink.events) == 10
        searches = [r for r in rc.requests[before:] if r["endpoint"] == "search"]
        assert searches and searches[0]["time"] >= blocked_until
        assert store.value["rate"]["blocked_until"] is None


def test_a_large_backfill_stays_under_the_heavy_limit():
    clock = FakeClock()
    records = history(clock, 10000, seed=15, span_days=150)
    with RingCentralStandIn(records=records, clock=clock, order="shuffled") as rc:
        store, sink = MemoryStore(), ListSink()
        report = collect(rc, clock, checkpoint=store, sink=sink)
        # shuffled pages force re-reads: more than 10 searches, paced inside the 10 / 60 s budget
        assert rc.count(status=429) == 0
        assert Counter(sink.ids) == Counter(r["id"] for r in records)
        assert report.rate_limited == 0


def test_expired_access_token_is_replaced_once_and_the_cache_is_reused():
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 20), clock=clock) as rc:
        store, tokens = MemoryStore(), MemoryStore()
        collect(rc, clock, checkpoint=store, sink=ListSink(), tokens=tokens)
        assert rc.logins == 1
        rc.expire_tokens()  # server-side: the cached token no longer works
        clock.advance(INTERVAL)
        collect(rc, clock, checkpoint=store, sink=ListSink(), tokens=tokens)
        assert rc.logins + rc.refreshes == 2
        clock.advance(3600 * 2)  # past the access token's life: refreshed before use
        collect(rc, clock, checkpoint=store, sink=ListSink(), tokens=tokens)
        assert rc.count(status=401) <= 1


def test_a_refresh_token_the_sdk_deems_expired_leads_to_a_jwt_login_not_a_crash():
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 5), clock=clock) as rc:
        tokens = MemoryStore()
        collect(rc, clock, checkpoint=MemoryStore(), sink=ListSink(), tokens=tokens)
        cached = tokens.value
        cached["auth"]["refresh_token_expire_time"] = 1.0  # the SDK's own clock: long expired
        cached["expires_at"] = 0.0  # our clock: the access token must be replaced
        report = collect(rc, clock, checkpoint=MemoryStore(), sink=ListSink(), tokens=tokens)
        assert report.status == "success"
        assert rc.logins == 2 and rc.refreshes == 0


def test_a_token_store_that_cannot_be_written_costs_a_login_not_the_run():
    class Broken(MemoryStore):
        def save(self, state):
            raise OSError("secure storage unavailable")

    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 30), clock=clock) as rc:
        sink = ListSink()
        report = collect(rc, clock, checkpoint=MemoryStore(), sink=sink, tokens=Broken())
        assert report.status == "success" and len(sink.events) == 30


def test_changed_credentials_do_not_reuse_the_cached_token():
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 5), clock=clock) as rc:
        tokens = MemoryStore()
        collect(rc, clock, checkpoint=MemoryStore(), sink=ListSink(), tokens=tokens)
        client = make_client(rc, clock, tokens=tokens, client_secret="wrong-secret-xyz")
        with pytest.raises(AuthError, match="client ID or client secret"):
            client.ensure_token()


@pytest.mark.parametrize(
    ("scope", "admin", "error", "words"),
    [
        (False, True, PermissionDenied, "app lacks the ReadAuditTrail permission"),
        (True, False, PermissionDenied, "Super Admin role"),
    ],
)
def test_permission_errors_name_the_fix(scope, admin, error, words):
    clock = FakeClock()
    with RingCentralStandIn(records=history(clock, 5), clock=clock) as rc:
        rc.set_permissions(app_scope_has_audit=scope, user_is_admin=admin)
        store = MemoryStore()
        with pytest.raises(error, match=words):
            collect(rc, clock, checkpoint=store, sink=ListSink())
        assert store.value is None


def test_no_secret_reaches_a_log_line_or_an_error_in_fault_runs():
    clock = FakeClock()
    logs = LogCapture()
    messages = []
    try:
        with RingCentralStandIn(records=history(clock, 1500), clock=clock) as rc:
            tokens, store = MemoryStore(), MemoryStore()
            for kind in ("500", "truncated", "drop", "429", "401_expired"):
                rc.inject(kind)
            collect(rc, clock, checkpoint=store, sink=ListSink(), tokens=tokens, logger=logs.logger)
            clock.advance(INTERVAL)
            rc.inject("401_corrupted")  # a second 401, in a later run: handled the same way
            collect(rc, clock, checkpoint=store, sink=ListSink(), tokens=tokens, logger=logs.logger)
            secrets = [rc.client_secret, rc.jwt]
            auth = tokens.value["auth"]
            secrets += [auth["access_token"], auth["refresh_token"]]
            for bad in ({"client_secret": "wrong-secret-1234"}, {"jwt": rc.jwt[:-4] + "AAAA"}):
                client = make_client(rc, clock, logger=logs.logger, **bad)
                secrets.append(next(iter(bad.values())))
                try:
                    client.ensure_token()
                except Exception as error:  # noqa: BLE001
                    messages += [str(error), repr(error)]
            rc.inject("503", count=20)
            try:
                collect(rc, clock, checkpoint=MemoryStore(), sink=ListSink(), logger=logs.logger)
            except Exception as error:  # noqa: BLE001
                messages += [str(error), repr(error)]
    finally:
        logs.close()
    text = logs.text + "\n".join(messages)
    assert "action=retry" in text and "action=rate_limited" in text
    for secret in secrets:
        assert secret and secret not in text
