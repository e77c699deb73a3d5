"""The splunkd stand-in, driven by the real solnlib 8.2.0 / splunklib 2.1.1 code the add-on runs.

If these pass, the stand-in answers what those libraries send the way they expect splunkd to:
the modular input tests in tests/package/ then run the built add-on against it.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import types

import pytest
import requests
from solnlib import conf_manager, credentials, soln_exceptions
from solnlib.modular_input import checkpointer
from splunklib import binding, client
from splunklib import modularinput as smi

from tests.standins.splunkd import (
    APP,
    CRED_END_MARK,
    CRED_SEP,
    SplunkdStandIn,
    credential_realm,
    input_definition_xml,
    parse_event_stream,
    validation_definition_xml,
)

ACCOUNT_CONF = "ta_ringcentral_audit_account"
SETTINGS_CONF = "ta_ringcentral_audit_settings"
ACCOUNT_REALM = credential_realm(APP, ACCOUNT_CONF)
COLLECTION = "ta_ringcentral_audit_checkpoints"


@pytest.fixture()
def splunkd():
    with SplunkdStandIn() as server:
        yield server
        assert server.unhandled == [], "solnlib/splunklib called endpoints the stand-in lacks"


@pytest.fixture()
def no_retry_sleep(monkeypatch):
    """solnlib's @retry sleeps 1+2+4 s before giving up: keep failure tests fast."""
    import solnlib.utils

    monkeypatch.setattr(solnlib.utils, "time", types.SimpleNamespace(sleep=lambda s: None))


def where(server: SplunkdStandIn) -> dict:
    return {"scheme": server.scheme, "host": server.host, "port": server.port}


def preload_account(server: SplunkdStandIn, name: str = "acme", jwt: str = "eyJ.eyJ.sig") -> None:
    server.set_conf(
        ACCOUNT_CONF,
        name,
        {"server": "production", "client_id": "client-id-1"},
        encrypted={"client_secret": "client-secret-1", "jwt": jwt},
    )


# ---------------------------------------------------------------------- conf + encrypted fields
def test_conf_manager_returns_the_account_with_secrets_decrypted(splunkd):
    preload_account(splunkd)
    cfm = conf_manager.ConfManager(splunkd.session_key, APP, realm=ACCOUNT_REALM, **where(splunkd))
    stanza = cfm.get_conf(ACCOUNT_CONF).get("acme")

    assert stanza["client_id"] == "client-id-1"
    assert stanza["client_secret"] == "client-secret-1"
    assert stanza["jwt"] == "eyJ.eyJ.sig"
    assert stanza["eai:appName"] == APP
    assert stanza["disabled"] == "0"
    # What splunkd itself holds: the placeholder in the conf, the JSON in storage/passwords.
    assert splunkd.conf_stanza(ACCOUNT_CONF, "acme")["client_secret"] == "******"
    assert json.loads(splunkd.clear_password(ACCOUNT_REALM, "acme")) == {
        "client_secret": "client-secret-1",
        "jwt": "eyJ.eyJ.sig",
    }
    routes = [(r.method, r.route) for r in splunkd.requests]
    assert ("GET", f"properties/{ACCOUNT_CONF}") in routes
    assert ("GET", f"configs/conf-{ACCOUNT_CONF}/acme") in routes
    assert ("GET", "storage/passwords") in routes


def test_only_current_app_filters_with_splunkd_search_syntax(splunkd):
    preload_account(splunkd)
    preload_account(splunkd, name="acme2")
    splunkd.set_conf(ACCOUNT_CONF, "elsewhere", {"client_id": "z"}, app="other_app")
    cfm = conf_manager.ConfManager(splunkd.session_key, APP, realm=ACCOUNT_REALM, **where(splunkd))
    conf = cfm.get_conf(ACCOUNT_CONF)
    assert conf.get("acme2", only_current_app=True)["client_id"] == "client-id-1"
    assert sorted(conf.get_all(only_current_app=True)) == ["acme", "acme2"]
    searches = [r.query.get("search") for r in splunkd.calls(f"configs/conf-{ACCOUNT_CONF}")]
    assert f"eai:acl.app={APP} name=acme2" in searches


