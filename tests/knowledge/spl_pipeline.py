"""A small executor for the search pipelines of this add-on's alerts, so that they can be run over
simulated time (tests/knowledge/alert_simulation.py) instead of only parsed.

Rows are dicts of field -> value, a value being None, a number (float), a string, or a list (a
multivalue field). Supported: the commands in COMMANDS with the options this add-on's searches use,
eval/where expressions with the functions in FUNCTIONS, relative time specifiers like -15m@m.
Anything else raises PipelineError: a search this executor cannot follow fails its test instead of
being skipped. Semantics follow Splunk's documentation: stats drops rows lacking a by-field and
sorts its output by the by-fields, streamstats counts earlier rows of the stream (time_window:
those within the window of the current row's _time), values() sorts lexicographically.
"""

from __future__ import annotations

import calendar
import functools
import math
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple

from . import spl_search

Row = Dict[str, Any]


class PipelineError(Exception):
    """The pipeline uses a command, option or function this executor does not implement."""


# --- time

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RELATIVE = re.compile(r"^(?:([+-]\d+)(s|m|h|d|w))?(?:@(s|m|h|d|w))?$")


def relative_time(now: float, spec: str) -> float:
    """Splunk's relative time modifiers: now, -15m, -7d@m, @h, +1h@h (UTC)."""
    spec = spec.strip()
    if spec in ("now", ""):
        return now
    match = _RELATIVE.match(spec)
    if not match:
        raise PipelineError(f"time modifier {spec!r} is not supported")
    amount, unit, snap = match.groups()
    value = now + (int(amount) * _UNITS[unit] if amount else 0)
    if snap:
        if snap == "w":
            raise PipelineError("@w snapping is not supported")
        value = math.floor(value / _UNITS[snap]) * _UNITS[snap]
    return float(value)


def strftime(value: float, fmt: str) -> str:
    return time.strftime(fmt, time.gmtime(value))


def strptime(text: str, fmt: str) -> float:
    return float(calendar.timegm(time.strptime(text, fmt)))


