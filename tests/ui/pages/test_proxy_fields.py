"""The Proxy tab asks for a host and port only when the proxy is enabled, and every field says
what it is for (issue 19: saving a disabled, empty proxy used to fail)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.standins.splunkweb import SetupPages
from tests.ui.pages.admin import TIMEOUT, field, open_configuration

SETTINGS_CONF = "ta_ringcentral_audit_settings"
FIELDS = (
    "proxy_enabled",
    "proxy_type",
    "proxy_url",
    "proxy_port",
    "proxy_username",
    "proxy_password",
    "proxy_rdns",
)


def _save(page: Any) -> Any:
    with page.expect_response(
        lambda r: f"{SETTINGS_CONF}/proxy" in r.url and r.request.method == "POST",
        timeout=TIMEOUT,
    ) as answer:
        page.get_by_role("button", name="Save", exact=True).click()
    return answer.value


def _required(page: Any, name: str) -> bool:
    # UCC marks a required field's label with an asterisk
    label = field(page, name).locator("label").first.inner_text()
    return "*" in label


def test_a_disabled_empty_proxy_saves_and_host_and_port_are_required_only_when_enabled(
    page: Any, stack: SetupPages
) -> None:
    open_configuration(page, stack, "Proxy")
    for name in FIELDS:
        expect(field(page, name)).to_be_visible()
        help_text = field(page, name).inner_text().strip()
        assert len(help_text.splitlines()) >= 2, f"{name} has no help text: {help_text!r}"
    checkbox = field(page, "proxy_enabled").get_by_role("checkbox")
    checkbox.uncheck()
    assert not _required(page, "proxy_url") and not _required(page, "proxy_port")
    answer = _save(page)
    assert answer.status == 200, answer.text()
    stored = stack.splunkd.conf_stanza(SETTINGS_CONF, "proxy") or {}
    assert str(stored.get("proxy_enabled") or "0").lower() in ("0", "false")

    checkbox.check()
    expect(field(page, "proxy_url").locator("label").first).to_contain_text("*")
    assert _required(page, "proxy_port")
    # enabled and empty: the page refuses to save and names the field; nothing is posted
    posted = []
    page.on(
        "request",
        lambda r: posted.append(r.url) if r.method == "POST" and "proxy" in r.url else None,
    )
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Field Host is required")).to_be_visible()
    page.wait_for_timeout(500)
    assert posted == []
