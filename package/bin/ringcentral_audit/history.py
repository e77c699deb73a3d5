"""The ids emitted lately, by day: what reconciliation and leaking bounds are checked against.

Kept as one JSON text per day and parsed only when asked (a record from outside its window, a
reconciliation), so a busy input's runs do not pay for it: a window's ids are added to the days
they fall in, and only those days are written again. At most HISTORY_MAX ids are kept (the
oldest days go first): RingCentral holds at most 10,000 records, older ones cannot be re-read.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, Optional, Tuple

from .timeutil import format_time, parse_time

HISTORY_MAX = 12000
DAY = 86400.0
MAX_EPOCH_MS = 253402300799999

Entry = Tuple[float, int]  # event time (epoch seconds), content fingerprint


class History:
    def __init__(self, days: Optional[Dict[str, Tuple[int, str]]] = None) -> None:
        self._texts: Dict[str, Tuple[int, str]] = dict(days or {})  # day -> (count, JSON text)
        self._parsed: Dict[str, Dict[str, Entry]] = {}
        self.changed = False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, History) and self.to_json() == other.to_json()

    def __len__(self) -> int:
        return sum(count for count, _ in self._texts.values())

    def _day(self, day: str) -> Dict[str, Entry]:
        parsed = self._parsed.get(day)
        if parsed is None:
            parsed = self._parsed[day] = _parse(self._texts.get(day, (0, "[]"))[1])
        return parsed

    def get(self, key: str) -> Optional[Entry]:
        for day in self._texts:
            found = self._day(day).get(key)
            if found is not None:
                return found
        return None

    def count(self, start: float, end: float) -> int:
        """Ids with event times in [start, end)."""
        total = 0
        for day in self._texts:
            at = parse_time(day) or 0.0
            if at + DAY <= start or at >= end:
                continue
            total += sum(1 for t, _ in self._day(day).values() if start <= t < end)
        return total

    def oldest(self) -> Optional[float]:
        days = [parse_time(d) for d in self._texts]
        return min((d for d in days if d is not None), default=None)

    def remember(self, entries: Iterable[Tuple[str, Entry]]) -> None:
        """Add ids (appended to their days' texts, which are not parsed for it; a later entry
        of the same id wins when they are)."""
        by_day: Dict[str, Dict[str, Entry]] = {}
        for key, (t, fp) in entries:
            day = format_time(t - t % DAY) if 0 <= t < MAX_EPOCH_MS / 1000 else format_time(0)
            by_day.setdefault(day, {})[key] = (t, fp)
        if not by_day:
            return
        for day, added in by_day.items():
            count, text = self._texts.get(day, (0, "[]"))
            rows = _dump(added)
            self._texts[day] = (
                count + len(added),
                rows if text == "[]" else text[:-1] + "," + rows[1:],
            )
            parsed = self._parsed.get(day)
            if parsed is not None:
                parsed.update(added)
        while len(self) > HISTORY_MAX and len(self._texts) > 1:
            oldest = min(self._texts, key=lambda d: parse_time(d) or 0.0)
            self._texts.pop(oldest)
            self._parsed.pop(oldest, None)
        self.changed = True

    def to_json(self) -> Dict[str, Any]:
        return {day: [count, text] for day, (count, text) in sorted(self._texts.items())}


def history_from(raw: Any) -> History:
    """A History from what a checkpoint held; anything damaged is dropped (it only recovers)."""
    if not isinstance(raw, dict):
        return History()
    days: Dict[str, Tuple[int, str]] = {}
    for day, value in raw.items():
        if parse_time(day) is None or not isinstance(value, list) or len(value) != 2:
            continue
        count, text = value
        if isinstance(count, int) and not isinstance(count, bool) and isinstance(text, str):
            days[str(day)] = (max(0, count), text)
    return History(days)


def _dump(parsed: Dict[str, Entry]) -> str:
    return json.dumps(
        [[k, round(t * 1000), fp] for k, (t, fp) in parsed.items()],
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _parse(text: str) -> Dict[str, Entry]:
    try:
        rows = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    entries: Dict[str, Entry] = {}
    for row in rows if isinstance(rows, list) else ():
        if isinstance(row, list) and len(row) == 3 and isinstance(row[0], str):
            ms, fp = row[1], row[2]
            if isinstance(ms, int) and isinstance(fp, int) and 0 <= ms <= MAX_EPOCH_MS:
                entries[row[0]] = (ms / 1000, fp)
    return entries