# --- eval expressions

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<field>'(?:[^'\\]|\\.)*')
    | (?P<op>==|!=|<=|>=|<|>|=|\+|-|\*|/|\.|\(|\)|,)
    | (?P<ident>[A-Za-z_][\w.{}]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Node:
    kind: str  # num, str, field, call, bin, not, neg
    value: Any = None
    args: Tuple[Node, ...] = ()


def _tokenize(text: str) -> List[Tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise PipelineError(f"cannot read expression at {text[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "ident" and value.upper() in ("AND", "OR", "NOT"):
            kind, value = "op", value.upper()
        tokens.append((kind, value))
    return tokens


class _Parser:
    LEVELS: ClassVar[List[Tuple[str, ...]]] = [
        ("OR",),
        ("AND",),
        ("=", "==", "!=", "<", ">", "<=", ">="),
        ("+", "-", "."),
        ("*", "/"),
    ]

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> Tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, value: Optional[str] = None) -> Tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (value is not None and token[1] != value):
            raise PipelineError(f"expected {value or 'more'}, found {token[1] or 'the end'}")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.level(0)
        if self.peek()[0] != "end":
            raise PipelineError(f"unexpected {self.peek()[1]!r}")
        return node

    def level(self, index: int) -> Node:
        if index == len(self.LEVELS):
            return self.unary()
        if index == 2 and self.peek() == ("op", "NOT"):
            self.take()
            return Node("not", args=(self.level(index),))
        node = self.level(index + 1)
        while self.peek()[0] == "op" and self.peek()[1] in self.LEVELS[index]:
            op = self.take()[1]
            node = Node("bin", "==" if op == "=" else op, (node, self.level(index + 1)))
        return node

    def unary(self) -> Node:
        if self.peek() == ("op", "-"):
            self.take()
            return Node("neg", args=(self.unary(),))
        kind, value = self.take()
        if kind == "number":
            return Node("num", float(value))
        if kind == "string":
            return Node("str", re.sub(r"\\(.)", r"\1", value[1:-1]))
        if kind == "field":
            return Node("field", value[1:-1])
        if value == "(":
            node = self.level(0)
            self.take(")")
            return node
        if kind == "ident":
            if self.peek() == ("op", "("):
                self.take("(")
                args: List[Node] = []
                if self.peek() != ("op", ")"):
                    args.append(self.level(0))
                    while self.peek() == ("op", ","):
                        self.take()
                        args.append(self.level(0))
                self.take(")")
                if value not in FUNCTIONS:
                    raise PipelineError(f"function {value}() is not supported")
                return Node("call", value, tuple(args))
            return Node("field", value)
        raise PipelineError(f"unexpected {value!r}")


def parse_expression(text: str) -> Node:
    return _Parser(text).parse()


def _number(value: Any) -> Optional[float]:
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is str:
        return _string_number(value)
    if value is None or kind is bool:
        return None
    if kind is int:
        return float(value)
    if kind is list:
        return _number(value[0]) if len(value) == 1 else None
    return None


@functools.lru_cache(maxsize=65536)
def _string_number(value: str) -> Optional[float]:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _scalar(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


@dataclass
class Context:
    now: float
    geo: Mapping[str, Mapping[str, Any]]


def evaluate(node: Node, row: Mapping[str, Any], ctx: Context) -> Any:
    kind = node.kind
    if kind in ("num", "str"):
        return node.value
    if kind == "field":
        return row.get(node.value)
    if kind == "not":
        return not bool(evaluate(node.args[0], row, ctx))
    if kind == "neg":
        number = _number(evaluate(node.args[0], row, ctx))
        return None if number is None else -number
    if kind == "call":
        return FUNCTIONS[node.value](node.args, row, ctx)
    op = node.value
    if op == "AND":
        return bool(evaluate(node.args[0], row, ctx)) and bool(evaluate(node.args[1], row, ctx))
    if op == "OR":
        return bool(evaluate(node.args[0], row, ctx)) or bool(evaluate(node.args[1], row, ctx))
    left = _scalar(evaluate(node.args[0], row, ctx))
    right = _scalar(evaluate(node.args[1], row, ctx))
    if left is None or right is None:
        return None if op not in ("==", "!=", "<", ">", "<=", ">=") else False
    if op == ".":
        return f"{_text(left)}{_text(right)}"
    a, b = _number(left), _number(right)
    if op in ("+", "-", "*", "/"):
        if a is None or b is None:
            if op == "+":
                return f"{_text(left)}{_text(right)}"
            raise PipelineError(f"arithmetic on non-numbers {left!r} {op} {right!r}")
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else None}[op]
    if a is not None and b is not None:
        left, right = a, b
    else:
        left, right = _text(left), _text(right)
    return {
        "==": left == right,
        "!=": left != right,
        "<": left < right,
        ">": left > right,
        "<=": left <= right,
        ">=": left >= right,
    }[op]


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _lazy(fn: Callable[..., Any]) -> Callable[[Sequence[Node], Mapping[str, Any], Context], Any]:
    return fn


def _eager(fn: Callable[..., Any]) -> Callable[[Sequence[Node], Mapping[str, Any], Context], Any]:
    def call(args: Sequence[Node], row: Mapping[str, Any], ctx: Context) -> Any:
        return fn(ctx, *[evaluate(arg, row, ctx) for arg in args])

    return call


def _if(args: Sequence[Node], row: Mapping[str, Any], ctx: Context) -> Any:
    if len(args) != 3:
        raise PipelineError("if() takes 3 arguments")
    return evaluate(args[1] if evaluate(args[0], row, ctx) else args[2], row, ctx)


def _coalesce(args: Sequence[Node], row: Mapping[str, Any], ctx: Context) -> Any:
    for arg in args:
        value = evaluate(arg, row, ctx)
        if value is not None and value != "" and value != []:
            return value
    return None


FUNCTIONS: Dict[str, Callable[[Sequence[Node], Mapping[str, Any], Context], Any]] = {
    "if": _if,
    "coalesce": _coalesce,
    "now": _eager(lambda ctx: ctx.now),
    "relative_time": _eager(
        lambda ctx, t, spec: None if _number(t) is None else relative_time(_number(t), spec)
    ),
    "strftime": _eager(
        lambda ctx, t, fmt: None if _number(t) is None else strftime(_number(t), fmt)
    ),
    "strptime": _eager(lambda ctx, text, fmt: strptime(_scalar(text), fmt)),
    "tonumber": _eager(lambda ctx, value: _number(value)),
    "isnull": _eager(lambda ctx, value: value is None or value == []),
    "isnotnull": _eager(lambda ctx, value: value is not None and value != []),
    "null": _eager(lambda ctx: None),
    "round": _eager(
        lambda ctx, value, digits=0.0: (
            None if _number(value) is None else round(_number(value), int(digits))
        )
    ),
    "floor": _eager(
        lambda ctx, value: None if _number(value) is None else float(math.floor(_number(value)))
    ),
    "mvcount": _eager(
        lambda ctx, value: (
            None if value is None else float(len(value) if isinstance(value, list) else 1)
        )
    ),
    "min": _eager(lambda ctx, *values: min(_number(v) for v in values)),
    "max": _eager(lambda ctx, *values: max(_number(v) for v in values)),
}


# --- commands

_STATS_TERM = re.compile(r"^(\w+)(?:\(([^()]*)\))?$")


@dataclass
class Aggregation:
    func: str
    field: Optional[str]
    name: str


def _split_by(args: str) -> Tuple[str, List[str]]:
    parts = re.split(r"\s+by\s+", args, maxsplit=1, flags=re.IGNORECASE)
    by = [w for w in re.split(r"[\s,]+", parts[1].strip())] if len(parts) == 2 else []
    return parts[0], [w for w in by if w]


def _options_and_aggregations(args: str) -> Tuple[Dict[str, str], List[Aggregation]]:
    options: Dict[str, str] = {}
    words = [w.strip(",") for w in spl_search.split_outside_quotes(args, " ") if w.strip(",")]
    aggregations: List[Aggregation] = []
    index = 0
    while index < len(words):
        word = words[index]
        if re.fullmatch(r"\w+=\S+", word) and "(" not in word:
            key, _, value = word.partition("=")
            options[key] = value
            index += 1
            continue
        match = _STATS_TERM.match(word)
        if not match:
            raise PipelineError(f"cannot read aggregation {word!r}")
        func, field = match.group(1), match.group(2)
        if func not in AGGREGATIONS:
            raise PipelineError(f"aggregation {func}() is not supported")
        name = word
        if index + 2 < len(words) and words[index + 1].upper() == "AS":
            name = words[index + 2]
            index += 3
        else:
            index += 1
        aggregations.append(Aggregation(func, field or None, name))
    return options, aggregations


def _values_of(rows: Sequence[Row], field: Optional[str]) -> List[Any]:
    out: List[Any] = []
    for row in rows:
        value = row.get(field) if field else None
        if isinstance(value, list):
            out.extend(value)
        elif value is not None:
            out.append(value)
    return out


def _extreme(values: List[Any], pick: Callable[..., Any]) -> Any:
    if not values:
        return None
    numbers = [_number(v) for v in values]
    if all(n is not None for n in numbers):
        return pick(numbers)
    return pick(_text(v) for v in values)


AGGREGATIONS: Dict[str, Callable[[Sequence[Row], Optional[str]], Any]] = {
    "count": lambda rows, f: float(len(rows) if f is None else len(_values_of(rows, f))),
    "dc": lambda rows, f: float(len({_text(v) for v in _values_of(rows, f)})),
    "min": lambda rows, f: _extreme(_values_of(rows, f), min),
    "max": lambda rows, f: _extreme(_values_of(rows, f), max),
    "values": lambda rows, f: sorted({_text(v) for v in _values_of(rows, f)}) or None,
    "first": lambda rows, f: (_values_of(rows, f) or [None])[0],
    "last": lambda rows, f: (_values_of(rows, f) or [None])[-1],
    "sum": lambda rows, f: float(sum(_number(v) or 0 for v in _values_of(rows, f))),
}


def _group_key(row: Row, by: Sequence[str]) -> Optional[Tuple[Any, ...]]:
    key = []
    for name in by:
        value = row.get(name)
        if value is None or value == []:
            return None
        key.append(tuple(value) if isinstance(value, list) else value)
    return tuple(key)


def _sort_key(value: Any) -> Tuple[int, Any]:
    number = _number(value)
    return (0, number) if number is not None else (1, _text(value))


def _stats(rows: List[Row], args: str, ctx: Context) -> List[Row]:
    args, by = _split_by(args)
    options, aggregations = _options_and_aggregations(args)
    if options:
        raise PipelineError(f"stats options {options} are not supported")
    groups: Dict[Tuple[Any, ...], List[Row]] = defaultdict(list)
    for row in rows:
        key = _group_key(row, by)
        if key is not None:
            groups[key].append(row)
    if not by and not groups:
        groups[()] = []
    out = []
    for key in sorted(groups, key=lambda k: [_sort_key(v) for v in k]):
        result: Row = dict(zip(by, key))
        for agg in aggregations:
            result[agg.name] = AGGREGATIONS[agg.func](groups[key], agg.field)
        out.append(result)
    return out


def _eventstats(rows: List[Row], args: str, ctx: Context) -> List[Row]:
    args, by = _split_by(args)
    options, aggregations = _options_and_aggregations(args)
    if options:
        raise PipelineError(f"eventstats options {options} are not supported")
    groups: Dict[Tuple[Any, ...], List[Row]] = defaultdict(list)
    for row in rows:
        key = _group_key(row, by)
        if key is not None:
            groups[key].append(row)
    out = []
    for row in rows:
        row = dict(row)
        key = _group_key(row, by)
        if key is not None:
            for agg in aggregations:
                row[agg.name] = AGGREGATIONS[agg.func](groups[key], agg.field)
        out.append(row)
    return out


def _streamstats(rows: List[Row], args: str, ctx: Context) -> List[Row]:
    args, by = _split_by(args)
    options, aggregations = _options_and_aggregations(args)
    unknown = set(options) - {"time_window", "current", "window"}
    if unknown:
        raise PipelineError(f"streamstats options {sorted(unknown)} are not supported")
    window = None
    if "time_window" in options:
        match = re.fullmatch(r"(\d+)(s|m|h|d)", options["time_window"])
        if not match:
            raise PipelineError(f"time_window {options['time_window']!r}")
        window = int(match.group(1)) * _UNITS[match.group(2)]
    current = options.get("current", "t").lower() in ("t", "true", "1")
    size = int(options["window"]) if "window" in options else None
    if size is not None and window is not None:
        raise PipelineError("streamstats: window and time_window together are not supported")
    history: Dict[Tuple[Any, ...], deque] = defaultdict(deque)
    out = []
    for row in rows:
        row = dict(row)
        key = _group_key(row, by)
        if key is None:
            out.append(row)
            continue
        seen = history[key]
        if window is not None:
            now_t = _number(row.get("_time"))
            if now_t is None:
                raise PipelineError("streamstats time_window needs _time")
            while seen and abs(now_t - _number(seen[0].get("_time"))) >= window:
                seen.popleft()
        considered: Optional[List[Row]] = None
        for agg in aggregations:
            if agg.func == "count" and agg.field is None:  # the common case, without a copy
                row[agg.name] = float(len(seen) + (1 if current else 0))
                continue
            if considered is None:
                considered = list(seen) + ([row] if current else [])
            row[agg.name] = AGGREGATIONS[agg.func](considered, agg.field)
        seen.append(row)
        if size is not None and len(seen) > size:
            seen.popleft()
        out.append(row)
    return out


def _where(rows: List[Row], args: str, ctx: Context) -> List[Row]:
    node = parse_expression(args)
    return [row for row in rows if evaluate(node, row, ctx) is True]


def _eval(rows: List[Row], args: str, ctx: Context) -> List[Row]:
    assignments = []
    for part in spl_search.split_outside_quotes(args, ","):
        name, sep, expression = part.partition("=")
        if not sep:
            raise PipelineError(f"eval without assignment: {part!r}")
        assignments.append((name.strip(), parse_expression(expression)))
    out = []
    for row in rows:
        row = dict(row)
        for name, node in assignments:
            row[name] = evaluate(node, row, ctx)
        out.append(row)
    return out


def _table(rows: List[Row], args: str, ctx: Context) -> List[Row]:
    names = [w for w in re.split(r"[\s,]+", args.strip()) if w]
    return [{name: row.get(name) for name in names} for row in rows]


def _fields(rows: List[Row], args: str, ctx: Context) -> List[Row]:
    names = [w for w in re.split(r"[\s,]+", args.strip()) if w]
    if names and names[0] in ("-", "+"):
        if names[0] == "-":
            drop = set(names[1:])
            return [{k: v for k, v in row.items() if k not in drop} for row in rows]
        names = names[1:]
    keep = set(names) | {"_time"} if "_time" not in names else set(names)
    return [{k: v for k, v in row.items() if k in keep} for row in rows]


def _sort(rows: List[Row], args: str, ctx: Context) -> List[Row]:
    words = [w for w in re.split(r"[\s,]+", args.strip()) if w]
    if words and words[0].isdigit():
        words = words[1:]
    out = list(rows)
    for word in reversed(words):
        name = word.lstrip("+-")
        out.sort(key=lambda r: _sort_key(r.get(name)), reverse=word.startswith("-"))
    return out


def _iplocation(rows: List[Row], args: str, ctx: Context) -> List[Row]:
    field = args.strip()
    if not re.fullmatch(r"[\w.]+", field):
        raise PipelineError(f"iplocation {args!r}: only `iplocation <field>` is supported")
    out = []
    for row in rows:
        row = dict(row)
        located = ctx.geo.get(_text(_scalar(row.get(field)))) if row.get(field) else None
        for name in ("City", "Country", "Region", "lat", "lon"):
            row[name] = (located or {}).get(name)
        out.append(row)
    return out


COMMANDS: Dict[str, Callable[[List[Row], str, Context], List[Row]]] = {
    "stats": _stats,
    "eventstats": _eventstats,
    "streamstats": _streamstats,
    "where": _where,
    "eval": _eval,
    "table": _table,
    "fields": _fields,
    "sort": _sort,
    "iplocation": _iplocation,
}


def run(commands: Sequence[str], rows: List[Row], ctx: Context) -> List[Row]:
    """Run `| command args` segments (the part after the base search) over rows."""
    for segment in commands:
        segment = segment.strip()
        name, _, args = segment.partition(" ")
        if name not in COMMANDS:
            raise PipelineError(f"command {name!r} is not supported")
        rows = COMMANDS[name](rows, args, ctx)
    return rows
