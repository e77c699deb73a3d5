"""The modular input's event sink: splunklib's bytes, a page at a time, and no event lost to a
closed pipe.

The reference is splunklib itself: the same events written one by one through
``EventWriter.write_event(Event(...))`` must give exactly the bytes the sink writes, for any
text (non-ASCII, lone surrogates, markup, control characters), source, index and time.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time

import pytest
import ringcentral_audit_trail_helper as helper
import ringcentral_audit_trail_stream as stream
from hypothesis import given, settings
from hypothesis import strategies as st
from ringcentral_audit.events import AuditEvent, to_event, xml_safe
from splunklib import modularinput as smi

from tests.standins.splunkd import parse_event_stream

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)
RECORDS = st.dictionaries(ANY_TEXT, JSONISH, max_size=5).map(
    lambda r: {"id": "x", "eventTime": "2026-01-01T00:00:00.000Z", **r}
)
TIMES = st.floats(min_value=-1e10, max_value=1e11, allow_nan=False)
NAMES = st.one_of(st.none(), st.just("default"), st.just(""), ANY_TEXT)


def reference(events, *, index, source, collection=None):
    """What splunklib writes for these events, one Event each (the pre-page sink's way)."""
    out = io.StringIO()
    writer = smi.EventWriter(output=out, error=io.StringIO())
    index = index if index and index != "default" else None
    for event in events:
        writer.write_event(
            smi.Event(
                data=xml_safe(event.data),
                time=f"{event.time:.3f}",
                index=index,
                sourcetype=helper.SOURCETYPE,
                source=source,
            )
        )
    if collection is not None:
        data, when = collection
        writer.write_event(
            smi.Event(
                data=data,
                time=when,
                index=index,
                sourcetype=helper.COLLECTION_SOURCETYPE,
                source=source,
            )
        )
    return out.getvalue()


def sink_for(out, *, index, source):
    return helper.EventWriterSink(
        smi.EventWriter(output=out, error=io.StringIO()), index=index, source=source
    )


@settings(max_examples=100, deadline=None)
@given(
    pages=st.lists(st.lists(st.tuples(RECORDS, TIMES), max_size=3), min_size=1, max_size=3),
    index=NAMES,
    source=ANY_TEXT,
)
def test_pages_are_byte_identical_to_splunklibs_event_writer(pages, index, source):
    events_by_page = [[to_event(record, when) for record, when in page] for page in pages]
    out = io.StringIO()
    sink = sink_for(out, index=index, source=source)
    for page in events_by_page:
        sink.write(page)
    flat = [e for page in events_by_page for e in page]
    assert out.getvalue() == reference(flat, index=index, source=source)
    assert sink.count == len(flat)


@settings(max_examples=200, deadline=None)
@given(data=ANY_TEXT, when=st.one_of(st.none(), ANY_TEXT), index=NAMES, source=ANY_TEXT)
def test_any_text_is_escaped_and_encoded_as_elementtree_does(data, when, index, source):
    """Raw text, not only JSON: lone surrogates, controls, markup, every plane."""
    expected = io.StringIO()
    smi.Event(data=data, time=when, index=index, source=source, sourcetype="st").write_to(expected)
    head = stream.event_head(source=source, sourcetype="st", index=index)
    assert stream.ascii_xml(stream.event_xml(data, when, head)) == expected.getvalue()


@settings(max_examples=50, deadline=None)
@given(
    doc=st.dictionaries(ANY_TEXT, JSONISH, max_size=4),
    when=st.one_of(st.none(), st.just("2026-06-01T09:54:00.000Z")),
)
def test_collection_events_are_byte_identical_too(doc, when):
    out = io.StringIO()
    sink = sink_for(out, index="audit", source="s")
    sink.account, sink.interval_s = "acme", 300
    doc = {**doc, "kind": "window", "input": "prod", "time": when}
    sink.write([to_event({"id": "a", "eventTime": "2026-01-01T00:00:00Z"}, 0.0)])
    sink.write_collection(doc)
    data = json.loads(parse_event_stream(out.getvalue() + "</stream>")[-1].data)
    expected_time = None if when is None else "1780307640.000"
    expected = reference(
        [to_event({"id": "a", "eventTime": "2026-01-01T00:00:00Z"}, 0.0)],
        index="audit",
        source="s",
        collection=(json.dumps(data, separators=(",", ":")), expected_time),
    )
    assert out.getvalue() == expected


class CountingIO(io.StringIO):
    writes = flushes = 0

    def write(self, text):
        self.writes += 1
        return super().write(text)

    def flush(self):
        self.flushes += 1
        super().flush()


def test_a_page_is_one_flush_and_a_few_writes_and_close_ends_the_stream():
    out = CountingIO()
    writer = smi.EventWriter(output=out, error=io.StringIO())
    sink = helper.EventWriterSink(writer, index="main", source="s")
    page = [to_event({"id": str(n), "x": "y" * 100}, 0.0) for n in range(1000)]
    sink.write(page)
    assert out.flushes == 1 and out.writes <= 1 + len(out.getvalue()) // stream.CHUNK_CHARS
    writer.close()
    assert len(parse_event_stream(out.getvalue())) == 1000
    assert out.getvalue().startswith("<stream><event") and out.getvalue().endswith("</stream>")


# ----- a pipe: the page is handed on only once splunkd has read it ----------------------------


def pipe_writer():
    read_fd, write_fd = os.pipe()
    return read_fd, os.fdopen(write_fd, "w", encoding="utf-8")


def test_fionread_on_the_pipe_is_what_the_reader_has_not_read():
    read_fd, out = pipe_writer()
    try:
        drain = stream.PipeDrain(out, timeout=0.3)
        assert drain.fd == out.fileno()  # a pipe on Linux: watched
        out.write("x" * 1000)
        out.flush()
        started = time.monotonic()
        with pytest.raises(stream.OutputClosed, match="1000 bytes of events unread"):
            drain.wait()
        assert time.monotonic() - started >= 0.3
        os.read(read_fd, 1000)
        drain.wait()  # empty: returns at once
    finally:
        os.close(read_fd)
        out.close()


def test_a_file_or_a_string_is_not_waited_for(tmp_path):
    with open(tmp_path / "out.xml", "w", encoding="utf-8") as handle:
        assert stream.PipeDrain(handle).fd is None
    assert stream.PipeDrain(io.StringIO()).fd is None


def test_the_sink_returns_only_once_the_reader_has_read_the_page():
    read_fd, out = pipe_writer()
    sink = sink_for(out, index="main", source="s")
    got = []

    def slow_reader():
        time.sleep(0.3)
        while chunk := os.read(read_fd, 65536):
            got.append(chunk)

    reader = threading.Thread(target=slow_reader, daemon=True)
    reader.start()
    started = time.monotonic()
    try:
        sink.write([to_event({"id": "1", "eventTime": "2026-01-01T00:00:00Z"}, 0.0)])
        waited = time.monotonic() - started
    finally:
        out.close()
        reader.join()
        os.close(read_fd)
    assert waited >= 0.25  # waited for the reader, not only the flush
    assert len(parse_event_stream(b"".join(got).decode())) == 1


def test_a_reader_that_closes_without_reading_is_named_and_the_page_not_handed_on():
    read_fd, out = pipe_writer()
    sink = sink_for(out, index="main", source="s")
    closer = threading.Timer(0.2, os.close, args=(read_fd,))
    closer.start()
    with pytest.raises(stream.OutputClosed, match="splunkd closed the event stream"):
        sink.write([to_event({"id": "1", "eventTime": "2026-01-01T00:00:00Z"}, 0.0)])
    assert sink.count == 0  # not counted as ingested
    with pytest.raises(stream.OutputClosed):  # and nothing more is written to it
        sink.write([AuditEvent("2", 0.0, "{}", True)])
    out.close()  # the descriptor now points at /dev/null: closing cannot fail


def test_a_pipe_closed_before_a_write_is_named():
    read_fd, out = pipe_writer()
    os.close(read_fd)
    sink = sink_for(out, index="main", source="s")
    with pytest.raises(stream.OutputClosed, match="while events were written"):
        sink.write([to_event({"id": "1", "x": "y" * 70000}, 0.0)])
    out.close()
