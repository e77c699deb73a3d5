"""Accounts tab, as an admin uses it: every save runs the add-on's own account handler.

The handler logs in to RingCentral (the stand-in) with what was typed; the page shows what the
handler answered. Refusals are checked by behaviour (the dialog stays open with the handler's
message, nothing reaches the conf or secure storage), not by exact wording.
"""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest
from playwright.sync_api import expect

from tests.standins.ringcentral import RingCentralStandIn
from tests.standins.splunkd import credential_realm
from tests.standins.splunkweb import SetupPages
from tests.ui.pages.admin import TIMEOUT, dialog, fill, open_configuration, table_row

APP = "TA-ringcentral-audit"
ACCOUNT_CONF = "ta_ringcentral_audit_account"
ACCOUNT_ENDPOINT = "ta_ringcentral_audit_account"
TOKEN_REALM = f"{APP}#token_cache"


def account_form(rc: RingCentralStandIn, **change: str) -> Dict[str, str]:
    values = {
        "name": "main",
        "server": "Custom URL",
        "custom_server_url": rc.base_url,
        "client_id": rc.client_id,
        "client_secret": rc.client_secret,
        "jwt": rc.jwt,
    }
    values.update(change)
    return values


def add_account(page: Any, values: Dict[str, str]) -> Any:
    """Fill the Add dialog and save; returns the dialog once the handler has answered."""
    page.get_by_role("button", name="Add", exact=True).click()
    form = dialog(page)
    fill(form, values)
    with page.expect_response(
        lambda r: ACCOUNT_ENDPOINT in r.url and r.request.method == "POST", timeout=TIMEOUT
    ):
        form.get_by_role("button", name="Add", exact=True).click()
    return form


def assert_nowhere(stack: SetupPages, *secrets: str) -> None:
    """No answer the page got from splunkd, and no log file of Splunk, holds a secret.

    The failure names where, never the secret."""
    found = [
        f"the answer to {what}"
        for what, _status, body in stack.web.proxied
        if any(secret.encode() in body for secret in secrets)
    ]
    found += [
        log.name
        for log in stack.splunkd.log_dir.iterdir()
        if any(secret in log.read_text(errors="replace") for secret in secrets)
    ]
    assert not found, f"a secret in: {found}"


def secrets_of(stack: SetupPages, name: str) -> Any:
    stored = stack.splunkd.clear_password(credential_realm(APP, ACCOUNT_CONF), name)
    return json.loads(stored) if stored else None


def test_a_valid_account_is_saved_encrypted_and_listed(
    page: Any, stack: SetupPages, rc: RingCentralStandIn
) -> None:
    open_configuration(page, stack)
    form = add_account(page, account_form(rc))

    expect(form).to_be_hidden(timeout=TIMEOUT)
    row = table_row(page, "main")
    expect(row).to_be_visible()
    expect(row).to_contain_text(rc.client_id)
    expect(row).to_contain_text("Custom")
    stored = stack.splunkd.conf_stanza(ACCOUNT_CONF, "main")
    assert stored is not None
    masked = stored["client_secret"] == stored["jwt"] == "******"
    assert masked, "the conf holds a secret"
    stored_secrets = secrets_of(stack, "main") == {"client_secret": rc.client_secret, "jwt": rc.jwt}
    assert stored_secrets, "secure storage does not hold the secrets typed"
    assert rc.logins >= 1  # the handler really logged in before saving
    page.reload()  # the admin comes back: the list is read anew through the handler
    expect(table_row(page, "main")).to_contain_text(rc.client_id)
    shown = page.content()
    assert not (rc.client_secret in shown or rc.jwt in shown), "the page shows a secret"
    assert_nowhere(stack, rc.client_secret, rc.jwt)


def refusal_logged(stack: SetupPages) -> str:
    """The message the account handler refused the save with, from its own log line."""
    log = stack.splunkd.log_dir / "ta-ringcentral-audit_account_validation.log"
    lines = [line for line in log.read_text().splitlines() if "refused:" in line]
    assert lines, "the handler logged no refusal"
    return lines[-1].split("refused: ", 1)[1].strip()


