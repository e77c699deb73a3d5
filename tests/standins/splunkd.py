"""A splunkd stand-in: the REST endpoints and the modular input protocol our add-on relies on.

Splunk Enterprise cannot be installed here, so this server plays splunkd's management port for
the real client libraries (splunklib 2.1.1, solnlib 8.2.0, splunktaucclib 8.2.0):

* HTTPS on 127.0.0.1 with a throw-away self-signed certificate (splunkd's management port is
  HTTPS with its own certificate; solnlib verifies nothing by default), or plain HTTP;
* session-key authentication (``Authorization: Splunk <key>``); any other call gets splunkd's
  ``401 call not properly authenticated``;
* Atom XML answers by default and JSON with ``output_mode=json``, with splunkd's namespaces
  (``/services`` and ``/servicesNS/<owner>/<app>``), ``count``/``offset``/``search`` and its
  error bodies (``<response><messages><msg type="ERROR">``);
* ``properties`` and ``configs/conf-<name>`` (stanzas: list, get, create, update, delete),
  ``storage/passwords`` (list, get by ``realm:user:``, create, update, delete, 409 on duplicates),
  the KV store (``storage/collections/config`` and ``storage/collections/data/<collection>``:
  get by ``_key``, query, insert, update, delete, ``batch_save``, ``batch_find``),
  ``kvstore/status``, ``server/info``, ``authentication/current-context`` and ``auth/login``.

Tests preload configuration as the add-on's setup pages would store it (:meth:`set_conf` keeps
``******`` in the conf and the clear values, as JSON, in storage/passwords under
``__REST_CREDENTIAL__#<app>#configs/conf-<conf>``, chunked like solnlib's CredentialManager),
read what the add-on stored (:meth:`conf_stanza`, :meth:`clear_password`, :meth:`kv_documents`),
inject faults (:meth:`inject_fault`, :attr:`kvstore_status`) and inspect :attr:`requests`, a log
of every call (method, path, query, status; never bodies, which carry secrets).

The second half speaks the modular input protocol the way splunkd does: the XML input and
validation definitions it writes on a script's stdin, the XML event stream it reads back
(:func:`parse_event_stream`, tolerant of a stream cut short by a kill), and the environment it
starts scripts with (:func:`modinput_environment`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape, quoteattr

APP = "TA-ringcentral-audit"
VERSION = "9.4.2"
BUILD = "e9664af3d956"

# solnlib.credentials.CredentialManager's storage format for long (or any) passwords.
CRED_SEP = "``splunk_cred_sep``"
CRED_END_MARK = (
    "``splunk_cred_sep``S``splunk_cred_sep``P``splunk_cred_sep``L``splunk_cred_sep``"
    "U``splunk_cred_sep``N``splunk_cred_sep``K``splunk_cred_sep``"
)
CRED_CHUNK = 255
ENCRYPTED = "******"  # what a conf holds in place of an encrypted field

_ATOM_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://dev.splunk.com/ns/rest" '
    'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
)
_SYSTEM_APPS = ("system", "search")


def credential_realm(app: str, conf: str) -> str:
    """The realm UCC/splunktaucclib and solnlib's ConfManager keep a conf's encrypted fields in."""
    return f"__REST_CREDENTIAL__#{app}#configs/conf-{conf}"


def password_name(realm: str, username: str) -> str:
    """storage/passwords' entity name: ``realm:username:`` with colons inside escaped."""
    return f"{realm.replace(':', chr(92) + ':')}:{username.replace(':', chr(92) + ':')}:"


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class HttpError(Exception):
    def __init__(self, status: int, message: str, kind: str = "ERROR") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind


