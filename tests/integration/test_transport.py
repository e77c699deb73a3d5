"""The client's HTTP layer for real: proxies (HTTP, SOCKS5, SOCKS4), TLS, timeouts, connection reuse.

Every test talks to the RingCentral stand-in over sockets on 127.0.0.1, through the proxy
stand-ins of tests/standins/proxy.py where a proxy is configured. Retry waits run on a FakeClock;
only read timeouts cost real time (half a second each).
"""

from __future__ import annotations

import contextlib
import time
import traceback
from typing import Iterator, List, Sequence
from urllib.parse import quote

import pytest
import requests
from ringcentral_audit.client import AuditTrailClient, page_body
from ringcentral_audit.errors import ConnectionFailed, ServiceError, TlsFailed
from ringcentral_audit.settings import Connection, Proxy
from ringcentral_audit.timeutil import format_time

from tests.harness import make_client
from tests.standins.proxy import HttpProxy, SocksProxy
from tests.standins.ringcentral import FakeClock, RingCentralStandIn, generate_history

RECORDS = 25
PROXY_USER = "proxy-user"
PROXY_PASSWORD = "proxy-pass-7Qx!"
SOCKS_USER = "socks-user"
SOCKS_PASSWORD = "socks-pass-Wd3$"


# -- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _history(clock: FakeClock):
    return generate_history(RECORDS, end=clock.now() - 3600, span_days=2, seed=7)


@pytest.fixture
def rc(clock):
    with RingCentralStandIn(records=_history(clock), clock=clock) as server:
        yield server


@pytest.fixture
def tls_rc(clock):
    with RingCentralStandIn(records=_history(clock), clock=clock, tls=True) as server:
        yield server


@pytest.fixture
def http_proxy():
    with HttpProxy(username=PROXY_USER, password=PROXY_PASSWORD) as proxy:
        yield proxy


@pytest.fixture
def socks_proxy():
    with SocksProxy(username=SOCKS_USER, password=SOCKS_PASSWORD) as proxy:
        yield proxy


@contextlib.contextmanager
def client(rc, clock, connection: Connection, **kwargs) -> Iterator[AuditTrailClient]:
    audit = make_client(rc, clock, connection=connection, **kwargs)
    try:
        yield audit
    finally:
        audit.close()


def search(audit: AuditTrailClient, clock: FakeClock) -> List[dict]:
    now = clock.now()
    page = audit.search(page_body(format_time(now - 3 * 86400), format_time(now), 1, 100))
    return page.records


def http_proxy_for(proxy: HttpProxy, user=PROXY_USER, password=PROXY_PASSWORD) -> Proxy:
    return Proxy(host=proxy.host, port=proxy.port, type="http", username=user, password=password)


def socks_proxy_for(
    proxy: SocksProxy, kind="socks5", remote_dns=True, user=SOCKS_USER, password=SOCKS_PASSWORD
) -> Proxy:
    return Proxy(
        host=proxy.host,
        port=proxy.port,
        type=kind,
        username=user,
        password=password,
        remote_dns=remote_dns,
    )


def localhost_url(server: RingCentralStandIn) -> str:
    """The stand-in's URL by name, so that a SOCKS proxy gets a domain name to resolve."""
    return server.base_url.replace("127.0.0.1", "localhost")


def error_texts(error: BaseException) -> str:
    """What an admin or a log could ever see of an error: str, repr and the formatted traceback."""
    formatted = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return "\n".join((str(error), repr(error), formatted))


def assert_no_secret(text: str, secrets: Sequence[str]) -> None:
    leaked = [
        index
        for index, secret in enumerate(secrets)
        if secret in text or quote(secret, safe="") in text
    ]
    assert not leaked, f"secret(s) number {leaked} leaked into an error message"  # never the value


def blames_the_proxy(message: str) -> bool:
    """The message's first clause (before the technical cause) says the proxy is at fault."""
    return "proxy" in message.split("(", 1)[0].lower()


# -- HTTP proxy ----------------------------------------------------------------------------------


