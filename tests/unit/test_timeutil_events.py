import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ringcentral_audit.events import record_id, to_event
from ringcentral_audit.timeutil import format_time, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-08-06T10:50:19.442Z", 1722941419.442),
        ("2024-08-06T10:50:19Z", 1722941419.0),
        ("2024-08-06T10:50:19.4Z", 1722941419.4),
        ("2024-08-06T12:50:19.442+02:00", 1722941419.442),
        ("2024-08-06T10:50:19.442123456Z", 1722941419.442),
        ("2024-08-06T10:50:19", 1722941419.0),
    ],
)
def test_parse_time_accepts_rfc3339_forms(text, expected):
    assert parse_time(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("bad", [None, "", "yesterday", "2024-13-45T00:00:00Z", 1722941419, {}])
def test_parse_time_rejects_what_is_not_a_time(bad):
    assert parse_time(bad) is None


@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_format_and_parse_round_trip_at_millisecond_precision(ms):
    epoch = ms / 1000
    text = format_time(epoch)
    assert text.endswith("Z") and len(text) == 24
    assert parse_time(text) == pytest.approx(epoch, abs=5e-4)


def test_event_keeps_the_record_json_exactly_and_its_time():
    raw = '{"id":"a1","eventTime":"2024-08-06T10:50:19.442Z","zeta":1,"alpha":{"name":"Zoë 田中"}}'
    event = to_event(json.loads(raw), fallback_time=5.0)
    assert event.data == raw
    assert event.id == "a1"
    assert event.time == 1722941419.442
    assert event.time_from_record


@pytest.mark.parametrize("when", [None, "not a time", 12345])
def test_event_without_usable_time_gets_the_fallback_and_is_flagged(when):
    record = {"id": "x", "actionId": "CHANGE_USER_INFO"}
    if when is not None:
        record["eventTime"] = when
    event = to_event(record, fallback_time=1700000000.1234)
    assert event.time == 1700000000.123
    assert not event.time_from_record


def test_record_without_id_gets_a_stable_content_id_independent_of_key_order():
    a = {"eventTime": "2024-08-06T10:50:19.442Z", "actionId": "X", "target": {"a": 1, "b": 2}}
    b = {"target": {"b": 2, "a": 1}, "actionId": "X", "eventTime": "2024-08-06T10:50:19.442Z"}
    c = dict(a, actionId="Y")
    assert record_id(a) == record_id(b)
    assert record_id(a).startswith("sha256:")
    assert record_id(a) != record_id(c)
    assert record_id({"id": ""}).startswith("sha256:")
    assert record_id({"id": 42}) == "42"
