"""The setup pages' REST handlers (package/bin/ta_ringcentral_audit_rh_*.py).

The account handler refuses to save an account the library cannot validate and reads the proxy
and the stored secrets the way Splunk keeps them; the input handler deletes the input's KV store
checkpoint with the input. They run with the real splunktaucclib, solnlib and splunklib against
the splunkd stand-in (tests/standins/splunkd.py); only splunkd's private ``splunk.admin``
module is replaced, and the library's network call (validate_account) is recorded instead of
made (tests/unit covers it).
"""

from __future__ import annotations

import base64
import importlib
import json
import sys
import types
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from tests.standins.splunkd import SplunkdStandIn, credential_realm

ROOT = Path(__file__).resolve().parents[2]
APP = "TA-ringcentral-audit"
ACCOUNT_CONF = "ta_ringcentral_audit_account"
SETTINGS_CONF = "ta_ringcentral_audit_settings"
COLLECTION = "ta_ringcentral_audit_checkpoints"


def make_jwt(payload: Dict[str, Any]) -> str:
    def part(data: Dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(payload)}.c2lnbmF0dXJl"


JWT = make_jwt({"sub": "402539300008", "iss": "https://platform.ringcentral.com"})
SECRET = "cl13nt-s3cret-value"
ACCOUNT = {
    "server": "production",
    "custom_server_url": "",
    "client_id": "AbCdEfGh123",
    "client_secret": SECRET,
    "jwt": JWT,
    "ca_bundle_path": "",
}


# ---------------------------------------------------------------------------- splunk.admin
class _MConfigHandler:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


def _fake_splunk_admin() -> Dict[str, types.ModuleType]:
    admin = types.ModuleType("splunk.admin")
    admin.MConfigHandler = _MConfigHandler  # type: ignore[attr-defined]
    for number, action in enumerate(("LIST", "EDIT", "CREATE", "REMOVE", "MEMBERS", "RELOAD")):
        setattr(admin, f"ACTION_{action}", number + 1)
    admin.CONTEXT_APP_ONLY = 1  # type: ignore[attr-defined]
    admin.init = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    splunk = types.ModuleType("splunk")
    splunk.admin = admin  # type: ignore[attr-defined]
    return {"splunk": splunk, "splunk.admin": admin}


@pytest.fixture(scope="module")
def handlers() -> Iterator[Tuple[types.ModuleType, types.ModuleType]]:
    """The two handler modules, imported as splunkd would (with a stand-in splunk.admin)."""
    saved = {name: sys.modules.get(name) for name in ("splunk", "splunk.admin")}
    try:
        importlib.import_module("splunk.admin")
    except ImportError:
        sys.modules.update(_fake_splunk_admin())
    try:
        account = importlib.import_module("ta_ringcentral_audit_rh_account_validation")
        inputs = importlib.import_module("ta_ringcentral_audit_rh_input")
        yield account, inputs
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from solnlib import log

    directory = tmp_path_factory.mktemp("logs")
    log.Logs.set_context(directory=str(directory))
    return directory


@pytest.fixture
def splunkd(monkeypatch: pytest.MonkeyPatch) -> Iterator[SplunkdStandIn]:
    with SplunkdStandIn() as standin:
        standin.declare_conf(ACCOUNT_CONF)
        standin.grant_from_authorize_conf(str(ROOT / "package" / "default" / "authorize.conf"))
        monkeypatch.setenv("SPLUNKD_URI", standin.uri)
        # splunktaucclib finds the app from the path of splunkd's script: here it is pytest.
        import splunktaucclib.rest_handler.credentials as credentials

        monkeypatch.setattr(credentials, "get_base_app_name", lambda: APP)
        yield standin


class _ConfItem(dict):  # type: ignore[type-arg]
    def setMetadata(self, key: str, value: Any) -> None:
        self[f"meta:{key}"] = value


