"""The transforming part of a dashboard query (everything after the base search) applied to the
events the knowledge suite matched: stats, eventstats, timechart, sort, head, eval, where, table,
fields, with the eval functions the add-on's dashboards use.

Deliberately small and strict: a command, option, function or syntax it does not know raises
Unsupported, so a panel is reported as not evaluated instead of being shown made-up data.
Rows are dicts of field -> None | str | float | list (a multivalue field), in Splunk's order.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Dict, List, Optional, Sequence, Tuple

Row = Dict[str, Any]


class Unsupported(Exception):
    """The query uses SPL this evaluator does not emulate."""


@dataclass
class Table:
    columns: List[str]
    rows: List[Row]


# --- values


def number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return number(value[0]) if len(value) == 1 else None
    try:
        result = float(str(value))
    except ValueError:
        return None
    return result if math.isfinite(result) else None


def render(value: Any) -> Any:
    """A value as Splunk's JSON results carry it: strings, lists of strings for multivalue."""
    if value is None:
        return None
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def values_of(value: Any) -> List[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _key(value: Any) -> Tuple[int, float, str]:
    """Splunk sorts numbers numerically before strings lexicographically."""
    n = number(value)
    return (0, n, "") if n is not None else (1, 0.0, str(value).lower())


# --- relative time ("-7d@h", "now", "0") and spans

_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
}


def relative_time(now: float, spec: str) -> float:
    spec = spec.strip()
    if spec in ("now", ""):
        return now
    if re.fullmatch(r"\d+(\.\d+)?", spec):
        return float(spec)
    match = re.fullmatch(
        r"([+-]\d+)(s|sec|m|min|h|d|w)?(?:@(s|m|h|d|w0|w))?", spec
    ) or re.fullmatch(r"()()@(s|m|h|d|w0|w)", spec)
    if not match:
        raise Unsupported(f"relative time {spec!r}")
    amount, unit, snap = match.groups()
    result = now + (int(amount) * _UNITS[unit or "s"] if amount else 0)
    if snap:
        tm = time.gmtime(result)
        if snap in ("w", "w0"):
            start = result - (tm.tm_wday + 1) % 7 * 86400
            tm = time.gmtime(start)
            result = start - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec)
        else:
            step = _UNITS[snap]
            result = result - (result % step)
    return result


# timechart without span= picks the smallest of these giving at most 100 buckets over the range
_SPANS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 86400, 7 * 86400, 30 * 86400]


def default_span(earliest: float, latest: float) -> int:
    for span in _SPANS:
        if (latest - earliest) / span <= 100:
            return span
    return _SPANS[-1]


# --- eval expressions

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<qfield>'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|=|<|>|\(|\)|,|\.|\+|-|\*|/|%)
  | (?P<ident>[A-Za-z_][\w.{}]*)
  """,
    re.VERBOSE,
)


def _tokens(text: str) -> List[Tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise Unsupported(f"eval syntax at {text[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind == "ws":
            continue
        value = match.group()
        if kind == "ident" and value.upper() in ("AND", "OR", "NOT"):
            kind, value = "op", value.upper()
        out.append((kind, value))
    return out


Expr = Callable[[Row, "Context"], Any]


@dataclass
class Context:
    now: float
    # the dashboard's time range (epoch seconds), which timechart's buckets cover
    range: Tuple[Optional[float], Optional[float]] = (None, None)


class _Parser:
    """Precedence: OR < AND < NOT < comparison < + - . < * / % < unary < primary."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> Tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, value: Optional[str] = None) -> Tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (value is not None and token[1] != value):
            raise Unsupported(f"expected {value or 'more'} in eval expression")
        self.pos += 1
        return token

    def parse(self) -> Expr:
        expr = self.binary(0)
        if self.peek()[0] != "end":
            raise Unsupported(f"unexpected {self.peek()[1]!r} in eval expression")
        return expr

    LEVELS: ClassVar[List[Tuple[str, ...]]] = [
        ("OR",),
        ("AND",),
        ("=", "==", "!=", "<", ">", "<=", ">="),
        ("+", "-", "."),
        ("*", "/", "%"),
    ]

    def binary(self, level: int) -> Expr:
        if level == len(self.LEVELS):
            return self.unary()
        if level == 2:
            if self.peek() == ("op", "NOT"):
                self.take()
                operand = self.binary(level)
                return lambda row, ctx: not _truth(operand(row, ctx))
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in self.LEVELS[level]:
            op = self.take()[1]
            right = self.binary(level + 1)
            left = _binop(op, left, right)
        return left

    def unary(self) -> Expr:
        if self.peek() == ("op", "-"):
            self.take()
            operand = self.unary()
            return lambda row, ctx: _neg(operand(row, ctx))
        return self.primary()

    def primary(self) -> Expr:
        kind, value = self.take()
        if kind == "number":
            constant = float(value)
            return lambda row, ctx: constant
        if kind == "string":
            text = re.sub(r"\\(.)", r"\1", value[1:-1])
            return lambda row, ctx: text
        if kind == "qfield":
            name = value[1:-1]
            return lambda row, ctx: row.get(name)
        if (kind, value) == ("op", "("):
            expr = self.binary(0)
            self.take(")")
            return expr
        if kind == "ident":
            if self.peek() == ("op", "("):
                return self.call(value)
            return lambda row, ctx: row.get(value)
        raise Unsupported(f"unexpected {value!r} in eval expression")

    def call(self, name: str) -> Expr:
        if name not in FUNCTIONS:
            raise Unsupported(f"eval function {name}()")
        self.take("(")
        args: List[Expr] = []
        if self.peek() != ("op", ")"):
            args.append(self.binary(0))
            while self.peek() == ("op", ","):
                self.take()
                args.append(self.binary(0))
        self.take(")")
        arity, implementation = FUNCTIONS[name]
        if len(args) not in arity:
            raise Unsupported(f"{name}() with {len(args)} arguments")
        return lambda row, ctx: implementation(args, row, ctx)


