"""The four things the collector needs from its host (Splunk, a test, a benchmark).

Each is a small protocol so the library never imports splunkd code: the modular input plugs in
the KV store, secure storage and the EventWriter; tests plug in dicts and lists.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Protocol, Sequence

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


class BudgetStore(Protocol):
    """Where the inputs of one RingCentral account (user and app) share their request budget
    (Splunk: KV store documents beside the token store, one per input; see budget.py)."""

    def load_all(self) -> List[JsonDict]:
        """Every input's document for this account, this input's own too."""

    def save(self, doc: JsonDict) -> None:
        """This input's document."""


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


class MemoryBudget:
    """The budget documents of one account in memory, shared by the threads of one process;
    ``member(name)`` is one input's BudgetStore."""

    def __init__(self) -> None:
        self.docs: Dict[str, JsonDict] = {}
        self._lock = threading.Lock()

    def member(self, name: str) -> MemoryBudgetStore:
        return MemoryBudgetStore(self, name)


class MemoryBudgetStore:
    def __init__(self, board: MemoryBudget, name: str) -> None:
        self.board = board
        self.name = name

    def load_all(self) -> List[JsonDict]:
        with self.board._lock:
            return [dict(d) for d in self.board.docs.values()]

    def save(self, doc: JsonDict) -> None:
        with self.board._lock:
            self.board.docs[self.name] = dict(doc)
