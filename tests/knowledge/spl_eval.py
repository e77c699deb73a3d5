"""A deliberately small evaluator for Splunk eval expressions (props.conf EVAL- calculated fields).

It supports only the forms a calculated field of this add-on should need: string literals, field
references, `==`/`=`/`!=`, AND/OR/NOT, `.` concatenation and the functions in FUNCTIONS. Anything
else raises EvalError at parse time, so a test fails as soon as props.conf says something this
evaluator (and a reader) cannot follow.

Values: None (null), str (one value) or tuple of str (a multivalue field); bool for conditions.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

Value = Union[None, str, Tuple[str, ...], bool]


class EvalError(Exception):
    """The expression uses a form this evaluator does not support, or is malformed."""


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<field>'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|=|\(|\)|,|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  """,
    re.VERBOSE,
)

_KEYWORDS = {"AND", "OR", "NOT"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokenize(text: str) -> List[Token]:
    tokens: List[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise EvalError(f"unsupported syntax at {text[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind == "ws":
            continue
        value = match.group()
        if kind == "ident" and value.upper() in _KEYWORDS:
            kind, value = "keyword", value.upper()
        tokens.append(Token(kind, value))
    return tokens


# --- AST


@dataclass(frozen=True)
class Literal:
    value: str


@dataclass(frozen=True)
class FieldRef:
    name: str


@dataclass(frozen=True)
class Call:
    name: str
    args: Tuple[Node, ...]


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Union[Literal, FieldRef, Call, BinOp, Not]


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> Optional[Token]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next_is(self, text: str) -> bool:
        token = self.peek()
        return token is not None and token.text == text

    def take(self, text: Optional[str] = None) -> Token:
        token = self.peek()
        if token is None or (text is not None and token.text != text):
            raise EvalError(f"expected {text or 'a token'}, found {token.text if token else 'end'}")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.or_expr()
        token = self.peek()
        if token is not None:
            raise EvalError(f"unexpected {token.text!r}")
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.next_is("OR"):
            self.take()
            node = BinOp("OR", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.next_is("AND"):
            self.take()
            node = BinOp("AND", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        if self.next_is("NOT"):
            self.take()
            return Not(self.not_expr())
        return self.comparison()

    def comparison(self) -> Node:
        node = self.concat()
        token = self.peek()
        if token and token.text in ("==", "=", "!="):
            self.take()
            node = BinOp("!=" if token.text == "!=" else "==", node, self.concat())
        return node

    def concat(self) -> Node:
        node = self.primary()
        while self.next_is("."):
            self.take()
            node = BinOp(".", node, self.primary())
        return node

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "string":
            return Literal(_unescape(token.text[1:-1]))
        if token.kind == "field":
            return FieldRef(_unescape(token.text[1:-1]))
        if token.text == "(":
            node = self.or_expr()
            self.take(")")
            return node
        if token.kind == "ident":
            if self.next_is("("):
                return self.call(token.text)
            return FieldRef(token.text)
        raise EvalError(f"unexpected {token.text!r}")

    def call(self, name: str) -> Node:
        if name not in FUNCTIONS:
            raise EvalError(f"function {name}() is not supported")
        self.take("(")
        args: List[Node] = []
        if not self.next_is(")"):
            args.append(self.or_expr())
            while self.next_is(","):
                self.take()
                args.append(self.or_expr())
        self.take(")")
        low, high = FUNCTIONS[name][0]
        if len(args) < low or (high is not None and len(args) > high):
            raise EvalError(f"{name}() takes {low}..{high} arguments, got {len(args)}")
        if name == "case" and len(args) % 2:
            raise EvalError("case() needs condition/value pairs")
        return Call(name, tuple(args))


def parse(text: str) -> Node:
    return _Parser(text).parse()


def referenced_fields(node: Node) -> List[str]:
    if isinstance(node, FieldRef):
        return [node.name]
    if isinstance(node, Call):
        return [name for arg in node.args for name in referenced_fields(arg)]
    if isinstance(node, BinOp):
        return referenced_fields(node.left) + referenced_fields(node.right)
    if isinstance(node, Not):
        return referenced_fields(node.operand)
    return []


# --- evaluation

Fields = Mapping[str, Tuple[str, ...]]


def _single(value: Value, what: str) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool):
        raise EvalError(f"{what}: a condition is not a value")
    if isinstance(value, tuple):
        if len(value) != 1:
            raise EvalError(f"{what}: multivalue argument is not supported")
        return value[0]
    return value


def _truth(value: Value, what: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise EvalError(f"{what}: expected a condition, got a value")
    return value


def _values(value: Value) -> Tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, bool):
        raise EvalError("a condition is not a value")
    return value if isinstance(value, tuple) else (value,)


def _mv(values: Sequence[str]) -> Value:
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def _lower(args: Sequence[Value]) -> Value:
    text = _single(args[0], "lower()")
    return None if text is None else text.lower()


def _upper(args: Sequence[Value]) -> Value:
    text = _single(args[0], "upper()")
    return None if text is None else text.upper()


def _coalesce(args: Sequence[Value]) -> Value:
    for arg in args:
        if arg is not None:
            return arg
    return None


def _mvappend(args: Sequence[Value]) -> Value:
    return _mv([value for arg in args for value in _values(arg)])


def _mvdedup(args: Sequence[Value]) -> Value:
    return _mv(list(dict.fromkeys(_values(args[0]))))


def _in(args: Sequence[Value]) -> Value:
    value = _single(args[0], "in()")
    return value is not None and value in [_single(arg, "in()") for arg in args[1:]]


def _like(args: Sequence[Value]) -> Value:
    value = _single(args[0], "like()")
    pattern = _single(args[1], "like()")
    if value is None or pattern is None:
        return None
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _sha256(args: Sequence[Value]) -> Value:
    """sha256(X): the hex SHA-256 of X's UTF-8 text (eval functions, "Cryptographic functions")."""
    value = _single(args[0], "sha256()")
    return None if value is None else hashlib.sha256(value.encode("utf-8")).hexdigest()


# name -> ((min args, max args or None), implementation of already-evaluated args or None if lazy)
FUNCTIONS: Dict[
    str, Tuple[Tuple[int, Optional[int]], Optional[Callable[[Sequence[Value]], Value]]]
] = {
    "coalesce": ((1, None), _coalesce),
    "sha256": ((1, 1), _sha256),
    "lower": ((1, 1), _lower),
    "upper": ((1, 1), _upper),
    "mvappend": ((1, None), _mvappend),
    "mvdedup": ((1, 1), _mvdedup),
    "null": ((0, 0), lambda args: None),
    "true": ((0, 0), lambda args: True),
    "isnull": ((1, 1), lambda args: args[0] is None),
    "isnotnull": ((1, 1), lambda args: args[0] is not None),
    "in": ((2, None), _in),
    "like": ((2, 2), _like),
    "if": ((3, 3), None),
    "case": ((2, None), None),
}


def evaluate(node: Node, fields: Fields) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, FieldRef):
        return _mv(fields.get(node.name, ()))
    if isinstance(node, Not):
        return not _truth(evaluate(node.operand, fields), "NOT")
    if isinstance(node, BinOp):
        return _binop(node, fields)
    if node.name == "if":
        cond = _truth(evaluate(node.args[0], fields), "if()")
        return evaluate(node.args[1] if cond else node.args[2], fields)
    if node.name == "case":
        for cond, result in zip(node.args[::2], node.args[1::2]):
            if _truth(evaluate(cond, fields), "case()"):
                return evaluate(result, fields)
        return None
    implementation = FUNCTIONS[node.name][1]
    assert implementation is not None
    return implementation([evaluate(arg, fields) for arg in node.args])


def _binop(node: BinOp, fields: Fields) -> Value:
    if node.op == "AND":
        return _truth(evaluate(node.left, fields), "AND") and _truth(
            evaluate(node.right, fields), "AND"
        )
    if node.op == "OR":
        return _truth(evaluate(node.left, fields), "OR") or _truth(
            evaluate(node.right, fields), "OR"
        )
    left = _single(evaluate(node.left, fields), node.op)
    right = _single(evaluate(node.right, fields), node.op)
    if left is None or right is None:
        return None
    if node.op == ".":
        return left + right
    return (left == right) if node.op == "==" else (left != right)


def as_field_values(value: Value) -> Tuple[str, ...]:
    """The values a calculated field gets from an expression's result (empty: no field)."""
    if isinstance(value, bool):
        raise EvalError("a calculated field must be a value, not a condition")
    return _values(value)