def test_http_proxy_with_credentials_carries_the_login_and_the_searches(rc, clock, http_proxy):
    with client(rc, clock, Connection(proxy=http_proxy_for(http_proxy))) as audit:
        assert len(search(audit, clock)) == RECORDS
        assert len(search(audit, clock)) == RECORDS
    assert http_proxy.forwarded == 3  # the login and both searches
    assert http_proxy.rejected == 0
    assert all(target.startswith(rc.base_url + "/restapi/") for _, target, _ in http_proxy.log)
    assert (rc.count("token"), rc.count("search")) == (1, 2)


@pytest.mark.parametrize(
    ("user", "password"),
    [
        (PROXY_USER, "p@ss:w/rd"),
        ("DOMAIN\\proxy@corp.example", "a b%25#?&=+:/@"),
    ],
    ids=["reserved-in-password", "reserved-in-both"],
)
def test_proxy_credentials_with_reserved_characters_are_quoted(rc, clock, user, password):
    with HttpProxy(username=user, password=password) as proxy:
        connection = Connection(proxy=http_proxy_for(proxy, user, password))
        with client(rc, clock, connection) as audit:
            assert len(search(audit, clock)) == RECORDS
        assert proxy.rejected == 0
        assert proxy.forwarded == 2


def test_wrong_proxy_password_through_a_connect_tunnel_is_a_proxy_connection_error(
    tls_rc, clock, http_proxy
):
    password = "wrong-proxy-pass-q9"
    connection = Connection(
        verify=tls_rc.ca_file, proxy=http_proxy_for(http_proxy, password=password)
    )
    with client(tls_rc, clock, connection) as audit, pytest.raises(ConnectionFailed) as caught:
        search(audit, clock)
    assert blames_the_proxy(caught.value.message), caught.value.message
    assert "407" in caught.value.message
    assert_no_secret(error_texts(caught.value), [password, PROXY_PASSWORD])
    assert 1 <= http_proxy.rejected <= audit.backoff.attempts
    assert http_proxy.tunnels == 0 and tls_rc.count() == 0


def test_wrong_proxy_password_for_a_plain_http_server_is_a_proxy_connection_error(
    rc, clock, http_proxy
):
    """For an http:// server the proxy's 407 arrives as an HTTP answer, not as a tunnel failure."""
    password = "wrong-proxy-pass-q9"
    connection = Connection(proxy=http_proxy_for(http_proxy, password=password))
    with client(rc, clock, connection) as audit, pytest.raises(ConnectionFailed) as caught:
        search(audit, clock)
    assert blames_the_proxy(caught.value.message), caught.value.message
    assert_no_secret(error_texts(caught.value), [password, PROXY_PASSWORD])
    assert http_proxy.rejected >= 1 and rc.count() == 0


@pytest.mark.parametrize("kind", ["http", "socks4"])
def test_a_proxy_username_without_password_is_sent(rc, clock, kind):
    """A proxy tab with a username and no password (the norm for SOCKS4's user id)."""
    proxy_class = HttpProxy if kind == "http" else SocksProxy
    with proxy_class(username="lonely-user") as proxy:
        settings = Proxy(host=proxy.host, port=proxy.port, type=kind, username="lonely-user")
        with client(rc, clock, Connection(proxy=settings)) as audit:
            assert len(search(audit, clock)) == RECORDS
        assert proxy.rejected == 0


# -- SOCKS ---------------------------------------------------------------------------------------


def test_socks5_with_credentials_resolves_the_server_name_at_the_proxy(rc, clock, socks_proxy):
    settings = socks_proxy_for(socks_proxy, remote_dns=True)
    assert settings.url().startswith("socks5h://")
    port = int(rc.base_url.rsplit(":", 1)[1])
    connection = Connection(proxy=settings)
    with client(rc, clock, connection, server_url=localhost_url(rc)) as audit:
        assert len(search(audit, clock)) == RECORDS
        assert len(search(audit, clock)) == RECORDS
    assert socks_proxy.rejected == 0
    assert socks_proxy.connections >= 1
    assert set(socks_proxy.destinations) == {(5, "domain", "localhost", port)}
    assert (rc.count("token"), rc.count("search")) == (1, 2)


