"""The transforming-command evaluator that feeds the dashboards: its answers against brute force on
generated events, and its refusal of what it does not emulate (a refused query is reported, never
shown with made-up rows)."""

from __future__ import annotations

from collections import Counter

import pytest
import spl_pipeline as spl
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = 1_800_000_000.0
CTX = spl.Context(NOW, (NOW - 86400, NOW))

names = st.sampled_from(["alice", "bob", "carol", "Dave", "10", "9"])
events = st.lists(
    st.fixed_dictionaries(
        {"_time": st.floats(NOW - 86000, NOW), "user": names},
        optional={
            "src": st.lists(names, min_size=1, max_size=3).map(lambda v: v if len(v) > 1 else v[0])
        },
    ),
    max_size=40,
)


def run(query: str, rows):
    return spl.run([s for s in query.split("|") if s.strip()], rows, CTX)


@settings(max_examples=60, deadline=None)
@given(events)
def test_stats_count_and_dc_by_field_match_brute_force(rows):
    table = run("stats count AS n dc(src) AS ips by user | sort - n", rows)
    expected = Counter(row["user"] for row in rows)
    assert {r["user"]: r["n"] for r in table.rows} == {k: float(v) for k, v in expected.items()}
    for result in table.rows:
        ips = {
            v
            for row in rows
            if row["user"] == result["user"]
            for v in spl.values_of(row.get("src"))
        }
        assert result["ips"] == float(len(ips))
    counts = [r["n"] for r in table.rows]
    assert counts == sorted(counts, reverse=True)
    assert table.columns == ["user", "n", "ips"]


@settings(max_examples=60, deadline=None)
@given(events)
def test_stats_without_by_always_gives_one_row(rows):
    table = run("stats count AS n", rows)
    assert [r["n"] for r in table.rows] == [float(len(rows))]


@settings(max_examples=40, deadline=None)
@given(events)
def test_timechart_counts_every_event_in_range_once(rows):
    table = run("timechart count by user", rows)
    total = sum(v for r in table.rows for k, v in r.items() if k != "_time")
    assert total == len(rows)
    assert len(table.rows) == 49  # -24h in 30-minute buckets, both ends included


def test_timechart_limit_folds_the_rest_into_other():
    rows = [{"_time": NOW - 10, "user": u} for u in ["b", "a", "b", "c", "b", "a"]]
    table = run("timechart limit=1 count by user", rows)
    assert table.columns == ["_time", "b", "OTHER"]  # the series with the most events
    assert sum(r["OTHER"] for r in table.rows) == 3


def test_eval_functions_and_where():
    rows = [{"_time": NOW - 120, "lag_s": "90", "status": "success"}, {"_time": NOW, "lag_s": "x"}]
    table = run(
        'eval m=round(lag_s/60, 1), ok=if(status="success", "yes", null()), '
        't=strftime(_time, "%Y-%m-%d"), age=round((now() - _time)/60, 0) | where age > 1',
        rows,
    )
    assert [(r["m"], r["ok"], r["age"]) for r in table.rows] == [(1.5, "yes", 2.0)]
    assert table.rows[0]["t"] == "2027-01-15"


def test_results_are_strings_and_lists_like_splunks():
    table = run("stats count AS n values(src) AS ips", [{"src": ["b", "a"]}, {"src": "a"}])
    assert spl.as_results(table) == {"fields": ["n", "ips"], "columns": [["2"], [["a", "b"]]]}


@pytest.mark.parametrize(
    "query",
    [
        "rex field=x (?<y>.*)",
        "stats perc95(x)",
        "stats count AS n span=1h",
        "eval x=replace(a, b, c)",
        "eval x = a +",
        "timechart span=1h count",
        "table x*",
        "head -5",
        "iplocation src",
    ],
)
def test_what_is_not_emulated_is_refused(query):
    with pytest.raises(spl.Unsupported):
        run(query, [{"_time": NOW, "a": "1", "x": "2"}])


@pytest.mark.parametrize("spec, expected", [("-24h@h", NOW - 86400 - NOW % 3600), ("now", NOW)])
def test_relative_time(spec, expected):
    assert spl.relative_time(NOW, spec) == expected
