"""The client's edges against a hostile network (issue 7, items 5, 8, 9, 10, 11): poison records,
trickling answers, a portal answering for the token endpoint, absurd Retry-After values and
damaged checkpoints. Each ends in collected records or a named error that says what to do.

The RingCentral stand-in serves the data; tests/hostile.py's front trickles, replaces or rewrites
its answers. Waits for rate limits and retries run on a FakeClock; trickles cost real time (a
few seconds at most, bounded by each test's timeout).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import threading
import time
from contextlib import closing

import pytest
from ringcentral_audit.client import AuditTrailClient, page_body
from ringcentral_audit.collector import Collector
from ringcentral_audit.errors import (
    AuditTrailError,
    CheckpointError,
    ConnectionFailed,
    ServiceError,
)
from ringcentral_audit.events import UNREADABLE
from ringcentral_audit.ports import MemoryStore
from ringcentral_audit.ratelimit import MAX_RETRY_AFTER
from ringcentral_audit.settings import Connection, InputSettings, Proxy
from ringcentral_audit.timeutil import format_time
from ringcentral_audit.validation import validate_account

from tests.harness import ListSink, LogCapture, account_for, collect, make_client
from tests.hostile import HostileFront, inject_records, wait_for
from tests.standins.proxy import SocksProxy
from tests.standins.ringcentral import FakeClock, RingCentralStandIn, generate_history

RECORDS = 40


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rc(clock):
    records = generate_history(RECORDS, end=clock.now() - 3600, span_days=2, seed=11)
    with RingCentralStandIn(records=records, clock=clock) as server:
        yield server


@pytest.fixture
def front(rc):
    with HostileFront(rc.base_url) as proxy:
        yield proxy


def run(rc, clock, front, *, connection=None, settings=None, store=None, logger=None, attempts=2):
    """One collector run through the hostile front; returns (report or error, sink)."""
    client = make_client(
        rc, clock, connection=connection, attempts=attempts, server_url=front.url, logger=logger
    )
    sink = ListSink()
    try:
        collector = Collector(
            client,
            settings or InputSettings(name="edge"),
            checkpoint=store if store is not None else MemoryStore(),
            sink=sink,
            clock=clock,
            logger=logger,
            stop=threading.Event(),
        )
        try:
            return collector.run(), sink
        except AuditTrailError as error:
            return error, sink
    finally:
        client.close()


def search_once(client: AuditTrailClient, clock: FakeClock):
    now = clock.now()
    return client.search(page_body(format_time(now - 3 * 86400), format_time(now), 1, 100))


# ----- item 5: poison records through the client and the collector ------------------------------

DEEP = "[" * 50_000 + "]" * 50_000
POISON = [
    b'{"id":"deep-1","eventTime":"2026-05-31T20:00:00.000Z","details":' + DEEP.encode() + b"}",
    b'"not an object"',
    b'{"actionId":"X","eventTime":"2026-05-31T21:00:00.000Z","who":"\\udc00"}',
    b'{"id":"surrogate-1","eventTime":"2026-05-31T21:00:01.000Z","who":"\\ud800"}',
]


def test_poison_records_never_block_the_page_and_are_indexed_marked(rc, clock, front):
    front.rewrite_search = lambda page: inject_records(page, POISON)
    capture = LogCapture("ringcentral_audit.test.poison")
    try:
        report, sink = run(rc, clock, front, logger=capture.logger)
    finally:
        capture.close()
    assert not isinstance(report, Exception), report
    assert report.status == "success"
    by_id = {e.id: json.loads(e.data) for e in sink.events}
    assert len(by_id) == len(sink.events)  # each event once
    readable = {i for i, d in by_id.items() if UNREADABLE not in d}
    content_id = [i for i in readable if i.startswith("sha256:")]
    # every good record, the surrogate ones included (with and without an id)
    assert readable == {r["id"] for r in rc.retrievable_records()} | {"surrogate-1", *content_id}
    assert len(content_id) == 1 and by_id[content_id[0]]["who"] == "\udc00"
    assert by_id["surrogate-1"]["who"] == "\ud800"
    unreadable = {i: d[UNREADABLE] for i, d in by_id.items() if UNREADABLE in d}
    assert len(unreadable) == 2  # the deep record and the non-object, marked with their text
    assert unreadable["deep-1"]["raw"] == POISON[0].decode()
    assert '"not an object"' in [u["raw"] for u in unreadable.values()]
    assert "action=record_unreadable" in capture.text and "id=deep-1" in capture.text


# ----- item 8: a trickling answer is bounded by the request's and the run's wall clock ----------


@pytest.mark.timeout(40)
@pytest.mark.parametrize("phase", ["body", "headers"])
def test_a_trickling_answer_is_cut_at_the_requests_wall_clock_allowance(rc, clock, front, phase):
    connection = Connection(connect_timeout=0.5, read_timeout=1.0)  # allowance: 2.5 s
    with closing(
        make_client(rc, clock, connection=connection, attempts=2, server_url=front.url)
    ) as c:
        c.ensure_token()
        front.trickle["search"] = 0.2  # a byte every 0.2 s: never trips the 1 s read timeout
        front.trickle_from = phase
        started = time.monotonic()
        with pytest.raises(ServiceError, match=r"did not arrive in full within 2\.5 s"):
            search_once(c, clock)
        elapsed = time.monotonic() - started
    assert 2 * 2.5 <= elapsed < 2 * 2.5 + 2  # two attempts, each cut at its allowance
    assert front.count("search") == 2


@pytest.mark.timeout(40)
def test_a_trickling_answer_ends_the_run_at_max_run_seconds(rc, clock, front):
    connection = Connection(connect_timeout=2, read_timeout=5)  # allowance 12 s > the run's 3 s
    front.trickle["search"] = 0.2
    started = time.monotonic()
    report, sink = run(
        rc,
        clock,
        front,
        connection=connection,
        settings=InputSettings(name="edge", max_run_seconds=3),
    )
    elapsed = time.monotonic() - started
    assert not isinstance(report, Exception), report
    assert report.status == "stopped" and sink.events == []
    assert elapsed < 3 + 1.5


@pytest.mark.timeout(40)
@pytest.mark.parametrize("via", ["direct", "socks5"])  # (the HTTP proxy stand-in buffers)
def test_an_abandoned_exchange_ends_and_shares_no_connection(rc, clock, front, via):
    with contextlib.ExitStack() as stack:
        proxy = None
        if via == "socks5":
            server = stack.enter_context(SocksProxy())
            proxy = Proxy(host=server.host, port=server.port, type="socks5", remote_dns=False)
        connection = Connection(connect_timeout=0.5, read_timeout=1.0, proxy=proxy)
        client = make_client(rc, clock, connection=connection, attempts=1, server_url=front.url)
        with closing(client) as c:
            c.ensure_token()
            front.trickle["search"] = 0.2
            started = time.monotonic()
            with pytest.raises(ServiceError, match="did not arrive in full"):
                search_once(c, clock)
            assert time.monotonic() - started < 2.5 + 1
            # the abandoned exchange's socket was shut down: its worker thread ends at once
            assert wait_for(lambda: not _workers(), timeout=2.0), _workers()
            front.trickle.clear()
            assert len(search_once(c, clock).records) == RECORDS  # the next search works


def _workers():
    return [t for t in threading.enumerate() if t.name == "ringcentral-request"]


# ----- item 9: the token endpoint answering with an HTML page -----------------------------------

PORTAL = (200, "text/html; charset=utf-8", b"<!DOCTYPE html><html><body>Sign in to Wi-Fi</body>")


def test_an_html_token_answer_is_a_connection_error_that_says_what_to_do(rc, clock):
    rc.inject("not_json", endpoint="token", count=10)
    with (
        closing(make_client(rc, clock, attempts=2)) as client,
        pytest.raises(ConnectionFailed) as caught,
    ):
        client.login()  # was: "unexpected Exception: Response is not JSON"
    message = caught.value.message
    assert caught.value.kind == "connection"
    assert "HTML page" in message and "proxy" in message and "server URL" in message
    assert rc.count("token") == 2  # retried, boundedly


def test_a_portal_answering_the_login_fails_the_run_and_the_account_check_by_kind(rc, clock, front):
    front.replace["token"] = PORTAL
    report, sink = run(rc, clock, front)
    assert isinstance(report, ConnectionFailed) and "captive portal" in report.message
    assert sink.events == []
    with pytest.raises(ConnectionFailed):  # the account page shows this message, not a 500
        validate_account(account_for(rc, server_url=front.url), clock=clock)


@pytest.mark.parametrize(
    ("endpoint", "answer", "words"),
    [
        ("search", PORTAL, "an HTML page (HTTP 200"),
        ("token", (302, "text/plain", b""), "a redirect (HTTP 302)"),
        ("search", (302, "text/plain", b""), "a redirect (HTTP 302)"),
    ],
)
def test_a_portal_answering_in_ringcentrals_place_is_named(
    rc, clock, front, endpoint, answer, words
):
    front.replace[endpoint] = answer
    with closing(make_client(rc, clock, attempts=2, server_url=front.url)) as client:
        with pytest.raises(ConnectionFailed, match="captive portal") as caught:
            search_once(client, clock)
    assert words in caught.value.message
    assert front.count(endpoint) == 2


@pytest.mark.parametrize(
    "answer",
    [
        {"access_token": "tok-123456", "expires_in": "soon"},
        {"access_token": "", "expires_in": 3600},
        {"expires_in": 3600},
        ["access_token"],
        {"access_token": "tok-123456", "expires_in": float("inf")},
    ],
    ids=["expires-in-text", "empty-token", "no-token", "a-list", "infinite-lifetime"],
)
def test_a_token_answer_of_the_wrong_shape_is_a_service_error(rc, clock, front, answer):
    body = json.dumps(answer).replace("Infinity", "1e999").encode()
    front.replace["token"] = (200, "application/json", body)
    client = make_client(rc, clock, attempts=2, server_url=front.url)
    try:
        with pytest.raises(ServiceError, match="without a usable access token"):
            client.login()
    finally:
        client.close()


# ----- item 11: Retry-After of any size or form ------------------------------------------------


@pytest.mark.parametrize("value", ["1e20", "inf", "1e308", "99999999999999999999"])
def test_an_absurd_retry_after_is_bounded_and_the_run_goes_on(rc, clock, value):
    rc.inject("429", retry_after=value)
    store = MemoryStore()
    report = collect(rc, clock, checkpoint=store, sink=ListSink())  # was: OverflowError
    assert report.status == "success" and report.rate_limited == 1
    assert max(clock.sleeps) == MAX_RETRY_AFTER


def test_an_http_date_retry_after_is_honoured(rc, clock):
    # The stand-in's Date header is its clock's time: the wait is counted from it.
    when = email.utils.formatdate(clock.now() + 42, usegmt=True)
    rc.inject("429", retry_after=when)
    report = collect(rc, clock, checkpoint=MemoryStore(), sink=ListSink())
    assert report.status == "success" and report.rate_limited == 1
    assert any(40 <= s <= 43 for s in clock.sleeps), clock.sleeps


def test_an_absurd_penalty_in_the_checkpoint_blocks_no_longer_than_the_bound(rc, clock):
    store = MemoryStore(
        {
            "version": 2,
            "cursor": None,
            "rate": {"limit": "x", "window": -5, "blocked_until": "9999-01-01T00:00:00Z"},
        }
    )
    report = collect(rc, clock, checkpoint=store, sink=ListSink())
    assert report.status == "success"
    assert max(clock.sleeps) <= MAX_RETRY_AFTER


# ----- item 10: a damaged checkpoint is a named error through the collector -------------------


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ({"version": 2, "window": "x"}, "window"),
        ({"version": 2, "per_page": "abc"}, "per_page"),
        ({"version": 0}, "version"),
        ({"version": "2"}, "version"),
    ],
)
def test_a_damaged_checkpoint_is_a_checkpoint_error_naming_the_field(rc, clock, state, field):
    with pytest.raises(CheckpointError, match=rf"checkpoint's {field} ") as caught:
        collect(rc, clock, checkpoint=MemoryStore(state), sink=ListSink())
    assert "start date" in caught.value.message
    assert rc.count("search") == 0


def test_a_search_page_carries_the_servers_date_header(rc, clock):
    with closing(make_client(rc, clock)) as client:
        page = search_once(client, clock)
    assert page.server_date is not None and client.server_date == page.server_date
    assert page.date is not None and abs(page.date - clock.now()) < 2  # the stand-in's clock
