"""Property (issue 7's proof): against a hostile RingCentral, collection stays exactly once.

The stand-in answers with generated ``paging`` objects (any subset of fields, any values, lies
both ways), may ignore the page number, adds records from outside every window, serves records
with ids of other types or none; the forwarder's clock is skewed both ways by generated amounts;
runs crash or stop between requests. Invariants: bounded requests and time per run; no exception
but the library's own errors; every retrievable record emitted exactly once across runs (at most
a page again per crash); the cursor never beyond RingCentral's time; every deviation named.

Poison records that the parse/encode fix (issue 7 items 5 and 6, another branch) handles —
non-object elements, nesting deeper than the parser's limit, lone surrogates — are not generated
here yet: today a non-object element refuses the whole page in client.py. The lead enables them
after merging (see POISON below).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from ringcentral_audit.budget import SharedGate
from ringcentral_audit.collector import Collector
from ringcentral_audit.errors import AuditTrailError
from ringcentral_audit.paging import max_requests
from ringcentral_audit.ports import MemoryBudget, MemoryStore
from ringcentral_audit.settings import InputSettings
from ringcentral_audit.timeutil import parse_time

from tests.harness import Crash, DyingStore, ListSink, LogCapture, collect, make_client
from tests.standins.ringcentral import (
    FakeClock,
    RingCentralStandIn,
    SkewedClock,
    generate_history,
)

INTERVAL = 300.0
LAG, OVERLAP = 60.0, 600.0
DAY = 86400.0
MAX_RUN = 1800.0
POISON = True  # non-object, too-deep and surrogate records among the good ones (items 5, 6)

# One lie for one paging field: keep it, drop it, or replace it (any value, of any type).
field_lie = st.one_of(
    st.just("honest"),
    st.just("absent"),
    st.tuples(st.just("set"), st.integers(-5, 10**9)),
    st.tuples(st.just("scale"), st.sampled_from([0, 0.5, 2, 10])),
    st.tuples(st.just("set"), st.sampled_from(["abc", None, [1], {"x": 1}, 1.5, True, "12"])),
)
paging_lie = st.fixed_dictionaries(
    {
        "drop_paging": st.booleans(),
        "fields": st.fixed_dictionaries(
            {name: field_lie for name in ("page", "perPage", "total", "totalFound")}
        ),
        "only_sometimes": st.booleans(),  # lie on every other answer only
    }
)
skew = st.sampled_from([0.0, 0.0, 1.0, -1.0, 30.0, -30.0, 3600.0, -3600.0, DAY, -DAY, 7 * DAY])
tick = st.fixed_dictionaries(
    {
        "fresh": st.integers(0, 30),
        "skew": skew,
        "interrupt": st.one_of(
            st.none(),
            st.tuples(st.sampled_from(["stop", "crash_sink", "crash_store"]), st.integers(1, 4)),
        ),
    }
)


def lie_about(paging, lie, answer_no):
    if lie["only_sometimes"] and answer_no % 2:
        return paging
    if lie["drop_paging"]:
        return None
    paging = dict(paging)
    for name, how in lie["fields"].items():
        if how == "honest":
            continue
        if how == "absent":
            paging.pop(name, None)
        elif how[0] == "set":
            paging[name] = how[1]
        elif isinstance(paging.get(name), int):
            paging[name] = int(paging[name] * how[1])
    return paging


def expected_key(record):
    """The key a record is emitted under, computed independently of the library."""
    rid = record.get("id")
    if isinstance(rid, str) and rid:
        return rid
    if isinstance(rid, int) and not isinstance(rid, bool):
        return f"int:{rid}"
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def odd_ids(records, kinds):
    """Give some records an id of another type, or none."""
    out = []
    for n, (record, kind) in enumerate(zip(records, kinds)):
        record = dict(record)
        if kind == "int":
            record["id"] = 10**6 + n
        elif kind == "none":
            record.pop("id")
        elif kind == "bool":
            record["id"] = True
        out.append(record)
    return out


POISON_ELEMENTS = (
    [
        "7",
        "null",
        '"text"',
        "[1]",
        '{"id":"poison-deep","x":' + "[" * 100000 + "]" * 100000 + "}",
        '{"eventTime":"2026-01-01T00:00:00Z","n":"\\udc00"}',
        '{"id":"poison-surrogate","n":"\\ud800"}',
    ]
    if POISON
    else []
)
POISON_TEXT = ",".join(POISON_ELEMENTS)


def with_poison(obj):
    """The answer's JSON text with poison elements spliced into its records (enabled with
    POISON, see the docstring): text, because no JSON encoder writes nesting that deep."""
    obj["records"].append("__poison__")
    return json.dumps(obj, separators=(",", ":")).replace('"__poison__"', POISON_TEXT)


class StoppingSink(ListSink):
    def __init__(self, stop, after):
        super().__init__()
        self.stop, self.after = stop, after

    def write(self, events):
        super().write(events)
        if self.pages == self.after:
            self.stop.set()


@settings(
    max_examples=60,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    backlog=st.integers(0, 2600),
    id_kinds=st.lists(st.sampled_from(["str", "str", "int", "none", "bool"]), max_size=8),
    order=st.sampled_from(["newest", "oldest", "shuffled"]),
    lie=st.one_of(st.none(), paging_lie),
    ignore_page=st.booleans(),
    strays=st.lists(
        st.sampled_from(["1970-01-01T00:00:00.000Z", "2100-01-01T00:00:00Z", "old", None, "x"]),
        max_size=3,
    ),
    seed=st.integers(0, 2**16),
    ticks=st.lists(tick, min_size=1, max_size=4),
)
@example(  # found by this test: a forwarder clock behind RingCentral's after one ahead
    backlog=371,
    id_kinds=["none", "str", "str", "int", "none", "none", "int", "int"],
    order="newest",
    lie=None,
    ignore_page=False,
    strays=[],
    seed=277,
    ticks=[
        {"skew": 0.0, "interrupt": None, "fresh": 29},
        {"interrupt": ("stop", 1), "fresh": 2, "skew": 604800.0},
        {"fresh": 28, "skew": 86400.0, "interrupt": None},
        {"skew": -3600.0, "fresh": 16, "interrupt": None},
    ],
)
def test_a_hostile_ringcentral_never_makes_collection_lose_repeat_or_hang(
    backlog, id_kinds, order, lie, ignore_page, strays, seed, ticks
):
    clock = FakeClock()
    ours = SkewedClock(clock)
    start = clock.now() - 150 * DAY
    records = generate_history(backlog, end=clock.now() - 3600, span_days=100, seed=seed)
    records[: len(id_kinds)] = odd_ids(records[: len(id_kinds)], id_kinds)
    stray_records = []
    for n, when in enumerate(strays):
        stray = generate_history(1, end=start - DAY, span_days=0, seed=seed + 7 + n)[0]
        stray["id"] = f"stray-{n}"
        if when == "old":
            continue  # dated before the input's start: outside every window
        if when is None:
            stray.pop("eventTime")
        else:
            stray["eventTime"] = when
        stray_records.append(stray)
    emitted, docs, crashes, answers = [], [], 0, [0]
    store, tokens = DyingStore(), MemoryStore()
    logs = LogCapture(f"ringcentral_audit.hostile.{seed}")
    input_settings = InputSettings(
        name="hostile", lag=LAG, overlap=OVERLAP, start=start, max_run_seconds=MAX_RUN
    )
    budget = 3 * max_requests(1000) + 4  # resumed + fresh + re-planned window, probes

    with RingCentralStandIn(records=records, clock=clock, order=order, seed=seed) as rc:
        rc.ignore_page = ignore_page

        def hostile(body, obj):
            answers[0] += 1
            if lie is not None and isinstance(obj.get("paging"), dict):
                paging = lie_about(obj["paging"], lie, answers[0])
                if paging is None:
                    obj.pop("paging")
                else:
                    obj["paging"] = paging
            obj["records"].extend(dict(s) for s in stray_records)
            if POISON and obj["records"]:
                return with_poison(obj)
            return obj

        rc.hostile = hostile

        def run(sink=None, stop=None):
            sink = sink or ListSink()
            searches, began = rc.count("search"), clock.now()
            try:
                report = collect(
                    rc,
                    ours,
                    checkpoint=store,
                    sink=sink,
                    tokens=tokens,
                    settings=input_settings,
                    stop=stop,
                    logger=logs.logger,
                    attempts=6,
                )
            except AuditTrailError:
                report = None
            finally:
                emitted.extend(sink.ids)
                docs.extend(sink.collection)
                assert rc.count("search") - searches <= budget
                assert clock.now() - began <= MAX_RUN + 120
                if store.value and store.value.get("cursor"):
                    assert parse_time(store.value["cursor"]) <= clock.now()
            if report is not None and abs(ours.offset) > 10 and rc.count("search") > searches:
                assert report.clock_ahead_s is not None
            return report

        for n, step in enumerate(ticks):
            clock.advance(INTERVAL)
            ours.offset = step["skew"]
            if step["fresh"]:
                rc.add_records(
                    generate_history(
                        step["fresh"],
                        end=clock.now() - 1,
                        span_days=(INTERVAL - 2) / DAY,
                        seed=10**6 + seed * 100 + n,
                    )
                )
            interrupt = step["interrupt"]
            if interrupt is not None:
                kind, after = interrupt
                if kind == "stop":
                    stop = threading.Event()
                    run(sink=StoppingSink(stop, after), stop=stop)
                else:
                    sink = ListSink(crash_after_page=after) if kind == "crash_sink" else None
                    if kind == "crash_store":
                        store.die_at = store.saves + after
                    try:
                        run(sink=sink)
                    except Crash:
                        crashes += 1
                    store.revive()
            run()
        ours.offset = 0.0  # the clock is fixed; RingCentral behaves; the input catches up
        rc.hostile, rc.ignore_page = None, False
        for _ in range(3):
            clock.advance(LAG + OVERLAP + INTERVAL)
            run()
        retrievable = [expected_key(r) for r in rc.retrievable_records()]
    logs.close()

    counts = Counter(emitted)
    # every retrievable record at least once; nothing that was never served
    assert set(retrievable) <= set(counts)
    if not POISON:  # poison records are indexed under keys of the parse fix's choosing
        assert set(counts) - set(retrievable) <= {
            k for k in counts if k.startswith("stray-") or k.startswith("sha256:")
        }
    repeats = sum(c - 1 for k, c in counts.items())
    # a page per crash: its records, the strays and the poison spliced into every answer
    assert repeats <= crashes * (1000 + len(stray_records) + len(POISON_ELEMENTS))
    # every deviation named
    for doc in docs:
        if doc["kind"] == "window" and doc["outcome"] == "complete":
            assert doc["total_found"] is None or doc["records_seen"] >= doc["total_found"]
    unreconciled = [d for d in docs if d["kind"] == "window" and d["outcome"] == "unreconciled"]
    named = [d for d in docs if d["kind"] == "data_loss" and d["reason"] == "unreconciled"]
    assert len(named) == len(unreconciled)
    if any(k.startswith("stray-") for k in counts):
        assert "action=record_outside_window" in logs.text or "record_without_time" in logs.text


# ----- issue 15: several inputs on one app, filters at the cap, empty answers, changes --------

ACTIONS = ("LOGIN_SUCCESSFULLY", "CHANGE_USER_INFO", "CHANGE_USER_ROLE")
LOSS_REASONS = ("retention_cap", "unreconciled", "history_clamped", "checkpoint_expired")
HOURLY = 3600.0

world_tick = st.fixed_dictionaries(
    {
        "fresh": st.integers(0, 3000),
        "gap": st.sampled_from([INTERVAL, INTERVAL, 65 * 60.0]),  # an outage before the run
        "empty_for": st.one_of(st.none(), st.integers(0, 2)),  # that input's run sees no records
        "change": st.booleans(),  # RingCentral changes one record it holds
    }
)


def wanted_by(input_filter):
    kind, action = input_filter
    if kind == "only":
        return lambda r: r.get("actionId") == action
    if kind == "except":
        return lambda r: r.get("actionId") != action
    return lambda r: True


def settings_for(n, input_filter, start):
    kind, action = input_filter
    return InputSettings(
        name=f"in{n}",
        lag=LAG,
        overlap=OVERLAP,
        start=start,
        max_run_seconds=MAX_RUN,
        action_ids=(action,) if kind == "only" else (),
        exclude_action_ids=(action,) if kind == "except" else (),
    )


@settings(
    max_examples=12,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    backlog=st.integers(0, 14000),
    filters=st.lists(
        st.tuples(st.sampled_from(["none", "only", "except"]), st.sampled_from(ACTIONS)),
        min_size=1,
        max_size=3,
    ),
    order=st.sampled_from(["newest", "oldest", "shuffled"]),
    seed=st.integers(0, 2**16),
    ticks=st.lists(world_tick, min_size=1, max_size=4),
)
def test_inputs_sharing_one_app_lose_nothing_without_a_word(backlog, filters, order, seed, ticks):
    clock = FakeClock()
    start = clock.now() - 30 * DAY
    records = generate_history(backlog, end=clock.now() - 3600, span_days=29, seed=seed)
    board = MemoryBudget()
    inputs = [settings_for(n, f, start) for n, f in enumerate(filters)]
    stores = [MemoryStore() for _ in inputs]
    sinks = [ListSink() for _ in inputs]
    tokens = MemoryStore()
    held, changed, limited = set(), Counter(), [0]
    empty_now = [None]
    changes = {}

    with RingCentralStandIn(records=records, clock=clock, order=order, seed=seed) as rc:
        held |= {r["id"] for r in rc.retrievable_records()}

        def hostile(body, obj):
            if empty_now[0] is not None:
                return {"records": []}
            for record in obj["records"]:
                if record.get("id") in changes:
                    record["details"] = changes[record["id"]]
            return obj

        rc.hostile = hostile

        def run(n):
            client = make_client(rc, clock, tokens=tokens, attempts=6)
            client.policy.heavy = SharedGate(board.member(inputs[n].name), inputs[n].name)
            began, searches = clock.now(), rc.count("search")
            try:
                Collector(
                    client,
                    inputs[n],
                    checkpoint=stores[n],
                    sink=sinks[n],
                    clock=clock,
                    stop=threading.Event(),
                ).run()
            except AuditTrailError:
                pass
            finally:
                limited[0] += client.stats.rate_limited
                client.close()
            assert clock.now() - began <= MAX_RUN + 120  # every run ends in bounded time
            assert rc.count("search") - searches <= 3 * max_requests(1000) + 4 + 200

        for n in range(len(inputs)):
            run(n)
        for t, step in enumerate(ticks):
            clock.advance(step["gap"])
            if step["fresh"]:
                rc.add_records(
                    generate_history(
                        step["fresh"],
                        end=clock.now() - 1,
                        span_days=(step["gap"] - 2) / DAY,
                        seed=10**6 + seed * 100 + t,
                    )
                )
            held |= {r["id"] for r in rc.retrievable_records()}
            if step["change"]:
                retained = rc.retrievable_records()
                if retained:
                    rid = retained[(seed + t) % len(retained)]["id"]
                    changes[rid] = {"role": f"Super Admin {t}"}
                    changed[rid] += 1
            for n in range(len(inputs)):
                empty_now[0] = step["empty_for"] if step["empty_for"] == n else None
                run(n)
            empty_now[0] = None
        for _ in range(int(2.5 * DAY / HOURLY)):  # the world behaves: a reconciliation cycle
            clock.advance(HOURLY)
            for n in range(len(inputs)):
                run(n)
        final = {r["id"]: r for r in rc.records}

    assert limited[0] <= len(inputs)  # the shared budget: no lock-out, at most one 429 each
    for n, (spec, sink) in enumerate(zip(filters, sinks)):
        wanted = wanted_by(spec)
        named = [
            (parse_time(d["loss_start"]) or 0.0, parse_time(d["loss_end"]))
            for d in sink.collection
            if d["kind"] == "data_loss" and d["reason"] in LOSS_REASONS
        ]
        keys = Counter(sink.ids)
        base = Counter(k.split("~", 1)[0] for k in keys if "~" in k)
        for rid in held:
            record = final[rid]
            if not wanted(record) or parse_time(record["eventTime"]) < start:
                continue
            if keys[rid] == 0:
                when = parse_time(record["eventTime"])
                assert any(a <= when <= b for a, b in named), (n, spec, record["eventTime"])
            else:
                assert keys[rid] == 1, (n, rid)
                assert base[rid] <= changed[rid], (n, rid)
        assert stores[n].value["window"] is None  # caught up
