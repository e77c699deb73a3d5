"""The helper's KV store checkpoint and event sink against damaged data (issue 7, items 6, 10),
in process, with the real solnlib/splunklib against the splunkd stand-in."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest
import ringcentral_audit_trail_helper as helper
from ringcentral_audit.client import AuditTrailClient
from ringcentral_audit.collector import Collector
from ringcentral_audit.errors import CheckpointError
from ringcentral_audit.events import AuditEvent
from ringcentral_audit.settings import Account, InputSettings
from splunklib import modularinput as smi

from tests.harness import ListSink
from tests.standins.ringcentral import FakeClock
from tests.standins.splunkd import SplunkdStandIn


@pytest.fixture()
def splunkd():
    with SplunkdStandIn() as server:
        yield server
        assert server.unhandled == []


@pytest.mark.parametrize("text", ["{not json", '{"version": 2', "[" * 100_000])
def test_damaged_json_in_the_kv_document_is_named_as_such(splunkd, text):
    splunkd.kv_put(helper.CHECKPOINT_COLLECTION, "prod", {"state": text})
    store = helper.KVStoreCheckpoint(
        splunkd.session_key, helper.splunkd_address(splunkd.uri), "prod"
    )
    with pytest.raises(CheckpointError) as caught:
        store.load()
    assert "is not valid JSON" in caught.value.message
    assert "changing its start date" in caught.value.message


def test_the_collector_reports_damaged_json_without_blaming_the_kv_store(splunkd):
    splunkd.kv_put(helper.CHECKPOINT_COLLECTION, "prod", {"state": "{not json"})
    store = helper.KVStoreCheckpoint(
        splunkd.session_key, helper.splunkd_address(splunkd.uri), "prod"
    )

    account = Account("http://127.0.0.1:9", "client-id", "client-secret-1", "jwt-value-1")
    client = AuditTrailClient(account, clock=FakeClock())  # the run ends before any request
    try:
        with pytest.raises(CheckpointError) as caught:
            Collector(client, InputSettings(name="prod"), checkpoint=store, sink=ListSink()).run()
    finally:
        client.close()
    assert "KV store running" not in caught.value.message  # was the hint for any failure
    assert "not valid JSON" in caught.value.message


def test_the_sink_stream_stays_well_formed_whatever_the_event_text():
    out = io.StringIO()
    writer = smi.EventWriter(output=out, error=io.StringIO())
    sink = helper.EventWriterSink(writer, index="main", source="ringcentral_audit_trail://t")
    texts = ['{"a":"\ud800"}', '{"b":"\ufffe\uffff"}', '{"c":"\udfff ok"}', '{"d":"plain"}']
    sink.write([AuditEvent(str(n), 1.0, t, True) for n, t in enumerate(texts)])
    writer.close()
    root = ET.fromstring(out.getvalue().encode("utf-8"))  # noqa: S314 - our own output, strict
    datas = [e.findtext("data") for e in root.iter("event")]
    assert len(datas) == 4
    assert [json.loads(d) for d in datas] == [json.loads(t) for t in texts]
