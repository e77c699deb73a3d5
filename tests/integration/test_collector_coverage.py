"""Collection events (issue 11, library side): one per finished window, after its records and
before the checkpoint save that finishes it; one per data-loss warning; none for a failed run."""

from __future__ import annotations

import threading

import pytest
from ringcentral_audit import __version__
from ringcentral_audit.errors import ServiceError
from ringcentral_audit.ports import MemoryStore
from ringcentral_audit.settings import InputSettings
from ringcentral_audit.timeutil import format_time, parse_time

from tests.harness import ListSink, collect
from tests.standins.ringcentral import FakeClock, RingCentralStandIn, generate_history

INTERVAL = 300.0
WINDOW_FIELDS = {
    "kind",
    "input",
    "addon_version",
    "time",
    "run_started",
    "window_start",
    "window_end",
    "total_found",
    "records_seen",
    "emitted",
    "duplicates",
    "requests",
    "outcome",
    "action_ids",  # the input's filters (issue 15): what the counts were taken under
    "exclude_action_ids",
}


class Journal:
    """One ordered record of what the collector handed on: pages, collection docs, saves."""

    def __init__(self):
        self.entries = []


class JournalSink(ListSink):
    def __init__(self, journal):
        super().__init__()
        self.journal = journal

    def write(self, events):
        self.journal.entries.append(("records", len(events)))
        super().write(events)

    def write_collection(self, doc):
        self.journal.entries.append(("collection", doc["kind"]))
        super().write_collection(doc)


class JournalStore(MemoryStore):
    def __init__(self, journal, value=None):
        super().__init__(value)
        self.journal = journal

    def save(self, state):
        finished = state["window"] is None
        self.journal.entries.append(("save", "finished" if finished else "page"))
        super().save(state)


def test_a_window_doc_follows_its_records_and_precedes_the_save_that_finishes_it():
    clock = FakeClock()
    records = generate_history(2500, end=clock.now() - 3600, span_days=100, seed=2)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        journal = Journal()
        sink, store = JournalSink(journal), JournalStore(journal)
        started = clock.now()
        collect(rc, clock, checkpoint=store, sink=sink, settings=InputSettings(name="north"))
    assert journal.entries == [
        ("records", 1000),
        ("save", "page"),
        ("records", 1000),
        ("save", "page"),
        ("records", 500),
        ("collection", "window"),
        ("save", "finished"),
    ]
    (doc,) = sink.collection
    assert set(doc) == WINDOW_FIELDS
    assert doc["kind"] == "window" and doc["input"] == "north"
    assert doc["addon_version"] == __version__
    assert doc["run_started"] == format_time(started)
    assert doc["time"] == doc["window_end"] == store.value["cursor"]
    assert parse_time(doc["window_start"]) < parse_time(doc["window_end"])
    assert (doc["total_found"], doc["records_seen"], doc["emitted"]) == (2500, 2500, 2500)
    assert (doc["duplicates"], doc["requests"], doc["outcome"]) == (0, 3, "complete")


def test_the_next_window_counts_the_overlap_as_duplicates():
    clock = FakeClock()
    with RingCentralStandIn(records=[], clock=clock) as rc:
        store, sink = MemoryStore(), ListSink()
        collect(rc, clock, checkpoint=store, sink=sink)
        clock.advance(INTERVAL)
        rc.add_records(generate_history(12, end=clock.now() - 100, span_days=0.001, seed=3))
        collect(rc, clock, checkpoint=store, sink=sink)
        clock.advance(INTERVAL)
        collect(rc, clock, checkpoint=store, sink=sink)
    second, third = sink.collection[1], sink.collection[2]
    assert (second["emitted"], second["duplicates"], second["records_seen"]) == (12, 0, 12)
    assert (third["emitted"], third["duplicates"], third["total_found"]) == (0, 12, 12)
    assert third["window_start"] < second["window_end"]  # windows overlap


def test_a_run_that_fails_before_its_window_is_finished_writes_no_window_doc():
    clock = FakeClock()
    records = generate_history(2500, end=clock.now() - 3600, span_days=100, seed=2)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store = MemoryStore()

        class FailingAfterOnePage(ListSink):
            def write(self, events):
                super().write(events)
                rc.inject("500", count=10)  # RingCentral fails from the second page on

        sink = FailingAfterOnePage()
        with pytest.raises(ServiceError):
            collect(rc, clock, checkpoint=store, sink=sink, attempts=2)
        assert len(sink.events) == 1000 and sink.collection == []
        rc.clear_faults()
        sink = ListSink()
        collect(rc, clock, checkpoint=store, sink=sink)
        assert [d["kind"] for d in sink.collection] == ["window"]
        assert sink.collection[0]["emitted"] == 2500  # the window's, over both runs


def test_a_run_stopped_mid_window_writes_its_doc_only_when_a_later_run_finishes_it():
    clock = FakeClock()
    records = generate_history(2500, end=clock.now() - 3600, span_days=100, seed=2)
    with RingCentralStandIn(records=records, clock=clock) as rc:
        store = MemoryStore()
        stop = threading.Event()

        class StopAfterOne(ListSink):
            def write(self, events):
                super().write(events)
                stop.set()

        first = StopAfterOne()
        collect(rc, clock, checkpoint=store, sink=first, stop=stop)
        assert first.collection == []
        second = ListSink()
        collect(rc, clock, checkpoint=store, sink=second)
        (doc,) = second.collection
        assert doc["emitted"] == 2500 and doc["requests"] == 3  # all runs that worked on it


def test_data_loss_warnings_are_written_with_their_period():
    clock = FakeClock()
    with RingCentralStandIn(records=[], clock=clock) as rc:
        sink = ListSink()
        old = clock.now() - 200 * 86400
        report = collect(
            rc,
            clock,
            checkpoint=MemoryStore(),
            sink=sink,
            settings=InputSettings(name="n", start=old),
        )
    loss = [d for d in sink.collection if d["kind"] == "data_loss"]
    assert [d["reason"] for d in loss] == ["history_clamped"]
    assert loss[0]["loss_start"] == format_time(old)
    assert loss[0]["loss_end"] == loss[0]["time"] == format_time(report.warnings[0].end)
    assert "180 days" in loss[0]["message"]
    assert [d["kind"] for d in sink.collection] == ["data_loss", "window"]
