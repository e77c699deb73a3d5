"""The built add-on (output/TA-ringcentral-audit) and its tarball (dist/), as `make package` left them.

Run with `make test-build`, which builds and packages first. Without a build, these tests skip.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Dict, List

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / "globalConfig.json").read_text(encoding="utf-8"))
APP = "TA-ringcentral-audit"
LABEL = "RingCentral Audit Trail Add-on for Splunk"
VERSION = CONFIG["meta"]["version"]
ADDON = ROOT / "output" / APP
TARBALL = ROOT / "dist" / f"{APP}-{VERSION}.tar.gz"
BEFORE_BUILD = ROOT / "build" / "globalConfig.before-build.json"
INPUT = "ringcentral_audit_trail"
INPUT_FIELDS = (
    "account",
    "index",
    "interval",
    "start_date",
    "lag_seconds",
    "overlap_seconds",
    "action_ids",
    "exclude_action_ids",
    "reconcile_days",
    "reconcile_budget_percent",
    "collection_events",
)
# Never in lib/: solnlib 8's observability stack (compiled grpc, 27 MB) and build tools.
FORBIDDEN_IN_LIB = (
    "grpc",
    "grpcio",
    "opentelemetry",
    "google",
    "googleapis",
    "protobuf",
    "pip",
    "setuptools",
    "wheel",
    "bin",
)
COMPILED = (".so", ".pyd", ".dylib", ".dll")
LIB_SIZE_LIMIT = 10 * 1024 * 1024
PYTHON_FLOOR = (3, 9)  # meta.supportedPythonVersion's oldest

pytestmark = pytest.mark.skipif(
    not (ADDON / "app.manifest").is_file(), reason="no built add-on: run `make test-build`"
)


def conf(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read(ADDON / "default" / name, encoding="utf-8")
    return parser


def lib_requirements() -> Dict[str, str]:
    pins = {}
    for line in (ROOT / "package" / "lib" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"package/lib/requirements.txt: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version
    return pins


def installed_dists() -> Dict[str, Path]:
    found = {}
    for info in (ADDON / "lib").glob("*.dist-info"):
        name, version = info.name[: -len(".dist-info")].rsplit("-", 1)
        found[canonicalize_name(name)] = info
        assert version
    return found


def metadata(info: Path) -> List[str]:
    return (info / "METADATA").read_text(encoding="utf-8").splitlines()


def dist_version(info: Path) -> str:
    return next(
        line.split(":", 1)[1].strip() for line in metadata(info) if line.startswith("Version:")
    )


# ---------------------------------------------------------------------------- app identity
def test_app_conf_names_the_app_and_its_version() -> None:
    app = conf("app.conf")
    assert app["id"]["name"] == APP
    assert app["id"]["version"] == VERSION
    assert app["package"]["id"] == APP
    assert app["launcher"]["version"] == VERSION
    assert app["ui"]["label"] == LABEL
    assert app["ui"]["is_visible"] in ("true", "1")
    assert (ADDON / "VERSION").read_text().strip().startswith(VERSION)


def test_app_manifest_matches() -> None:
    manifest = json.loads((ADDON / "app.manifest").read_text())
    info = manifest["info"]
    assert info["id"]["name"] == APP
    assert info["id"]["version"] == VERSION
    assert info["title"] == LABEL
    assert 5 <= len(info["title"]) <= 80  # AppInspect's label limits
    assert (ADDON / info["license"]["text"]).is_file()
    assert (ADDON / info["releaseNotes"]["text"]).is_file()


def test_the_version_has_one_home() -> None:
    """globalConfig.json meta.version is the source; the build copies it everywhere."""
    built = json.loads((ADDON / "appserver/static/js/build/globalConfig.json").read_text())
    assert built["meta"]["version"] == VERSION
    assert Version(VERSION)  # a PEP 440 / semver-like version AppInspect accepts


# ---------------------------------------------------------------------------- generated confs
def test_inputs_conf_declares_the_input_with_its_python_and_defaults() -> None:
    inputs = conf("inputs.conf")
    stanza = inputs[INPUT]
    assert stanza["python.version"] == "python3"
    assert [v.strip() for v in stanza["python.required"].split(",")] == ["3.9", "3.13"]
    assert stanza["interval"] == "300"
    assert stanza["index"] == "default"
    assert stanza["lag_seconds"] == "60"
    assert stanza["overlap_seconds"] == "600"
    assert stanza["collection_events"] == "true"  # on unless the input's box is cleared
    spec = (ADDON / "README" / "inputs.conf.spec").read_text()
    assert f"[{INPUT}://<name>]" in spec
    for name in INPUT_FIELDS:
        assert re.search(rf"^{name} = ", spec, re.M), f"inputs.conf.spec lacks {name}"


def test_restmap_and_web_conf_expose_the_setup_endpoints() -> None:
    restmap = conf("restmap.conf")
    web = conf("web.conf")
    for endpoint in ("account", "settings", INPUT):
        name = f"ta_ringcentral_audit_{endpoint}"
        handler = restmap[f"admin_external:{name}"]
        assert handler["handlerfile"] == f"ta_ringcentral_audit_rh_{endpoint}.py"
        assert (ADDON / "bin" / handler["handlerfile"]).is_file()
        assert handler["python.required"].replace(" ", "") == "3.9,3.13"
        assert web[f"expose:{name}"]["pattern"] == name
        assert web[f"expose:{name}_specified"]["pattern"] == f"{name}/*"


def test_the_generated_handlers_delegate_to_ours() -> None:
    account = (ADDON / "bin" / "ta_ringcentral_audit_rh_account.py").read_text()
    assert (
        "from ta_ringcentral_audit_rh_account_validation import AccountValidationHandler" in account
    )
    assert "handler=AccountValidationHandler" in account
    for field in ("client_secret", "jwt"):
        assert re.search(rf"'{field}',\s*required=True,\s*encrypted=True", account), field
    inputs = (ADDON / "bin" / f"ta_ringcentral_audit_rh_{INPUT}.py").read_text()
    assert "from ta_ringcentral_audit_rh_input import InputHandler" in inputs
    assert "handler=InputHandler" in inputs
    settings = (ADDON / "bin" / "ta_ringcentral_audit_rh_settings.py").read_text()
    assert re.search(r"'proxy_password',\s*required=False,\s*encrypted=True", settings)


def test_settings_conf_has_proxy_and_logging_defaults() -> None:
    settings = conf("ta_ringcentral_audit_settings.conf")
    assert settings["proxy"]["proxy_type"] == "http"
    assert settings["logging"]["loglevel"] == "INFO"
    spec = (ADDON / "README" / "ta_ringcentral_audit_account.conf.spec").read_text()
    for field in ("server", "custom_server_url", "client_id", "client_secret", "jwt"):
        assert re.search(rf"^{field} = ", spec, re.M), f"account spec lacks {field}"


def test_ui_pages_navigation_and_dashboard() -> None:
    views = ADDON / "default" / "data" / "ui" / "views"
    for view in ("configuration.xml", "inputs.xml", "dashboard.xml"):
        assert (views / view).is_file(), view
    nav = (ADDON / "default" / "data" / "ui" / "nav" / "default.xml").read_text()
    assert '<view name="configuration" default="true"/>' in nav
    assert '<view name="dashboard"/>' in nav
    assert '<view source="unclassified"/>' in nav  # our own nav, listing the add-on's dashboards
    assert (ADDON / "appserver" / "static" / "openapi.json").is_file()
    assert (ADDON / "metadata" / "default.meta").is_file()
    for icon in ("appIcon.png", "appIcon_2x.png", "appIconAlt.png", "appIconAlt_2x.png"):
        assert (ADDON / "static" / icon).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_add_on_s_own_code_is_in_bin() -> None:
    bin_dir = ADDON / "bin"
    for name in (
        "import_declare_test.py",
        f"{INPUT}.py",
        f"{INPUT}_helper.py",
        "ta_ringcentral_audit_rh_account_validation.py",
        "ta_ringcentral_audit_rh_input.py",
        "ringcentral_audit/__init__.py",
        "ringcentral_audit/settings.py",
        "ringcentral_audit/validation.py",
    ):
        assert (bin_dir / name).is_file(), name
    source = {p.name for p in (ROOT / "package" / "bin" / "ringcentral_audit").glob("*.py")}
    assert {p.name for p in (bin_dir / "ringcentral_audit").glob("*.py")} == source
    assert not list(bin_dir.rglob("test_*.py")), "tests must not ship"
    assert not (ADDON / "default" / "pytest-splunk-addon-data.conf").exists()


# ---------------------------------------------------------------------------- lib/
def test_lib_is_lean_and_pure_python() -> None:
    lib = ADDON / "lib"
    top = {canonicalize_name(p.name.split("-")[0]) for p in lib.iterdir()}
    assert not top & {canonicalize_name(n) for n in FORBIDDEN_IN_LIB}
    compiled = [str(p.relative_to(ADDON)) for p in ADDON.rglob("*") if p.name.endswith(COMPILED)]
    assert compiled == []
    size = sum(p.stat().st_size for p in lib.rglob("*") if p.is_file())
    assert size < LIB_SIZE_LIMIT, f"lib/ is {size / 1e6:.1f} MB"


def test_lib_holds_exactly_the_pinned_requirements() -> None:
    pins = lib_requirements()
    dists = installed_dists()
    assert set(dists) == set(pins)
    for name, info in dists.items():
        assert dist_version(info) == pins[name], name
        wheel = (info / "WHEEL").read_text()
        assert "Root-Is-Purelib: true" in wheel, f"{name} is not a pure-Python wheel"


def test_lib_dependencies_are_complete_for_python_3_9() -> None:
    """lib/ is installed with --no-deps: every requirement must still be satisfied."""
    dists = installed_dists()
    excluded = {
        canonicalize_name(line.split("#", 1)[0].strip())
        for line in (ROOT / "package" / "lib" / "exclude.txt").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    }
    environment = {
        **default_environment(),
        "python_version": "3.9",
        "python_full_version": "3.9.19",
    }
    problems = []
    for name, info in dists.items():
        for line in metadata(info):
            if line.startswith("Requires-Python:"):
                spec = line.split(":", 1)[1].strip()
                if not SpecifierSet(spec).contains("3.9.19"):
                    problems.append(f"{name} needs Python {spec}")
            if not line.startswith("Requires-Dist:"):
                continue
            requirement = Requirement(line.split(":", 1)[1].strip())
            if requirement.marker and not requirement.marker.evaluate({**environment, "extra": ""}):
                continue
            wanted = canonicalize_name(requirement.name)
            if wanted in excluded:
                continue
            if wanted not in dists:
                problems.append(f"{name} requires {requirement}: not in lib/")
            elif not requirement.specifier.contains(dist_version(dists[wanted]), prereleases=True):
                problems.append(
                    f"{name} requires {requirement}, lib/ has {dist_version(dists[wanted])}"
                )
    assert problems == []


def test_every_shipped_python_file_parses_as_python_3_9() -> None:
    problems = []
    for path in sorted(ADDON.rglob("*.py")):
        try:
            ast.parse(path.read_bytes(), str(path), feature_version=PYTHON_FLOOR)
        except SyntaxError as error:
            problems.append(f"{path.relative_to(ADDON)}: {error}")
    assert problems == []


IMPORT_CHECK = r"""
import json, os, sys, types
bin_dir = sys.argv[1]
sys.path.insert(0, bin_dir)
os.chdir(bin_dir)
# splunkd's private module that splunktaucclib's admin handler base class needs
admin = types.ModuleType("splunk.admin")
admin.MConfigHandler = object
admin.CONTEXT_APP_ONLY = 1
splunk = types.ModuleType("splunk")
splunk.admin = admin
sys.modules.update({"splunk": splunk, "splunk.admin": admin})
import import_declare_test
names = [
    "ringcentral", "solnlib", "solnlib.conf_manager", "solnlib.log",
    "solnlib.modular_input.checkpointer", "splunktaucclib",
    "splunktaucclib.rest_handler.admin_external", "splunklib", "splunklib.modularinput",
    "socks", "sockshandler", "requests", "urllib3", "websockets", "observable",
    "ringcentral_audit.settings", "ringcentral_audit.validation", "ringcentral_audit.collector",
    "ringcentral_audit_trail_helper", "ta_ringcentral_audit_rh_account_validation",
    "ta_ringcentral_audit_rh_input",
]
found = {}
for name in names:
    module = __import__(name, fromlist=["_"])
    found[name] = os.path.realpath(module.__file__)
