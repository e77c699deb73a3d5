"""One audit record becomes one event: its own JSON, its own time, and an id for de-duplication.

Every event's text is safe to put in splunkd's XML stream: characters XML 1.0 cannot carry
(lone surrogates, U+FFFE, U+FFFF) can only occur inside JSON strings, where they are written as
the JSON escape ``\\uXXXX`` - the same JSON value, nothing lost. A record that cannot be used as
it is (not an object, nested too deeply, unencodable) becomes an *unreadable* record: its raw
text kept under UNREADABLE with the reason, so it is still indexed, marked, and never blocks the
records around it.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any, Dict, NamedTuple, Optional

from .timeutil import parse_time

# The field that marks an event whose record could not be read as it came (see unreadable()).
UNREADABLE = "unreadable_record"
# Code points XML 1.0 forbids even as character references (control characters never reach the
# text: json.dumps escapes them).
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


class AuditEvent(NamedTuple):
    id: str  # the record's id, or "sha256:<digest>" of its content when it has none
    time: float  # epoch seconds, millisecond precision
    data: str  # the record's JSON, compact, keys in the order received
    time_from_record: (
        bool  # False when eventTime was missing or unparsable and ``time`` is a fallback
    )


def xml_safe(text: str) -> str:
    """``text`` with every code point XML cannot carry written as a JSON ``\\uXXXX`` escape."""
    if text.isascii():  # O(1) in CPython, and most records are ASCII
        return text
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def unreadable(raw: str, reason: str, rid: Any = None, event_time: Any = None) -> Dict[str, Any]:
    """The record to index in place of one that could not be read: id and time when they could
    be read, and the raw text with the reason under UNREADABLE."""
    record: Dict[str, Any] = {}
    if rid is not None:
        record["id"] = rid
    if event_time is not None:
        record["eventTime"] = event_time
    record[UNREADABLE] = {"reason": reason, "raw": raw}
    return record


def record_id(record: Dict[str, Any], data: Optional[str] = None) -> str:
    """The record's own id, or a stable digest of its content for a record without one."""
    rid = record.get("id")
    if isinstance(rid, str) and rid:
        return xml_safe(rid)  # ids are logged and checkpointed: no lone surrogates there
    if isinstance(rid, int) and not isinstance(rid, bool):
        return str(rid)
    try:
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (RecursionError, ValueError, TypeError):
        canonical = data if data is not None else repr(sorted(record))
    # surrogatepass: the same bytes as strict UTF-8 for every valid text, and no error for a
    # lone surrogate, so ids kept in existing checkpoints stay the same.
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


# json.dumps with these options builds a new encoder per call: one, made once, for every record.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def event_time(value: Any) -> Optional[float]:
    """``timeutil.parse_time``, with a fast path for the form RingCentral writes
    (``2024-08-06T10:50:19.442Z``): the same result for every string of that form."""
    if (
        isinstance(value, str)
        and len(value) == 24
        and value[23] == "Z"
        and value[10] == "T"
        and value[19] == "."
    ):
        try:
            moment = datetime.fromisoformat(value[:23])
        except ValueError:
            return parse_time(value)
        return round(moment.replace(tzinfo=timezone.utc).timestamp(), 3)
    return parse_time(value)


def to_event(record: Dict[str, Any], fallback_time: float) -> AuditEvent:
    """The event for a record; ``fallback_time`` is used (and flagged) when eventTime is unusable."""
    try:
        data = _encode(record)
    except (RecursionError, ValueError, TypeError) as error:
        # Not expected after answers.parse_search (which marks such records), kept as a floor.
        rid = record.get("id") if isinstance(record.get("id"), (str, int)) else None
        when = record.get("eventTime") if isinstance(record.get("eventTime"), str) else None
        record = unreadable("", f"could not be encoded: {type(error).__name__}", rid, when)
        data = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    data = xml_safe(data)
    rid = record_id(record, data)
    when = event_time(record.get("eventTime"))
    if when is None:
        return AuditEvent(rid, round(fallback_time, 3), data, False)
    return AuditEvent(rid, when, data, True)
