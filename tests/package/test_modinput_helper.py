"""The modular input helper's Splunk adapters, in process, against the splunkd stand-in.

The built input is exercised end to end in test_modular_input.py; these check each adapter
(event sink, KV store checkpoint, secure-storage token cache, settings and account reads) on
its own, with the real solnlib/splunklib underneath.
"""

from __future__ import annotations

import io
import json

import pytest
import ringcentral_audit_trail_helper as helper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ringcentral_audit.errors import SECRETS, ConfigError
from ringcentral_audit.events import AuditEvent
from ringcentral_audit.timeutil import parse_time
from splunklib import modularinput as smi

from tests.standins.splunkd import (
    APP,
    CRED_SEP,
    SplunkdStandIn,
    credential_realm,
    parse_event_stream,
)


@pytest.fixture()
def splunkd():
    with SplunkdStandIn() as server:
        yield server
        assert server.unhandled == []


def address(server: SplunkdStandIn) -> dict:
    return helper.splunkd_address(server.uri)


class CountingIO(io.StringIO):
    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def event(n: int, when: float) -> AuditEvent:
    return AuditEvent(f"id-{n}", when, json.dumps({"id": f"id-{n}", "n": n}), True)


def test_sink_writes_one_event_per_record_and_flushes_each_page():
    out = CountingIO()
    sink = helper.EventWriterSink(
        smi.EventWriter(output=out, error=io.StringIO()),
        index="audit",
        source="ringcentral_audit_trail://prod",
    )
    sink.write([event(1, 1700000000.5), event(2, 1700000001.123)])
    flushes = out.flushes
    sink.write([event(3, 1700000002.0)])
    assert out.flushes > flushes and sink.count == 3
    events = parse_event_stream(out.getvalue())
    assert [e.time for e in events] == ["1700000000.500", "1700000001.123", "1700000002.000"]
    assert {(e.index, e.sourcetype, e.source) for e in events} == {
        ("audit", "ringcentral:audit", "ringcentral_audit_trail://prod")
    }
    assert json.loads(events[1].data) == {"id": "id-2", "n": 2}


@pytest.mark.parametrize("index", ["default", "", None])
def test_sink_leaves_the_default_index_to_splunkd(index):
    out = io.StringIO()
    sink = helper.EventWriterSink(
        smi.EventWriter(output=out, error=io.StringIO()), index=index, source="s"
    )
    sink.write([event(1, 1.0)])
    assert parse_event_stream(out.getvalue())[0].index is None


def test_kvstore_checkpoint_round_trip(splunkd):
    store = helper.KVStoreCheckpoint(splunkd.session_key, address(splunkd), "prod")
    assert store.load() is None
    state = {"version": 2, "cursor": "2026-06-01T00:00:00.000Z", "recent": {"a": "x"}}
    store.save(state)
    assert store.load() == state
    doc = splunkd.kv_documents(helper.CHECKPOINT_COLLECTION)["prod"]
    assert json.loads(doc["state"]) == state
    # A bare time written by an admin to move the input by hand is handed on as a cursor.
    splunkd.kv_put(helper.CHECKPOINT_COLLECTION, "prod", {"state": json.dumps("2026-06-02")})
    assert store.load() == {"cursor": "2026-06-02"}


def test_kvstore_budget_shares_each_inputs_document_within_one_account_only(splunkd):
    where = address(splunkd)
    north = helper.KVStoreBudget(splunkd.session_key, where, "acct1", "north")
    south = helper.KVStoreBudget(splunkd.session_key, where, "acct1", "south")
    other = helper.KVStoreBudget(splunkd.session_key, where, "acct2", "west")
    north.save({"member": "north", "sent": [1]})
    south.save({"member": "south", "sent": [2]})
    other.save({"member": "west", "sent": [3]})
    assert sorted(d["member"] for d in north.load_all()) == ["north", "south"]
    assert [d["member"] for d in other.load_all()] == ["west"]
    north.save({"member": "north", "sent": [4]})  # its own document, replaced
    docs = splunkd.kv_documents(helper.BUDGET_COLLECTION)
    assert json.loads(docs["acct1:north"]["state"])["sent"] == [4] and len(docs) == 3


