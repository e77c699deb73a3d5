"""RingCentral's clock as the collector sees it: the Date header, estimated from below."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from ringcentral_audit.clock import SKEW_LOG_THRESHOLD, ServerTime, http_date


def test_http_dates_parse_and_junk_does_not():
    assert http_date("Mon, 01 Jun 2026 00:00:00 GMT") == 1780272000.0
    assert http_date("Mon Jun  1 00:00:00 2026") == 1780272000.0  # asctime: GMT, says RFC 9110
    for junk in (None, "", "yesterday", "Mon, 99 Foo 2026", 5):
        assert http_date(junk) is None


@given(st.text(max_size=40))
def test_any_header_text_is_a_time_or_none(text):
    value = http_date(text)
    assert value is None or isinstance(value, float)


@given(
    offsets=st.lists(st.floats(-(10**7), 10**7), min_size=1, max_size=5),
    local=st.floats(1e9, 2e9),
)
def test_the_bound_never_passes_either_clock(offsets, local):
    server = ServerTime()
    for offset in offsets:
        server.observe(local + offset, local)
    assert server.now(local) <= local
    assert server.now(local) <= local + max(offsets) + 1e-6
    skew = server.skew()
    assert (skew is None) == (abs(max(offsets)) <= SKEW_LOG_THRESHOLD)


def test_without_a_date_nothing_is_known():
    server = ServerTime()
    server.observe(None, 100.0)
    assert not server.known and server.now(100.0) == 100.0 and server.server_now(1.0) is None
