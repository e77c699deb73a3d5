"""Leak hunt (issue 8): distinctive canary secrets through every failure path, and a scan of
everything the add-on writes or answers for any of them, in any encoding.

Paths: the account handler (create, with the real login against a hostile RingCentral that echoes
credentials, through hostile or absent proxies, over TLS to a plain-HTTP port...), the input
handler (removal with the KV store down) and the BUILT modular input (validation and runs).
Scanned: every REST answer, every file under the stand-in's $SPLUNK_HOME/var (logs), stdout and
stderr (the test's own captured output and the input's), the captured log records, the KV store,
the stored account stanza and the events.

Each case also says whether it leaks when redaction is switched off; the hunt must then find the
leak (test_..._when_redaction_is_disabled), which shows it can fail.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple
from urllib.parse import quote, quote_plus

import pytest

from tests.package.hostile import Hostile
from tests.standins.splunkd import (
    ModularInputProcess,
    SplunkdStandIn,
    input_definition_xml,
    make_splunk_home,
    parse_validation_error,
    read_tree,
    run_modular_input,
    validation_definition_xml,
)

ROOT = Path(__file__).resolve().parents[2]
APP = "TA-ringcentral-audit"
BUILT_APP = Path(os.environ.get("TA_BUILT_APP") or ROOT / "output" / APP)
ACCOUNT_CONF = "ta_ringcentral_audit_account"
SETTINGS_CONF = "ta_ringcentral_audit_settings"
COLLECTION = "ta_ringcentral_audit_checkpoints"
TOKEN_REALM = f"{APP}#token_cache"


# ----------------------------------------------------------------------------------- canaries
def _b64url(data: Dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


CLIENT_ID = "LeakHuntClientId7"
CLIENT_SECRET = "CanarySecret-Qx9+Zr/41=Kp0w&Ul3m%7"
JWT_HEADER = _b64url({"alg": "RS256"})
JWT = ".".join(
    (
        JWT_HEADER,
        _b64url({"sub": "402539300008", "exp": 3_900_000_000, "jti": "CanaryJwtBody-7f3kq2"}),
        "CanaryJwtSignature-" + "Zq8w" * 6,
    )
)
PROXY_USER = "px-user"
PROXY_PASSWORD = "CanaryProxy:Pw@/%+&1x"
URL_PASSWORD = "CanaryUrlPassw0rd-55"
HOST_PASSWORD = "CanaryHostPw-123zz"
ACCESS_TOKEN = "CanaryAccessToken-" + "k3" * 15
REFRESH_TOKEN = "CanaryRefreshToken-" + "r7" * 15
EXPIRED_JWT = JWT_HEADER + "." + _b64url({"exp": 1}) + ".CanaryExpiredSig-" + "Xw3" * 6
# Public strings a window of a secret may also be part of (not leaks).
PUBLIC = (CLIENT_ID, JWT_HEADER, "A" * 40)


def needles(secret: str, *users: str) -> Set[str]:
    """Every form of ``secret`` a leak may take: as is, URL-encoded, JSON-escaped, base64, base64
    of ``user:secret`` (HTTP Basic), and any 10 characters of it (a cut or partly masked copy)."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    forms.add(json.dumps(secret)[1:-1])
    raws = [secret.encode()] + [f"{u}:{secret}".encode() for u in users]
    raws += [f"{quote(u, safe='')}:{quote(secret, safe='')}".encode() for u in users]
    for raw in raws:
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            forms.update((encoded.decode(), encoded.decode().rstrip("=")))
    for start in range(len(secret) - 9):
        window = secret[start : start + 10]
        if not any(window in public for public in PUBLIC):
            forms.add(window)
    return forms


CANARIES: Dict[str, Set[str]] = {
    "client_secret": needles(CLIENT_SECRET, CLIENT_ID),
    "jwt": needles(JWT),
    "expired_jwt": needles(EXPIRED_JWT),
    "proxy_password": needles(PROXY_PASSWORD, PROXY_USER),
    "url_password": needles(URL_PASSWORD, "admin"),
    "host_password": needles(HOST_PASSWORD, "admin"),
    "access_token": needles(ACCESS_TOKEN),
    "refresh_token": needles(REFRESH_TOKEN),
    # the client ID and secret swapped: the secret is now the "user" of the Basic pair
    "swapped_pair": {
        base64.b64encode(f"{CLIENT_SECRET}:{CLIENT_ID}".encode()).decode()[:24],
        base64.urlsafe_b64encode(f"{CLIENT_SECRET}:{CLIENT_ID}".encode()).decode()[:24],
    },
}


