"""A Splunk Web stand-in: the built add-on's setup pages, served as Splunk Web serves them.

Splunk cannot be installed here, so a real browser needs two stand-ins to show the add-on's UCC
pages (Configuration, Inputs) the way an admin meets them:

* :class:`SplunkWebStandIn` (Splunk Web, HTTP on 127.0.0.1): the app's views at
  ``/en-US/app/<app>/<view>`` answered with the BUILT ``appserver/templates/base.html``,
  unchanged; its static files (``entry_page.js``, ``globalConfig.json``...) from the built
  ``appserver/static``; the Splunk Web pieces that HTML and UCC's JavaScript load (the ``$C``
  config script, ``i18n.js`` and the i18n catalog, ``build/api/layout.js`` for the Splunk bar,
  ``get_theme.js``); and Splunk Web's proxy to splunkd, ``/en-US/splunkd/__raw/...``, which
  checks the CSRF form key against the cookie it set and adds the admin's session key.
  Any other path is answered 404 and listed in :attr:`SplunkWebStandIn.unanswered`.
* :class:`SplunkdWithHandlers`, the splunkd stand-in (tests/standins/splunkd.py) plus what the
  pages reach through that proxy: the app's ``admin_external`` endpoints from its restmap.conf,
  each run by the add-on's own handler script (``bin/<restRoot>_rh_*.py`` with the built lib/)
  in a persistent process, as splunkd runs them (:class:`HandlerProcess`); modular inputs
  (``data/inputs/<scheme>``, kept in inputs.conf; a create or edit first runs the input's script
  with ``--validate-arguments``, splunkd's external validation, and a refusal is not saved), the
  index list and the search jobs behind the pages' footer (the app's build).

The handler processes run with Splunk's private ``splunk.admin``/``splunk.rest`` modules from
``tests/standins/splunkweb_python/`` (absent outside Splunk), SPLUNK_HOME set to a scratch
folder whose ``etc/apps/<app>`` is a copy of the built add-on, and nothing of the test's
environment (no proxy variables, no site-packages: ``python -S``).
"""

from __future__ import annotations

import http.client
import json
import mimetypes
import posixpath
import re
import secrets
import select
import ssl
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, quote, unquote, urlsplit

from tests.standins.splunkd import (
    APP,
    HttpError,
    SplunkdStandIn,
    _Entry,
    _Feed,
    _search,
    make_splunk_home,
    modinput_environment,
    parse_conf,
    parse_validation_error,
    validation_definition_xml,
)

SPLUNK_PYTHON = Path(__file__).resolve().parent / "splunkweb_python"
LOCALE = "en-US"
USERNAME = "admin"
# Splunk's serialized form of the server's time zone (here UTC), which $C carries.
ZONEINFO_UTC = "### SERIALIZED TIMEZONE FORMAT 1.0;Y0 NW 55 54 43;$"
_TRUE = ("1", "true", "t", "yes", "y")
INDEXES = ("main", "history", "summary", "ringcentral", "_internal", "_audit")


# --------------------------------------------------------------------------- handler processes
class HandlerProcess:
    """One ``admin_external`` handler script, kept running (restmap ``handlerpersistentmode``).

    Requests go one at a time, as JSON lines, to ``splunk.admin.init`` (the stand-in module);
    the handler's stderr is appended to ``$SPLUNK_HOME/var/log/splunk/python.log``.
    """

    def __init__(self, script: Path, env: Mapping[str, str], log_path: Path) -> None:
        self.script = script
        self._log = open(log_path, "ab")  # closed in stop()
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            [sys.executable, "-S", str(script)],
            cwd=str(script.parent),
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )

    def call(self, request: Mapping[str, Any], timeout: float = 60.0) -> Dict[str, Any]:
        with self._lock:
            process = self._process
            assert process.stdin is not None and process.stdout is not None
            if process.poll() is not None:
                raise HttpError(500, f"handler {self.script.name} exited ({process.returncode})")
            process.stdin.write((json.dumps(request) + "\n").encode())
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], timeout)
            if not ready:
                raise HttpError(500, f"handler {self.script.name} gave no answer in {timeout}s")
            line = process.stdout.readline()
            if not line:
                raise HttpError(500, f"handler {self.script.name} exited mid-request")
            return dict(json.loads(line))

    def stop(self) -> None:
        process = self._process
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout:
            process.stdout.close()
        self._log.close()