def _truth(value: Any) -> bool:
    return bool(value) if isinstance(value, bool) else value is not None and value != ""


def _neg(value: Any) -> Any:
    n = number(value)
    return None if n is None else -n


def _binop(op: str, left: Expr, right: Expr) -> Expr:
    def apply(row: Row, ctx: Context) -> Any:
        if op == "AND":
            return _truth(left(row, ctx)) and _truth(right(row, ctx))
        if op == "OR":
            return _truth(left(row, ctx)) or _truth(right(row, ctx))
        a, b = left(row, ctx), right(row, ctx)
        if a is None or b is None:
            return None
        if op == ".":
            return f"{render(a)}{render(b)}"
        na, nb = number(a), number(b)
        if op in ("=", "==", "!="):
            same = na == nb if na is not None and nb is not None else render(a) == render(b)
            return same if op != "!=" else not same
        if op in ("<", ">", "<=", ">="):
            x, y = (na, nb) if na is not None and nb is not None else (render(a), render(b))
            return {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]
        if na is None or nb is None:
            return None
        if op == "+":
            return na + nb
        if op == "-":
            return na - nb
        if op == "*":
            return na * nb
        if op == "/":
            return None if nb == 0 else na / nb
        return None if nb == 0 else na % nb

    return apply


def _strftime(args: Sequence[Expr], row: Row, ctx: Context) -> Any:
    when = number(args[0](row, ctx))
    fmt = args[1](row, ctx)
    if when is None or fmt is None:
        return None
    return time.strftime(str(fmt).replace("%3N", "000"), time.gmtime(when))


def _round(args: Sequence[Expr], row: Row, ctx: Context) -> Any:
    value = number(args[0](row, ctx))
    digits = int(number(args[1](row, ctx)) or 0) if len(args) > 1 else 0
    if value is None:
        return None
    # Splunk rounds half away from zero
    factor = 10**digits
    return math.floor(abs(value) * factor + 0.5) / factor * (1 if value >= 0 else -1)


def _mvzip(args: Sequence[Expr], row: Row, ctx: Context) -> Any:
    left, right = values_of(args[0](row, ctx)), values_of(args[1](row, ctx))
    sep = render(args[2](row, ctx)) if len(args) > 2 else ","
    zipped = [f"{render(a)}{sep}{render(b)}" for a, b in zip(left, right)]
    return None if not zipped else zipped[0] if len(zipped) == 1 else zipped


def _relative_time(args: Sequence[Expr], row: Row, ctx: Context) -> Any:
    when = number(args[0](row, ctx))
    spec = args[1](row, ctx)
    return None if when is None or spec is None else relative_time(when, str(spec))


def _if(args: Sequence[Expr], row: Row, ctx: Context) -> Any:
    return args[1](row, ctx) if _truth(args[0](row, ctx)) else args[2](row, ctx)


def _coalesce(args: Sequence[Expr], row: Row, ctx: Context) -> Any:
    for arg in args:
        value = arg(row, ctx)
        if value is not None:
            return value
    return None


