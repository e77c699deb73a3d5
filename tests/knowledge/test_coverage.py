"""Collection (coverage) events: sourcetype ringcentral:audit:collection indexes them whole with
_time from "time", keeps them out of every CIM data model, and the Coverage view, the
completeness report and the collection alerts compute exactly the expected holes, gaps and
firings from them (searches run whole by spl_run)."""

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import checks, content, coverage, psa_offline
from .search_time import SOURCETYPE as RECORDS_SOURCETYPE
from .search_time import read_conf
from .test_parsing import splunk_time

APP = checks.PACKAGE
PROPS = read_conf(APP / "default" / "props.conf")
STANZA = PROPS[coverage.SOURCETYPE]
EVENTS = coverage.collection_events(APP)
SAMPLES = [s for s in checks.samples(APP) if s.metadata.get("sourcetype") == coverage.SOURCETYPE]
NOW = "2026-06-01T10:20:00Z"
EXAMPLE = {  # the contract's example, as indexed (glue fields added)
    "kind": "window",
    "input": "northwind",
    "account": "northwind_prod",
    "interval_s": 300,
    "addon_version": "1.0.0",
    "time": "2026-06-01T09:54:00.000Z",
    "run_started": "2026-06-01T09:55:00.120Z",
    "window_start": "2026-06-01T09:39:00.000Z",
    "window_end": "2026-06-01T09:54:00.000Z",
    "total_found": 12,
    "records_seen": 12,
    "emitted": 3,
    "duplicates": 9,
    "requests": 1,
    "outcome": "complete",
}
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _time_of(raw: str):
    prefix = re.search(STANZA["TIME_PREFIX"], raw)
    assert prefix, "TIME_PREFIX does not match"
    window = raw[prefix.end() : prefix.end() + int(STANZA["MAX_TIMESTAMP_LOOKAHEAD"])]
    return splunk_time(window, STANZA["TIME_FORMAT"]).timestamp()


# --- index time


def test_stanza_breaks_and_extracts_like_the_records():
    records = PROPS[RECORDS_SOURCETYPE]
    for key in ("SHOULD_LINEMERGE", "LINE_BREAKER", "EVENT_BREAKER_ENABLE", "EVENT_BREAKER", "TZ"):
        assert STANZA[key] == records[key], key
    assert STANZA["KV_MODE"] == "json"
    assert "INDEXED_EXTRACTIONS" not in STANZA, "search-time JSON only, like the records"


def test_samples_cover_both_kinds_holes_and_every_data_loss_reason():
    docs = [json.loads(s.raw) for s in SAMPLES]
    assert {d["kind"] for d in docs} == {"window", "data_loss", "inventory", "reconcile"}
    # the engine's filters on every window and data-loss event (empty: no filter)
    assert all(
        d["action_ids"] == [] and d["exclude_action_ids"] == []
        for d in docs
        if d["kind"] in ("window", "data_loss")
    )
    assert {d["reason"] for d in docs if d["kind"] == "data_loss"} == coverage.REASONS
    assert {d["outcome"] for d in docs if d["kind"] == "window"} == {"complete", "unreconciled"}
    assert any(d.get("loss_start") is None for d in docs if d["kind"] == "data_loss")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_time_is_taken_from_the_time_field(sample):
    doc = json.loads(sample.raw)
    assert _time_of(sample.raw) == coverage.epoch(doc["time"])


