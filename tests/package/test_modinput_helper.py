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
from ringcentral_audit.errors import SECRETS, ConfigError
from ringcentral_audit.events import AuditEvent
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
    splunkd.set_conf(helper.SETTINGS_CONF, "logging", {"loglevel": "debug"})
    assert helper.read_settings(splunkd.session_key, where)["loglevel"] == "DEBUG"
    splunkd.set_conf(helper.SETTINGS_CONF, "logging", {"loglevel": "LOUD"})
    assert helper.read_settings(splunkd.session_key, where)["loglevel"] == "INFO"
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
