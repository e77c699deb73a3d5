"""Hostile values in every field of every form (issue 17, item 2).

Each example takes a valid form (account, proxy, logging, input), replaces one non-secret field
with a generated hostile value - a control character, a trailing newline, a stanza header
("\\n[other]\\nkey=value"), 100,000 characters, non-ASCII where the page allows ASCII only - and:

* saves it through the add-on's real REST handler as an admin: refused with 400, nothing stored
  (no stanza, no secret, no input), no login attempted;
* reads it back at run time through the library's parse, as the modular input does: a
  ConfigError that names the field.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ringcentral_audit.errors import ConfigError
from ringcentral_audit.settings import (
    parse_account,
    parse_connection,
    parse_input_settings,
    parse_log_level,
    parse_proxy,
)

from tests.package.test_build_rest_handlers import (
    ACCOUNT,
    ACCOUNT_CONF,
    APP,
    SETTINGS_CONF,
    Recorder,
    _ConfInfo,
    account_endpoint,
)
from tests.package.test_least_privilege import make, modules, settings_endpoint  # noqa: F401
from tests.standins.splunkd import SplunkdStandIn

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_790_000_000.0

PROXY = {
    "proxy_enabled": "1",
    "proxy_type": "http",
    "proxy_url": "proxy.example.com",
    "proxy_port": "3128",
    "proxy_username": "squid",
    "proxy_rdns": "0",
}
INPUT = {
    "account": "main",
    "index": "main",
    "interval": "300",
    "start_date": "",
    "lag_seconds": "60",
    "overlap_seconds": "600",
    "action_ids": "CHANGE_USER_ROLE",
    "exclude_action_ids": "LOGIN",
    "collection_events": "1",
}
# (form, field, whether the page allows only ASCII there)
FIELDS: List[Tuple[str, str, bool]] = (
    [("account", "name", True), ("account", "server", True)]
    + [("account", "custom_server_url", True), ("account", "client_id", False)]
    + [("account", "ca_bundle_path", False)]
    + [("proxy", name, name != "proxy_username") for name in PROXY]
    + [("logging", "loglevel", True)]
    + [("input", "name", True)]
    + [("input", name, True) for name in INPUT]
)

CONTROL = st.sampled_from(["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\x0b"])


@st.composite
def hostile(draw: Any, valid: str, ascii_only: bool) -> str:
    kinds = ["control", "newline", "stanza", "huge"] + (["non-ascii"] if ascii_only else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "control":
        at = draw(st.integers(0, len(valid)))
        return valid[:at] + draw(CONTROL) + valid[at:]
    if kind == "newline":
        return valid + "\n"
    if kind == "stanza":
        return valid + "\n[other]\nkey=value"
    if kind == "huge":
        return (valid or "1") * (100_000 // max(1, len(valid)) + 1)
    return valid + draw(st.sampled_from(["é", "\u0661", "\uff50", "\u00a0", "ß"]))


def valid_forms(rc_url: str) -> Dict[str, Dict[str, str]]:
    account = {**ACCOUNT, "server": "custom", "custom_server_url": rc_url, "name": "probe"}
    return {
        "account": account,
        "proxy": dict(PROXY),
        "logging": {"loglevel": "DEBUG"},
        "input": {**INPUT, "name": "probe"},
    }


@pytest.fixture(scope="module")
def splunkd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SplunkdStandIn]:
    import os

    from solnlib import log

    log.Logs.set_context(directory=str(tmp_path_factory.mktemp("logs")))
    with SplunkdStandIn() as standin:
        standin.declare_conf(ACCOUNT_CONF)
        standin.grant_from_authorize_conf(str(ROOT / "package" / "default" / "authorize.conf"))
        old = os.environ.get("SPLUNKD_URI")
        os.environ["SPLUNKD_URI"] = standin.uri
        import splunktaucclib.rest_handler.credentials as credentials

        app_name = credentials.get_base_app_name
        credentials.get_base_app_name = lambda: APP  # splunkd's script path: here it is pytest
        try:
            yield standin
        finally:
            credentials.get_base_app_name = app_name
            if old is None:
                os.environ.pop("SPLUNKD_URI", None)
            else:
                os.environ["SPLUNKD_URI"] = old


def save(
    mods: Dict[str, types.ModuleType], splunkd: SplunkdStandIn, form: str, values: Dict[str, str]
) -> Tuple[Any, List[Any]]:
    """Save the form through its handler as an admin; (the RestError or None, logins tried)."""
    from splunktaucclib.rest_handler.admin_external import AdminExternalHandler
    from splunktaucclib.rest_handler.error import RestError

    values = dict(values)
    name = values.pop("name", form)
    recorder = Recorder()
    saved: List[Any] = []
    if form == "account":
        module, cls, endpoint, action = (
            mods["ta_ringcentral_audit_rh_account_validation"],
            "AccountValidationHandler",
            account_endpoint(),
            "handleCreate",
        )
    elif form == "input":
        module, cls, endpoint, action = (
            mods["ta_ringcentral_audit_rh_input"],
            "InputHandler",
            None,
            "handleCreate",
        )
    else:
        module, cls, endpoint, action = (
            mods["ta_ringcentral_audit_rh_settings_validation"],
            "SettingsHandler",
            settings_endpoint(),
            "handleEdit",
        )
    handler = make(module, cls, splunkd.session_key, splunkd.uri, endpoint, name=name,
                   payload=values)  # fmt: skip
    original: Dict[str, Callable[..., Any]] = {}
    try:
        if hasattr(module, "validate_account"):
            original["validate_account"] = module.validate_account
            module.validate_account = recorder
        original["base"] = AdminExternalHandler.__dict__[action]
        setattr(AdminExternalHandler, action, lambda self, conf: saved.append(name))
        try:
            getattr(handler, action)(_ConfInfo())
        except RestError as error:
            return error, recorder.calls + saved
        return None, recorder.calls + saved
    finally:
        setattr(AdminExternalHandler, action, original["base"])
        if "validate_account" in original:
            module.validate_account = original["validate_account"]


def run_time(form: str, values: Dict[str, str]) -> None:
    """What a run does with the stored form (raises ConfigError for a bad value)."""
    values = dict(values)
    name = values.pop("name", "probe")
    if form == "account":
        parse_account(values, NOW)
        parse_connection(values)
        parse_input_settings("probe", {"account": name}, NOW)
    elif form == "proxy":
        parse_proxy(values)
    elif form == "logging":
        parse_log_level(values)
    else:
        parse_input_settings(name, values, NOW)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), which=st.sampled_from(FIELDS))
def test_a_hostile_value_is_refused_at_save_and_at_run_and_nothing_is_stored(
    modules: Dict[str, types.ModuleType],  # noqa: F811
    splunkd: SplunkdStandIn,
    data: Any,
    which: Tuple[str, str, bool],
) -> None:
    form, field, ascii_only = which
    values = valid_forms("https://platform.example.com")[form]
    values[field] = data.draw(hostile(values[field], ascii_only), label=field)
    error, attempts = save(modules, splunkd, form, values)
    assert error is not None and error.status == 400, (form, field, error)
    assert "Traceback" not in str(error)
    assert attempts == []  # no login, no save
    assert splunkd.conf_stanza(ACCOUNT_CONF, values.get("name", "probe")) is None
    assert splunkd.conf_stanza(SETTINGS_CONF, "proxy") is None
    label = "account" if (form, field) == ("account", "name") else field
    with pytest.raises(ConfigError) as refused:
        run_time(form, values)
    assert label.lower() in str(refused.value).lower(), (field, refused.value)


def test_the_valid_forms_are_saved_and_run(
    modules: Dict[str, types.ModuleType],  # noqa: F811
    splunkd: SplunkdStandIn,
) -> None:
    """The forms the hostile values start from are accepted, so each refusal above is the
    hostile value's doing."""
    for form, values in valid_forms("https://platform.example.com").items():
        error, attempts = save(modules, splunkd, form, values)
        assert error is None, (form, error)
        assert attempts
        run_time(form, values)


def test_a_damaged_proxy_enabled_never_turns_the_proxy_off() -> None:
    for junk in ("1\n[other]\nkey=value", "yes", "enabled", "0 ", "-1"):
        stanza = {**PROXY, "proxy_enabled": junk}
        if junk.strip() in ("0",):
            assert parse_proxy(stanza) is None  # the admin's own "off" (spaces trimmed)
            continue
        with pytest.raises(ConfigError, match=r"proxy_enabled"):
            parse_proxy(stanza)
