"""Results of every ds.search of every Dashboard Studio view of the BUILT add-on, derived from the
sample events: the base search (macros expanded) matched by the knowledge suite against the
samples run through the built add-on's search-time configuration, then the query's transforming
commands applied by tests/knowledge/spl_run. Written as JSON for the browser tests, which serve it to
Splunk's dashboard framework.

Run in .venv-knowledge (pytest-splunk-addon loads the samples):
    python tests/ui/dashboards/compute_results.py output/TA-ringcentral-audit OUT.json

The world (the same on every machine and every run, so `make screenshots` twice gives the same
pictures): "now" is NOW, a few minutes after the last of the add-on's log lines
(tests/knowledge/data/addon_log_lines.txt), which keep their own times, as do the collection
events (their dates, the dates inside the log lines and "now" agree). The audit records get
their times and ids from a seeded generator instead of pytest-splunk-addon's random tokens:
spread over the 20 hours before NOW, each from input northwind (RingCentral account Northwind
Traders) or, for a seeded third of them, contoso (Contoso Ltd), as two inputs on two accounts
would index them. _indextime is NOW.
A query that cannot be evaluated gets a "reason" instead of results: never made-up rows.
"""

from __future__ import annotations

import calendar
import json
import random
import re
import sys
import time
import uuid
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


# The world's clock: five minutes after the newest log line (2026-06-01 10:12:30 UTC).
NOW = float(calendar.timegm((2026, 6, 1, 10, 17, 30, 0, 0, 0)))
SEED = 19
RECORDS_SPAN_S = 20 * 3600
# (input, RingCentral account name, accountId) of the world's two inputs
WORLD_INPUTS = (
    ("northwind", "Northwind Traders", "401587123008"),
    ("contoso", "Contoso Ltd", "401587123999"),
)


def seeded_record(raw: str, rng: random.Random, now: float) -> Tuple[str, str]:
    """A tokenized audit sample with the seeded world's time, id and account: the values
    pytest-splunk-addon drew at random are replaced where they stand (the raw text is otherwise
    unchanged). Returns the raw record and the input that collected it."""
    document = json.loads(raw)
    moment = now - 600 - rng.uniform(0, RECORDS_SPAN_S)
    stamp = time.strftime(EVENT_TIME, time.gmtime(moment)) + ".000Z"
    record_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    name, account, account_id = WORLD_INPUTS[1 if rng.random() < 1 / 3 else 0]
    raw = raw.replace(f'"eventTime":"{document["eventTime"]}"', f'"eventTime":"{stamp}"')
    raw = raw.replace(f'"id":"{document["id"]}"', f'"id":"{record_id}"')
    if account_id != WORLD_INPUTS[0][2]:
        raw = raw.replace(
            f'"accountId":"{document.get("accountId")}"', f'"accountId":"{account_id}"'
        )
        raw = raw.replace(
            f'"accountName":"{document.get("accountName")}"', f'"accountName":"{account}"'
        )
    return raw, name


def audit_events(app: Path, now: float) -> List[Dict[str, Any]]:
    """The samples of both sourcetypes, each through its own sourcetype's search-time
    configuration: audit records re-timed by the seeded world, collection events as written."""
    rng = random.Random(SEED)
    configs: Dict[str, SearchTime] = {}
    rows = []
    for sample in checks.samples(checks.PACKAGE):
        sourcetype = sample.metadata.get("sourcetype", checks.SOURCETYPE)
        raw, name = sample.raw, str(json.loads(sample.raw).get("input", "pytest"))
        if sourcetype != COLLECTION:
            raw, name = seeded_record(raw, rng, now)
        config = configs.setdefault(sourcetype, SearchTime(app, sourcetype))
        metadata = {**checks.INDEX_METADATA, "source": (f"ringcentral_audit_trail://{name}",)}
        event = config.run(raw, metadata)
        row = _row(event.search_fields())
        document = json.loads(raw)
        stamp = document["time"] if sourcetype == COLLECTION else document["eventTime"]
        row["_time"] = float(calendar.timegm(time.strptime(stamp[:19], EVENT_TIME)))
        row["_indextime"] = float(int(now))
        row["_raw"] = raw
        rows.append(row)
    return rows


def log_events() -> List[Dict[str, Any]]:
    """The add-on's log lines at the times they carry (NOW is set after the last of them)."""
    lines = [line for line in checks.LOG_SAMPLE.read_text("utf-8").splitlines() if line.strip()]
    parsed = content.log_events(checks.LOG_SAMPLE)
    rows = []
    for line, fields in zip(lines, parsed):
        match = LOG_TIME.match(line)
        if not match:
            raise ValueError(f"log line without a timestamp: {line[:60]!r}")
        stamp = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S"))
        when = stamp + int(match.group(2)) / 1000
        row = _row(fields)
        row.update(_time=when, _indextime=when, _raw=line)
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


