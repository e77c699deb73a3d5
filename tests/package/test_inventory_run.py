"""The inventory the input writes each run (issue 16): every input stanza splunkd has for the
add-on, disabled ones included, whatever the "Collection events" box says; and a configuration
error logged as a structured collection_error the Collection failing alert reads."""

import json

from . import test_modular_input as base

COLLECTION_SOURCETYPE = base.COLLECTION_SOURCETYPE
built_app = base.built_app  # the fixtures
harness = base.harness


def _inventory(run):
    docs = [json.loads(e.data) for e in run.events if e.sourcetype == COLLECTION_SOURCETYPE]
    return [d for d in docs if d["kind"] == "inventory"]


def _configure(harness):
    harness.splunkd.set_conf(
        "inputs",
        "ringcentral_audit_trail://prod",
        {"account": "acme", "interval": "300", "index": "main", "disabled": "0"},
    )
    harness.splunkd.set_conf(
        "inputs",
        "ringcentral_audit_trail://spare",
        {
            "account": "acme",
            "interval": "*/15 * * * *",
            "disabled": "1",
            "action_ids": "LOGIN_FAILED",
        },
    )


def test_each_run_lists_every_input_even_with_the_box_off(harness):
    _configure(harness)
    result = harness.run(collection_events="0")
    assert result.returncode == 0
    docs = _inventory(result)
    assert [(d["input"], d["disabled"], d["schedule_s"], d["action_ids"]) for d in docs] == [
        ("prod", False, 300, []),
        ("spare", True, 900, ["LOGIN_FAILED"]),
    ]
    assert {d["reported_by"] for d in docs} == {"prod"}
    kinds = {
        json.loads(e.data)["kind"] for e in result.events if e.sourcetype == COLLECTION_SOURCETYPE
    }
    assert kinds == {"inventory"}, "the box off writes no window event, only the inventory"
    # progress is logged whatever the box says: Collection stalled keys on it
    assert 'action=window_finished input="prod" window_start=' in harness.log()


def test_a_configuration_error_is_a_structured_collection_error_after_the_inventory(harness):
    _configure(harness)
    missing = harness.run(account="deleted-account")
    assert missing.returncode == 1
    assert [d["input"] for d in _inventory(missing)] == ["prod", "spare"]
    assert 'action=collection_error input="prod" error_kind=configuration message="Account ' in (
        harness.log()
    )
