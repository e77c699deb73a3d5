"""The inventory: which inputs of this add-on exist on a host, as collection events.

An input that is disabled, or that never ran, writes nothing itself; so every run of any input
writes one inventory event per ``ringcentral_audit_trail`` stanza configured on its host (as
splunkd lists them, disabled ones included). Collection health and Coverage list every input
from the latest inventory and give each one state, instead of listing only the inputs that
happened to log something. Pure functions of the stanzas: the helper reads them and writes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from . import __version__

INPUT_TYPE = "ringcentral_audit_trail"
_PREFIX = INPUT_TYPE + "://"
_SEPARATORS = re.compile(r"[\s,;]+")
_FALSE = ("0", "false", "f", "no", "n", "off", "none")
_TRUE = ("1", "true", "t", "yes", "y", "on")
# A week of fire times, from a Monday (cron weekday 1) at midnight UTC: every schedule of the
# five standard fields repeats within it, except day-of-month/month ones, checked over a year.
_WEEK_START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _flag(value: Any, default: bool) -> bool:
    text = "" if value is None else str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return default


def _ids(value: Any) -> List[str]:
    return list(dict.fromkeys(part for part in _SEPARATORS.split(str(value or "")) if part))


def interval_seconds(value: Any) -> Optional[int]:
    """A numeric interval in whole seconds, None for a cron expression or anything else."""
    try:
        seconds = float(str(value if value is not None else "").strip())
    except ValueError:
        return None
    if seconds != seconds or not 0 < seconds < 1e9:
        return None
    return int(seconds)


def _field(spec: str, low: int, high: int) -> Optional[Set[int]]:
    """The values of one cron field (``*``, ``a``, ``a-b``, any with ``/step``, comma lists)."""
    out: Set[int] = set()
    for part in spec.split(","):
        match = re.fullmatch(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?", part.strip())
        if not match:
            return None
        span, step = match.group(1), int(match.group(2) or 1)
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first, last = (int(x) for x in span.split("-"))
        else:
            first = last = int(span)
            if match.group(2):
                last = high
        if step < 1 or first < low or last > high or first > last:
            return None
        out.update(range(first, last + 1, step))
    return out


def cron_period_seconds(cron: str) -> Optional[int]:
    """The longest wait between two runs of a five-field cron schedule (UTC), None if it is not
    one this reads. The longest, not the usual: a stall is judged against the longest gap the
    schedule itself makes, so a quiet night of ``*/5 8-18 * * *`` is not a stall."""
    fields = cron.split()
    if len(fields) != 5:
        return None
    parsed: List[Set[int]] = []
    for spec, low, high in zip(fields, (0, 0, 1, 1, 0), (59, 23, 31, 12, 7)):
        values = _field(spec, low, high)
        if not values:
            return None
        parsed.append(values)
    minutes, hours, days, months, weekdays = parsed
    weekdays = {d % 7 for d in weekdays}  # 7 is Sunday too
    calendar_bound = fields[2] != "*" or fields[3] != "*"
    span_days = 366 * 2 if calendar_bound else 8
    fires: List[datetime] = []
    day = _WEEK_START
    for _ in range(span_days):
        weekday = (day.weekday() + 1) % 7  # cron: 0 = Sunday
        day_ok = day.day in days if fields[2] != "*" else True
        week_ok = weekday in weekdays if fields[4] != "*" else True
        if fields[2] != "*" and fields[4] != "*":
            chosen = day.day in days or weekday in weekdays  # cron: either matches
        else:
            chosen = day_ok and week_ok
        if chosen and day.month in months:
            fires.extend(
                day + timedelta(hours=h, minutes=m) for h in sorted(hours) for m in sorted(minutes)
            )
        day += timedelta(days=1)
    if len(fires) < 2:
        return None
    return int(max((b - a).total_seconds() for a, b in zip(fires, fires[1:])))


def schedule_seconds(interval: Any) -> Optional[int]:
    """The longest expected wait between two runs: the interval, or its cron schedule's."""
    seconds = interval_seconds(interval)
    if seconds is not None:
        return seconds
    return cron_period_seconds(str(interval or ""))


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def input_stanzas(
    stanzas: Mapping[str, Mapping[str, Any]],
) -> List[Tuple[str, Mapping[str, Any]]]:
    """(input name, settings) of this add-on's input stanzas, by name; the type's own default
    stanza (``ringcentral_audit_trail`` without ``://``) is not an input."""
    found = [
        (key[len(_PREFIX) :], value)
        for key, value in stanzas.items()
        if key.startswith(_PREFIX) and key[len(_PREFIX) :]
    ]
    return sorted(found, key=lambda item: item[0])


def inventory_events(
    stanzas: Mapping[str, Mapping[str, Any]],
    *,
    reported_by: str,
    host: str,
    now: float,
) -> List[Dict[str, Any]]:
    """One inventory document per input stanza (the collection-event contract, kind
    "inventory"), all with the same time: the searches keep the latest inventory per host."""
    when = _iso(now)
    docs: List[Dict[str, Any]] = []
    for name, settings in input_stanzas(stanzas):
        interval = settings.get("interval")
        docs.append(
            {
                "kind": "inventory",
                "time": when,
                "input": name,
                "account": str(settings.get("account") or ""),
                "disabled": _flag(settings.get("disabled"), False),
                "interval": None if interval is None else str(interval),
                "interval_s": interval_seconds(interval),
                "schedule_s": schedule_seconds(interval),
                "index": str(settings.get("index") or "default"),
                "action_ids": _ids(settings.get("action_ids")),
                "exclude_action_ids": _ids(settings.get("exclude_action_ids")),
                "collection_events": _flag(settings.get("collection_events"), True),
                "host": host,
                "reported_by": reported_by,
                "addon_version": __version__,
            }
        )
    return docs
