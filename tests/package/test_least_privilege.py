"""Least privilege at every REST door (issue 17, item 1).

A session of the plain ``user`` role (or ``power``) asks every endpoint of the add-on for every
action - list (with clear credentials too), create, edit, remove - with the values a prober
would send: an account whose server is a listening stand-in and whose CA bundle path names a
file on this host. Each answer is 403; the stand-in RingCentral receives nothing, no file is
looked at, and splunkd sees nothing but the capability check. The same calls with an admin
session do reach the network and the file (so the observers can see them).

The real handler classes run with splunktaucclib, solnlib and splunklib against the splunkd
stand-in, which grants capabilities from the add-on's own authorize.conf.
"""

from __future__ import annotations

import os
import types
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from tests.package.hostile import Hostile
from tests.package.test_build_rest_handlers import (
    ACCOUNT,
    ACCOUNT_CONF,
    APP,
    SETTINGS_CONF,
    _ConfInfo,
    _fake_splunk_admin,
    account_endpoint,
)
from tests.standins.splunkd import SplunkdStandIn

ROOT = Path(__file__).resolve().parents[2]
AUTHORIZE = ROOT / "package" / "default" / "authorize.conf"
MODULES = (
    "ta_ringcentral_audit_rh_account_validation",
    "ta_ringcentral_audit_rh_input",
    "ta_ringcentral_audit_rh_settings_validation",
)


