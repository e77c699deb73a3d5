"""What RingCentral's answers hold, read defensively: one bad record never costs the page.

A search answer is ``{"records": [...], "paging": {...}}``. Normally one ``json.loads`` reads it.
When that fails in a way one record can cause (nesting deeper than the parser's recursion limit,
a number too long to convert) or a record is not an object, the answer is split into its records' raw texts with an iterative scanner, each is
read on its own, and each bad one becomes an ``events.unreadable`` record carrying its raw text,
its id and time when they can be read. Only an answer whose shape cannot be found is refused.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple

from .errors import SECRETS
from .events import UNREADABLE, unreadable

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_SCALAR = re.compile(r"[^,\]}\s]+")
_SPACE = re.compile(r"\s*")


class Malformed(ValueError):
    """The answer is not a JSON object with a list of records (the reason is in the message)."""


class Answer(NamedTuple):
    records: List[Dict[str, Any]]
    paging: Optional[Dict[str, Any]]
    unreadable: int  # how many records were replaced by unreadable() markers


# A body at least this large with a few non-ASCII bytes is decoded to ASCII text (see take_text).
LARGE_BODY = 1 << 22
_BOM = codecs.BOM_UTF8
_NON_ASCII = re.compile(rb"[\x80-\xff]+")


def decode(body: bytes) -> str:
    """The body as text: UTF-8 (a byte order mark dropped), an invalid byte as U+FFFD."""
    return body.decode("utf-8-sig", "replace")


def take_text(holder: List[bytes]) -> str:
    """``decode`` of the body in ``holder`` (taken out of it, so that it can be freed early).

    Memory: one non-ASCII character makes Python hold a whole text 2 or 4 bytes per character,
    so a large page would take twice its size or more as text, beside its body. For a large
    body with few non-ASCII bytes each run of them is decoded on its own (exactly as the whole
    would be) and written as JSON ``\\uXXXX`` escapes instead - the same JSON value, since
    non-ASCII text can only be valid JSON inside strings, where an escape means the same
    character - and the body is freed before the text is made: the page is in memory at most
    twice at any moment. Small bodies are decoded as they are: cheaper in time.
    """
    body = holder.pop()
    if len(body) < LARGE_BODY or body.isascii():
        return decode(body)
    escaped = _escaped(body)
    if escaped is None:
        return decode(body)
    del body
    return escaped.decode("ascii")


def _escaped(body: bytes, share: float = 0.125) -> Optional[bytearray]:
    """The body as ASCII JSON text (see take_text); None where that would not pay or could
    change its meaning (a raw character after a lone backslash: invalid JSON, left as it is)."""
    start = 3 if body[:3] == _BOM else 0
    spans = [m.span() for m in _NON_ASCII.finditer(body, start)]
    if sum(b - a for a, b in spans) > share * len(body):
        return None  # much non-ASCII: the escapes would take more room than a text would
    runs: List[Tuple[int, int, bytes]] = []
    size = len(body) - start
    for a, b in spans:
        slashes = a
        while slashes > start and body[slashes - 1] == 0x5C:
            slashes -= 1
        if (a - slashes) % 2:
            return None
        units = body[a:b].decode("utf-8", "replace").encode("utf-16-be", "surrogatepass")
        escape = "".join(
            f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2)
        ).encode("ascii")
        runs.append((a, b, escape))
        size += len(escape) - (b - a)
    out = bytearray(size)
    with memoryview(body) as view:
        at, last = 0, start
        for a, b, escape in runs:
            out[at : at + a - last] = view[last:a]
            at += a - last
            out[at : at + len(escape)] = escape
            at += len(escape)
            last = b
        out[at:] = view[last:]
    return out


def parse_search(text: str) -> Answer:
    """Records and paging of a search answer; raises Malformed when its shape is not there."""
    try:
        payload = json.loads(text)
    except (RecursionError, ValueError):
        return _salvage(text)
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        raise Malformed("the answer has no list of records")
    records = payload["records"]
    if not all(isinstance(r, dict) for r in records):
        return _salvage(text)
    # Whatever parsed here encodes again in events.to_event: the encoder has the same recursion
    # budget and is called from a shallower stack.
    paging = payload.get("paging")
    return Answer(records, paging if isinstance(paging, dict) else None, 0)


def _salvage(text: str) -> Answer:
    try:
        return _split(text)
    except Malformed:
        raise
    except (ValueError, RecursionError, IndexError) as error:  # e.g. a bad escape in a name
        raise Malformed(f"unreadable JSON ({type(error).__name__})") from None


def _split(text: str) -> Answer:
    members = dict(_members(text, _skip(text, 0)))
    if "records" not in members:
        raise Malformed("the answer is not an object with records")
    start, _ = members["records"]
    if text[start] != "[":
        raise Malformed("the answer's records are not a list")
    records: List[Dict[str, Any]] = []
    bad = 0
    for a, b in _elements(text, start):
        record = _record(text[a:b])
        bad += UNREADABLE in record
        records.append(record)
    paging = None
    if "paging" in members:
        a, b = members["paging"]
        try:
            value = json.loads(text[a:b])
        except (RecursionError, ValueError):
            value = None
        paging = value if isinstance(value, dict) else None
    return Answer(records, paging, bad)


def _record(raw: str) -> Dict[str, Any]:
    try:
        value = json.loads(raw)
    except RecursionError:
        return _unreadable(raw, "nested deeper than the JSON parser can read")
    except ValueError as error:
        return _unreadable(raw, f"not readable as JSON ({SECRETS.redact(str(error), limit=100)})")
    if not isinstance(value, dict):
        return unreadable(raw, f"an element of records that is {_kind(value)}, not an object")
    return value


def _unreadable(raw: str, reason: str) -> Dict[str, Any]:
    """An unreadable record with the id and eventTime read from its top level, where present."""
    found: Dict[str, Any] = {}
    if raw.startswith("{"):
        try:
            for key, (a, b) in _members(raw, 0):
                if key in ("id", "eventTime") and raw[a] not in "[{":
                    found[key] = json.loads(raw[a:b])
        except ValueError:
            pass
    rid = found.get("id")
    when = found.get("eventTime")
    return unreadable(
        raw,
        reason,
        rid if isinstance(rid, (str, int)) and not isinstance(rid, bool) else None,
        when if isinstance(when, str) else None,
    )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list"


# ----- an iterative scanner over JSON text: spans of values, never recursion ------------------


def _skip(text: str, i: int) -> int:
    match = _SPACE.match(text, i)
    return match.end() if match else i


def _value_end(text: str, i: int) -> int:
    """The end of the JSON value starting at ``i`` (which is not whitespace)."""
    if i >= len(text):
        raise Malformed("the answer ends early")
    head = text[i]
    if head == '"':
        match = _STRING.match(text, i)
        if not match:
            raise Malformed("an unterminated string")
        return match.end()
    if head in "[{":
        depth = 0
        for match in _TOKEN.finditer(text, i):
            token = match.group()
            if token[0] == '"':
                continue
            depth += 1 if token in "[{" else -1  # noqa: S105 - a JSON token
            if depth == 0:
                return match.end()
        raise Malformed("an unclosed list or object")
    match = _SCALAR.match(text, i)
    if not match:
        raise Malformed(f"an unexpected {head!r}")
    return match.end()


def _members(text: str, i: int) -> Iterator[Tuple[str, Tuple[int, int]]]:
    """(key, value span) of each member of the object starting at ``i``."""
    if text[i : i + 1] != "{":
        raise Malformed("not an object")
    i = _skip(text, i + 1)
    if text[i : i + 1] == "}":
        return
    while True:
        match = _STRING.match(text, i)
        if not match:
            raise Malformed("an object member without a name")
        key = json.loads(match.group())
        i = _skip(text, match.end())
        if text[i : i + 1] != ":":
            raise Malformed("an object member without a value")
        start = _skip(text, i + 1)
        end = _value_end(text, start)
        yield key, (start, end)
        i = _skip(text, end)
        if text[i : i + 1] == "}":
            return
        if text[i : i + 1] != ",":
            raise Malformed("object members not separated by commas")
        i = _skip(text, i + 1)


def _elements(text: str, i: int) -> Iterator[Tuple[int, int]]:
    """The span of each element of the list starting at ``i``."""
    i = _skip(text, i + 1)
    if text[i : i + 1] == "]":
        return
    while True:
        end = _value_end(text, i)
        yield i, end
        i = _skip(text, end)
        if text[i : i + 1] == "]":
            return
        if text[i : i + 1] != ",":
            raise Malformed("list elements not separated by commas")
        i = _skip(text, i + 1)