def test_a_missing_stanza_or_conf_is_reported_as_solnlib_expects(splunkd):
    preload_account(splunkd)
    cfm = conf_manager.ConfManager(splunkd.session_key, APP, realm=ACCOUNT_REALM, **where(splunkd))
    with pytest.raises(soln_exceptions.ConfStanzaNotExistException):
        cfm.get_conf(ACCOUNT_CONF).get("nobody-configured-this")
    with pytest.raises(soln_exceptions.ConfManagerException):
        cfm.get_conf("no_such_conf")


def test_conf_update_encrypts_like_ucc_and_delete_removes_the_secrets(splunkd):
    splunkd.declare_conf(ACCOUNT_CONF)
    cfm = conf_manager.ConfManager(splunkd.session_key, APP, realm=ACCOUNT_REALM, **where(splunkd))
    conf = cfm.get_conf(ACCOUNT_CONF)
    long_jwt = "eyJ" + "x" * 1200 + ".e.s"  # > 255 characters: CredentialManager chunks it
    conf.update(
        "new", {"client_id": "c", "client_secret": "s1", "jwt": long_jwt}, ["client_secret", "jwt"]
    )

    assert splunkd.conf_stanza(ACCOUNT_CONF, "new") == {
        "client_id": "c",
        "client_secret": "******",
        "jwt": "******",
    }
    chunks = [p for p in splunkd.passwords(ACCOUNT_REALM) if p["username"].startswith("new")]
    assert len(chunks) > 2 and chunks[-1]["clear_password"] == CRED_END_MARK
    assert all(CRED_SEP in p["username"] for p in chunks)
    assert conf.get("new")["jwt"] == long_jwt

    # Rewriting the secrets takes the 409 path (entities exist: update them). Like solnlib, pass
    # every encrypted field: the JSON is replaced whole, not merged.
    conf.update(
        "new", {"client_id": "c", "client_secret": "s2", "jwt": "j.w.t"}, ["client_secret", "jwt"]
    )
    assert conf.get("new")["client_secret"] == "s2" and conf.get("new")["jwt"] == "j.w.t"
    assert sorted(conf.get_all()) == ["new"]

    conf.delete("new")
    assert splunkd.conf_stanza(ACCOUNT_CONF, "new") is None
    assert splunkd.passwords(ACCOUNT_REALM) == []
    assert conf.get_all() == {}


def test_get_proxy_dict_and_get_log_level_as_solnlib_runs_them_inside_splunk(splunkd, monkeypatch):
    # Inside Splunk these discover splunkd through splunk.rest.simpleRequest (Splunk's own
    # Python); the stand-in provides that call, so the real functions run unchanged.
    import solnlib.splunkenv

    monkeypatch.setenv("SPLUNK_HOME", "/opt/splunk-standin")
    monkeypatch.setattr(solnlib.splunkenv, "simpleRequest", splunkd.simple_request)
    splunkd.set_conf(SETTINGS_CONF, "logging", {"loglevel": "DEBUG"})
    splunkd.set_conf(
        SETTINGS_CONF,
        "proxy",
        {
            "proxy_enabled": "1",
            "proxy_type": "http",
            "proxy_url": "proxy.example",
            "proxy_port": "3128",
            "proxy_username": "px",
            "proxy_rdns": "0",
        },
        encrypted={"proxy_password": "proxy-pass-1"},
    )
    logger = logging.getLogger("test-standin")

    level = conf_manager.get_log_level(
        logger=logger, session_key=splunkd.session_key, app_name=APP, conf_name=SETTINGS_CONF
    )
    proxy = conf_manager.get_proxy_dict(logger, splunkd.session_key, APP, SETTINGS_CONF)

    assert level == "DEBUG"
    assert proxy["proxy_password"] == "proxy-pass-1"
    assert proxy["proxy_url"] == "proxy.example" and proxy["proxy_port"] == "3128"
    assert "eai:appName" not in proxy and "disabled" not in proxy
    system_reads = [r.route for r in splunkd.requests if r.query.get("output_mode") == "json"]
    assert "configs/conf-server/sslConfig" in system_reads
    assert "configs/conf-web/settings" in system_reads


