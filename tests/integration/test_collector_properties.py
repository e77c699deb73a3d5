"""Property: whatever the order, late arrivals, faults and interruptions, each retrievable record
is emitted, none twice after a clean stop, and at most one page again after each crash."""

from __future__ import annotations

import threading
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ringcentral_audit.errors import AuditTrailError
from ringcentral_audit.ports import MemoryStore
from ringcentral_audit.settings import InputSettings

from tests.harness import Crash, DyingStore, ListSink, collect
from tests.standins.ringcentral import FakeClock, RingCentralStandIn, generate_history

INTERVAL = 300.0
LAG, OVERLAP = 60.0, 600.0
FAULTS = ["500", "503", "429", "truncated", "drop", "missing_paging", "not_json", "401_expired"]

tick = st.fixed_dictionaries(
    {
        "fresh": st.integers(0, 30),
        "late": st.lists(st.floats(0, OVERLAP), max_size=5),  # seconds old when they appear
        "faults": st.lists(st.sampled_from(FAULTS), max_size=3),
        "interrupt": st.one_of(
            st.none(),
            st.tuples(st.sampled_from(["stop", "crash_sink", "crash_store"]), st.integers(1, 4)),
        ),
    }
)


class StoppingSink(ListSink):
    def __init__(self, stop, after):
        super().__init__()
        self.stop, self.after = stop, after

    def write(self, events):
        super().write(events)
        if self.pages == self.after:
            self.stop.set()


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    backlog=st.integers(0, 2600),
    order=st.sampled_from(["newest", "oldest", "shuffled"]),
    bounds=st.sampled_from(["[)", "[]"]),
    max_per_page=st.sampled_from([1000, 1000, 250]),
    seed=st.integers(0, 2**16),
    ticks=st.lists(tick, min_size=1, max_size=5),
)
def test_collection_is_exactly_once_across_orders_faults_and_interruptions(
    backlog, order, bounds, max_per_page, seed, ticks
):
    clock = FakeClock()
    records = generate_history(backlog, end=clock.now() - 3600, span_days=170, seed=seed)
    emitted = []
    crashes = 0
    store, tokens = DyingStore(), MemoryStore()
    input_settings = InputSettings(name="prop", lag=LAG, overlap=OVERLAP)
    with RingCentralStandIn(
        records=records,
        clock=clock,
        order=order,
        bounds=bounds,
        seed=seed,
        max_per_page=max_per_page,
    ) as rc:

        def run(sink=None, checkpoint=None, stop=None):
            """One scheduled run; a run that fails (as runs may, faults being injected) is
            followed by the next one, which resumes from the checkpoint."""
            sink = sink or ListSink()
            try:
                return collect(
                    rc,
                    clock,
                    checkpoint=checkpoint or store,
                    sink=sink,
                    tokens=tokens,
                    settings=input_settings,
                    stop=stop,
                    attempts=6,
                )
            except AuditTrailError:
                return None
            finally:
                emitted.extend(sink.ids)

        for n, step in enumerate(ticks):
            clock.advance(INTERVAL)
            now = clock.now()
            if step["fresh"]:
                rc.add_records(
                    generate_history(
                        step["fresh"],
                        end=now - 1,
                        span_days=(INTERVAL - 2) / 86400,
                        seed=10**6 + seed * 100 + n,
                    )
                )
            for k, age in enumerate(step["late"]):
                late = generate_history(
                    1, end=now - age, span_days=0, seed=2 * 10**6 + seed * 100 + n * 10 + k
                )
                rc.add_records(late, visible_at=now + 1)
            for kind in step["faults"]:
                rc.inject(kind)
            interrupt = step["interrupt"]
            if interrupt is None:
                run()
            else:
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
                # the input is started again and finishes what it had begun
                run()
            for _ in range(5):  # a run ended by an error: the next one catches up
                if run() is not None:
                    break
        clock.advance(LAG + OVERLAP + INTERVAL)
        run()
        retrievable = rc.retrievable_ids()

    counts = Counter(emitted)
    assert set(counts) == retrievable
    repeats = sum(c - 1 for c in counts.values())
    assert repeats <= crashes * max_per_page
    if crashes == 0:
        assert repeats == 0
