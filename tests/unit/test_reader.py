"""The window reader without HTTP: generated answers straight into WindowReader.take."""

from __future__ import annotations

import json
import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from ringcentral_audit.paging import max_requests
from ringcentral_audit.reader import NewVersion, WindowReader, fingerprint
from ringcentral_audit.state import State, Window
from ringcentral_audit.timeutil import format_time, parse_time

START, END = 1_780_000_000.0, 1_780_086_400.0


def record(n, when, **extra):
    return {"id": f"r{n}", "eventTime": format_time(when), "n": n, **extra}


def answer(records, request, order, ignore_page, seed, lie):
    inside = [r for r in records if request.start <= _t(r) < request.end]
    if order == "newest":
        inside.sort(key=_t, reverse=True)
    elif order == "shuffled":
        random.Random(seed).shuffle(inside)
    else:
        inside.sort(key=_t)
    first = 0 if ignore_page else (request.page - 1) * request.per_page
    page = inside[first : first + request.per_page]
    found = len(inside) if lie is None else lie
    return page, {"page": request.page, "perPage": request.per_page, "totalFound": found}


def _t(r):
    return parse_time(r["eventTime"])


def read(state, window, records, order="oldest", ignore_page=False, seed=0, lie=None):
    reader = WindowReader(state, window)
    emitted, notes, requests = [], [], 0
    verdict = None
    while verdict is None and not reader.spent():
        request = reader.next_request()
        page, paging = answer(records, request, order, ignore_page, seed + requests, lie)
        taken = reader.take(page, paging, END)
        requests += 1
        emitted += taken.events
        notes += taken.notes
        verdict = taken.verdict
    return emitted, notes, verdict, requests


@settings(max_examples=150, deadline=None)
@given(
    count=st.integers(0, 2600),
    order=st.sampled_from(["newest", "oldest", "shuffled"]),
    ignore_page=st.booleans(),
    per_page=st.sampled_from([1000, 500, 100]),
    lie=st.one_of(st.none(), st.integers(0, 5000)),
    seed=st.integers(0, 1000),
)
def test_every_record_of_a_window_is_emitted_once_within_bounded_requests(
    count, order, ignore_page, per_page, lie, seed
):
    rng = random.Random(seed)
    records = [record(n, rng.uniform(START, END)) for n in range(count)]
    state = State(per_page=per_page)
    emitted, _, verdict, requests = read(
        state, Window(START, END), records, order, ignore_page, seed, lie
    )
    counts = Counter(e.id for e in emitted)
    assert max(counts.values(), default=1) == 1
    assert requests <= max_requests(per_page)
    if verdict == "complete" and lie is None:
        assert set(counts) == {r["id"] for r in records}
    assert verdict in ("complete", "unreconciled")


def test_a_known_unchanged_record_is_recognised_without_being_emitted_again():
    records = [record(n, START + n) for n in range(10)]
    state = State()
    emitted, *_ = read(state, Window(START, END), records)
    state.recent = {e.id: e.time for e in emitted}
    again, notes, verdict, _ = read(state, Window(START, END), records)
    assert again == [] and notes == [] and verdict == "complete"


def test_a_known_record_with_new_content_is_emitted_once_as_a_new_version():
    records = [record(n, START + n) for n in range(3)]
    state = State()
    emitted, *_ = read(state, Window(START, END), records)
    state.recent = {e.id: e.time for e in emitted}
    changed = [dict(records[0], role="Super Admin"), *records[1:]]
    again, notes, *_ = read(state, Window(START, END), changed)
    assert [e.id.split("~")[0] for e in again] == ["r0"] and "~" in again[0].id
    assert [type(n) for n in notes] == [NewVersion]
    assert state.digests["r0"] == fingerprint(again[0].data)
    third, *_ = read(state, Window(START, END), changed)
    assert third == []  # the new version is the known one now


def test_identical_records_without_id_are_each_kept():
    twin = {"eventTime": format_time(START + 5), "actionId": "X"}
    emitted, *_ = read(State(), Window(START, END), [dict(twin), dict(twin), dict(twin)])
    assert len({e.id for e in emitted}) == 3


def test_a_record_known_from_an_earlier_window_is_not_emitted_when_sent_from_outside():
    early = record(1, START - 100)
    state = State()
    state.history.remember(
        [("r1", (START - 100, fingerprint(json.dumps(early, separators=(",", ":")))))]
    )
    reader = WindowReader(state, Window(START, END))
    reader.next_request()
    taken = reader.take([early, record(2, START + 1)], {"totalFound": 1}, END)
    assert [e.id for e in taken.events] == ["r2"]  # r1 leaked from before: known, not again
    assert taken.verdict == "complete"