class SimpleRequestError(Exception):
    """What the simpleRequest stand-in raises for an HTTP error (splunk.rest raises its own)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status


@dataclass
class RequestRecord:
    """One call to the stand-in. Bodies are never kept (they carry secrets): only field names."""

    method: str
    path: str
    query: Dict[str, str]
    status: int
    params: Tuple[str, ...] = ()
    authenticated: bool = True
    route: str = ""


@dataclass
class Fault:
    method: Optional[str]
    pattern: re.Pattern[str]
    status: int
    message: str
    remaining: int  # < 0: forever


@dataclass
class _Stanza:
    app: str
    owner: str
    fields: Dict[str, str]
    updated: str = field(default_factory=_now_iso)


@dataclass
class _Password:
    realm: str
    username: str
    clear: str
    app: str
    owner: str = "nobody"

    @property
    def name(self) -> str:
        return password_name(self.realm, self.username)


@dataclass
class _Collection:
    app: str
    fields: Dict[str, str] = field(default_factory=dict)
    accelerated: Dict[str, str] = field(default_factory=dict)
    docs: Dict[str, Dict[str, Any]] = field(default_factory=dict)


@dataclass
class _Entry:
    """An Atom entry before rendering as XML or JSON."""

    name: str
    path: str  # relative to the namespace, e.g. "configs/conf-x/stanza"
    content: Dict[str, Any]
    app: str = "system"
    owner: str = "nobody"
    sharing: str = "app"
    author: str = "nobody"
    updated: str = field(default_factory=_now_iso)
    extra_links: Tuple[str, ...] = ("list", "edit", "remove")


class SplunkdStandIn:
    """A splunkd management port on 127.0.0.1 (port 0 = any free port). Use as a context manager."""

    def __init__(
        self,
        *,
        session_key: Optional[str] = None,
        tls: bool = True,
        app: str = APP,
        server_name: str = "splunkd-standin",
        server_roles: Iterable[str] = ("indexer", "license_master", "kv_store"),
        users: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.app = app
        self.session_key = session_key or secrets.token_hex(32)
        self.session_keys = {self.session_key}
        # Who each session is (authentication/current-context): the first one is an admin.
        # Capabilities come from the roles (``role_capabilities``, which
        # :meth:`grant_from_authorize_conf` extends as an app's authorize.conf does).
        self.session_users: Dict[str, Tuple[str, Tuple[str, ...]]] = {
            self.session_key: ("admin", ("admin",))
        }
        self.role_capabilities: Dict[str, set] = {
            "admin": {"admin_all_objects", "list_storage_passwords", "edit_storage_passwords"},
            "sc_admin": {"admin_all_objects", "list_storage_passwords", "edit_storage_passwords"},
            "power": {"schedule_search", "rtsearch"},
            "user": {"search", "get_metadata", "get_typeahead"},
        }
        self.tls = tls
        self.server_name = server_name
        self.server_roles = list(server_roles)
        self.users = dict(users or {})
        self.kvstore_status = "ready"  # anything else: KV store calls answer 503 like at startup
        self.requests: List[RequestRecord] = []
        self.unhandled: List[RequestRecord] = []
        self._faults: List[Fault] = []
        self._lock = threading.RLock()
        self._conf_files: set = set()
        self._confs: Dict[str, Dict[str, _Stanza]] = {}
        self._passwords: Dict[str, _Password] = {}
        self._collections: Dict[Tuple[str, str], _Collection] = {}
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._tmpdir: Optional[str] = None
        self.ca_cert_path: Optional[str] = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> SplunkdStandIn:
        handler = type("Handler", (_Handler,), {"standin": self})
        server = _Server(("127.0.0.1", 0), handler)
        if self.tls:
            server.ssl_context = self._ssl_context()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        # What splunk.rest / solnlib.splunkenv read to find the management port.
        self.set_conf("server", "general", {"serverName": self.server_name}, app="system")
        self.set_conf(
            "server",
            "sslConfig",
            {"enableSplunkdSSL": "true" if self.tls else "false"},
            app="system",
        )
        self.set_conf("web", "settings", {"mgmtHostPort": f"{self.host}:{self.port}"}, app="system")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    @property
    def connections(self) -> int:
        """Connections clients opened so far (each a TLS handshake when ``tls``)."""
        return self._server.accepted if self._server is not None else 0

    def __enter__(self) -> SplunkdStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_session(self, username: str, roles: Sequence[str]) -> str:
        """A new session key of ``username`` holding ``roles`` (as after a login)."""
        key = secrets.token_hex(32)
        with self._lock:
            self.session_keys.add(key)
            self.session_users[key] = (username, tuple(roles))
        return key

    def grant_from_authorize_conf(self, path: str) -> None:
        """Grant what an app's authorize.conf grants: ``[role_<name>]`` / ``<capability> =
        enabled`` lines (splunkd merges them into the role)."""
        role = None
        for line in Path(path).read_text().splitlines():
            line = line.strip()
            if line.startswith("[") and line.endswith("]"):
                name = line[1:-1]
                role = name[len("role_") :] if name.startswith("role_") else None
            elif role and "=" in line and not line.startswith("#"):
                capability, value = (part.strip() for part in line.split("=", 1))
                if value == "enabled":
                    self.role_capabilities.setdefault(role, set()).add(capability)

    def _context(self, headers: Mapping[str, str]) -> Dict[str, Any]:
        key = (headers.get("Authorization") or "")[len("Splunk ") :].strip()
        username, roles = self.session_users.get(key, ("splunk-system-user", ("admin",)))
        held = sorted(set().union(*(self.role_capabilities.get(r, set()) for r in roles)))
        return {"username": username, "roles": list(roles), "realname": "", "capabilities": held}

    def _ssl_context(self) -> ssl.SSLContext:
        import trustme  # test dependency; only needed for the HTTPS flavour

        ca = trustme.CA(organization_name="splunkd stand-in")
        cert = ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self._tmpdir = tempfile.mkdtemp(prefix="splunkd-standin-")
        self.ca_cert_path = os.path.join(self._tmpdir, "ca.pem")
        ca.cert_pem.write_to_path(self.ca_cert_path)
        return context

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the splunkd stand-in is not started")
        return int(self._server.server_address[1])

    @property
    def uri(self) -> str:
        """What splunkd passes as ``server_uri`` to modular inputs."""
        return f"{self.scheme}://{self.host}:{self.port}"

    # ------------------------------------------------------------------ test-side API
    def declare_conf(self, conf: str) -> None:
        """Make a conf file exist (as a default/<conf>.conf in some app would)."""
        with self._lock:
            self._conf_files.add(conf)
            self._confs.setdefault(conf, {})

    def set_conf(
        self,
        conf: str,
        stanza: str,
        fields: Mapping[str, Any],
        *,
        encrypted: Optional[Mapping[str, str]] = None,
        app: Optional[str] = None,
    ) -> None:
        """Store a stanza as the add-on's setup pages would.

        ``encrypted`` fields appear as ``******`` in the conf; their clear values are stored as one
        JSON object in storage/passwords (realm ``__REST_CREDENTIAL__#<app>#configs/conf-<conf>``,
        user = stanza name), chunked exactly like solnlib's CredentialManager.
        """
        app = app or self.app
        values = {k: _text(v) for k, v in fields.items()}
        if encrypted:
            for key in encrypted:
                values[key] = ENCRYPTED
            self.set_password(credential_realm(app, conf), stanza, json.dumps(dict(encrypted)))
        with self._lock:
            self.declare_conf(conf)
            existing = self._confs[conf].get(stanza)
            if existing is None:
                self._confs[conf][stanza] = _Stanza(app=app, owner="nobody", fields=values)
            else:
                existing.fields.update(values)
                existing.updated = _now_iso()

    def delete_conf_stanza(self, conf: str, stanza: str) -> None:
        with self._lock:
            self._confs.get(conf, {}).pop(stanza, None)

    def conf_stanza(self, conf: str, stanza: str) -> Optional[Dict[str, str]]:
        """The stanza's fields as stored (encrypted fields read ``******``), or None."""
        with self._lock:
            found = self._confs.get(conf, {}).get(stanza)
            return dict(found.fields) if found else None

    def load_app(self, app_dir: str, app: Optional[str] = None) -> None:
        """Read an app's default/*.conf (and collections.conf) as splunkd does when it starts."""
        app = app or os.path.basename(os.path.normpath(app_dir))
        default = Path(app_dir, "default")
        for path in sorted(default.glob("*.conf")):
            conf = path.stem
            if conf == "authorize":
                self.grant_from_authorize_conf(str(path))
            parsed = parse_conf(path.read_text(encoding="utf-8"))
            with self._lock:
                self.declare_conf(conf)
                for name, values in parsed.items():
                    if name not in self._confs[conf]:
                        self._confs[conf][name] = _Stanza(app=app, owner="nobody", fields=values)
                if conf == "collections":
                    for name, values in parsed.items():
                        if name == "default":
                            continue
                        coll = self._collections.setdefault((app, name), _Collection(app=app))
                        for key, value in values.items():
                            if key.startswith("field."):
                                coll.fields[key[6:]] = value
                            elif key.startswith("accelerated_fields."):
                                coll.accelerated[key[19:]] = value

    def set_password(
        self, realm: str, username: str, clear: str, *, app: Optional[str] = None
    ) -> None:
        """Store a secret the way solnlib's CredentialManager.set_password does (chunked)."""
        chunks = [clear[i : i + CRED_CHUNK] for i in range(0, len(clear), CRED_CHUNK)]
        with self._lock:
            self.delete_password(realm, username)
            for index, chunk in enumerate([*chunks, CRED_END_MARK], start=1):
                self.set_raw_password(realm, f"{username}{CRED_SEP}{index}", chunk, app=app)

    def set_raw_password(
        self, realm: str, username: str, password: str, *, app: Optional[str] = None
    ) -> None:
        """Store one storage/passwords entity as is (e.g. one written by another tool)."""
        entry = _Password(realm=realm, username=username, clear=password, app=app or self.app)
        with self._lock:
            self._passwords[entry.name] = entry

    def delete_password(self, realm: str, username: str) -> int:
        pattern = re.compile(re.escape(username) + re.escape(CRED_SEP) + r"\d+$")
        with self._lock:
            names = [
                name
                for name, p in self._passwords.items()
                if p.realm == realm and (p.username == username or pattern.match(p.username))
            ]
            for name in names:
                del self._passwords[name]
            return len(names)

    def passwords(self, realm: Optional[str] = None) -> List[Dict[str, str]]:
        """Raw storage/passwords entities (realm, username, clear_password, app)."""
        with self._lock:
            return [
                {"realm": p.realm, "username": p.username, "clear_password": p.clear, "app": p.app}
                for p in self._passwords.values()
                if realm is None or p.realm == realm
            ]

    def clear_password(self, realm: str, username: str) -> Optional[str]:
        """The secret as solnlib would reassemble it from its chunks; None if absent."""
        with self._lock:
            chunks: Dict[int, str] = {}
            single: Optional[str] = None
            for p in self._passwords.values():
                if p.realm != realm:
                    continue
                if p.username == username:
                    single = p.clear
                elif p.username.startswith(username + CRED_SEP):
                    tail = p.username[len(username) + len(CRED_SEP) :]
                    if tail.isdigit():
                        chunks[int(tail)] = p.clear
            if not chunks:
                return single
            text = ""
            for index in sorted(chunks):
                if chunks[index] == CRED_END_MARK:
                    break
                text += chunks[index]
            return text

    def create_collection(self, name: str, *, app: Optional[str] = None) -> None:
        with self._lock:
            self._collections.setdefault((app or self.app, name), _Collection(app=app or self.app))

    def kv_documents(self, collection: str, *, app: Optional[str] = None) -> Dict[str, Dict]:
        """Every document of a KV store collection, by ``_key`` (copies)."""
        with self._lock:
            coll = self._collections.get((app or self.app, collection))
            return json.loads(json.dumps(coll.docs)) if coll else {}

    def kv_put(self, collection: str, key: str, doc: Mapping[str, Any], *, app=None) -> None:
        with self._lock:
            coll = self._collections.setdefault(
                (app or self.app, collection), _Collection(app=app or self.app)
            )
            coll.docs[key] = {**json.loads(json.dumps(dict(doc))), "_key": key, "_user": "nobody"}

    def inject_fault(
        self,
        pattern: str,
        status: int = 503,
        *,
        method: Optional[str] = None,
        times: int = 1,
        message: str = "Service Unavailable (injected by the test)",
    ) -> None:
        """The next ``times`` calls whose path matches the regex ``pattern`` fail with ``status``."""
        with self._lock:
            self._faults.append(Fault(method, re.compile(pattern), status, message, times))

    def calls(self, route: str = "", method: Optional[str] = None) -> List[RequestRecord]:
        with self._lock:
            return [
                r
                for r in self.requests
                if route in r.route and (method is None or r.method == method)
            ]

    def simple_request(
        self,
        path: str,
        sessionKey: Optional[str] = None,  # splunk.rest.simpleRequest's own argument names
        getargs: Optional[Mapping[str, Any]] = None,
        postargs: Optional[Mapping[str, Any]] = None,
        method: str = "GET",
        **_: Any,
    ) -> Tuple[Dict[str, Any], bytes]:
        """A stand-in for ``splunk.rest.simpleRequest`` (Splunk's own Python, absent here).

        solnlib.splunkenv uses it to discover splunkd when SPLUNK_HOME is set and no host is
        given (ConfManager inside ``get_log_level``/``get_proxy_dict``); patch
        ``solnlib.splunkenv.simpleRequest`` with this to run those functions unchanged.
        """
        import urllib.error
        import urllib.parse
        import urllib.request

        url = self.uri + path if path.startswith("/") else f"{self.uri}/services/{path}"
        if getargs:
            url += "?" + urllib.parse.urlencode(getargs)
        data = urllib.parse.urlencode(postargs).encode() if postargs else None
        request = urllib.request.Request(url, data=data, method="POST" if data else method)
        if sessionKey:
            request.add_header("Authorization", f"Splunk {sessionKey}")
        context = ssl.create_default_context(cafile=self.ca_cert_path) if self.tls else None
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return {"status": str(response.status)}, response.read()
        except urllib.error.HTTPError as e:
            raise SimpleRequestError(e.code, e.read().decode("utf-8", "replace")) from None

    # ------------------------------------------------------------------ dispatch
    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> Tuple[int, str, bytes, Dict[str, str]]:
        split = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        output_json = query.get("output_mode") == "json"
        record = RequestRecord(method, unquote(split.path), query, 0)
        try:
            params = self._params(method, headers, body, query)
            record.params = tuple(sorted(params)) if isinstance(params, dict) else ()
            owner, app, rest = _namespace(split.path)
            record.route = "/".join(rest)
            if rest[:2] == ["auth", "login"] and method == "POST":
                status, payload = self._login(params)
                return self._finish(record, status, "text/xml; charset=UTF-8", payload)
            if not self._authenticated(headers):
                record.authenticated = False
                raise HttpError(401, "call not properly authenticated", "WARN")
            self._check_fault(method, "/".join(rest))
            if rest == ["authentication", "current-context"] and method == "GET":
                entry = _Entry(
                    "context", "authentication/current-context/context", self._context(headers)
                )
                result: Any = (
                    200,
                    _Feed("current-context", "authentication/current-context", [entry]),
                )
            else:
                result = self._route(method, owner, app, rest, params, query)
        except HttpError as e:
            json_errors = output_json or record.route.startswith("storage/collections/data")
            if e.status == 404 and getattr(e, "unrouted", False):
                with self._lock:
                    self.unhandled.append(record)
            return self._finish(record, e.status, *_error_body(e, json_errors))
        except Exception as e:  # noqa: BLE001 - a stand-in bug: answer like splunkd's internal error
            return self._finish(
                record, 500, *_error_body(HttpError(500, f"stand-in error: {e!r}"), output_json)
            )
        status, payload = result
        if isinstance(payload, _Feed):
            ctype, data = payload.render(self, output_json)
        elif isinstance(payload, (dict, list)):
            ctype, data = "application/json; charset=UTF-8", json.dumps(payload).encode()
        else:
            ctype, data = "text/xml; charset=UTF-8", (payload or "").encode()
        return self._finish(record, status, ctype, data)

    def _finish(self, record, status, ctype, data):
        record.status = status
        with self._lock:
            self.requests.append(record)
        if isinstance(data, str):
            data = data.encode()
        extra = {"WWW-Authenticate": 'Splunk realm="splunkd"'} if status == 401 else {}
        return status, ctype, data, extra

    def _params(self, method, headers, body, query) -> Any:
        ctype = headers.get("Content-Type", "") or headers.get("content-type", "")
        if method in ("POST", "PUT") and body:
            if "json" in ctype:
                try:
                    return json.loads(body.decode("utf-8"))
                except ValueError:
                    raise HttpError(400, "Request body is not valid JSON") from None
            form = {
                k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()
            }
            merged = {k: v for k, v in query.items() if k != "output_mode"}
            merged.update(form)
            return merged
        if method == "POST":
            return {k: v for k, v in query.items() if k != "output_mode"}
        return {}

    def _authenticated(self, headers) -> bool:
        value = headers.get("Authorization") or ""
        if value.startswith("Splunk "):
            return value[len("Splunk ") :].strip() in self.session_keys
        return False

    def _login(self, params) -> Tuple[int, str]:
        user, password = params.get("username"), params.get("password")
        if not user or self.users.get(user) != password:
            raise HttpError(401, "Login failed", "WARN")
        key = secrets.token_hex(32)
        self.session_keys.add(key)
        return 200, f"<response>\n  <sessionKey>{key}</sessionKey>\n</response>\n"

    def _check_fault(self, method: str, route: str) -> None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining == 0 or (fault.method and fault.method != method):
                    continue
                if fault.pattern.search(route):
                    fault.remaining -= 1
                    raise HttpError(fault.status, fault.message)

    def _route(self, method, owner, app, rest, params, query):
        head = rest[0] if rest else ""
        if rest == ["server", "info"] and method == "GET":
            return 200, _Feed("server-info", "server/info", [self._server_info()])
        if rest == ["authentication", "current-context"] and method == "GET":
            content = {"username": "splunk-system-user", "roles": ["admin"], "realname": ""}
            entry = _Entry("context", "authentication/current-context/context", content)
            return 200, _Feed("current-context", "authentication/current-context", [entry])
        if rest == ["kvstore", "status"] and method == "GET":
            content = {"current": {"status": self.kvstore_status, "replicationStatus": "KV Store"}}
            entry = _Entry("status", "kvstore/status/status", content)
            return 200, _Feed("kvstore-status", "kvstore/status", [entry])
        if head == "properties":
            return self._properties(method, app, rest[1:], params)
        if head.startswith("configs") and len(rest) >= 2 and rest[1].startswith("conf-"):
            return self._configs(method, app, rest[1][5:], rest[2:], params, query)
        if rest[:2] == ["storage", "passwords"]:
            return self._passwords_route(method, owner, app, rest, params, query)
        if rest[:3] == ["storage", "collections", "config"]:
            self._kv_ready()
            return self._kv_config(method, app, rest[3:], params, query)
        if rest[:3] == ["storage", "collections", "data"] and len(rest) >= 4:
            self._kv_ready()
            return self._kv_data(method, app, rest[3], rest[4:], params, query)
        error = HttpError(404, f"Not Found: no endpoint for {'/'.join(rest)!r} in the stand-in")
        error.unrouted = True  # type: ignore[attr-defined]
        raise error

    # ------------------------------------------------------------------ server info
    def _server_info(self) -> _Entry:
        content = {
            "build": BUILD,
            "version": VERSION,
            "serverName": self.server_name,
            "host": self.server_name,
            "guid": str(uuid.uuid5(uuid.NAMESPACE_DNS, self.server_name)).upper(),
            "server_roles": list(self.server_roles),
            "kvStoreStatus": self.kvstore_status,
            "os_name": "Linux",
            "product_type": "enterprise",
            "isFree": "0",
        }
        return _Entry("server-info", "server/info/server-info", content, author="system")

    # ------------------------------------------------------------------ confs
    def _visible(self, app: Optional[str], owner_app: str) -> bool:
        return app in (None, "-") or owner_app == app or owner_app in _SYSTEM_APPS

    def _stanza_entry(self, conf: str, name: str, stanza: _Stanza) -> _Entry:
        content: Dict[str, Any] = {"disabled": "0"}
        content.update(stanza.fields)
        content["eai:appName"] = stanza.app
        content["eai:userName"] = stanza.owner
        return _Entry(
            name,
            f"configs/conf-{conf}/{quote(name, safe='')}",
            content,
            app=stanza.app,
            owner=stanza.owner,
            updated=stanza.updated,
            extra_links=("list", "_reload", "edit", "remove", "move", "disable"),
        )

    def _properties(self, method, app, rest, params):
        with self._lock:
            if not rest:
                if method == "POST":
                    conf = params.get("__conf")
                    if not conf:
                        raise HttpError(400, "Missing required argument: __conf")
                    self.declare_conf(conf)
                    return 201, _Feed("properties", "properties", [])
                entries = [
                    _Entry(c, f"properties/{quote(c, safe='')}", {})
                    for c in sorted(self._conf_files)
                ]
                return 200, _Feed("properties", "properties", entries)
            conf = rest[0]
            if conf not in self._conf_files:
                raise HttpError(404, f"Could not find object id={conf}")
            stanzas = self._confs.get(conf, {})
            if len(rest) == 1:
                entries = [
                    _Entry(n, f"properties/{quote(conf, safe='')}/{quote(n, safe='')}", {})
                    for n, s in stanzas.items()
                    if self._visible(app, s.app)
                ]
                return 200, _Feed(conf, f"properties/{conf}", entries)
            name = rest[1]
            stanza = stanzas.get(name)
            if method == "POST":
                if stanza is None:
                    stanza = stanzas.setdefault(name, _Stanza(app or self.app, "nobody", {}))
                stanza.fields.update({k: _text(v) for k, v in params.items()})
                return 200, _Feed(name, f"properties/{conf}/{name}", [])
            if stanza is None or not self._visible(app, stanza.app):
                raise HttpError(404, f"Could not find object id={name}")
            if len(rest) == 3:
                if rest[2] not in stanza.fields:
                    raise HttpError(404, f"Could not find object id={rest[2]}")
                return 200, stanza.fields[rest[2]]
            entries = [
                _Entry(k, f"properties/{conf}/{name}/{quote(k, safe='')}", {"$text": v})
                for k, v in stanza.fields.items()
            ]
            return 200, _Feed(name, f"properties/{conf}/{name}", entries)

    def _configs(self, method, app, conf, rest, params, query):
        base = f"configs/conf-{conf}"
        with self._lock:
            stanzas = self._confs.get(conf, {})
            if not rest or rest == [""]:
                if method == "GET":
                    entries = [
                        self._stanza_entry(conf, n, s)
                        for n, s in stanzas.items()
                        if self._visible(app, s.app)
                    ]
                    return 200, self._page(conf, base, _search(entries, query.get("search")), query)
                if method == "POST":
                    name = params.pop("name", None)
                    if not name:
                        raise HttpError(400, "Missing required argument: name")
                    if name in stanzas:
                        raise HttpError(409, f"An object with name={name} already exists")
                    self.declare_conf(conf)
                    stanza = _Stanza(app or self.app, "nobody", _fields(params))
                    self._confs[conf][name] = stanza
                    return 201, _Feed(conf, base, [self._stanza_entry(conf, name, stanza)])
                raise HttpError(405, f"Method {method} not allowed on {base}")
            if rest == ["_reload"]:
                return 200, _Feed(conf, base, [])
            name = rest[0]
            stanza = stanzas.get(name)
            if stanza is None or not self._visible(app, stanza.app):
                raise HttpError(404, f"Could not find object id={name}")
            action = rest[1] if len(rest) > 1 else ""
            if method == "GET" and not action:
                return 200, _Feed(conf, base, [self._stanza_entry(conf, name, stanza)])
            if method == "POST" and action in ("", "enable", "disable"):
                if action:
                    stanza.fields["disabled"] = "1" if action == "disable" else "0"
                else:
                    if "name" in params:
                        raise HttpError(400, "Argument 'name' is not supported by this handler.")
                    stanza.fields.update(_fields(params))
                stanza.updated = _now_iso()
                return 200, _Feed(conf, base, [self._stanza_entry(conf, name, stanza)])
            if method == "DELETE" and not action:
                del stanzas[name]
                remaining = [self._stanza_entry(conf, n, s) for n, s in stanzas.items()]
                return 200, _Feed(conf, base, remaining)
            raise HttpError(405, f"Method {method} not allowed on {base}/{name}/{action}")

    def _page(self, title, base, entries, query) -> _Feed:
        offset = int(query.get("offset") or 0)
        count = int(query.get("count") or 30)
        total = len(entries)
        page = entries[offset:] if count <= 0 else entries[offset : offset + count]
        return _Feed(title, base, page, total=total, offset=offset, per_page=count)

    # ------------------------------------------------------------------ storage/passwords
    def _password_entry(self, p: _Password) -> _Entry:
        content = {
            "clear_password": p.clear,
            "encr_password": "$7$" + secrets.token_urlsafe(24),
            "password": "********",
            "realm": p.realm or None,
            "username": p.username,
        }
        return _Entry(
            p.name,
            "storage/passwords/" + quote(p.name, safe=""),
            content,
            app=p.app,
            owner=p.owner,
            extra_links=("list", "edit", "remove"),
        )

    def _passwords_route(self, method, owner, app, rest, params, query):
        base = "storage/passwords"
        # Everything after storage/passwords/ is the name, slashes included: solnlib addresses
        # entities by their unquoted name, and a UCC realm holds a "/" (configs/conf-...).
        name = unquote("/".join(rest[2:])) if len(rest) > 2 else ""
        with self._lock:
            if not name:
                if method == "GET":
                    entries = [
                        self._password_entry(p)
                        for p in self._passwords.values()
                        if self._visible(app, p.app)
                    ]
                    entries = _search(entries, query.get("search"))
                    return 200, self._page("passwords", base, entries, query)
                if method == "POST":
                    user, password = params.get("name"), params.get("password")
                    if not user or password is None:
                        raise HttpError(400, "Missing required arguments: name, password")
                    entry = _Password(params.get("realm") or "", user, password, app or self.app)
                    if entry.name in self._passwords:
                        raise HttpError(409, f"An object with name={entry.name} already exists")
                    self._passwords[entry.name] = entry
                    return 201, _Feed("passwords", base, [self._password_entry(entry)])
                raise HttpError(405, f"Method {method} not allowed on {base}")
            found = self._passwords.get(name) or self._passwords.get(name + ":")
            if found is None and ":" not in name.rstrip(":"):
                found = self._passwords.get(":" + name.rstrip(":") + ":")
            if found is None or not self._visible(app, found.app):
                raise HttpError(404, f"Could not find object id={name}")
            if method == "GET":
                return 200, _Feed("passwords", base, [self._password_entry(found)])
            if method == "POST":
                if "password" not in params:
                    raise HttpError(400, "Missing required argument: password")
                found.clear = params["password"]
                return 200, _Feed("passwords", base, [self._password_entry(found)])
            if method == "DELETE":
                del self._passwords[found.name]
                return 200, _Feed("passwords", base, [])
            raise HttpError(405, f"Method {method} not allowed on {base}/{name}")

    # ------------------------------------------------------------------ KV store
    def _kv_ready(self) -> None:
        if self.kvstore_status != "ready":
            raise HttpError(503, "KV Store is initializing. Please try again later.")

    def _collection_entry(self, name: str, coll: _Collection) -> _Entry:
        content: Dict[str, Any] = {"disabled": "0", "profilingEnabled": "false", "replicate": "0"}
        content.update({f"field.{k}": v for k, v in coll.fields.items()})
        content.update({f"accelerated_fields.{k}": v for k, v in coll.accelerated.items()})
        content["eai:appName"] = coll.app
        content["eai:userName"] = "nobody"
        return _Entry(name, f"storage/collections/config/{quote(name, safe='')}", content, coll.app)

    def _kv_config(self, method, app, rest, params, query):
        base = "storage/collections/config"
        with self._lock:
            visible = {
                name: coll
                for (owner_app, name), coll in self._collections.items()
                if self._visible(app, owner_app)
            }
            if not rest or rest == [""]:
                if method == "GET":
                    entries = [self._collection_entry(n, c) for n, c in visible.items()]
                    entries = _search(entries, query.get("search"))
                    return 200, self._page("collections-conf", base, entries, query)
                if method == "POST":
                    name = params.get("name")
                    if not name or not re.match(r"^\w+$", name):
                        raise HttpError(400, f"Invalid collection name {name!r}")
                    if (app or self.app, name) in self._collections:
                        raise HttpError(409, f"An object with name={name} already exists")
                    coll = _Collection(app=app or self.app)
                    self._apply_collection_params(coll, params)
                    self._collections[(coll.app, name)] = coll
                    return 201, _Feed(
                        "collections-conf", base, [self._collection_entry(name, coll)]
                    )
                raise HttpError(405, f"Method {method} not allowed on {base}")
            name = rest[0]
            coll = visible.get(name)
            if coll is None:
                raise HttpError(404, f"Could not find object id={name}")
            if method == "GET":
                return 200, _Feed("collections-conf", base, [self._collection_entry(name, coll)])
            if method == "POST":
                self._apply_collection_params(coll, params)
                return 200, _Feed("collections-conf", base, [self._collection_entry(name, coll)])
            if method == "DELETE":
                del self._collections[(coll.app, name)]
                return 200, _Feed("collections-conf", base, [])
            raise HttpError(405, f"Method {method} not allowed on {base}/{name}")

    @staticmethod
    def _apply_collection_params(coll: _Collection, params: Mapping[str, str]) -> None:
        for key, value in params.items():
            if key.startswith("field."):
                coll.fields[key[6:]] = value
            elif key.startswith("accelerated_fields."):
                coll.accelerated[key[19:]] = value

    def _kv_data(self, method, app, name, rest, params, query):
        with self._lock:
            coll = None
            for (owner_app, coll_name), candidate in self._collections.items():
                if coll_name == name and self._visible(app, owner_app):
                    coll = candidate
                    break
            if coll is None:
                raise HttpError(404, f"Collection '{name}' does not exist")
            key = unquote(rest[0]) if rest and rest[0] else ""
            if key == "batch_save" and method == "POST":
                if not isinstance(params, list):
                    raise HttpError(400, "batch_save expects a JSON array of documents")
                keys = [self._kv_save(coll, doc) for doc in params]
                return 200, keys
            if key == "batch_find" and method == "POST":
                if not isinstance(params, list):
                    raise HttpError(400, "batch_find expects a JSON array of queries")
                return 200, [self._kv_query(coll, q) for q in params]
            if not key:
                if method == "GET":
                    q = {k: query[k] for k in ("query", "limit", "skip", "sort") if k in query}
                    if "query" in q:
                        q["query"] = json.loads(q["query"])
                    return 200, self._kv_query(coll, q)
                if method == "POST":
                    if not isinstance(params, dict):
                        raise HttpError(400, "Expected a JSON object")
                    if params.get("_key") in coll.docs:
                        raise HttpError(409, "A document with the same key already exists")
                    return 201, {"_key": self._kv_save(coll, params)}
                if method == "DELETE":
                    selector = json.loads(query["query"]) if query.get("query") else {}
                    for doc in self._kv_query(coll, {"query": selector}):
                        coll.docs.pop(doc["_key"], None)
                    return 200, ""
                raise HttpError(405, f"Method {method} not allowed")
            if method == "GET":
                if key not in coll.docs:
                    raise HttpError(404, "Could not find object.")
                return 200, dict(coll.docs[key])
            if method == "POST":
                if key not in coll.docs:
                    raise HttpError(404, "Could not find object.")
                if not isinstance(params, dict):
                    raise HttpError(400, "Expected a JSON object")
                return 200, {"_key": self._kv_save(coll, {**params, "_key": key})}
            if method == "DELETE":
                if key not in coll.docs:
                    raise HttpError(404, "Could not find object.")
                del coll.docs[key]
                return 200, ""
            raise HttpError(405, f"Method {method} not allowed")

    @staticmethod
    def _kv_save(coll: _Collection, doc: Mapping[str, Any]) -> str:
        if not isinstance(doc, Mapping):
            raise HttpError(400, "Documents must be JSON objects")
        key = str(doc.get("_key") or secrets.token_hex(12))
        stored = {k: v for k, v in doc.items() if k not in ("_key", "_user")}
        coll.docs[key] = {**json.loads(json.dumps(stored)), "_key": key, "_user": "nobody"}
        return key

    @staticmethod
    def _kv_query(coll: _Collection, q: Mapping[str, Any]) -> List[Dict[str, Any]]:
        selector = q.get("query") or {}
        if not isinstance(selector, dict) or any(k.startswith("$") for k in selector):
            raise HttpError(400, "The stand-in supports equality queries only")
        docs = [d for d in coll.docs.values() if all(d.get(k) == v for k, v in selector.items())]
        skip, limit = int(q.get("skip") or 0), int(q.get("limit") or 0)
        docs = docs[skip:]
        return [dict(d) for d in (docs[:limit] if limit > 0 else docs)]


