"""Search-time knowledge applied to the sample events: every field and data model each sample
declares, and pytest-splunk-addon's field, eventtype, tag and CIM test cases."""

import json

import pytest

from . import checks, psa_offline, spl_eval
from .search_time import SearchTime

APP = checks.PACKAGE
SAMPLES = checks.samples(APP)
RECORDS = checks.record_samples(APP)


@pytest.fixture(scope="module")
def config() -> SearchTime:
    return checks.search_time(APP)


@pytest.mark.parametrize("position", range(len(SAMPLES)), ids=[s.name for s in SAMPLES])
def test_sample_gets_its_declared_fields_and_data_models(position):
    assert checks.sample_problems(APP, position) == []


def test_samples_cover_every_cim_category_and_data_set():
    models = {model for sample in RECORDS for model in sample.models}
    assert models == {"Change", "Change_Account_Management", "Authentication"}
    categories = {sample.expected.get("ringcentral_category") for sample in RECORDS}
    assert categories == checks.CIM_CATEGORIES
    assert len(RECORDS) >= 30


def test_pytest_splunk_addon_cim_cases_pass():
    cases = checks.cim_cases(APP)
    assert len(cases) > 40, "expected CIM test cases for Change, Account_Management, Authentication"
    assert checks.cim_problems(APP) == []


def test_pytest_splunk_addon_field_eventtype_and_tag_cases_pass():
    assert checks.field_test_problems(APP) == []


def test_samples_list_every_recommended_cim_field():
    assert psa_offline.recommended_fields_problems(APP, SAMPLES) == []


def test_every_calculated_field_is_a_simple_independent_expression(config):
    # Splunk computes all EVAL- fields from the same input: one may not use another's result.
    assert config.evals, "no EVAL- in props.conf?"
    outputs = set(config.evals)
    aliases = {dst for _, pairs in config.aliases for _, dst in pairs}
    for name, node in config.evals.items():
        used = set(spl_eval.referenced_fields(node))
        assert not used & outputs, f"EVAL-{name} uses calculated fields {used & outputs}"
    for _, pairs in config.aliases:
        for src, _ in pairs:
            assert src not in aliases | outputs, f"FIELDALIAS source {src} is itself derived"


def test_lookups_do_not_feed_each_other(config):
    # Splunk does not support nested automatic lookups: no lookup input is another's output.
    outputs = {field for lookup in config.lookups for _, field in lookup.outputs}
    for lookup in config.lookups:
        inputs = {field for _, field in lookup.inputs}
        assert not inputs & outputs, f"{lookup.cls_name} reads lookup outputs {inputs & outputs}"
    per_lookup = [{field for _, field in lookup.outputs} for lookup in config.lookups]
    for i, first in enumerate(per_lookup):
        for second in per_lookup[i + 1 :]:
            assert not first & second, f"two lookups write {first & second}"


def test_evaluator_refuses_what_it_cannot_evaluate():
    for text in ('replace(a, "x", "y")', "a + 1", "spath(_raw, 'x')", "if(a, 'b')", "'a' . "):
        with pytest.raises(spl_eval.EvalError):
            spl_eval.parse(text)


def _record(**overrides):
    record = json.loads(RECORDS[0].raw)
    record.pop("actionId")
    record.pop("eventType")
    record.update(overrides)
    return json.dumps({k: v for k, v in record.items() if v is not None})


@pytest.mark.parametrize(
    "event_type, action",
    [
        ("CREATE", "created"),
        ("Create", "created"),
        ("create", "created"),
        ("UPDATE", "modified"),
        ("Delete", "deleted"),
        ("DELETE", "deleted"),
        ("SOMETHING_NEW", "modified"),
        (None, "modified"),
    ],
)
def test_unknown_action_ids_fall_back_on_event_type(config, event_type, action):
    event = config.run(_record(actionId="ENABLE_QUANTUM_TELEPORTER", eventType=event_type))
    assert event.get("action") == action
    assert event.get("ringcentral_category") == "change"
    assert event.get("object_category") == "configuration"
    assert event.tags == ["change"]


def test_records_without_action_id_are_still_classified(config):
    event = config.run(_record(eventType="UPDATE"))
    assert event.get("action") == "modified"
    assert event.get("ringcentral_area") == "unclassified"


@pytest.mark.parametrize("action_id", ["login_successfully", "Change_User_Role"])
def test_action_ids_match_case_insensitively(config, action_id):
    event = config.run(_record(actionId=action_id, eventType="UPDATE"))
    assert event.get("ringcentral_category") in ("authentication", "account_management")


def test_parameters_become_fields_of_their_own(config):
    record = json.loads(_record(actionId="CHANGE_USER_ROLE", eventType="UPDATE"))
    record["details"] = {
        "parameters": [
            {"key": "oldRoleName", "value": "Standard"},
            {"key": "newRoleName", "value": 'Super "Admin"'},
            {"key": "Role name (display)", "value": "x"},
            {"value": "first", "key": "valueFirst"},
        ]
    }
    event = config.run(json.dumps(record))
    assert event.get("param_oldRoleName") == "Standard"
    assert event.get("param_newRoleName") == 'Super \\"Admin\\"'  # raw JSON escapes, as in Splunk
    assert event.get("param_Role_name__display_") == "x"
    assert event.get("param_valueFirst") == "first"
    assert event.fields["object_attrs"] == (
        "oldRoleName",
        "newRoleName",
        "Role name (display)",
        "valueFirst",
    )
