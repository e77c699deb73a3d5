"""Inputs page, as an admin uses it; the input's REST handler is the add-on's own.

Field checks are the page's (globalConfig.json validators, read here from the BUILT
globalConfig.json, so the test follows the wording there) and must stop a bad value before
anything is saved. Deleting an input must also delete its checkpoint from the KV store.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest
from playwright.sync_api import expect

from tests.standins.ringcentral import RingCentralStandIn
from tests.standins.splunkweb import SetupPages
from tests.ui.pages.admin import TIMEOUT, dialog, field, fill, open_inputs, table_row

SCHEME = "ringcentral_audit_trail"
INPUT_ENDPOINT = "ta_ringcentral_audit_ringcentral_audit_trail"
ACCOUNT_CONF = "ta_ringcentral_audit_account"
COLLECTION = "ta_ringcentral_audit_checkpoints"
START_DATE = (datetime.now(timezone.utc) - timedelta(days=30)).strftime("%Y-%m-%d")
JWT = RingCentralStandIn().jwt  # a well-formed JWT (the stand-in is never started here)


def built_error_messages(stack: SetupPages, name: str) -> List[str]:
    """The errorMsg of each of the field's validators in the built globalConfig.json."""
    config = json.loads(
        Path(
            stack.splunkd.app_dir, "appserver", "static", "js", "build", "globalConfig.json"
        ).read_text()
    )
    service = next(s for s in config["pages"]["inputs"]["services"] if s["name"] == SCHEME)
    entity = next(e for e in service["entity"] if e["field"] == name)
    return [str(v["errorMsg"]) for v in entity.get("validators", []) if v.get("errorMsg")]


@pytest.fixture
def account(stack: SetupPages) -> str:
    """An account saved earlier on the Configuration page (stored as the page stores it)."""
    stack.splunkd.set_conf(
        ACCOUNT_CONF,
        "main",
        {"server": "production", "custom_server_url": "", "client_id": "AbCdEf123"},
        encrypted={"client_secret": "cl13nt-s3cret", "jwt": JWT},
    )
    return "main"


def input_form(**change: str) -> Dict[str, str]:
    values = {
        "name": "audit_main",
        "account": "main",
        "interval": "600",
        "start_date": START_DATE,
        "action_ids": "CHANGE_USER_ROLE,CHANGE_SECRET_INFO",
    }
    values.update(change)
    return values


def create_input(page: Any, values: Dict[str, str]) -> Any:
    page.get_by_role("button", name="Create New Input").click()
    form = dialog(page)
    fill(form, values)
    form.get_by_role("button", name="Add", exact=True).click()
    return form


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("interval", "30"),
        ("interval", "every hour"),
        ("start_date", "31/01/2026"),
        ("action_ids", "CHANGE USER ROLE!"),
    ],
)
def test_a_bad_value_gets_the_fields_message_and_nothing_is_saved(
    page: Any, stack: SetupPages, account: str, name: str, bad: str
) -> None:
    open_inputs(page, stack)
    form = create_input(page, input_form(**{name: bad}))

    expect(field(form, name)).to_have_attribute("aria-invalid", "true")
    messages = built_error_messages(stack, name)
    assert messages
    one_of = re.compile("^(" + "|".join(re.escape(m) for m in messages) + ")$")
    expect(form.get_by_text(one_of)).to_be_visible()
    expect(form).to_be_visible()
    assert not [c for c in stack.splunkd.handler_calls if c[1] == "create"]
    assert stack.splunkd.inputs(SCHEME) == {}


def test_a_start_date_in_the_future_is_refused_by_the_inputs_own_validation(
    page: Any, stack: SetupPages, account: str, watch: Any
) -> None:
    """The page's pattern accepts it; the input's REST handler refuses it with the library's
    message (the same parse the input script's validate_input and every run apply), before
    splunkd would consult the script, and the admin reads it in the dialog."""
    watch.expect_status(500, INPUT_ENDPOINT)  # splunkd's answer when a handler raises
    open_inputs(page, stack)
    with page.expect_response(
        lambda r: INPUT_ENDPOINT in r.url and r.request.method == "POST", timeout=TIMEOUT
    ):
        form = create_input(page, input_form(start_date="2999-01-01"))

    message = "start_date 2999-01-01T00:00:00.000Z is in the future."
    expect(form.get_by_text(message, exact=False)).to_be_visible()
    expect(form).to_be_visible()
    assert stack.splunkd.validation_errors == []  # refused before the script was needed
    assert stack.splunkd.inputs(SCHEME) == {}


def test_a_valid_input_is_saved_and_listed(page: Any, stack: SetupPages, account: str) -> None:
    open_inputs(page, stack)
    with page.expect_response(
        lambda r: INPUT_ENDPOINT in r.url and r.request.method == "POST", timeout=TIMEOUT
    ) as answer:
        form = create_input(page, input_form())
    assert answer.value.status == 201

    expect(form).to_be_hidden(timeout=TIMEOUT)
    row = table_row(page, "audit_main")
    expect(row).to_be_visible()
    expect(row).to_contain_text("600")
    expect(row).to_contain_text("Active")
    saved = stack.splunkd.inputs(SCHEME)["audit_main"]
    assert saved["account"] == "main" and saved["interval"] == "600"
    assert saved["start_date"] == START_DATE
    assert saved["action_ids"] == "CHANGE_USER_ROLE,CHANGE_SECRET_INFO"


def saved_input(stack: SetupPages, name: str, **values: str) -> None:
    fields = {"account": "main", "interval": "300", "index": "main", "disabled": "0"}
    fields.update(values)
    stack.splunkd.set_conf("inputs", f"{SCHEME}://{name}", fields)


def test_an_input_is_disabled_then_enabled(page: Any, stack: SetupPages, account: str) -> None:
    saved_input(stack, "audit_main")
    open_inputs(page, stack)
    row = table_row(page, "audit_main")
    switch = row.get_by_role("switch")
    expect(row).to_contain_text("Active")

    with page.expect_response(lambda r: INPUT_ENDPOINT in r.url and r.request.method == "POST"):
        switch.click()
    expect(row).to_contain_text("Inactive")
    assert stack.splunkd.inputs(SCHEME)["audit_main"]["disabled"] == "1"

    with page.expect_response(lambda r: INPUT_ENDPOINT in r.url and r.request.method == "POST"):
        switch.click()
    expect(row).not_to_contain_text("Inactive")
    assert stack.splunkd.inputs(SCHEME)["audit_main"]["disabled"] == "0"


def test_deleting_an_input_deletes_its_checkpoint_only(
    page: Any, stack: SetupPages, account: str
) -> None:
    saved_input(stack, "audit_main")
    saved_input(stack, "audit_other")
    state = {"state": json.dumps({"version": 1, "cursor": "2026-01-31T00:00:00Z"})}
    stack.splunkd.kv_put(COLLECTION, "audit_main", state)
    stack.splunkd.kv_put(COLLECTION, "audit_other", state)
    open_inputs(page, stack)

    table_row(page, "audit_main").get_by_role("button", name="Delete").click()
    dialog(page).get_by_role("button", name="Delete", exact=True).click()

    expect(table_row(page, "audit_main")).to_have_count(0, timeout=TIMEOUT)
    expect(table_row(page, "audit_other")).to_be_visible()
    assert set(stack.splunkd.inputs(SCHEME)) == {"audit_other"}
    assert set(stack.splunkd.kv_documents(COLLECTION)) == {"audit_other"}
