"""Results of every ds.search of every Dashboard Studio view of the BUILT add-on, derived from the
sample events: the base search (macros expanded) matched by the knowledge suite against the
samples run through the built add-on's search-time configuration, then the query's transforming
commands applied by tests/knowledge/spl_run. Written as JSON for the browser tests, which serve it to
Splunk's dashboard framework.

Run in .venv-knowledge (pytest-splunk-addon loads the samples):
    python tests/ui/dashboards/compute_results.py output/TA-ringcentral-audit OUT.json

Time: the samples are indexed "now" (their ##timestamp## tokens fall in the last 10 minutes, as
pytest-splunk-addon ingests them; _indextime is the time of this run). The add-on's log lines
(tests/knowledge/data/addon_log_lines.txt) keep their spacing but are shifted so the last one
was written 5 minutes ago. timechart covers each view's default time range.
A query that cannot be evaluated gets a "reason" instead of results: never made-up rows.
"""

from __future__ import annotations

import calendar
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.knowledge import checks, content, spl_run, spl_search  # noqa: E402
from tests.knowledge.search_time import ConfigError, SearchTime  # noqa: E402

LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")
EVENT_TIME = "%Y-%m-%dT%H:%M:%S"


class Unresolved(Exception):
    """A data source the harness cannot run as Splunk would (wrong type, broken chain)."""


def merge_searches(base: str, sub: str) -> str:
    """mergeSearches of @splunk/datasource-utils, which Splunk's SplunkSearch uses for a ds.chain:
    the base query without a trailing pipe, " | ", the chain's query without its leading pipe."""
    stripped = base.rstrip()
    if stripped.endswith("|"):
        base = stripped[:-1].rstrip()
    lead = sub.lstrip()
    if lead.startswith("|"):
        sub = lead[1:].lstrip()
    return f"{base} | {sub}"


def resolved(definition: Mapping[str, Any], key: str) -> Tuple[str, Mapping[str, Any]]:
    """The search Splunk runs for a data source and the ds.search whose job it runs in: a ds.chain
    post-processes the results of the data source it extends (chains of chains too), so its
    search is the parent's merged with its own query, in the time range of the base ds.search."""
    sources = definition.get("dataSources", {})
    chain: List[str] = []
    while True:
        source = sources.get(key)
        if source is None:
            raise Unresolved(f"{chain[-1] if chain else key} extends {key!r}, which does not exist")
        kind = source.get("type")
        if kind == "ds.search":
            query = str(source.get("options", {}).get("query", ""))
            for link in reversed(chain):
                query = merge_searches(query, str(sources[link]["options"].get("query", "")))
            return query, source
        if kind != "ds.chain":
            raise Unresolved(f"data source type {kind} is not emulated")
        if key in chain:
            raise Unresolved(f"circular extend: {' -> '.join([*chain, key])}")
        chain.append(key)
        key = str(source.get("options", {}).get("extend", ""))


def in_range(
    events: List[Dict[str, Any]], bounds: Tuple[Optional[float], Optional[float]]
) -> List[Dict[str, Any]]:
    """The events a search job with these earliest/latest reads: earliest <= _time < latest."""
    earliest, latest = bounds
    return [
        row
        for row in events
        if (earliest is None or row["_time"] >= earliest)
        and (latest is None or row["_time"] < latest)
    ]


def with_input_defaults(definition: Mapping[str, Any], query: str) -> str:
    """The query as the view first runs it: each $token$ of an input (other than the time range,
    which goes to earliest/latest) replaced by that input's default value."""
    for item in definition.get("inputs", {}).values():
        options = item.get("options", {})
        if item.get("type") != "input.timerange" and options.get("token"):
            query = query.replace(f"${options['token']}$", str(options.get("defaultValue", "")))
    return query


def _row(fields: Mapping[str, Tuple[str, ...]]) -> Dict[str, Any]:
    return {k: (v[0] if len(v) == 1 else list(v)) for k, v in fields.items() if v}


COLLECTION = "ringcentral:audit:collection"
ISO_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{3})?Z")
DAY = 86400


