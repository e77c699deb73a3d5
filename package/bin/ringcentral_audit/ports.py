"""The three things the collector needs from its host (Splunk, a test, a benchmark).

Each is a small protocol so the library never imports splunkd code: the modular input plugs in
the KV store, secure storage and the EventWriter; tests plug in dicts and lists.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Protocol, Sequence

from .events import AuditEvent

JsonDict = Dict[str, Any]


class CheckpointStore(Protocol):
    """Where the collection state of one input lives (Splunk: a KV store document)."""

    def load(self) -> Optional[JsonDict]: ...

    def save(self, state: JsonDict) -> None: ...


class TokenStore(Protocol):
    """Where the OAuth token state of one account lives (Splunk: storage/passwords)."""

    def load(self) -> Optional[JsonDict]: ...

    def save(self, data: JsonDict) -> None: ...


class EventSink(Protocol):
    """Receives one page of events; returns only once they are handed on (written and flushed)."""

    def write(self, events: Sequence[AuditEvent]) -> None: ...

    def write_collection(self, doc: JsonDict) -> None:
        """One collection event (see coverage.py): a finished window or a data-loss warning."""


class MemoryStore:
    """A dict-backed CheckpointStore / TokenStore, for tests, benchmarks and one-off runs."""

    def __init__(self, value: Optional[JsonDict] = None) -> None:
        self.value = value
        self.saves = 0

    def load(self) -> Optional[JsonDict]:
        return self.value

    def save(self, state: JsonDict) -> None:
        self.value = state
        self.saves += 1
