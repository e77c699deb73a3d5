import pytest
from ringcentral_audit.ratelimit import SAFETY_SECONDS, RateGate, retry_after


def test_gate_spaces_requests_so_no_window_holds_more_than_the_limit():
    gate = RateGate(limit=10, window=60)
    now = 0.0
    sent = []
    for _ in range(35):
        now += gate.delay(now)
        gate.sent(now)
        sent.append(now)
    for i in range(len(sent) - 10):
        assert sent[i + 10] - sent[i] >= 60 + SAFETY_SECONDS - 1e-9
    assert sent[9] == 0.0  # the first ten go at once: a backfill is not slowed needlessly


def test_headers_saying_nothing_is_left_make_the_gate_wait_a_window():
    gate = RateGate(limit=10, window=60)
    gate.sent(0.0)
    gate.observe(
        {"X-Rate-Limit-Limit": "10", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Window": "60"},
        1.0,
    )
    assert gate.delay(1.0) == 60 + SAFETY_SECONDS


def test_headers_teach_the_gate_a_different_limit_and_window():
    gate = RateGate(limit=10, window=60)
    gate.observe(
        {"X-Rate-Limit-Limit": "2", "X-Rate-Limit-Remaining": "5", "X-Rate-Limit-Window": "5"}, 0.0
    )
    gate.sent(0.0)
    gate.sent(0.0)
    assert gate.delay(0.0) == 5 + SAFETY_SECONDS


def test_a_penalty_blocks_until_it_has_passed():
    gate = RateGate(limit=10, window=60)
    gate.penalize(60, now=100.0)
    assert gate.delay(100.0) >= 60
    assert gate.delay(100.0 + 60 + SAFETY_SECONDS) == 0


def test_retry_after_defaults_to_sixty_seconds():
    assert retry_after({"Retry-After": "17"}) == 17
    assert retry_after({}) == 60
    assert retry_after({"Retry-After": "soon"}) == 60


def test_the_gate_carries_over_to_the_next_run():
    first = RateGate(limit=10, window=60)
    first.observe({"X-Rate-Limit-Limit": "5", "X-Rate-Limit-Window": "30"}, 0.0)
    for t in range(5):
        first.sent(float(t))
    first.penalize(20, now=5.0)
    exported = first.export(now=6.0)
    second = RateGate(limit=10, window=60)
    second.restore(exported)
    assert (second.limit, second.window) == (5, 30.0)
    assert second.delay(6.0) == pytest.approx(30 + SAFETY_SECONDS - 6.0, abs=0.01)
    assert RateGate(limit=10, window=60).export(now=100.0)["blocked_until"] is None
