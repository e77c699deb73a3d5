import pytest
from hypothesis import given
from hypothesis import strategies as st
from ringcentral_audit.ratelimit import MAX_RETRY_AFTER, SAFETY_SECONDS, RateGate, retry_after


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


# ----- Retry-After of any size or form (issue 7, item 11) --------------------------------------


@pytest.mark.parametrize("value", ["1e20", "inf", "Infinity", "1e308", "9" * 400])
def test_a_huge_retry_after_is_bounded(value):
    assert retry_after({"Retry-After": value}) == MAX_RETRY_AFTER  # was OverflowError downstream
    gate = RateGate(limit=10, window=60.0)
    gate.penalize(retry_after({"Retry-After": value}), 1000.0)
    assert gate.export(1000.0)["blocked_until"]  # writable to the checkpoint


def test_an_http_date_retry_after_counts_from_the_answers_date():
    headers = {
        "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT",
        "Date": "Wed, 21 Oct 2015 07:27:30 GMT",
    }
    assert retry_after(headers, now=0.0) == 30.0  # our clock does not matter when Date is there
    alone = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    assert retry_after(alone, now=1445412460.0) == 20.0
    assert retry_after({"Retry-After": "Sunday, 06-Nov-94 08:49:37 GMT"}, now=784111700.0) == 77.0
    assert retry_after({"Retry-After": "Sun Nov  6 08:49:37 1994"}, now=784111777.0) == 0.0


@pytest.mark.parametrize("value", ["-1", "nan", "-inf", "soon", "", "Wed, 99 Foo 2015"])
def test_an_unreadable_retry_after_means_the_default(value):
    assert retry_after({"Retry-After": value}) == 60.0


@given(st.text(max_size=40), st.floats(min_value=0, max_value=4e9))
def test_any_retry_after_is_a_finite_wait_within_the_bound(value, now):
    seconds = retry_after({"Retry-After": value, "Date": value}, now=now)
    assert 0.0 <= seconds <= MAX_RETRY_AFTER


@given(
    st.dictionaries(
        st.sampled_from(["limit", "window", "blocked_until", "sent"]),
        st.one_of(
            st.none(),
            st.integers(),
            st.floats(),
            st.text(max_size=30),
            st.lists(st.one_of(st.integers(), st.text(max_size=30)), max_size=4),
            st.just("9999-12-31T23:59:59.999Z"),
        ),
    ),
    st.floats(min_value=0, max_value=4e9),
)
def test_a_restored_rate_view_of_any_shape_never_blocks_past_the_bound(data, now):
    gate = RateGate(limit=10, window=60.0)
    gate.restore(data)
    assert 0.0 <= gate.delay(now) <= max(MAX_RETRY_AFTER, 3600 + 1)
    gate.export(now)