@dataclass
class SearchJob:
    sid: str
    search: str
    results: List[Dict[str, Any]]


class SplunkdWithHandlers(SplunkdStandIn):
    """splunkd with the built app installed: its confs, its REST handlers, its inputs.

    ``app_dir`` is the built add-on (output/<app>); it is copied to ``splunk_home``/etc/apps.
    """

    def __init__(self, app_dir: Path, splunk_home: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.splunk_home = Path(splunk_home)
        paths = make_splunk_home(str(self.splunk_home), str(app_dir), self.app)
        self.app_dir = Path(paths["app_dir"])
        self.log_dir = Path(paths["log_dir"])
        restmap = parse_conf((self.app_dir / "default" / "restmap.conf").read_text())
        # endpoint name -> handler script, from [admin_external:<name>] stanzas
        self.endpoints: Dict[str, Path] = {
            name.split(":", 1)[1]: self.app_dir / "bin" / values["handlerfile"]
            for name, values in restmap.items()
            if name.startswith("admin_external:")
        }
        self.handler_calls: List[Tuple[str, str, str]] = []  # (endpoint, action, entity)
        self.searches: List[str] = []
        self.validation_errors: List[str] = []  # what the input script refused, as splunkd said
        self._handlers: Dict[str, HandlerProcess] = {}
        self._jobs: Dict[str, SearchJob] = {}

    def start(self) -> SplunkdWithHandlers:
        super().start()
        self.load_app(str(self.app_dir), self.app)
        self.declare_conf("inputs")
        return self

    def stop(self) -> None:
        with self._lock:
            handlers, self._handlers = list(self._handlers.values()), {}
        for handler in handlers:
            handler.stop()
        super().stop()

    # ------------------------------------------------------------------ test-side API
    def inputs(self, scheme: str) -> Dict[str, Dict[str, str]]:
        """The inputs.conf stanzas ``<scheme>://<name>``, by name."""
        with self._lock:
            prefix = f"{scheme}://"
            return {
                name[len(prefix) :]: dict(stanza.fields)
                for name, stanza in self._confs.get("inputs", {}).items()
                if name.startswith(prefix)
            }

    def conf_files_text(self) -> str:
        """Every conf stanza as text (what would be on disk in etc/apps/*/local)."""
        with self._lock:
            return json.dumps(
                {c: {n: s.fields for n, s in st.items()} for c, st in self._confs.items()}
            )

    # ------------------------------------------------------------------ routing
    def handle(self, method, raw_path, headers, body):
        """As splunkd, honour ``output_mode`` sent as a form field of a POST (splunklib does)."""
        ctype = headers.get("Content-Type", "") or ""
        if method == "POST" and body and "json" not in ctype and "output_mode=" not in raw_path:
            form = parse_qs(body.decode("utf-8", "replace"))
            if form.get("output_mode", [""])[-1] == "json":
                raw_path += ("&" if "?" in raw_path else "?") + "output_mode=json"
        return super().handle(method, raw_path, headers, body)

    def _route(self, method, owner, app, rest, params, query):
        head = rest[0] if rest else ""
        if head in self.endpoints and app == self.app:
            return self._admin_external(method, head, rest[1:], params, query)
        if rest[:2] == ["data", "inputs"] and len(rest) >= 3:
            return self._data_inputs(method, app, rest[2], rest[3:], params, query)
        if rest[:2] == ["data", "indexes"] and method == "GET":
            entries = [
                _Entry(
                    n,
                    f"data/indexes/{n}",
                    {
                        "isInternal": "1" if n.startswith("_") else "0",
                        "disabled": "0",
                        "datatype": "event",
                    },
                )
                for n in INDEXES
            ]
            return 200, self._page(
                "indexes", "data/indexes", _search(entries, query.get("search")), query
            )
        if rest[:2] == ["search", "jobs"] or rest[:3] == ["search", "v2", "jobs"]:
            return self._search_jobs(method, rest, params, query)
        if rest[:2] == ["apps", "local"] and len(rest) == 3 and method == "GET":
            return 200, _Feed("localapps", "apps/local", [self._app_entry()])
        return super()._route(method, owner, app, rest, params, query)

    def _app_entry(self) -> _Entry:
        app_conf = self.conf_stanza("app", "launcher") or {}
        ui = self.conf_stanza("app", "ui") or {}
        install = self.conf_stanza("app", "install") or {}
        content = {
            "label": ui.get("label", self.app),
            "version": app_conf.get("version", ""),
            "build": install.get("build", ""),
            "visible": ui.get("is_visible", "1"),
            "disabled": "0",
        }
        return _Entry(self.app, f"apps/local/{self.app}", content, app=self.app)

    # ------------------------------------------------------------------ admin_external
    def _handler(self, endpoint: str) -> HandlerProcess:
        with self._lock:
            handler = self._handlers.get(endpoint)
            if handler is None:
                env = modinput_environment(str(self.splunk_home), server_name=self.server_name)
                env["SPLUNKD_URI"] = self.uri
                env["PYTHONPATH"] = str(SPLUNK_PYTHON)
                handler = HandlerProcess(self.endpoints[endpoint], env, self.log_dir / "python.log")
                self._handlers[endpoint] = handler
            return handler

    def _admin_external(self, method, endpoint, rest, params, query):
        name = unquote(rest[0]) if rest else ""
        if rest[1:] or rest == ["_reload"]:
            if rest[-1] == "_reload":
                return 200, _Feed(endpoint, endpoint, [])
            if rest[1:] in (["disable"], ["enable"]) and method == "POST":
                params = {"disabled": "1" if rest[1] == "disable" else "0"}
            else:
                raise HttpError(404, f"Not Found: {endpoint}/{'/'.join(rest)}")
        if method == "GET":
            action, data = "list", {}
            if "--cred--" in query:
                data["--cred--"] = [query["--cred--"]]
        elif method == "POST" and not name:
            action = "create"
            name = str(params.pop("name", "") or "")
            if not name:
                raise HttpError(400, "The following required arguments are missing: name.")
            data = {k: [v] for k, v in params.items()}
        elif method == "POST":
            action, data = "edit", {k: [v] for k, v in params.items()}
        elif method == "DELETE" and name:
            action, data = "remove", {}
        else:
            raise HttpError(405, f"Method {method} not allowed on {endpoint}")
        with self._lock:
            self.handler_calls.append((endpoint, action, name))
        answer = self._handler(endpoint).call(
            {
                "action": action,
                "id": name,
                "data": data,
                "session_key": self.session_key,
                "user": USERNAME,
                "app": self.app,
            }
        )
        if "error" in answer:
            raise HttpError(int(answer["status"]), str(answer["error"]))
        entries = []
        for found in answer["entries"]:
            content = dict(found["content"])
            if "disabled" in content:  # splunkd's JSON has this one as a boolean
                content["disabled"] = str(content["disabled"]).strip().lower() in _TRUE
            for key, value in found["metadata"].items():
                if key != "eai:acl":
                    content[key] = value
            entries.append(
                _Entry(
                    found["name"],
                    f"{endpoint}/{quote(found['name'], safe='')}",
                    content,
                    app=self.app,
                    extra_links=("list", "edit", "remove"),
                )
            )
        if action == "list" and not name:
            return 200, self._page(endpoint, endpoint, _search(entries, query.get("search")), query)
        if action == "list" and not entries:
            raise HttpError(404, f"Could not find object id={name}")
        return int(answer["status"]), _Feed(endpoint, endpoint, entries)

    # ------------------------------------------------------------------ data/inputs
    def _data_inputs(self, method, app, scheme, rest, params, query):
        base = f"data/inputs/{scheme}"
        prefix = f"{scheme}://"
        if method == "POST" and (not rest or rest[1:] == []):
            # Validated before the save, outside the lock: the script calls splunkd back.
            from tests.standins.splunkd import _fields

            fields = _fields({k: v for k, v in params.items() if k != "name"})
            name = str(params.get("name", "")) if not rest else rest[0]
            with self._lock:
                existing = self._confs.get("inputs", {}).get(prefix + name)
                known = dict(existing.fields) if existing and rest else {}
            if name and (not rest or existing is not None):
                self._validate_input(scheme, name, {**known, **fields})
        with self._lock:
            stanzas = self._confs.setdefault("inputs", {})

            def entry(name: str) -> _Entry:
                stanza = stanzas[prefix + name]
                content = {"disabled": "0", "host": "$decideOnStartup", "index": "default"}
                content.update(stanza.fields)
                content["eai:appName"] = stanza.app
                content["eai:userName"] = stanza.owner
                return _Entry(
                    name,
                    f"{base}/{quote(name, safe='')}",
                    content,
                    app=stanza.app,
                    extra_links=("list", "edit", "remove", "disable", "enable"),
                )

            if not rest:
                if method == "GET":
                    names = [n[len(prefix) :] for n, s in stanzas.items() if n.startswith(prefix)]
                    entries = [
                        entry(n) for n in names if self._visible(app, stanzas[prefix + n].app)
                    ]
                    return 200, self._page(
                        scheme, base, _search(entries, query.get("search")), query
                    )
                if method == "POST":
                    name = params.pop("name", None)
                    if not name:
                        raise HttpError(400, "Missing required argument: name")
                    if prefix + name in stanzas:
                        raise HttpError(409, f"An object with name={name} already exists")
                    from tests.standins.splunkd import _fields, _Stanza

                    stanzas[prefix + name] = _Stanza(app or self.app, "nobody", _fields(params))
                    return 201, _Feed(scheme, base, [entry(name)])
                raise HttpError(405, f"Method {method} not allowed on {base}")
            name = rest[0]
            stanza = stanzas.get(prefix + name)
            if stanza is None:
                raise HttpError(404, f"Could not find object id={name}")
            action = rest[1] if len(rest) > 1 else ""
            if method == "GET" and not action:
                return 200, _Feed(scheme, base, [entry(name)])
            if method == "POST" and action in ("", "enable", "disable"):
                if action:
                    stanza.fields["disabled"] = "1" if action == "disable" else "0"
                else:
                    from tests.standins.splunkd import _fields

                    stanza.fields.update(_fields(params))
                return 200, _Feed(scheme, base, [entry(name)])
            if method == "DELETE" and not action:
                del stanzas[prefix + name]
                return 200, _Feed(scheme, base, [])
            raise HttpError(405, f"Method {method} not allowed on {base}/{name}/{action}")

    def _validate_input(self, scheme: str, name: str, params: Mapping[str, str]) -> None:
        """splunkd's external validation (``use_external_validation`` in the scheme): the input's
        script runs with ``--validate-arguments``; what it refuses is not saved, and its message
        is splunkd's answer."""
        script = self.app_dir / "bin" / f"{scheme}.py"
        if not script.is_file():
            return
        env = modinput_environment(str(self.splunk_home), server_name=self.server_name)
        env["PYTHONPATH"] = str(SPLUNK_PYTHON)
        definition = validation_definition_xml(
            server_uri=self.uri,
            session_key=self.session_key,
            checkpoint_dir=str(self.splunk_home / "var" / "lib" / "splunk" / "modinputs" / scheme),
            name=name,
            params=params,
            server_host=self.server_name,
        )
        done = subprocess.run(
            [sys.executable, "-S", str(script), "--validate-arguments"],
            input=definition.encode(),
            capture_output=True,
            cwd=str(script.parent),
            env=env,
            timeout=60,
            check=False,
        )
        with open(self.log_dir / "splunkd.log", "ab") as log:
            log.write(done.stderr)
        if done.returncode != 0:
            message = parse_validation_error(done.stdout.decode("utf-8", "replace")) or (
                f"Validation for scheme={scheme} failed: The script returned with exit status "
                f"{done.returncode}."
            )
            with self._lock:
                self.validation_errors.append(message)
            raise HttpError(400, message)

    # ------------------------------------------------------------------ search jobs
    def _search_jobs(self, method, rest, params, query):
        """The pages' only search: ``| rest services/apps/local/<app>`` for the footer's build."""
        if method == "POST" and rest == ["search", "jobs"]:
            search = str(params.get("search", ""))
            sid = f"standin_{uuid.uuid4().hex[:12]}"
            with self._lock:
                self.searches.append(search)
            match = re.search(r"\|\s*rest\s+(?:/?services/)?apps/local/([^\s|]+)", search)
            if not match or match.group(1) != self.app:
                raise HttpError(
                    400, f"The stand-in only runs '| rest services/apps/local/{self.app}'"
                )
            content = self._app_entry().content
            row = {"title": self.app, **content}
            with self._lock:
                self._jobs[sid] = SearchJob(sid, search, [row])
            return 201, {"sid": sid}
        if method == "GET" and rest == ["search", "jobs"]:
            sids = parse_qs_all(query).get("id", [])
            entries = []
            for sid in sids:
                job = self._jobs.get(sid)
                if job is None:
                    continue
                content = {
                    "sid": sid,
                    "dispatchState": "DONE",
                    "isDone": True,
                    "isFailed": False,
                    "doneProgress": 1,
                    "resultCount": len(job.results),
                    "eventCount": 0,
                    "request": {"search": job.search},
                    "messages": [],
                }
                entries.append(_Entry(sid, f"search/jobs/{sid}", content, author=USERNAME))
            return 200, _Feed("jobs", "search/jobs", entries)
        tail = rest[3:] if rest[1] == "v2" else rest[2:]
        if len(tail) >= 1:
            job = self._jobs.get(tail[0])
            if job is None:
                raise HttpError(404, f"Unknown sid: {tail[0]}")
            if tail[1:] == ["results"] and method == "GET":
                return 200, {
                    "preview": False,
                    "init_offset": 0,
                    "messages": [],
                    "fields": [{"name": k} for k in job.results[0]] if job.results else [],
                    "results": job.results,
                }
            if tail[1:] == ["control"] and method == "POST":
                return 200, {"messages": [{"type": "INFO", "text": "Search job cancelled."}]}
            if not tail[1:] and method == "DELETE":
                self._jobs.pop(tail[0], None)
                return 200, {"messages": []}
        raise HttpError(404, f"Not Found: {'/'.join(rest)}")


def parse_qs_all(query: Mapping[str, str]) -> Dict[str, List[str]]:
    """The stand-in's query dict keeps one value per key: ids arrive comma-free, one each."""
    return {k: [v] for k, v in query.items()}


# --------------------------------------------------------------------------- Splunk Web
# Splunk Web's i18n globals (share/splunk/search_mrsparkle/exposed/js/i18n.js), in English only:
# the names UCC's pages and @splunk/ui-utils call.
I18N_JS = r"""
(function (w) {
  var catalog = {}, plural = function (n) { return n == 1 ? 0 : 1; };
  function interpolate(fmt, args) {
    if (args.length === 1 && args[0] !== null && typeof args[0] === 'object') {
      var obj = args[0];
      return String(fmt).replace(/%\(([^)]+)\)[sd]/g, function (m, k) { return obj[k]; })
        .replace(/%%/g, '%');
    }
    var i = 0;
    return String(fmt).replace(/%[sdf]/g, function () { return args[i++]; }).replace(/%%/g, '%');
  }
  w._i18n_locale = { locale_name: 'en_US', number_format: '#,##0.###', percent_format: '#,##0%',
    decimal_symbol: '.', group_symbol: ',', plural: plural };
  w.i18n_register = function (c) { if (c) { if (c.plural) plural = c.plural;
    for (var k in (c.catalog || {})) catalog[k] = c.catalog[k]; } };
  w.gettext = w._ = function (s) { var t = catalog[s]; return typeof t === 'string' ? t : s; };
  w.ungettext = function (s, p, n) { var t = catalog[s];
    if (t && typeof t === 'object') return t[plural(n)]; return n == 1 ? s : p; };
  w.sprintf = function (fmt) { return interpolate(fmt, Array.prototype.slice.call(arguments, 1)); };
  w.locale_name = function () { return 'en_US'; };
  w.locale_uses_day_before_month = function () { return false; };
  function num(n, opts) { return Number(n).toLocaleString('en-US', opts || {}); }
  w.format_number = function (n) { return num(n); };
  w.format_decimal = function (n) { return num(n, { maximumFractionDigits: 3 }); };
  w.format_percent = function (n) { return num(n, { style: 'percent' }); };
  w.format_scientific = function (n) { return Number(n).toExponential(); };
  w.format_date = function (d) { return new Date(d).toLocaleDateString('en-US'); };
  w.format_time = function (d) { return new Date(d).toLocaleTimeString('en-US'); };
  w.format_datetime = function (d) { return new Date(d).toLocaleString('en-US'); };
  w.format_datetime_microseconds = w.format_datetime;
  w.format_time_microseconds = w.format_time;
  w.format_datetime_range = function (a, b) { return w.format_datetime(a) + ' - ' + w.format_datetime(b); };
}(window));
"""

# build/api/layout.js: Splunk Web's page chrome. create() puts the Splunk bar and the app bar (the
# app's label and nav, filled in from the app) at the top of the page and returns the element the
# page renders into, as Splunk's layout API does.
LAYOUT_JS = r"""
window.__splunk_layout__ = {
  create: function (options) {
    var nav = %(nav)s, label = %(label)s, color = %(color)s;
    document.body.style.margin = '0';
    var root = document.createElement('div');
    root.style.cssText = 'display:flex;flex-direction:column;min-height:100vh';
    var header = document.createElement('header');
    header.setAttribute('data-view', 'splunkjs/mvc/headerview');
    var bar = document.createElement('div');
    bar.style.cssText = 'background:#171d21;color:#fff;height:40px;display:flex;align-items:center;' +
      'padding:0 20px;font:bold 16px "DejaVu Sans",sans-serif;gap:24px';
    bar.innerHTML = '<span>splunk&gt;<span style="font-weight:normal">enterprise</span></span>' +
      '<span style="font-weight:normal;font-size:13px;color:#c3cbd4">Apps \u25be</span>' +
      '<span style="margin-left:auto;font-weight:normal;font-size:13px;color:#c3cbd4">' +
      'Administrator \u25be&nbsp;&nbsp;&nbsp;Settings \u25be&nbsp;&nbsp;&nbsp;Help \u25be</span>';
    var appbar = document.createElement('div');
    appbar.style.cssText = 'background:#fff;border-bottom:1px solid #c3cbd4;border-left:4px solid ' +
      color + ';height:40px;display:flex;align-items:center;padding:0 16px;gap:20px;' +
      'font:13px "DejaVu Sans",sans-serif;color:#3c444d';
    appbar.innerHTML = nav.map(function (n) {
      return '<span data-nav="' + n.view + '"' + (location.pathname.split('/').pop() === n.view ?
        ' style="font-weight:bold;border-bottom:3px solid ' + color + ';padding:10px 0"' : '') +
        '>' + n.label + '</span>';
    }).join('') + '<span style="margin-left:auto;font-weight:bold;font-size:15px">' + label + '</span>';
    header.appendChild(bar);
    header.appendChild(appbar);
    var main = document.createElement('div');
    main.style.cssText = 'flex:1 0 0%%;display:flex;flex-direction:column';
    root.appendChild(header);
    root.appendChild(main);
    document.body.insertBefore(root, document.body.firstChild);
    return { getContainerElement: function () { return main; } };
  }
};
"""


class SplunkWebStandIn:
    """Splunk Web on 127.0.0.1 (port 0), logged in as ``admin``, in front of ``splunkd``."""

    def __init__(self, splunkd: SplunkdWithHandlers, *, theme: str = "enterprise") -> None:
        self.splunkd = splunkd
        self.app = splunkd.app
        self.theme = theme
        self.csrf_token = secrets.token_hex(16)
        self.static_root = splunkd.app_dir / "appserver" / "static"
        self.template = splunkd.app_dir / "appserver" / "templates" / "base.html"
        self.views = {
            p.stem for p in (splunkd.app_dir / "default" / "data" / "ui" / "views").glob("*.xml")
        }
        self.unanswered: List[str] = []
        self.requests: List[Tuple[str, str, int]] = []
        self.proxied: List[Tuple[str, int, bytes]] = []  # splunkd's answers the pages got
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    def start(self) -> SplunkWebStandIn:
        handler = type("Handler", (_WebHandler,), {"web": self})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SplunkWebStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page_url(self, view: str) -> str:
        return f"{self.base_url}/{LOCALE}/app/{self.app}/{view}"

    @property
    def csrf_cookie(self) -> str:
        return f"splunkweb_csrf_token_{self.port}"

    # ------------------------------------------------------------------ answers
    def config_script(self) -> bytes:
        info = self.splunkd._server_info().content
        config = {
            "SPLUNKD_PATH": f"/{LOCALE}/splunkd/__raw",
            "MRSPARKLE_ROOT_PATH": "",
            "MRSPARKLE_PORT_NUMBER": str(self.port),
            "LOCALE": LOCALE,
            "USERNAME": USERNAME,
            "USER_DISPLAYNAME": "Administrator",
            "APP": self.app,
            "APP_DISPLAYNAME": self.app,
            "BUILD_NUMBER": 1796061370,
            "BUILD_PUSH_NUMBER": 0,
            "APP_BUILD": 0,
            "VERSION_LABEL": info["version"],
            "SERVER_ZONEINFO": ZONEINFO_UTC,
            "SPLUNK_UI_THEME": self.theme,
            "SERVER_NAME": info["serverName"],
            "PRODUCT_TYPE": "enterprise",
            "INSTANCE_TYPE": "download",
            "FORM_KEY": self.csrf_token,
            "IS_CLOUD": False,
            "JSCHART_TEST_MODE": False,
        }
        return f"window.$C = {json.dumps(config)};\n".encode()

    def layout_script(self) -> bytes:
        """layout.js with the app bar of this app: its label, its nav's views and colour."""
        default = self.splunkd.app_dir / "default"
        nav_xml = (default / "data" / "ui" / "nav" / "default.xml").read_text()
        color = re.search(r'<nav[^>]*\scolor="([^"]+)"', nav_xml)
        nav = []
        for view in re.findall(r'<view\s+name="([^"]+)"', nav_xml):
            file = default / "data" / "ui" / "views" / f"{view}.xml"
            found = (
                re.search(r"<label>([^<]*)</label>", file.read_text()) if file.is_file() else None
            )
            nav.append({"view": view, "label": found.group(1) if found else view.title()})
        label = (self.splunkd.conf_stanza("app", "ui") or {}).get("label", self.app)
        script = LAYOUT_JS % {
            "nav": json.dumps(nav),
            "label": json.dumps(label),
            "color": json.dumps(color.group(1) if color else "#5cc05c"),
        }
        return script.encode()

    def serve(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes):
        """(status, content type, body, extra headers) for one request."""
        split = urlsplit(raw_path)
        path = unquote(split.path)
        prefix = f"/{LOCALE}/"
        if not path.startswith(prefix):
            if path == "/favicon.ico":  # Splunk Web's icon; here the app's
                icon = self.splunkd.app_dir / "static" / "appIcon.png"
                return 200, "image/png", icon.read_bytes(), {}
            if path in ("/", ""):
                return 303, "text/plain", b"", {"Location": self.page_url("configuration")}
            return self._not_found(method, raw_path)
        rest = path[len(prefix) :]
        if rest.startswith("splunkd/__raw/"):
            return self._proxy(method, raw_path, headers, body)
        if method != "GET":
            return self._not_found(method, raw_path)
        page = re.fullmatch(r"app/([^/]+)/([^/]+)/?", rest)
        if page:
            if page.group(1) != self.app or page.group(2) not in self.views:
                return self._not_found(method, raw_path)
            cookie = f"{self.csrf_cookie}={self.csrf_token}; Path=/"
            return (
                200,
                "text/html; charset=utf-8",
                self.template.read_bytes(),
                {"Set-Cookie": cookie},
            )
        if rest == "config":
            return 200, "text/javascript", self.config_script(), {}
        if rest == "i18ncatalog":
            return (
                200,
                "text/javascript",
                b"i18n_register({plural: function (n) { return n == 1 ? 0 : 1; }, catalog: {}});\n",
                {},
            )
        static = re.fullmatch(r"static/(?:@[^/]+/)?(.*)", rest)
        if static:
            return self._static(method, raw_path, static.group(1))
        return self._not_found(method, raw_path)

    def _static(self, method: str, raw_path: str, path: str):
        if path == "js/i18n.js":
            return 200, "text/javascript", I18N_JS.encode(), {}
        if path in ("build/api/layout.js", "build/api/layout-dark.js"):
            return 200, "text/javascript", self.layout_script(), {}
        if path == "build/api/get_theme.js":
            # Empty in Splunk Web too unless a theme service is set: the pages then read $C.
            return 200, "text/javascript", b"", {}
        app = re.fullmatch(rf"app/{re.escape(self.app)}/(.*)", path)
        if app:
            relative = posixpath.normpath(app.group(1))
            if relative.startswith(("..", "/")):
                return self._not_found(method, raw_path)
            file = self.static_root / relative
            if file.is_file():
                ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                if file.suffix == ".js":
                    ctype = "text/javascript"
                return 200, ctype, file.read_bytes(), {}
        return self._not_found(method, raw_path)

    def _not_found(self, method: str, raw_path: str):
        with self._lock:
            self.unanswered.append(f"{method} {raw_path}")
        return 404, "text/plain", b"Not Found (no such path in the Splunk Web stand-in)", {}

    def _proxy(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes):
        """Splunk Web's splunkd proxy: CSRF check, then the call with the admin's session key."""
        if method not in ("GET", "HEAD"):
            cookies = dict(
                part.strip().split("=", 1)
                for part in (headers.get("Cookie") or "").split(";")
                if "=" in part
            )
            key = headers.get("X-Splunk-Form-Key")
            if not key or key != cookies.get(self.csrf_cookie) or key != self.csrf_token:
                body_text = json.dumps(
                    {
                        "messages": [
                            {
                                "type": "ERROR",
                                "text": "Splunk cannot authenticate the request. CSRF validation failed.",
                            }
                        ]
                    }
                )
                return 401, "application/json", body_text.encode(), {}
        target = raw_path[len(f"/{LOCALE}/splunkd/__raw") :]
        context = ssl._create_unverified_context() if self.splunkd.tls else None  # noqa: S323
        connection = (
            http.client.HTTPSConnection(
                self.splunkd.host, self.splunkd.port, context=context, timeout=120
            )
            if self.splunkd.tls
            else http.client.HTTPConnection(self.splunkd.host, self.splunkd.port, timeout=120)
        )
        forward = {"Authorization": f"Splunk {self.splunkd.session_key}"}
        if headers.get("Content-Type"):
            forward["Content-Type"] = headers["Content-Type"]
        try:
            connection.request(method, target, body=body or None, headers=forward)
            response = connection.getresponse()
            data = response.read()
            ctype = response.getheader("Content-Type") or "application/octet-stream"
            with self._lock:
                self.proxied.append((f"{method} {target}", response.status, data))
            return response.status, ctype, data, {}
        finally:
            connection.close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser closing a connection mid-answer is no error of the stand-in


class _WebHandler(BaseHTTPRequestHandler):
    web: SplunkWebStandIn
    protocol_version = "HTTP/1.1"
    server_version = "CherryPy/18.8.0"
    sys_version = ""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            status, ctype, data, extra = self.web.serve(self.command, self.path, self.headers, body)
        except Exception as error:  # noqa: BLE001 - a stand-in bug shows as a 500, never a hang
            status, ctype, data, extra = 500, "text/plain", repr(error).encode(), {}
        with self.web._lock:
            self.web.requests.append((self.command, self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class SetupPages:
    """splunkd and Splunk Web stand-ins with the built add-on installed, started and stopped together."""

    def __init__(self, app_dir: Path, splunk_home: Path) -> None:
        self.splunkd = SplunkdWithHandlers(Path(app_dir), Path(splunk_home))
        self.web = SplunkWebStandIn(self.splunkd)

    def __enter__(self) -> SetupPages:
        self.splunkd.start()
        try:
            self.web.start()
        except BaseException:
            self.splunkd.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.web.stop()
        self.splunkd.stop()


def main() -> None:  # pragma: no cover - for a person: python -m tests.standins.splunkweb
    """Serve the built add-on's setup pages until Ctrl-C (for looking at them by hand)."""
    import tempfile

    root = Path(__file__).resolve().parents[2]
    with (
        tempfile.TemporaryDirectory() as home,
        SetupPages(root / "output" / APP, Path(home)) as pages,
    ):
        print(pages.web.page_url("configuration"), flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
