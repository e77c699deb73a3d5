"""The BUILT add-on's modular input, run as splunkd runs it, against the splunkd and RingCentral
stand-ins.

Each test copies output/TA-ringcentral-audit (``make build``) into a fresh $SPLUNK_HOME/etc/apps,
starts ``bin/ringcentral_audit_trail.py`` with the dev venv's Python in ``-S`` mode (no
site-packages: only the standard library and the app's own lib/), feeds it splunkd's XML on
stdin and reads the XML event stream back. Settings, secrets, the checkpoint and the token cache
live in the splunkd stand-in (conf files, storage/passwords, KV store), as in Splunk.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

import pytest

from tests.standins.ringcentral import RingCentralStandIn, format_time, generate_history
from tests.standins.splunkd import (
    ModinputRun,
    ModularInputProcess,
    SplunkdStandIn,
    find_secrets,
    input_definition_xml,
    make_splunk_home,
    modinput_environment,
    parse_scheme,
    parse_validation_error,
    read_tree,
    run_modular_input,
    snapshot_tree,
    validation_definition_xml,
    wait_until,
)

APP = "TA-ringcentral-audit"
ROOT = Path(__file__).resolve().parents[2]
# TA_BUILT_APP: another build of the add-on to test (default: what `make build` wrote).
BUILT_APP = Path(os.environ.get("TA_BUILT_APP") or ROOT / "output" / APP)
SCRIPT = "ringcentral_audit_trail.py"
INPUT = "ringcentral_audit_trail://prod"
ACCOUNT_CONF = "ta_ringcentral_audit_account"
SETTINGS_CONF = "ta_ringcentral_audit_settings"
COLLECTION = "ta_ringcentral_audit_checkpoints"
TOKEN_REALM = f"{APP}#token_cache"
LOG_FILE = "ta_ringcentral_audit_ringcentral_audit_trail.log"
RECORDS = 2500  # three pages of 1000
SOURCETYPE = "ringcentral:audit"
COLLECTION_SOURCETYPE = "ringcentral:audit:collection"


def records_of(run: ModinputRun) -> List[Any]:
    """The audit record events of a run (collection events, when the collector writes them, left out)."""
    return [e for e in run.events if e.sourcetype == SOURCETYPE]


def collection_of(run: ModinputRun) -> List[Dict[str, Any]]:
    """The collection events of a run, as (position in the stream, event, its JSON) dicts."""
    return [
        {"at": n, "event": e, "doc": json.loads(e.data)}
        for n, e in enumerate(run.events)
        if e.sourcetype == COLLECTION_SOURCETYPE
    ]


def epoch(text: str) -> str:
    return f"{datetime.fromisoformat(text.replace('Z', '+00:00')).timestamp():.3f}"


@pytest.fixture(scope="module")
def built_app(tmp_path_factory) -> Path:
    """A snapshot of the built add-on, taken once: a rebuild during the tests cannot affect them."""
    helper = BUILT_APP / "bin" / "ringcentral_audit_trail_helper.py"
    if not helper.is_file():
        pytest.skip("output/TA-ringcentral-audit is missing: run `make build` (make test-e2e does)")
    if "KVStoreCheckpoint" not in helper.read_text():
        pytest.fail("output/ holds UCC's template helper, not ours: run `make build` again")
    snapshot = tmp_path_factory.mktemp("built") / APP
    shutil.copytree(BUILT_APP, snapshot, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return snapshot


class Harness:
    """One Splunk instance (a $SPLUNK_HOME, the splunkd stand-in) and one RingCentral account."""

    def __init__(
        self, app: Path, home: Path, splunkd: SplunkdStandIn, rc: RingCentralStandIn
    ) -> None:
        self.paths = make_splunk_home(str(home), str(app))
        self.splunkd = splunkd
        self.rc = rc
        self.script = os.path.join(self.paths["app_dir"], "bin", SCRIPT)
        self.runs: List[ModinputRun] = []
        self.python = sys.executable  # the interpreter splunkd would start the script with
        splunkd.load_app(self.paths["app_dir"])  # default/*.conf: settings, collections
        self.set_account()

    def set_account(self, name: str = "acme", **overrides: str) -> None:
        secrets = {"client_secret": self.rc.client_secret, "jwt": self.rc.jwt}
        secrets.update({k: v for k, v in overrides.items() if k in secrets})
        self.splunkd.set_conf(
            ACCOUNT_CONF,
            name,
            {
                "server": "custom",
                "custom_server_url": self.rc.base_url,
                "client_id": self.rc.client_id,
            },
            encrypted=secrets,
        )

    def params(self, **extra: str) -> Dict[str, str]:
        params = {
            "account": "acme",
            "index": "main",
            "interval": "300",
            "lag_seconds": "60",
            "overlap_seconds": "600",
            "host": "$decideOnStartup",
            "python.version": "python3",
            "disabled": "0",
        }
        params.update(extra)
        return params

    def definition(self, **params: str) -> str:
        return input_definition_xml(
            server_uri=self.splunkd.uri,
            session_key=self.splunkd.session_key,
            checkpoint_dir=self.paths["checkpoint_dir"],
            stanzas={INPUT: self.params(**params)},
        )

    def start(self, **params: str) -> ModularInputProcess:
        return ModularInputProcess(
            self.script,
            splunk_home=self.paths["splunk_home"],
            stdin=self.definition(**params),
            python=self.python,
        )

    def run(self, timeout: float = 60, **params: str) -> ModinputRun:
        with self.start(**params) as process:
            result = process.wait(timeout)
        self.runs.append(result)
        return result

    def validate(self, name: str = "prod", **params: str) -> ModinputRun:
        xml = validation_definition_xml(
            server_uri=self.splunkd.uri,
            session_key=self.splunkd.session_key,
            checkpoint_dir=self.paths["checkpoint_dir"],
            name=name,
            params=params,
        )
        result = run_modular_input(
            self.script,
            splunk_home=self.paths["splunk_home"],
            args=["--validate-arguments"],
            stdin=xml,
            python=self.python,
        )
        self.runs.append(result)
        return result

    def checkpoint(self) -> Optional[Dict[str, Any]]:
        doc = self.splunkd.kv_documents(COLLECTION).get("prod")
        return json.loads(doc["state"]) if doc else None

    def log(self) -> str:
        path = Path(self.paths["log_dir"], LOG_FILE)
        return path.read_text() if path.exists() else ""

    def secrets(self, *extra: str) -> List[str]:
        values = [self.rc.client_secret, self.rc.jwt, self.splunkd.session_key, *extra]
        cache = self.splunkd.clear_password(TOKEN_REALM, "acme")
        if cache:
            auth = json.loads(cache)["auth"]
            values += [auth.get("access_token"), auth.get("refresh_token")]
        return [v for v in values if v]

    def leaks(self, *extra: str) -> List[Any]:
        texts: Dict[str, str] = {}
        for n, run in enumerate(self.runs):
            texts[f"run{n}.stdout"] = run.stdout
            texts[f"run{n}.stderr"] = run.stderr
        texts.update(read_tree(os.path.join(self.paths["splunk_home"], "var")))
        texts["kvstore"] = json.dumps(self.splunkd.kv_documents(COLLECTION))
        return find_secrets(self.secrets(*extra), texts)


@pytest.fixture()
def harness(built_app, tmp_path):
    now = time.time()
    records = generate_history(RECORDS - 1, end=now - 900, span_days=20, seed=7)
    # One record inside the first window's overlap (its last 10 minutes), so that every later
    # window reads it again: only the ids kept in the checkpoint stop it being indexed twice.
    records.append(dict(records[-1], id=str(uuid.uuid4()), eventTime=format_time(now - 200)))
    with (
        SplunkdStandIn() as splunkd,
        RingCentralStandIn(records=records, heavy_window=5, heavy_penalty=5) as rc,
    ):
        yield Harness(built_app, tmp_path / "splunk", splunkd, rc)
        assert splunkd.unhandled == []


def event_time(record: Dict[str, Any]) -> str:
    moment = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
    return f"{moment.timestamp():.3f}"


# ---------------------------------------------------------------------- scheme and validation
def test_scheme_lists_the_inputs_arguments(harness):
    result = run_modular_input(
        harness.script, splunk_home=harness.paths["splunk_home"], args=["--scheme"]
    )
    assert result.returncode == 0, result.stderr
    scheme = parse_scheme(result.stdout)
    assert scheme["title"] == "ringcentral_audit_trail"
    assert scheme["use_external_validation"] == "true"
    assert scheme["streaming_mode"] == "xml"
    assert scheme["use_single_instance"] == "false"
    assert {
        "name",
        "account",
        "start_date",
        "lag_seconds",
        "overlap_seconds",
        "action_ids",
        "exclude_action_ids",
        "collection_events",
    } <= set(scheme["args"])
    assert scheme["args"]["account"]["required_on_create"] == "true"


def test_the_input_runs_on_the_apps_own_libraries(harness):
    """With -S nothing comes from the dev venv: every third-party module is the app's lib/."""
    probe = (
        "import import_declare_test, sys, json, ringcentral_audit_trail_helper\n"
        "mods = ['solnlib', 'splunklib', 'requests', 'urllib3', 'ringcentral',"
        " 'ringcentral_audit', 'ringcentral_audit_trail_helper']\n"
        "print(json.dumps({m: sys.modules[m].__file__ for m in mods}))\n"
    )
    bin_dir = os.path.join(harness.paths["app_dir"], "bin")
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        cwd=bin_dir,
        env=modinput_environment(harness.paths["splunk_home"]),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for module, path in json.loads(result.stdout).items():
        assert path.startswith(harness.paths["app_dir"] + os.sep), (module, path)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"interval": "10"}, "interval must be at least 60 seconds"),
        ({"start_date": "2026-13-45"}, "start_date '2026-13-45"),
        ({"start_date": "2019-01-01"}, "older than RingCentral keeps audit records"),
        ({"account": "nobody"}, "Account 'nobody' does not exist"),
        ({"lag_seconds": "-5"}, "lag_seconds must be between 0 and 3600"),
        (
            {"action_ids": "CHANGE_USER_ROLE", "exclude_action_ids": "CHANGE_USER_ROLE"},
            "both included and excluded",
        ),
    ],
)
def test_validate_arguments_refuses_bad_values_with_a_clear_message(harness, params, message):
    values = {"account": "acme", "index": "main", "interval": "300", **params}
    result = harness.validate(**values)
    assert result.returncode == 1
    error = parse_validation_error(result.stdout)
    assert error is not None and message in error, error