import requests, urllib3
found["versions"] = [requests.__version__, urllib3.__version__]
print(json.dumps(found))
"""


def test_the_runtime_imports_resolve_to_bin_and_lib_only() -> None:
    """As splunkd runs a script: no site-packages, the generated import_declare_test sets the path."""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", IMPORT_CHECK, str(ADDON / "bin")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    versions = found.pop("versions")
    pins = lib_requirements()
    assert versions == [pins["requests"], pins["urllib3"]]
    addon = str(ADDON.resolve())
    outside = {name: path for name, path in found.items() if not path.startswith(addon)}
    assert outside == {}


HANDLER_CHECK = r"""
import json, os, runpy, sys, types
bin_dir = sys.argv[1]
sys.path.insert(0, bin_dir)
os.chdir(bin_dir)
started = []
admin = types.ModuleType("splunk.admin")
admin.MConfigHandler = object
admin.CONTEXT_APP_ONLY = 1
admin.init = lambda handler, ctxInfo=None: started.append(handler)
splunk = types.ModuleType("splunk")
splunk.admin = admin
sys.modules.update({"splunk": splunk, "splunk.admin": admin})
for script in sys.argv[2:]:
    runpy.run_path(os.path.join(bin_dir, script), run_name="__main__")
print(json.dumps([
    {"mro": [c.__name__ for c in handler.__mro__], "app": handler.endpoint.app,
     "model": type(handler.endpoint).__name__}
    for handler in started
]))
"""


def test_splunkd_would_start_the_setup_endpoints_with_our_handlers(tmp_path: Path) -> None:
    """Run the generated REST handler scripts as splunkd does, from etc/apps/<app>/bin."""
    apps = tmp_path / "etc" / "apps"
    apps.mkdir(parents=True)
    (apps / APP).symlink_to(ADDON.resolve(), target_is_directory=True)
    scripts = [
        "ta_ringcentral_audit_rh_account.py",
        f"ta_ringcentral_audit_rh_{INPUT}.py",
        "ta_ringcentral_audit_rh_settings.py",
    ]
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", HANDLER_CHECK, str(apps / APP / "bin"), *scripts],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    account, inputs, settings = json.loads(result.stdout.strip().splitlines()[-1])
    assert account["mro"][1] == "AccountValidationHandler"
    assert account["model"] == "SingleModel"
    assert inputs["mro"][1] == "InputHandler"
    assert inputs["model"] == "DataInputModel"
    # every endpoint behind the capability check (GuardedHandler); the Proxy and Logging tabs'
    # one handed to SettingsHandler by additional_packaging.py
    assert settings["mro"][1] == "SettingsHandler"
    for handler in (account, inputs, settings):
        assert "GuardedHandler" in handler["mro"], handler["mro"]
    assert {account["app"], inputs["app"], settings["app"]} == {APP}


# ---------------------------------------------------------------------------- tarball
def test_the_tarball_is_clean() -> None:
    assert TARBALL.is_file(), "run `make package`"
    with tarfile.open(TARBALL) as archive:
        members = archive.getmembers()
    names = [m.name for m in members]
    assert all(n == APP or n.startswith(f"{APP}/") for n in names)
    assert f"{APP}/app.manifest" in names
    assert f"{APP}/default/app.conf" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert not [n for n in names if n.endswith(COMPILED)]
    assert not [m.name for m in members if m.mode & 0o022], "group/other-writable entries"
    assert not [m.name for m in members if m.issym() or m.islnk()]
    built = {  # other tests may have run the built scripts since: ignore their bytecode
        str(p.relative_to(ADDON.parent))
        for p in ADDON.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert built == {m.name for m in members if m.isfile()}


# ---------------------------------------------------------------------------- source tree
def test_the_build_left_global_config_json_as_committed() -> None:
    """ucc-gen rewrites globalConfig.json: the committed file must already be its output."""
    assert BEFORE_BUILD.is_file(), "run `make build`"
    assert (ROOT / "globalConfig.json").read_bytes() == BEFORE_BUILD.read_bytes()
    assert CONFIG["meta"]["schemaVersion"] == "0.0.10"
    assert CONFIG["meta"]["supportedPythonVersion"] == ["3.9", "3.13"]
    assert CONFIG["meta"]["name"] == APP
    assert CONFIG["meta"]["restRoot"] == "ta_ringcentral_audit"
    assert CONFIG["meta"]["displayName"] == LABEL


def test_global_config_has_the_fields_the_add_on_reads() -> None:
    tabs = {t.get("name") or t["type"]: t for t in CONFIG["pages"]["configuration"]["tabs"]}
    account = {e["field"]: e for e in tabs["account"]["entity"]}
    assert set(account) == {
        "name",
        "server",
        "custom_server_url",
        "client_id",
        "ca_bundle_path",
        "client_secret",
        "jwt",
    }
    assert account["client_secret"]["encrypted"] is True
    assert account["jwt"]["encrypted"] is True
    assert account["server"]["defaultValue"] == "production"
    assert tabs["proxyTab"]["password"] is True
    assert tabs["logging"]["entity"][0]["field"] == "loglevel"
    (service,) = CONFIG["pages"]["inputs"]["services"]
    assert service["name"] == INPUT
    assert {e["field"] for e in service["entity"]} == {"name", *INPUT_FIELDS}
    assert CONFIG["pages"]["dashboard"]["panels"] == [{"name": "default"}]