def shifted_collection_raw(raw: str, days: int) -> str:
    """A collection event moved by whole days: every RFC 3339 time in it (time, window and loss
    bounds, run start, and those its message quotes) moves together, so holes, gaps and clock
    times stay as in the sample."""

    def move(match: re.Match[str]) -> str:
        stamp = calendar.timegm(time.strptime(match.group(1), EVENT_TIME)) + days * DAY
        return f"{time.strftime(EVENT_TIME, time.gmtime(stamp))}{match.group(2) or ''}Z"

    return ISO_TIME.sub(move, raw)


def collection_shift_days(raws: List[str], now: float) -> int:
    """Whole days that bring the newest collection event to yesterday (UTC): the sample's fixed
    times (June 2026) then fall in each view's default time range, whatever the date of the run."""
    newest = max(
        calendar.timegm(time.strptime(m.group(1), EVENT_TIME))
        for raw in raws
        for m in ISO_TIME.finditer(raw)
    )
    return int((now // DAY - 1) - newest // DAY)


def audit_events(app: Path, now: float) -> List[Dict[str, Any]]:
    """The samples of both sourcetypes, each through its own sourcetype's search-time
    configuration: audit records at their ##timestamp## time, collection events shifted."""
    samples = checks.samples(checks.PACKAGE)
    collection = [s.raw for s in samples if s.metadata.get("sourcetype") == COLLECTION]
    days = collection_shift_days(collection, now) if collection else 0
    configs: Dict[str, SearchTime] = {}
    rows = []
    for sample in samples:
        sourcetype = sample.metadata.get("sourcetype", checks.SOURCETYPE)
        raw = shifted_collection_raw(sample.raw, days) if sourcetype == COLLECTION else sample.raw
        config = configs.setdefault(sourcetype, SearchTime(app, sourcetype))
        event = config.run(raw, checks.INDEX_METADATA)
        row = _row(event.search_fields())
        document = json.loads(raw)
        stamp = document["time"] if sourcetype == COLLECTION else document["eventTime"]
        row["_time"] = float(calendar.timegm(time.strptime(stamp[:19], EVENT_TIME)))
        row["_indextime"] = float(int(now))
        row["_raw"] = raw
        rows.append(row)
    return rows


def log_events(now: float) -> List[Dict[str, Any]]:
    lines = [line for line in checks.LOG_SAMPLE.read_text("utf-8").splitlines() if line.strip()]
    parsed = content.log_events(checks.LOG_SAMPLE)
    times = []
    for line in lines:
        match = LOG_TIME.match(line)
        if not match:
            raise ValueError(f"log line without a timestamp: {line[:60]!r}")
        stamp = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S"))
        times.append(stamp + int(match.group(2)) / 1000)
    shift = (now - 300) - max(times)
    rows = []
    for line, fields, when in zip(lines, parsed, times):
        row = _row(fields)
        row.update(_time=when + shift, _indextime=when + shift, _raw=line)
        rows.append(row)
    return rows


def time_range(
    definition: Mapping[str, Any], source: Mapping[str, Any], now: float
) -> Tuple[Optional[float], Optional[float]]:
    """The default earliest/latest of a data source: its queryParameters or the view's defaults,
    with $token.earliest$ resolved from the default value of the input that sets the token."""
    params = source.get("options", {}).get("queryParameters") or (
        definition.get("defaults", {})
        .get("dataSources", {})
        .get(source.get("type", ""), {})
        .get("options", {})
        .get("queryParameters", {})
    )
    defaults = {}
    for item in definition.get("inputs", {}).values():
        options = item.get("options", {})
        if item.get("type") == "input.timerange" and options.get("token"):
            earliest, _, latest = str(options.get("defaultValue", "")).partition(",")
            defaults[f"${options['token']}.earliest$"] = earliest
            defaults[f"${options['token']}.latest$"] = latest
    out = []
    for key in ("earliest", "latest"):
        spec = params.get(key)
        spec = defaults.get(spec, spec)
        out.append(None if spec is None else spl_run.relative_time(now, spec))
    return out[0], out[1]


def evaluate(
    query: str, events: List[Dict[str, Any]], macros: Mapping[str, str], ctx: spl_run.Context
) -> Dict[str, Any]:
    try:
        expr = spl_search.parse(content.base_search(query, macros))
        matching = [row for row in events if spl_search.matches(expr, _fields(row))]
        segments = spl_search.split_outside_quotes(query, "|")[1:]
        table = spl_run.run_pipeline(segments, [spl_run.as_row(r) for r in matching], ctx)
    except (spl_search.SearchError, spl_run.RunError, ConfigError) as error:
        return {"query": query, "reason": f"{type(error).__name__}: {error}"}
    return {"query": query, "matched": len(matching), **spl_run.as_results(table)}


def _fields(row: Mapping[str, Any]) -> Dict[str, Tuple[str, ...]]:
    return {k: tuple(str(x) for x in (v if isinstance(v, list) else [v])) for k, v in row.items()}


# Splunk locates addresses with the GeoIP database it ships, which is on neither npm nor PyPI,
# and which would not locate the samples' addresses anyway (RFC 5737 documentation ranges). This
# table stands in for it: one made-up place per documentation range, so that the panels built on
# `iplocation` show what they would show with real addresses.
DOCUMENTATION_GEO: Dict[str, Dict[str, Any]] = {
    "192.0.2.": {
        "City": "Chicago",
        "Country": "United States",
        "Region": "Illinois",
        "lat": 41.88,
        "lon": -87.63,
    },
    "198.51.100.": {
        "City": "London",
        "Country": "United Kingdom",
        "Region": "England",
        "lat": 51.51,
        "lon": -0.13,
    },
    "203.0.113.": {
        "City": "Berlin",
        "Country": "Germany",
        "Region": "Land Berlin",
        "lat": 52.52,
        "lon": 13.40,
    },
}


def geo_table(events: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """Each sample address in a documentation range -> its stand-in location."""
    table = {}
    for event in events:
        for address in spl_run.values_of(event.get("src")):
            for prefix, place in DOCUMENTATION_GEO.items():
                if str(address).startswith(prefix):
                    table[str(address)] = place
    return table


def compute(app: Path, now: float) -> Dict[str, Any]:
    macros = content.macro_definitions(app)
    # newest first, the order in which Splunk returns events (what `head` and `dedup` keep)
    events = sorted(audit_events(app, now) + log_events(now), key=lambda row: -row["_time"])
    geo = geo_table(events)
    views = []
    for path in content.views(app):
        board = content.load_dashboard(path)
        if board.root_attrs.get("version") != "2":
            continue  # UCC's own pages (configuration, inputs, dashboard): tests/ui's other half
        sources = {}
        definition = board.definition
        for key, source in definition.get("dataSources", {}).items():
            try:
                query, base = resolved(definition, key)
            except Unresolved as error:
                sources[key] = {
                    "query": source.get("options", {}).get("query", ""),
                    "reason": str(error),
                }
                continue
            try:
                ctx = spl_run.Context(now, time_range(definition, base, now), geo)
            except spl_run.RunError as error:
                sources[key] = {"query": query, "reason": f"time range: {error}"}
                continue
            query = with_input_defaults(definition, query)
            try:
                expanded = content.expand(query, macros)
            except spl_search.SearchError as error:
                sources[key] = {"query": query, "reason": f"macros: {error}"}
                continue
            searched = in_range(events, ctx.range)  # the job's earliest/latest, as splunkd
            result = evaluate(expanded, searched, macros, ctx)
            sources[key] = {**result, "query": query}
            if source.get("type") == "ds.chain":
                sources[key]["extends"] = source["options"]["extend"]
        views.append(
            {
                "name": board.name,
                "problems": board.problems,
                "definition": board.definition,
                "sources": sources,
            }
        )
    return {"generated_at": now, "app": str(app), "views": views}


def main(argv: List[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    app, out = Path(argv[1]), Path(argv[2])
    if not (app / "default" / "data" / "ui" / "views").is_dir():
        print(f"{app} has no default/data/ui/views: run `make build` first", file=sys.stderr)
        return 2
    result = compute(app, time.time())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1), "utf-8")
    evaluated = 0
    for view in result["views"]:
        for key, source in view["sources"].items():
            if "reason" not in source and source["columns"] and source["columns"][0]:
                evaluated += 1
                continue
            state = (
                source.get("reason")
                or f"{len(source['columns'][0]) if source['columns'] else 0} rows from {source['matched']} events"
            )
            print(f"{view['name']}.{key}: {state}")
    views = len(result["views"])
    print(f"dashboard results: {evaluated} data sources of {views} views computed from the samples")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
