"""Splunk's limits that the search-time configuration must survive, modelled rather than assumed:
the automatic JSON extraction stops after 5,000 bytes, REPORT regexes run under PCRE2's depth limit,
and every EVAL runs before every LOOKUP. Records are generated in any key order and size."""

from __future__ import annotations

import json
from typing import Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import checks
from .search_time import JSON_EXTRACTION_CUTOFF, compile_splunk_regex, flatten_json

APP = checks.PACKAGE
OLD_VALUE = r'\{\s*"key"\s*:\s*"([^"\\]+)"\s*,\s*"value"\s*:\s*"((?:[^"\\]|\\.)*)"'


@pytest.fixture(scope="module")
def config():
    return checks.search_time(APP)


def test_the_json_extraction_model_stops_at_the_cutoff():
    record = {"details": {"parameters": [{"key": f"k{i}", "value": "v" * 90} for i in range(80)]}}
    record.update(actionId="CHANGE_USER_INFO", clientIp="192.0.2.1")
    raw = json.dumps(record)
    assert len(raw.encode()) > JSON_EXTRACTION_CUTOFF == 5000
    fields = flatten_json(raw, JSON_EXTRACTION_CUTOFF)
    assert "actionId" not in fields and "clientIp" not in fields
    assert 0 < len(fields["details.parameters{}.key"]) < 80
    assert flatten_json(raw)["actionId"] == ("CHANGE_USER_INFO",)


@pytest.mark.parametrize("length", [10, 400, 499, 500, 5000, 100_000])
def test_the_pcre_model_fails_the_old_regex_from_about_500_characters(length):
    regex = compile_splunk_regex(OLD_VALUE)
    raw = '{"key":"k","value":"' + "a" * length + '"}'
    if length < 499:
        assert len(regex.search(raw).group(2)) == length
    else:
        with pytest.raises(Exception, match="depth limit"):
            regex.search(raw)


def test_every_report_regex_is_depth_safe(config):
    # a 200,000-character value full of escapes in every string position of a record
    long = 'é"x\\' * 50_000
    record = {
        "details": {"parameters": [{"key": "big", "value": long}, {"value": long, "key": "big2"}]},
        "actionId": "CHANGE_USER_INFO",
        "clientIp": "192.0.2.1",
        "initiator": {"name": long, "role": "Super Admin"},
        "target": {"name": "Dana", "objectType": "Extension"},
        "accountName": long,
    }
    raw = json.dumps(record, ensure_ascii=False)
    assert len(raw) > 400_000
    fields = config.extract(raw)
    assert fields["actionId"] == ("CHANGE_USER_INFO",)
    assert len(fields["param_big"][0]) == len(fields["param_big2"][0]) > 100_000
    assert fields["src_user"][0] == fields["accountName"][0] == _raw_json_string(long)


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
_key = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,15}", fullmatch=True)
_value = st.one_of(
    _text, st.builds(lambda c, n: c * n, st.sampled_from('ab"\\é{}[],:'), st.integers(0, 3000))
)


@st.composite
def records(draw) -> Dict:
    keys = draw(st.lists(_key, max_size=120, unique=True))
    parameters = [{"key": k, "value": draw(_value)} for k in keys]
    if draw(st.booleans()):
        parameters = [{"value": p["value"], "key": p["key"]} for p in parameters]
    details: Dict = {"parameters": parameters}
    if draw(st.booleans()):  # decoys: the record's own keys nested inside details
        details["previous"] = {
            "actionId": "DECOY",
            "id": "decoy",
            "clientIp": "0.0.0.0",
            "initiator": {"name": "Decoy"},
            "target": {"name": "Decoy", "objectType": "Extension"},
            "list": [{"actionId": "DECOY"}, [], "]", {"x": "}"}],
        }
    top = {
        "details": details,
        "Some other field (display)": draw(_text),
        "count": draw(st.integers()),
        "flag": draw(st.sampled_from([True, False, None])),
        "id": draw(st.uuids()).hex,
        "eventTime": "2026-11-30T10:00:00.000Z",
        "actionId": draw(
            st.sampled_from(["CHANGE_USER_INFO", "CHANGE_CALL_HANDLING", "LOGIN_FAILED", "X_NEW"])
        ),
        "eventType": draw(st.sampled_from(["UPDATE", "LOGIN", "Create"])),
        "accountId": "401587123008",
        "accountName": draw(_text.filter(bool)),
        "clientIp": draw(st.ip_addresses()).exploded,
        "initiator": {"extensionId": "1", "name": draw(_text.filter(bool)), "role": "Super Admin"},
        "target": {"objectId": "2", "objectType": "Extension", "name": draw(_text.filter(bool))},
        "comment": draw(_text),
    }
    order = draw(st.permutations(list(top)))
    return {key: top[key] for key in order}


