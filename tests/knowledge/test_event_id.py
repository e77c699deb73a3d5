"""event_id exists for every record the collector can write (issue 16 item 7): a string id, a
numeric id, no id at all. Records go through the real events.to_event and the sourcetype's search
time, whose FIELDALIAS emulation follows Splunk 7.2.4+ (an alias removes its destination when the
source is absent)."""

import hashlib
import json
import shutil
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from . import checks
from .search_time import SearchTime

APP = checks.PACKAGE
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "package" / "bin"))
from ringcentral_audit.events import to_event  # noqa: E402

_ids = st.one_of(
    st.uuids().map(lambda u: u.hex),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.none(),
)
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@st.composite
def records(draw):
    record = {
        "eventTime": "2026-11-30T10:00:00.000Z",
        "actionId": draw(st.sampled_from(["LOGIN_FAILED", "CHANGE_USER_INFO"])),
        "details": {"parameters": [{"key": "id", "value": draw(_text)}], "id": draw(_text)},
        "comment": draw(_text),
    }
    rid = draw(_ids)
    if rid is not None:
        record["id"] = rid
    order = draw(st.permutations(list(record)))
    return {key: record[key] for key in order}


@settings(max_examples=80, deadline=None)
@given(records())
def test_every_record_the_collector_writes_has_an_event_id(record):
    config = checks.search_time(APP)
    event = to_event(record, 0.0)
    fields = config.extract(event.data)
    if "id" in record:
        assert fields.get("event_id") == (str(record["id"]),)
        assert fields.get("id") == (str(record["id"]),)
    else:
        digest = "sha256:" + hashlib.sha256(event.data.encode("utf-8")).hexdigest()
        assert fields.get("event_id") == (digest,)
    # the same record collected again is the same event: the same key
    assert config.extract(to_event(record, 5.0).data)["event_id"] == fields["event_id"]


def test_records_without_an_id_keep_distinct_keys():
    config = checks.search_time(APP)
    first = config.extract(to_event({"eventTime": "2026-11-30T10:00:00Z", "a": 1}, 0).data)
    second = config.extract(to_event({"eventTime": "2026-11-30T10:00:00Z", "a": 2}, 0).data)
    assert first["event_id"] != second["event_id"]


def test_the_alias_model_removes_a_destination_whose_source_is_absent(tmp_path):
    # The shipped form before issue 16 (rc_id AS event_id) loses a numeric id's record: the
    # emulation must show it, or it could not guard the fix.
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    props = app / "default" / "props.conf"
    text = props.read_text()
    text = text.replace(
        "rc_accountId AS vendor_account", "rc_id AS event_id rc_accountId AS vendor_account"
    )
    text = text.replace("ringcentral_audit_numeric_id, ", "")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("EVAL-event_id"))
    props.write_text(text)
    old = SearchTime(app)
    raw = json.dumps({"id": 42, "eventTime": "2026-11-30T10:00:00.000Z", "actionId": "X"})
    fields = old.extract(raw)
    assert "event_id" not in fields
    assert "id" not in fields  # KV_MODE=json found id=42, the alias rc_id AS id removed it
