"""Proxy and Logging tabs: what the admin saves lands where Splunk keeps it.

The proxy password goes to secure storage only: the page shows it masked, no conf holds it.
"""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import expect

from tests.standins.splunkd import credential_realm
from tests.standins.splunkweb import SetupPages
from tests.ui.pages.admin import TIMEOUT, field, fill, open_configuration

APP = "TA-ringcentral-audit"
SETTINGS_CONF = "ta_ringcentral_audit_settings"
SETTINGS_ENDPOINT = "ta_ringcentral_audit_settings"
PROXY_PASSWORD = "pr0xy-Pa55-w0rd"


def save(page: Any, stanza: str) -> None:
    with page.expect_response(
        lambda r: f"{SETTINGS_ENDPOINT}/{stanza}" in r.url and r.request.method == "POST",
        timeout=TIMEOUT,
    ) as answer:
        page.get_by_role("button", name="Save", exact=True).click()
    assert answer.value.status == 200, answer.value.text()


def test_the_proxy_password_is_masked_on_the_page_and_kept_only_in_secure_storage(
    page: Any, stack: SetupPages
) -> None:
    open_configuration(page, stack, "Proxy")
    field(page, "proxy_enabled").get_by_role("checkbox").check()
    fill(
        page,
        {
            "proxy_type": "socks5",
            "proxy_url": "proxy.example.com",
            "proxy_port": "1080",
            "proxy_username": "squid",
            "proxy_password": PROXY_PASSWORD,
        },
    )
    save(page, "proxy")

    stored = stack.splunkd.conf_stanza(SETTINGS_CONF, "proxy")
    assert stored is not None
    assert stored["proxy_url"] == "proxy.example.com" and stored["proxy_type"] == "socks5"
    masked = stored["proxy_password"] == "******"
    assert masked, "the conf holds the password"
    secret = stack.splunkd.clear_password(credential_realm(APP, SETTINGS_CONF), "proxy")
    in_storage = json.loads(secret or "{}") == {"proxy_password": PROXY_PASSWORD}
    assert in_storage, "secure storage does not hold the proxy password"
    in_confs = PROXY_PASSWORD in stack.splunkd.conf_files_text()
    assert not in_confs, "a conf holds the password"

    page.reload()  # what the admin sees when coming back to the tab
    page.get_by_role("tab", name="Proxy").click()
    password = field(page, "proxy_password").locator("input")
    expect(field(page, "proxy_url").locator("input")).to_have_value("proxy.example.com")
    expect(password).to_have_attribute("type", "password")
    shown = password.input_value() == PROXY_PASSWORD or PROXY_PASSWORD in page.content()
    assert not shown, "the page holds the password"


def test_the_log_level_chosen_is_what_the_conf_holds(page: Any, stack: SetupPages) -> None:
    open_configuration(page, stack, "Logging")
    fill(page, {"loglevel": "DEBUG"})
    save(page, "logging")

    assert stack.splunkd.conf_stanza(SETTINGS_CONF, "logging")["loglevel"] == "DEBUG"
    page.reload()
    page.get_by_role("tab", name="Logging").click()
    expect(field(page, "loglevel").locator('[data-test="select"]')).to_have_attribute(
        "data-test-value", "DEBUG"
    )
