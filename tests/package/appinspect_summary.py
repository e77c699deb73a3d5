"""Summarise a splunk-appinspect JSON report; exit 1 on any failure, error or future failure.

Usage: python tests/package/appinspect_summary.py output/appinspect.json

Prints the counts, then every check that did not pass cleanly (failures, errors and future
failures first, then warnings) with its messages, so a CI log shows what to fix or why a
warning stays. Standard library only: it runs in .venv-appinspect or any Python 3.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

BLOCKING = ("failure", "error", "future_failure")
SHOWN = (*BLOCKING, "warning")


def load(path: str) -> Dict[str, Any]:
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(report, dict) or not report.get("reports"):
        raise SystemExit(f"{path}: not a splunk-appinspect JSON report")
    return report


def counts(report: Dict[str, Any]) -> Dict[str, int]:
    summary = report.get("summary") or report["reports"][0].get("summary") or {}
    return {key: int(summary.get(key, 0)) for key in (*SHOWN, "success", "not_applicable")}


def checks(report: Dict[str, Any]) -> Iterator[Tuple[str, str, Dict[str, Any]]]:
    for app in report["reports"]:
        for group in app.get("groups", []):
            for check in group.get("checks", []):
                yield check.get("result", ""), group.get("name", ""), check


def describe(message: Dict[str, Any]) -> str:
    text = " ".join(str(message.get("message", "")).split())
    where = message.get("message_filename")
    line = message.get("message_line")
    if where and str(where) not in text:
        text += f" [{where}{':' + str(line) if line else ''}]"
    return text


def main(argv: List[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    report = load(argv[1])
    found = counts(report)
    print(
        "AppInspect: {failure} failures, {error} errors, {future_failure} future failures, "
        "{warning} warnings ({success} passed, {not_applicable} not applicable)".format(**found)
    )
    for wanted in SHOWN:
        for result, group, check in checks(report):
            if result != wanted:
                continue
            print(f"\n{result.upper()}: {check.get('name')} ({group})")
            for message in check.get("messages", []):
                print(f"  - {describe(message)}")
    blocking = sum(found[key] for key in BLOCKING)
    if blocking:
        print(f"\nAppInspect found {blocking} blocking problem(s): see above.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