def hunt(texts: Dict[str, str], *extra: str) -> List[Tuple[str, str]]:
    """(where, which canary) for every canary found in ``texts``; ``extra``: more secrets."""
    table = dict(CANARIES)
    for n, secret in enumerate(extra):
        table[f"extra{n}"] = needles(secret)
    return [
        (where, name)
        for where, text in texts.items()
        for name, forms in table.items()
        if any(form in text for form in forms)
    ]


def _dead_port() -> Tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


@pytest.fixture
def dead_port() -> Iterator[int]:
    sock, port = _dead_port()
    try:
        yield port
    finally:
        sock.close()


# ------------------------------------------------------------------------------------- cases
@dataclass
class Case:
    """One failure path. ``url``/``proxy_url`` may hold {rc}, {rc_port} and {dead}."""

    name: str
    expected: str  # words of the REST answer / the input's error
    token: str = "ok"
    search: str = "ok"
    url: str = field(default="{rc}", repr=False)  # reports never show a canary
    account: Dict[str, str] = field(default_factory=dict, repr=False)
    proxy: Optional[Dict[str, str]] = field(
        default=None, repr=False
    )  # the Proxy tab's stanza; proxy_url "hostile" = echo
    scope: str = field(default="ReadAuditTrail", repr=False)
    network: bool = True  # whether any request may reach RingCentral or a proxy
    cached: bool = False  # the built input starts with a cached token of these credentials
    lead: str = "pair"  # what the hostile server echoes first (see tests/package/hostile.py)
    pad: int = 0
    # (route regex, method): splunkd answers the first two such calls 500 with a message echoing
    # the session key, the client secret and the JWT (solnlib retries it)
    splunkd_fault: Optional[Tuple[str, str]] = None
    leaks_unredacted: bool = True  # whether a leak shows when redaction is off


