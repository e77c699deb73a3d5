"""Poison records (issue 7, items 5 and 6): one record that cannot be read or encoded never costs
the others, and the event stream to splunkd stays well-formed UTF-8 XML.

The stream is written by the helper's EventWriterSink through splunklib's real EventWriter and
read back with expat (a strict XML parser: it refuses ``&#55296;``).
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest
import ringcentral_audit_trail_helper as helper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ringcentral_audit.answers import Malformed, parse_search
from ringcentral_audit.events import UNREADABLE, record_id, to_event
from splunklib import modularinput as smi

DEEP = "[" * 100_000 + "]" * 100_000  # far past any recursion limit
GOOD = [
    {"id": f"g{n}", "eventTime": f"2026-11-01T00:00:0{n}.000Z", "actionId": "X", "n": n}
    for n in range(4)
]


def page(*raws: str, paging: str = '{"page":1,"perPage":1000}') -> str:
    return '{"records":[' + ",".join(raws) + '],"paging":' + paging + "}"


def good(n: int) -> str:
    return json.dumps(GOOD[n], separators=(",", ":"))


def stream(events) -> str:
    """The bytes splunkd would read, through the real EventWriter, as text."""
    out, err = io.StringIO(), io.StringIO()
    writer = smi.EventWriter(output=out, error=err)
    helper.EventWriterSink(writer, index="main", source="ringcentral_audit_trail://t").write(events)
    writer.close()
    return out.getvalue()


def strict_events(text: str):
    """The <data> of every event, by a strict parser over the UTF-8 bytes splunkd gets."""
    # expat (strict): raises on any ill-formed character reference; the XML is our own output
    root = ET.fromstring(text.encode("utf-8"))  # noqa: S314
    return [e.findtext("data") for e in root.iter("event")]


# ----- item 5: one poison record never blocks the others ---------------------------------------


@pytest.mark.parametrize(
    ("poison", "reason"),
    [
        ('{"id":"deep-1","eventTime":"2026-11-01T00:00:09.000Z","details":' + DEEP + "}", "deeper"),
        ("5", "a number"),
        ('"just text"', "a string"),
        ("null", "null"),
        ("[1,2]", "a list"),
        ('{"id":"big","n":' + "9" * 5000 + "}", "not readable"),
    ],
    ids=["nested-past-the-parser", "number", "string", "null", "list", "huge-int"],
)
def test_a_poison_record_is_marked_and_every_good_record_kept(poison, reason):
    answer = parse_search(page(good(0), good(1), poison, good(2), good(3)))
    assert [r for r in answer.records if UNREADABLE not in r] == GOOD
    assert answer.unreadable == 1
    (marked,) = [r for r in answer.records if UNREADABLE in r]
    assert marked[UNREADABLE]["raw"] == poison  # the record's own text, as it came
    assert reason in marked[UNREADABLE]["reason"]
    assert answer.paging == {"page": 1, "perPage": 1000}
    events = [to_event(r, 1.0) for r in answer.records]
    assert strict_events(stream(events))[2] == events[2].data


def test_an_unreadable_record_keeps_its_id_and_time_when_they_can_be_read():
    raw = '{"eventTime":"2026-11-01T00:00:09.000Z","id":"deep-1","details":' + DEEP + "}"
    (marked,) = parse_search(page(raw)).records
    event = to_event(marked, fallback_time=5.0)
    assert event.id == "deep-1" and event.time_from_record
    assert json.loads(event.data)[UNREADABLE]["raw"] == raw


def test_a_record_without_id_with_a_lone_surrogate_gets_an_id_and_an_event():
    record = json.loads('{"actionId":"X","target":{"name":"\\udc00"}}')
    event = to_event(record, fallback_time=5.0)  # was UnicodeEncodeError
    assert event.id.startswith("sha256:")
    assert event.id == to_event(json.loads(json.dumps(record)), 5.0).id  # stable across runs
    assert json.loads(event.data) == record


def test_existing_content_ids_are_unchanged():
    """Ids of records without one are in existing checkpoints: the digest must not change."""
    record = {"eventTime": "2024-08-06T10:50:19.442Z", "actionId": "X", "who": "Zoë 田中"}
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    import hashlib

    assert record_id(record) == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize(
    "text",
    ["{", '{"paging":{}}', '{"records":5}', "[]", "", "<html>", '{"a\\x":1,"records":[5]}'],
)
def test_an_answer_without_its_shape_is_refused(text):
    with pytest.raises(Malformed):
        parse_search(text)


json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
poison_text = st.one_of(
    json_value.filter(lambda v: not isinstance(v, dict)).map(json.dumps),
    # past any JSON parser's recursion limit (3.9 to 3.13), whatever the test's own stack depth
    st.just('{"x":' + "[" * 100_000 + "]" * 100_000 + "}"),
    st.integers(min_value=4400, max_value=6000).map(lambda d: '{"id":"n","v":' + "7" * d + "}"),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    goods=st.lists(
        st.dictionaries(st.text(max_size=6), json_value, max_size=4).map(
            lambda d: {**d, "id": "x"}
        ),
        max_size=6,
    ),
    poisons=st.lists(poison_text, max_size=4),
    where=st.randoms(use_true_random=False),
)
def test_any_mix_of_good_and_poison_records_keeps_every_good_one_in_order(goods, poisons, where):
    for n, record in enumerate(goods):
        record["id"] = f"good-{n}"
    raws = [json.dumps(g, separators=(",", ":")) for g in goods]
    for poison in poisons:
        raws.insert(where.randint(0, len(raws)), poison)
    answer = parse_search(page(*raws))
    assert [r for r in answer.records if UNREADABLE not in r] == goods
    assert len(answer.records) == len(raws)
    assert answer.unreadable == len(poisons)
    events = [to_event(r, 1.0) for r in answer.records]
    if events:
        assert strict_events(stream(events)) == [e.data for e in events]


# ----- item 6: the stream to splunkd is always well-formed UTF-8 XML --------------------------


def test_a_lone_surrogate_in_a_record_with_an_id_keeps_the_stream_well_formed():
    records = [json.loads(good(0)), json.loads('{"id":"s1","name":"\\ud800 x"}'), *GOOD[1:3]]
    events = [to_event(r, 1.0) for r in records]
    datas = strict_events(stream(events))  # was: &#55296; -> a strict parser kept 1 of 4
    assert len(datas) == 4
    assert [json.loads(d) for d in datas] == records  # the JSON value itself is unchanged


# Every code point, including lone surrogates, U+FFFE/U+FFFF and control characters.
any_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        any_text,
        st.one_of(any_text, st.lists(any_text, max_size=3), st.integers()),
        max_size=5,
    ),
    st.one_of(st.none(), any_text),
)
def test_any_record_becomes_an_event_that_streams_as_well_formed_xml(record, rid):
    if rid is not None:
        record["id"] = rid
    event = to_event(record, fallback_time=1.0)
    (data,) = strict_events(stream([event]))
    assert data == event.data
    assert json.loads(data) == record  # nothing lost: the same JSON value
    event.id.encode("utf-8")  # ids go to logs and the checkpoint: always encodable


def test_a_record_nested_just_within_the_parsers_limit_encodes_again_as_it_came():
    """parse_search keeps what json.loads could read; to_event must then encode it as it is."""
    kept = 0
    for depth in range(800, 1001, 4):
        raw = '{"id":"d","x":' + "[" * depth + "]" * depth + "}"
        (record,) = parse_search(page(raw)).records
        event = to_event(record, 1.0)
        if UNREADABLE in record:
            assert json.loads(event.data)[UNREADABLE]["raw"] == raw
        else:
            kept += 1
            assert event.data == raw  # not the encoder's fallback
    assert kept  # some depths near the limit were read and encoded


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.text(alphabet='{}[]",:\\ 0123456789abcdeflnrstu', max_size=80),
        st.text(alphabet='{}[]",:\\ 0123456789abcdeflnrstu', max_size=60).map(
            lambda t: '{"records":[' + t
        ),
    )
)
def test_any_answer_text_gives_records_or_malformed_never_another_error(text):
    try:
        answer = parse_search(text)
    except Malformed:
        return
    assert all(isinstance(r, dict) for r in answer.records)
    assert answer.paging is None or isinstance(answer.paging, dict)
