"""Save-time account validation against the RingCentral stand-in: each way it can fail, and how.

Every failure must be the right AuditTrailError with a message that says what to fix, and neither
its text, its repr, its traceback nor a log line may carry a secret: the client secret, the JWT,
a proxy password, or any token the stand-in issued.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Iterator, List, Sequence
from urllib.parse import quote

import pytest
import requests
from ringcentral_audit.errors import (
    AuditTrailError,
    AuthError,
    ConfigError,
    ConnectionFailed,
    PermissionDenied,
    TlsFailed,
)
from ringcentral_audit.settings import Connection, Proxy, parse_account
from ringcentral_audit.validation import validate_account

from tests.harness import LogCapture, account_for
from tests.standins.ringcentral import FakeClock, RingCentralStandIn, generate_history

SEARCH = "/restapi/v1.0/account/~/audit-trail/search"
PROXY_PASSWORD = "validation-proxy-pass-Z8"


# -- fixtures and helpers ------------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def random_jwt(exp: float = 3_900_000_000) -> str:
    """A well-formed RS256-looking JWT that no stand-in issued."""
    header = {"kid": secrets.token_hex(8), "typ": "JWT", "alg": "RS256"}
    payload = {"sub": "402539300008", "exp": exp, "jti": secrets.token_urlsafe(16)}
    return ".".join(
        (
            _b64url(json.dumps(header).encode()),
            _b64url(json.dumps(payload).encode()),
            _b64url(secrets.token_bytes(256)),
        )
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _spy_on_tokens(server: RingCentralStandIn, monkeypatch) -> List[str]:
    """Every access and refresh token the stand-in hands out (the tests' view of its secrets)."""
    issued: List[str] = []
    original = server._issue

    def spy(form, now):
        response = original(form, now)
        body = json.loads(response.body)
        issued.extend(body[k] for k in ("access_token", "refresh_token") if body.get(k))
        server.access_tokens.append(body["access_token"])
        return response

    server.access_tokens = []  # the access tokens alone, to check they were revoked
    monkeypatch.setattr(server, "_issue", spy)
    return issued


@pytest.fixture
def rc(clock, monkeypatch):
    records = generate_history(10, end=clock.now() - 600, span_days=0.02, seed=3)
    with RingCentralStandIn(records=records, clock=clock) as server:
        server.issued = _spy_on_tokens(server, monkeypatch)
        yield server


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    capture = LogCapture("ringcentral_audit.test_validation")
    try:
        yield capture
    finally:
        capture.close()


def connection_for(server: RingCentralStandIn, **overrides) -> Connection:
    values = {"connect_timeout": 2.0, "read_timeout": 5.0, "verify": server.ca_file or True}
    values.update(overrides)
    return Connection(**values)


def secrets_of(server: RingCentralStandIn, *extra: str) -> List[str]:
    return [server.client_secret, server.jwt, *getattr(server, "issued", []), *extra]


def failure(account, connection, clock, logs) -> AuditTrailError:
    """Validate, expecting a failure; returns the error (any other outcome fails the test)."""
    with pytest.raises(AuditTrailError) as caught:
        validate_account(account, connection, clock=clock, logger=logs.logger)
    return caught.value


def assert_secret_free(error: BaseException, logs: LogCapture, known: Sequence[str]) -> None:
    formatted = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    text = "\n".join((str(error), repr(error), formatted, logs.text))
    leaked = [i for i, s in enumerate(known) if s in text or quote(s, safe="") in text]
    assert not leaked, f"secret(s) number {leaked} leaked"  # the index, never the value


def assert_no_session_left(server: RingCentralStandIn) -> None:
    """Whatever the outcome, every login the validation made was revoked."""
    assert server.revocations == server.logins
    for token in server.access_tokens:
        answer = requests.post(
            server.base_url + SEARCH,
            json={},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
            verify=server.ca_file or True,
        )
        assert answer.status_code == 401


# -- success -------------------------------------------------------------------------------------


def test_a_valid_account_passes_and_leaves_no_live_session(rc, clock, logs):
    assert (
        validate_account(account_for(rc), connection_for(rc), clock=clock, logger=logs.logger)
        is None
    )
    assert (rc.logins, rc.count("search", 200), rc.revocations) == (1, 1, 1)
    assert len(rc.issued) == 2
    assert_no_session_left(rc)
    leaked = [i for i, s in enumerate(secrets_of(rc)) if s in logs.text]
    assert not leaked


# -- credentials ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("wrong_client_secret", r"client ID or client secret"),
        ("wrong_client_id", r"client ID or client secret"),
        ("invalid_jwt", r"JWT"),
        ("expired_jwt", r"JWT"),
        (
            "swapped_id_and_secret",
            r"client ID or client secret .*\(client ID '.{4}\.\.\.' \([0-9]+ characters\)\)",
        ),
    ],
)
def test_credentials_the_server_refuses(rc, clock, logs, case, words):
    wrong = ""
    overrides = {}
    if case == "swapped_id_and_secret":  # a common paste mistake: the secret is the "client ID"
        overrides = {"client_id": rc.client_secret, "client_secret": rc.client_id}
    elif case == "wrong_client_secret":
        wrong = overrides["client_secret"] = secrets.token_urlsafe(32)
    elif case == "wrong_client_id":
        overrides["client_id"] = "not-the-client-id"
    elif case == "invalid_jwt":
        wrong = overrides["jwt"] = random_jwt()
    else:
        rc.expire_jwt()
    error = failure(account_for(rc, **overrides), connection_for(rc), clock, logs)
    assert isinstance(error, AuthError), repr(error)
    assert error.kind == "auth"
    assert re.search(words, error.message), error.message
    if case == "expired_jwt":
        assert "expired" in error.message
    assert rc.logins == 0 and rc.count("search") == 0
    assert_secret_free(error, logs, secrets_of(rc, *([wrong] if wrong else [])))