def test_socks5_without_remote_dns_sends_the_address(rc, clock, socks_proxy):
    settings = socks_proxy_for(socks_proxy, remote_dns=False)
    assert settings.url().startswith("socks5://")
    port = int(rc.base_url.rsplit(":", 1)[1])
    with client(rc, clock, Connection(proxy=settings)) as audit:
        assert len(search(audit, clock)) == RECORDS
    assert set(socks_proxy.destinations) == {(5, "ipv4", "127.0.0.1", port)}


def test_socks5_tunnel_to_the_https_server_verifies_its_certificate(tls_rc, clock, socks_proxy):
    connection = Connection(verify=tls_rc.ca_file, proxy=socks_proxy_for(socks_proxy))
    with client(tls_rc, clock, connection, server_url=localhost_url(tls_rc)) as audit:
        assert len(search(audit, clock)) == RECORDS
    assert socks_proxy.destinations and all(d[1] == "domain" for d in socks_proxy.destinations)


def test_socks5_wrong_password_is_a_connection_error_that_blames_the_proxy(rc, clock, socks_proxy):
    password = "wrong-socks-pass-k2"
    connection = Connection(proxy=socks_proxy_for(socks_proxy, password=password))
    with client(rc, clock, connection) as audit, pytest.raises(ConnectionFailed) as caught:
        search(audit, clock)
    assert_no_secret(error_texts(caught.value), [password, SOCKS_PASSWORD])
    assert socks_proxy.rejected >= 1 and socks_proxy.tunnels == 0 and rc.count() == 0
    assert blames_the_proxy(caught.value.message), caught.value.message


@pytest.mark.parametrize(
    ("remote_dns", "kind", "scheme"),
    [(True, "domain", "socks4a://"), (False, "ipv4", "socks4://")],
    ids=["socks4a", "socks4"],
)
def test_socks4_with_a_user_id(rc, clock, remote_dns, kind, scheme):
    with SocksProxy(username=SOCKS_USER, versions=(4,)) as proxy:
        # SOCKS4 has a user id and no password: the password is accepted and not sent.
        settings = socks_proxy_for(proxy, kind="socks4", remote_dns=remote_dns)
        assert settings.url().startswith(scheme)
        server = localhost_url(rc) if remote_dns else rc.base_url
        port = int(rc.base_url.rsplit(":", 1)[1])
        with client(rc, clock, Connection(proxy=settings), server_url=server) as audit:
            assert len(search(audit, clock)) == RECORDS
        host = "localhost" if remote_dns else "127.0.0.1"
        assert set(proxy.destinations) == {(4, kind, host, port)}
        assert proxy.rejected == 0


# -- TLS -----------------------------------------------------------------------------------------


def test_https_with_the_ca_bundle_works(tls_rc, clock):
    assert tls_rc.base_url.startswith("https://")
    with client(tls_rc, clock, Connection(verify=tls_rc.ca_file)) as audit:
        assert len(search(audit, clock)) == RECORDS


@pytest.mark.parametrize("through_proxy", [False, True], ids=["direct", "connect-tunnel"])
def test_https_with_the_system_cas_fails_tls_verification(tls_rc, clock, http_proxy, through_proxy):
    proxy = http_proxy_for(http_proxy) if through_proxy else None
    started = time.monotonic()
    with client(tls_rc, clock, Connection(verify=True, proxy=proxy)) as audit:
        with pytest.raises(
            TlsFailed, match=r"TLS verification with https://127\.0\.0\.1:\d+ failed"
        ):
            search(audit, clock)
    assert time.monotonic() - started < 5
    assert clock.sleeps == []  # a certificate problem is not retried
    assert tls_rc.count() == 0 and tls_rc.logins == 0
    assert http_proxy.tunnels == (1 if through_proxy else 0)


def test_http_proxy_connect_tunnel_to_the_https_server(tls_rc, clock, http_proxy):
    connection = Connection(verify=tls_rc.ca_file, proxy=http_proxy_for(http_proxy))
    with client(tls_rc, clock, connection) as audit:
        assert len(search(audit, clock)) == RECORDS
        assert len(search(audit, clock)) == RECORDS
    assert http_proxy.tunnels >= 1 and http_proxy.forwarded == 0
    host_port = tls_rc.base_url.split("://", 1)[1]
    assert {(method, target) for method, target, _ in http_proxy.log} == {("CONNECT", host_port)}
    assert (tls_rc.count("token"), tls_rc.count("search")) == (1, 2)