def break_secret(rc: RingCentralStandIn, form: Dict[str, str]) -> None:
    form["client_secret"] = "not-the-" + rc.client_secret


def expire_jwt(rc: RingCentralStandIn, form: Dict[str, str]) -> None:
    rc.expire_jwt()


def drop_audit_permission(rc: RingCentralStandIn, form: Dict[str, str]) -> None:
    rc.set_permissions(app_scope_has_audit=False)


@pytest.mark.parametrize(
    "spoil",
    [break_secret, expire_jwt, drop_audit_permission, "unreachable"],
    ids=["wrong-client-secret", "expired-jwt", "no-ReadAuditTrail", "unreachable-server"],
)
def test_an_account_that_cannot_read_the_audit_trail_is_refused_with_the_handlers_message(
    page: Any, stack: SetupPages, rc: RingCentralStandIn, watch: Any, dead_port: int, spoil: Any
) -> None:
    values = account_form(rc)
    if spoil == "unreachable":
        values["custom_server_url"] = f"http://127.0.0.1:{dead_port}"
    else:
        spoil(rc, values)
    watch.expect_status(500, ACCOUNT_ENDPOINT)  # splunkd's answer when a handler raises
    open_configuration(page, stack)

    form = add_account(page, values)

    message = refusal_logged(stack)
    shown = form.get_by_text(message, exact=True)  # the handler's message, not splunkd's wrapper
    expect(shown).to_be_visible()
    shown = form.inner_text()
    assert not any(s in shown for s in (values["client_secret"], rc.jwt)), (
        "the dialog shows a secret"
    )
    assert_nowhere(stack, values["client_secret"], rc.jwt)
    assert stack.splunkd.conf_stanza(ACCOUNT_CONF, "main") is None
    assert secrets_of(stack, "main") is None
    form.get_by_role("button", name="Cancel").click()
    expect(table_row(page, "main")).to_have_count(0)


def test_editing_an_account_validates_the_new_secret_and_keeps_the_stored_jwt(
    page: Any, stack: SetupPages, rc: RingCentralStandIn
) -> None:
    open_configuration(page, stack)
    expect(add_account(page, account_form(rc))).to_be_hidden(timeout=TIMEOUT)
    rc.client_secret = "rotated-" + rc.client_secret  # the admin rotated it in the console
    logins = rc.logins

    table_row(page, "main").get_by_role("button", name="Edit").click()
    form = dialog(page)
    expect(form.locator('[data-name="jwt"] input')).not_to_have_value(rc.jwt)
    fill(form, {"client_secret": rc.client_secret})
    form.get_by_role("button", name="Update", exact=True).click()

    expect(form).to_be_hidden(timeout=TIMEOUT)
    assert rc.logins > logins
    stored_secrets = secrets_of(stack, "main") == {"client_secret": rc.client_secret, "jwt": rc.jwt}
    assert stored_secrets, "secure storage does not hold the secrets typed"
    masked = stack.splunkd.conf_stanza(ACCOUNT_CONF, "main")["client_secret"] == "******"
    assert masked, "the conf holds the secret"
    assert_nowhere(stack, rc.client_secret, rc.jwt)  # the edit dialog got placeholders only


def test_deleting_an_account_also_deletes_its_cached_token(
    page: Any, stack: SetupPages, rc: RingCentralStandIn
) -> None:
    open_configuration(page, stack)
    expect(add_account(page, account_form(rc))).to_be_hidden(timeout=TIMEOUT)
    token = json.dumps({"access_token": "a" * 400, "refresh_token": "r" * 200})
    stack.splunkd.set_password(TOKEN_REALM, "main", token)
    stack.splunkd.set_password(TOKEN_REALM, "other", token)

    table_row(page, "main").get_by_role("button", name="Delete").click()
    dialog(page).get_by_role("button", name="Delete", exact=True).click()

    expect(table_row(page, "main")).to_have_count(0, timeout=TIMEOUT)
    assert stack.splunkd.conf_stanza(ACCOUNT_CONF, "main") is None
    assert secrets_of(stack, "main") is None
    assert stack.splunkd.clear_password(TOKEN_REALM, "main") is None
    assert stack.splunkd.clear_password(TOKEN_REALM, "other") == token