# ---------------------------------------------------------------------- rendering
class _Feed:
    def __init__(self, title, base, entries, *, total=None, offset=0, per_page=30):
        self.title, self.base, self.entries = title, base, entries
        self.total = len(entries) if total is None else total
        self.offset, self.per_page = offset, per_page

    def render(self, standin: SplunkdStandIn, as_json: bool) -> Tuple[str, bytes]:
        return (
            ("application/json; charset=UTF-8", self._json(standin).encode())
            if as_json
            else ("text/xml; charset=UTF-8", self._xml(standin).encode())
        )

    @staticmethod
    def _ns_prefix(entry: _Entry) -> str:
        if entry.app == "system" and entry.sharing == "system":
            return "/services/"
        return f"/servicesNS/{entry.owner}/{entry.app}/"

    @staticmethod
    def _acl(entry: _Entry) -> Dict[str, Any]:
        return {
            "app": entry.app,
            "can_change_perms": "1",
            "can_list": "1",
            "can_share_app": "1",
            "can_share_global": "1",
            "can_share_user": "0",
            "can_write": "1",
            "modifiable": "1",
            "owner": entry.owner,
            "perms": {"read": ["*"], "write": ["admin", "sc_admin"]},
            "removable": "0",
            "sharing": entry.sharing,
        }

    def _links(self, entry: _Entry) -> Dict[str, str]:
        href = self._ns_prefix(entry) + entry.path
        links = {"alternate": href}
        for rel in entry.extra_links:
            links[rel] = href if rel in ("list", "edit", "remove") else f"{href}/{rel}"
        return links

    def _xml(self, standin: SplunkdStandIn) -> str:
        out = [
            _ATOM_HEAD,
            f"<title>{escape(self.title)}</title>",
            f"<id>{escape(standin.uri)}/services/{escape(self.base)}</id>",
            f"<updated>{_now_iso()}</updated>",
            f'<generator build="{BUILD}" version="{VERSION}"/>',
            "<author><name>Splunk</name></author>",
            f'<link href="/services/{escape(self.base)}/_new" rel="create"/>',
            f"<opensearch:totalResults>{self.total}</opensearch:totalResults>",
            f"<opensearch:itemsPerPage>{self.per_page}</opensearch:itemsPerPage>",
            f"<opensearch:startIndex>{self.offset}</opensearch:startIndex>",
            "<s:messages/>",
        ]
        for entry in self.entries:
            links = self._links(entry)
            out.append("<entry>")
            out.append(f"<title>{escape(entry.name)}</title>")
            out.append(f"<id>{escape(standin.uri + links['alternate'])}</id>")
            out.append(f"<updated>{entry.updated}</updated>")
            for rel, href in links.items():
                out.append(f"<link href={quoteattr(href)} rel={quoteattr(rel)}/>")
            out.append(f"<author><name>{escape(entry.author)}</name></author>")
            if "$text" in entry.content:
                out.append(f'<content type="text">{escape(str(entry.content["$text"]))}</content>')
            else:
                content = dict(entry.content)
                content["eai:acl"] = self._acl(entry)
                out.append(f'<content type="text/xml">{_xml_value(content)}</content>')
            out.append("</entry>")
        out.append("</feed>\n")
        return "\n".join(out)

    def _json(self, standin: SplunkdStandIn) -> str:
        entries = []
        for entry in self.entries:
            links = self._links(entry)
            content = dict(entry.content)
            if "$text" in content:
                content = {"value": content["$text"]}
            content.setdefault("eai:acl", None)
            entries.append(
                {
                    "name": entry.name,
                    "id": standin.uri + links["alternate"],
                    "updated": entry.updated,
                    "links": links,
                    "author": entry.author,
                    "acl": self._acl(entry),
                    "content": content,
                }
            )
        return json.dumps(
            {
                "links": {"create": f"/services/{self.base}/_new"},
                "origin": f"{standin.uri}/services/{self.base}",
                "updated": _now_iso(),
                "generator": {"build": BUILD, "version": VERSION},
                "entry": entries,
                "paging": {"total": self.total, "perPage": self.per_page, "offset": self.offset},
                "messages": [],
            }
        )


