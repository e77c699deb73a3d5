"""Test and benchmark wiring: the real library against the RingCentral stand-in, in memory."""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass, field
from typing import List, Optional

from ringcentral_audit.client import AuditTrailClient
from ringcentral_audit.collector import Collector, RunReport
from ringcentral_audit.errors import RedactingFilter
from ringcentral_audit.events import AuditEvent
from ringcentral_audit.ports import MemoryStore
from ringcentral_audit.retry import Backoff
from ringcentral_audit.settings import Account, Connection, InputSettings


class Crash(BaseException):
    """Stands for the process being killed: nothing after it runs, not even the collector's handlers."""


@dataclass
class ListSink:
    """Keeps what was emitted; can crash right after the Nth page was handed over."""

    events: List[AuditEvent] = field(default_factory=list)
    crash_after_page: Optional[int] = None
    pages: int = 0
    collection: List[dict] = field(default_factory=list)  # collection events (coverage docs)

    def write(self, events):
        self.events.extend(events)
        self.pages += 1
        if self.crash_after_page is not None and self.pages >= self.crash_after_page:
            self.crash_after_page = None
            raise Crash()

    def write_collection(self, doc):
        self.collection.append(doc)

    @property
    def ids(self):
        return [e.id for e in self.events]


class DyingStore(MemoryStore):
    """A checkpoint store in a process that dies at save number ``die_at`` (that save is lost).

    Once dead it stays dead, like the process, until ``revive`` (the input is started again).
    """

    def __init__(self, value=None, die_at=None):
        super().__init__(value)
        self.die_at = die_at
        self.dead = False

    def save(self, state):
        if self.die_at is not None and self.saves + 1 >= self.die_at:
            self.die_at, self.dead = None, True
        if self.dead:
            raise Crash()
        super().save(state)

    def revive(self):
        self.dead, self.die_at = False, None


class LogCapture:
    """Every log line the library writes (through the redacting filter), for leak checks."""

    def __init__(self, name="ringcentral_audit.test"):
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.addFilter(RedactingFilter())
        self.handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        self.logger = logging.getLogger(name)
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.logger.addHandler(self.handler)

    @property
    def text(self):
        return self.stream.getvalue()

    def close(self):
        self.logger.removeHandler(self.handler)


def account_for(rc, **overrides) -> Account:
    values = {
        "server_url": rc.base_url,
        "client_id": rc.client_id,
        "client_secret": rc.client_secret,
        "jwt": rc.jwt,
    }
    values.update(overrides)
    return Account(**values)


def make_client(rc, clock, *, tokens=None, logger=None, attempts=4, connection=None, **account):
    return AuditTrailClient(
        account_for(rc, **account),
        connection or Connection(connect_timeout=2, read_timeout=5, verify=rc.ca_file or True),
        tokens=tokens if tokens is not None else MemoryStore(),
        clock=clock,
        logger=logger,
        backoff=Backoff(attempts=attempts, base=0.5, cap=4.0),
    )


def collect(
    rc,
    clock,
    *,
    checkpoint,
    sink,
    tokens=None,
    logger=None,
    settings=None,
    stop: Optional[threading.Event] = None,
    attempts=4,
) -> RunReport:
    """One run of the collector, like one scheduled run of the modular input."""
    client = make_client(rc, clock, tokens=tokens, logger=logger, attempts=attempts)
    try:
        collector = Collector(
            client,
            settings or InputSettings(name="test"),
            checkpoint=checkpoint,
            sink=sink,
            clock=clock,
            logger=logger,
            stop=stop or threading.Event(),
        )
        return collector.run()
    finally:
        client.close()
