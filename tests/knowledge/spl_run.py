"""Runs SPL pipelines on emulated events, so the result of a search (the holes of a coverage view,
the gaps of the completeness report, the rows an alert fires on over simulated time, the results of a
dashboard panel) can be asserted exactly. The one evaluator of the suite: run() takes a whole search
(macros expanded, base search matched), run_pipeline() the commands after an already matched base
search (alert_simulation.py, tests/ui/dashboards/compute_results.py).

Deliberately small and strict: the commands in COMMANDS with the options named there, and eval
expressions of the functions in FUNCTIONS. Anything else raises RunError, so a search this module
cannot follow fails its test instead of being half-evaluated.

Semantics kept from Splunk: a field is null, one value or a multivalue; eval, where and stats
compare numerically when both sides are numbers, otherwise as strings; a comparison with null is
false; the assignments of one eval run left to right; stats drops rows without a by-field and
sorts its groups (a multivalue by-field counts the row in each of its values); values() sorts
and dedups; streamstats current=f/window=N/time_window=span; timechart buckets the context's time
range (limit=N folds the other series into OTHER); iplocation looks addresses up in the context's
table; the base search returns events newest first. Times are epoch seconds; strftime/strptime
work in UTC (the emulated user's time zone); relative_time knows s, m, h, d, w with an optional
@unit snap (@w and @w0: Sunday).
"""

from __future__ import annotations

import calendar
import functools
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import spl_search

Scalar = Union[str, float]
Value = Union[None, Scalar, Tuple[Scalar, ...], bool]
Row = Dict[str, Value]


class RunError(Exception):
    """The pipeline uses a form this runner does not support, or is malformed."""


# --- values


def number(value: Value) -> Optional[float]:
    """The number a single value stands for, or None."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is str:
        return _string_number(value)  # type: ignore[arg-type]
    if kind is int:
        return float(value)  # type: ignore[arg-type]
    return None  # null, a multivalue, a condition


@functools.lru_cache(maxsize=65536)  # the same field values are read again and again
def _string_number(value: str) -> Optional[float]:
    try:
        result = float(value.strip())
    except ValueError:
        return None
    return (
        None
        if math.isnan(result) or value.strip().lower() in ("inf", "-inf", "infinity")
        else result
    )


def single(value: Value, what: str) -> Optional[Scalar]:
    kind = type(value)
    if kind is str or kind is float:
        return value  # type: ignore[return-value]
    if value is None:
        return None
    if isinstance(value, bool):
        raise RunError(f"{what}: a condition is not a value")
    if isinstance(value, tuple):
        return value[0] if value else None
    return value


def values_of(value: Value) -> Tuple[Scalar, ...]:
    kind = type(value)
    if kind is str or kind is float:
        return (value,)  # type: ignore[return-value]
    if value is None:
        return ()
    if isinstance(value, bool):
        raise RunError("a condition is not a value")
    return value if isinstance(value, tuple) else (value,)


def text(value: Scalar) -> str:
    """How Splunk shows a value: integral numbers without a decimal point."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return value


def _mv(items: Sequence[Scalar]) -> Value:
    if not items:
        return None
    return items[0] if len(items) == 1 else tuple(items)


def compare(left: Value, right: Value) -> Optional[int]:
    """-1/0/1, numerically when both are numbers, else as strings; None when either is null."""
    a, b = single(left, "comparison"), single(right, "comparison")
    if a is None or b is None:
        return None
    na, nb = number(a), number(b)
    if na is not None and nb is not None:
        return (na > nb) - (na < nb)
    sa, sb = text(a), text(b)
    return (sa > sb) - (sa < sb)


def _sort_key(value: Value) -> Tuple[int, float, str]:
    """Nulls first, then numbers ascending, then strings lexicographically (Splunk's sort)."""
    item = single(value, "sort")
    if item is None:
        return (0, 0.0, "")
    as_number = number(item)
    if as_number is not None:
        return (1, as_number, "")
    return (2, 0.0, text(item))


# --- time

_STRPTIME = {
    "%Y": (r"\d{4}", "%Y"),
    "%m": (r"\d{2}", "%m"),
    "%d": (r"\d{2}", "%d"),
    "%H": (r"\d{2}", "%H"),
    "%M": (r"\d{2}", "%M"),
    "%S": (r"\d{2}", "%S"),
    "%3N": (r"\d{3}", "%f"),
    "%6N": (r"\d{6}", "%f"),
    "%z": (r"[+-]\d{4}", "%z"),
    "%Z": (r"(?:Z|UTC|GMT)", None),
    "%%": (r"%", "%%"),
}


def strptime(value: str, fmt: str) -> Optional[float]:
    """Splunk's strptime for the conversions in _STRPTIME; the whole string must match."""
    pattern, python_format = "", ""
    for token in re.findall(r"%\d?\w|%%|[^%]+", fmt):
        if token in _STRPTIME:
            regex, conversion = _STRPTIME[token]
            pattern += f"({regex})" if conversion is None else regex
            python_format += conversion or ""
        elif token.startswith("%"):
            raise RunError(f"strptime: conversion {token} not supported here")
        else:
            pattern += re.escape(token)
            python_format += token.replace("%", "%%")
    match = re.fullmatch(pattern, value)
    if not match:
        return None
    cleaned = value
    for group in range(1, (match.lastindex or 0) + 1):  # drop %Z: every zone named here is UTC
        cleaned = cleaned[: match.start(group)] + cleaned[match.end(group) :]
    try:
        parsed = datetime.strptime(cleaned, python_format)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def strftime(epoch: float, fmt: str) -> str:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    millis = f"{round((epoch - math.floor(epoch)) * 1000) % 1000:03d}"
    fmt = fmt.replace("%3N", millis).replace("%Z", "UTC").replace("%z", "+0000")
    if re.search(r"%\d", fmt):
        raise RunError(f"strftime: {fmt!r} not supported here")
    return moment.strftime(fmt)


