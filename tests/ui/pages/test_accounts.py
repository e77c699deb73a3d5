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
    page.get_by_role("button", name="Add", exact=True).click()
    form = dialog(page)
    fill(form, values)
    form.get_by_role("button", name="Add", exact=True).click()
    return form


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
    assert stored["client_secret"] == stored["jwt"] == "******"
    assert secrets_of(stack, "main") == {"client_secret": rc.client_secret, "jwt": rc.jwt}
    assert rc.logins >= 1  # the handler really logged in before saving
    assert rc.client_secret not in page.content() and rc.jwt not in page.content()
