"""One audit record becomes one event: its own JSON, its own time, and an id for de-duplication."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, NamedTuple, Optional

from .timeutil import parse_time


class AuditEvent(NamedTuple):
    id: str  # the record's id, or "sha256:<digest>" of its content when it has none
    time: float  # epoch seconds, millisecond precision
    data: str  # the record's JSON, compact, keys in the order received
    time_from_record: (
        bool  # False when eventTime was missing or unparsable and ``time`` is a fallback
    )


def record_id(record: Dict[str, Any], data: Optional[str] = None) -> str:
    """The record's own id, or a stable digest of its content for a record without one."""
    rid = record.get("id")
    if isinstance(rid, str) and rid:
        return rid
    if isinstance(rid, int) and not isinstance(rid, bool):
        return str(rid)
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def to_event(record: Dict[str, Any], fallback_time: float) -> AuditEvent:
    """The event for a record; ``fallback_time`` is used (and flagged) when eventTime is unusable."""
    data = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    when = parse_time(record.get("eventTime"))
    if when is None:
        return AuditEvent(record_id(record), round(fallback_time, 3), data, False)
    return AuditEvent(record_id(record), when, data, True)
