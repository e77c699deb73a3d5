"""The BUILT modular input against poison records (issue 7, items 5 and 6), run as splunkd runs it.

RingCentral's answers pass through tests/hostile.py's front, which puts poison into every search
page: a record nested deeper than any JSON parser's recursion limit (was: RecursionError, the
input blocked for good), a non-object element (was: the whole page refused), a lone surrogate in
a record without an id (was: UnicodeEncodeError) and in one with an id (was: ``&#55296;`` in the
stream, which a strict parser refuses). The stream is read back with expat over its UTF-8 bytes.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from tests.hostile import HostileFront, inject_records
from tests.package.test_modular_input import (  # noqa: F401 - fixtures
    ACCOUNT_CONF,
    RECORDS,
    built_app,
    harness,
)

UNREADABLE = "unreadable_record"
DEEP = "[" * 200_000 + "]" * 200_000
POISON = [
    b'{"id":"deep-1","eventTime":"2026-05-31T20:00:00.000Z","details":' + DEEP.encode() + b"}",
    b"[1,2,3]",
    b'{"actionId":"X","who":"\\udc00"}',
    b'{"id":"surrogate-1","who":"\\ud800"}',
]


def test_poison_records_are_indexed_marked_and_never_block_the_built_input(harness):  # noqa: F811
    with HostileFront(harness.rc.base_url) as front:
        front.rewrite_search = lambda page: inject_records(page, POISON)
        harness.splunkd.set_conf(
            ACCOUNT_CONF,
            "acme",
            {"server": "custom", "custom_server_url": front.url, "client_id": harness.rc.client_id},
            encrypted={"client_secret": harness.rc.client_secret, "jwt": harness.rc.jwt},
        )
        result = harness.run()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    # Strictly well-formed XML in UTF-8: every event is there, as splunkd will read it.
    root = ET.fromstring(result.stdout.encode("utf-8"))  # noqa: S314 - the input's own output
    datas = [
        json.loads(e.findtext("data"))
        for e in root.iter("event")
        if e.findtext("sourcetype") == "ringcentral:audit"  # not the collection events
    ]
    assert len(datas) == RECORDS + len(POISON)  # each poison record once, across three pages
    good = {r["id"] for r in harness.rc.retrievable_records()}
    assert good <= {d.get("id") for d in datas}
    marked = [d for d in datas if UNREADABLE in d]
    assert sorted(m[UNREADABLE]["raw"][:20] for m in marked) == sorted(
        [POISON[0][:20].decode(), "[1,2,3]"]
    )
    assert {"who": "\udc00", "actionId": "X"} in datas
    assert {"id": "surrogate-1", "who": "\ud800"} in datas
    state = harness.checkpoint()
    assert state["window"] is None and state["cursor"]
    log = harness.log()
    assert "action=record_unreadable" in log and "id=deep-1" in log
    assert "status=success" in log and "Unexpected Error" not in log
    assert harness.leaks() == []
