"""The paging decisions as pure functions: bounded whatever RingCentral answers."""

from __future__ import annotations

import math

from hypothesis import example, given
from hypothesis import strategies as st
from ringcentral_audit.paging import (
    MAX_ROUNDS,
    RETENTION_MAX_RECORDS,
    after_pass,
    halve,
    held_time,
    identity,
    max_requests,
    page_facts,
    retention_check,
    retention_loss,
    span_done,
    split_by_seen,
)
from ringcentral_audit.state import State, Window, load_state

NOW = 1_780_000_000.0
any_paging = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["page", "perPage", "total", "totalFound", "x"]),
        st.one_of(st.integers(-(10**12), 10**12), st.text(max_size=5), st.none(), st.booleans()),
    ),
)


@given(
    size=st.sampled_from([1000, 500, 200, 100]),
    pages=st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)), max_size=120),
    paging=any_paging,
)
def test_a_span_ends_within_the_pages_ringcentral_could_fill(size, pages, paging):
    """Whatever the records counts and paging objects, paging stops by the cap's page."""
    for number, (count, new) in enumerate(pages, start=1):
        facts = page_facts(number, size, min(count, size), min(new, count, size), paging)
        if span_done(facts):
            break
        assert number < math.ceil(RETENTION_MAX_RECORDS / size)


def test_paging_counts_never_end_a_full_page_early():
    """A full page is never the last because paging says so (paging.total too low)."""
    for paging in ({"total": 1, "totalFound": 1000}, {"totalFound": 5}, None):
        assert not span_done(page_facts(1, 1000, 1000, 1000, paging))
    assert span_done(page_facts(3, 1000, 999, 999, {"total": 99}))  # short: last
    assert span_done(page_facts(2, 1000, 1000, 0, {"total": 10**9}))  # nothing new: ignored


def test_a_smaller_page_size_is_believed_only_when_the_page_is_full_by_it():
    assert page_facts(1, 1000, 250, 250, {"perPage": 250}).size == 250
    assert page_facts(1, 1000, 100, 100, {"perPage": 250}).size == 1000
    assert page_facts(1, 1000, 1000, 1000, {"perPage": 5000}).size == 1000


@given(start=st.integers(0, 10**9), length=st.integers(0, 10**9), found=st.none() | st.integers(0))
def test_halving_always_shrinks_and_covers(start, length, found):
    a, b = start / 1000, (start + length) / 1000
    halves = halve(a, b)
    if length < 3:
        assert halves is None
        return
    (a1, b1), (a2, b2) = halves
    assert a1 == a and b2 == b and a2 < b1  # covered, overlapping
    assert b1 - a1 < b - a and b2 - a2 < b - a


@given(
    times=st.lists(st.integers(0, 10**6), max_size=3000),
    per_page=st.sampled_from([1000, 100, 10]),
)
@example(times=[1] * 11 + [2], per_page=10)  # found by it: cuts lost at repeated times
def test_sub_windows_cover_the_window_and_hold_less_than_a_page_of_what_was_seen(times, per_page):
    start, end = 0.0, 1000.0
    seen = [t / 1000 for t in times]
    parts = split_by_seen(start, end, seen, per_page)
    assert parts[0][0] == start and parts[-1][1] == end
    for (_, b), (a, _) in zip(parts, parts[1:]):
        assert a < b  # neighbours overlap: nothing falls between
    for a, b in parts:
        inside = [t for t in seen if a < t < b]
        if b - a > 0.002:
            assert len(inside) <= per_page or len(set(inside)) == 1


@given(
    growth=st.lists(st.integers(0, 500), min_size=1, max_size=10),
    found=st.none() | st.integers(0, 10**9),
    shifted=st.booleans(),
)
def test_a_window_is_read_again_at_most_max_rounds_times(growth, found, shifted):
    seen, rounds, round_seen = 0, 0, 0
    for step in growth:
        seen += step
        verdict = after_pass(seen, found, rounds, round_seen, shifted)
        if verdict != "split":
            assert verdict == "complete" or (found is not None and seen < found)
            break
        rounds, round_seen = rounds + 1, seen
    assert rounds <= MAX_ROUNDS


def test_an_honest_backfill_of_the_cap_fits_the_request_budget_many_times_over():
    for size in (1000, 500, 200, 100):
        honest = math.ceil(RETENTION_MAX_RECORDS / size)
        assert 3 * honest <= max_requests(size) <= 10 * honest


def test_ids_of_other_types_keep_apart_from_strings():
    assert identity({"id": 5}, "5") != identity({"id": "5"}, "5")
    assert identity({"id": True}, "sha256:x") == "sha256:x"


def test_a_record_from_outside_the_window_is_held_at_its_end():
    assert held_time(NOW - 86400, NOW - 600, NOW) == NOW
    assert held_time(NOW + 86400 * 365, NOW - 600, NOW) == NOW
    assert held_time(NOW - 300, NOW - 600, NOW) == NOW - 300


def test_retention_loss_needs_the_cap_and_a_gap():
    assert retention_check(10000, NOW).at_cap is True
    assert retention_check(9500, NOW).at_cap is None  # near: one request decides
    assert retention_check(100, NOW).at_cap is False
    assert retention_check(None, NOW).at_cap is False
    assert retention_loss(True, NOW, NOW - 3600) == (NOW - 3600, NOW)
    assert retention_loss(True, NOW - 3600, NOW - 3600) is None
    assert retention_loss(False, NOW, NOW - 3600) is None


def test_window_counters_survive_a_save_and_junk_counters_are_dropped():
    window = Window(start=1.0, end=2.0, stats={"requests": 3, "emitted": 7})
    again = load_state(State(cursor=0.5, window=window).to_json())
    assert again.window is not None and again.window.stats == {"requests": 3, "emitted": 7}
    raw = State(cursor=0.5, window=window).to_json()
    raw["window"]["stats"] = {"requests": "3", "emitted": True, "rounds": 1}
    assert load_state(raw).window.stats == {"rounds": 1}
    raw["window"]["stats"] = ["x"]
    assert load_state(raw).window.stats == {}
    raw["window"].pop("stats")  # a checkpoint from before the counters
    assert load_state(raw).window.stats == {}