_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hr": 3600,
    "d": 86400,
    "day": 86400,
    "w": 604800,
    "week": 604800,
}


@functools.lru_cache(maxsize=4096)  # a search asks the same of every row
def relative_time(epoch: float, spec: str) -> float:
    """[+-]N[unit] then an optional @<unit> snap (down); units s m h d w (seconds when none);
    "now" and "" are epoch; a bare number is that epoch time (an earliest of "0")."""
    spec = spec.strip()
    if spec in ("now", ""):
        return float(epoch)
    if re.fullmatch(r"\d+(?:\.\d+)?", spec):
        return float(spec)
    match = re.fullmatch(r"(?:([+-]\d+)([a-z]*))?(?:@([a-z]+\d?))?", spec)
    if not match or (match.group(2) and match.group(2) not in _UNITS):
        raise RunError(f"relative_time: {spec!r} not supported here")
    result = float(epoch)
    if match.group(1):
        result += int(match.group(1)) * _UNITS[match.group(2) or "s"]
    if match.group(3):
        unit = match.group(3)
        if unit == "w0":
            unit = "w"
        if unit not in _UNITS:
            raise RunError(f"relative_time: snap to {unit!r} not supported here")
        if _UNITS[unit] == 604800:  # @w: back to Sunday 00:00
            day = math.floor(result / 86400) * 86400
            weekday = (datetime.fromtimestamp(day, tz=timezone.utc).weekday() + 1) % 7
            result = day - weekday * 86400
        else:
            result = math.floor(result / _UNITS[unit]) * _UNITS[unit]
    return float(result)