class _NoJwtGrantHandler(BaseHTTPRequestHandler):
    """RingCentral's answer to an app whose auth flow is not 'JWT auth flow'."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        return

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        message = "Unauthorized for this grant type"
        body = json.dumps(
            {
                "error": "unauthorized_client",
                "error_description": message,
                "errors": [{"errorCode": self.server.error_code, "message": message}],
            }
        ).encode()
        status = 400 if self.path == "/restapi/oauth/token" else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.paths.append(self.path)


@pytest.mark.parametrize("error_code", ["OAU-251", "OAU-112"])
def test_an_app_without_the_jwt_grant(clock, logs, error_code):
    """The stand-in cannot model this (its app always has the JWT grant; inject has no such
    fault), so a ten-line server answers the token call as RingCentral does for such an app."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoJwtGrantHandler)
    server.daemon_threads = True
    server.error_code = error_code
    server.paths = []
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        client_secret, jwt = secrets.token_urlsafe(32), random_jwt()
        account = parse_account(
            {
                "server": "custom",
                "custom_server_url": f"http://127.0.0.1:{server.server_address[1]}",
                "client_id": "jwt-less-app",
                "client_secret": client_secret,
                "jwt": jwt,
            },
            clock.now(),
        )
        error = failure(account, Connection(connect_timeout=2, read_timeout=5), clock, logs)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert isinstance(error, AuthError), repr(error)
    assert "JWT auth flow" in error.message
    assert server.paths == ["/restapi/oauth/token"]  # no retry, no search, nothing to revoke
    assert_secret_free(error, logs, [client_secret, jwt])


# -- permissions ---------------------------------------------------------------------------------


def test_an_app_scope_without_read_audit_trail(rc, clock, logs):
    rc.set_permissions(app_scope_has_audit=False)
    error = failure(account_for(rc), connection_for(rc), clock, logs)
    assert isinstance(error, PermissionDenied), repr(error)
    assert "ReadAuditTrail" in error.message
    assert rc.count("search") == 0  # the token's scope told already
    assert_no_session_left(rc)
    assert_secret_free(error, logs, secrets_of(rc))


