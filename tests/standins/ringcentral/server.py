"""An HTTP(S) stand-in for RingCentral's Audit Trail API, bound to 127.0.0.1.

Endpoints: ``POST /restapi/oauth/token`` (JWT bearer and refresh grants), ``POST
/restapi/oauth/revoke`` and ``POST /restapi/v1.0/account/~/audit-trail/search``, with RingCentral's
error bodies, the Heavy and Auth rate-limit groups, 180-day / 10,000-record retention, late
arrivals, and injectable faults. Time comes from a FakeClock (or the wall clock).

Secrets (client secret, JWT, tokens) never appear in the request log, in error bodies or in
``repr``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hmac
import json
import math
import os
import random
import re
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Set, Tuple, Union
from urllib.parse import parse_qs, unquote

from .clock import FakeClock, RealClock
from .history import ACCOUNT_ID, parse_rfc3339_us

Clock = Union[FakeClock, RealClock]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Grants RingCentral knows but this (JWT-only) app is not enabled for.
KNOWN_GRANTS = (
    "password",
    "authorization_code",
    "client_credentials",
    "device_code",
    "urn:ietf:params:oauth:grant-type:device_code",
    "otp",
    "ivr_pin",
    "partner_jwt",
    "guest",
    "personal_jwt",
)
ORDERS = ("newest", "oldest", "shuffled")
BOUNDS = ("[)", "[]", "()", "(]")
FAULT_KINDS = (
    "500",
    "502",
    "503",
    "429",
    "slow",
    "drop",
    "truncated",
    "missing_paging",
    "not_json",
    "401_expired",
    "401_corrupted",
)
FAULT_ENDPOINTS = ("search", "token", "revoke", "any")

SEARCH_PATH = re.compile(r"^/restapi/v1\.0/account/([^/]+)/audit-trail/search$")
TOKEN_PATH = "/restapi/oauth/token"
REVOKE_PATH = "/restapi/oauth/revoke"

# Request fields that never enter the request log.
SECRET_FIELDS = frozenset(
    {
        "assertion",
        "client_secret",
        "refresh_token",
        "access_token",
        "token",
        "password",
        "code",
        "code_verifier",
    }
)

_ACCESS_PREFIX = b"STANDIN01PAS00|"
_REFRESH_PREFIX = b"STANDIN01PRF00|"
_MAX_BODY = 16 * 1024 * 1024
_DAY = 86_400


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _random_jwt(client_id: str) -> str:
    header = {"kid": secrets.token_hex(8), "typ": "JWT", "alg": "RS256"}
    payload = {
        "aud": "https://platform.ringcentral.com/restapi/oauth/token",
        "sub": "402539300008",
        "iss": "https://platform.ringcentral.com",
        "exp": 3_900_000_000,
        "iat": 1_700_000_000,
        "jti": secrets.token_urlsafe(16),
        "client_id": client_id,
    }
    parts = (
        _b64url(json.dumps(header, separators=(",", ":")).encode()),
        _b64url(json.dumps(payload, separators=(",", ":")).encode()),
        _b64url(secrets.token_bytes(256)),
    )
    return ".".join(parts)


def _number(value: float) -> str:
    """Header-friendly number: 60 not 60.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _api_error(
    code: str,
    message: str,
    *,
    top: Optional[str] = None,
    **extra: str,
) -> Dict[str, Any]:
    """RingCentral's error body; ``top`` adds the legacy top-level errorCode/message."""
    error: Dict[str, Any] = {"errorCode": code, "message": message}
    error.update(extra)
    body: Dict[str, Any] = {}
    if top is not None:
        body["errorCode"] = top
        body["message"] = message
    body["errors"] = [error]
    if top is not None and "permissionName" in extra:
        body["permissionName"] = extra["permissionName"]
    return body


def _oauth_error(error: str, code: str, message: str) -> Dict[str, Any]:
    return {
        "error": error,
        "error_description": message,
        "errors": [{"errorCode": code, "message": message}],
    }


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: Optional[str] = "application/json; charset=utf-8"
    headers: List[Tuple[str, str]] = field(default_factory=list)
    declared_length: Optional[int] = None  # Content-Length to announce, if not len(body)
    close: bool = False  # close the connection after this response

    @classmethod
    def json(cls, status: int, obj: Any, headers: Optional[List[Tuple[str, str]]] = None):
        return cls(status, _json_bytes(obj), headers=list(headers or []))


@dataclass
class _Entry:
    seq: int
    time_us: int
    visible_at: float
    text: str  # the record's JSON, exactly as it will be served
    record_id: Optional[str]
    action_id: Optional[str]
    initiator_id: Optional[str]
    target_id: Optional[str]
    site_id: Optional[str]
    haystack: Tuple[str, ...]  # casefolded searchString fields

    @property
    def key(self) -> Tuple[int, int]:
        return (self.time_us, self.seq)