def test_get_log_level_falls_back_to_info_without_a_logging_stanza(splunkd, monkeypatch):
    import solnlib.splunkenv

    monkeypatch.setenv("SPLUNK_HOME", "/opt/splunk-standin")
    monkeypatch.setattr(solnlib.splunkenv, "simpleRequest", splunkd.simple_request)
    splunkd.declare_conf(SETTINGS_CONF)
    level = conf_manager.get_log_level(
        logger=logging.getLogger("t"),
        session_key=splunkd.session_key,
        app_name=APP,
        conf_name=SETTINGS_CONF,
    )
    assert level == "INFO"


def test_app_defaults_are_loaded_like_splunkd_reads_default_confs(splunkd, tmp_path):
    default = tmp_path / APP / "default"
    default.mkdir(parents=True)
    (default / f"{SETTINGS_CONF}.conf").write_text(
        "[logging]\nloglevel = WARNING\n\n# comment\n[proxy]\nproxy_enabled = 0\n"
    )
    (default / "collections.conf").write_text(f"[{COLLECTION}]\nfield.state = string\n")
    splunkd.load_app(str(tmp_path / APP))

    cfm = conf_manager.ConfManager(
        splunkd.session_key, APP, realm=credential_realm(APP, SETTINGS_CONF), **where(splunkd)
    )
    assert cfm.get_conf(SETTINGS_CONF).get("logging")["loglevel"] == "WARNING"
    service = client.Service(token=splunkd.session_key, app=APP, owner="nobody", **where(splunkd))
    assert service.kvstore[COLLECTION].content["field.state"] == "string"


# ---------------------------------------------------------------------- storage/passwords
def test_credential_manager_set_get_overwrite_delete(splunkd):
    realm = f"{APP}#token_cache"
    cm = credentials.CredentialManager(splunkd.session_key, APP, realm=realm, **where(splunkd))
    token_state = json.dumps({"access_token": "a" * 700, "refresh_token": "r" * 60})

    cm.set_password("acme", token_state)
    assert cm.get_password("acme") == token_state
    cm.set_password("acme", "short")  # fewer chunks than before: the end mark still wins
    assert cm.get_password("acme") == "short"
    assert splunkd.clear_password(realm, "acme") == "short"
    with pytest.raises(credentials.CredentialNotExistException):
        cm.get_password("someone-else")

    cm.delete_password("acme")
    assert splunkd.passwords(realm) == []
    with pytest.raises(credentials.CredentialNotExistException):
        cm.delete_password("acme")


def test_storage_passwords_speaks_splunkd_rest(splunkd):
    service = client.Service(token=splunkd.session_key, app=APP, owner="nobody", **where(splunkd))
    created = service.storage_passwords.create("pw-1", "alice", "realm:with:colons")
    assert created.name == "realm\\:with\\:colons:alice:"  # splunkd escapes colons in names
    with pytest.raises(binding.HTTPError) as conflict:
        service.storage_passwords.create("pw-2", "alice", "realm:with:colons")
    assert conflict.value.status == 409

    service.storage_passwords.create("pw-1", "bob", "a/realm#with/slashes")
    found = service.storage_passwords["a/realm#with/slashes:bob:"]
    assert found.clear_password == "pw-1" and found.realm == "a/realm#with/slashes"
    found.update(password="pw-3")
    listed = service.storage_passwords.list(search="realm=a/realm#with")
    assert [p.clear_password for p in listed] == ["pw-3"]
    service.storage_passwords.delete("bob", "a/realm#with/slashes")
    assert [p.username for p in service.storage_passwords.list()] == ["alice"]


