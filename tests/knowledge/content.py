"""Dashboards, saved searches and macros: loading them and checking their SPL.

A query is checked for balanced quotes and brackets, for macros that exist, for no `index=` of
its own (indexes are chosen only in macros.conf), for the add-on's macro and sourcetype, and then
against data: its base search (before the first pipe, macros expanded) must match at least one
sample event, and the fields its commands name must exist in those events or be created earlier
in the pipeline. Commands outside ALLOWED_COMMANDS fail the check, so it never silently skips.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from defusedxml import ElementTree

from . import spl_run, spl_search
from .search_time import read_conf

AUDIT_MACRO = "`ringcentral_audit_index`"
LOGS_MACRO = "`ringcentral_audit_addon_logs`"
AUDIT_SOURCETYPE = 'sourcetype="ringcentral:audit"'
COLLECTION_SOURCETYPE = 'sourcetype="ringcentral:audit:collection"'
ADDON_LOG = "ta_ringcentral_audit_ringcentral_audit_trail.log"
# a whole search (both macros above inside): every input and its state
STATES_MACRO = "`ringcentral_audit_input_states("
INTERNAL_FIELDS = {"_time", "_indextime", "_raw", "index", "sourcetype", "source", "host"}
ALLOWED_COMMANDS = {
    "iplocation",
    "geostats",
    "dedup",
    "stats",
    "eventstats",
    "streamstats",
    "timechart",
    "table",
    "fields",
    "sort",
    "head",
    "eval",
    "where",
    "bin",
    "addinfo",
    "search",
    "mvexpand",
    "appendpipe",
    "rename",
}
_STATS_FUNC = re.compile(r"^(\w+)\((.*)\)$")
_OPTION = re.compile(r"^\w+=\S*$")


@dataclass
class Query:
    where: str  # e.g. "view ringcentral_audit_security, ds_lockouts"
    text: str


@dataclass
class Dashboard:
    name: str
    path: Path
    root_attrs: Dict[str, str]
    definition: Dict
    problems: List[str] = field(default_factory=list)

    def queries(self) -> List[Query]:
        """Each data source's full search: a ds.chain is its base search's query followed by its
        own post-processing pipeline (chains of chains resolved)."""
        sources = self.definition.get("dataSources", {})

        def full(key: str, depth: int = 0) -> str:
            source = sources.get(key, {})
            options = source.get("options", {})
            query = options.get("query", "")
            if source.get("type") == "ds.chain" and depth < 5:
                return f"{full(options.get('extend', ''), depth + 1)} {query}".strip()
            return query

        # a text input's token stands for its default (the views' input filter: "*")
        defaults = {
            i.get("options", {}).get("token"): str(i.get("options", {}).get("defaultValue"))
            for i in self.definition.get("inputs", {}).values()
            if i.get("type") == "input.text" and "input_filter" == i.get("options", {}).get("token")
        }

        def resolved(text: str) -> str:
            for token, value in defaults.items():
                text = text.replace(f"${token}$", value)
            return text

        return [
            Query(f"view {self.name}, {key}", resolved(full(key)))
            for key, source in sources.items()
            if source.get("type") != "ds.search"
            or not any(s.get("options", {}).get("extend") == key for s in sources.values())
        ]


def load_dashboard(path: Path) -> Dashboard:
    problems: List[str] = []
    root = ElementTree.parse(str(path)).getroot()
    definition: Dict = {}
    node = root.find("definition")
    if node is None or not (node.text or "").strip():
        problems.append("no <definition>")
    else:
        try:
            definition = json.loads(node.text or "")
        except json.JSONDecodeError as error:
            problems.append(f"definition is not JSON: {error}")
    if root.tag != "dashboard":
        problems.append(f"root element is <{root.tag}>, not <dashboard>")
    return Dashboard(path.stem, path, dict(root.attrib), definition, problems)


def dashboard_structure_problems(board: Dashboard) -> List[str]:
    """Dashboard Studio v2: every reference resolves, every visualization is laid out once."""
    problems = list(board.problems)
    if board.root_attrs.get("version") != "2":
        problems.append('not a Dashboard Studio dashboard (<dashboard version="2">)')
    d = board.definition
    sources = d.get("dataSources", {})
    visualizations = d.get("visualizations", {})
    inputs = d.get("inputs", {})
    layout = d.get("layout", {})
    if not d.get("title"):
        problems.append("no title")
    if not sources or not visualizations:
        problems.append("no data sources or no visualizations")
    for key, source in sources.items():
        if source.get("type") not in ("ds.search", "ds.chain"):
            problems.append(f"{key}: unexpected data source type {source.get('type')}")
        if source.get("type") == "ds.chain" and source["options"].get("extend") not in sources:
            problems.append(f"{key}: chains to an unknown data source")
        if source.get("type") == "ds.search" and not source.get("options", {}).get("query"):
            problems.append(f"{key}: no query")
    used_sources = set()
    for key, viz in visualizations.items():
        for role, source in viz.get("dataSources", {}).items():
            used_sources.add(source)
            if source not in sources:
                problems.append(f"{key}: {role} data source {source} does not exist")
        if not viz.get("type", "").startswith("splunk."):
            problems.append(f"{key}: unexpected visualization type {viz.get('type')}")
    extended = {s.get("options", {}).get("extend") for s in sources.values()}
    for key in sorted(set(sources) - used_sources - extended):
        problems.append(f"data source {key} is used by no visualization")
    structure = layout.get("structure", [])
    placed = [item.get("item") for item in structure]
    for key in sorted(set(visualizations) - set(placed)):
        problems.append(f"{key} is not in the layout")
    for key in sorted({k for k in placed if placed.count(k) > 1 or k not in visualizations}):
        problems.append(f"layout item {key} is unknown or placed twice")
    for key in layout.get("globalInputs", []):
        if key not in inputs:
            problems.append(f"global input {key} does not exist")
    problems.extend(_overlaps(structure))
    tokens = {i.get("options", {}).get("token") for i in inputs.values()}
    for token in sorted(set(re.findall(r"\$([\w.]+?)(?:\.earliest|\.latest)?\$", json.dumps(d)))):
        if token not in tokens and not token.startswith("row."):  # row.*: a drilldown's row
            problems.append(f"token ${token}$ is set by no input")
    return problems


def _overlaps(structure: Sequence[Mapping]) -> List[str]:
    boxes = []
    for item in structure:
        pos = item.get("position", {})
        boxes.append(
            (item.get("item"), pos.get("x", 0), pos.get("y", 0), pos.get("w", 0), pos.get("h", 0))
        )
    problems = []
    for i, (a, ax, ay, aw, ah) in enumerate(boxes):
        if aw <= 0 or ah <= 0:
            problems.append(f"{a} has no size")
        for b, bx, by, bw, bh in boxes[i + 1 :]:
            if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                problems.append(f"{a} overlaps {b}")
    return problems


# --- SPL


class Macros(Dict[str, str]):
    """Macro definitions by stanza name ("name(N)" for N arguments), with the argument names."""

    args: Dict[str, Tuple[str, ...]]


def macro_definitions(app: Path) -> Dict[str, str]:
    stanzas = read_conf(app / "default" / "macros.conf")
    macros = Macros({name: stanza.get("definition", "") for name, stanza in stanzas.items()})
    macros.args = {
        name: spl_run.macros_from_conf({name: s})[name].args for name, s in stanzas.items()
    }
    return macros


def expand(text: str, macros: Mapping[str, str]) -> str:
    """Macros expanded, those with arguments too (spl_run.expand)."""
    args = getattr(macros, "args", {})
    table = {name: spl_run.Macro(body, args.get(name, ())) for name, body in macros.items()}
    try:
        return spl_run.expand(text, table)
    except spl_run.RunError as error:
        raise spl_search.SearchError(f"{error} in macros.conf") from error


def _macro_key(match: re.Match) -> str:
    """The macros.conf stanza a `call` names: name, or name(N) when given N arguments."""
    if match.group(2) is None:
        return match.group(1)
    return f"{match.group(1)}({len(spl_search.split_outside_quotes(match.group(2), ','))})"


def hygiene_problems(text: str, macros: Mapping[str, str]) -> List[str]:
    problems = spl_search.balance_problems(text)
    if re.search(r"\bindex\s*(=|!=|IN\b)", text):
        problems.append("names an index itself: use the `ringcentral_audit_index` macro")
    for match in spl_search.MACRO.finditer(text):
        if _macro_key(match) not in macros:
            problems.append(f"macro `{_macro_key(match)}` is not defined in macros.conf")
    if AUDIT_MACRO in text and AUDIT_SOURCETYPE not in text and COLLECTION_SOURCETYPE not in text:
        problems.append(f"uses {AUDIT_MACRO} without {AUDIT_SOURCETYPE}")
    if AUDIT_MACRO not in text and LOGS_MACRO not in text and STATES_MACRO not in text:
        problems.append(f"uses neither {AUDIT_MACRO} nor {LOGS_MACRO}")
    return problems


def _words(text: str) -> List[str]:
    return [w for w in re.split(r"[\s,]+", text.strip()) if w]


def _stats_fields(args: str) -> Tuple[Set[str], Set[str]]:
    """(referenced, created) of stats-like arguments: func(field) [AS name] ... [by f1 f2]."""
    by_part = ""
    split = re.split(r"\s+by\s+", args, maxsplit=1, flags=re.IGNORECASE)
    if len(split) == 2:
        args, by_part = split
    referenced: Set[str] = {w for w in _words(by_part) if "=" not in w}
    created: Set[str] = set()
    words = spl_search.split_outside_quotes(args, " ")
    words = [w.strip(",") for w in words if w.strip(",")]
    index = 0
    while index < len(words):
        word = words[index]
        if _OPTION.match(word) and "(" not in word:
            index += 1
            continue
        match = _STATS_FUNC.match(word)
        name = word
        if match:
            argument = match.group(2)
            if re.fullmatch(r"[\w.{}]+", argument):
                referenced.add(argument)
            elif not argument.startswith("eval("):
                referenced.add(f"<unreadable {argument}>")
        elif word != "count":
            referenced.add(f"<unreadable {word}>")
        if index + 2 < len(words) and words[index + 1].upper() == "AS":
            name = words[index + 2]
            index += 3
        else:
            index += 1
        created.add(name)
    return referenced, created


def pipeline_problems(text: str, known: Set[str]) -> List[str]:
    """Fields each command names must exist; commands must be ones this check understands."""
    problems: List[str] = []
    fields = set(known) | INTERNAL_FIELDS
    for segment in spl_search.split_outside_quotes(text, "|")[1:]:
        segment = segment.strip()
        command, _, args = segment.partition(" ")
        if command not in ALLOWED_COMMANDS:
            problems.append(f"command {command!r} is not understood by this check")
            continue
        referenced: Set[str] = set()
        created: Set[str] = set()
        if command in ("stats", "eventstats", "streamstats", "timechart"):
            referenced, created = _stats_fields(args)
        elif command == "geostats":
            referenced, created = _stats_fields(args)
            options = dict(re.findall(r"(\w+)=(\S+)", args))
            referenced |= {options.get("latfield", "lat"), options.get("longfield", "lon")}
            created |= {"geobin", "latitude", "longitude"}
        elif command == "dedup":
            referenced = {w for w in _words(args) if "=" not in w and not w.isdigit()}
        elif command in ("table", "fields"):
            referenced = {w for w in _words(args) if w not in ("-", "+") and "*" not in w}
        elif command == "sort":
            referenced = {
                w.lstrip("+-") for w in _words(args) if w.lstrip("+-") and not w.isdigit()
            }
        elif command == "iplocation":
            referenced = {args.strip()}
            created = {"City", "Country", "Region", "lat", "lon"}
        elif command == "addinfo":  # the job's dispatch facts (Search Reference, addinfo)
            created = {"info_min_time", "info_max_time", "info_search_time", "info_sid"}
        elif command == "eval":
            for assignment in spl_search.split_outside_quotes(args, ","):
                name = assignment.split("=", 1)[0].strip()
                created.add(name)
        elif command == "rename":
            pairs = re.findall(r'([\w.{}]+)\s+AS\s+("[^"]+"|[\w.{}]+)', args, re.IGNORECASE)
            referenced = {src for src, _ in pairs}
            created = {dst.strip('"') for _, dst in pairs}
        elif command == "addinfo":
            created = {"info_min_time", "info_max_time", "info_search_time", "info_sid"}
        elif command == "mvexpand":
            referenced = {args.strip()}
        elif command == "appendpipe":
            inner = args.strip()
            if not (inner.startswith("[") and inner.endswith("]")):
                problems.append("appendpipe: expected [ subpipeline ]")
            else:  # the subpipeline sees the current results; what it appends is a subset
                problems += pipeline_problems("x | " + inner[1:-1], fields)
        elif command == "bin":
            words = _words(args)
            referenced = {w for w in words if "=" not in w and w.upper() != "AS"}
            if "AS" in (w.upper() for w in words):
                as_index = [w.upper() for w in words].index("AS")
                created.add(words[as_index + 1])
                referenced.discard(words[as_index + 1])
        for name in sorted(referenced - fields):
            problems.append(f"{command}: field {name} exists in no matching event")
        if command in ("stats", "timechart", "geostats"):
            # stats keeps only its results and by-fields; timechart's columns are data dependent
            fields = created | {w for w in referenced if not w.startswith("<")} | {"_time"}
            if command in ("timechart", "geostats"):
                break
        elif command == "rename":
            fields = (fields - referenced) | created
        else:
            fields |= created
    return problems


def base_search(text: str, macros: Mapping[str, str]) -> str:
    """The search-command part, after macro expansion (a macro may hold a whole search)."""
    return spl_search.split_outside_quotes(expand(text, macros), "|")[0]


def data_problems(text: str, macros: Mapping[str, str], events: Iterable[Mapping]) -> List[str]:
    """The base search matches some event; the pipeline names only fields those events have."""
    try:
        expr = spl_search.parse(base_search(text, macros))
    except spl_search.SearchError as error:
        return [f"base search: {error}"]
    matching = [fields for fields in events if spl_search.matches(expr, fields)]
    if not matching:
        return ["base search matches no sample event"]
    known = {name for fields in matching for name in fields}
    try:
        return pipeline_problems(expand(text, macros), known)
    except spl_search.SearchError as error:
        return [f"pipeline: {error}"]


def query_problems(query: Query, macros: Mapping[str, str], events: Iterable[Mapping]) -> List[str]:
    problems = hygiene_problems(query.text, macros)
    if not problems:
        problems = data_problems(query.text, macros, events)
    return [f"{query.where}: {p}" for p in problems]


# --- saved searches

REQUIRED_ALERT_SETTINGS = {
    "disabled": "1",
    "enableSched": "1",
    "alert.track": "1",
    "counttype": "number of events",
    "relation": "greater than",
    "quantity": "0",
}


def is_report(stanza: Mapping[str, str]) -> bool:
    """A report (run on demand), not an alert: not scheduled and no alert condition."""
    return stanza.get("enableSched", "0") == "0" and "counttype" not in stanza


def report_problems(name: str, stanza: Mapping[str, str]) -> List[str]:
    problems = []
    for key in ("search", "description", "dispatch.earliest_time", "dispatch.latest_time"):
        if not stanza.get(key):
            problems.append(f"no {key}")
    if any(key.startswith(("alert.", "action.")) for key in stanza):
        problems.append("a report has no alert settings")
    return [f"[{name}] {p}" for p in problems]


def saved_search_problems(name: str, stanza: Mapping[str, str]) -> List[str]:
    if is_report(stanza):
        return report_problems(name, stanza)
    problems = []
    for key, value in REQUIRED_ALERT_SETTINGS.items():
        if stanza.get(key) != value:
            problems.append(f"{key} = {stanza.get(key)!r}, expected {value!r}")
    cron = stanza.get("cron_schedule", "")
    if len(cron.split()) != 5 or not all(re.fullmatch(r"[\d*/,-]+", part) for part in cron.split()):
        problems.append(f"cron_schedule {cron!r} is not a 5-field cron expression")
    for key in ("dispatch.earliest_time", "dispatch.latest_time", "description", "alert.severity"):
        if not stanza.get(key):
            problems.append(f"no {key}")
    if stanza.get("alert.severity", "0") not in {"1", "2", "3", "4", "5", "6"}:
        problems.append("alert.severity must be 1..6")
    if (
        stanza.get("dispatch.earliest_time", "").startswith("rt")
        or stanza.get("cron_schedule") == ""
    ):
        problems.append("real-time or unscheduled")
    if stanza.get("alert.suppress") == "1" and not stanza.get("alert.suppress.period"):
        problems.append("suppression without a period")
    if (stanza.get("dispatch.index_earliest") is None) != (
        stanza.get("dispatch.index_latest") is None
    ):
        problems.append("dispatch.index_earliest and dispatch.index_latest go together")
    return [f"[{name}] {p}" for p in problems]


def log_events(path: Path) -> List[Dict[str, Tuple[str, ...]]]:
    """The add-on's log lines as Splunk's automatic key=value extraction sees them."""
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        fields: Dict[str, Tuple[str, ...]] = {
            "index": ("_internal",),
            "source": (f"/opt/splunk/var/log/splunk/{ADDON_LOG}",),
            "sourcetype": ("ta_ringcentral_audit_ringcentral_audit_trail",),
        }
        for key, value in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line):
            fields.setdefault(key, (value.strip('"'),))
        events.append(fields)
    return events


def views(app: Path) -> List[Path]:
    return sorted((app / "default" / "data" / "ui" / "views").glob("*.xml"))


def first_macro(text: str) -> Optional[str]:
    match = spl_search.MACRO.search(text)
    return match.group(0) if match else None