@given(
    order=st.permutations(sorted(EXAMPLE)),
    message=st.text(max_size=200),
    spaced=st.booleans(),
)
@SLOW
def test_time_is_found_wherever_the_key_sits_and_not_in_other_values(order, message, spaced):
    doc = {key: EXAMPLE[key] for key in order}
    doc["message"] = f'"time": "2031-01-01T00:00:00.000Z" {message}'
    doc["window_start"] = "2030-01-01T00:00:00.000Z"
    raw = json.dumps(doc, indent=1 if spaced else None)
    assert _time_of(raw) == coverage.epoch(EXAMPLE["time"])


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_stream_of_documents_breaks_into_the_documents(newline):
    breaker = re.compile(STANZA["LINE_BREAKER"])
    docs = [json.loads(s.raw) for s in SAMPLES]
    stream = newline.join(json.dumps(d, separators=(",", ":")) for d in docs) + newline
    events, start = [], 0
    for match in breaker.finditer(stream):
        events.append(stream[start : match.start(1)])
        start = match.end(1)
    assert [json.loads(e) for e in events if e.strip()] == docs


def test_volume_is_a_few_hundred_bytes_per_run_and_truncate_keeps_the_largest():
    window = len(json.dumps(EXAMPLE, separators=(",", ":")).encode("utf-8"))
    loss = max(len(s.raw.encode("utf-8")) for s in SAMPLES)
    print(f"\ncollection events: window {window} bytes (contract example), largest sample {loss}")
    assert 200 < window < 600 and loss < 1000
    hostile = dict(EXAMPLE, input="i" * 1024, account="a" * 1024, message="m" * 4000)
    size = len(json.dumps(hostile, separators=(",", ":")).encode("utf-8"))
    assert size < int(STANZA["TRUNCATE"]) <= 100_000


# --- search time and CIM


def test_collection_events_get_their_eventtype_and_enter_no_cim_data_model():
    assert len(SAMPLES) >= 15
    assert coverage.cim_problems(APP) == []


@pytest.mark.parametrize("position", range(len(SAMPLES)), ids=[s.name for s in SAMPLES])
def test_sample_fields(position):
    sample = SAMPLES[position]
    overall = checks.samples(APP).index(sample)
    assert checks.sample_problems(APP, overall) == []
    assert sample.models == []


hostile_values = st.one_of(
    st.sampled_from(["change", "authentication", "account_management", "success", "created"]),
    st.text(max_size=20),
    st.integers(),
    st.none(),
)


@given(
    extra=st.dictionaries(
        st.sampled_from(
            ["ringcentral_category", "action", "tag", "eventtype", "user", "src", "kind"]
        ),
        hostile_values,
        max_size=5,
    )
)
@SLOW
def test_no_collection_document_enters_a_cim_model_whatever_it_holds(extra):
    doc = dict(EXAMPLE, **extra)
    event = coverage.config(APP).run(json.dumps(doc), checks.INDEX_METADATA)
    assert event.eventtypes == [coverage.EVENTTYPE]
    assert event.tags == ["ringcentral_audit_collection"]
    assert psa_offline.assigned_datamodels(event.tags) == []


def test_record_eventtypes_do_not_match_collection_events_and_vice_versa():
    for event in checks.events(APP):
        is_collection = event.fields["sourcetype"] == (coverage.SOURCETYPE,)
        assert (coverage.EVENTTYPE in event.eventtypes) == is_collection
        if is_collection:
            assert event.eventtypes == [coverage.EVENTTYPE]


# --- the Coverage view


def _rows(source):
    return coverage.run(APP, coverage.view_query(APP, source), EVENTS, NOW)


def test_view_is_in_the_nav_and_laid_out_with_width_and_height():
    nav = (APP / "default" / "data" / "ui" / "nav" / "default.xml").read_text(encoding="utf-8")
    assert f'<view name="{coverage.VIEW}"/>' in nav
    path = APP / "default" / "data" / "ui" / "views" / f"{coverage.VIEW}.xml"
    board = content.load_dashboard(path)
    layout = board.definition["layout"]
    assert layout["type"] == "absolute"
    width, height = layout["options"]["width"], layout["options"]["height"]
    for item in layout["structure"]:
        pos = item["position"]
        assert pos["x"] + pos["w"] <= width and pos["y"] + pos["h"] <= height, item["item"]
    assert max(i["position"]["y"] + i["position"]["h"] for i in layout["structure"]) == height


