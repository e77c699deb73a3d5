"""One Dashboard Studio view rendered in Chromium by Splunk's own dashboard framework, without a
Splunk server: the page, the bundle (build/dashboards.js from entry.jsx) and the few Splunk Web
and splunkd answers the view needs are served by Playwright's request routing, so no port is
opened. Shared by the browser tests and `make screenshots-dashboards`.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tests.knowledge import spl_run  # noqa: E402

BUNDLE = HERE / "build" / "dashboards.js"
BUNDLE_CSS = HERE / "build" / "dashboards.css"
RESULTS = HERE / "build" / "results.json"
APP = "TA-ringcentral-audit"
# A name that never resolves: every request of the page is answered (or refused) by the route.
ORIGIN = "http://splunk-web.invalid"
SPLUNKD = "/en-US/splunkd/__raw"
CHROMIUM = "/usr/bin/chromium"
MAKE_HINT = "run `make test-ui` (it builds the add-on, the results and the bundle)"
VIEWPORT = {"width": 1440, "height": 1000}
LOAD_TIMEOUT_MS = 120_000

# Splunk Web's server configuration ($C), the subset @splunk/splunk-utils reads.
SPLUNK_WEB_CONFIG = {
    "SPLUNKD_PATH": SPLUNKD,
    "LOCALE": "en-US",
    "MRSPARKLE_ROOT_PATH": "",
    "MRSPARKLE_PORT_NUMBER": "8000",
    "BUILD_NUMBER": 0,
    "BUILD_PUSH_NUMBER": 0,
    "APP_BUILD": 0,
    "USERNAME": "admin",
    "VERSION_LABEL": "9.4.0",
    "SERVER_ZONEINFO": "",
    "SPLUNK_UI_THEME": "light",
}

# The time-range presets Splunk ships in etc/system/default/times.conf (a subset, same labels,
# ranges and order), as data/ui/times answers them.
TIME_PRESETS = [
    ("Today", "@d", "now", 10),
    ("Week to date", "@w0", "now", 20),
    ("Last 15 minutes", "-15m", "now", 10),
    ("Last 60 minutes", "-60m@m", "now", 20),
    ("Last 4 hours", "-4h@m", "now", 30),
    ("Last 24 hours", "-24h@h", "now", 40),
    ("Last 7 days", "-7d@h", "now", 50),
    ("Last 30 days", "-30d@d", "now", 60),
    ("All time", "0", "", 70),
]


def times_answer() -> Dict[str, Any]:
    return {
        "entry": [
            {
                "name": f"preset_{index}",
                "content": {
                    "label": label,
                    "earliest_time": earliest,
                    "latest_time": latest,
                    "order": order,
                    "disabled": False,
                    "is_sub_menu": False,
                },
            }
            for index, (label, earliest, latest, order) in enumerate(TIME_PRESETS)
        ]
    }


CURRENT_CONTEXT = {
    "entry": [
        {
            "name": "admin",
            "content": {
                "username": "admin",
                "roles": ["admin"],
                "capabilities": ["search", "rtsearch", "schedule_search"],
            },
        }
    ]
}


def timeparser_answer(url: str) -> Dict[str, str]:
    """search/timeparser: each time= argument as an ISO time (what the picker shows per preset)."""
    now = time.time()
    answer = {}
    for spec in parse_qs(urlsplit(url).query, keep_blank_values=True).get("time", []):
        answer[spec] = spl_run.iso(spl_run.relative_time(now, spec))
    return answer


def page_html(view: str, definition: Mapping[str, Any], results: Mapping[str, Any]) -> str:
    boot = json.dumps({"definition": definition, "results": results}).replace("</", "<\\/")
    config = json.dumps(SPLUNK_WEB_CONFIG)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{view}</title>
<link rel="stylesheet" href="/static/dashboards.css">
<style>html, body {{ margin: 0; }} #root {{ width: 100%; }}</style>
<script>window.$C = {config}; window.__harness = {boot};</script>
</head><body><div id="root"></div><script src="/static/dashboards.js"></script></body></html>
"""


@dataclass
class Rendered:
    """What the page did: the Playwright page and every problem seen while it rendered."""

    page: Any
    console_errors: List[str] = field(default_factory=list)
    unanswered: List[str] = field(default_factory=list)
    splunkd_calls: List[str] = field(default_factory=list)


def open_view(
    context: Any, view: str, definition: Mapping[str, Any], results: Mapping[str, Any]
) -> Rendered:
    """A new page of the browser context showing the view; returns once its panels settled."""
    from playwright.sync_api import Error as PlaywrightError

    page = context.new_page()
    rendered = Rendered(page)
    html = page_html(view, definition, results)

    def on_console(message: Any) -> None:
        if message.type == "error":
            rendered.console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: rendered.console_errors.append(f"page error: {error}"))

    def route(request_route: Any) -> None:
        request = request_route.request
        path = urlsplit(request.url).path
        if path == f"/en-US/app/{APP}/{view}":
            request_route.fulfill(status=200, content_type="text/html", body=html)
        elif path == "/static/dashboards.js":
            request_route.fulfill(status=200, content_type="text/javascript", path=str(BUNDLE))
        elif path == "/static/dashboards.css":
            request_route.fulfill(status=200, content_type="text/css", path=str(BUNDLE_CSS))
        elif path.startswith(SPLUNKD) and path.endswith("/data/ui/times"):
            rendered.splunkd_calls.append(path)
            request_route.fulfill(status=200, json=times_answer())
        elif path.startswith(SPLUNKD) and path.endswith("/authentication/current-context"):
            rendered.splunkd_calls.append(path)
            request_route.fulfill(status=200, json=CURRENT_CONTEXT)
        elif path.startswith(SPLUNKD) and path.endswith("/search/timeparser"):
            rendered.splunkd_calls.append(path)
            request_route.fulfill(status=200, json=timeparser_answer(request.url))
        elif request.url.startswith("data:"):
            request_route.continue_()
        else:
            rendered.unanswered.append(f"{request.method} {request.url}")
            request_route.fulfill(status=404, body="not served by the test harness")

    page.route("**/*", route)
    # Parsing the 14 MB bundle takes Chromium seconds, many more on a loaded machine.
    page.goto(f"{ORIGIN}/en-US/app/{APP}/{view}", wait_until="commit")
    try:
        page.wait_for_function(
            # every computed query (a chain's only once its base answered) asked and answered
            "() => { const h = window.__harness || {}; const r = h.requests || [];"
            " return r.length > 0 && r.every(x => x.requested)"
            " && Object.keys(h.results || {}).every(q => r.some(x => x.query === q)); }",
            timeout=LOAD_TIMEOUT_MS,
            polling=250,
        )
    except PlaywrightError as error:  # the test reports which data sources never asked
        rendered.console_errors.append(f"harness: not every data source was requested: {error}")
    page.wait_for_load_state("load", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_timeout(500)  # charts animate in after their data arrives
    return rendered


def load_results() -> Dict[str, Any]:
    """build/results.json (compute_results.py); {"views": [], "missing": why} if absent."""
    if not RESULTS.exists():
        return {"views": [], "missing": f"{RESULTS} does not exist: {MAKE_HINT}"}
    return json.loads(RESULTS.read_text("utf-8"))