@dataclass
class _Fault:
    kind: str
    endpoint: str
    remaining: int
    params: Dict[str, Any]


@dataclass
class _Session:
    access_token: str
    refresh_token: Optional[str]
    access_expires: float
    refresh_expires: float
    scope: str
    access_expired: bool = False  # forced by expire_tokens()
    refresh_expired: bool = False  # forced by expire_refresh_tokens()
    refresh_used: bool = False


class _RateLimiter:
    """A sliding-window limit with a penalty that every request during it restarts."""

    def __init__(self, group: str, limit: int, window: float, penalty: float, enabled: bool):
        self.group = group
        self.limit = limit
        self.window = window
        self.penalty = penalty
        self.enabled = enabled
        self.hits: Deque[float] = deque()
        self.penalty_until: Optional[float] = None

    def reset(self) -> None:
        self.hits.clear()
        self.penalty_until = None

    def hit(self, now: float) -> Tuple[bool, List[Tuple[str, str]]]:
        """Count one request; (allowed, headers to send)."""
        while self.hits and self.hits[0] <= now - self.window:
            self.hits.popleft()
        if self.enabled:
            if self.penalty_until is not None and now < self.penalty_until:
                self.penalty_until = now + self.penalty
                return False, [*self._headers(0), self._retry_after()]
            if len(self.hits) >= self.limit:
                self.penalty_until = now + self.penalty
                return False, [*self._headers(0), self._retry_after()]
        self.hits.append(now)
        return True, self._headers(max(0, self.limit - len(self.hits)))

    def _retry_after(self) -> Tuple[str, str]:
        return ("Retry-After", str(max(0, math.ceil(self.penalty))))

    def _headers(self, remaining: int) -> List[Tuple[str, str]]:
        return [
            ("X-Rate-Limit-Group", self.group),
            ("X-Rate-Limit-Limit", str(self.limit)),
            ("X-Rate-Limit-Remaining", str(remaining)),
            ("X-Rate-Limit-Window", _number(self.window)),
        ]


def _rate_limited(headers: List[Tuple[str, str]]) -> _Response:
    body = {
        "errorCode": "CMN-301",
        "message": "Request rate exceeded",
        "errors": [{"errorCode": "CMN-301", "message": "Request rate exceeded"}],
    }
    return _Response.json(429, body, headers)


class _BadRequest(Exception):
    def __init__(self, response: _Response) -> None:
        super().__init__(response.status)
        self.response = response


def _invalid_parameter(name: str, value: Any) -> _BadRequest:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    body = _api_error(
        "CMN-101",
        f"Parameter [{name}] value is invalid",
        top="InvalidParameter",
        parameterName=name,
        parameterValue=text,
    )
    return _BadRequest(_Response.json(400, body))


