"""spl_run, the one SPL evaluator of the suite (coverage and content tests, the alert simulation,
the dashboards' results): each command and function behaves as Splunk documents it, its answers
match brute force on generated events, and what it does not know is refused (a refused panel or
search is reported, never shown with made-up rows)."""

import calendar
from collections import Counter
from datetime import datetime, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from .spl_run import (
    Context,
    Macro,
    RunError,
    as_results,
    as_row,
    expand,
    iso,
    macros_from_conf,
    relative_time,
    run,
    run_pipeline,
    strftime,
    strptime,
    values_of,
)

EVENTS = [
    {"_time": ("300",), "host": ("a",), "n": ("10",), "s": ("b",)},
    {"_time": ("100",), "host": ("a",), "n": ("9",), "s": ("a",)},
    {"_time": ("200",), "host": ("b",), "n": ("x",), "tags": ("t1", "t2")},
    {"_time": ("400",), "host": ("b",)},
]


def rows(search, now=1000.0, events=EVENTS, macros=None, tokens=None):
    return run(search, events, macros or {}, now, tokens)


def test_base_search_returns_events_newest_first():
    assert [r["_time"] for r in rows("host=*")] == [400.0, 300.0, 200.0, 100.0]
    assert [r["_time"] for r in rows("host=a")] == [300.0, 100.0]


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 / 4", 2.5),
        ("7 % 3", 1.0),
        ("-n + 1", -9.0),
        ('"a" . 1', "a1"),
        ('"a" + "b"', "ab"),
        ("n + 1", 11.0),
        ('if(n > 9, "big", "small")', "big"),
        ('if(n > 90, "big", "small")', "small"),
        ('case(n < 5, "low", n < 50, "mid")', "mid"),
        ("coalesce(missing, n)", "10"),
        ("round(2.456, 2)", 2.46),
        ("round(2.5)", 2.0),
        ("max(3, 10, 2)", 10.0),
        ('max("b", "a")', "b"),
        ("min(n, 20)", 10.0),
        ('replace("2026-01-01T00:00:00Z", "Z$", "+0000")', "2026-01-01T00:00:00+0000"),
        ('len("abc")', 3.0),
        ('mvcount(mvappend("a", "b", null()))', 2.0),
        ('mvjoin(mvappend("a", "b"), ",")', "a,b"),
        ('tostring(90061, "duration")', "1+01:01:01"),
        ("tonumber(n) * 2", 20.0),
        ("now()", 1000.0),
    ],
)
def test_eval_expressions(expression, expected):
    assert rows(f"host=a | eval v={expression} | head 1")[0]["v"] == expected


def test_comparisons_are_numeric_for_numbers_and_lexicographic_otherwise():
    assert rows("host=a | where n > 9")[0]["n"] == "10"  # numerically 10 > 9 ("10" < "9" as text)
    assert [r["s"] for r in rows('host=a | where s > "a"')] == ["b"]
    assert [r["n"] for r in rows("host=b | where n > 1")] == ["x"]  # text: "x" > "1"
    assert rows("host=b | where missing > 1") == []  # null compares false
    assert rows("host=b | where NOT missing > 1")  # NOT of null is true in where


def test_null_results_remove_the_field():
    out = rows("host=a | eval n=null(), k=1 | head 1")
    assert "n" not in out[0] and out[0]["k"] == 1.0


def test_eval_assignments_run_left_to_right():
    assert rows("host=a | eval a=1, b=a + 1 | head 1")[0]["b"] == 2.0


def test_sort_numeric_then_text_and_descending():
    assert [r.get("n") for r in rows("host=* | sort 0 n")] == [None, "9", "10", "x"]
    assert [r["_time"] for r in rows("host=* | sort 0 host -_time")] == [300, 100, 400, 200]


def test_stats_groups_sorted_and_drops_rows_without_by_fields():
    out = rows("host=* | stats count AS c values(s) AS s max(_time) AS last by host")
    assert out == [
        {"host": "a", "c": 2.0, "s": ("a", "b"), "last": 300.0},
        {"host": "b", "c": 2.0, "last": 400.0},
    ]
    assert rows("host=* | stats count by missing") == []
    assert rows("host=nothing | stats count") == [{"count": 0.0}]


