"""RFC 3339 times as the API writes them, with millisecond precision, to and from epoch seconds."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional


def format_time(epoch: float) -> str:
    """Epoch seconds as RFC 3339 UTC with milliseconds: 2024-08-06T10:50:19.442Z."""
    moment = datetime.fromtimestamp(round(epoch, 3), tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: object) -> Optional[float]:
    """Epoch seconds (rounded to the millisecond) from an RFC 3339 string; None if unparsable."""
    if not isinstance(text, str) or len(text) < 19:
        return None
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    # Python 3.9's fromisoformat accepts only 3 or 6 fraction digits: normalise to 6.
    head, sep, rest = value.partition(".")
    if sep:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction, tail = rest[:digits], rest[digits:]
        value = head + "." + (fraction + "000000")[:6] + tail
    try:
        moment = datetime.fromisoformat(value.replace("T", " ", 1).replace("t", " ", 1))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp(), 3)