HTTP_PROXY = {"proxy_type": "http", "proxy_url": "127.0.0.1", "proxy_username": PROXY_USER}
CASES = [
    Case("wrong secret, echoed", "client ID or client secret", token="401_echo"),
    Case(
        "wrong secret echoed across the 300-character cut",
        "client ID or client secret",
        token="401_echo",
        pad=300 - len(CLIENT_ID) - 1 - 15,
    ),
    Case(
        "wrong secret echoed as base64 without Basic",
        "client ID or client secret",
        token="401_echo",
        lead="bare",
    ),
    Case(
        "client ID and secret swapped",
        "(client ID 'Cana...' (34 characters))",
        token="401_echo",
        account={"client_id": CLIENT_SECRET, "client_secret": CLIENT_ID},
    ),
    Case(
        "client ID too long for the page's validator",
        "longer than 200 characters",
        account={"client_id": "X" * 201},
        network=False,
        leaks_unredacted=False,
    ),
    Case(
        "expired JWT (seen locally)",
        "expired on",
        account={"jwt": EXPIRED_JWT},
        network=False,
        leaks_unredacted=False,
    ),
    Case(
        "JWT refused by the server, echoed",
        "refused the JWT",
        token="400_echo",
        lead="decoded_body",
    ),
    Case(
        "token endpoint error echoing the request",
        "server error",
        token="503_echo",
        lead="header",
    ),
    Case(
        "token endpoint plain-text echo",
        "server error",
        token="502_text",
        lead="body",
        leaks_unredacted=False,  # a non-JSON body is never quoted
    ),
    Case(
        "token answer that is not JSON, echoing the request",
        "malformed or truncated body",
        token="200_text",
        lead="decoded_body",
        leaks_unredacted=False,
    ),
    Case("search refused, echoed", "refused the search", search="403_echo", lead="bare"),
    Case("search rejected, echoed", "rejected the search", search="400_echo", lead="header"),
    Case("access token refused twice, echoed", "access token", search="401_echo", lead="bare"),
    Case(
        "search server error, plain text",
        "server error",
        search="500_text",
        lead="bare",
        leaks_unredacted=False,  # a non-JSON body is never quoted
    ),
    Case(
        "token in the scope",
        "ReadAuditTrail permission",
        scope=f"ReadAccounts {ACCESS_TOKEN}",
    ),
    Case(
        "splunkd echoes the session key and secrets when they are stored (retried)",
        "saved",
        splunkd_fault=("storage/passwords", "POST"),
        leaks_unredacted=False,  # splunktaucclib retries it without quoting the answer
    ),
    Case(
        "unreachable host",
        "Could not reach",
        url="http://127.0.0.1:{dead}",
        leaks_unredacted=False,
    ),
    Case(
        "TLS failure",
        "TLS verification",
        url="https://127.0.0.1:{rc_port}",
        leaks_unredacted=False,
    ),
    Case(
        "server URL with user:password@",
        "credentials belong in the account's Client ID",
        url="http://admin:" + URL_PASSWORD + "@127.0.0.1:{rc_port}",
        network=False,
        leaks_unredacted=False,
    ),
    Case(
        "server URL with user:password@, no scheme",
        "credentials belong in the account's Client ID",
        url="admin:" + URL_PASSWORD + "@127.0.0.1",
        network=False,
        leaks_unredacted=False,
    ),
    Case(
        "proxy refuses, echoing the credentials",
        "refused the credentials",
        proxy={**HTTP_PROXY, "proxy_url": "hostile"},
        lead="proxy_pair",
        leaks_unredacted=False,  # a 407's body is never quoted
    ),
    Case(
        "proxy CONNECT refused, echoed in the reason",
        "Could not connect through the configured http proxy",
        url="https://127.0.0.1:{rc_port}",
        proxy={**HTTP_PROXY, "proxy_url": "hostile"},
        lead="proxy_pair",
        leaks_unredacted=False,  # a transport failure's text is matched, never quoted
    ),
    Case(
        "proxy unreachable",
        "Could not connect through the configured http proxy",
        proxy={**HTTP_PROXY, "proxy_port": "{dead}"},
        leaks_unredacted=False,
    ),
    Case(
        "socks5 proxy unreachable",
        "Could not connect through the configured socks5 proxy",
        proxy={**HTTP_PROXY, "proxy_type": "socks5", "proxy_port": "{dead}"},
        leaks_unredacted=False,
    ),
    Case(
        "proxy host with user:password@",
        "Username and Password",
        proxy={**HTTP_PROXY, "proxy_url": "admin:" + HOST_PASSWORD + "@127.0.0.1"},
        network=False,
        leaks_unredacted=False,
    ),
    Case(
        "proxy host with scheme and user:password@",
        "Username and Password",
        proxy={**HTTP_PROXY, "proxy_url": "http://admin:" + HOST_PASSWORD + "@127.0.0.1"},
        network=False,
        leaks_unredacted=False,
    ),
]


# ------------------------------------------------------------------------- the REST handlers
@pytest.fixture(scope="module")
def handlers() -> Iterator[Tuple[types.ModuleType, types.ModuleType]]:
    """The two handler modules, imported as splunkd would (with a stand-in splunk.admin)."""
    import importlib
    import sys

    from tests.package.test_build_rest_handlers import _fake_splunk_admin

    saved = {name: sys.modules.get(name) for name in ("splunk", "splunk.admin")}
    try:
        importlib.import_module("splunk.admin")
    except ImportError:
        sys.modules.update(_fake_splunk_admin())
    try:
        yield (
            importlib.import_module("ta_ringcentral_audit_rh_account_validation"),
            importlib.import_module("ta_ringcentral_audit_rh_input"),
        )
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def account_model() -> Any:
    """The account endpoint UCC generates from globalConfig.json, with its field validators."""
    from splunktaucclib.rest_handler.endpoint import RestModel, SingleModel, field, validator

    config = json.loads((ROOT / "globalConfig.json").read_text())
    tab = next(t for t in config["pages"]["configuration"]["tabs"] if t.get("name") == "account")

    def validators(entity: Dict[str, Any]) -> Any:
        made = []
        for rule in entity.get("validators", []):
            if rule["type"] == "regex":
                made.append(validator.Pattern(regex=rule["pattern"]))
            elif rule["type"] == "string":
                made.append(validator.String(min_len=rule["minLength"], max_len=rule["maxLength"]))
        return validator.AllOf(*made) if made else None

    fields = [
        field.RestField(
            e["field"],
            required=bool(e.get("required")),
            encrypted=bool(e.get("encrypted")),
            validator=validators(e),
        )
        for e in tab["entity"]
        if e["field"] != "name"
    ]
    name = next(e for e in tab["entity"] if e["field"] == "name")
    special = [field.RestField("name", required=True, validator=validators(name))]
    model = RestModel(fields, name=None, special_fields=special)
    return SingleModel(ACCOUNT_CONF, model, config_name="account", app=APP)