def _xml_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Mapping):
        keys = "".join(
            f"<s:key name={quoteattr(str(k))}>{_xml_value(v)}</s:key>" for k, v in value.items()
        )
        return f"<s:dict>{keys}</s:dict>"
    if isinstance(value, (list, tuple)):
        return (
            "<s:list>" + "".join(f"<s:item>{_xml_value(v)}</s:item>" for v in value) + "</s:list>"
        )
    return escape(str(value))


def _error_body(error: HttpError, as_json: bool) -> Tuple[str, bytes]:
    if as_json:
        body = json.dumps({"messages": [{"type": error.kind, "text": error.message}]})
        return "application/json; charset=UTF-8", body.encode()
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<response>\n  <messages>\n'
        f'    <msg type="{error.kind}">{escape(error.message)}</msg>\n'
        "  </messages>\n</response>\n"
    )
    return "text/xml; charset=UTF-8", xml.encode()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def _fields(params: Mapping[str, Any]) -> Dict[str, str]:
    return {k: _text(v) for k, v in params.items() if k not in ("output_mode",)}


def _search(entries: List[_Entry], expression: Optional[str]) -> List[_Entry]:
    """splunkd's ``search`` filter: space-separated terms, all must match, case-insensitively.

    ``field=value`` matches when that field (``name``, a content key or ``eai:acl.<key>``)
    contains the value; a bare term matches when any field does. ``\\=`` is a literal ``=``.
    """
    if not expression:
        return entries
    terms = [t for t in re.split(r"(?<!\\)\s+", expression.strip()) if t]

    def fields_of(entry: _Entry) -> Dict[str, str]:
        found = {"name": entry.name, "title": entry.name}
        found.update({k: _text(v) for k, v in entry.content.items() if not isinstance(v, dict)})
        found.update({f"eai:acl.{k}": _text(v) for k, v in _Feed._acl(entry).items()})
        return found

    def matches(entry: _Entry, term: str) -> bool:
        values = fields_of(entry)
        parts = re.split(r"(?<!\\)=", term, maxsplit=1)
        if len(parts) == 2:
            key, needle = parts[0], parts[1].replace("\\=", "=").lower()
            return needle in values.get(key, "").lower()
        needle = term.replace("\\=", "=").lower()
        return any(needle in v.lower() for v in values.values())

    return [e for e in entries if all(matches(e, t) for t in terms)]