def test_holes_are_exactly_the_gaps_between_windows():
    assert coverage.holes(APP, EVENTS) == coverage.EXPECTED_HOLES


def test_covered_periods_merge_adjacent_and_repeated_windows():
    rows = [
        (r["Input"], r["Covered from"][11:16], r["Covered to"][11:16], r["Windows"])
        for r in _rows("ds_periods")
    ]
    assert rows == [
        ("contoso", "07:00", "08:15", 3.0),
        ("northwind", "08:00", "08:25", 3.0),
        ("northwind", "08:40", "09:00", 4.0),  # the window written twice counts twice
        ("northwind", "09:10", "09:15", 1.0),
    ]


def test_data_loss_periods_are_listed_with_reason_and_period():
    rows = {
        (r["Input"], r["Reason"]): (r["Lost from"], r["Lost to"]) for r in _rows("ds_data_loss")
    }
    assert {reason for _, reason in rows} == coverage.REASONS
    assert rows[("contoso", "cursor_in_future")] == ("unknown", "2026-06-01 06:00:00.000 UTC")
    assert rows[("northwind", "unreconciled")] == (
        "2026-06-01 08:40:00.000 UTC",
        "2026-06-01 08:45:00.000 UTC",
    )


def test_single_values_and_input_summary():
    assert _rows("ds_holes_count") == [{"holes": 2.0}]
    assert _rows("ds_loss_count") == [{"data_loss_periods": 5.0}]
    assert _rows("ds_unreconciled_count") == [{"unreconciled_windows": 1.0}]
    summary = {r["Input"]: r for r in _rows("ds_inputs")}
    assert summary["northwind"]["First window start"] == "2026-06-01 08:00:00.000 UTC"
    assert summary["northwind"]["Last window end"] == "2026-06-01 09:15:00.000 UTC"
    assert summary["northwind"]["Records"] == 12 + 3 + 48 + 7 + 9 + 1
    assert summary["northwind"]["Duplicates"] == 7
    assert summary["northwind"]["Windows"] == 8  # the window written twice counts twice
    assert summary["contoso"]["Unreconciled windows"] == 0


def test_no_collection_event_reads_unknown_never_zero():
    for source, column in (
        ("ds_holes_count", "holes"),
        ("ds_loss_count", "data_loss_periods"),
        ("ds_unreconciled_count", "unreconciled_windows"),
    ):
        query = coverage.view_query(APP, source)
        rows = coverage.run(APP, query, [], "2026-06-01T10:20:00Z")
        assert rows == [{column: "unknown"}], (source, rows)


# --- the completeness report


def test_completeness_says_yes_for_a_complete_period():
    answer = coverage.completeness(APP, EVENTS, "2026-06-01T07:00:00Z", "2026-06-01T08:15:00Z")
    assert answer["contoso"] == ("yes", ())
    assert answer["northwind"] == (
        "no",
        ("2026-06-01 07:00:00.000 UTC to 2026-06-01 08:00:00.000 UTC not collected",),
    )


def test_completeness_lists_the_exact_gaps_and_data_loss():
    assert coverage.search_problems(APP) == []
    answer = coverage.completeness(APP, EVENTS, "2025-11-15T00:00:00Z", "now")
    assert answer["northwind"] == (
        "no",
        (
            "2025-11-15 00:00:00.000 UTC to 2025-12-03 08:00:00.000 UTC data loss: history_clamped",
            "2025-11-15 00:00:00.000 UTC to 2026-06-01 08:00:00.000 UTC not collected",
            "2026-06-01 08:25:00.000 UTC to 2026-06-01 08:40:00.000 UTC not collected",
            "2026-06-01 08:40:00.000 UTC to 2026-06-01 08:45:00.000 UTC data loss: unreconciled",
            "2026-06-01 09:00:00.000 UTC to 2026-06-01 09:10:00.000 UTC not collected",
            "2026-06-01 09:15:00.000 UTC to 2026-06-01 10:20:00.000 UTC not collected",
        ),
    )
    assert (
        "2025-11-15 00:00:00.000 UTC to 2026-06-01 06:00:00.000 UTC data loss: "
        "cursor_in_future (start unknown)"
    ) in answer["contoso"][1]


