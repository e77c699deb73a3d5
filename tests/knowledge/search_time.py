"""Splunk's search-time operations for one sourcetype, applied to raw events without a Splunk server.

Reads the add-on's conf files with Splunk's own conf parser library and applies, in Splunk's
order: KV_MODE=json extraction (only from the first JSON_EXTRACTION_CUTOFF bytes of the event, as
Splunk's limits.conf does), REPORT- transforms (REGEX + FORMAT $1::$2, SOURCE_KEY, run by PCRE2
itself under Splunk's DEPTH_LIMIT and MATCH_LIMIT, not by Python's re), FIELDALIAS-, EVAL-
(all calculated fields see the same input, as in Splunk), automatic LOOKUP- (CSV files per
transforms.conf, WILDCARD match types, case_sensitive_match, max_matches, first match in file
order), then eventtypes and their tags.

Every setting is either applied or explicitly known to be index-time; an unknown setting raises
ConfigError, so a new kind of extraction cannot slip past the tests unevaluated.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, MutableMapping, Optional, Sequence, Tuple

import pcre2
from addonfactory_splunk_conf_parser_lib import TABConfigParser

from . import spl_eval, spl_search

SOURCETYPE = "ringcentral:audit"

# props.conf settings that act at index time or only describe the sourcetype.
INDEX_TIME_SETTINGS = {
    "category",
    "description",
    "pulldown_type",
    "CHARSET",
    "SHOULD_LINEMERGE",
    "LINE_BREAKER",
    "EVENT_BREAKER_ENABLE",
    "EVENT_BREAKER",
    "TRUNCATE",
    "TIME_PREFIX",
    "TIME_FORMAT",
    "MAX_TIMESTAMP_LOOKAHEAD",
    "TZ",
}
LOOKUP_SETTINGS = {"filename", "match_type", "case_sensitive_match", "max_matches"}
REPORT_SETTINGS = {
    "REGEX",
    "FORMAT",
    "MV_ADD",
    "CLEAN_KEYS",
    "SOURCE_KEY",
    "DEPTH_LIMIT",
    "MATCH_LIMIT",
}
# transforms.conf defaults (Splunk 9.x): PCRE2's match() gives up beyond these.
DEFAULT_DEPTH_LIMIT = 1000
DEFAULT_MATCH_LIMIT = 100000
# KV_MODE=json (automatic JSON extraction) reads only the start of an event: limits.conf
# [spath] extraction_cutoff = 5000 bytes, and [kv] maxchars = 10240 truncates _raw before auto KV.
JSON_EXTRACTION_CUTOFF = min(5000, 10240)

Fields = Dict[str, Tuple[str, ...]]


class ConfigError(Exception):
    """The configuration says something these emulations cannot apply."""


def read_conf(path: Path) -> Dict[str, Dict[str, str]]:
    if not path.exists():
        return {}
    parser = TABConfigParser()
    parser.read(str(path))
    # a line ending in a backslash continues on the next one; Splunk drops the backslash
    return {
        stanza: {key: value.replace("\\\n", "\n") for key, value in settings.items()}
        for stanza, settings in parser.item_dict().items()
    }


# --- KV_MODE = json


def _json_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def flatten_json(raw: str, cutoff: Optional[int] = None) -> Fields:
    """Fields of KV_MODE=json: a.b for objects, a{} for arrays, multivalue in document order.

    With a cutoff, only the first `cutoff` bytes (UTF-8) are read, as Splunk does: a value is
    extracted only if it is complete within them, and every key after the cut is absent."""
    out: Dict[str, List[str]] = {}
    text = raw
    if cutoff is not None:
        text = raw.encode("utf-8")[:cutoff].decode("utf-8", errors="ignore")
    try:
        _PartialJson(text, out).document()
    except _Cut:
        pass
    return {key: tuple(values) for key, values in out.items()}


class _Cut(Exception):
    """The text ended (or broke) before the value did."""


_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_decoder = json.JSONDecoder()


class _PartialJson:
    """A JSON reader that emits each scalar as soon as it is complete and stops at the cut."""

    def __init__(self, text: str, out: Dict[str, List[str]]) -> None:
        self.text = text
        self.pos = 0
        self.out = out

    def ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1
        if self.pos >= len(self.text):
            raise _Cut()

    def document(self) -> None:
        self.ws()
        self.value("")

    def string(self) -> str:
        if self.text[self.pos] != '"':
            raise _Cut()
        try:
            value, self.pos = json.decoder.scanstring(self.text, self.pos + 1)  # type: ignore[attr-defined]
        except ValueError as error:
            raise _Cut() from error
        return value

    def value(self, path: str) -> None:
        self.ws()
        char = self.text[self.pos]
        if char == "{":
            self.pos += 1
            self.ws()
            if self.text[self.pos] == "}":
                self.pos += 1
                return
            while True:
                self.ws()
                key = self.string()
                self.ws()
                if self.text[self.pos] != ":":
                    raise _Cut()
                self.pos += 1
                self.value(f"{path}.{key}" if path else key)
                self.ws()
                if self.text[self.pos] == ",":
                    self.pos += 1
                    continue
                if self.text[self.pos] == "}":
                    self.pos += 1
                    return
                raise _Cut()
        if char == "[":
            self.pos += 1
            self.ws()
            if self.text[self.pos] == "]":
                self.pos += 1
                return
            while True:
                self.value(f"{path}{{}}")
                self.ws()
                if self.text[self.pos] == ",":
                    self.pos += 1
                    continue
                if self.text[self.pos] == "]":
                    self.pos += 1
                    return
                raise _Cut()
        if char == '"':
            scalar: object = self.string()
        else:
            for word, literal in (("true", True), ("false", False), ("null", None)):
                if self.text.startswith(word, self.pos):
                    self.pos += len(word)
                    scalar = literal
                    break
            else:
                match = _NUMBER.match(self.text, self.pos)
                if not match or match.end() >= len(self.text):
                    raise _Cut()  # a number running into the cut may be incomplete
                self.pos = match.end()
                scalar = _decoder.decode(match.group())
        self.out.setdefault(path, []).append(_json_scalar(scalar))


# --- REPORT- with REGEX and FORMAT


def clean_key(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", key).lstrip("_")


@dataclass
class Report:
    name: str
    regex: pcre2.Pattern
    pairs: List[Tuple[str, str]]
    mv_add: bool
    clean_keys: bool
    source_key: str = "_raw"

    @classmethod
    def from_stanza(cls, name: str, stanza: Mapping[str, str]) -> Report:
        unknown = set(stanza) - REPORT_SETTINGS
        if unknown:
            raise ConfigError(f"transforms [{name}]: unsupported settings {sorted(unknown)}")
        pairs = [tuple(part.split("::", 1)) for part in stanza["FORMAT"].split()]
        if any(len(pair) != 2 for pair in pairs):
            raise ConfigError(f"transforms [{name}]: FORMAT must be name::value pairs")
        depth = int(stanza.get("DEPTH_LIMIT", DEFAULT_DEPTH_LIMIT))
        match = int(stanza.get("MATCH_LIMIT", DEFAULT_MATCH_LIMIT))
        return cls(
            name,
            compile_splunk_regex(stanza["REGEX"], depth, match),
            [(key, value) for key, value in pairs],
            _bool(stanza.get("MV_ADD", "false")),
            _bool(stanza.get("CLEAN_KEYS", "true")),
            stanza.get("SOURCE_KEY", "_raw").strip(),
        )

    def apply(self, raw: str, fields: MutableMapping[str, List[str]]) -> None:
        if self.source_key == "_raw":
            subjects = [raw]
        else:
            subjects = list(fields.get(self.source_key, []))
        for subject in subjects:
            for match in _finditer(self.regex, subject, self.name):
                for key_template, value_template in self.pairs:
                    key = _expand(key_template, match)
                    value = _expand(value_template, match)
                    if self.clean_keys:
                        key = clean_key(key)
                    if self.mv_add:
                        fields.setdefault(key, []).append(value)
                    else:
                        fields.setdefault(key, [value])


def compile_splunk_regex(
    regex: str, depth_limit: int = DEFAULT_DEPTH_LIMIT, match_limit: int = DEFAULT_MATCH_LIMIT
) -> pcre2.Pattern:
    """A transforms.conf REGEX as Splunk runs it: PCRE2, interpreted (the depth limit does not
    apply to JIT code), with the stanza's DEPTH_LIMIT and MATCH_LIMIT."""
    try:
        return pcre2.compile(
            f"(*LIMIT_DEPTH={depth_limit})(*LIMIT_MATCH={match_limit}){regex}", jit=False
        )
    except pcre2.PatternError as error:
        raise ConfigError(f"REGEX {regex!r}: {error}") from error


