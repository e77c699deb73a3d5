"""The per-record fast paths give exactly what the plain ways give, for any input."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from ringcentral_audit.events import event_time, to_event, xml_safe
from ringcentral_audit.timeutil import parse_time

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def slow_xml_safe(text: str) -> str:
    return NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z")
SHAPED = st.lists(st.sampled_from("0123456789-:T.Z tz+x9"), min_size=24, max_size=24).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(MOMENTS, SHAPED, ANY_TEXT, st.none(), st.integers()))
def test_event_time_is_parse_time(value):
    assert event_time(value) == parse_time(value)


@settings(max_examples=300, deadline=None)
@given(
    record=st.dictionaries(
        ANY_TEXT,
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=5,
    ),
    when=MOMENTS,
)
def test_event_data_is_the_records_json_made_xml_safe(record, when):
    record = {"id": "a", "eventTime": when, **record}
    event = to_event(record, 0.0)
    plain = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    assert event.data == slow_xml_safe(plain) == xml_safe(plain)
    assert event.time == parse_time(record["eventTime"]) or not event.time_from_record


def test_event_time_is_utc_whatever_the_machines_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        assert event_time("2026-06-01T00:00:00.442Z") == 1780272000.442
    finally:
        monkeypatch.undo()
        time.tzset()


def test_event_time_of_a_leap_day_and_epoch_edges():
    for text in (
        "2024-02-29T23:59:59.999Z",
        "1970-01-01T00:00:00.000Z",
        "2023-02-29T00:00:00.000Z",
    ):
        assert event_time(text) == parse_time(text)
    moment = datetime(2026, 6, 1, tzinfo=timezone.utc) + timedelta(milliseconds=442)
    assert event_time("2026-06-01T00:00:00.442Z") == round(moment.timestamp(), 3)