class _ConfInfo(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> _ConfItem:
        self[key] = _ConfItem()
        return self[key]


def account_endpoint() -> Any:
    """The account endpoint model UCC generates, built from globalConfig.json."""
    from splunktaucclib.rest_handler.endpoint import RestModel, SingleModel, field

    config = json.loads((ROOT / "globalConfig.json").read_text())
    tab = next(t for t in config["pages"]["configuration"]["tabs"] if t.get("name") == "account")
    fields = [
        field.RestField(
            e["field"], required=bool(e.get("required")), encrypted=bool(e.get("encrypted"))
        )
        for e in tab["entity"]
        if e["field"] != "name"
    ]
    model = RestModel(fields, name=None, special_fields=[field.RestField("name", required=True)])
    return SingleModel(ACCOUNT_CONF, model, config_name="account", app=APP)


class Recorder:
    def __init__(self, error: Optional[BaseException] = None) -> None:
        self.calls: List[Tuple[Any, Any]] = []
        self.error = error

    def __call__(self, account: Any, connection: Any = None, **kwargs: Any) -> None:
        self.calls.append((account, connection))
        if self.error is not None:
            raise self.error


def account_handler(
    module: types.ModuleType, splunkd: SplunkdStandIn, name: str, payload: Dict[str, str]
) -> Any:
    from splunktaucclib.rest_handler.handler import RestHandler

    handler = module.AccountValidationHandler.__new__(module.AccountValidationHandler)
    handler.callerArgs = types.SimpleNamespace(id=name, data={})
    handler.payload = dict(payload)
    handler.getSessionKey = lambda: splunkd.session_key
    handler.handler = RestHandler(splunkd.uri, splunkd.session_key, account_endpoint())
    return handler


# ---------------------------------------------------------------------------- account handler
def test_create_validates_through_the_saved_proxy_then_saves_encrypted(
    handlers: Any, splunkd: SplunkdStandIn, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _ = handlers
    splunkd.set_conf(
        SETTINGS_CONF,
        "proxy",
        {
            "proxy_enabled": "1",
            "proxy_type": "socks5",
            "proxy_url": "proxy.example.com",
            "proxy_port": "1080",
            "proxy_username": "squid",
            "proxy_rdns": "1",
        },
        encrypted={"proxy_password": "pr0xy-pass"},
    )
    recorder = Recorder()
    monkeypatch.setattr(module, "validate_account", recorder)

    account_handler(module, splunkd, "main", ACCOUNT).handleCreate(_ConfInfo())

    (account, connection), *more = recorder.calls
    assert not more
    assert account.server_url == "https://platform.ringcentral.com"
    assert (account.client_id, account.client_secret, account.jwt) == ("AbCdEfGh123", SECRET, JWT)
    proxy = connection.proxy
    assert (proxy.type, proxy.host, proxy.port) == ("socks5", "proxy.example.com", 1080)
    assert (proxy.username, proxy.password, proxy.remote_dns) == ("squid", "pr0xy-pass", True)
    stored = splunkd.conf_stanza(ACCOUNT_CONF, "main")
    assert stored is not None
    assert stored["client_secret"] == stored["jwt"] == "******"
    assert stored["client_id"] == "AbCdEfGh123"
    clear = json.loads(splunkd.clear_password(credential_realm(APP, ACCOUNT_CONF), "main") or "{}")
    assert clear == {"client_secret": SECRET, "jwt": JWT}


def test_create_is_refused_with_the_library_message(
    handlers: Any, splunkd: SplunkdStandIn, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ringcentral_audit.errors import PermissionDenied
    from splunktaucclib.rest_handler.error import RestError

    module, _ = handlers
    message = "The RingCentral app lacks the ReadAuditTrail permission: add it, then save again."
    recorder = Recorder(PermissionDenied(message))
    monkeypatch.setattr(module, "validate_account", recorder)

    with pytest.raises(RestError) as caught:
        account_handler(module, splunkd, "main", ACCOUNT).handleCreate(_ConfInfo())

    assert caught.value.status == 400
    assert message in str(caught.value)
    assert splunkd.conf_stanza(ACCOUNT_CONF, "main") is None
    assert recorder.calls[0][1].proxy is None  # no proxy saved: a direct connection


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"jwt": "not-a-jwt"}, "JWT credential is malformed"),
        ({"client_id": ""}, "Client ID is empty"),
        ({"server": "custom", "custom_server_url": "http://rc.example.com"}, "https://"),
    ],
)
def test_bad_settings_are_refused_before_any_call(
    handlers: Any,
    splunkd: SplunkdStandIn,
    log_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: Dict[str, str],
    expected: str,
) -> None:
    from splunktaucclib.rest_handler.error import RestError

    module, _ = handlers
    recorder = Recorder()
    monkeypatch.setattr(module, "validate_account", recorder)

    with pytest.raises(RestError) as caught:
        account_handler(module, splunkd, "main", {**ACCOUNT, **change}).handleCreate(_ConfInfo())

    assert caught.value.status == 400
    assert expected in str(caught.value)
    assert not recorder.calls