# ---------------------------------------------------------------------- KV store
def test_kvstore_checkpointer_update_get_delete(splunkd):
    ck = checkpointer.KVStoreCheckpointer(COLLECTION, splunkd.session_key, APP, **where(splunkd))
    assert ck.get("input-1") is None
    state = {"version": 1, "cursor": "2026-01-01T00:00:00.000Z", "ids": ["a", "b"]}
    ck.update("input-1", state)
    assert ck.get("input-1") == state
    assert json.loads(splunkd.kv_documents(COLLECTION)["input-1"]["state"]) == state

    ck.batch_update([{"_key": "input-2", "state": {"n": 2}}, {"_key": "input-1", "state": 7}])
    assert ck.get("input-2") == {"n": 2} and ck.get("input-1") == 7
    ck.delete("input-1")
    ck.delete("input-1")  # deleting twice is fine (404 is swallowed)
    assert ck.get("input-1") is None
    assert sorted(splunkd.kv_documents(COLLECTION)) == ["input-2"]
    # The collection was created on first use, as solnlib does when collections.conf is absent.
    assert splunkd.calls("storage/collections/config", "POST")


def test_kvstore_not_ready_answers_503(splunkd, no_retry_sleep):
    # max_retries=0: no urllib3 back-off on 503 (solnlib's default adds ~9 s per call).
    ck = checkpointer.KVStoreCheckpointer(
        COLLECTION, splunkd.session_key, APP, max_retries=0, **where(splunkd)
    )
    splunkd.kvstore_status = "starting"
    with pytest.raises(binding.HTTPError) as failed:
        ck.get("input-1")
    assert failed.value.status == 503
    splunkd.kvstore_status = "ready"
    splunkd.inject_fault("batch_save", 503, times=2)
    ck.update("input-1", {"n": 1})  # solnlib retries and gets through on the third try
    assert ck.get("input-1") == {"n": 1}
    assert [r.status for r in splunkd.calls("batch_save")] == [503, 503, 200]


def test_splunklib_kvstore_client(splunkd):
    service = client.Service(token=splunkd.session_key, app=APP, owner="nobody", **where(splunkd))
    service.kvstore.create("scratch", fields={"n": "number"})
    data = service.kvstore["scratch"].data
    key = data.insert({"n": 1, "name": "one"})["_key"]
    assert data.query_by_id(key)["name"] == "one"
    data.update(key, {"n": 2, "name": "two"})
    assert data.query(query={"name": "two"})[0]["_key"] == key
    assert data.batch_save({"_key": "k2", "n": 3}, {"_key": key, "n": 4}) == ["k2", key]
    assert len(data.query()) == 2 and len(data.query(limit=1)) == 1
    data.delete_by_id("k2")
    with pytest.raises(binding.HTTPError) as missing:
        data.query_by_id("k2")
    assert missing.value.status == 404
    data.delete()
    assert data.query() == []


# ---------------------------------------------------------------------- auth, transport, info
def test_a_wrong_session_key_is_refused_like_splunkd(splunkd, no_retry_sleep):
    preload_account(splunkd)
    cfm = conf_manager.ConfManager("not-the-key", APP, realm=ACCOUNT_REALM, **where(splunkd))
    with pytest.raises(binding.HTTPError) as failed:
        cfm.get_conf(ACCOUNT_CONF)
    assert failed.value.status == 401
    assert "client-secret-1" not in str(failed.value)
    cm = credentials.CredentialManager("not-the-key", APP, realm=ACCOUNT_REALM, **where(splunkd))
    with pytest.raises(binding.HTTPError):
        cm.get_password("acme")
    with pytest.raises(binding.HTTPError):
        checkpointer.KVStoreCheckpointer(COLLECTION, "not-the-key", APP, **where(splunkd))
    refused = [r for r in splunkd.requests if not r.authenticated]
    assert refused and all(r.status == 401 for r in refused)
    assert all(r.authenticated for r in splunkd.requests if r.status != 401)

    raw = requests.get(f"{splunkd.uri}/services/server/info", verify=False, timeout=5)  # noqa: S501
    assert raw.status_code == 401 and "call not properly authenticated" in raw.text