FUNCTIONS: Dict[str, Tuple[range, Callable[[Sequence[Expr], Row, Context], Any]]] = {
    "strftime": (range(2, 3), _strftime),
    "round": (range(1, 3), _round),
    "now": (range(0, 1), lambda args, row, ctx: ctx.now),
    "relative_time": (range(2, 3), _relative_time),
    "if": (range(3, 4), _if),
    "null": (range(0, 1), lambda args, row, ctx: None),
    "coalesce": (range(1, 20), _coalesce),
    "isnull": (range(1, 2), lambda args, row, ctx: args[0](row, ctx) is None),
    "isnotnull": (range(1, 2), lambda args, row, ctx: args[0](row, ctx) is not None),
    "mvzip": (range(2, 4), _mvzip),
    "mvcount": (range(1, 2), lambda args, row, ctx: float(len(values_of(args[0](row, ctx))))),
    "tonumber": (range(1, 2), lambda args, row, ctx: number(args[0](row, ctx))),
    "lower": (range(1, 2), lambda args, row, ctx: _str(args[0](row, ctx), str.lower)),
    "upper": (range(1, 2), lambda args, row, ctx: _str(args[0](row, ctx), str.upper)),
}


def _str(value: Any, fn: Callable[[str], str]) -> Any:
    return None if value is None else fn(str(render(value)))


def parse_expression(text: str) -> Expr:
    return _Parser(text).parse()


# --- stats functions

_AGG = re.compile(r"^(\w+)(?:\(([^()]*)\))?$")


@dataclass
class Aggregation:
    function: str
    field: Optional[str]
    name: str


def _agg_count(values: List[Any], rows: List[Row]) -> Any:
    return float(len(values))


def _latest(values: List[Any], rows: List[Row], newest: bool = True) -> Any:
    timed = [(number(r.get("_time")) or 0.0, i, r) for i, r in enumerate(rows)]
    ordered = sorted(timed, key=lambda t: (t[0], -t[1]), reverse=newest)
    return ordered[0][2]


def _extreme(values: List[Any], pick: Callable[..., Any]) -> Any:
    if not values:
        return None
    numbers = [number(v) for v in values]
    if all(n is not None for n in numbers):
        return pick(numbers)
    return pick(str(render(v)) for v in values)


def _aggregate(agg: Aggregation, rows: List[Row]) -> Any:
    if agg.function == "count" and agg.field is None:
        return float(len(rows))
    values = [v for r in rows for v in values_of(r.get(agg.field or ""))]
    numbers = [n for n in (number(v) for v in values) if n is not None]
    fn = agg.function
    if fn == "count":
        return float(len(values))
    if fn in ("dc", "distinct_count"):
        return float(len({render(v) for v in values}))
    if fn == "values":
        unique = sorted({render(v) for v in values})
        return unique or None
    if fn == "list":
        return [render(v) for v in values] or None
    if fn == "max":
        return _extreme(values, max)
    if fn == "min":
        return _extreme(values, min)
    if fn == "sum":
        return sum(numbers) if numbers else None
    if fn == "avg":
        return sum(numbers) / len(numbers) if numbers else None
    if fn in ("latest", "earliest"):
        having = [r for r in rows if r.get(agg.field or "") is not None]
        if not having:
            return None
        return _latest([], having, newest=fn == "latest").get(agg.field or "")
    raise Unsupported(f"stats function {fn}()")


STATS_FUNCTIONS = {"count", "dc", "distinct_count", "values", "list", "max", "min", "sum", "avg"}
STATS_FUNCTIONS |= {"latest", "earliest"}


def parse_aggregations(args: str) -> Tuple[List[Aggregation], List[str], Dict[str, str]]:
    """stats-like arguments: [opt=value ...] func(field) [AS name] ... [by f1 f2]."""
    by: List[str] = []
    parts = re.split(r"\s+by\s+", args.strip(), maxsplit=1, flags=re.IGNORECASE)
    if len(parts) == 2:
        by = [w for w in re.split(r"[\s,]+", parts[1].strip()) if w]
    words = [w for w in re.split(r"[\s,]+", parts[0].strip()) if w]
    options: Dict[str, str] = {}
    aggs: List[Aggregation] = []
    index = 0
    while index < len(words):
        word = words[index]
        if "=" in word and "(" not in word:
            key, _, value = word.partition("=")
            options[key] = value
            index += 1
            continue
        match = _AGG.match(word)
        if not match or match.group(1) not in STATS_FUNCTIONS:
            raise Unsupported(f"stats argument {word!r}")
        name = word
        if index + 2 < len(words) and words[index + 1].upper() == "AS":
            name = words[index + 2]
            index += 3
        else:
            index += 1
        aggs.append(Aggregation(match.group(1), match.group(2) or None, name))
    if not aggs:
        raise Unsupported("stats without a function")
    return aggs, by, options