def test_stats_functions():
    out = rows(
        "host=* | stats dc(host) AS hosts sum(n) AS total avg(n) AS mean min(n) AS low "
        "latest(host) AS newest earliest(host) AS oldest first(host) AS first_seen count(tags) AS t"
    )[0]
    assert out == {
        "hosts": 2.0,
        "total": 19.0,
        "mean": 9.5,
        "low": "10",  # mixed numbers and text: compared as text
        "newest": "b",
        "oldest": "a",
        "first_seen": "b",  # first in arrival order: newest first
        "t": 2.0,
    }


def test_streamstats_current_window_and_by():
    out = rows(
        "host=* | sort 0 _time | streamstats current=f max(_time) AS before by host "
        "| streamstats window=2 sum(_time) AS pair | streamstats count AS k"
    )
    assert [(r["_time"], r.get("before"), r["pair"], r["k"]) for r in out] == [
        (100.0, None, 100.0, 1.0),
        (200.0, None, 300.0, 2.0),
        (300.0, 100.0, 500.0, 3.0),
        (400.0, 200.0, 700.0, 4.0),
    ]


def test_eventstats_adds_group_results_to_every_row():
    out = rows("host=* | eventstats max(_time) AS last by host | table host _time last")
    assert [(r["host"], r["last"]) for r in out] == [
        ("b", 400.0),
        ("a", 300.0),
        ("b", 400.0),
        ("a", 300.0),
    ]


def test_fields_and_table():
    assert rows("host=a | table s | head 1") == [{"s": "b"}]
    assert "n" not in rows("host=a | fields - n | head 1")[0]


@pytest.mark.parametrize(
    "search",
    [
        "host=a | rename n* AS m*",
        "host=a | eval v=spath(_raw, 'x')",
        "host=a | eval v=",
        "host=a | stats perc95(n)",
        "host=a | streamstats reset_on_change=t count",
        'host=a | eval v=strftime(0, "%5N")',
        'host=a | eval v=relative_time(0, "-1mon")',
        "host=a | table n*",
        "host=a $tok$",
        "host=a | `undefined`",
    ],
)
def test_what_it_cannot_run_is_refused(search):
    with pytest.raises(RunError):
        rows(search)


def test_rename_addinfo_mvexpand_appendpipe():
    assert rows('host=a | table s | head 1 | rename s AS "Source name"') == [{"Source name": "b"}]
    info = run("host=a | head 1 | addinfo", EVENTS, {}, 100.0, None, (10.0, 90.0))
    assert (info[0]["info_min_time"], info[0]["info_max_time"], info[0]["info_search_time"]) == (
        10.0,
        90.0,
        100.0,
    )
    expanded = rows('host=a | head 1 | eval v=mvappend("x", "y") | mvexpand v | table v')
    assert expanded == [{"v": "x"}, {"v": "y"}]
    empty = rows(
        'host=none | stats count AS n | appendpipe [ stats count AS m | where m == 1 | eval note="none" ]'
    )
    assert empty == [{"n": 0.0}, {"m": 1.0, "note": "none"}]


def test_macros_with_arguments_nest_and_substitute():
    macros = macros_from_conf(
        {
            "twice(1)": {"args": "x", "definition": "($x$ * 2)"},
            "add(2)": {"args": "a, b", "definition": "($a$ + `twice($b$)`)"},
            "base": {"definition": "host=a"},
        }
    )
    assert expand("`base` | eval v=`add(1, `twice(3)`)`", macros) == (
        "host=a | eval v=(1 + ((3 * 2) * 2))"
    )
    assert rows("`base` | eval v=`add(1, 2)` | head 1", macros=macros)[0]["v"] == 5.0
    with pytest.raises(RunError):
        macros_from_conf({"bad(2)": {"args": "a", "definition": ""}})
    with pytest.raises(RunError):
        expand("`add(1)`", macros)


def test_tokens_are_substituted():
    assert rows('host=a | eval v="$t$" | head 1', tokens={"t": "x"})[0]["v"] == "x"
    assert expand("`m`", {"m": Macro("a")}) == "a"


@given(st.integers(0, 4_000_000_000), st.integers(0, 999))
@settings(max_examples=200, deadline=None)
def test_strptime_reads_what_strftime_writes(seconds, millis):
    epoch = seconds + millis / 1000
    text = strftime(epoch, "%Y-%m-%dT%H:%M:%S.%3N") + "+0000"
    assert strptime(text, "%Y-%m-%dT%H:%M:%S.%3N%z") == pytest.approx(epoch, abs=1e-6)
    assert strptime(text.replace("+0000", "Z"), "%Y-%m-%dT%H:%M:%S.%3N%Z") == pytest.approx(
        epoch, abs=1e-6
    )