def _finditer(regex: pcre2.Pattern, subject: str, name: str) -> List[pcre2.Match]:
    """Matches in order; when PCRE2 gives up (depth or match limit) Splunk logs the error and
    extracts nothing more from this event with this transform."""
    found = []
    try:
        for match in regex.finditer(subject):
            found.append(match)
    except pcre2.LibraryError:
        pass
    return found


def _expand(template: str, match: pcre2.Match) -> str:
    return re.sub(r"\$(\d+)", lambda m: match.group(int(m.group(1))) or "", template)


def _bool(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "t", "yes", "y")


# --- FIELDALIAS-

_ALIAS = re.compile(r"(\"[^\"]+\"|[^\s,\"]+)\s+AS\s+(\"[^\"]+\"|[^\s,\"]+)", re.IGNORECASE)


def parse_aliases(value: str) -> List[Tuple[str, str]]:
    pairs = [(src.strip('"'), dst.strip('"')) for src, dst in _ALIAS.findall(value)]
    rest = _ALIAS.sub("", value).replace(",", " ").strip()
    if not pairs or rest:
        raise ConfigError(f"cannot read FIELDALIAS {value!r}")
    if re.search(r"\bASNEW\b", value, re.IGNORECASE):
        raise ConfigError("ASNEW is not supported here")
    return pairs