class Scene:
    """A Splunk instance (splunkd stand-in, $SPLUNK_HOME/var/log) and a hostile RingCentral."""

    def __init__(self, home: Path, splunkd: SplunkdStandIn, rc: Hostile, dead: int) -> None:
        self.home = home
        self.splunkd = splunkd
        self.rc = rc
        self.dead = dead
        self.answers: List[str] = []
        self.log_files: Set[str] = set()

    def fill(self, text: str) -> str:
        return text.format(rc=self.rc.base_url, rc_port=self.rc.port, dead=self.dead)

    def texts(self, capfd: Any, caplog: Any) -> Dict[str, str]:
        out, err = capfd.readouterr()
        texts = {f"answer{n}": a for n, a in enumerate(self.answers)}
        texts.update(read_tree(str(self.home / "var")))
        for path in self.log_files:
            if os.path.exists(path):
                texts[path] = Path(path).read_text(errors="replace")
        texts["stdout"], texts["stderr"], texts["log records"] = out, err, caplog.text
        texts["kvstore"] = json.dumps(self.splunkd.kv_documents(COLLECTION))
        texts["account stanza"] = json.dumps(self.splunkd.conf_stanza(ACCOUNT_CONF, "leak"))
        return texts


@pytest.fixture
def scene(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dead_port: int) -> Iterator[Scene]:
    from ringcentral_audit.errors import SECRETS
    from solnlib import log

    # Each case starts with no secret known, as a fresh splunkd process would: a value an
    # earlier case registered must not hide a leak of this one.
    for name, value in list(vars(SECRETS).items()):
        if name != "_lock":
            monkeypatch.setattr(SECRETS, name, type(value)())

    home = tmp_path / "splunk"
    (home / "var" / "log" / "splunk").mkdir(parents=True)
    log.Logs.set_context(directory=str(home / "var" / "log" / "splunk"))
    with (
        SplunkdStandIn() as splunkd,
        Hostile(access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN) as rc,
    ):
        splunkd.declare_conf(ACCOUNT_CONF)
        splunkd.grant_from_authorize_conf(str(ROOT / "package" / "default" / "authorize.conf"))
        splunkd.create_collection(COLLECTION)
        monkeypatch.setenv("SPLUNKD_URI", splunkd.uri)
        import splunktaucclib.rest_handler.credentials as credentials

        monkeypatch.setattr(credentials, "get_base_app_name", lambda: APP)
        yield Scene(home, splunkd, rc, dead_port)


def create_account(module: types.ModuleType, scene: Scene, case: Case) -> None:
    """Save the case's account through the account handler, as the setup page would."""
    from splunktaucclib.rest_handler.error import RestError
    from splunktaucclib.rest_handler.handler import RestHandler

    from tests.package.test_build_rest_handlers import _ConfInfo

    if case.proxy is not None:
        stanza = {"proxy_enabled": "1", "proxy_port": str(scene.rc.port), "proxy_rdns": "0"}
        stanza.update({k: scene.fill(v) for k, v in case.proxy.items()})
        hostile_proxy = stanza["proxy_url"] == "hostile"
        if hostile_proxy:
            stanza["proxy_url"] = "127.0.0.1"
            stanza["proxy_port"] = str(scene.proxy.port)  # type: ignore[attr-defined]
        scene.splunkd.set_conf(
            SETTINGS_CONF, "proxy", stanza, encrypted={"proxy_password": PROXY_PASSWORD}
        )
    payload = {
        "server": "custom",
        "custom_server_url": scene.fill(case.url),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "jwt": JWT,
        "ca_bundle_path": "",
        **case.account,
    }
    handler = module.AccountValidationHandler.__new__(module.AccountValidationHandler)
    handler.callerArgs = types.SimpleNamespace(id="leak", data={})
    handler.payload = payload
    handler.getSessionKey = lambda: scene.splunkd.session_key
    handler.handler = RestHandler(scene.splunkd.uri, scene.splunkd.session_key, account_model())
    scene.log_files.update(getattr(h, "baseFilename", "") for h in module.get_logger().handlers)
    try:
        handler.handleCreate(_ConfInfo())
    except RestError as error:
        scene.answers.append(f"{error} | {error.message}")
    else:
        scene.answers.append("saved")