def test_strptime_needs_the_whole_string_and_honours_offsets():
    assert strptime("2026-06-01T10:00:00+0200", "%Y-%m-%dT%H:%M:%S%z") == calendar.timegm(
        (2026, 6, 1, 8, 0, 0)
    )
    assert strptime("2026-06-01T10:00:00.000+0000", "%Y-%m-%dT%H:%M:%S%z") is None
    assert strptime("2026-06-01", "%Y-%m-%dT%H:%M:%S%z") is None
    assert strptime("null", "%Y-%m-%dT%H:%M:%S%z") is None
    assert strptime("2026-02-30T00:00:00+0000", "%Y-%m-%dT%H:%M:%S%z") is None


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("now", "2026-06-03T10:17:42"),
        ("-15m@m", "2026-06-03T10:02:00"),
        ("@m", "2026-06-03T10:17:00"),
        ("-24h@m", "2026-06-02T10:17:00"),
        ("-90d@d", "2026-03-05T00:00:00"),
        ("@d", "2026-06-03T00:00:00"),
        ("+1h", "2026-06-03T11:17:42"),
        ("@w", "2026-05-31T00:00:00"),  # Sunday
        ("@w0", "2026-05-31T00:00:00"),
        ("-7d@w0", "2026-05-24T00:00:00"),
        ("-30", "2026-06-03T10:17:12"),  # seconds when no unit
        ("-2min", "2026-06-03T10:15:42"),
        ("", "2026-06-03T10:17:42"),
        ("0", "1970-01-01T00:00:00"),  # an epoch time: earliest=0
    ],
)
def test_relative_time(spec, expected):
    now = calendar.timegm((2026, 6, 3, 10, 17, 42))
    got = datetime.fromtimestamp(relative_time(now, spec), tz=timezone.utc)
    assert got.strftime("%Y-%m-%dT%H:%M:%S") == expected


# --- the commands after a matched base search (alert simulation, dashboard results)

NOW = 1_800_000_000.0
CTX = Context(NOW, (NOW - 86400, NOW))

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


def pipe(query, events, ctx=CTX):
    return run_pipeline(
        [s for s in query.split("|") if s.strip()], [as_row(e) for e in events], ctx
    )


@settings(max_examples=60, deadline=None)
@given(events)
def test_stats_count_and_dc_by_field_match_brute_force(events):
    table = pipe("stats count AS n dc(src) AS ips by user | sort - n", events)
    expected = Counter(row["user"] for row in events)
    assert {r["user"]: r["n"] for r in table.rows} == {k: float(v) for k, v in expected.items()}
    for result in table.rows:
        ips = {
            v
            for row in events
            if row["user"] == result["user"]
            for v in (row.get("src") if isinstance(row.get("src"), list) else [row.get("src")])
            if v is not None
        }
        assert result["ips"] == float(len(ips))
    counts = [r["n"] for r in table.rows]
    assert counts == sorted(counts, reverse=True)
    assert table.columns == ["user", "n", "ips"]


@settings(max_examples=60, deadline=None)
@given(events)
def test_stats_by_a_multivalue_field_counts_the_row_in_each_value(events):
    table = pipe("stats count AS n by src", events)
    expected = Counter(
        v for row in events for v in set(values_of(pipe("head 1", [row]).rows[0].get("src")))
    )
    assert {r["src"]: r["n"] for r in table.rows} == {k: float(v) for k, v in expected.items()}


@settings(max_examples=60, deadline=None)
@given(events)
def test_stats_without_by_always_gives_one_row(events):
    table = pipe("stats count AS n", events)
    assert [r["n"] for r in table.rows] == [float(len(events))]


@settings(max_examples=40, deadline=None)
@given(events)
def test_timechart_counts_every_event_in_range_once(events):
    table = pipe("timechart count by user", events)
    total = sum(v for r in table.rows for k, v in r.items() if k != "_time")
    assert total == len(events)
    assert len(table.rows) == 49  # -24h in 30-minute buckets, both ends included