def test_kvstore_checkpoint_is_created_lazily(splunkd):
    helper.KVStoreCheckpoint(splunkd.session_key, address(splunkd), "prod")
    assert splunkd.requests == []  # no call before the collector asks for the checkpoint


def test_token_store_keeps_tokens_in_secure_storage_only(splunkd):
    store = helper.SecureTokenStore(splunkd.session_key, address(splunkd), "acme")
    assert store.load() is None
    data = {"version": 1, "auth": {"access_token": "A" * 900, "refresh_token": "R" * 80}}
    store.save(data)
    assert store.load() == data
    entries = splunkd.passwords(helper.TOKEN_REALM)
    assert len(entries) > 2 and all(e["username"].startswith("acme" + CRED_SEP) for e in entries)
    text = json.dumps(data, separators=(",", ":"))
    assert "A" * 900 not in SECRETS.redact(f"cache={text}")


def test_read_settings_defaults_levels_and_decrypted_proxy(splunkd):
    where = address(splunkd)
    assert helper.read_settings(splunkd.session_key, where) == {"loglevel": "INFO", "proxy": None}
    splunkd.set_conf(helper.SETTINGS_CONF, "logging", {"loglevel": "DEBUG"})
    assert helper.read_settings(splunkd.session_key, where)["loglevel"] == "DEBUG"
    for junk in ("LOUD", "debug", "INFOxyz", "INFO\n[other]\nkey=value"):
        splunkd.set_conf(helper.SETTINGS_CONF, "logging", {"loglevel": junk})
        with pytest.raises(ConfigError, match=r"Log level \(loglevel\)"):
            helper.read_settings(splunkd.session_key, where)
    splunkd.set_conf(helper.SETTINGS_CONF, "logging", {"loglevel": "INFO"})
    splunkd.set_conf(
        helper.SETTINGS_CONF,
        "proxy",
        {"proxy_enabled": "1", "proxy_url": "proxy.example", "proxy_port": "8080"},
        encrypted={"proxy_password": "pp-secret"},
    )
    proxy = helper.read_settings(splunkd.session_key, where)["proxy"]
    assert proxy["proxy_password"] == "pp-secret" and proxy["proxy_url"] == "proxy.example"
    assert not [k for k in proxy if k.startswith("eai:") or k == "disabled"]


def test_read_account_errors_say_what_to_fix(splunkd):
    where = address(splunkd)
    with pytest.raises(ConfigError, match="Account 'acme' does not exist"):
        helper.read_account(splunkd.session_key, where, "acme")
    splunkd.set_conf(
        helper.ACCOUNT_CONF, "acme", {"client_id": "c", "client_secret": "******", "jwt": "******"}
    )
    with pytest.raises(ConfigError, match="missing from Splunk's secure storage"):
        helper.read_account(splunkd.session_key, where, "acme")
    splunkd.set_conf(
        helper.ACCOUNT_CONF,
        "acme",
        {"client_id": "c"},
        encrypted={"client_secret": "s", "jwt": "j"},
    )
    account = helper.read_account(splunkd.session_key, where, "acme")
    assert (account["client_secret"], account["jwt"]) == ("s", "j")
    assert helper.ACCOUNT_REALM == credential_realm(APP, helper.ACCOUNT_CONF)


def test_validate_input_in_process(splunkd):
    definition = smi.ValidationDefinition()
    definition.metadata = {
        "name": "prod",
        "server_uri": splunkd.uri,
        "session_key": splunkd.session_key,
    }
    definition.parameters = {"account": "acme", "interval": "300"}
    with pytest.raises(ValueError, match="Account 'acme' does not exist"):
        helper.validate_input(definition)
    splunkd.set_conf(
        helper.ACCOUNT_CONF,
        "acme",
        {"server": "production", "client_id": "c"},
        encrypted={"client_secret": "s3cret", "jwt": "a.b"},
    )
    with pytest.raises(ValueError, match="Account 'acme': The JWT credential is malformed"):
        helper.validate_input(definition)
    definition.parameters = {"account": "acme", "interval": "59"}
    with pytest.raises(ValueError, match="interval must be at least 60"):
        helper.validate_input(definition)