def test_json_output_mode_and_server_info(splunkd):
    preload_account(splunkd)
    headers = {"Authorization": f"Splunk {splunkd.session_key}"}
    url = f"{splunkd.uri}/servicesNS/nobody/{APP}/configs/conf-{ACCOUNT_CONF}/acme"
    body = requests.get(
        url, params={"output_mode": "json"}, headers=headers, verify=splunkd.ca_cert_path, timeout=5
    ).json()
    entry = body["entry"][0]
    assert entry["name"] == "acme" and entry["acl"]["app"] == APP
    assert entry["content"]["client_secret"] == "******"
    assert body["paging"]["total"] == 1

    service = client.Service(token=splunkd.session_key, **where(splunkd))
    assert service.info["serverName"] == splunkd.server_name
    assert service.splunk_version >= (9,)


def test_login_issues_a_session_key():
    with SplunkdStandIn(users={"admin": "changeme-please"}) as server:
        service = client.connect(
            username="admin", password="changeme-please", **where(server), autologin=False
        )
        assert service.info["version"]
        with pytest.raises(binding.AuthenticationError):
            client.connect(username="admin", password="wrong", **where(server))


def test_plain_http_flavour_works_with_solnlib():
    with SplunkdStandIn(tls=False) as server:
        preload_account(server)
        assert server.uri.startswith("http://")
        cfm = conf_manager.ConfManager(
            server.session_key, APP, realm=ACCOUNT_REALM, **where(server)
        )
        assert cfm.get_conf(ACCOUNT_CONF).get("acme")["jwt"] == "eyJ.eyJ.sig"


def test_binds_loopback_only_and_stops():
    server = SplunkdStandIn().start()
    host, port = server._server.server_address[:2]
    assert host == "127.0.0.1"
    server.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


# ---------------------------------------------------------------------- modular input protocol
def test_input_and_validation_definitions_parse_with_splunklib(tmp_path):
    xml = input_definition_xml(
        server_uri="https://127.0.0.1:8089",
        session_key="k",
        checkpoint_dir=str(tmp_path),
        stanzas={"ringcentral_audit_trail://prod": {"account": "acme", "index": "main"}},
    )
    definition = smi.InputDefinition.parse(io.StringIO(xml))
    assert definition.metadata["session_key"] == "k"
    assert definition.inputs["ringcentral_audit_trail://prod"]["account"] == "acme"
    assert definition.inputs["ringcentral_audit_trail://prod"]["__app"] == APP

    xml = validation_definition_xml(
        server_uri="https://127.0.0.1:8089",
        session_key="k",
        checkpoint_dir=str(tmp_path),
        name="prod",
        params={"interval": "10"},
    )
    validation = smi.ValidationDefinition.parse(io.StringIO(xml))
    assert validation.metadata["name"] == "prod"
    assert validation.parameters == {"interval": "10"}


def test_event_stream_round_trip_tolerates_a_torn_tail():
    out = io.StringIO()
    writer = smi.EventWriter(output=out, error=io.StringIO())
    for n in range(3):
        writer.write_event(
            smi.Event(
                data=json.dumps({"id": n, "text": "<&>"}),
                time=f"{1_700_000_000 + n:.3f}",
                index="main",
                sourcetype="ringcentral:audit",
                source="ringcentral_audit_trail://prod",
            )
        )
    stream = out.getvalue()
    events = parse_event_stream(stream + "</stream>")
    assert [json.loads(e.data)["id"] for e in events] == [0, 1, 2]
    assert events[0].time == "1700000000.000" and events[0].index == "main"
    assert events[0].sourcetype == "ringcentral:audit" and events[0].done
    cut = stream[: stream.rfind("<event") + 20]  # killed mid-event, no closing tag
    assert len(parse_event_stream(cut)) == 2