def test_timechart_limit_folds_the_rest_into_other():
    events = [{"_time": NOW - 10, "user": u} for u in ["b", "a", "b", "c", "b", "a"]]
    table = pipe("timechart limit=1 count by user", events)
    assert table.columns == ["_time", "b", "OTHER"]  # the series with the most events
    assert sum(r["OTHER"] for r in table.rows) == 3
    assert sum(r["b"] for r in table.rows) == 3


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 7200), st.sampled_from(["a", "b"])), max_size=30),
    st.sampled_from([(600, "10m"), (900, "15m"), (3600, "1h")]),
    st.booleans(),
)
@example(points=[(0, "a"), (600, "a")], window=(600, "10m"), current=True)  # at the boundary
def test_streamstats_time_window_matches_brute_force(points, window, current):
    """Each row counts the earlier rows of its user (and itself unless current=f) whose _time is
    within the window of its own, the stream being newest first as a search returns it."""
    seconds, spec = window
    events = sorted(({"_time": float(t), "user": u} for t, u in points), key=lambda r: -r["_time"])
    flag = "" if current else "current=f "
    table = pipe(f"streamstats time_window={spec} {flag}count AS n by user", events)
    for index, row in enumerate(table.rows):
        earlier = [
            e
            for e in events[:index]
            if e["user"] == row["user"] and abs(row["_time"] - e["_time"]) < seconds
        ]
        assert row["n"] == float(len(earlier) + (1 if current else 0))


def test_iplocation_uses_the_contexts_table():
    geo = {"203.0.113.9": {"Country": "France", "City": "Paris"}}
    table = pipe(
        "iplocation src | stats count AS n by Country",
        [{"src": "203.0.113.9"}, {"src": "198.51.100.1"}, {"src": "203.0.113.9"}],
        Context(NOW, geo=geo),
    )
    assert table.rows == [{"Country": "France", "n": 2.0}]


def test_eval_functions_and_where():
    events = [
        {"_time": NOW - 120, "lag_s": "90", "status": "success"},
        {"_time": NOW, "lag_s": "x"},
    ]
    table = pipe(
        'eval m=round(lag_s/60, 1), ok=if(status="success", "yes", null()), '
        't=strftime(_time, "%Y-%m-%d"), age=round((now() - _time)/60, 0), '
        'u=upper("a") . lower("B"), z=mvzip(mvappend("1", "2"), mvappend("x", "y"), "-") '
        "| where age > 1",
        events,
    )
    assert [(r["m"], r["ok"], r["age"], r["u"], r["z"]) for r in table.rows] == [
        (1.5, "yes", 2.0, "Ab", ("1-x", "2-y"))
    ]
    assert table.rows[0]["t"] == "2027-01-15"


def test_results_are_strings_and_lists_like_splunks():
    table = pipe("stats count AS n values(src) AS ips", [{"src": ["b", "a"]}, {"src": "a"}])
    assert as_results(table) == {"fields": ["n", "ips"], "columns": [["2"], [["a", "b"]]]}
    table = pipe("eval x=null() | table _time x", [{"_time": NOW + 0.25}])
    assert as_results(table) == {
        "fields": ["_time", "x"],
        "columns": [[iso(NOW + 0.25)], [None]],
    }
    assert iso(NOW + 0.25) == "2027-01-15T08:00:00.250+00:00"


@pytest.mark.parametrize(
    "query",
    [
        "rex field=x (?<y>.*)",
        "stats perc95(x)",
        "stats count AS n span=1h",
        "eval x=lower(a, b)",
        "eval x = a +",
        "timechart span=1h count",
        "timechart count by a x",
        "table x*",
        "head -5",
        "iplocation src",  # no address table in the context
        "streamstats time_window=1mon count",
        "dedup a sortby x",
        "dedup keepempty=true a",
    ],
)
def test_what_is_not_emulated_is_refused(query):
    with pytest.raises(RunError):
        pipe(query, [{"_time": NOW, "a": "1", "x": "2"}])


def test_timechart_needs_the_time_range():
    with pytest.raises(RunError):
        pipe("timechart count", [{"_time": NOW}], Context(NOW))


@settings(max_examples=60, deadline=None)
@given(events)
def test_eventstats_gives_every_row_its_groups_result(events):
    table = pipe("eventstats count AS n max(_time) AS last by user", events)
    assert len(table.rows) == len(events)
    for row in table.rows:
        group = [e for e in events if e["user"] == row["user"]]
        assert (row["n"], row["last"]) == (float(len(group)), max(e["_time"] for e in group))
    assert table.columns[-2:] == ["n", "last"]


@settings(max_examples=60, deadline=None)
@given(events)
def test_dedup_keeps_the_first_row_of_each_value_and_drops_rows_without_it(events):
    rows = [dict(e) for e in events] + [{"_time": NOW}]  # a row without the field
    table = pipe("dedup user", rows)
    firsts = {}
    for row in rows:
        if "user" in row:
            firsts.setdefault(row["user"], row["_time"])
    assert [(r["user"], r["_time"]) for r in table.rows] == list(firsts.items())