@pytest.fixture(scope="module")
def modules() -> Iterator[Dict[str, types.ModuleType]]:
    import importlib
    import sys

    saved = {name: sys.modules.get(name) for name in ("splunk", "splunk.admin")}
    try:
        importlib.import_module("splunk.admin")
    except ImportError:
        sys.modules.update(_fake_splunk_admin())
    try:
        yield {name: importlib.import_module(name) for name in MODULES}
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Tuple[SplunkdStandIn, Hostile, Path, List[str]]]:
    """splunkd (with the add-on's authorize.conf), a listening RingCentral, a CA file, and the
    paths of every os.stat/os.access/open the handlers make of it."""
    from solnlib import log

    log.Logs.set_context(directory=str(tmp_path))
    ca = tmp_path / "corp-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    touched: List[str] = []
    for module, name in ((os, "stat"), (os, "access")):
        real = getattr(module, name)

        def spy(path: Any, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            if str(path) == str(ca):
                touched.append(str(path))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    with SplunkdStandIn() as splunkd, Hostile() as rc:
        splunkd.declare_conf(ACCOUNT_CONF)
        splunkd.grant_from_authorize_conf(str(AUTHORIZE))
        monkeypatch.setenv("SPLUNKD_URI", splunkd.uri)
        import splunktaucclib.rest_handler.credentials as credentials

        monkeypatch.setattr(credentials, "get_base_app_name", lambda: APP)
        yield splunkd, rc, ca, touched


def settings_endpoint() -> Any:
    from splunktaucclib.rest_handler.endpoint import MultipleModel, RestModel, field

    proxy = [
        field.RestField(name, encrypted=name == "proxy_password")
        for name in (
            "proxy_enabled",
            "proxy_type",
            "proxy_url",
            "proxy_port",
            "proxy_username",
            "proxy_password",
            "proxy_rdns",
        )
    ]
    return MultipleModel(
        SETTINGS_CONF,
        models=[
            RestModel(proxy, name="proxy"),
            RestModel([field.RestField("loglevel")], "logging"),
        ],
        app=APP,
    )


def make(module: types.ModuleType, cls: str, key: str, uri: str, endpoint: Any, **kw: Any) -> Any:
    from splunktaucclib.rest_handler.handler import RestHandler

    handler = getattr(module, cls).__new__(getattr(module, cls))
    handler.callerArgs = types.SimpleNamespace(id=kw.get("name"), data=kw.get("data", {}))
    handler.payload = kw.get("payload")
    handler.getSessionKey = lambda: key
    if endpoint is not None:
        handler.handler = RestHandler(uri, key, endpoint)
    return handler


def requests_of(
    modules: Dict[str, types.ModuleType], splunkd: SplunkdStandIn, rc: Hostile, ca: Path
) -> List[Tuple[str, Any, str]]:
    """(what, handler, action) for every endpoint and action, with a prober's values."""
    account = modules["ta_ringcentral_audit_rh_account_validation"]
    inputs = modules["ta_ringcentral_audit_rh_input"]
    settings = modules["ta_ringcentral_audit_rh_settings_validation"]
    probe = {
        **ACCOUNT,
        "server": "custom",
        "custom_server_url": rc.base_url,
        "ca_bundle_path": str(ca),
    }
    proxy = {"proxy_enabled": "1", "proxy_url": "127.0.0.1", "proxy_port": str(rc.port)}
    stanza = {"account": "main", "index": "main", "interval": "300"}
    return [
        ("account", (account, "AccountValidationHandler", ACCOUNT_CONF), "handleList", {}),
        (
            "account",
            (account, "AccountValidationHandler", ACCOUNT_CONF),
            "handleList",
            {"data": {"--cred--": ["1"]}},
        ),
        (
            "account",
            (account, "AccountValidationHandler", ACCOUNT_CONF),
            "handleCreate",
            {"name": "probe", "payload": probe},
        ),
        (
            "account",
            (account, "AccountValidationHandler", ACCOUNT_CONF),
            "handleEdit",
            {"name": "main", "payload": probe},
        ),
        (
            "account",
            (account, "AccountValidationHandler", ACCOUNT_CONF),
            "handleRemove",
            {"name": "main"},
        ),
        ("settings", (settings, "SettingsHandler", SETTINGS_CONF), "handleList", {}),
        (
            "settings",
            (settings, "SettingsHandler", SETTINGS_CONF),
            "handleEdit",
            {"name": "proxy", "payload": proxy},
        ),
        (
            "settings",
            (settings, "SettingsHandler", SETTINGS_CONF),
            "handleEdit",
            {"name": "logging", "payload": {"loglevel": "DEBUG"}},
        ),
        ("input", (inputs, "InputHandler", "inputs"), "handleList", {}),
        (
            "input",
            (inputs, "InputHandler", "inputs"),
            "handleCreate",
            {"name": "probe", "payload": stanza},
        ),
        (
            "input",
            (inputs, "InputHandler", "inputs"),
            "handleEdit",
            {"name": "main", "payload": stanza},
        ),
        ("input", (inputs, "InputHandler", "inputs"), "handleRemove", {"name": "main"}),
    ]  # type: ignore[return-value]


def endpoint_for(conf: str) -> Any:
    return account_endpoint() if conf == ACCOUNT_CONF else settings_endpoint()


@pytest.mark.parametrize("roles", [("user",), ("power", "user")])
def test_without_the_capability_every_door_answers_403_and_nothing_happens(
    modules: Dict[str, types.ModuleType], world: Any, roles: Tuple[str, ...]
) -> None:
    from splunktaucclib.rest_handler.error import RestError

    splunkd, rc, ca, touched = world
    key = splunkd.add_session("probe", roles)
    splunkd.set_conf(ACCOUNT_CONF, "main", {"server": "production", "client_id": "x"})
    before = {
        "account": splunkd.conf_stanza(ACCOUNT_CONF, "main"),
        "proxy": splunkd.conf_stanza(SETTINGS_CONF, "proxy"),
    }
    for what, (module, cls, conf), action, kw in requests_of(modules, splunkd, rc, ca):
        start = len(splunkd.requests)
        handler = make(module, cls, key, splunkd.uri, endpoint_for(conf), **kw)
        with pytest.raises(RestError) as refused:
            getattr(handler, action)(_ConfInfo())
        assert refused.value.status == 403, (what, action, refused.value)
        assert "ta_ringcentral_audit_admin" in str(refused.value)
        routes = [r.route for r in splunkd.requests[start:]]
        assert routes == ["authentication/current-context"], (what, action, routes)
    assert rc.requests == []
    assert touched == []
    assert splunkd.conf_stanza(ACCOUNT_CONF, "main") == before["account"]
    assert splunkd.conf_stanza(SETTINGS_CONF, "proxy") == before["proxy"]
    assert splunkd.conf_stanza(ACCOUNT_CONF, "probe") is None


def test_an_admin_session_does_reach_the_network_and_the_file(
    modules: Dict[str, types.ModuleType], world: Any
) -> None:
    """The observers of the test above can see: the same account check as an admin connects
    to the server it names and looks at the CA file."""
    from splunktaucclib.rest_handler.error import RestError

    splunkd, rc, ca, touched = world
    account = modules["ta_ringcentral_audit_rh_account_validation"]
    probe = {**ACCOUNT, "server": "custom", "custom_server_url": rc.base_url, "ca_bundle_path": ""}
    handler = make(
        account,
        "AccountValidationHandler",
        splunkd.session_key,
        splunkd.uri,
        account_endpoint(),
        name="probe",
        payload=probe,
    )
    try:
        handler.handleCreate(_ConfInfo())
    except RestError:
        pass  # the hostile server refuses the login; what matters is that it was asked
    assert rc.requests
    handler = make(
        account,
        "AccountValidationHandler",
        splunkd.session_key,
        splunkd.uri,
        account_endpoint(),
        name="probe2",
        payload={**probe, "ca_bundle_path": str(ca)},
    )
    with pytest.raises(RestError):
        handler.handleCreate(_ConfInfo())  # not a usable CA bundle: refused, after looking
    assert touched


@pytest.mark.parametrize("password", ["Pr0xy-Echo-Password-99", "2026"])
def test_the_proxy_tab_answers_without_secrets_or_tracebacks(
    modules: Dict[str, types.ModuleType], world: Any, monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    """Issue 17 item 5: splunkd echoing the request, and an unexpected error inside
    splunktaucclib (which answers with traceback.format_exc()), through the Proxy tab."""
    from splunktaucclib.rest_handler.credentials import RestCredentials
    from splunktaucclib.rest_handler.error import RestError

    splunkd, _, _, _ = world
    module = modules["ta_ringcentral_audit_rh_settings_validation"]
    splunkd.set_conf(SETTINGS_CONF, "proxy", {"proxy_enabled": "0"})
    payload = {
        "proxy_enabled": "1",
        "proxy_type": "http",
        "proxy_url": "proxy.example.com",
        "proxy_port": "3128",
        "proxy_username": "squid",
        "proxy_password": password,
    }
    echo = f"Bad request from {splunkd.session_key}: {password}"
    splunkd.inject_fault(r"conf-ta_ringcentral_audit_settings/proxy$", 400, method="POST",
                         times=10, message=echo)  # fmt: skip
    handler = make(module, "SettingsHandler", splunkd.session_key, splunkd.uri,
                   settings_endpoint(), name="proxy", payload=dict(payload))  # fmt: skip
    with pytest.raises(RestError) as echoed:
        handler.handleEdit(_ConfInfo())
    answer = str(echoed.value)
    assert "Bad request from" in answer
    assert password not in answer and splunkd.session_key not in answer

    def broken(self: Any, name: str, data: Any) -> None:
        raise RuntimeError(f"could not encrypt {data.get('proxy_password')}")

    monkeypatch.setattr(RestCredentials, "encrypt_for_update", broken)
    handler = make(module, "SettingsHandler", splunkd.session_key, splunkd.uri,
                   settings_endpoint(), name="proxy", payload=dict(payload))  # fmt: skip
    with pytest.raises(RestError) as failed:
        handler.handleEdit(_ConfInfo())
    answer = str(failed.value)
    assert failed.value.status == 500
    assert "Traceback" not in answer and "File " not in answer and password not in answer
    assert "ta-ringcentral-audit_settings.log" in answer