def _namespace(path: str) -> Tuple[Optional[str], Optional[str], List[str]]:
    parts = [unquote(p) for p in path.strip("/").split("/")]
    # storage/passwords names keep their own quoting: re-split the raw path for them.
    raw = path.strip("/").split("/")
    if parts and parts[0] == "services":
        owner, app, rest, raw_rest = None, None, parts[1:], raw[1:]
    elif parts and parts[0] == "servicesNS" and len(parts) >= 3:
        owner, app, rest, raw_rest = parts[1], parts[2], parts[3:], raw[3:]
    else:
        raise HttpError(404, f"Not Found: {path}")
    if raw_rest[:2] == ["storage", "passwords"]:
        rest = ["storage", "passwords", *raw_rest[2:]]
    while rest and rest[-1] == "" and len(rest) > 1:
        rest.pop()
    return owner, app, rest


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ssl_context: Optional[ssl.SSLContext] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_connections: set = set()
        self.connections_lock = threading.Lock()
        self.accepted = 0  # connections accepted (TLS handshakes on the HTTPS flavour)

    def finish_request(self, request, client_address):  # runs in the worker thread
        if self.ssl_context is not None:
            request.settimeout(10)
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        with self.connections_lock:
            self.open_connections.add(request)
            self.accepted += 1
        try:
            super().finish_request(request, client_address)
        finally:
            with self.connections_lock:
                self.open_connections.discard(request)

    def close_connections(self) -> None:
        """Hang up on kept-alive clients, so no handler thread outlives the server."""
        with self.connections_lock:
            sockets = list(self.open_connections)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):  # quiet: clients hang up all the time
        pass