def _raw_json_string(value: str) -> str:
    """A string value as it stands in the raw JSON (REPORT extractions keep the escapes)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.large_base_example,
        HealthCheck.data_too_large,
    ],
)
@given(records())
def test_key_fields_are_extracted_at_any_size_and_key_order(record):
    config = checks.search_time(APP)
    raw = json.dumps(record, ensure_ascii=False)
    fields = config.extract(raw)
    one = lambda name: fields.get(name, (None,))[0]  # noqa: E731
    assert one("actionId") == record["actionId"]
    assert one("event_id") == record["id"]
    assert one("src") == record["clientIp"]
    assert one("src_user") == _raw_json_string(record["initiator"]["name"])
    assert one("dest") == _raw_json_string(record["accountName"])
    assert one("ringcentral_category") is not None
    kind = one("ringcentral_category")
    actor = _raw_json_string(record["initiator"]["name"])
    account = _raw_json_string(record["target"]["name"])
    assert one("user") == (actor if kind == "change" else account)
    keys: List[str] = [p["key"] for p in record["details"]["parameters"]]
    for parameter in record["details"]["parameters"]:
        name = "param_" + parameter["key"].lstrip("_")
        assert _raw_json_string(parameter["value"]) in fields[name]
    assert list(fields["object_attrs"]) == (list(dict.fromkeys(keys)) or ["(none listed)"])


def test_cim_fields_mean_what_cim_says_for_every_kind_of_record():
    assert checks.cim_meaning_problems(APP) == []
    kinds = {event.get("ringcentral_category") for event in checks.events(APP)}
    assert {"change", "account_management", "authentication"} <= kinds


def test_the_user_eval_agrees_with_the_lookup_for_every_action_id(config):
    # EVAL- runs before LOOKUP-: the EVAL decides the kind from actionId itself; it must agree
    # with lookups/ringcentral_audit_actions.csv row by row (wildcard rows by an example id).
    table = next(
        lookup.table
        for lookup in config.lookups
        if lookup.table.name == "ringcentral_audit_actions"
    )
    for row in table.rows:
        action_id = (
            row["actionId"].replace("*", "X_") if row["actionId"] != "*" else "SOMETHING_NEW"
        )
        record = {
            "actionId": action_id,
            "eventType": "UPDATE",
            "initiator": {"name": "Actor"},
            "target": {"name": "Account", "objectType": "Extension"},
        }
        event = config.run(json.dumps(record))
        assert event.get("ringcentral_category") == row["ringcentral_category"], action_id
        expected = "Account" if row["object_category"] == "user" else "Actor"
        assert event.get("user") == expected, f"{action_id} ({row['ringcentral_category']})"


@pytest.mark.parametrize(
    "event_time",
    [
        "2026-11-30T10:00:00Z",
        "2026-11-30T10:00:00.1Z",
        "2026-11-30T10:00:00.123Z",
        "2026-11-30T10:00:00.123456789Z",
        "2026-11-30T10:00:00+05:30",
        "2026-11-30T10:00:00.123456789-08:00",
        "2026-11-30t10:00:00.5+00:00",
    ],
)
def test_every_rfc_3339_event_time_is_seen_whole_by_timestamp_recognition(event_time):
    import re as std_re

    props = checks.search_time(APP).props
    raw = json.dumps({"details": {"parameters": []}, "eventTime": event_time, "actionId": "X"})
    prefix = std_re.search(props["TIME_PREFIX"], raw)
    window = raw[prefix.end() : prefix.end() + int(props["MAX_TIMESTAMP_LOOKAHEAD"])]
    assert window.startswith(event_time)
