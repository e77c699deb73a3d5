"""Index-time settings of sourcetype ringcentral:audit: one event per record, _time from eventTime,
records of any realistic size kept whole."""

import json
import re
from datetime import datetime, timezone

import pytest

from . import checks
from .search_time import SOURCETYPE, read_conf

PROPS = read_conf(checks.PACKAGE / "default" / "props.conf")[SOURCETYPE]
SAMPLES = checks.record_samples(checks.PACKAGE)

# Splunk strptime -> Python strptime, for the conversions TIME_FORMAT may use here
_STRPTIME = {"%Y": "%Y", "%m": "%m", "%d": "%d", "%H": "%H", "%M": "%M", "%S": "%S"}


def splunk_time(text: str, time_format: str) -> datetime:
    """Parse the start of text as Splunk would with TIME_FORMAT (%3N and %Z supported)."""
    pattern, python_format = "", ""
    for token in re.findall(r"%\d?\w|[^%]+", time_format):
        if token in _STRPTIME:
            pattern += r"\d{4}" if token == "%Y" else r"\d{2}"
            python_format += _STRPTIME[token]
        elif token == "%3N":
            pattern += r"\d{3}"
            python_format += "%f"
        elif token == "%Z":
            pattern += r"(?:Z|UTC|GMT)"
            python_format += "Z"
        elif token.startswith("%"):
            raise AssertionError(f"TIME_FORMAT conversion {token} not handled by this test")
        else:
            pattern += re.escape(token)
            python_format += token
    match = re.match(pattern, text)
    assert match, f"{text[:40]!r} does not match TIME_FORMAT {time_format}"
    value = re.sub(r"(UTC|GMT)$", "Z", match.group())
    return datetime.strptime(value, python_format).replace(tzinfo=timezone.utc)


def index_time_timestamp(raw: str) -> datetime:
    prefix = re.search(PROPS["TIME_PREFIX"], raw)
    assert prefix, "TIME_PREFIX does not match"
    window = raw[prefix.end() : prefix.end() + int(PROPS["MAX_TIMESTAMP_LOOKAHEAD"])]
    return splunk_time(window, PROPS["TIME_FORMAT"])


def break_lines(stream: str) -> list:
    """Events as LINE_BREAKER (with SHOULD_LINEMERGE=false) cuts a stream: the first capture group
    is the boundary and is dropped."""
    breaker = re.compile(PROPS["LINE_BREAKER"])
    events, start = [], 0
    for match in breaker.finditer(stream):
        events.append(stream[start : match.start(1)])
        start = match.end(1)
    events.append(stream[start:])
    return [event for event in events if event.strip()]


def test_search_time_json_and_one_event_per_record():
    assert PROPS["KV_MODE"] == "json"
    assert PROPS["SHOULD_LINEMERGE"] == "false"
    assert re.compile(PROPS["LINE_BREAKER"]).groups >= 1, "LINE_BREAKER needs a capture group"
    assert PROPS.get("EVENT_BREAKER_ENABLE") == "true"
    assert PROPS.get("EVENT_BREAKER") == PROPS["LINE_BREAKER"]
    assert "INDEXED_EXTRACTIONS" not in PROPS, "search-time JSON only: no indexed extractions"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_stream_of_json_lines_breaks_into_the_records(newline):
    records = [json.loads(sample.raw) for sample in SAMPLES]
    stream = newline.join(json.dumps(record, separators=(",", ":")) for record in records) + newline
    events = break_lines(stream)
    assert [json.loads(event) for event in events] == records


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_time_is_taken_from_event_time(sample):
    record = sample.record
    expected = datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc
    )
    assert index_time_timestamp(sample.raw) == expected


def test_time_is_found_wherever_event_time_sits_and_not_in_other_dates():
    record = {
        "id": "1",
        "details": {"parameters": [{"key": "validUntil", "value": "2031-01-01T00:00:00.000Z"}]},
        "target": {"name": "x", "eventTimeZone": "2030-01-01T00:00:00.000Z"},
        "eventTime": "2026-06-01T10:00:00.123Z",
    }
    parsed = index_time_timestamp(json.dumps(record))
    assert parsed == datetime(2026, 6, 1, 10, 0, 0, 123000, tzinfo=timezone.utc)
    spaced = json.dumps(record, indent=1)  # "eventTime": "..." with a space
    assert index_time_timestamp(spaced) == parsed


def test_large_records_are_not_truncated():
    parameters = [{"key": f"setting{i}", "value": "x" * 300} for i in range(1000)]
    record = json.loads(SAMPLES[0].raw)
    record["details"] = {"parameters": parameters}
    size = len(json.dumps(record, separators=(",", ":")).encode("utf-8"))
    assert size < int(PROPS["TRUNCATE"]), f"a {size}-byte record would be cut"
    assert int(PROPS["TRUNCATE"]) <= 1_000_000, "keep TRUNCATE bounded"
    assert PROPS.get("TZ") == "UTC"