# --- LOOKUP-


@dataclass
class LookupTable:
    name: str
    columns: List[str]
    rows: List[Dict[str, str]]
    wildcard: Tuple[str, ...]
    case_sensitive: bool
    max_matches: int

    @classmethod
    def load(cls, app: Path, name: str, stanza: Mapping[str, str]) -> LookupTable:
        unknown = set(stanza) - LOOKUP_SETTINGS
        if unknown:
            raise ConfigError(f"transforms [{name}]: unsupported settings {sorted(unknown)}")
        wildcard: List[str] = []
        for spec in filter(None, (s.strip() for s in stanza.get("match_type", "").split(","))):
            match = re.fullmatch(r"WILDCARD\(([^)]+)\)", spec)
            if not match:
                raise ConfigError(f"transforms [{name}]: unsupported match_type {spec!r}")
            wildcard.append(match.group(1).strip())
        with open(app / "lookups" / stanza["filename"], newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            rows = [dict(row) for row in reader]
        missing = set(wildcard) - set(columns)
        if missing:
            raise ConfigError(f"transforms [{name}]: match_type names missing columns {missing}")
        return cls(
            name,
            columns,
            rows,
            tuple(wildcard),
            _bool(stanza.get("case_sensitive_match", "true")),
            int(stanza.get("max_matches", "1000")),
        )

    def _cell_matches(self, column: str, cell: str, value: str) -> bool:
        if not self.case_sensitive:
            cell, value = cell.lower(), value.lower()
        if column in self.wildcard:
            return fnmatch.fnmatchcase(value, re.sub(r"([?\[])", r"[\1]", cell))
        return cell == value

    def match(self, keys: Mapping[str, str]) -> List[Dict[str, str]]:
        found = [
            row
            for row in self.rows
            if all(self._cell_matches(col, row[col], value) for col, value in keys.items())
        ]
        return found[: self.max_matches]


@dataclass
class AutoLookup:
    cls_name: str
    table: LookupTable
    inputs: List[Tuple[str, str]]  # (lookup column, event field)
    outputs: List[Tuple[str, str]]  # (lookup column, event field)
    output_new: bool

    @classmethod
    def parse(cls, cls_name: str, value: str, tables: Mapping[str, LookupTable]) -> AutoLookup:
        words = value.split()
        if words[0] not in tables:
            raise ConfigError(f"{cls_name}: no lookup stanza {words[0]!r} in transforms.conf")
        table = tables[words[0]]
        mode = next((w for w in words if w in ("OUTPUT", "OUTPUTNEW")), None)
        if mode is None:
            raise ConfigError(f"{cls_name}: name the OUTPUT fields explicitly")
        split = words.index(mode)
        inputs = _field_pairs(words[1:split], cls_name)
        outputs = _field_pairs(words[split + 1 :], cls_name)
        for column, _ in inputs + outputs:
            if column not in table.columns:
                raise ConfigError(f"{cls_name}: {column!r} is not a column of {table.name}")
        return cls(cls_name, table, inputs, outputs, mode == "OUTPUTNEW")

    def apply(self, fields: MutableMapping[str, Tuple[str, ...]]) -> None:
        keys = {}
        for column, event_field in self.inputs:
            values = fields.get(event_field, ())
            if not values:
                return
            if len(values) > 1:
                raise ConfigError(f"{self.cls_name}: multivalue input {event_field} not emulated")
            keys[column] = values[0]
        rows = self.table.match(keys)
        if not rows:
            return
        for column, event_field in self.outputs:
            if self.output_new and fields.get(event_field):
                continue
            values = tuple(row[column] for row in rows if row[column] != "")
            if values:
                fields[event_field] = values
            else:
                fields.pop(event_field, None)


def _field_pairs(words: Sequence[str], cls_name: str) -> List[Tuple[str, str]]:
    pairs: List[Tuple[str, str]] = []
    words = [word.rstrip(",") for word in words]
    index = 0
    while index < len(words):
        if index + 1 < len(words) and words[index + 1].upper() == "AS":
            if index + 2 >= len(words):
                raise ConfigError(f"{cls_name}: AS without a name")
            pairs.append((words[index], words[index + 2]))
            index += 3
        else:
            pairs.append((words[index], words[index]))
            index += 1
    if not pairs:
        raise ConfigError(f"{cls_name}: no fields")
    return pairs


# --- the whole sequence


@dataclass
class Event:
    raw: str
    fields: Fields
    eventtypes: List[str] = field(default_factory=list)
    tags: List[str] = field(default_factory=list)

    def search_fields(self) -> Fields:
        """Fields as a search sees them, with eventtype and tag."""
        out = dict(self.fields)
        out["_raw"] = (self.raw,)  # what TERM() and free-text terms are matched against
        out["eventtype"] = tuple(self.eventtypes)
        out["tag"] = tuple(self.tags)
        return out

    def get(self, name: str) -> Optional[str]:
        values = self.fields.get(name, ())
        return values[0] if len(values) == 1 else None


class SearchTime:
    """The search-time configuration of one sourcetype of an app folder."""

    def __init__(self, app: Path, sourcetype: str = SOURCETYPE) -> None:
        self.app = app
        self.sourcetype = sourcetype
        default = app / "default"
        props = read_conf(default / "props.conf")
        if sourcetype not in props:
            raise ConfigError(f"props.conf has no [{sourcetype}] stanza")
        self.props = props[sourcetype]
        self.transforms = read_conf(default / "transforms.conf")
        self.reports: List[Report] = []
        self.aliases: List[Tuple[str, List[Tuple[str, str]]]] = []
        self.evals: Dict[str, spl_eval.Node] = {}
        self.eval_sources: Dict[str, str] = {}
        self.lookups: List[AutoLookup] = []
        self.kv_mode = self.props.get("KV_MODE", "auto")
        if self.kv_mode != "json":
            raise ConfigError(f"KV_MODE={self.kv_mode} is not emulated (json is)")
        tables = {
            name: LookupTable.load(app, name, stanza)
            for name, stanza in self.transforms.items()
            if "filename" in stanza
        }
        for key in sorted(self.props):  # Splunk applies classes of one kind in ASCII order
            value = self.props[key]
            kind, _, cls_name = key.partition("-")
            kind = kind.upper()
            if key in INDEX_TIME_SETTINGS or key == "KV_MODE":
                continue
            if kind == "REPORT":
                for name in (n.strip() for n in value.split(",")):
                    if name not in self.transforms:
                        raise ConfigError(f"{key}: no transforms stanza {name!r}")
                    self.reports.append(Report.from_stanza(name, self.transforms[name]))
            elif kind == "FIELDALIAS":
                self.aliases.append((key, parse_aliases(value)))
            elif kind == "EVAL":
                try:
                    self.evals[cls_name] = spl_eval.parse(value)
                except spl_eval.EvalError as error:
                    raise ConfigError(f"{key}: {error}") from error
                self.eval_sources[cls_name] = value
            elif kind == "LOOKUP":
                self.lookups.append(AutoLookup.parse(key, value, tables))
            else:
                raise ConfigError(f"props.conf [{sourcetype}] {key}: not emulated by the tests")
        eventtypes = read_conf(default / "eventtypes.conf")
        self.eventtypes: Dict[str, spl_search.Expr] = {}
        for name, stanza in eventtypes.items():
            try:
                self.eventtypes[name] = spl_search.parse(stanza["search"])
            except spl_search.SearchError as error:
                raise ConfigError(f"eventtype {name}: {error}") from error
        self.tags: Dict[str, List[str]] = {}
        for stanza, values in read_conf(default / "tags.conf").items():
            kind, _, name = stanza.partition("=")
            if kind != "eventtype" or name not in self.eventtypes:
                raise ConfigError(f"tags.conf [{stanza}]: only existing eventtypes are supported")
            bad = {v for v in values.values() if v not in ("enabled", "disabled")}
            if bad:
                raise ConfigError(f"tags.conf [{stanza}]: values must be enabled/disabled")
            self.tags[name] = [tag for tag, state in values.items() if state == "enabled"]

    def extract(self, raw: str) -> Fields:
        """Fields before eventtypes: json, REPORT, FIELDALIAS, EVAL, LOOKUP."""
        fields: Dict[str, List[str]] = {}
        for report in self.reports:
            report.apply(raw, fields)
        for key, values in flatten_json(raw, JSON_EXTRACTION_CUTOFF).items():
            fields.setdefault(key, []).extend(values)
        state: Dict[str, Tuple[str, ...]] = {k: tuple(v) for k, v in fields.items()}
        state.update(sourcetype=(self.sourcetype,))
        before = dict(state)
        for _, pairs in self.aliases:
            for src, dst in pairs:
                # `src AS dst` (the overwriting form): since Splunk 7.2.4 the destination takes
                # the source's value, and is REMOVED when the source is absent or empty, even if
                # the event had it ("Field alias behavior change", Splunk Enterprise release
                # notes; "Overwrite field values" in "Create field aliases in Splunk Web").
                if before.get(src):
                    state[dst] = before[src]
                else:
                    state.pop(dst, None)
        before = dict(state)
        before["_raw"] = (raw,)  # calculated fields may read _raw (not a field of the result)
        for name, node in self.evals.items():
            try:
                values = spl_eval.as_field_values(spl_eval.evaluate(node, before))
            except spl_eval.EvalError as error:
                raise ConfigError(f"EVAL-{name}: {error}") from error
            if values:
                state[name] = values
            else:
                state.pop(name, None)
        for lookup in self.lookups:
            lookup.apply(state)
        return state

    def run(self, raw: str, extra: Optional[Mapping[str, Sequence[str]]] = None) -> Event:
        fields = self.extract(raw)
        if extra:
            fields.update({k: tuple(v) for k, v in extra.items()})
        eventtypes = [
            name for name, expr in self.eventtypes.items() if spl_search.matches(expr, fields)
        ]
        tags = sorted({tag for name in eventtypes for tag in self.tags.get(name, [])})
        return Event(raw, fields, eventtypes, tags)
