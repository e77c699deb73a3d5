"""What a scheduled search job knows of its dispatch, for the SPL emulation (spl_run): `addinfo`
and the `search` command that detection filter macros use.

- addinfo: "adds fields to each event that contain global, common information about the search",
  info_min_time and info_max_time being the earliest and latest time of the search's time range
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
    info_min_time: Optional[float] = None
    info_max_time: Optional[float] = None


def _addinfo(table: spl_run.Table, args: str, ctx: spl_run.Context) -> spl_run.Table:
    if args.strip():
        raise spl_run.RunError(f"addinfo {args!r}: no options are supported here")
    if not isinstance(ctx, DispatchContext) or ctx.info_max_time is None:
        raise spl_run.RunError("addinfo: this context has no dispatch time range")
    extra = {"info_min_time": ctx.info_min_time or 0.0, "info_max_time": ctx.info_max_time}
    rows = [{**row, **extra} for row in table.rows]
    return spl_run.Table(table.columns + [n for n in extra if n not in table.columns], rows)


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


for _name, _command in (("addinfo", _addinfo), ("search", _search)):
    spl_run.COMMANDS.setdefault(_name, _command)