def test_an_app_without_read_audit_trail_whose_token_names_no_scope(clock, logs, monkeypatch):
    with RingCentralStandIn(clock=clock, scope="") as server:
        server.issued = _spy_on_tokens(server, monkeypatch)
        server.set_permissions(app_scope_has_audit=False)
        error = failure(account_for(server), connection_for(server), clock, logs)
        assert isinstance(error, PermissionDenied), repr(error)
        assert "ReadAuditTrail" in error.message
        assert server.count("search", 403) == 1
        assert_no_session_left(server)
        assert_secret_free(error, logs, secrets_of(server))


def test_a_user_who_is_not_an_admin(rc, clock, logs):
    rc.set_permissions(user_is_admin=False)
    error = failure(account_for(rc), connection_for(rc), clock, logs)
    assert isinstance(error, PermissionDenied), repr(error)
    assert "role" in error.message and "Super Admin" in error.message
    assert rc.count("search", 403) == 1  # a permission refusal is not retried
    assert_no_session_left(rc)
    assert_secret_free(error, logs, secrets_of(rc))


# -- the network ---------------------------------------------------------------------------------


def test_an_unreachable_host(rc, clock, logs, dead_port):
    server = f"http://127.0.0.1:{dead_port}"
    error = failure(account_for(rc, server_url=server), connection_for(rc), clock, logs)
    assert isinstance(error, ConnectionFailed), repr(error)
    assert server in error.message
    assert len(clock.sleeps) == 1  # validation tries twice, then answers
    assert_secret_free(error, logs, secrets_of(rc))


def test_a_tls_failure(clock, logs, monkeypatch):
    with RingCentralStandIn(clock=clock, tls=True) as server:
        server.issued = _spy_on_tokens(server, monkeypatch)
        error = failure(account_for(server), Connection(verify=True), clock, logs)
        assert isinstance(error, TlsFailed), repr(error)
        assert "TLS verification" in error.message and "CA bundle" in error.message
        assert server.count() == 0
        assert_secret_free(error, logs, secrets_of(server))


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_an_unreachable_proxy(rc, clock, logs, dead_port, kind):
    proxy = Proxy(
        host="127.0.0.1", port=dead_port, type=kind, username="proxy-user", password=PROXY_PASSWORD
    )
    error = failure(account_for(rc), connection_for(rc, proxy=proxy), clock, logs)
    assert isinstance(error, ConnectionFailed), repr(error)
    assert rc.count() == 0
    assert_secret_free(error, logs, secrets_of(rc, PROXY_PASSWORD))
    # Names the proxy as what could not be reached (not the RingCentral server).
    assert "proxy" in error.message.split("(", 1)[0].lower(), error.message


# -- refused before any request ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jwt", "words"),
    [
        ("not-a-jwt-" + "x" * 40, "malformed"),
        ("only-two-parts-" + "x" * 20 + "." + "y" * 30, "malformed"),
        ("eyJhbGciOiJSUzI1NiJ9..c2lnbmF0dXJlLXNpZ25hdHVyZQ", "malformed"),
        ("eyJhbGciOiJSUzI1NiJ9." + _b64url(b"not json at all") + ".c2lnbmF0dXJl", "malformed"),
        (random_jwt(exp=1_700_000_000), "expired"),
        ("", "empty"),
    ],
    ids=["one-part", "two-parts", "empty-payload", "payload-not-json", "expired", "empty"],
)
def test_a_malformed_jwt_is_refused_before_any_request(rc, clock, logs, jwt, words):
    raw = {
        "server": "custom",
        "custom_server_url": rc.base_url,
        "client_id": rc.client_id,
        "client_secret": rc.client_secret,
        "jwt": jwt,
    }
    with pytest.raises(ConfigError, match=words) as caught:
        validate_account(parse_account(raw, clock.now()), connection_for(rc), clock=clock)
    assert rc.requests == [] and rc.connections == 0
    assert_secret_free(caught.value, logs, secrets_of(rc, *([jwt] if jwt else [])))