# Filters a user types, per view: each is computed as a variant of the view (its searches with
# these token values, the other inputs at their defaults), so that the browser tests can type them
# and compare what the panels show with what was computed. Drilldowns that set tokens get a
# variant for each row (or series) they can be clicked on, derived from the results.
FILTER_SCENARIOS: Dict[str, List[Dict[str, str]]] = {
    "ringcentral_audit_activity": [
        {"account": "Contoso Ltd"},
        {"input": "northwind"},
        {"user": "bob*"},
        {"target": "dana lee"},
        {"action_id": "CHANGE_USER_INFO"},
        {"area": "role"},
        {"ip": "198.51.100.*"},
    ],
    "ringcentral_audit_security": [
        {"account": "Contoso Ltd"},
        {"input": "northwind"},
        {"user": "charlie*"},
        {"area": "role"},
        {"ip": "192.0.2.*"},
    ],
}


def input_defaults(definition: Mapping[str, Any]) -> Dict[str, str]:
    """token -> default value of every input but the time range."""
    defaults = {}
    for item in definition.get("inputs", {}).values():
        options = item.get("options", {})
        if item.get("type") != "input.timerange" and options.get("token"):
            defaults[str(options["token"])] = str(options.get("defaultValue", ""))
    return defaults


def with_tokens(query: str, tokens: Mapping[str, str]) -> str:
    """The query with each $token$ replaced by its value, as Dashboard Studio substitutes them."""
    for token, value in tokens.items():
        query = query.replace(f"${token}$", value)
    return query


def compute_sources(
    definition: Mapping[str, Any],
    events: List[Dict[str, Any]],
    macros: Mapping[str, str],
    geo: Mapping[str, Any],
    now: float,
    tokens: Mapping[str, str],
) -> Dict[str, Any]:
    """Every data source of a view with these input values, over these events."""
    sources: Dict[str, Any] = {}
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
        query = with_tokens(query, tokens)
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
    return sources


def drilldown_scenarios(
    definition: Mapping[str, Any], sources: Mapping[str, Any]
) -> List[Dict[str, str]]:
    """Token values each drilldown.setToken of the view can set: one set per row of the clicked
    visualization's results (key row.<field or column label>.value), or per series (name2)."""
    scenarios = []
    for viz in definition.get("visualizations", {}).values():
        source = sources.get(viz.get("dataSources", {}).get("primary", ""), {})
        fields, columns = source.get("fields") or [], source.get("columns") or []
        for handler in viz.get("eventHandlers", []):
            if handler.get("type") != "drilldown.setToken":
                continue
            pairs = [(t["token"], t["key"]) for t in handler["options"]["tokens"]]
            if any(key == "name2" for _, key in pairs):
                for name in fields:
                    if not name.startswith("_"):
                        scenarios.append({token: name for token, _ in pairs})
                continue
            # a table names a clicked row's cells by its column labels (options.headers)
            labels = dict(zip(viz.get("options", {}).get("headers") or [], fields))
            for index in range(len(columns[0]) if columns else 0):
                values = {}
                for token, key in pairs:
                    field = key[len("row.") : -len(".value")]
                    field = labels.get(field, field)
                    cell = columns[fields.index(field)][index] if field in fields else None
                    values[token] = cell if isinstance(cell, str) else ""
                scenarios.append(values)
    return scenarios


def compute(app: Path, now: float) -> Dict[str, Any]:
    macros = content.macro_definitions(app)
    # newest first, the order in which Splunk returns events (what `head` and `dedup` keep)
    events = sorted(audit_events(app, now) + log_events(), key=lambda row: -row["_time"])
    geo = geo_table(events)
    views = []
    for path in content.views(app):
        board = content.load_dashboard(path)
        if board.root_attrs.get("version") != "2":
            continue  # UCC's own pages (configuration, inputs, dashboard): tests/ui's other half
        definition = board.definition
        defaults = input_defaults(definition)
        sources = compute_sources(definition, events, macros, geo, now, defaults)
        variants = []
        wanted = FILTER_SCENARIOS.get(board.name, []) + drilldown_scenarios(definition, sources)
        for scenario in wanted:
            tokens = {**defaults, **scenario}
            if tokens == defaults or any(v["tokens"] == tokens for v in variants):
                continue
            variant = compute_sources(definition, events, macros, geo, now, tokens)
            variants.append({"tokens": tokens, "sources": variant})
        views.append(
            {
                "name": board.name,
                "problems": board.problems,
                "definition": board.definition,
                "sources": sources,
                "tokens": defaults,
                "filters": FILTER_SCENARIOS.get(board.name, []),
                "variants": variants,
                # the same view over an index without a single event: its empty state
                "empty": compute_sources(definition, [], macros, geo, now, defaults),
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
    result = compute(app, NOW)
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
