import json

import pytest
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
