"""globalConfig.json, the source of the setup pages and of their REST validators.

UCC turns each field's validators into both the page's checks and the REST handler's
(splunktaucclib) checks. They must accept what the library accepts and refuse what it refuses,
or an admin sees a value pass the page and fail the input, or the reverse. Needs no build.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest
from ringcentral_audit import settings
from ringcentral_audit.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / "globalConfig.json").read_text(encoding="utf-8"))
INPUT_FIELDS = {
    "name",
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
}


def tab(name: str) -> Dict[str, Any]:
    return next(
        t
        for t in CONFIG["pages"]["configuration"]["tabs"]
        if t.get("name") == name or t.get("type") == name
    )


def entity(fields: List[Dict[str, Any]], name: str) -> Dict[str, Any]:
    return next(e for e in fields if e["field"] == name)


ACCOUNT = tab("account")["entity"]
(SERVICE,) = CONFIG["pages"]["inputs"]["services"]
INPUT = SERVICE["entity"]


def ucc_accepts(field: Dict[str, Any], value: str) -> bool:
    """The field's validators as splunktaucclib applies them (an empty value skips them)."""
    if not value:
        return not field.get("required")
    for rule in field.get("validators", []):
        if rule["type"] == "regex" and not re.search(rule["pattern"], value):
            return False
        if rule["type"] == "string" and not rule["minLength"] <= len(value) <= rule["maxLength"]:
            return False
        if rule["type"] == "number":
            try:
                number = float(value)
            except ValueError:
                return False
            low, high = rule["range"]
            if not low <= number <= high or (rule.get("isInteger") and not number.is_integer()):
                return False
    return True


def library_accepts(check: Any) -> bool:
    try:
        check()
    except ConfigError:
        return False
    return True


def test_the_fixed_names() -> None:
    meta = CONFIG["meta"]
    assert meta["name"] == "TA-ringcentral-audit"
    assert meta["restRoot"] == "ta_ringcentral_audit"
    assert meta["displayName"] == "RingCentral Audit Trail Add-on for Splunk"
    assert meta["schemaVersion"] == "0.0.10"  # the form ucc-gen 6.6 writes back
    assert meta["supportedPythonVersion"] == ["3.9", "3.13"]
    assert SERVICE["name"] == "ringcentral_audit_trail"
    assert SERVICE["inputHelperModule"] == "ringcentral_audit_trail_helper"
    assert CONFIG["pages"]["dashboard"]["panels"] == [{"name": "default"}]


def test_the_account_tab() -> None:
    fields = {e["field"]: e for e in ACCOUNT}
    assert set(fields) == {
        "name",
        "server",
        "custom_server_url",
        "client_id",
        "ca_bundle_path",
        "client_secret",
        "jwt",
    }
    assert fields["client_secret"]["encrypted"] is True and fields["jwt"]["encrypted"] is True
    assert not fields["client_id"].get("encrypted")
    choices = [c["value"] for c in fields["server"]["options"]["autoCompleteFields"]]
    assert choices == ["production", "sandbox", "custom"]
    assert fields["server"]["defaultValue"] == "production"
    for name in ("client_id", "client_secret", "jwt"):
        assert "Developer Console" in fields[name]["help"] or "Credentials" in fields[name]["help"]
    assert "Audit Trail" in fields["jwt"]["help"]
    assert tab("account")["restHandlerModule"] == "ta_ringcentral_audit_rh_account_validation"
    assert tab("account")["restHandlerClass"] == "AccountValidationHandler"


def test_the_proxy_and_logging_tabs() -> None:
    proxy = tab("proxyTab")
    assert proxy["username"] is True and proxy["password"] is True
    assert proxy["dns_resolution"] is True
    types = [c["value"] for c in proxy["proxy_type"]["options"]["autoCompleteFields"]]
    assert types == ["http", "socks4", "socks5"]
    host = proxy["host"]
    for good in ("proxy.example.com", "10.1.2.3", "proxy-1.corp", "[2001:db8::1]"):
        assert ucc_accepts(host, good), good
    for bad in ("http://proxy.example.com", "proxy.example.com:8080/x", "a b"):
        assert not ucc_accepts(host, bad), bad
    level = tab("logging")["entity"][0]
    for good in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        assert ucc_accepts(level, good), good
    for bad in ("INFOxyz", "xINFO", "INFO\n[other]\nkey=value", "INFO\n", "info", ""):
        assert not ucc_accepts(level, bad), bad