def test_completeness_accepts_relative_times():
    absolute = coverage.completeness(APP, EVENTS, "2026-06-01T08:00:00Z", "2026-06-01T10:00:00Z")
    relative = coverage.completeness(APP, EVENTS, "-140m", "@h", now="2026-06-01T10:20:00Z")
    assert relative == absolute


@pytest.mark.parametrize(
    "start, end",
    [("yesterday", "now"), ("2026-06-01T10:00:00Z", "2026-06-01T09:00:00Z"), ("2026-06-01", "now")],
)
def test_completeness_refuses_unreadable_or_reversed_periods(start, end):
    answer = coverage.completeness(APP, EVENTS, start, end)
    assert set(answer) == {
        "northwind",
        "contoso",
        "account:northwind_prod",
        "account:contoso_prod",
    }
    assert all(complete.startswith("unknown: give A before B") for complete, _ in answer.values())


def test_completeness_report_is_a_report_over_all_time_using_the_macro():
    stanza = coverage.saved(APP, coverage.REPORT)
    assert content.is_report(stanza)
    assert content.report_problems(coverage.REPORT, stanza) == []
    assert stanza["dispatch.earliest_time"] == "0"
    assert "`ringcentral_audit_completeness(" in stanza["search"]
    rows = coverage.run(APP, stanza["search"], EVENTS, "2026-06-02T12:00:00Z")
    answer = {r["name"]: r for r in rows if r["level"] == "input"}
    assert answer["contoso"]["complete"] == "no"
    assert (
        "2026-05-20 00:00:00.000 UTC to 2026-05-31 00:00:00.000 UTC data loss: checkpoint_expired"
        in answer["contoso"]["gaps"]
    )
    assert answer["northwind"]["gaps"][-1] == (
        "2026-06-01 09:15:00.000 UTC to 2026-06-02 00:00:00.000 UTC not collected"
    )


# --- generated coverage: the SPL agrees with plain interval arithmetic

BASE = coverage.epoch("2026-03-01T00:00:00Z")


def _window_doc(name, start, end):
    return {
        "kind": "window",
        "input": name,
        "account": f"{name}_acct",
        "interval_s": 300,
        "addon_version": "1.0.0",
        "time": coverage.iso(end),
        "run_started": coverage.iso(end + 60),
        "window_start": coverage.iso(start),
        "window_end": coverage.iso(end),
        "total_found": 1,
        "records_seen": 1,
        "emitted": 1,
        "duplicates": 0,
        "requests": 1,
        "outcome": "complete",
    }


def _reference_holes(windows):
    holes, covered = [], None
    for start, end in sorted(windows):
        if covered is not None and start > covered:
            holes.append((covered, start))
        covered = end if covered is None else max(covered, end)
    return holes


def _reference_gaps(windows, low, high):
    gaps, cursor = [], low
    for start, end in sorted(
        (max(s, low), min(e, high)) for s, e in windows if s < high and e > low
    ):
        if start > cursor:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < high:
        gaps.append((cursor, high))
    return gaps


window_sets = st.lists(
    st.tuples(st.integers(0, 3000), st.integers(1, 400)).map(
        lambda p: (BASE + p[0] * 60 + 0.5 * (p[0] % 3), BASE + (p[0] + p[1]) * 60)
    ),
    min_size=1,
    max_size=12,
)


