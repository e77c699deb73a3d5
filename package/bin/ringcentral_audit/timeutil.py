"""RFC 3339 times as the API writes them, with millisecond precision, to and from epoch seconds."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional

_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_OFFSET = re.compile(r"([+-])([0-9]{2}):?([0-9]{2})?$")


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
    # Offsets without a colon (+0200) or without minutes (+02): Python 3.9's fromisoformat
    # reads only +HH:MM, 3.11 more; written one way, every version reads them alike.
    zone = _OFFSET.search(value)
    if zone is not None:
        value = (
            value[: zone.start()] + zone.group(1) + zone.group(2) + ":" + (zone.group(3) or "00")
        )
    # Python 3.9's fromisoformat accepts only 3 or 6 fraction digits: normalise to 6.
    head, sep, rest = value.partition(".")
    if sep:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction, tail = rest[:digits], rest[digits:]
        value = head + "." + (fraction + "000000")[:6] + tail
    value = value.replace("T", " ", 1).replace("t", " ", 1)
    # RFC 3339 allows a leap second (:60); datetime does not: it is the last moment of :59
    leap = value[17:19] == "60" and value[13:14] == ":" and value[16:17] == ":"
    if leap:
        value = value[:17] + "59" + value[19:]
    if not _DATE_TIME.match(value):
        return None  # 3.11 reads forms RFC 3339 does not have (20260601, week dates): not here
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() + (0.999 if leap else 0.0), 3)