# -- timeouts ------------------------------------------------------------------------------------


def test_a_slow_answer_is_retried_and_the_next_fast_one_succeeds(rc, clock):
    connection = Connection(connect_timeout=2, read_timeout=0.5)
    with client(rc, clock, connection) as audit:
        audit.ensure_token()
        rc.inject("slow", delay=2.0, endpoint="search")
        started = time.monotonic()
        assert len(search(audit, clock)) == RECORDS
        elapsed = time.monotonic() - started
    assert elapsed < 1.5  # gave up on the slow answer after 0.5 s, did not wait 2 s for it
    assert audit.stats.requests == 2 and audit.stats.retries == 1
    assert rc.pending_faults() == []


def test_every_answer_slow_ends_in_a_bounded_number_of_attempts(rc, clock):
    connection = Connection(connect_timeout=2, read_timeout=0.5)
    with client(rc, clock, connection, attempts=3) as audit:
        audit.ensure_token()
        rc.inject("slow", count=10, delay=2.0, endpoint="search")
        started = time.monotonic()
        with pytest.raises(ServiceError, match=r"did not answer the search within 0\.5 s"):
            search(audit, clock)
        elapsed = time.monotonic() - started
    attempts = 10 - rc.pending_faults()[0][2]
    assert attempts == audit.backoff.attempts == audit.stats.requests == 3
    assert elapsed < 3 * 0.5 + 1.0


def test_a_port_nobody_listens_on_fails_fast_as_a_connection_error(rc, clock, dead_port):
    server = f"http://127.0.0.1:{dead_port}"
    started = time.monotonic()
    with client(rc, clock, Connection(connect_timeout=2, read_timeout=5), server_url=server) as a:
        with pytest.raises(ConnectionFailed, match=rf"Could not reach {server}\b"):
            a.login()
    assert time.monotonic() - started < 2
    assert len(clock.sleeps) == a.backoff.attempts - 1  # retried, boundedly, on the fake clock


# -- one shared session --------------------------------------------------------------------------

SEARCHES = 8


def test_searches_reuse_one_connection(rc, clock):
    with client(rc, clock, Connection(connect_timeout=2, read_timeout=5)) as audit:
        for _ in range(SEARCHES):
            assert len(search(audit, clock)) == RECORDS
    assert rc.count("search") == SEARCHES
    assert rc.connections <= 2  # not one per request, as the SDK's own HTTP client does


def test_searches_through_a_proxy_reuse_one_connection(rc, clock, http_proxy):
    with client(rc, clock, Connection(proxy=http_proxy_for(http_proxy))) as audit:
        for _ in range(SEARCHES):
            search(audit, clock)
    assert http_proxy.forwarded == SEARCHES + 1
    assert http_proxy.connections <= 2


def test_searches_through_a_connect_tunnel_reuse_one_tunnel(tls_rc, clock, http_proxy):
    connection = Connection(verify=tls_rc.ca_file, proxy=http_proxy_for(http_proxy))
    with client(tls_rc, clock, connection) as audit:
        for _ in range(SEARCHES):
            search(audit, clock)
    assert tls_rc.count("search") == SEARCHES
    assert http_proxy.tunnels <= 2 and tls_rc.connections <= 2


# -- environment ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_an_explicit_proxy_wins_over_proxy_environment_variables(
    request, monkeypatch, clock, http_proxy, dead_port, scheme
):
    server = request.getfixturevalue("tls_rc" if scheme == "https" else "rc")
    dead = f"http://127.0.0.1:{dead_port}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
        monkeypatch.setenv(name.lower(), dead)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    # The environment really points at a dead proxy: plain requests would fail through it.
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get(server.base_url + "/", timeout=2, verify=server.ca_file or True)
    connection = Connection(verify=server.ca_file or True, proxy=http_proxy_for(http_proxy))
    with client(server, clock, connection) as audit:
        assert len(search(audit, clock)) == RECORDS
    assert http_proxy.log and all(status == 200 for _, _, status in http_proxy.log)
