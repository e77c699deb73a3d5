"""Results of Collection health and Coverage over small worlds that the samples do not hold
(run in .venv-knowledge, like compute_results.py): "dead_and_never", an inventory of three inputs
where "alive" runs, "dead" stopped six hours ago and "fresh" never ran; and "empty", an index and
a log with nothing in them. Usage: evidence_world.py <built app> <out.json>"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

import compute_results as cr  # noqa: E402

from tests.knowledge import content, coverage, spl_run  # noqa: E402
from tests.knowledge.operational_simulation import log_fields  # noqa: E402

VIEWS = ("ringcentral_audit_collection_health", "ringcentral_audit_coverage")


def _row(fields: Dict[str, Any], indexed: float) -> Dict[str, Any]:
    row = cr._row(fields)
    row["_time"] = float(fields["_time"][0])
    row["_indextime"] = indexed
    return row


def dead_and_never(app: Path, now: float) -> List[Dict[str, Any]]:
    rows = []
    for name in ("alive", "dead", "fresh"):
        doc = {
            "kind": "inventory",
            "time": coverage.iso(now - 120),
            "input": name,
            "account": "acme",
            "disabled": False,
            "interval": "300",
            "interval_s": 300,
            "schedule_s": 300,
            "index": "main",
            "action_ids": [],
            "exclude_action_ids": [],
            "collection_events": True,
            "host": "hf1",
            "reported_by": "alive",
        }
        rows.append(_row(coverage.index_doc(app, doc), now))
    for name, ago in (("alive", 200), ("dead", 6 * 3600)):
        end = now - ago
        window = {
            "kind": "window",
            "input": name,
            "account": "acme",
            "interval_s": 300,
            "time": coverage.iso(end),
            "run_started": coverage.iso(end + 1),
            "window_start": coverage.iso(end - 300),
            "window_end": coverage.iso(end),
            "records_seen": 2,
            "emitted": 2,
            "duplicates": 0,
            "requests": 1,
            "outcome": "complete",
            "action_ids": [],
            "exclude_action_ids": [],
        }
        rows.append(_row(coverage.index_doc(app, window), now))
        for line in (
            f'action=window_finished input="{name}" window_end={coverage.iso(end)} emitted=2',
            f'action=collection_run input="{name}" status=success records=2 requests=1 '
            "rate_limited=0 retries=0 lag_s=60",
        ):
            rows.append(_row(log_fields(line, end + 2), end + 2))
    return sorted(rows, key=lambda r: -r["_time"])


def compute(app: Path, events: List[Dict[str, Any]], now: float) -> Dict[str, Any]:
    macros = content.macro_definitions(app)
    out = {}
    for view in VIEWS:
        board = content.load_dashboard(app / "default" / "data" / "ui" / "views" / f"{view}.xml")
        definition = board.definition
        sources = {}
        for key in definition["dataSources"]:
            query, base = cr.resolved(definition, key)
            ctx = spl_run.Context(now, cr.time_range(definition, base, now), {})
            query = cr.with_input_defaults(definition, query)
            expanded = content.expand(query, macros)
            result = cr.evaluate(expanded, cr.in_range(events, ctx.range), macros, ctx)
            sources[key] = {**result, "query": query}
        out[view] = {"name": view, "definition": definition, "sources": sources}
    return out


def main(argv: List[str]) -> int:
    app, target = Path(argv[1]), Path(argv[2])
    now = time.time()
    worlds = {"dead_and_never": dead_and_never(app, now), "empty": []}
    result = {name: compute(app, events, now) for name, events in worlds.items()}
    target.write_text(json.dumps(result), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