def _groups(rows: List[Row], by: List[str]) -> Dict[Tuple[Any, ...], List[Row]]:
    groups: Dict[Tuple[Any, ...], List[Row]] = {}
    for row in rows:
        keys: List[Tuple[Any, ...]] = [()]
        for name in by:
            values = values_of(row.get(name))
            if not values:
                keys = []
                break
            keys = [(*key, render(v)) for key in keys for v in values]
        for key in keys:
            groups.setdefault(key, []).append(row)
    return groups


# --- commands


def cmd_stats(table: Table, args: str, ctx: Context) -> Table:
    aggs, by, options = parse_aggregations(args)
    if options:
        raise Unsupported(f"stats options {sorted(options)}")
    groups = _groups(table.rows, by)
    if not by and not groups:
        groups = {(): []}
    rows = []
    for key in sorted(groups, key=lambda k: [_key(v) for v in k]):
        row: Row = dict(zip(by, key))
        for agg in aggs:
            row[agg.name] = _aggregate(agg, groups[key])
        rows.append(row)
    return Table(by + [a.name for a in aggs], rows)


def cmd_eventstats(table: Table, args: str, ctx: Context) -> Table:
    aggs, by, options = parse_aggregations(args)
    if options:
        raise Unsupported(f"eventstats options {sorted(options)}")
    groups = _groups(table.rows, by)
    rows = []
    for row in table.rows:
        new = dict(row)
        key = tuple(render(row.get(name)) for name in by)
        members = groups.get(key, [])
        for agg in aggs:
            new[agg.name] = _aggregate(agg, members) if members else None
        rows.append(new)
    columns = table.columns + [a.name for a in aggs if a.name not in table.columns]
    return Table(columns, rows)


def iso(epoch: float) -> str:
    millis = round(epoch * 1000) % 1000
    return time.strftime(f"%Y-%m-%dT%H:%M:%S.{millis:03d}+00:00", time.gmtime(epoch))