def test_the_input_fields_and_handler() -> None:
    assert {e["field"] for e in INPUT} == INPUT_FIELDS
    assert SERVICE["restHandlerModule"] == "ta_ringcentral_audit_rh_input"
    assert SERVICE["restHandlerClass"] == "InputHandler"
    assert entity(INPUT, "account")["options"]["referenceName"] == "account"
    assert entity(INPUT, "index")["defaultValue"] == "default"
    for name in (
        "start_date",
        "action_ids",
        "exclude_action_ids",
        "lag_seconds",
        "overlap_seconds",
    ):
        assert not entity(INPUT, name).get("required"), name
    # COLLECTION_EVENTS.md: the per-input checkbox, on by default.
    box = entity(INPUT, "collection_events")
    assert (box["type"], box["label"], box["defaultValue"]) == (
        "checkbox",
        "Collection events",
        True,
    )
    assert not box.get("required") and "ringcentral:audit:collection" in box["help"]


@pytest.mark.parametrize(
    "url",
    [
        "https://platform.ringcentral.com",
        "https://platform.ringcentral.com/",
        "https://platform.devtest.ringcentral.com:443",
        "http://127.0.0.1:8080",
        "http://localhost:9000",
        "http://platform.ringcentral.com",
        "https://platform.ringcentral.com/restapi/v1.0",
        "ftp://platform.ringcentral.com",
        "platform.ringcentral.com",
        "https://",
    ],
)
def test_custom_server_url_agrees_with_the_library(url: str) -> None:
    field = entity(ACCOUNT, "custom_server_url")
    assert ucc_accepts(field, url) == library_accepts(lambda: settings.check_base_url(url))


def test_interval_range_is_the_library_s() -> None:
    field = entity(INPUT, "interval")
    assert field["type"] == "interval" and field["defaultValue"] == "300"
    low, high = field["options"]["range"]
    assert low == settings.MIN_INTERVAL
    now = settings.utc_now()
    assert not library_accepts(
        lambda: settings.parse_input_settings("x", {"interval": str(low - 1)}, now)
    )
    assert library_accepts(lambda: settings.parse_input_settings("x", {"interval": str(high)}, now))


@pytest.mark.parametrize(
    ("name", "default", "high"), [("lag_seconds", "60", 3600), ("overlap_seconds", "600", 86400)]
)
def test_seconds_fields_agree_with_the_library(name: str, default: str, high: int) -> None:
    field = entity(INPUT, name)
    assert field["defaultValue"] == default
    now = settings.utc_now()
    for value in ("0", default, str(high), str(high + 1), "-1", "1.5", "ten"):
        library = library_accepts(
            lambda v=value: settings.parse_input_settings("x", {name: v}, now)
        )
        assert ucc_accepts(field, value) == library, value


def _start_dates() -> List[str]:
    recent = datetime.now(timezone.utc) - timedelta(days=30)
    day = recent.strftime("%Y-%m-%d")
    return [
        day,
        f"{day}T08:30:00Z",
        f"{day}T08:30:00.123Z",
        f"{day}T08:30:00+00:00",
        f"{day}T08:30:00",
        recent.strftime("%d/%m/%Y"),
        f"{day}T08:30Z",
        "yesterday",
    ]


@pytest.mark.parametrize("value", _start_dates())
def test_start_date_format_agrees_with_the_library(value: str) -> None:
    field = entity(INPUT, "start_date")
    now = settings.utc_now()
    assert ucc_accepts(field, value) == library_accepts(
        lambda: settings.parse_start_date(value, now)
    )


@pytest.mark.parametrize(
    "value",
    [
        "CHANGE_USER_ROLE",
        "CHANGE_USER_ROLE,CHANGE_SECRET_INFO",
        "CHANGE_USER_ROLE, LOGIN_SUCCESSFULLY ;FOO.BAR",
        "CHANGE_USER_ROLE,",
        "CHANGE USER",
        "DROP TABLE;--",
        "CHANGE_USER_ROLE|X",
        "<script>",
    ],
)
def test_action_ids_agree_with_the_library(value: str) -> None:
    now = settings.utc_now()
    for name in ("action_ids", "exclude_action_ids"):
        library = library_accepts(
            lambda n=name: settings.parse_input_settings("x", {n: value}, now)
        )
        assert ucc_accepts(entity(INPUT, name), value) == library, (name, value)
