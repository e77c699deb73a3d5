"""Every input appears with one state (issue 16 items 1 and 2): Collection health and Coverage list
the inputs from the inventory, not from whatever logged in the time range; a dead input next to a
healthy one, a never-run input, a disabled one, a failing one (configuration errors included),
a long run; no evidence at all reads "unknown", never an empty table or zero."""

from . import checks, coverage
from .operational_simulation import log_fields

APP = checks.PACKAGE
NOW = "2026-06-01T12:00:00Z"
T = coverage.epoch(NOW)
STATES = "`ringcentral_audit_input_states(*)`"


def _inventory(when, **disabled):
    docs = []
    for name in ("alive", "dead", "fresh", "off", "broken", "slow", "cron"):
        docs.append(
            {
                "kind": "inventory",
                "time": coverage.iso(when),
                "input": name,
                "account": "acme",
                "disabled": disabled.get(name, False),
                "interval": "*/30 * * * *" if name == "cron" else "300",
                "interval_s": None if name == "cron" else 300,
                "schedule_s": 1800 if name == "cron" else 300,
                "index": "main",
                "action_ids": [],
                "exclude_action_ids": [],
                "collection_events": name != "alive",
                "host": "hf1",
                "reported_by": "alive",
            }
        )
    return [coverage.index_doc(APP, doc) for doc in docs]


def _line(text, ago):
    return log_fields(text, T - ago)


def _world():
    events = _inventory(T - 100, off=True)
    events += [
        _line('action=window_finished input="alive" window_end=x emitted=1', 120),
        _line('action=collection_run input="alive" status=success records=1', 110),
        _line('action=window_finished input="dead" window_end=x emitted=1', 6 * 3600),
        _line('action=collection_run input="dead" status=success records=1', 6 * 3600),
        _line('action=collection_run input="off" status=success records=1', 3 * 86400),
        _line('action=collection_run input="broken" status=success records=1', 900),
        _line(
            'action=collection_error input="broken" error_kind=configuration '
            "message=\"Account 'x' does not exist\"",
            300,
        ),
        _line("action=started modular_input_name=ringcentral_audit_trail://slow", 40 * 60),
        _line('action=window_finished input="slow" window_end=x emitted=1', 60),
        _line('action=collection_run input="cron" status=success records=1', 1500),
    ]
    return events


def _states(events):
    rows = coverage.run(APP, STATES, events, NOW)
    return {str(r["input"]): str(r["state"]) for r in rows}


def test_every_input_of_the_inventory_has_one_state():
    assert _states(_world()) == {
        "alive": "healthy",
        "dead": "stalled",
        "fresh": "never ran",
        "off": "disabled",
        "broken": "failing",
        "slow": "running",
        "cron": "healthy",
    }


def test_a_dead_input_is_not_hidden_by_a_healthy_one_in_the_views():
    events = _world()
    for view, source in (
        ("ringcentral_audit_collection_health", "ds_inputs"),
        ("ringcentral_audit_coverage", "ds_state_table"),
    ):
        rows = coverage.run(APP, _query(view, source), events, NOW)
        shown = {r["Input"]: r["State"] for r in rows}
        assert shown["dead"] == "stalled" and shown["fresh"] == "never ran", view
    attention = coverage.run(
        APP, _query("ringcentral_audit_collection_health", "ds_attention"), events, NOW
    )
    assert attention == [{"inputs_needing_attention": 3.0}]  # dead, fresh, broken
    longest = coverage.run(
        APP, _query("ringcentral_audit_collection_health", "ds_longest"), events, NOW
    )
    assert longest == [{"minutes": "never"}]


def test_no_evidence_at_all_is_one_loud_unknown_row():
    rows = coverage.run(APP, STATES, [], NOW)
    assert [r["input"] for r in rows] == ["(none)"]
    assert str(rows[0]["state"]).startswith("unknown: no inventory")
    longest = coverage.run(
        APP, _query("ringcentral_audit_collection_health", "ds_longest"), [], NOW
    )
    assert str(longest[0]["minutes"]).startswith("unknown")


def test_an_input_that_only_logged_is_unknown_not_healthy():
    rows = coverage.run(
        APP, STATES, [_line('action=collection_run input="ghost" status=success', 60)], NOW
    )
    assert {r["input"]: r["state"] for r in rows} == {
        "ghost": "unknown: not in the inventory (deleted, or no inventory written)"
    }


def _query(view, source):
    from . import content

    path = APP / "default" / "data" / "ui" / "views" / f"{view}.xml"
    board = content.load_dashboard(path)
    return next(q.text for q in board.queries() if q.where.endswith(f", {source}"))