def cmd_timechart(table: Table, args: str, ctx: Context) -> Table:
    aggs, by, options = parse_aggregations(args)
    limit = int(options.pop("limit", "10"))
    if options:
        raise Unsupported(f"timechart options {sorted(options)}")
    if len(by) > 1 or (by and len(aggs) > 1):
        raise Unsupported("timechart by more than one field or with several functions and by")
    earliest, latest = ctx_range(ctx)
    span = default_span(earliest, latest)
    start = earliest - earliest % span
    buckets = [start + i * span for i in range(int((latest - start) // span) + 1)]
    in_bucket: Dict[float, List[Row]] = {b: [] for b in buckets}
    for row in table.rows:
        when = number(row.get("_time"))
        if when is None or not earliest <= when < latest + 1:
            continue
        in_bucket.setdefault(when - when % span, []).append(row)
    columns = ["_time"]
    if not by:
        columns += [a.name for a in aggs]
        rows = []
        for bucket in sorted(in_bucket):
            row: Row = {"_time": iso(bucket)}
            for agg in aggs:
                value = _aggregate(agg, in_bucket[bucket])
                row[agg.name] = 0.0 if value is None and agg.function == "count" else value
            rows.append(row)
        return Table(columns, rows)
    agg, field = aggs[0], by[0]
    series_rows: Dict[str, List[Row]] = {}
    for row in table.rows:
        for value in values_of(row.get(field)) or ["NULL"]:
            series_rows.setdefault(render(value), []).append(row)
    ranked = sorted(series_rows, key=lambda s: (-len(series_rows[s]), s))
    kept = sorted(ranked[:limit] if limit > 0 else ranked)
    other = set(ranked) - set(kept)
    columns += kept + (["OTHER"] if other else [])
    rows = []
    for bucket in sorted(in_bucket):
        row = {"_time": iso(bucket)}
        members = in_bucket[bucket]
        for series in kept:
            chosen = [
                r
                for r in members
                if series in [render(v) for v in values_of(r.get(field))]
                or (series == "NULL" and not values_of(r.get(field)))
            ]
            value = _aggregate(agg, chosen)
            row[series] = 0.0 if value is None and agg.function == "count" else value
        if other:
            chosen = [r for r in members if {render(v) for v in values_of(r.get(field))} & other]
            value = _aggregate(agg, chosen)
            row["OTHER"] = 0.0 if value is None and agg.function == "count" else value
        rows.append(row)
    return Table(columns, rows)


def ctx_range(ctx: Context) -> Tuple[float, float]:
    earliest, latest = ctx.range
    if earliest is None or latest is None:
        raise Unsupported("timechart needs the dashboard's time range")
    return earliest, latest


def cmd_sort(table: Table, args: str, ctx: Context) -> Table:
    words = [w for w in re.split(r"[\s,]+", args.strip()) if w]
    limit = None
    if words and words[0].isdigit():
        limit = int(words.pop(0)) or None
    keys: List[Tuple[str, bool]] = []
    descending = False
    for word in words:
        if word in ("-", "+"):
            descending = word == "-"
            continue
        if word[0] in "+-":
            descending, word = word[0] == "-", word[1:]
        if not re.fullmatch(r"[\w.{}]+", word):
            raise Unsupported(f"sort key {word!r}")
        keys.append((word, descending))
    rows = list(table.rows)
    for name, desc in reversed(keys):  # stable sorts, last key first
        present = [r for r in rows if r.get(name) is not None]
        missing = [r for r in rows if r.get(name) is None]
        present.sort(key=lambda r: _key(values_of(r.get(name))[0]), reverse=desc)
        rows = present + missing
    return Table(table.columns, rows[:limit] if limit else rows)


def cmd_head(table: Table, args: str, ctx: Context) -> Table:
    words = args.split()
    count = 10
    if words:
        if len(words) != 1 or not words[0].isdigit():
            raise Unsupported(f"head {args!r}")
        count = int(words[0])
    return Table(table.columns, table.rows[:count])


def split_top(text: str, separator: str) -> List[str]:
    parts, current, quote, depth = [], "", "", 0
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == separator and not quote and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def cmd_eval(table: Table, args: str, ctx: Context) -> Table:
    assignments = []
    for part in split_top(args, ","):
        match = re.fullmatch(r"\s*([\w.{}]+)\s*=(?!=)(.*)", part, re.S)
        if not match:
            raise Unsupported(f"eval assignment {part.strip()!r}")
        assignments.append((match.group(1), parse_expression(match.group(2))))
    rows = []
    for row in table.rows:
        new = dict(row)
        for name, expr in assignments:
            value = expr(new, ctx)
            if isinstance(value, bool):
                raise Unsupported(f"eval {name}=: a condition is not a value")
            new[name] = value
        rows.append(new)
    columns = table.columns + [n for n, _ in assignments if n not in table.columns]
    return Table(columns, rows)


def cmd_where(table: Table, args: str, ctx: Context) -> Table:
    expr = parse_expression(args)
    return Table(table.columns, [row for row in table.rows if _truth(expr(row, ctx))])


def cmd_table(table: Table, args: str, ctx: Context) -> Table:
    names = [w for w in re.split(r"[\s,]+", args.strip()) if w]
    if any("*" in n for n in names):
        raise Unsupported("wildcards in table/fields")
    return Table(names, [{n: row.get(n) for n in names} for row in table.rows])


def cmd_fields(table: Table, args: str, ctx: Context) -> Table:
    words = [w for w in re.split(r"[\s,]+", args.strip()) if w]
    if words and words[0] == "-":
        drop = set(words[1:])
        columns = [c for c in table.columns if c not in drop]
        return Table(columns, [{c: row.get(c) for c in columns} for row in table.rows])
    if words and words[0] == "+":
        words = words[1:]
    return cmd_table(table, " ".join(words), ctx)


COMMANDS: Dict[str, Callable[[Table, str, Context], Table]] = {
    "stats": cmd_stats,
    "eventstats": cmd_eventstats,
    "timechart": cmd_timechart,
    "sort": cmd_sort,
    "head": cmd_head,
    "eval": cmd_eval,
    "where": cmd_where,
    "table": cmd_table,
    "fields": cmd_fields,
}


def run(segments: Sequence[str], events: List[Row], ctx: Context) -> Table:
    """Applies each command of the pipeline (the segments after the base search) in order."""
    columns = sorted({name for row in events for name in row})
    table = Table(columns, [dict(row) for row in events])
    for segment in segments:
        command, _, args = segment.strip().partition(" ")
        if command not in COMMANDS:
            raise Unsupported(f"command {command!r}")
        table = COMMANDS[command](table, args, ctx)
    return table


def as_results(table: Table) -> Dict[str, Any]:
    """Columnar form, as Dashboard Studio's data sources hand results to visualizations."""

    def cell(name: str, value: Any) -> Any:
        # Splunk's results carry _time as an ISO 8601 string, which the visualizations format
        when = number(value) if name == "_time" else None
        return iso(when) if when is not None else render(value)

    return {
        "fields": list(table.columns),
        "columns": [[cell(name, row.get(name)) for row in table.rows] for name in table.columns],
    }
