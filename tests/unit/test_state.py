import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ringcentral_audit.errors import CheckpointError
from ringcentral_audit.state import VERSION, State, Window, load_state
from ringcentral_audit.timeutil import parse_time


def test_new_input_has_an_empty_state():
    state = load_state(None)
    assert state.cursor is None and state.window is None and state.recent == {}


def test_state_round_trips_through_json():
    state = State(
        origin="",
        cursor=1722941419.442,
        recent={"a": 1722941419.0, "sha256:ff": 1722941000.5},
        window=Window(
            start=1722941000.0,
            end=1722942000.0,
            page=3,
            ids={"b": 1722941500.25},
            parts=[(1722941000.0, 1722941500.001), (1722941500.0, 1722942000.0)],
        ),
        per_page=500,
        rate={"limit": 10, "window": 60.0, "blocked_until": None, "sent": []},
    )
    raw = json.loads(json.dumps(state.to_json()))
    assert raw["version"] == VERSION
    assert load_state(raw) == state


@pytest.mark.parametrize(
    "legacy",
    [
        {"version": 1, "cursor": "2024-08-06T10:50:19.442Z"},
        {"cursor": "2024-08-06T10:50:19.442Z"},
        "2024-08-06T10:50:19.442Z",
    ],
)
def test_older_forms_migrate_and_adopt_the_inputs_start_date(legacy):
    state = load_state(legacy)
    assert state.cursor == parse_time("2024-08-06T10:50:19.442Z")
    assert state.origin is None  # the collector adopts the configured start date
    assert state.window is None


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"version": 99}, "newer than this add-on"),
        ([1, 2], "not an object"),
        ({"version": 2, "cursor": "soon"}, "not a time"),
        ({"version": 2, "recent": ["a"]}, "not an object"),
    ],
)
def test_unusable_checkpoints_are_refused_with_what_to_do(raw, words):
    with pytest.raises(CheckpointError) as caught:
        load_state(raw)
    assert words in str(caught.value)
    assert "reset" in str(caught.value) or "upgrade" in str(caught.value)


# ----- damaged checkpoints (issue 7, item 10) --------------------------------------------------

V2 = {"version": 2, "origin": "", "cursor": "2026-06-01T00:00:00.000Z"}
WINDOW = {"start": "2026-06-01T00:00:00.000Z", "end": "2026-06-01T01:00:00.000Z", "page": 2}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"version": 0}, "version"),
        ({"version": -1}, "version"),
        ({"version": True}, "version"),
        ({"version": 2.0}, "version"),
        ({**V2, "per_page": "abc"}, "per_page"),
        ({**V2, "per_page": [1]}, "per_page"),
        ({**V2, "per_page": 10**6}, "per_page"),
        ({**V2, "window": "x"}, "window"),
        ({**V2, "window": [1]}, "window"),
        ({**V2, "window": {**WINDOW, "page": "x"}}, "window page"),
        ({**V2, "window": {**WINDOW, "page": 0}}, "window page"),
        ({**V2, "window": {"page": 1}}, "window start"),
        ({**V2, "window": {**WINDOW, "end": "2020-01-01T00:00:00Z"}}, "window end"),
        ({**V2, "window": {**WINDOW, "ids": ["a"]}}, "window ids"),
        ({**V2, "window": {**WINDOW, "ids": {"a": "soon"}}}, "window ids time of id 'a'"),
        ({**V2, "window": {**WINDOW, "parts": [["x", "y"]]}}, "window part start"),
        ({**V2, "window": {**WINDOW, "parts": "all"}}, "window parts"),
        ({**V2, "recent": {"a": float("nan")}}, "recent ids time of id 'a'"),
        ({**V2, "recent": {"a": 1e300}}, "recent ids time of id 'a'"),
        ({**V2, "recent": {"a": None}}, "recent ids time of id 'a'"),
        ({**V2, "cursor": 5}, "cursor"),
        ({**V2, "origin": 5}, "origin"),
    ],
)
def test_each_damaged_field_is_named_with_what_to_do(raw, field):
    with pytest.raises(CheckpointError) as caught:
        load_state(raw)
    assert f"checkpoint's {field} is " in caught.value.message
    assert "changing its start date" in caught.value.message


def test_a_version_given_as_text_is_not_taken_for_a_newer_one():
    with pytest.raises(CheckpointError) as caught:
        load_state({"version": "2"})
    assert "newer" not in caught.value.message
    assert "checkpoint's version is '2', not a whole number" in caught.value.message


def test_a_rate_view_of_the_wrong_type_is_dropped_not_fatal():
    assert load_state({**V2, "rate": 5}).rate is None
    assert load_state({**V2, "rate": {"sent": 5}}).rate == {"sent": 5}  # RateGate checks it


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=30),
        st.sampled_from(["2026-06-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "x"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [
                        "version",
                        "origin",
                        "cursor",
                        "recent",
                        "window",
                        "per_page",
                        "rate",
                        "start",
                        "end",
                        "page",
                        "ids",
                        "parts",
                    ]
                ),
                st.text(max_size=5),
            ),
            inner,
            max_size=6,
        ),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"version": st.sampled_from([1, 2, "2", 0, None])},
            optional={
                "origin": json_values,
                "cursor": json_values,
                "recent": json_values,
                "window": st.one_of(
                    json_values,
                    st.fixed_dictionaries(
                        {"start": json_values, "end": json_values},
                        optional={"page": json_values, "ids": json_values, "parts": json_values},
                    ),
                ),
                "per_page": json_values,
                "rate": json_values,
            },
        ),
    )
)
def test_any_json_loads_as_a_usable_state_or_a_checkpoint_error(raw):
    try:
        state = load_state(raw)
    except CheckpointError as error:
        assert "checkpoint" in error.message and ("start date" in error.message)
        return
    saved = json.loads(json.dumps(state.to_json()))  # what a loaded state writes back
    assert load_state(saved) == state