def iso(epoch: float) -> str:
    """An epoch time as Splunk's JSON results carry _time (UTC, milliseconds)."""
    millis = round(epoch * 1000) % 1000
    return strftime(math.floor(epoch), f"%Y-%m-%dT%H:%M:%S.{millis:03d}+00:00")


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
  | (?P<field>'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|=|<|>|\(|\)|,|\.|\+|-|\*|/|%)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Lit:
    value: Value


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Call:
    name: str
    args: Tuple[Node, ...]


@dataclass(frozen=True)
class Op:
    op: str
    args: Tuple[Node, ...]


Node = Union[Lit, Ref, Call, Op]


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens: List[Tuple[str, str]] = []
        pos = 0
        while pos < len(source):
            match = _TOKEN.match(source, pos)
            if not match:
                raise RunError(f"eval: cannot read {source[pos:]!r}")
            pos = match.end()
            kind = match.lastgroup or ""
            if kind == "ws":
                continue
            word = match.group()
            if kind == "ident" and word.upper() in ("AND", "OR", "NOT"):
                kind, word = "keyword", word.upper()
            self.tokens.append((kind, word))
        self.pos = 0

    def peek(self) -> Tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, word: Optional[str] = None) -> Tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (word is not None and token[1] != word):
            raise RunError(f"eval: expected {word or 'more'}, found {token[1] or 'the end'}")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.or_()
        if self.peek()[0] != "end":
            raise RunError(f"eval: unexpected {self.peek()[1]!r}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.peek() == ("keyword", "OR"):
            self.take()
            node = Op("OR", (node, self.and_()))
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.peek() == ("keyword", "AND"):
            self.take()
            node = Op("AND", (node, self.not_()))
        return node

    def not_(self) -> Node:
        if self.peek() == ("keyword", "NOT"):
            self.take()
            return Op("NOT", (self.not_(),))
        return self.comparison()

    def comparison(self) -> Node:
        node = self.additive()
        if self.peek()[1] in ("=", "==", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            node = Op("==" if op == "=" else op, (node, self.additive()))
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.peek()[1] in ("+", "-", "."):
            op = self.take()[1]
            node = Op(op, (node, self.multiplicative()))
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.peek()[1] in ("*", "/", "%"):
            op = self.take()[1]
            node = Op(op, (node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.peek()[1] == "-":
            self.take()
            return Op("neg", (self.unary(),))
        return self.primary()

    def primary(self) -> Node:
        kind, word = self.take()
        if kind == "number":
            return Lit(float(word))
        if kind == "string":
            return Lit(re.sub(r"\\(.)", r"\1", word[1:-1]))
        if kind == "field":
            return Ref(re.sub(r"\\(.)", r"\1", word[1:-1]))
        if word == "(":
            node = self.or_()
            self.take(")")
            return node
        if kind == "ident":
            if self.peek()[1] != "(":
                return Ref(word)
            if word not in FUNCTIONS:
                raise RunError(f"eval: function {word}() is not supported here")
            self.take("(")
            args: List[Node] = []
            if self.peek()[1] != ")":
                args.append(self.or_())
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.or_())
            self.take(")")
            low, high, _ = FUNCTIONS[word]
            if len(args) < low or (high is not None and len(args) > high):
                raise RunError(f"eval: {word}() takes {low}..{high} arguments, got {len(args)}")
            return Call(word, tuple(args))
        raise RunError(f"eval: unexpected {word!r}")


def parse_eval(source: str) -> Node:
    return _Parser(source).parse()


@dataclass
class Context:
    now: float
    # the search's time range (epoch seconds): the buckets of timechart
    range: Tuple[Optional[float], Optional[float]] = (None, None)
    # address -> {"City": ..., "Country": ..., "Region": ..., "lat": ..., "lon": ...} for
    # iplocation; None: iplocation is refused
    geo: Optional[Mapping[str, Mapping[str, Value]]] = None


def _truth(value: Value) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise RunError("expected a condition, got a value")
    return value


def evaluate(node: Node, row: Mapping[str, Value], ctx: Context) -> Value:
    kind = type(node)
    if kind is Ref:
        return row.get(node.name)  # type: ignore[union-attr]
    if kind is Lit:
        return node.value  # type: ignore[union-attr]
    if kind is Op:
        return _operate(node, row, ctx)  # type: ignore[arg-type]
    assert isinstance(node, Call)
    _, _, implementation = FUNCTIONS[node.name]
    return implementation(node.args, row, ctx)


def _operate(node: Op, row: Mapping[str, Value], ctx: Context) -> Value:
    op = node.op
    if op == "AND":
        return _truth(evaluate(node.args[0], row, ctx)) and _truth(evaluate(node.args[1], row, ctx))
    if op == "OR":
        return _truth(evaluate(node.args[0], row, ctx)) or _truth(evaluate(node.args[1], row, ctx))
    if op == "NOT":
        return not _truth(evaluate(node.args[0], row, ctx))
    values = [single(evaluate(arg, row, ctx), op) for arg in node.args]
    if None in values:
        return None
    if op == "neg":
        n = number(values[0])
        if n is None:
            raise RunError(f"cannot negate {values[0]!r}")
        return -n
    left, right = values
    if op in ("==", "!=", "<", "<=", ">", ">="):
        order = compare(left, right)
        assert order is not None
        return {
            "==": order == 0,
            "!=": order != 0,
            "<": order < 0,
            "<=": order <= 0,
            ">": order > 0,
            ">=": order >= 0,
        }[op]
    if op == ".":
        return text(left) + text(right)  # type: ignore[arg-type]
    a, b = number(left), number(right)
    if op == "+" and (a is None or b is None):
        return text(left) + text(right)  # type: ignore[arg-type]
    if a is None or b is None:
        return None
    if op in ("/", "%") and b == 0:
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b if op == "/" else math.fmod(a, b)


# --- functions: name -> (min args, max args or None, implementation on unevaluated args)

Impl = Callable[[Tuple[Node, ...], Mapping[str, Value], Context], Value]


def _eager(function: Callable[..., Value]) -> Impl:
    return lambda args, row, ctx: function(*(evaluate(a, row, ctx) for a in args))


def _if(args: Tuple[Node, ...], row: Mapping[str, Value], ctx: Context) -> Value:
    return evaluate(args[1] if _truth(evaluate(args[0], row, ctx)) else args[2], row, ctx)


def _case(args: Tuple[Node, ...], row: Mapping[str, Value], ctx: Context) -> Value:
    if len(args) % 2:
        raise RunError("case() needs condition/value pairs")
    for condition, result in zip(args[::2], args[1::2]):
        if _truth(evaluate(condition, row, ctx)):
            return evaluate(result, row, ctx)
    return None


def _coalesce(*values: Value) -> Value:
    return next((v for v in values if v is not None), None)


def _num_fn(function: Callable[..., float]) -> Callable[..., Value]:
    def apply(*values: Value) -> Value:
        numbers = [number(single(v, "numeric function")) for v in values]
        if any(n is None for n in numbers):
            return None
        return float(function(*numbers))

    return apply


def _round(value: Value, digits: Value = 0.0) -> Value:
    n, d = number(single(value, "round()")), number(single(digits, "round()"))
    if n is None or d is None:
        return None
    return float(round(n, int(d)))


def _extreme(pick: Callable[[Sequence[float]], float], pick_text: Callable) -> Callable[..., Value]:
    def apply(*values: Value) -> Value:
        items = [v for value in values for v in values_of(value)]
        if not items:
            return None
        numbers = [number(v) for v in items]
        if all(n is not None for n in numbers):
            return pick(numbers)  # type: ignore[arg-type]
        return pick_text(text(v) for v in items)

    return apply


def _strptime(value: Value, fmt: Value) -> Value:
    v, f = single(value, "strptime()"), single(fmt, "strptime()")
    if v is None or f is None:
        return None
    return strptime(text(v), text(f))


def _strftime(value: Value, fmt: Value) -> Value:
    n, f = number(single(value, "strftime()")), single(fmt, "strftime()")
    if n is None or f is None:
        return None
    return strftime(n, text(f))


def _relative_time(value: Value, spec: Value) -> Value:
    n, s = number(single(value, "relative_time()")), single(spec, "relative_time()")
    if n is None or s is None:
        return None
    return relative_time(n, text(s))


def _replace(value: Value, pattern: Value, replacement: Value) -> Value:
    v, p, r = (single(x, "replace()") for x in (value, pattern, replacement))
    if v is None or p is None or r is None:
        return None
    return re.sub(text(p), text(r), text(v))


def _tostring(value: Value, fmt: Value = None) -> Value:
    v = single(value, "tostring()")
    if v is None:
        return None
    if fmt is None:
        return text(v) if not isinstance(v, bool) else str(v).lower()
    if text(single(fmt, "tostring()") or "") != "duration":
        raise RunError("tostring(): only the duration format is supported here")
    seconds = number(v)
    if seconds is None:
        return None
    total = int(seconds)
    days, rest = divmod(total, 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}+{clock}" if days else clock


def _tonumber(value: Value) -> Value:
    return number(single(value, "tonumber()"))


def _mvappend(*values: Value) -> Value:
    return _mv([v for value in values for v in values_of(value)])


def _mvcount(value: Value) -> Value:
    items = values_of(value)
    return float(len(items)) if items else None


def _mvjoin(value: Value, separator: Value) -> Value:
    items = values_of(value)
    return text(single(separator, "mvjoin()") or "").join(text(v) for v in items) if items else None


def _match(value: Value, pattern: Value) -> Value:
    v, p = single(value, "match()"), single(pattern, "match()")
    if v is None or p is None:
        return None
    return re.search(text(p), text(v)) is not None


def _mvzip(left: Value, right: Value, separator: Value = ",") -> Value:
    sep = text(single(separator, "mvzip()") or "")
    return _mv([f"{text(a)}{sep}{text(b)}" for a, b in zip(values_of(left), values_of(right))])


def _case_of(convert: Callable[[str], str]) -> Callable[[Value], Value]:
    def apply(value: Value) -> Value:
        v = single(value, "lower()/upper()")
        return None if v is None else convert(text(v))

    return apply


def _in(value: Value, *candidates: Value) -> Value:
    """in(field, v1, ...): whether a value of the field equals one of the values (a null field
    is in nothing)."""
    wanted = {text(c) for c in candidates if isinstance(c, (str, float))}
    return any(text(v) in wanted for v in values_of(value))


def _len(value: Value) -> Value:
    v = single(value, "len()")
    return None if v is None else float(len(text(v)))


FUNCTIONS: Dict[str, Tuple[int, Optional[int], Impl]] = {
    "if": (3, 3, _if),
    "case": (2, None, _case),
    "coalesce": (1, None, _eager(_coalesce)),
    "null": (0, 0, _eager(lambda: None)),
    "true": (0, 0, _eager(lambda: True)),
    "isnull": (1, 1, _eager(lambda v: v is None)),
    "isnotnull": (1, 1, _eager(lambda v: v is not None)),
    "in": (2, None, _eager(_in)),
    "now": (0, 0, lambda args, row, ctx: ctx.now),
    "strptime": (2, 2, _eager(_strptime)),
    "strftime": (2, 2, _eager(_strftime)),
    "relative_time": (2, 2, _eager(_relative_time)),
    "replace": (3, 3, _eager(_replace)),
    "round": (1, 2, _eager(_round)),
    "floor": (1, 1, _eager(_num_fn(math.floor))),
    "abs": (1, 1, _eager(_num_fn(abs))),
    "min": (1, None, _eager(_extreme(min, min))),
    "max": (1, None, _eager(_extreme(max, max))),
    "tostring": (1, 2, _eager(_tostring)),
    "tonumber": (1, 1, _eager(_tonumber)),
    "len": (1, 1, _eager(_len)),
    "match": (2, 2, _eager(_match)),
    "mvappend": (1, None, _eager(_mvappend)),
    "mvcount": (1, 1, _eager(_mvcount)),
    "mvjoin": (2, 2, _eager(_mvjoin)),
    "mvzip": (2, 3, _eager(_mvzip)),
    "lower": (1, 1, _eager(_case_of(str.lower))),
    "upper": (1, 1, _eager(_case_of(str.upper))),
}


# --- statistics

_AGG = re.compile(r"^(\w+)(?:\(([^()]*)\))?$")


@dataclass(frozen=True)
class Aggregate:
    function: str
    field: Optional[str]
    name: str


def _aggregate(function: str, field: Optional[str], rows: Sequence[Row]) -> Value:
    if function == "count":
        if field is None:
            return float(len(rows))
        return float(sum(len(values_of(r.get(field))) for r in rows))
    assert field is not None
    items = [v for r in rows for v in values_of(r.get(field))]
    if function in ("values", "dc", "distinct_count"):
        distinct = sorted({text(v) for v in items})
        return _mv(distinct) if function == "values" else float(len(distinct))
    if function == "list":
        return _mv(items)
    if function in ("first", "last"):  # in the order the rows arrive
        present = [r.get(field) for r in rows if r.get(field) is not None]
        return (present[0] if function == "first" else present[-1]) if present else None
    if function in ("latest", "earliest"):
        timed = [r for r in rows if r.get(field) is not None]
        if not timed:
            return None
        pick = max if function == "latest" else min
        return pick(timed, key=lambda r: number(single(r.get("_time"), "_time")) or 0.0)[field]
    if not items:
        return None
    if function in ("min", "max"):
        return _extreme(min if function == "min" else max, min if function == "min" else max)(
            tuple(items)
        )
    numbers = [n for n in (number(v) for v in items) if n is not None]
    if not numbers:
        return None
    if function == "sum":
        return float(sum(numbers))
    if function == "avg":
        return sum(numbers) / len(numbers)
    if function == "range":
        return max(numbers) - min(numbers)
    raise RunError(f"stats function {function}() is not supported here")


STATS_FUNCTIONS = {
    "count",
    "dc",
    "distinct_count",
    "values",
    "list",
    "first",
    "last",
    "latest",
    "earliest",
    "min",
    "max",
    "sum",
    "avg",
    "range",
}


def _parse_stats(
    args: str, options: Sequence[str]
) -> Tuple[Dict[str, str], List[Aggregate], List[str]]:
    words = [w for w in spl_search.split_outside_quotes(args, " ") if w.strip(" ,")]
    words = [w.strip(",") for w in words]
    settings: Dict[str, str] = {}
    while words and re.fullmatch(r"\w+=\S+", words[0]) and "(" not in words[0]:
        key, _, value = words.pop(0).partition("=")
        if key not in options:
            raise RunError(f"option {key}= is not supported here")
        settings[key] = value
    by: List[str] = []
    lowered = [w.lower() for w in words]
    if "by" in lowered:
        split = lowered.index("by")
        words, by = words[:split], words[split + 1 :]
    aggregates: List[Aggregate] = []
    index = 0
    while index < len(words):
        match = _AGG.match(words[index])
        if not match or match.group(1) not in STATS_FUNCTIONS:
            raise RunError(f"cannot read the aggregate {words[index]!r}")
        function, field = match.group(1), match.group(2)
        if function != "count" and not field:
            raise RunError(f"{function} needs a field")
        name = words[index]
        if (
            index + 2 < len(words) + 1
            and index + 1 < len(words)
            and words[index + 1].upper() == "AS"
        ):
            if index + 2 >= len(words):
                raise RunError("AS without a name")
            name = words[index + 2]
            index += 3
        else:
            index += 1
        aggregates.append(Aggregate(function, field or None, name))
    if not aggregates:
        raise RunError("no aggregate")
    return settings, aggregates, by


def _group_key(row: Row, by: Sequence[str]) -> Optional[Tuple[Scalar, ...]]:
    key = []
    for name in by:
        value = row.get(name)
        if value is None:
            return None
        if isinstance(value, tuple):
            raise RunError(f"multivalue by-field {name} is not supported here")
        if isinstance(value, bool):
            raise RunError(f"by-field {name} is a condition")
        key.append(value)
    return tuple(key)


def _group_keys(row: Row, by: Sequence[str]) -> List[Tuple[Scalar, ...]]:
    """The groups of a row for stats: one per combination of its by-values (none if one lacks)."""
    if len(by) == 1 and type(row.get(by[0])) is str:  # the common case
        return [(row[by[0]],)]  # type: ignore[list-item]
    keys: List[Tuple[Scalar, ...]] = [()]
    for name in by:
        value = row.get(name)
        if isinstance(value, bool):
            raise RunError(f"by-field {name} is a condition")
        items = list(dict.fromkeys(text(v) for v in values_of(value)))
        keys = [(*key, item) for key in keys for item in items]
    return keys


@dataclass
class Table:
    """Rows and the columns Splunk would show for them, in order."""

    columns: List[str]
    rows: List[Row]


def _with(table: Table, rows: List[Row], names: Sequence[str] = ()) -> Table:
    return Table(table.columns + [n for n in names if n not in table.columns], rows)


def _stats(table: Table, args: str, ctx: Context) -> Table:
    _, aggregates, by = _parse_stats(args, ())
    groups: Dict[Tuple[Scalar, ...], List[Row]] = {}
    for row in table.rows:
        for key in _group_keys(row, by):
            groups.setdefault(key, []).append(row)
    if not by and not groups:
        groups[()] = []
    out = []
    for key in sorted(groups, key=lambda k: [_sort_key(v) for v in k]):
        result: Row = dict(zip(by, key))
        for agg in aggregates:
            value = _aggregate(agg.function, agg.field, groups[key])
            if value is not None:
                result[agg.name] = value
        out.append(result)
    return Table([*by, *(a.name for a in aggregates)], out)


def _eventstats(table: Table, args: str, ctx: Context) -> Table:
    _, aggregates, by = _parse_stats(args, ())
    groups: Dict[Tuple[Scalar, ...], List[Row]] = {}
    for row in table.rows:
        key = _group_key(row, by)
        if key is not None:
            groups.setdefault(key, []).append(row)
    results = {
        key: {agg.name: _aggregate(agg.function, agg.field, members) for agg in aggregates}
        for key, members in groups.items()
    }
    out = []
    for row in table.rows:
        key = _group_key(row, by)
        new = dict(row)
        for agg in aggregates:
            value = results[key][agg.name] if key is not None else None
            if value is None:
                new.pop(agg.name, None)
            else:
                new[agg.name] = value
        out.append(new)
    return _with(table, out, [a.name for a in aggregates])


def _span(spec: str) -> int:
    match = re.fullmatch(r"(\d+)(s|m|h|d)", spec)
    if not match:
        raise RunError(f"time_window={spec!r} is not supported here")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _streamstats(table: Table, args: str, ctx: Context) -> Table:
    settings, aggregates, by = _parse_stats(args, ("current", "window", "time_window"))
    current = settings.get("current", "t").lower() in ("t", "true", "1")
    window = int(settings.get("window", "0"))
    span = _span(settings["time_window"]) if "time_window" in settings else None
    if window and span is not None:
        raise RunError("streamstats: window= and time_window= together are not supported here")
    seen: Dict[Optional[Tuple[Scalar, ...]], List[Row]] = {}
    out = []
    for row in table.rows:
        key = _group_key(row, by)
        new = dict(row)
        if key is not None or not by:
            history = seen.setdefault(key, [])
            if span is not None:  # the earlier rows within the window of this row's _time
                when = number(single(row.get("_time"), "_time"))
                if when is None:
                    raise RunError("streamstats time_window= needs _time")
                while history and abs(when - (number(history[0].get("_time")) or 0.0)) >= span:
                    history.pop(0)
            size = len(history) + (1 if current else 0)
            size = min(size, window) if window else size
            considered: Optional[List[Row]] = None  # copied only when an aggregate needs it
            for agg in aggregates:
                if agg.function == "count" and agg.field is None:
                    value: Value = float(size)
                elif not size:
                    value = 0.0 if agg.function in ("count", "dc", "distinct_count") else None
                else:
                    if considered is None:
                        considered = ([*history, row] if current else list(history))[-size:]
                    value = _aggregate(agg.function, agg.field, considered)
                if value is None:
                    new.pop(agg.name, None)
                else:
                    new[agg.name] = value
            history.append(row)
            if window and len(history) > window:
                history.pop(0)
        out.append(new)
    return _with(table, out, [a.name for a in aggregates])


def _timechart(table: Table, args: str, ctx: Context) -> Table:
    """count/values/... per bucket of the context's range (span picked as Splunk does), with
    one column per by-value: the `limit` series with most events, the rest summed in OTHER."""
    settings, aggregates, by = _parse_stats(args, ("limit",))
    limit = int(settings.get("limit", "10"))
    if len(by) > 1 or (by and len(aggregates) > 1):
        raise RunError("timechart: by more than one field, or several functions and by")
    earliest, latest = ctx.range
    if earliest is None or latest is None:
        raise RunError("timechart needs the search's time range")
    span = default_span(earliest, latest)
    start = earliest - earliest % span
    buckets: Dict[float, List[Row]] = {
        start + i * span: [] for i in range(int((latest - start) // span) + 1)
    }
    for row in table.rows:
        when = number(single(row.get("_time"), "_time"))
        if when is None or not earliest <= when < latest + 1:
            continue
        buckets.setdefault(when - when % span, []).append(row)

    def cell(agg: Aggregate, rows: List[Row]) -> Value:
        value = _aggregate(agg.function, agg.field, rows)
        return 0.0 if value is None and agg.function == "count" else value

    out: List[Row] = []
    if not by:
        for bucket in sorted(buckets):
            out.append({"_time": bucket, **{a.name: cell(a, buckets[bucket]) for a in aggregates}})
        return Table(["_time", *(a.name for a in aggregates)], out)
    agg, field = aggregates[0], by[0]
    series: Dict[str, List[Row]] = {}
    for row in table.rows:
        for value in values_of(row.get(field)) or ("NULL",):
            series.setdefault(text(value), []).append(row)
    ranked = sorted(series, key=lambda s: (-len(series[s]), s))
    kept = sorted(ranked[:limit] if limit > 0 else ranked)
    other = set(ranked) - set(kept)
    for bucket in sorted(buckets):
        row = {"_time": bucket}
        members = buckets[bucket]
        labels = [{text(v) for v in values_of(r.get(field))} or {"NULL"} for r in members]
        for name in kept:
            row[name] = cell(agg, [r for r, ls in zip(members, labels) if name in ls])
        if other:
            row["OTHER"] = cell(agg, [r for r, ls in zip(members, labels) if ls & other])
        out.append(row)
    return Table(["_time", *kept, *(["OTHER"] if other else [])], out)


# --- the other commands


def _eval(table: Table, args: str, ctx: Context) -> Table:
    assignments = []
    for part in spl_search.split_outside_quotes(args, ","):
        name, sep, expression = part.partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][\w.]*", name) or expression.startswith("="):
            raise RunError(f"eval: cannot read the assignment {part.strip()!r}")
        assignments.append((name, parse_eval(expression)))
    out = []
    for row in table.rows:
        new = dict(row)
        for name, node in assignments:
            value = evaluate(node, new, ctx)
            if isinstance(value, bool):
                raise RunError(f"eval {name}: a condition is not a value")
            if value is None:
                new.pop(name, None)
            else:
                new[name] = value
        out.append(new)
    return _with(table, out, [name for name, _ in assignments])


def _where(table: Table, args: str, ctx: Context) -> Table:
    node = parse_eval(args)
    return _with(table, [row for row in table.rows if _truth(evaluate(node, row, ctx))])


def _sort(table: Table, args: str, ctx: Context) -> Table:
    words = [w for w in re.split(r"[\s,]+", args.strip()) if w]
    limit = 10000
    if words and words[0].isdigit():
        limit = int(words.pop(0)) or len(table.rows)
    keys: List[Tuple[str, bool]] = []
    descending = False
    for word in words:
        if word in ("+", "-"):
            descending = word == "-"
            continue
        if word[0] in "+-":
            descending, word = word[0] == "-", word[1:]
        if not re.fullmatch(r"[\w.{}]+", word):
            raise RunError(f"sort: cannot read the key {word!r}")
        keys.append((word, descending))
    if not keys:
        raise RunError("sort: no field")
    result = list(table.rows)
    for name, desc in reversed(keys):  # stable sorts, last key first
        result.sort(key=lambda r, n=name: _sort_key(r.get(n)), reverse=desc)
    return _with(table, result[:limit])


def _table(table: Table, args: str, ctx: Context) -> Table:
    names = [w for w in re.split(r"[\s,]+", args.strip()) if w]
    if any("*" in n for n in names):
        raise RunError("table/fields: wildcards are not supported here")
    return Table(names, [{n: row[n] for n in names if n in row} for row in table.rows])


def _fields(table: Table, args: str, ctx: Context) -> Table:
    words = [w for w in re.split(r"[\s,]+", args.strip()) if w]
    if words and words[0] == "-":
        drop = set(words[1:])
        rows = [{k: v for k, v in row.items() if k not in drop} for row in table.rows]
        return Table([c for c in table.columns if c not in drop], rows)
    if words and words[0] == "+":
        words = words[1:]
    return _table(table, " ".join(words), ctx)


def _head(table: Table, args: str, ctx: Context) -> Table:
    count = args.strip() or "10"
    if not count.isdigit():
        raise RunError("head: only a count is supported here")
    return _with(table, table.rows[: int(count)])


_LOCATION = ("City", "Country", "Region", "lat", "lon")


def _iplocation(table: Table, args: str, ctx: Context) -> Table:
    field = args.strip()
    if not re.fullmatch(r"[\w.]+", field):
        raise RunError(f"iplocation {args!r}: only `iplocation <field>` is supported here")
    if ctx.geo is None:
        raise RunError("iplocation: no address table in this context")
    out = []
    for row in table.rows:
        new = dict(row)
        address = single(row.get(field), "iplocation")
        located = ctx.geo.get(text(address)) if address is not None else None
        for name in _LOCATION:
            value = (located or {}).get(name)
            if value is None:
                new.pop(name, None)
            else:
                new[name] = value
        out.append(new)
    return _with(table, out, _LOCATION)


def _dedup(table: Table, args: str, ctx: Context) -> Table:
    """`dedup <field> ...` as Splunk documents it: the first row of each combination of the
    fields' values (rows come newest first), rows lacking one of the fields dropped. Options
    (keepempty, consecutive, sortby) are refused, not ignored."""
    names = [w for w in re.split(r"[\s,]+", args.strip()) if w]
    if not names or any("=" in n or n == "sortby" for n in names):
        raise RunError(f"dedup {args!r}: only `dedup <field> ...` is supported")
    seen, rows = set(), []
    for row in table.rows:
        if any(row.get(name) is None for name in names):
            continue
        key = tuple(repr(row.get(name)) for name in names)
        if key in seen:
            continue
        seen.add(key)
        rows.append(row)
    return Table(table.columns, rows)


_RENAME = re.compile(r'\s*([\w.{}]+)\s+AS\s+("[^"]+"|[\w.{}]+)\s*', re.IGNORECASE)


def _rename(table: Table, args: str, ctx: Context) -> Table:
    """`rename a AS b, c AS "Human name"` (no wildcards): the column takes the new name, in
    place; a row without the field gets nothing."""
    pairs = []
    for part in spl_search.split_outside_quotes(args, ","):
        match = _RENAME.fullmatch(part)
        if not match:
            raise RunError(f"rename: cannot read {part.strip()!r}")
        pairs.append((match.group(1), match.group(2).strip('"')))
    names = dict(pairs)
    rows = [{names.get(k, k): v for k, v in row.items()} for row in table.rows]
    return Table([names.get(c, c) for c in table.columns], rows)


def _addinfo(table: Table, args: str, ctx: Context) -> Table:
    """`addinfo` (Search Reference, addinfo): info_min_time and info_max_time, the earliest and
    latest time of the search's time range (for a scheduled search, its dispatch time range,
    anchored to the scheduled time); info_search_time, when the search ran (ctx.now). A search
    without a range gets 0 and +Infinity, as Splunk gives All time."""
    if args.strip():
        raise RunError("addinfo: options are not supported here")
    low, high = ctx.range
    info = {
        "info_min_time": float(low) if low is not None else 0.0,
        "info_max_time": float(high) if high is not None else math.inf,
        "info_search_time": float(ctx.now),
    }
    rows = [{**row, **info} for row in table.rows]
    return _with(table, rows, list(info))  # type: ignore[arg-type]


def _mvexpand(table: Table, args: str, ctx: Context) -> Table:
    """`mvexpand <field>`: one row per value of the field; a row without it is kept as is."""
    field = args.strip()
    if not re.fullmatch(r"[\w.{}]+", field):
        raise RunError(f"mvexpand {args!r}: only `mvexpand <field>` is supported here")
    rows: List[Row] = []
    for row in table.rows:
        values = values_of(row.get(field))
        if not values:
            rows.append(row)
        rows.extend({**row, field: value} for value in values)
    return _with(table, rows)


def _appendpipe(table: Table, args: str, ctx: Context) -> Table:
    """`appendpipe [ subpipeline ]`: the subpipeline run on the current results, its results
    appended (Search Reference, appendpipe)."""
    body = args.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise RunError("appendpipe: expected [ subpipeline ]")
    segments = [s for s in spl_search.split_outside_quotes(body[1:-1], "|") if s.strip()]
    extra = run_pipeline(segments, table.rows, ctx)
    columns = list(table.columns) + [c for c in extra.columns if c not in table.columns]
    return Table(columns, [*table.rows, *extra.rows])


COMMANDS: Dict[str, Callable[[Table, str, Context], Table]] = {
    "addinfo": _addinfo,
    "rename": _rename,
    "appendpipe": _appendpipe,
    "mvexpand": _mvexpand,
    "dedup": _dedup,
    "eval": _eval,
    "where": _where,
    "sort": _sort,
    "stats": _stats,
    "eventstats": _eventstats,
    "streamstats": _streamstats,
    "timechart": _timechart,
    "table": _table,
    "fields": _fields,
    "head": _head,
    "iplocation": _iplocation,
}


# --- macros and whole searches


@dataclass(frozen=True)
class Macro:
    definition: str
    args: Tuple[str, ...] = ()


def macros_from_conf(stanzas: Mapping[str, Mapping[str, str]]) -> Dict[str, Macro]:
    """macros.conf stanzas by name ("name" or "name(N)" for N arguments)."""
    out = {}
    for name, stanza in stanzas.items():
        args = tuple(a.strip() for a in stanza.get("args", "").split(",") if a.strip())
        arity = re.fullmatch(r"[^()]+\((\d+)\)", name)
        if (int(arity.group(1)) if arity else 0) != len(args):
            raise RunError(f"macro [{name}]: args = {list(args)} do not match its name")
        out[name] = Macro(stanza.get("definition", ""), args)
    return out


def expand(search: str, macros: Mapping[str, Macro], depth: int = 0) -> str:
    """Expand `name` and `name(a, b)` (arguments substituted for $arg$, as Splunk does)."""
    if depth > 10:
        raise RunError("macros nest too deeply")

    def replace(match: re.Match) -> str:
        name, arguments = match.group(1).strip(), match.group(2)
        values: List[str] = []
        if arguments is not None:
            values = [a.strip() for a in spl_search.split_outside_quotes(arguments, ",")]
            name = f"{name}({len(values)})"
        if name not in macros:
            raise RunError(f"macro `{name}` is not defined")
        body = macros[name].definition
        for arg, value in zip(macros[name].args, values):
            body = body.replace(f"${arg}$", value)
        return expand(body, macros, depth + 1)

    # innermost first: a macro call may sit inside another's arguments
    previous = None
    while previous != search:
        previous = search
        search = re.sub(r"`([^`()]+)(?:\(([^`()]*(?:\([^`()]*\)[^`()]*)*)\))?`", replace, search)
    if "`" in search:
        raise RunError(f"cannot expand the macros of {search!r}")
    return search


def rows_of(events: Sequence[Mapping[str, Sequence[str]]]) -> List[Row]:
    """Event fields (tuples of strings) as rows, _time as a number; newest first like Splunk."""
    rows: List[Row] = []
    for fields in events:
        row: Row = {}
        for name, values in fields.items():
            value = _mv(list(values))
            if value is not None:
                row[name] = value
        if "_time" in row:
            row["_time"] = number(single(row["_time"], "_time"))
        rows.append(row)
    rows.sort(key=lambda r: -(number(single(r.get("_time"), "_time")) or 0.0))
    return rows


def run(
    search: str,
    events: Sequence[Mapping[str, Sequence[str]]],
    macros: Mapping[str, Macro],
    now: float,
    tokens: Optional[Mapping[str, str]] = None,
    time_range: Tuple[Optional[float], Optional[float]] = (None, None),
) -> List[Row]:
    """The results of a search (macros expanded, $token$ substituted) over the events."""
    for name, value in (tokens or {}).items():
        search = search.replace(f"${name}$", value)
    if re.search(r"\$\w+\$", search):
        raise RunError(f"unresolved token in {search!r}")
    text_ = expand(search, macros)
    segments = spl_search.split_outside_quotes(text_, "|")
    try:
        base = spl_search.parse(segments[0].strip().removeprefix("search "))
    except spl_search.SearchError as error:
        raise RunError(f"base search: {error}") from error
    rows = [
        row
        for row, fields in zip(rows_of(events), _sorted_events(events))
        if spl_search.matches(base, fields)
    ]
    return run_pipeline(segments[1:], rows, Context(now, time_range)).rows


def as_row(fields: Mapping[str, object]) -> Row:
    """A row from field -> value, a list being a multivalue field (tuples here)."""
    row: Row = {}
    for name, value in fields.items():
        if isinstance(value, list):
            value = _mv(value)
        if value is not None:
            row[name] = value  # type: ignore[assignment]
    return row


def run_pipeline(segments: Sequence[str], rows: Sequence[Row], ctx: Context) -> Table:
    """The `| command args` segments (what follows the base search) applied to its results in
    order (rows as as_row makes them; no command changes a row it is given)."""
    table = Table(sorted({name for row in rows for name in row}), list(rows))
    for segment in segments:
        command, _, args = segment.strip().partition(" ")
        if command not in COMMANDS:
            raise RunError(f"command {command!r} is not supported here")
        table = COMMANDS[command](table, args, ctx)
    return table


def render(value: Value) -> object:
    """A value as Splunk's JSON results carry it: a string, a list of strings, or null."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return [render(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return text(value)


def as_results(table: Table) -> Dict[str, object]:
    """Columnar form, as Dashboard Studio's data sources hand results to visualizations (_time
    as an ISO 8601 string, which the visualizations format)."""

    def cell(name: str, value: Value) -> object:
        when = number(single(value, name)) if name == "_time" else None
        return iso(when) if when is not None else render(value)

    return {
        "fields": list(table.columns),
        "columns": [[cell(name, row.get(name)) for row in table.rows] for name in table.columns],
    }


def _sorted_events(
    events: Sequence[Mapping[str, Sequence[str]]],
) -> List[Mapping[str, Sequence[str]]]:
    def key(fields: Mapping[str, Sequence[str]]) -> float:
        values = fields.get("_time", ())
        return -(number(values[0]) or 0.0) if values else 0.0

    return sorted(events, key=key)


def epoch_of(timestamp: str) -> float:
    """RFC 3339 UTC (with or without milliseconds) as epoch seconds, for tests."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return calendar.timegm(datetime.strptime(timestamp, fmt).timetuple()) + (
                datetime.strptime(timestamp, fmt).microsecond / 1e6
            )
        except ValueError:
            continue
    raise ValueError(timestamp)
