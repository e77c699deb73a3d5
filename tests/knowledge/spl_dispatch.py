"""What a scheduled search job knows of its dispatch, for the SPL emulation (spl_run): `addinfo`
and the `search` command that detection filter macros use.

- addinfo (spl_run's one, fed from DispatchContext's range): "adds fields to each event that
  contain global, common information about the search", info_min_time and info_max_time being the earliest and latest time of the search's time range
  (Search Reference, addinfo). For a scheduled search that range is relative to the scheduled time,
  and a durable search's backfill job runs "according to the original time windows" of the job it
  replaces (Reporting Manual, "Make scheduled reports durable to prevent event loss"); now() is the
  time the search started (Search Reference, "Date and Time functions": now()). The context says
  which time range the job has (DispatchContext.info_min_time / info_max_time).
- search <expression>: keeps the rows the expression matches, as the base search would
  (spl_search); `search *` keeps every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import spl_run, spl_search


@dataclass
class DispatchContext(spl_run.Context):
    """A job's context whose dispatch time range is what spl_run's one `addinfo` reports."""

    info_min_time: Optional[float] = None
    info_max_time: Optional[float] = None

    def __post_init__(self) -> None:
        if self.info_max_time is not None:
            self.range = (self.info_min_time, self.info_max_time)


def _as_fields(row: spl_run.Row) -> spl_search.Fields:
    return {
        name: tuple(spl_run.text(v) for v in spl_run.values_of(value))
        for name, value in row.items()
        if not isinstance(value, bool)
    }


def _search(table: spl_run.Table, args: str, ctx: spl_run.Context) -> spl_run.Table:
    if args.strip() == "*":
        return table
    expr = spl_search.parse(args)
    return spl_run.Table(
        table.columns, [row for row in table.rows if spl_search.matches(expr, _as_fields(row))]
    )


spl_run.COMMANDS.setdefault("search", _search)