def test_a_bad_server_uri_is_a_config_error():
    with pytest.raises(ConfigError, match="server_uri"):
        helper.splunkd_address("not a uri")


@pytest.mark.parametrize(
    ("roles", "collects"),
    [
        (["indexer", "kv_store"], True),  # a heavy forwarder or single instance
        (["search_head", "shc_member", "kv_store"], False),  # a cluster member, not the captain
        (["search_head", "shc_member", "shc_captain", "kv_store"], True),
    ],
)
def test_on_a_search_head_cluster_only_the_captain_collects(splunkd, roles, collects):
    splunkd.server_roles = roles
    assert helper.collects_here(splunkd.session_key, address(splunkd)) is collects


# ----- collection (coverage) events: COLLECTION_EVENTS.md --------------------------------------

WINDOW_DOC = {
    "kind": "window",
    "input": "northwind",
    "addon_version": "0.1.0",
    "time": "2026-06-01T09:54:00.000Z",
    "run_started": "2026-06-01T09:55:00.120Z",
    "window_start": "2026-06-01T09:39:00.000Z",
    "window_end": "2026-06-01T09:54:00.000Z",
    "total_found": 12,
    "records_seen": 12,
    "emitted": 3,
    "duplicates": 9,
    "requests": 1,
    "outcome": "complete",
}
LOSS_DOC = {
    "kind": "data_loss",
    "input": "northwind",
    "addon_version": "0.1.0",
    "time": "2026-01-02T00:02:00.000Z",
    "run_started": "2026-06-01T09:55:00.120Z",
    "reason": "history_clamped",
    "loss_start": "2025-12-01T00:00:00.000Z",
    "loss_end": "2026-01-02T00:02:00.000Z",
    "message": "The start date is older than the 180 days RingCentral keeps.",
}


def collection_sink(out, **settings) -> helper.EventWriterSink:
    sink = helper.EventWriterSink(
        smi.EventWriter(output=out, error=io.StringIO()),
        index="audit",
        source="ringcentral_audit_trail://northwind",
    )
    sink.account = settings.get("account", "northwind_prod")
    sink.interval_s = settings.get("interval_s", 300)
    sink.collection_events = settings.get("enabled", True)
    return sink


def test_collection_events_follow_the_records_with_the_contracts_fields():
    out = CountingIO()
    sink = collection_sink(out)
    sink.write([event(1, 1780307600.0), event(2, 1780307601.0)])
    flushes = out.flushes
    sink.write_collection(WINDOW_DOC)
    sink.write_collection(LOSS_DOC)
    assert out.flushes >= flushes + 2  # each coverage event is handed to splunkd at once
    events = parse_event_stream(out.getvalue())
    assert [e.sourcetype for e in events] == ["ringcentral:audit"] * 2 + [
        "ringcentral:audit:collection"
    ] * 2
    assert {(e.index, e.source) for e in events} == {
        ("audit", "ringcentral_audit_trail://northwind")
    }
    window, loss = (json.loads(e.data) for e in events[2:])
    assert window == {**WINDOW_DOC, "account": "northwind_prod", "interval_s": 300}
    assert list(window)[:4] == ["kind", "input", "account", "interval_s"]
    assert loss == {**LOSS_DOC, "account": "northwind_prod", "interval_s": 300}
    # _time: the window's end for a window, the loss period's end for a data-loss warning
    assert [e.time for e in events[2:]] == ["1780307640.000", "1767312120.000"]
    assert sink.count == 2  # records only: the monitoring dashboard's events_ingested


def test_collection_events_off_write_nothing():
    out = io.StringIO()
    sink = collection_sink(out, enabled=False)
    sink.write_collection(WINDOW_DOC)
    sink.write_collection(LOSS_DOC)
    assert out.getvalue() == ""
    sink.write([event(1, 1.0)])  # the records still flow
    assert [e.sourcetype for e in parse_event_stream(out.getvalue())] == ["ringcentral:audit"]


