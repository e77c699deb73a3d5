"""A large page is decoded to ASCII text (non-ASCII as JSON escapes) to halve its memory: the
records read from it must be exactly those read from the plain decode, for any bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ringcentral_audit import answers

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
RECORD = st.dictionaries(ANY_TEXT, st.one_of(ANY_TEXT, st.integers(), st.none()), max_size=4)
NOISE = st.sampled_from(
    [b"", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf0\x9f\x98", b"\\", b"\\\\", b'"', b"\xe2\x82"]
)


def both(body: bytes):
    """(plain decode, large-body decode) of the same bytes."""
    plain = body.decode("utf-8-sig", "replace")
    escaped = answers._escaped(body, share=1.0)
    large = plain if escaped is None else escaped.decode("ascii")
    return plain, large


def parsed(text: str):
    try:
        return ("ok", json.loads(text))
    except (ValueError, RecursionError) as error:
        return ("error", type(error).__name__)


def search(text: str):
    try:
        return answers.parse_search(text)
    except answers.Malformed:
        return "malformed"


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(RECORD, max_size=4),
    bom=st.booleans(),
    noise=st.lists(st.tuples(st.integers(min_value=0, max_value=400), NOISE), max_size=3),
)
def test_large_body_decoding_reads_the_same_json(records, bom, noise):
    text = json.dumps({"records": records, "paging": {"page": 1}}, ensure_ascii=False)
    body = bytearray(text.encode("utf-8", "surrogatepass"))
    for at, junk in noise:  # invalid UTF-8, stray backslashes and quotes anywhere
        body[at % (len(body) + 1) : at % (len(body) + 1)] = junk
    body = (b"\xef\xbb\xbf" if bom else b"") + bytes(body)
    plain, large = both(body)
    assert parsed(large) == parsed(plain)
    if parsed(plain)[0] == "ok":
        assert search(large) == search(plain)


def test_only_large_non_ascii_bodies_take_the_escaped_path(monkeypatch):
    body = json.dumps({"records": [{"id": "é" * 10}]}, ensure_ascii=False).encode()
    assert not answers.take_text([body]).isascii()  # small: decoded as it is
    monkeypatch.setattr(answers, "LARGE_BODY", 10)
    assert not answers.take_text([body]).isascii()  # mostly non-ASCII: as it is too
    body = json.dumps({"records": [{"id": "é", "x": "y" * 100}]}, ensure_ascii=False).encode()
    text = answers.take_text([body])
    assert text.isascii() and json.loads(text) == {"records": [{"id": "é", "x": "y" * 100}]}


@pytest.mark.parametrize("raw", [b'"\\\xc3\xa9"', b'"\\\\\xc3\xa9"', b"\xc3\xa9", b'"\xff"'])
def test_backslashes_and_bad_bytes_before_non_ascii(raw):
    plain, large = both(raw)
    assert parsed(large) == parsed(plain)