def run_account_case(handlers: Any, scene: Scene, case: Case) -> None:
    module, _ = handlers
    if case.splunkd_fault is not None:
        pattern, method = case.splunkd_fault
        echo = f"Bad request: Authorization: Splunk {scene.splunkd.session_key} body: "
        echo += f"client_secret={quote(CLIENT_SECRET)}&jwt={JWT}"
        scene.splunkd.inject_fault(pattern, 500, method=method, times=2, message=echo)
    with Hostile(as_proxy=True) as proxy:
        scene.proxy = proxy  # type: ignore[attr-defined]
        scene.rc.token, scene.rc.search, scene.rc.scope = case.token, case.search, case.scope
        scene.rc.lead, scene.rc.pad = proxy.lead, proxy.pad = case.lead, case.pad
        create_account(module, scene, case)
        proxied = proxy.requests
    if not case.network:
        assert scene.rc.requests == [] and proxied == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_account_handler_path_leaks_a_secret(
    handlers: Any, scene: Scene, case: Case, capfd: Any, caplog: Any
) -> None:
    run_account_case(handlers, scene, case)

    (answer,) = scene.answers
    assert case.expected in answer, answer
    if answer != "saved":
        assert scene.splunkd.conf_stanza(ACCOUNT_CONF, "leak") is None  # refused, not saved
    assert hunt(scene.texts(capfd, caplog), scene.splunkd.session_key) == []


@pytest.fixture
def redaction_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The redaction broken as issue 8 found it: nothing replaced, text merely cut; and the
    window through which a server's text enters wide open (issue 17)."""
    import ringcentral_audit.httperrors as httperrors
    import ringcentral_audit.validation as validation
    from ringcentral_audit.errors import SecretRegistry

    for module in (httperrors, validation):
        monkeypatch.setattr(module, "window", lambda text, limit=300: str(text)[:limit])

    monkeypatch.setattr(
        SecretRegistry,
        "redact",
        lambda self, text, limit=None: str(text) if limit is None else str(text)[:limit],
    )
    monkeypatch.setattr(httperrors, "mask", repr)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_hunt_finds_the_leaks_when_redaction_is_disabled(
    handlers: Any, scene: Scene, case: Case, capfd: Any, caplog: Any, redaction_off: None
) -> None:
    run_account_case(handlers, scene, case)
    found = hunt(scene.texts(capfd, caplog), scene.splunkd.session_key)
    assert bool(found) == case.leaks_unredacted, found