@given(
    windows=window_sets,
    other=window_sets,
    bounds=st.tuples(st.integers(-100, 3500), st.integers(1, 2000)),
)
@SLOW
def test_holes_and_gaps_match_interval_arithmetic(windows, other, bounds):
    docs = [_window_doc("alpha", s, e) for s, e in windows]
    docs += [_window_doc("beta", s, e) for s, e in other]
    events = [coverage.index_doc(APP, doc) for doc in docs]
    expected = [
        (name, coverage.shown(a), coverage.shown(b), round((b - a) / 60, 1))
        for name, found in (("alpha", windows), ("beta", other))
        for a, b in _reference_holes(found)
    ]
    assert coverage.holes(APP, events) == expected
    low = BASE + bounds[0] * 60
    high = low + bounds[1] * 60
    answer = coverage.completeness(
        APP, events, coverage.iso(low)[:19] + "Z", coverage.iso(high)[:19] + "Z"
    )
    for name, found in (("alpha", windows), ("beta", other)):
        gaps = tuple(
            sorted(
                f"{coverage.shown(a)} to {coverage.shown(b)} not collected"
                for a, b in _reference_gaps(found, low, high)
            )
        )
        assert answer[name] == (("no", gaps) if gaps else ("yes", ())), name


# --- alerts


# Collection stalled: tests/knowledge/test_operational_alerts.py


def test_data_loss_detected_fires_once_per_data_loss_event():
    firings = coverage.data_loss_firings(APP)
    assert sorted(f[1] for f in firings) == sorted(coverage.REASONS)
    assert len(firings) == len(set(firings)) == 5
    stanza = coverage.saved(APP, coverage.DATA_LOSS)
    assert stanza["realtime_schedule"] == "0", "a skipped run must catch up, or its slice is lost"
    # loss periods end up to the API's 180 days back: the event-time range reaches past that
    back = coverage.epoch("2026-06-01T00:00:00Z") - coverage.relative(
        coverage.epoch("2026-06-01T00:00:00Z"), stanza["dispatch.earliest_time"]
    )
    assert 181 * 86400 <= back <= 400 * 86400


def test_data_loss_slices_tile_the_time_line():
    stanza = coverage.saved(APP, coverage.DATA_LOSS)
    runs = coverage.schedule("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", 15)
    slices = [
        (
            coverage.relative(t, stanza["dispatch.index_earliest"]),
            coverage.relative(t, stanza["dispatch.index_latest"]),
        )
        for t in runs
    ]
    assert all(a[1] == b[0] for a, b in zip(slices, slices[1:]))


def test_collection_failing_fires_once_per_streak_of_the_same_error_kind():
    assert coverage.failing_firings(APP) == [
        ("fabrikam", "auth", "2026-06-01 06:05:01 UTC"),
        ("fabrikam", "permission", "2026-06-01 06:35:01 UTC"),
        ("woodgrove", "permission", "2026-06-01 07:05:01 UTC"),  # 11 runs, still once
    ]


def test_collection_failing_reports_the_streak():
    stanza = coverage.saved(APP, coverage.FAILING)
    events = coverage.log_events(coverage.FAILURE_LOG)
    rows = coverage.run(APP, stanza["search"], events, "2026-06-01T08:00:00Z")
    assert [(r["input"], r["error_kind"], r["consecutive_runs"]) for r in rows] == [
        ("fabrikam", "auth", 3.0),
        ("fabrikam", "permission", 2.0),
        ("woodgrove", "permission", 11.0),
    ]
    assert rows[1]["last_message"] == "CMN-401: the app lacks the ReadAuditTrail permission"


@pytest.mark.parametrize("name", [coverage.STALLED, coverage.DATA_LOSS, coverage.FAILING])
def test_collection_alerts_ship_disabled_and_use_the_macros(name):
    stanza = coverage.saved(APP, name)
    assert stanza["disabled"] == "1"
    assert content.saved_search_problems(name, stanza) == []
    assert content.first_macro(stanza["search"]) in (content.AUDIT_MACRO, content.LOGS_MACRO)
    assert stanza["alert.suppress"] == "1"