def test_edit_validates_with_the_stored_secrets_the_page_did_not_resend(
    handlers: Any, splunkd: SplunkdStandIn, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _ = handlers
    recorder = Recorder()
    monkeypatch.setattr(module, "validate_account", recorder)
    account_handler(module, splunkd, "main", ACCOUNT).handleCreate(_ConfInfo())

    edit = {**ACCOUNT, "client_id": "NewClientId", "client_secret": "******", "jwt": "******"}
    account_handler(module, splunkd, "main", edit).handleEdit(_ConfInfo())

    account = recorder.calls[-1][0]
    assert (account.client_id, account.client_secret, account.jwt) == ("NewClientId", SECRET, JWT)
    stored = splunkd.conf_stanza(ACCOUNT_CONF, "main")
    assert stored is not None and stored["client_id"] == "NewClientId"
    clear = json.loads(splunkd.clear_password(credential_realm(APP, ACCOUNT_CONF), "main") or "{}")
    assert clear == {"client_secret": SECRET, "jwt": JWT}


def test_enable_or_disable_does_not_validate(
    handlers: Any, splunkd: SplunkdStandIn, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _ = handlers
    recorder = Recorder()
    edits: List[Any] = []
    monkeypatch.setattr(module, "validate_account", recorder)
    monkeypatch.setattr(
        module.AdminExternalHandler, "handleEdit", lambda self, conf: edits.append(self.payload)
    )

    account_handler(module, splunkd, "main", {"disabled": "1"}).handleEdit(_ConfInfo())

    assert edits == [{"disabled": "1"}]
    assert not recorder.calls


def test_unexpected_errors_are_logged_redacted_and_never_echoed(
    handlers: Any, splunkd: SplunkdStandIn, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from splunktaucclib.rest_handler.error import RestError

    module, _ = handlers
    leak = RuntimeError(f"boom: Authorization: Basic {SECRET} jwt={JWT}")
    monkeypatch.setattr(module, "validate_account", Recorder(leak))

    with pytest.raises(RestError) as caught:
        account_handler(module, splunkd, "main", ACCOUNT).handleCreate(_ConfInfo())

    assert caught.value.status == 500
    assert SECRET not in str(caught.value) and JWT not in str(caught.value)
    assert "RuntimeError" in str(caught.value)
    logged = (log_dir / "ta-ringcentral-audit_account_validation.log").read_text()
    assert "could not be validated" in logged
    assert SECRET not in logged and JWT not in logged
    assert splunkd.session_key not in logged


def test_merge_account_keeps_stored_values_for_placeholders_and_missing_fields(
    handlers: Any,
) -> None:
    module, _ = handlers
    stored = {**ACCOUNT, "server": "sandbox"}
    merged = module.merge_account({"client_secret": "********", "jwt": "new.jwt.value"}, stored)
    assert merged == {**stored, "jwt": "new.jwt.value"}
    assert module.merge_account({}, None) == dict.fromkeys(ACCOUNT, "")


def test_removing_an_account_deletes_the_tokens_the_inputs_cached_for_it(
    handlers: Any, splunkd: SplunkdStandIn, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ringcentral_audit_trail_helper as helper

    module, _ = handlers
    assert module.TOKEN_REALM == helper.TOKEN_REALM  # the realm the modular input writes
    monkeypatch.setattr(module, "validate_account", Recorder())
    account_handler(module, splunkd, "main", ACCOUNT).handleCreate(_ConfInfo())
    token = json.dumps({"access_token": "x" * 600, "refresh_token": "y" * 300})
    splunkd.set_password(module.TOKEN_REALM, "main", token)
    splunkd.set_password(module.TOKEN_REALM, "other", token)

    account_handler(module, splunkd, "main", {}).handleRemove(_ConfInfo())

    assert splunkd.conf_stanza(ACCOUNT_CONF, "main") is None
    assert splunkd.clear_password(credential_realm(APP, ACCOUNT_CONF), "main") is None
    assert splunkd.clear_password(module.TOKEN_REALM, "main") is None
    assert splunkd.clear_password(module.TOKEN_REALM, "other") == token


def test_removing_an_account_that_never_cached_a_token_succeeds(
    handlers: Any, splunkd: SplunkdStandIn, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _ = handlers
    monkeypatch.setattr(module, "validate_account", Recorder())
    account_handler(module, splunkd, "main", ACCOUNT).handleCreate(_ConfInfo())

    account_handler(module, splunkd, "main", {}).handleRemove(_ConfInfo())

    assert splunkd.conf_stanza(ACCOUNT_CONF, "main") is None


# ---------------------------------------------------------------------------- input handler
def input_handler(module: types.ModuleType, splunkd: SplunkdStandIn, name: str) -> Any:
    handler = module.InputHandler.__new__(module.InputHandler)
    handler.callerArgs = types.SimpleNamespace(id=name, data={})
    handler.payload = None
    handler.getSessionKey = lambda: splunkd.session_key
    return handler


@pytest.fixture
def removed(handlers: Any, monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """Input names whose stanza UCC's handler deleted (the stand-in has no data/inputs)."""
    _, module = handlers
    names: List[str] = []
    monkeypatch.setattr(
        module.AdminExternalHandler,
        "handleRemove",
        lambda self, conf: names.append(self.callerArgs.id),
    )
    return names


def test_removing_an_input_deletes_its_checkpoint_only(
    handlers: Any, splunkd: SplunkdStandIn, log_dir: Path, removed: List[str]
) -> None:
    _, module = handlers
    splunkd.kv_put(COLLECTION, "audit_main", {"state": json.dumps({"version": 1})})
    splunkd.kv_put(COLLECTION, "audit_other", {"state": json.dumps({"version": 1})})

    input_handler(module, splunkd, "audit_main").handleRemove(_ConfInfo())

    assert removed == ["audit_main"]
    assert set(splunkd.kv_documents(COLLECTION)) == {"audit_other"}


def test_removing_an_input_without_checkpoint_succeeds(
    handlers: Any, splunkd: SplunkdStandIn, log_dir: Path, removed: List[str]
) -> None:
    _, module = handlers
    splunkd.create_collection(COLLECTION)

    input_handler(module, splunkd, "never_ran").handleRemove(_ConfInfo())

    assert removed == ["never_ran"]


def test_a_kv_store_failure_is_reported_after_the_input_is_deleted(
    handlers: Any,
    splunkd: SplunkdStandIn,
    log_dir: Path,
    removed: List[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import solnlib.utils
    from splunktaucclib.rest_handler.error import RestError

    _, module = handlers
    monkeypatch.setattr(solnlib.utils.time, "sleep", lambda seconds: None)  # solnlib's retries
    splunkd.kv_put(COLLECTION, "audit_main", {"state": "{}"})
    splunkd.kvstore_status = "starting"  # every KV store call answers 503

    with pytest.raises(RestError) as caught:
        input_handler(module, splunkd, "audit_main").handleRemove(_ConfInfo())

    assert removed == ["audit_main"]
    assert caught.value.status == 500
    assert "audit_main" in str(caught.value) and COLLECTION in str(caught.value)
    assert (
        splunkd.session_key not in (log_dir / "ta-ringcentral-audit_input_handler.log").read_text()
    )