@pytest.mark.parametrize(
    ("value", "enabled"),
    [
        (None, True),  # an input saved before the box existed
        ("", True),
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("0", False),
        ("false", False),
        ("False", False),
        (0, False),
        (1, True),
    ],
)
def test_the_collection_events_box_reads_splunks_booleans(value, enabled):
    params = {} if value is None else {"collection_events": value}
    assert helper.collection_events_enabled(params) is enabled


@pytest.mark.parametrize(
    ("interval", "seconds"),
    [
        ("300", 300),
        ("60.0", 60),
        (" 3600 ", 3600),
        ("", None),
        (None, None),
        ("*/5 * * * *", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_interval_s_is_the_interval_in_seconds_or_null(interval, seconds):
    assert helper.interval_seconds({"interval": interval}) == seconds


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=200)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    extra=st.dictionaries(
        st.text(max_size=20).filter(lambda k: k not in ("account", "interval_s", "time")),
        st.recursive(
            _json_scalars,
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=20,
        ),
        max_size=12,
    ),
    when=st.one_of(
        st.just("2026-06-01T09:54:00.000Z"),
        st.text(max_size=40),
        st.integers(),
        st.none(),
    ),
    account=st.text(max_size=100),
)
def test_any_doc_becomes_exactly_one_well_formed_event(extra, when, account):
    """Whatever the doc holds (markup, control characters, odd times), splunkd reads back one
    event whose JSON is the doc plus the glue's fields, and an unusable time is left to splunkd."""
    doc = {"kind": "window", **extra, "time": when}
    out = io.StringIO()
    sink = collection_sink(out, account=account)
    sink.write_collection(doc)
    events = parse_event_stream(out.getvalue())
    assert len(events) == 1
    assert json.loads(events[0].data) == {**doc, "account": account, "interval_s": 300}
    expected = parse_time(when)
    assert events[0].time == (None if expected is None else f"{expected:.3f}")


@pytest.mark.parametrize(
    "value", ["yes", "off", "1\n[other]\nkey=value", "0x", "x" * 100_000, "ja", "\u0661"]
)
def test_a_collection_events_value_that_is_no_boolean_stops_the_input(value):
    with pytest.raises(ConfigError, match=r"Collection events \(collection_events\)"):
        helper.collection_events_enabled({"collection_events": value})


@given(
    secret=st.one_of(
        st.sampled_from(["2026", "202", "00", "2026-12", "12-02T", "2026-12-02T0", ".000Z"]),
        st.text(alphabet="0123456789-:.TZ", min_size=1, max_size=30),
        st.text(min_size=1, max_size=12),
    ),
    seconds=st.integers(1_600_000_000, 1_900_000_000),
)
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
def test_redaction_never_alters_the_addons_own_fields(secret, seconds):
    """Issue 16 item 9: a proxy password of "2026" (or any secret) registered, a collection
    event's times, counts and names, and a log line's cursor, stay exactly as written."""
    from ringcentral_audit.coverage import window_doc
    from ringcentral_audit.errors import RedactingFilter
    from ringcentral_audit.settings import parse_proxy
    from ringcentral_audit.state import Window
    from ringcentral_audit.timeutil import format_time

    parse_proxy(
        {"proxy_url": "proxy.example.com", "proxy_port": "3128", "proxy_username": "squid",
         "proxy_password": secret}
    )  # fmt: skip
    window = Window(start=float(seconds - 900), end=float(seconds))
    doc = window_doc("northwind", seconds + 60.125, window, 12, "complete")
    out = io.StringIO()
    collection_sink(out, account="northwind_prod").write_collection(doc)
    written = json.loads(parse_event_stream(out.getvalue())[0].data)
    assert written == {**doc, "account": "northwind_prod", "interval_s": 300}
    import logging

    line = f"action=collection_run input=northwind status=success cursor={format_time(seconds)}"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (line,), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == line


def test_a_secret_in_a_doc_never_reaches_the_index():
    SECRETS.add("glue-secret-4711")
    out = io.StringIO()
    sink = collection_sink(out)
    sink.write_collection({**LOSS_DOC, "message": "token glue-secret-4711 was refused"})
    text = out.getvalue()
    assert "glue-secret-4711" not in text
    assert json.loads(parse_event_stream(text)[0].data)["message"].startswith("token ********")