class _Handler(BaseHTTPRequestHandler):
    standin: SplunkdStandIn
    protocol_version = "HTTP/1.1"
    server_version = "Splunkd"
    sys_version = ""
    timeout = 10

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, ctype, data, extra = self.standin.handle(
            self.command, self.path, self.headers, body
        )
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store, max-age=0, must-revalidate, no-cache")
        for key, value in extra.items():
            self.send_header(key, value)
        # splunkd echoes the client's choice; splunklib's own handler (Connection: Close) reads
        # the body only after closing the connection, which needs the response detached.
        wants_close = (self.headers.get("Connection") or "").lower() == "close"
        self.send_header("Connection", "Close" if wants_close else "Keep-Alive")
        if wants_close:
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


def parse_conf(text: str) -> Dict[str, Dict[str, str]]:
    """A .conf file as splunkd reads it: stanzas of key = value, # comments, \\ continuations."""
    stanzas: Dict[str, Dict[str, str]] = {}
    current = stanzas.setdefault("default", {})
    lines = iter(text.splitlines())
    for line in lines:
        while line.endswith("\\"):
            line = line[:-1] + "\n" + next(lines, "")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stanzas.setdefault(stripped[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key.strip()] = value.strip()
    if not stanzas["default"]:
        del stanzas["default"]
    return stanzas


# ====================================================================== modular input protocol
def input_definition_xml(
    *,
    server_uri: str,
    session_key: str,
    checkpoint_dir: str,
    stanzas: Mapping[str, Mapping[str, Any]],
    server_host: str = "splunkd-standin",
    app: str = APP,
) -> str:
    """The XML splunkd writes on a modular input's stdin to run it.

    ``stanzas`` maps ``"<scheme>://<name>"`` to the input's parameters as splunkd passes them
    (inputs.conf values plus host, index, interval, python.version...).
    """
    root = ET.Element("input")
    ET.SubElement(root, "server_host").text = server_host
    ET.SubElement(root, "server_uri").text = server_uri
    ET.SubElement(root, "session_key").text = session_key
    ET.SubElement(root, "checkpoint_dir").text = checkpoint_dir
    config = ET.SubElement(root, "configuration")
    for name, params in stanzas.items():
        stanza = ET.SubElement(config, "stanza", {"name": name, "app": app})
        for key, value in params.items():
            ET.SubElement(stanza, "param", {"name": key}).text = _text(value)
    return ET.tostring(root, encoding="unicode")


def validation_definition_xml(
    *,
    server_uri: str,
    session_key: str,
    checkpoint_dir: str,
    name: str,
    params: Mapping[str, Any],
    server_host: str = "splunkd-standin",
) -> str:
    """The XML splunkd writes on stdin for ``--validate-arguments`` when an input is saved."""
    root = ET.Element("items")
    ET.SubElement(root, "server_host").text = server_host
    ET.SubElement(root, "server_uri").text = server_uri
    ET.SubElement(root, "session_key").text = session_key
    ET.SubElement(root, "checkpoint_dir").text = checkpoint_dir
    item = ET.SubElement(root, "item", {"name": name})
    for key, value in params.items():
        ET.SubElement(item, "param", {"name": key}).text = _text(value)
    return ET.tostring(root, encoding="unicode")


@dataclass
class StreamedEvent:
    data: str
    time: Optional[str]
    index: Optional[str]
    sourcetype: Optional[str]
    source: Optional[str]
    host: Optional[str]
    stanza: Optional[str]
    done: bool
    unbroken: bool


def parse_event_stream(text: str) -> List[StreamedEvent]:
    """Events from a modular input's XML stream, as splunkd reads them.

    Tolerates a stream cut short (a killed process): complete ``<event>`` elements are kept,
    a trailing partial one is dropped, as splunkd would.
    """
    parser = ET.XMLPullParser(events=("end",))
    events: List[StreamedEvent] = []
    try:
        parser.feed(text)
        for _, elem in parser.read_events():
            if elem.tag == "event":
                events.append(
                    StreamedEvent(
                        data=elem.findtext("data") or "",
                        time=elem.findtext("time"),
                        index=elem.findtext("index"),
                        sourcetype=elem.findtext("sourcetype"),
                        source=elem.findtext("source"),
                        host=elem.findtext("host"),
                        stanza=elem.get("stanza"),
                        done=elem.find("done") is not None,
                        unbroken=elem.get("unbroken") == "1",
                    )
                )
    except ET.ParseError:
        pass  # a torn tail: keep what was complete
    return events


def parse_scheme(text: str) -> Dict[str, Any]:
    """The ``--scheme`` XML as a dict: title, description, flags and arguments by name."""
    root = ET.fromstring(text)  # noqa: S314 - our own script's output
    args = {}
    for arg in root.iter("arg"):
        args[arg.get("name")] = {
            "title": arg.findtext("title"),
            "description": arg.findtext("description"),
            "data_type": arg.findtext("data_type"),
            "required_on_create": arg.findtext("required_on_create"),
            "required_on_edit": arg.findtext("required_on_edit"),
        }
    return {
        "title": root.findtext("title"),
        "description": root.findtext("description"),
        "use_external_validation": root.findtext("use_external_validation"),
        "streaming_mode": root.findtext("streaming_mode"),
        "use_single_instance": root.findtext("use_single_instance"),
        "args": args,
    }


def parse_validation_error(text: str) -> Optional[str]:
    """The message of ``<error><message>...</message></error>``, or None."""
    text = text.strip()
    if not text:
        return None
    try:
        return ET.fromstring(text).findtext("message")  # noqa: S314 - our script's output
    except ET.ParseError:
        return None


def modinput_environment(
    splunk_home: str, *, server_name: str = "splunkd-standin"
) -> Dict[str, str]:
    """The environment splunkd starts a scripted/modular input with (the parts that matter).

    Nothing leaks in from the test process: no proxy variables, no PYTHONPATH.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", splunk_home),
        "LANG": "C.UTF-8",
        "SPLUNK_HOME": splunk_home,
        "SPLUNK_ETC": os.path.join(splunk_home, "etc"),
        "SPLUNK_DB": os.path.join(splunk_home, "var", "lib", "splunk"),
        "SPLUNK_SERVER_NAME": server_name,
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("TMPDIR", "SYSTEMROOT"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def make_splunk_home(root: str, app_dir: Optional[str] = None, app: str = APP) -> Dict[str, str]:
    """A minimal $SPLUNK_HOME: etc/apps/<app> (a copy of ``app_dir``), var/log/splunk, modinputs."""
    paths = {
        "splunk_home": root,
        "log_dir": os.path.join(root, "var", "log", "splunk"),
        "checkpoint_dir": os.path.join(root, "var", "lib", "splunk", "modinputs"),
        "app_dir": os.path.join(root, "etc", "apps", app),
    }
    os.makedirs(paths["log_dir"], exist_ok=True)
    os.makedirs(paths["checkpoint_dir"], exist_ok=True)
    if app_dir is not None and not os.path.isdir(paths["app_dir"]):
        shutil.copytree(
            app_dir, paths["app_dir"], ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    return paths


class ModularInputProcess:
    """A modular input script started the way splunkd starts it.

    splunkd runs ``<python> $SPLUNK_HOME/etc/apps/<app>/bin/<script>.py [--scheme |
    --validate-arguments]`` from the app's bin directory with SPLUNK_HOME set, writes the XML
    definition on stdin and closes it, reads the XML event stream from stdout and copies stderr
    into splunkd.log. ``python_args`` defaults to ``-S``: no site-packages, so only the
    standard library and the app's own lib/ (put first on sys.path by import_declare_test) can
    be imported, as under Splunk's Python. stdout/stderr are collected as they arrive.
    """

    def __init__(
        self,
        script: str,
        *,
        splunk_home: str,
        args: Sequence[str] = (),
        stdin: str = "",
        python: str = sys.executable,
        python_args: Sequence[str] = ("-S",),
        env: Optional[Mapping[str, str]] = None,
        stdout_cut: Optional[Tuple[int, float]] = None,
    ) -> None:
        """``stdout_cut=(n, pause)``: read the first ``n`` bytes of the event stream, then
        read no more and close it ``pause`` seconds later, as splunkd restarting mid-run."""
        self.script = script
        self.args = list(args)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [python, *python_args, script, *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=os.path.dirname(os.path.abspath(script)),
            env=dict(env) if env is not None else modinput_environment(splunk_home),
        )
        self._out: List[bytes] = []
        self._err: List[bytes] = []
        out_args: Tuple[Any, ...] = (self.proc.stdout, self._out)
        self._readers = [
            threading.Thread(
                target=self._pump if stdout_cut is None else self._pump_cut,
                args=out_args if stdout_cut is None else (*out_args, *stdout_cut),
                daemon=True,
            ),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self._err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(stdin.encode("utf-8"))
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    @staticmethod
    def _pump(stream: Any, sink: List[bytes]) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            sink.append(chunk)

    @staticmethod
    def _pump_cut(stream: Any, sink: List[bytes], limit: int, pause: float) -> None:
        got = 0
        while got < limit:
            chunk = stream.read1(min(65536, limit - got))
            if not chunk:
                return
            sink.append(chunk)
            got += len(chunk)
        time.sleep(pause)
        stream.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stdout_so_far(self) -> str:
        return b"".join(list(self._out)).decode("utf-8", "replace")

    def events_so_far(self) -> List[StreamedEvent]:
        return parse_event_stream(self.stdout_so_far())

    def send_signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 60.0) -> ModinputRun:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise
        finally:
            for reader in self._readers:
                reader.join(timeout=10)
        return ModinputRun(
            args=self.args,
            returncode=self.proc.returncode,
            stdout=b"".join(self._out).decode("utf-8", "replace"),
            stderr=b"".join(self._err).decode("utf-8", "replace"),
            seconds=round(time.monotonic() - self.started, 3),
        )

    def __enter__(self) -> ModularInputProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@dataclass
class ModinputRun:
    args: List[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def events(self) -> List[StreamedEvent]:
        return parse_event_stream(self.stdout)


def run_modular_input(script: str, *, splunk_home: str, timeout: float = 60.0, **kw) -> ModinputRun:
    """Start a modular input like splunkd and wait for it (see ModularInputProcess)."""
    with ModularInputProcess(script, splunk_home=splunk_home, **kw) as process:
        return process.wait(timeout)


def find_secrets(secrets_: Iterable[str], texts: Mapping[str, str]) -> List[Tuple[str, str]]:
    """(where, which) for every secret, or a distinctive tail of one, found in ``texts``.

    A long secret is also looked for by its last 12 characters, which catches a truncated or
    partially masked copy.
    """
    found = []
    for secret in {s for s in secrets_ if s and len(s) >= 6}:
        needles = {secret}
        if len(secret) >= 24:
            needles.add(secret[-12:])
        for where, text in texts.items():
            if any(needle in text for needle in needles):
                found.append((where, secret[:3] + "..."))
    return found


def read_tree(path: str) -> Dict[str, str]:
    """{path: text} of every file under ``path`` (logs, for secret scans)."""
    texts = {}
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            full = os.path.join(dirpath, name)
            with open(full, encoding="utf-8", errors="replace") as handle:
                texts[full] = handle.read()
    return texts


def snapshot_tree(path: str, *, ignore: Callable[[str], bool] = lambda p: False) -> Dict[str, Any]:
    """{relative path: (size, mtime_ns)} of every file under ``path``, for write checks."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, path)
            if ignore(rel):
                continue
            st = os.stat(full)
            found[rel] = (st.st_size, st.st_mtime_ns)
    return found


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


__all__ = [
    "APP",
    "CRED_END_MARK",
    "CRED_SEP",
    "ENCRYPTED",
    "ModinputRun",
    "ModularInputProcess",
    "RequestRecord",
    "SplunkdStandIn",
    "StreamedEvent",
    "credential_realm",
    "find_secrets",
    "input_definition_xml",
    "make_splunk_home",
    "modinput_environment",
    "parse_conf",
    "parse_event_stream",
    "parse_scheme",
    "parse_validation_error",
    "password_name",
    "read_tree",
    "run_modular_input",
    "snapshot_tree",
    "validation_definition_xml",
    "wait_until",
]