def test_an_input_handler_failure_leaks_no_session_key(
    handlers: Any, scene: Scene, monkeypatch: pytest.MonkeyPatch, capfd: Any, caplog: Any
) -> None:
    import solnlib.utils
    from splunktaucclib.rest_handler.error import RestError

    from tests.package.test_build_rest_handlers import _ConfInfo

    _, module = handlers
    monkeypatch.setattr(solnlib.utils.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(module.AdminExternalHandler, "handleRemove", lambda self, conf: None)
    scene.splunkd.kv_put(COLLECTION, "leaky", {"state": "{}"})
    scene.splunkd.kvstore_status = "starting"
    handler = module.InputHandler.__new__(module.InputHandler)
    handler.callerArgs = types.SimpleNamespace(id="leaky", data={})
    handler.payload = None
    handler.getSessionKey = lambda: scene.splunkd.session_key
    scene.log_files.update(getattr(h, "baseFilename", "") for h in module.get_logger().handlers)
    with pytest.raises(RestError) as caught:
        handler.handleRemove(_ConfInfo())
    scene.answers.append(f"{caught.value} | {caught.value.message}")
    scene.splunkd.kvstore_status = "ready"
    assert hunt(scene.texts(capfd, caplog), scene.splunkd.session_key) == []


# ---------------------------------------------------------------------- the built modular input
@pytest.fixture(scope="module")
def built_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    helper = BUILT_APP / "bin" / "ringcentral_audit_trail_helper.py"
    if not helper.is_file():
        pytest.skip("output/TA-ringcentral-audit is missing: run `make build`")
    snapshot = tmp_path_factory.mktemp("built") / APP
    shutil.copytree(BUILT_APP, snapshot, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return snapshot


@pytest.fixture(scope="module")
def unredacted_app(built_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built add-on whose redaction is broken (for the hunt's own test)."""
    copy = tmp_path_factory.mktemp("unredacted") / APP
    shutil.copytree(built_app, copy)
    errors = copy / "bin" / "ringcentral_audit" / "errors.py"
    os.chmod(errors, 0o644)
    with errors.open("a") as handle:
        handle.write(
            "\nSecretRegistry.redact = lambda self, text, limit=None: "  # type: ignore
            "str(text) if limit is None else str(text)[:limit]\n"
            "\nwindow = lambda text, limit=300: str(text)[:limit]\n"
        )
    client = copy / "bin" / "ringcentral_audit" / "client.py"
    os.chmod(client, 0o644)
    with client.open("a") as handle:
        handle.write("\nmask = repr\n")
    return copy


MODINPUT_CASES = [
    Case("run: wrong secret, echoed", "client ID or client secret", token="401_echo"),
    Case(
        "run: client ID and secret swapped",
        "(client ID 'Cana...' (34 characters))",
        token="401_echo",
        account={"client_id": CLIENT_SECRET, "client_secret": CLIENT_ID},
    ),
    Case(
        "run: token endpoint server error echoing the request (retried)",
        "server error",
        token="503_echo",
        lead="header",
    ),
    Case("run: JWT refused, echoed", "refused the JWT", token="400_echo", lead="decoded_body"),
    Case("run: search refused, echoed", "refused the search", search="403_echo", lead="bare"),
    Case("run: cached token refused twice, echoed", "access token", search="401_echo", cached=True),
    Case(
        "run: TLS failure",
        "TLS verification",
        url="https://127.0.0.1:{rc_port}",
        leaks_unredacted=False,
    ),
    Case(
        "run: proxy refuses, echoing the credentials",
        "refused the credentials",
        proxy={**HTTP_PROXY, "proxy_url": "hostile"},
        lead="proxy_pair",
        leaks_unredacted=False,  # a 407's body is never quoted
    ),
    Case(
        "run: server URL with user:password@ (saved by hand)",
        "credentials belong in the account's Client ID",
        url="http://admin:" + URL_PASSWORD + "@127.0.0.1:{rc_port}",
        network=False,
        leaks_unredacted=False,
    ),
    Case(
        "run: proxy host with user:password@ (saved by hand)",
        "Username and Password",
        proxy={**HTTP_PROXY, "proxy_url": "admin:" + HOST_PASSWORD + "@127.0.0.1"},
        network=False,
        leaks_unredacted=False,
    ),
]


def run_built_input(app: Path, home: Path, case: Case) -> Tuple[Dict[str, str], SplunkdStandIn]:
    """Validate the input, then run it, as splunkd would; returns every text it produced."""
    from ringcentral_audit.settings import Account

    paths = make_splunk_home(str(home), str(app))
    script = os.path.join(paths["app_dir"], "bin", "ringcentral_audit_trail.py")
    texts: Dict[str, str] = {}
    sock, dead = _dead_port()
    with (
        SplunkdStandIn() as splunkd,
        Hostile(
            access_token=ACCESS_TOKEN,
            refresh_token=REFRESH_TOKEN,
            token=case.token,
            search=case.search,
            scope=case.scope,
            lead=case.lead,
            pad=case.pad,
        ) as rc,
        Hostile(as_proxy=True, lead=case.lead) as proxy,
    ):
        splunkd.load_app(paths["app_dir"])
        fill = {"rc": rc.base_url, "rc_port": rc.port, "dead": dead}
        account = {
            "server": "custom",
            "custom_server_url": case.url.format(**fill),
            "client_id": CLIENT_ID,
            **{k: v for k, v in case.account.items() if k == "client_id"},
        }
        secrets = {"client_secret": CLIENT_SECRET, "jwt": JWT}
        secrets.update({k: v for k, v in case.account.items() if k in secrets})
        splunkd.set_conf(ACCOUNT_CONF, "acme", account, encrypted=secrets)
        # At DEBUG: every exchange is logged too (issue 17), and none of it may leak.
        splunkd.set_conf(SETTINGS_CONF, "logging", {"loglevel": "DEBUG"})
        if case.proxy is not None:
            stanza = {"proxy_enabled": "1", "proxy_port": str(proxy.port), "proxy_rdns": "0"}
            stanza.update({k: v.format(**fill) for k, v in case.proxy.items()})
            if stanza["proxy_url"] == "hostile":
                stanza["proxy_url"] = "127.0.0.1"
            splunkd.set_conf(
                SETTINGS_CONF, "proxy", stanza, encrypted={"proxy_password": PROXY_PASSWORD}
            )
        # A cached token of these very credentials, as an earlier run would have left it.
        fingerprint = Account(
            account["custom_server_url"], account["client_id"], secrets["client_secret"], JWT
        ).fingerprint()
        cache = {
            "version": 1,
            "fingerprint": fingerprint,
            "expires_at": time.time() + 3000,
            "refresh_expires_at": time.time() + 90000,
            "auth": {**rc.token_body(), "expire_time": time.time() + 3000},
        }
        if case.cached:
            splunkd.set_password(TOKEN_REALM, "acme", json.dumps(cache))
        params = {"account": "acme", "index": "main", "interval": "300", "start_date": ""}
        validation = run_modular_input(
            script,
            splunk_home=paths["splunk_home"],
            args=["--validate-arguments"],
            stdin=validation_definition_xml(
                server_uri=splunkd.uri,
                session_key=splunkd.session_key,
                checkpoint_dir=paths["checkpoint_dir"],
                name="prod",
                params=params,
            ),
        )
        with ModularInputProcess(
            script,
            splunk_home=paths["splunk_home"],
            stdin=input_definition_xml(
                server_uri=splunkd.uri,
                session_key=splunkd.session_key,
                checkpoint_dir=paths["checkpoint_dir"],
                stanzas={"ringcentral_audit_trail://prod": {**params, "disabled": "0"}},
            ),
        ) as process:
            run = process.wait(120)
        sock.close()
        if not case.network:
            assert rc.requests == [] and proxy.requests == []
        texts["validate.stdout"], texts["validate.stderr"] = validation.stdout, validation.stderr
        texts["run.stdout"], texts["run.stderr"] = run.stdout, run.stderr
        texts["events"] = json.dumps([e.data for e in run.events])
        texts.update(read_tree(os.path.join(paths["splunk_home"], "var")))
        texts["kvstore"] = json.dumps(splunkd.kv_documents(COLLECTION))
        texts["validation error"] = parse_validation_error(validation.stdout) or ""
        texts["run error"] = run.stderr
        texts["session_key"] = ""
        return texts, splunkd


@pytest.mark.parametrize("case", MODINPUT_CASES, ids=[c.name for c in MODINPUT_CASES])
def test_no_modular_input_path_leaks_a_secret(built_app: Path, tmp_path: Path, case: Case) -> None:
    texts, splunkd = run_built_input(built_app, tmp_path / "splunk", case)
    assert case.expected in texts["run error"], texts["run error"]
    assert hunt(texts, splunkd.session_key) == []


@pytest.mark.parametrize("case", MODINPUT_CASES, ids=[c.name for c in MODINPUT_CASES])
def test_the_hunt_finds_the_inputs_leaks_when_redaction_is_disabled(
    unredacted_app: Path, tmp_path: Path, case: Case
) -> None:
    texts, splunkd = run_built_input(unredacted_app, tmp_path / "splunk", case)
    found = hunt(texts, splunkd.session_key)
    assert bool(found) == case.leaks_unredacted, found
