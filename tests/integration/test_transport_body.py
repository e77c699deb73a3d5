"""The body is read in one piece (transport._read_body) and judged as requests' own read would:
an answer cut short of its Content-Length is a malformed or truncated body, then retried."""

from __future__ import annotations

import logging
import time

import pytest
from ringcentral_audit.client import AuditTrailClient, page_body
from ringcentral_audit.ports import MemoryStore
from ringcentral_audit.settings import Account, Connection

from tests.standins.ringcentral import RingCentralStandIn, generate_history


@pytest.mark.parametrize("declared_full", [False, True])
def test_a_body_cut_short_is_named_truncated_and_retried(caplog, declared_full):
    records = generate_history(50, end=time.time() - 3600, span_days=1, seed=1)
    with RingCentralStandIn(records=records) as rc:
        account = Account(rc.base_url, rc.client_id, rc.client_secret, rc.jwt)
        client = AuditTrailClient(account, Connection(), tokens=MemoryStore())
        client.ensure_token()
        rc.inject("truncated", declared_full=declared_full)
        with caplog.at_level(logging.INFO, logger="ringcentral_audit"):
            page = client.search(page_body("2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z", 1, 1000))
        client.close()
    assert len(page.records) == 50 and client.stats.retries == 1
    assert "malformed or truncated body" in caplog.text
    assert "ChunkedEncodingError" not in caplog.text