def test_validate_arguments_accepts_good_values_and_checks_the_account(harness):
    result = harness.validate(account="acme", index="main", interval="300", start_date="")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    harness.set_account(jwt="not-a-jwt")
    result = harness.validate(account="acme", index="main", interval="300")
    assert result.returncode == 1
    assert "JWT credential is malformed" in parse_validation_error(result.stdout)
    assert harness.leaks() == []


# ---------------------------------------------------------------------- runs
class ForwardProxy:
    """An HTTP forward proxy on 127.0.0.1 that insists on Basic credentials."""

    def __init__(self, username: str, password: str) -> None:
        self.expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.forwarded = 0
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Proxy-Authorization") != proxy.expected:
                    proxy.refused += 1
                    self.send_response(407)
                    self.send_header("Proxy-Authenticate", 'Basic realm="test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                target = urlsplit(self.path)
                assert target.hostname == "127.0.0.1"
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("proxy-authorization", "proxy-connection", "connection")
                }
                upstream = HTTPConnection(target.hostname, target.port, timeout=30)
                path = target.path + (f"?{target.query}" if target.query else "")
                upstream.request(self.command, path, body=body or None, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                proxy.forwarded += 1
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            do_GET = do_POST = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ForwardProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def test_a_run_streams_every_record_once_and_checkpoints_in_the_kv_store(harness):
    proxy_password = "proxy-Pa55-" + "q" * 12
    app_before = snapshot_tree(harness.paths["app_dir"])
    with ForwardProxy("px-user", proxy_password) as proxy:
        harness.splunkd.set_conf(
            SETTINGS_CONF,
            "proxy",
            {
                "proxy_enabled": "1",
                "proxy_type": "http",
                "proxy_url": "127.0.0.1",
                "proxy_port": str(proxy.port),
                "proxy_username": "px-user",
                "proxy_rdns": "0",
            },
            encrypted={"proxy_password": proxy_password},
        )
        first = harness.run()

    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    assert first.stdout.startswith("<stream>") and first.stdout.endswith("</stream>")
    events = records_of(first)
    records = {r["id"]: r for r in harness.rc.retrievable_records()}
    assert len(events) == len(records) == RECORDS
    seen = {}
    for event in events:
        record = json.loads(event.data)
        assert record == records[record["id"]]
        assert event.time == event_time(record)
        assert (event.index, event.sourcetype, event.source) == ("main", "ringcentral:audit", INPUT)
        assert event.host is None  # splunkd applies the input's host
        seen[record["id"]] = seen.get(record["id"], 0) + 1
    assert set(seen) == set(records) and max(seen.values()) == 1
    # Every RingCentral call went through the proxy with the credentials from secure storage.
    assert proxy.forwarded == harness.rc.count() and proxy.refused == 0

    state = harness.checkpoint()
    assert state is not None and state["window"] is None and state["cursor"]
    log = harness.log()
    assert "action=started modular_input_name=prod" in log
    assert 'action=collection_run input="prod" status=success records=2500' in log
    assert (
        "action=events_ingested modular_input_name=ringcentral_audit_trail://prod "
        "sourcetype_ingested=ringcentral:audit n_events=2500 event_input=prod event_index=main "
        "event_account=acme"
    ) in log
    assert "action=ended modular_input_name=prod" in log
    # UCC's monitoring dashboard searches index=_internal source=*ta-ringcentral-audit*
    # action=events_ingested: that file gets the line too.
    monitoring = Path(harness.paths["log_dir"], "ta-ringcentral-audit_monitoring.log")
    assert fnmatch.fnmatch(monitoring.name, "*ta-ringcentral-audit*")
    assert "action=events_ingested" in monitoring.read_text()
    assert "n_events=2500" in monitoring.read_text()
    # The token is kept in secure storage, not in a file.
    assert json.loads(harness.splunkd.clear_password(TOKEN_REALM, "acme"))["auth"]["access_token"]

    harness.splunkd.set_conf(SETTINGS_CONF, "proxy", {"proxy_enabled": "0"})
    second = harness.run()
    assert second.returncode == 0, second.stderr
    assert records_of(second) == []
    assert harness.rc.logins == 1  # the cached token was reused, no second login
    assert "n_events=0" in harness.log().split("action=started")[-1]
    assert harness.checkpoint()["cursor"] >= state["cursor"]

    assert snapshot_tree(harness.paths["app_dir"]) == app_before  # nothing written in the app
    assert harness.leaks(proxy_password) == []


def test_a_run_killed_while_paging_loses_nothing_and_sigterm_stops_cleanly(harness):
    # Page 1 is served at once, page 2 stalls: SIGKILL while it is in flight.
    harness.rc.inject("slow", delay=0.0)
    harness.rc.inject("slow", delay=30.0)
    with harness.start() as process:
        assert wait_until(lambda: harness.rc.pending_faults() == [], timeout=30)
        assert wait_until(lambda: len(process.events_so_far()) >= 1000, timeout=10)
        time.sleep(0.3)
        process.send_signal(signal.SIGKILL)
        killed = process.wait(10)
    harness.runs.append(killed)
    assert killed.returncode == -signal.SIGKILL
    first_ids = [json.loads(e.data)["id"] for e in records_of(killed)]
    assert len(first_ids) == 1000
    state = harness.checkpoint()
    assert state["window"] is not None and state["window"]["page"] == 2  # page 1 checkpointed

    # SIGTERM during the next run: the page in flight completes, is flushed and checkpointed,
    # then the run stops cleanly.
    harness.rc.inject("slow", delay=2.0)
    with harness.start() as process:
        assert wait_until(lambda: harness.rc.pending_faults() == [], timeout=30)
        process.send_signal(signal.SIGTERM)
        stopped = process.wait(30)
    harness.runs.append(stopped)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.endswith("</stream>")
    assert "status=stopped" in harness.log()
    second_ids = [json.loads(e.data)["id"] for e in records_of(stopped)]
    assert 0 < len(second_ids) < RECORDS - 1000

    final = harness.run()
    assert final.returncode == 0, final.stderr
    third_ids = [json.loads(e.data)["id"] for e in records_of(final)]
    everything = first_ids + second_ids + third_ids
    assert set(everything) == harness.rc.retrievable_ids()
    assert len(everything) == RECORDS  # a kill after a checkpoint and a clean stop repeat nothing
    assert harness.leaks() == []


def test_a_misconfigured_account_fails_clearly_and_leaves_the_checkpoint_intact(harness):
    good = harness.run()
    assert good.returncode == 0 and len(records_of(good)) == RECORDS
    before = harness.splunkd.kv_documents(COLLECTION)

    harness.set_account(client_secret="wrong-secret-" + "z" * 20)
    bad = harness.run()
    assert bad.returncode == 1
    assert bad.events == []
    assert f"ERROR {INPUT}:" in bad.stderr
    assert "client" in bad.stderr.lower() and "credential" in bad.stderr.lower()
    assert "action=collection_error" in harness.log() and "error_kind=auth" in harness.log()
    assert harness.splunkd.kv_documents(COLLECTION) == before

    missing = harness.run(account="deleted_account")
    assert missing.returncode == 1
    assert "Account 'deleted_account' does not exist" in missing.stderr
    assert 'exc_l="Configuration Error"' in harness.log()
    assert harness.splunkd.kv_documents(COLLECTION) == before
    assert harness.leaks("wrong-secret-" + "z" * 20) == []


def test_on_a_search_head_cluster_only_the_captain_collects(harness):
    harness.splunkd.server_roles = ["search_head", "shc_member", "kv_store"]
    follower = harness.run()
    assert follower.returncode == 0 and follower.events == []
    assert "action=collection_skipped" in harness.log()
    assert harness.splunkd.kv_documents(COLLECTION) == {}
    assert harness.rc.count() == 0  # not a single request to RingCentral
    harness.splunkd.server_roles = ["search_head", "shc_member", "shc_captain", "kv_store"]
    captain = harness.run()
    assert captain.returncode == 0 and len(records_of(captain)) == RECORDS


# ---------------------------------------------------------------------- collection events
def test_collection_events_follow_the_records_they_count(harness):
    first = harness.run()
    assert first.returncode == 0, first.stderr
    records = records_of(first)
    assert len(records) == RECORDS
    coverage = collection_of(first)
    windows = [c for c in coverage if c["doc"]["kind"] == "window"]
    assert windows, "a finished run writes a collection event per finished window"
    assert len(records) + len(coverage) == len(first.events)  # nothing else in the stream
    position = {
        json.loads(e.data)["id"]: n
        for n, e in enumerate(first.events)
        if e.sourcetype == SOURCETYPE
    }
    for window in windows:
        doc, event = window["doc"], window["event"]
        assert (event.index, event.source) == ("main", INPUT)
        assert event.time == epoch(doc["time"]) == epoch(doc["window_end"])
        assert (doc["input"], doc["account"], doc["interval_s"]) == ("prod", "acme", 300)
        assert doc["outcome"] == "complete"
        # every record of the window was handed to splunkd before the event that counts it
        inside = [
            position[r["id"]]
            for r in harness.rc.retrievable_records()
            if doc["window_start"] <= r["eventTime"] < doc["window_end"]
        ]
        assert len(inside) == doc["emitted"] and all(at < window["at"] for at in inside)
    assert sum(w["doc"]["emitted"] for w in windows) == RECORDS

    second = harness.run()
    assert second.returncode == 0 and records_of(second) == []
    assert (
        sum(c["doc"]["emitted"] for c in collection_of(second) if c["doc"]["kind"] == "window") == 0
    )
    assert harness.leaks() == []


def test_a_data_loss_warning_is_a_collection_event_dated_by_the_loss(harness):
    # A start date older than RingCentral's 180 days: refused on save, but an input can still get
    # one (inputs.conf edited by hand or pushed by a deployment server): the run clamps it.
    result = harness.run(start_date="2019-01-01")
    assert result.returncode == 0, result.stderr
    losses = [c for c in collection_of(result) if c["doc"]["kind"] == "data_loss"]
    assert [c["doc"]["reason"] for c in losses] == ["history_clamped"]
    doc, event = losses[0]["doc"], losses[0]["event"]
    assert doc["loss_start"].startswith("2019-01-01T00:00:00")
    assert event.time == epoch(doc["loss_end"]) and doc["account"] == "acme"
    assert "action=data_loss_warning" in harness.log() and "history_clamped" in harness.log()


def test_no_window_event_for_a_run_that_did_not_finish_its_window(harness):
    # Killed while paging (page 2 in flight): its records are streamed, its window is not done.
    harness.rc.inject("slow", delay=0.0)
    harness.rc.inject("slow", delay=30.0)
    with harness.start() as process:
        assert wait_until(lambda: harness.rc.pending_faults() == [], timeout=30)
        assert wait_until(lambda: len(process.events_so_far()) >= 1000, timeout=10)
        time.sleep(0.3)
        process.send_signal(signal.SIGKILL)
        killed = process.wait(10)
    harness.runs.append(killed)
    assert len(records_of(killed)) == 1000
    assert [c for c in collection_of(killed) if c["doc"]["kind"] == "window"] == []

    # A misconfigured account fails before any window.
    harness.set_account(client_secret="wrong-secret-" + "y" * 20)
    failed = harness.run()
    assert failed.returncode == 1 and failed.events == []
    harness.set_account()

    # The run that finishes the window counts every record written for it, by all runs.
    final = harness.run()
    assert final.returncode == 0, final.stderr
    windows = [c["doc"] for c in collection_of(final) if c["doc"]["kind"] == "window"]
    assert windows and sum(w["emitted"] for w in windows) == RECORDS
    assert harness.leaks("wrong-secret-" + "y" * 20) == []


@pytest.mark.parametrize("off", ["0", "false"])
def test_collection_events_off_streams_the_records_only(harness, off):
    result = harness.run(collection_events=off, start_date="2019-01-01")  # a data loss too
    assert result.returncode == 0, result.stderr
    assert len(records_of(result)) == RECORDS
    assert collection_of(result) == [] and len(result.events) == RECORDS
    assert "history_clamped" in harness.log()  # the warning still reaches the log