@dataclass
class _Query:
    time_from: Optional[int] = None
    time_to: Optional[int] = None
    page: int = 1
    per_page: int = 100
    action_ids: Optional[Set[str]] = None
    exclude_action_ids: Optional[Set[str]] = None
    initiator_ids: Optional[Set[str]] = None
    target_ids: Optional[Set[str]] = None
    site_id: Optional[str] = None
    search: Optional[str] = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "RingCentralStandIn/1.0"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are closed after this many real seconds
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def version_string(self) -> str:
        return self.server_version

    def date_time_string(self, timestamp: Optional[float] = None) -> str:
        """The ``Date`` header from the stand-in's clock (a FakeClock in tests), not the host's."""
        standin = self.server.standin
        return super().date_time_string(standin.clock.now() if timestamp is None else timestamp)

    server: _Server

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()
        self.server.standin._connection_opened(self.request)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.standin._connection_closed(self.request)

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the stand-in keeps its own request log

    def _any(self) -> None:
        self.server.standin._serve(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = False
    standin: RingCentralStandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client went away, a TLS handshake failed, or the server is stopping


class RingCentralStandIn:
    """A faithful stand-in for RingCentral's Audit Trail API (see the module docstring)."""

    def __init__(
        self,
        *,
        records: Iterable[Dict[str, Any]] = (),
        clock: Optional[Clock] = None,
        client_id: str = "standin-client-id",
        client_secret: Optional[str] = None,
        jwt: Optional[str] = None,
        order: str = "newest",
        bounds: str = "[)",
        seed: int = 0,
        rate_limits: bool = True,
        heavy_limit: int = 10,
        heavy_window: float = 60.0,
        heavy_penalty: float = 60.0,
        auth_limit: int = 5,
        auth_window: float = 60.0,
        auth_penalty: float = 60.0,
        retention_days: float = 180,
        retention_max: int = 10000,
        max_per_page: int = 1000,
        max_page: int = 1000,
        access_token_ttl: float = 3600,
        refresh_token_ttl: float = 604800,
        issue_refresh_tokens: bool = True,
        scope: str = "ReadAuditTrail ReadAccounts",
        tls: bool = False,
        account_id: str = ACCOUNT_ID,
        owner_id: str = "402539300008",
    ) -> None:
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}")
        if bounds not in BOUNDS:
            raise ValueError(f"bounds must be one of {BOUNDS}")
        for name, value in (
            ("heavy_limit", heavy_limit),
            ("auth_limit", auth_limit),
            ("max_per_page", max_per_page),
            ("max_page", max_page),
        ):
            if value < 1:
                raise ValueError(f"{name} must be >= 1")
        if retention_max < 0 or retention_days < 0:
            raise ValueError("retention_days and retention_max must be >= 0")
        self.clock: Clock = clock if clock is not None else RealClock()
        self.client_id = client_id
        self.client_secret = (
            client_secret if client_secret is not None else secrets.token_urlsafe(32)
        )
        self.jwt = jwt if jwt is not None else _random_jwt(client_id)
        self.order = order
        self.bounds = bounds
        self.seed = seed
        self.retention_days = retention_days
        self.retention_max = retention_max
        self.max_per_page = max_per_page
        self.max_page = max_page
        self.access_token_ttl = access_token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        self.issue_refresh_tokens = issue_refresh_tokens
        self.scope = scope
        self.tls = tls
        self.account_id = account_id
        self.owner_id = owner_id
        # A hostile server (tests of a misbehaving RingCentral): called with the search request's
        # JSON body and the answer's JSON object; returns the object to send instead.
        self.hostile: Optional[Callable[[Dict[str, Any], Dict[str, Any]], Any]] = None
        self.ignore_page = False  # hostile: every page number answers with the first page
        self.endpoint_id = _b64url(uuid.UUID(int=random.Random(seed).getrandbits(128)).bytes)

        self.base_url = ""
        self.ca_file: Optional[str] = None
        self.requests: List[Dict[str, Any]] = []
        self.logins = 0
        self.refreshes = 0
        self.revocations = 0
        self.connections = 0  # TCP connections accepted (keep-alive reuse keeps this low)

        self._lock = threading.RLock()
        self._entries: List[_Entry] = []
        self._keys: List[Tuple[int, int]] = []
        self._seq = 0
        self._faults: List[_Fault] = []
        self._sessions_by_access: Dict[str, _Session] = {}
        self._sessions_by_refresh: Dict[str, _Session] = {}
        self._jwt_expired = False
        self._app_scope_has_audit = True
        self._user_is_admin = True
        self._search_counter = 0
        self._heavy = _RateLimiter("heavy", heavy_limit, heavy_window, heavy_penalty, rate_limits)
        self._auth = _RateLimiter("auth", auth_limit, auth_window, auth_penalty, rate_limits)
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self._stopping = threading.Event()
        self._open: Set[socket.socket] = set()
        self._handler_threads: Set[threading.Thread] = set()
        self._tmpdir: Optional[str] = None
        self.add_records(records)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> RingCentralStandIn:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.standin = self
        scheme = "http"
        if self.tls:
            import trustme

            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost")
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            cert.configure_cert(context)
            self._tmpdir = tempfile.mkdtemp(prefix="rc-standin-")
            self.ca_file = os.path.join(self._tmpdir, "ca.pem")
            ca.cert_pem.write_to_path(self.ca_file)
            server.socket = context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
            scheme = "https"
        self._server = server
        self.base_url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="ringcentral-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            open_sockets = list(self._open)
            threads = list(self._handler_threads)
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        for thread in threads:
            thread.join(5)
        self._server = None
        self._thread = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> RingCentralStandIn:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:  # no secrets
        return f"RingCentralStandIn(base_url={self.base_url!r}, records={len(self._entries)})"

    def _connection_opened(self, sock: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            self._open.add(sock)
            self._handler_threads.add(threading.current_thread())

    def _connection_closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
            self._handler_threads.discard(threading.current_thread())

    # -- test controls ---------------------------------------------------------------------------

    def add_records(
        self, records: Iterable[Dict[str, Any]], visible_at: Optional[float] = None
    ) -> None:
        """Store records (copied, key order kept). A record is served only once
        ``clock.now() >= visible_at``. A record without a parseable eventTime is stored at the
        time it becomes visible (for filters, order and retention) and served as given."""
        now = self.clock.now()
        new: List[_Entry] = []
        with self._lock:
            for record in records:
                if not isinstance(record, dict):
                    raise TypeError("records must be dicts")
                # The JSON text is the stored copy; the fields used for filtering are read now.
                text = json.dumps(record, ensure_ascii=False, allow_nan=False)
                time_us = parse_rfc3339_us(record.get("eventTime"))
                if time_us is None:
                    time_us = round((visible_at if visible_at is not None else now) * 1e6)
                self._seq += 1
                new.append(self._entry(self._seq, time_us, visible_at, text, record))
            if not new:
                return
            if len(new) < 64:
                for entry in new:
                    index = bisect.bisect_right(self._keys, entry.key)
                    self._keys.insert(index, entry.key)
                    self._entries.insert(index, entry)
            else:
                self._entries.extend(new)
                self._entries.sort(key=lambda e: e.key)
                self._keys = [e.key for e in self._entries]

    @staticmethod
    def _entry(
        seq: int, time_us: int, visible_at: Optional[float], text: str, record: Dict[str, Any]
    ) -> _Entry:
        def text_of(value: Any) -> Optional[str]:
            return value if isinstance(value, str) else None

        initiator = record.get("initiator") if isinstance(record.get("initiator"), dict) else {}
        target = record.get("target") if isinstance(record.get("target"), dict) else {}
        details = record.get("details") if isinstance(record.get("details"), dict) else {}
        fields: List[Any] = [
            initiator.get("name"),
            initiator.get("role"),
            initiator.get("extensionNumber"),
            target.get("name"),
            target.get("extensionNumber"),
        ]
        parameters = details.get("parameters")
        if isinstance(parameters, list):
            fields.extend(p.get("value") for p in parameters if isinstance(p, dict))
        record_id = record.get("id")
        return _Entry(
            seq=seq,
            time_us=time_us,
            visible_at=float("-inf") if visible_at is None else float(visible_at),
            text=text,
            record_id=record_id if isinstance(record_id, str) else None,
            action_id=text_of(record.get("actionId")),
            initiator_id=text_of(initiator.get("extensionId")),
            target_id=text_of(target.get("objectId")),
            site_id=text_of(target.get("siteId")),
            haystack=tuple(f.casefold() for f in fields if isinstance(f, str)),
        )

    def inject(self, kind: str, *, count: int = 1, endpoint: str = "search", **params: Any) -> None:
        """Queue a fault for the next ``count`` requests to ``endpoint`` (see FAULT_KINDS)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if endpoint not in FAULT_ENDPOINTS:
            raise ValueError(f"endpoint must be one of {FAULT_ENDPOINTS}")
        if count < 1:
            raise ValueError("count must be >= 1")
        if kind == "slow" and not isinstance(params.get("delay"), (int, float)):
            raise ValueError("a 'slow' fault needs delay=<real seconds>")
        with self._lock:
            self._faults.append(_Fault(kind, endpoint, count, dict(params)))

    def pending_faults(self) -> List[Tuple[str, str, int]]:
        with self._lock:
            return [(f.kind, f.endpoint, f.remaining) for f in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def expire_tokens(self) -> None:
        """Every access token issued so far is now expired (401 OAU-128)."""
        with self._lock:
            for session in self._sessions_by_access.values():
                session.access_expired = True

    def expire_refresh_tokens(self) -> None:
        """Every refresh token issued so far is now expired (400 invalid_grant OAU-210)."""
        with self._lock:
            for session in self._sessions_by_refresh.values():
                session.refresh_expired = True

    def revoke_tokens(self) -> None:
        """Kill every session, as a password change or an admin would (401 OAU-213 after)."""
        with self._lock:
            self._sessions_by_access.clear()
            self._sessions_by_refresh.clear()

    def expire_jwt(self, expired: bool = True) -> None:
        """Make the configured JWT count as expired (400 invalid_grant OAU-141)."""
        with self._lock:
            self._jwt_expired = expired

    def set_permissions(
        self, *, app_scope_has_audit: bool = True, user_is_admin: bool = True
    ) -> None:
        """Without the app scope, search answers 403 CMN-401 and new tokens' scope omits
        ReadAuditTrail; without the user's audit-trail right, search answers 403 CMN-408."""
        with self._lock:
            self._app_scope_has_audit = app_scope_has_audit
            self._user_is_admin = user_is_admin

    def reset_rate_limits(self) -> None:
        with self._lock:
            self._heavy.reset()
            self._auth.reset()

    @property
    def records(self) -> List[Dict[str, Any]]:
        """Every stored record (copies, oldest first), ignoring retention and visibility."""
        with self._lock:
            return [json.loads(e.text) for e in self._entries]

    def retrievable_records(self) -> List[Dict[str, Any]]:
        """What an unbounded search would return right now (retention and visibility applied),
        oldest first."""
        return [json.loads(e.text) for e in self._retained(self.clock.now())]

    def retrievable_ids(self) -> Set[str]:
        return {e.record_id for e in self._retained(self.clock.now()) if e.record_id is not None}

    def count(self, endpoint: Optional[str] = None, status: Optional[int] = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (endpoint is None or r["endpoint"] == endpoint)
                and (status is None or r["status"] == status)
            )

    # -- request handling ------------------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        now = self.clock.now()
        path = unquote(handler.path.split("?", 1)[0].split("#", 1)[0])
        if path == TOKEN_PATH:
            endpoint = "token"
        elif path == REVOKE_PATH:
            endpoint = "revoke"
        elif SEARCH_PATH.match(path):
            endpoint = "search"
        else:
            endpoint = "other"
        entry: Dict[str, Any] = {
            "time": now,
            "method": handler.command,
            "path": path,
            "endpoint": endpoint,
            "status": None,
            "body": None,
            "group": {"token": "auth", "revoke": "auth", "search": "heavy"}.get(endpoint),
            "fault": None,
        }
        try:
            body = self._read_body(handler)
        except ValueError:
            response = _Response.json(400, _api_error("CMN-103", "Unreadable request body"))
            handler.close_connection = True
            self._finish(handler, entry, response)
            return
        fault = self._take_fault(endpoint)
        if fault is not None:
            entry["fault"] = fault.kind
        if fault is not None and fault.kind == "slow":
            self._stopping.wait(float(fault.params["delay"]))
            if self._stopping.is_set():
                return
            fault = None
        if fault is not None and fault.kind == "drop":
            self._log(entry)
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        response = self._fault_response(fault)
        if response is None:
            headers = {k.lower(): v for k, v in handler.headers.items()}
            if endpoint == "token":
                response = self._token(handler.command, headers, body, entry)
            elif endpoint == "revoke":
                response = self._revoke(handler.command, headers, body, entry)
            elif endpoint == "search":
                response = self._search(handler.command, path, headers, body, entry)
            else:
                response = _Response.json(404, _api_error("CMN-102", "Resource not found"))
            if fault is not None and response.status == 200:
                response = self._transform(fault, response)
        self._finish(handler, entry, response)

    def _finish(self, handler: _Handler, entry: Dict[str, Any], response: _Response) -> None:
        entry["status"] = response.status
        self._log(entry)
        try:
            self._send(handler, response)
        except OSError:
            handler.close_connection = True

    def _log(self, entry: Dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    @staticmethod
    def _read_body(handler: _Handler) -> bytes:
        if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            total = 0
            while True:
                line = handler.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > _MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline(1024)
        length_text = handler.headers.get("Content-Length")
        if not length_text:
            return b""
        length = int(length_text)
        if length < 0 or length > _MAX_BODY:
            raise ValueError("bad length")
        return handler.rfile.read(length)

    @staticmethod
    def _send(handler: _Handler, response: _Response) -> None:
        handler.send_response(response.status)
        if response.content_type is not None:
            handler.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            handler.send_header(name, value)
        handler.send_header("RCRequestId", str(uuid.uuid4()))
        length = response.declared_length
        handler.send_header("Content-Length", str(len(response.body) if length is None else length))
        if response.close:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(response.body)
        handler.wfile.flush()
        if response.close:
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _take_fault(self, endpoint: str) -> Optional[_Fault]:
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (endpoint, "any"):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def _fault_response(fault: Optional[_Fault]) -> Optional[_Response]:
        """Faults answered without touching auth, rate limits or data; None for the others."""
        if fault is None:
            return None
        kind, params = fault.kind, fault.params
        if kind in ("500", "502", "503"):
            defaults = {
                "500": ("CMN-211", "Internal Server Error"),
                "502": ("CMN-202", "Bad Gateway"),
                "503": ("CMN-201", "Service Temporary Unavailable"),
            }[kind]
            code = params.get("error_code", defaults[0])
            message = params.get("message", defaults[1])
            headers = []
            if params.get("retry_after") is not None:
                headers.append(("Retry-After", str(params["retry_after"])))
            return _Response.json(int(kind), _api_error(code, message), headers)
        if kind == "429":
            code = params.get("error_code", "CMN-301")
            message = params.get("message", "Request rate exceeded")
            headers = []
            retry_after = params.get("retry_after", 60)
            if retry_after is not None:
                headers.append(("Retry-After", str(retry_after)))
            body = {
                "errorCode": code,
                "message": message,
                "errors": [{"errorCode": code, "message": message}],
            }
            return _Response.json(429, body, headers)
        if kind == "not_json":
            html = (
                "<!DOCTYPE html><html><head><title>Maintenance</title></head>"
                "<body><h1>We'll be right back</h1></body></html>"
            )
            return _Response(200, html.encode(), content_type="text/html; charset=utf-8")
        if kind == "401_expired":
            return _Response.json(
                401, _api_error("OAU-128", "Access token expired", top="TokenInvalid")
            )
        if kind == "401_corrupted":
            return _Response.json(
                401, _api_error("OAU-129", "Access token corrupted", top="TokenInvalid")
            )
        return None  # truncated / missing_paging: processed normally, then transformed

    @staticmethod
    def _transform(fault: _Fault, response: _Response) -> _Response:
        if fault.kind == "missing_paging":
            try:
                obj = json.loads(response.body)
            except ValueError:
                return response
            if isinstance(obj, dict):
                obj.pop("paging", None)
                response.body = _json_bytes(obj)
            return response
        if fault.kind == "truncated":
            full = len(response.body)
            response.body = response.body[: full // 2]
            if fault.params.get("declared_full"):  # announce all, send half, hang up
                response.declared_length = full
                response.close = True
        return response

    # -- OAuth ----------------------------------------------------------------------------------

    @staticmethod
    def _form(body: bytes) -> Dict[str, str]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return {}
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}

    def _client_error(self, headers: Dict[str, str]) -> Optional[_Response]:
        """None if the Basic credentials are right, else the 401 (never echoing the secret)."""
        scheme, _, value = headers.get("authorization", "").strip().partition(" ")
        presented_id, presented_secret = "", None
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            if ":" in decoded:
                presented_id, presented_secret = decoded.split(":", 1)
        if presented_id in (self.client_secret, self.jwt):  # swapped fields: never echo a secret
            presented_id = ""
        if presented_secret is not None and hmac.compare_digest(
            presented_id.encode(), self.client_id.encode()
        ):
            if hmac.compare_digest(presented_secret.encode(), self.client_secret.encode()):
                return None
            body = _oauth_error("invalid_client", "OAU-146", "Invalid client credentials")
        else:
            body = _oauth_error("invalid_client", "OAU-153", f"Invalid client: {presented_id}")
            body["errors"][0]["parameters"] = [
                {"parameterName": "client_id", "parameterValue": presented_id}
            ]
        body["error_description"] = f"Invalid client: {presented_id}"
        return _Response.json(401, body, [("WWW-Authenticate", 'Basic realm="RingCentral"')])

    def _token(
        self, method: str, headers: Dict[str, str], body: bytes, entry: Dict[str, Any]
    ) -> _Response:
        if method != "POST":
            return _Response.json(
                405, _api_error("AGW-405", "Method not allowed"), [("Allow", "POST")]
            )
        form = self._form(body)
        entry["body"] = {k: v for k, v in form.items() if k not in SECRET_FIELDS}
        now = self.clock.now()
        with self._lock:
            allowed, rl_headers = self._auth.hit(now)
            if not allowed:
                return _rate_limited(rl_headers)
            error = self._client_error(headers)
            if error is not None:
                error.headers.extend(rl_headers)
                return error
            response = self._grant(form, now)
            response.headers.extend(rl_headers)
            return response

    def _grant(self, form: Dict[str, str], now: float) -> _Response:
        grant = form.get("grant_type", "")
        if grant == JWT_GRANT:
            assertion = form.get("assertion", "")
            if not assertion:
                return _Response.json(
                    400,
                    _oauth_error("invalid_request", "OAU-101", "Parameter [assertion] is invalid"),
                )
            if not hmac.compare_digest(assertion.encode(), self.jwt.encode()):
                return _Response.json(
                    400, _oauth_error("invalid_grant", "OAU-140", "Invalid assertion")
                )
            if self._jwt_expired:
                return _Response.json(
                    400, _oauth_error("invalid_grant", "OAU-141", "JWT is expired")
                )
            self.logins += 1
            return self._issue(form, now)
        if grant == "refresh_token":
            if not self.issue_refresh_tokens:
                return _Response.json(
                    400,
                    _oauth_error(
                        "unauthorized_client", "OAU-251", "Unauthorized for this grant type"
                    ),
                )
            token = form.get("refresh_token", "")
            session = self._sessions_by_refresh.get(token) if token else None
            if session is None or session.refresh_used:
                return _Response.json(
                    400, _oauth_error("invalid_grant", "OAU-213", "Token not found")
                )
            if session.refresh_expired or now >= session.refresh_expires:
                return _Response.json(
                    400, _oauth_error("invalid_grant", "OAU-210", "Token expired")
                )
            # Single use: the pair is gone, including the access token it came with.
            session.refresh_used = True
            self._forget(session)
            self.refreshes += 1
            return self._issue(form, now)
        if grant in KNOWN_GRANTS:
            return _Response.json(
                400,
                _oauth_error("unauthorized_client", "OAU-251", "Unauthorized for this grant type"),
            )
        return _Response.json(
            400, _oauth_error("invalid_request", "OAU-250", "Unsupported grant type")
        )

    def _ttl(self, form: Dict[str, str], name: str, maximum: float) -> float:
        try:
            requested = float(form.get(name, ""))
        except ValueError:
            return maximum
        return min(requested, maximum) if requested > 0 else maximum

    def _effective_scope(self) -> str:
        words = self.scope.split()
        if not self._app_scope_has_audit:
            words = [w for w in words if w != "ReadAuditTrail"]
        return " ".join(words)

    def _issue(self, form: Dict[str, str], now: float) -> _Response:
        access_ttl = self._ttl(form, "access_token_ttl", self.access_token_ttl)
        refresh_ttl = self._ttl(form, "refresh_token_ttl", self.refresh_token_ttl)
        access = _b64url(_ACCESS_PREFIX + secrets.token_bytes(48))
        refresh = (
            _b64url(_REFRESH_PREFIX + secrets.token_bytes(48))
            if self.issue_refresh_tokens
            else None
        )
        session = _Session(
            access_token=access,
            refresh_token=refresh,
            access_expires=now + access_ttl,
            refresh_expires=now + refresh_ttl,
            scope=self._effective_scope(),
        )
        self._sessions_by_access[access] = session
        body: Dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(access_ttl),
        }
        if refresh is not None:
            self._sessions_by_refresh[refresh] = session
            body["refresh_token"] = refresh
            body["refresh_token_expires_in"] = int(refresh_ttl)
        body["scope"] = session.scope
        body["owner_id"] = self.owner_id
        body["endpoint_id"] = self.endpoint_id
        return _Response.json(200, body, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def _forget(self, session: _Session) -> None:
        self._sessions_by_access.pop(session.access_token, None)
        if session.refresh_token is not None:
            self._sessions_by_refresh.pop(session.refresh_token, None)

    def _revoke(
        self, method: str, headers: Dict[str, str], body: bytes, entry: Dict[str, Any]
    ) -> _Response:
        if method != "POST":
            return _Response.json(
                405, _api_error("AGW-405", "Method not allowed"), [("Allow", "POST")]
            )
        form = self._form(body)
        entry["body"] = {k: v for k, v in form.items() if k not in SECRET_FIELDS}
        with self._lock:
            allowed, rl_headers = self._auth.hit(self.clock.now())
            if not allowed:
                return _rate_limited(rl_headers)
            error = self._client_error(headers)
            if error is not None:
                error.headers.extend(rl_headers)
                return error
            token = form.get("token", "")
            if not token:
                return _Response.json(
                    400,
                    _oauth_error("invalid_request", "OAU-101", "Parameter [token] is invalid"),
                    rl_headers,
                )
            session = self._sessions_by_access.get(token) or self._sessions_by_refresh.get(token)
            if session is not None:
                self._forget(session)
                self.revocations += 1
            return _Response(200, b"", content_type=None, headers=rl_headers)

    # -- search ---------------------------------------------------------------------------------

    def _bearer_error(self, headers: Dict[str, str], now: float) -> Optional[_Response]:
        value = headers.get("authorization", "").strip()
        if not value:
            return _Response.json(
                401,
                _api_error("OAU-123", "Authorization header is not specified", top="OAU-123"),
            )
        scheme, _, token = value.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return _Response.json(
                401, _api_error("OAU-129", "Access token corrupted", top="TokenInvalid")
            )
        session = self._sessions_by_access.get(token)
        if session is None:
            try:
                raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            except (binascii.Error, ValueError):
                raw = b""
            if raw.startswith(_ACCESS_PREFIX):  # one of ours, revoked or replaced
                return _Response.json(
                    401, _api_error("OAU-213", "Token not found", top="TokenInvalid")
                )
            return _Response.json(
                401, _api_error("OAU-129", "Access token corrupted", top="TokenInvalid")
            )
        if session.access_expired or now >= session.access_expires:
            return _Response.json(
                401, _api_error("OAU-128", "Access token expired", top="TokenInvalid")
            )
        return None

    def _search(
        self,
        method: str,
        path: str,
        headers: Dict[str, str],
        body: bytes,
        entry: Dict[str, Any],
    ) -> _Response:
        try:
            entry["body"] = json.loads(body.decode("utf-8")) if body.strip() else None
        except ValueError:
            entry["body"] = None
        now = self.clock.now()
        with self._lock:
            error = self._bearer_error(headers, now)
            if error is not None:
                return error
            allowed, rl_headers = self._heavy.hit(now)
            if not allowed:
                return _rate_limited(rl_headers)
            response = self._search_allowed(method, path, body, now)
            response.headers.extend(rl_headers)
            if self.hostile is not None and response.status == 200:
                # ASCII escapes: a hostile answer may carry lone surrogates, as JSON allows;
                # a str is sent as it is (JSON text no encoder would write)
                hostile = self.hostile(entry["body"] or {}, json.loads(response.body))
                if not isinstance(hostile, str):
                    hostile = json.dumps(hostile, separators=(",", ":"))
                response.body = hostile.encode("ascii")
            return response

    def _search_allowed(self, method: str, path: str, body: bytes, now: float) -> _Response:
        if method != "POST":
            return _Response.json(
                405, _api_error("AGW-405", "Method not allowed"), [("Allow", "POST")]
            )
        match = SEARCH_PATH.match(path)
        account = match.group(1) if match else ""
        if account not in ("~", self.account_id):
            body_404 = _api_error(
                "CMN-102",
                "Resource for parameter [accountId] is not found",
                top="CMN-102",
                parameterName="accountId",
                parameterValue=account,
            )
            return _Response.json(404, body_404)
        if not self._app_scope_has_audit:
            message = "In order to call this API endpoint, application needs to have [ReadAuditTrail] permission"
            return _Response.json(
                403,
                _api_error(
                    "CMN-401",
                    message,
                    top="InsufficientPermissions",
                    permissionName="ReadAuditTrail",
                ),
            )
        if not self._user_is_admin:
            message = (
                "In order to call this API endpoint, user needs to have [AuditTrail] permission "
                "for requested resource."
            )
            return _Response.json(
                403, _api_error("CMN-408", message, top="CMN-408", permissionName="AuditTrail")
            )
        try:
            query = self._parse_query(body)
        except _BadRequest as bad:
            return bad.response
        return self._page(query, now)

    def _parse_query(self, body: bytes) -> _Query:
        if not body.strip():
            return _Query()
        try:
            obj = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _BadRequest(
                _Response.json(400, _api_error("CMN-103", "Request body is not valid JSON"))
            ) from None
        if obj is None:
            return _Query()
        if not isinstance(obj, dict):
            raise _BadRequest(
                _Response.json(400, _api_error("CMN-103", "Request body must be a JSON object"))
            )
        query = _Query()
        for name in ("eventTimeFrom", "eventTimeTo"):
            value = obj.get(name)
            if value is None:
                continue
            parsed = parse_rfc3339_us(value)
            if parsed is None:
                raise _invalid_parameter(name, value)
            if name == "eventTimeFrom":
                query.time_from = parsed
            else:
                query.time_to = parsed
        for name, low, high in (("page", 1, self.max_page), ("perPage", 0, self.max_per_page)):
            value = obj.get(name)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise _invalid_parameter(name, value)
            if name == "page":
                query.page = value
            else:
                query.per_page = value
        for name, attr in (
            ("actionIds", "action_ids"),
            ("excludeActionIds", "exclude_action_ids"),
            ("initiatorIds", "initiator_ids"),
            ("targetIds", "target_ids"),
        ):
            value = obj.get(name)
            if value is None:
                continue
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _invalid_parameter(name, value)
            setattr(query, attr, set(value))
        for name, attr in (("siteId", "site_id"), ("searchString", "search")):
            value = obj.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise _invalid_parameter(name, value)
            setattr(query, attr, value)
        return query

    def _retained(self, now: float) -> List[_Entry]:
        """Visible records within retention (days, then count), oldest first."""
        cutoff = round((now - self.retention_days * _DAY) * 1e6)
        with self._lock:
            start = bisect.bisect_left(self._keys, (cutoff, -1))
            kept = [e for e in self._entries[start:] if e.visible_at <= now]
        if self.retention_max <= 0:
            return []
        return kept[-self.retention_max :]

    def _matches_time(self, entry: _Entry, query: _Query) -> bool:
        t = entry.time_us
        if query.time_from is not None:
            if self.bounds[0] == "[" and t < query.time_from:
                return False
            if self.bounds[0] == "(" and t <= query.time_from:
                return False
        if query.time_to is not None:
            if self.bounds[1] == "]" and t > query.time_to:
                return False
            if self.bounds[1] == ")" and t >= query.time_to:
                return False
        return True

    @staticmethod
    def _matches(entry: _Entry, query: _Query, needle: Optional[str]) -> bool:
        if query.action_ids is not None and entry.action_id not in query.action_ids:
            return False
        if query.exclude_action_ids and entry.action_id in query.exclude_action_ids:
            return False
        if query.initiator_ids is not None and entry.initiator_id not in query.initiator_ids:
            return False
        if query.target_ids is not None and entry.target_id not in query.target_ids:
            return False
        if query.site_id is not None and entry.site_id != query.site_id:
            return False
        if needle and not any(needle in text for text in entry.haystack):
            return False
        return True

    def _page(self, query: _Query, now: float) -> _Response:
        needle = query.search.casefold() if query.search else None
        found = [
            e
            for e in self._retained(now)
            if self._matches_time(e, query) and self._matches(e, query, needle)
        ]
        self._search_counter += 1
        if self.order == "newest":
            found.reverse()
        elif self.order == "shuffled":
            random.Random(f"{self.seed}:{self._search_counter}").shuffle(found)
        total_found = len(found)
        paging: Dict[str, int] = {}
        if query.per_page == 0:
            chunk: List[_Entry] = []
            paging["totalFound"] = total_found
        else:
            pages = math.ceil(total_found / query.per_page)
            begin = 0 if self.ignore_page else (query.page - 1) * query.per_page
            chunk = found[begin : begin + query.per_page]
            if chunk:
                paging["page"] = query.page
            paging["perPage"] = query.per_page
            paging["total"] = pages
            paging["totalFound"] = total_found
        text = (
            '{"records":['
            + ",".join(e.text for e in chunk)
            + '],"paging":'
            + json.dumps(paging)
            + "}"
        )
        return _Response(200, text.encode("utf-8"))
