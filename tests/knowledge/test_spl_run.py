"""spl_run, the pipeline runner the coverage tests rely on: each command and function behaves as
Splunk documents it, and what it does not know is refused."""

import calendar
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .spl_run import (
    Macro,
    RunError,
    expand,
    macros_from_conf,
    relative_time,
    run,
    strftime,
    strptime,
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
        "host=a | rename n AS m",
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
    ],
)
def test_relative_time(spec, expected):
    now = calendar.timegm((2026, 6, 3, 10, 17, 42))
    got = datetime.fromtimestamp(relative_time(now, spec), tz=timezone.utc)
    assert got.strftime("%Y-%m-%dT%H:%M:%S") == expected
