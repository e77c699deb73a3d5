"""No silent cap can cut a view's numbers (issue 16 item 8), checked on the searches' structure:
- a ds.chain post-processes at most 500,000 events of a base search that does not transform
  (Dashboard Studio, "Chain searches together": use a transforming base search); every base
  search a chain extends runs a transforming command (stats, timechart, chart);
- streamstats without window= or time_window= over events keeps at most max_stream_window
  (10,000, limits.conf) of them (Search Reference, streamstats); over the results of a
  transforming command it runs on all of them. Every streamstats of the views, macros and
  operational alerts either has a window of at most 10,000 or follows a transforming command."""

import re

import pytest

from . import checks, content, spl_search
from .search_time import read_conf

APP = checks.PACKAGE
MACROS = {
    name: s.get("definition", "") for name, s in read_conf(APP / "default" / "macros.conf").items()
}
TRANSFORMING = {"stats", "timechart", "chart"}
MAX_STREAM_WINDOW = 10000


def _commands(text):
    expanded = content.expand(text, MACROS)
    return [s.strip().partition(" ") for s in spl_search.split_outside_quotes(expanded, "|")[1:]]


def _cap_problems(text):
    problems, transformed = [], False
    for command, _, args in _commands(text):
        if command == "streamstats" and not transformed:
            window = re.search(r"\bwindow=(\d+)", args)
            if not window or not 0 < int(window.group(1)) <= MAX_STREAM_WINDOW:
                problems.append(f"streamstats over events without a window: {args[:60]}")
        if command in TRANSFORMING:
            transformed = True
    return problems


VIEWS = {path.stem: content.load_dashboard(path) for path in content.views(APP)}
EVIDENCE = ("ringcentral_audit_collection_health", "ringcentral_audit_coverage")


@pytest.mark.parametrize("name", EVIDENCE)
def test_every_base_search_of_a_chain_transforms(name):
    sources = VIEWS[name].definition["dataSources"]
    bases = {s["options"]["extend"] for s in sources.values() if s["type"] == "ds.chain"}
    for key in bases:
        commands = {c for c, _, _ in _commands(sources[key]["options"]["query"])}
        assert commands & TRANSFORMING, f"{name}.{key} hands raw events to its chains"


@pytest.mark.parametrize("name", EVIDENCE)
def test_no_streamstats_of_the_views_is_capped(name):
    problems = [p for q in VIEWS[name].queries() for p in _cap_problems(q.text)]
    assert problems == []


def test_no_streamstats_of_the_operational_alerts_and_macros_is_capped():
    saved = read_conf(APP / "default" / "savedsearches.conf")
    names = [
        "RingCentral Audit - Collection stalled",
        "RingCentral Audit - Collection failing",
        "RingCentral Audit - Completeness report",
        "RingCentral Audit - Records missing from the index",
    ]
    problems = [p for n in names for p in _cap_problems(saved[n]["search"])]
    assert problems == []


def test_the_check_sees_a_capped_search():
    assert _cap_problems("x | sort 0 input | streamstats max(end) AS m by input")
    assert not _cap_problems("x | stats max(end) AS end by input start | streamstats max(end) AS m")
    assert not _cap_problems("x | streamstats window=1 last(a) AS b")
