"""Small pieces of SPL: the search-command expressions used by eventtypes, data-model constraints
and the base searches of dashboards and alerts, matched against events; pipeline splitting and
macro expansion.

Supported search expressions: `TERM(token)` (a term the indexers match against the event's
segments: see raw_terms), `field=value`, `field!=value` (value quoted or bare, `*` wildcards,
values compared case-insensitively like Splunk does), `field IN (v1, v2)`, implicit or explicit
AND, OR, NOT and parentheses, plus the time modifiers earliest=/latest= (ignored here). Anything
else (free-text terms, `index` other than via a macro, subsearches) raises SearchError, so a test
fails instead of silently matching nothing.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass
from typing import List, Mapping, Sequence, Tuple, Union


class SearchError(Exception):
    """A search uses a form these helpers do not support, or is malformed."""


Fields = Mapping[str, Sequence[str]]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<termfn>TERM\(\s*(?P<termval>[^\s()"]+)\s*\))
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<compare>(?P<cfield>[A-Za-z_][\w.{}]*)\s*(?P<cop>!=|=)\s*
        (?P<cvalue>"(?:[^"\\]|\\.)*"|[^\s()"]+))
  | (?P<in>(?P<infield>[A-Za-z_][\w.{}]*)\s+IN\s*\()
  | (?P<word>"(?:[^"\\]|\\.)*"|[^\s(),"]+)
  """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Compare:
    field: str
    negated: bool
    values: Tuple[str, ...]


@dataclass(frozen=True)
class Bool:
    op: str  # AND / OR
    items: Tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


@dataclass(frozen=True)
class Always:
    pass


@dataclass(frozen=True)
class Term:
    """TERM(token): the token must be one of the event's major segments (raw_terms)."""

    token: str


Expr = Union[Compare, Bool, Not, Always, Term]

TIME_MODIFIERS = {"earliest", "latest", "_index_earliest", "_index_latest"}


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _tokens(text: str) -> List[Tuple[str, object]]:
    out: List[Tuple[str, object]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise SearchError(f"cannot read search at {text[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup
        if match.group("ws"):
            continue
        if match.group("termfn"):
            out.append(("term", match.group("termval")))
        elif match.group("compare"):
            out.append(
                (
                    "compare",
                    (match.group("cfield"), match.group("cop"), _unquote(match.group("cvalue"))),
                )
            )
        elif match.group("in"):
            out.append(("in", match.group("infield")))
        elif match.group("word"):
            word = match.group("word")
            out.append(("op", word) if word in ("AND", "OR", "NOT") else ("word", word))
        else:
            out.append((kind or "", match.group()))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> Tuple[str, object]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", None)

    def parse(self) -> Expr:
        expr = self.or_expr()
        if self.peek()[0] != "end":
            raise SearchError(f"unexpected {self.peek()[1]!r}")
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.peek() == ("op", "OR"):
            self.pos += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Bool("OR", tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while True:
            kind, value = self.peek()
            if (kind, value) == ("op", "AND"):
                self.pos += 1
                items.append(self.not_expr())
            elif kind in ("compare", "in", "lparen", "term") or (kind, value) == ("op", "NOT"):
                items.append(self.not_expr())
            else:
                break
        items = [item for item in items if not isinstance(item, Always)] or [Always()]
        return items[0] if len(items) == 1 else Bool("AND", tuple(items))

    def not_expr(self) -> Expr:
        if self.peek() == ("op", "NOT"):
            self.pos += 1
            return Not(self.not_expr())
        return self.term()

    def term(self) -> Expr:
        kind, value = self.peek()
        self.pos += 1
        if kind == "lparen":
            expr = self.or_expr()
            if self.peek()[0] != "rparen":
                raise SearchError("missing )")
            self.pos += 1
            return expr
        if kind == "term":
            return Term(str(value).lower())
        if kind == "compare":
            field, op, text = value  # type: ignore[misc]
            if field in TIME_MODIFIERS:
                return Always()
            return Compare(field, op == "!=", (text,))
        if kind == "in":
            values: List[str] = []
            while True:
                kind, word = self.peek()
                self.pos += 1
                if kind == "word":
                    values.append(_unquote(str(word)))
                elif kind == "comma":
                    continue
                elif kind == "rparen":
                    break
                else:
                    raise SearchError(f"bad IN list near {word!r}")
            return Compare(str(value), False, tuple(values))
        raise SearchError(f"unsupported search term {value!r}")


def parse(text: str) -> Expr:
    return _Parser(text).parse()


def value_matches(pattern: str, value: str) -> bool:
    if "*" in pattern:
        return fnmatch.fnmatchcase(value.lower(), _glob_escape(pattern.lower()))
    return value.lower() == pattern.lower()


def _glob_escape(pattern: str) -> str:
    # only * is a wildcard in SPL; make fnmatch treat ? and [ literally
    return re.sub(r"([?\[])", r"[\1]", pattern)


# Splunk's default major breakers (segmenters.conf, [indexing] MAJOR): TERM(x) finds x only where
# it stands between two of them in the raw event, which JSON's quotes give a whole actionId
# ("Use the TERM directive", Search Manual). Minor breakers (_ : = . - ...) do not split a term.
_MAJOR_BREAKERS = re.compile(r"""[\s\[\]<>(){}|!;,'"*&?+]+""")


@functools.lru_cache(maxsize=4096)
def raw_terms(raw: str) -> frozenset:
    """The major segments of a raw event, lower-cased: what TERM() can find in the index."""
    return frozenset(t.lower() for t in _MAJOR_BREAKERS.split(raw) if t)


def matches(expr: Expr, fields: Fields) -> bool:
    if isinstance(expr, Always):
        return True
    if isinstance(expr, Term):
        raws = fields.get("_raw")
        if not raws:
            raise SearchError("TERM() needs the event's _raw")
        return expr.token in raw_terms(raws[0])
    if isinstance(expr, Not):
        return not matches(expr.item, fields)
    if isinstance(expr, Bool):
        results = (matches(item, fields) for item in expr.items)
        return all(results) if expr.op == "AND" else any(results)
    values = [value for value in fields.get(expr.field, ()) if value != ""]
    hit = any(value_matches(pattern, value) for pattern in expr.values for value in values)
    if expr.negated:
        return bool(values) and not hit
    return hit


# --- pipelines and macros


def split_outside_quotes(text: str, separator: str) -> List[str]:
    parts, current, quoted, depth = [], [], False, 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and quoted:
            current.append(text[index : index + 2])
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "([":
            depth += 1
        elif not quoted and char in ")]":
            depth -= 1
        if char == separator and not quoted and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def balance_problems(text: str) -> List[str]:
    problems = []
    quoted, stack = False, []
    pairs = {")": "(", "]": "["}
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and quoted:
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "([":
            stack.append(char)
        elif not quoted and char in ")]":
            if not stack or stack.pop() != pairs[char]:
                problems.append(f"unbalanced {char!r}")
        index += 1
    if quoted:
        problems.append("unbalanced double quote")
    if stack:
        problems.append(f"unclosed {''.join(stack)!r}")
    if text.count("`") % 2:
        problems.append("unbalanced backtick")
    return problems


MACRO = re.compile(r"`([^`(]+)(?:\(([^`]*)\))?`")
