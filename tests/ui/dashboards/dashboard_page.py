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
from typing import Any, Dict, List, Mapping, Optional
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
# The sizes an admin's browser window has: every view must answer its question at both.
VIEWPORTS = {
    "1280x800": {"width": 1280, "height": 800},
    "1920x1080": {"width": 1920, "height": 1080},
}
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


def timeparser_answer(url: str, now: Optional[float] = None) -> Dict[str, str]:
    """search/timeparser: each time= argument as an ISO time (what the picker shows per preset)."""
    now = time.time() if now is None else now
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


def world_now() -> Optional[float]:
    """The "now" of the world the results were computed in (compute_results.NOW), if computed."""
    if not RESULTS.exists():
        return None
    return float(json.loads(RESULTS.read_text("utf-8")).get("generated_at") or 0) or None


def open_view(
    context: Any,
    view: str,
    definition: Mapping[str, Any],
    results: Mapping[str, Any],
    now: Optional[float] = None,
    first_asked: Optional[List[str]] = None,
) -> Rendered:
    """A new page of the browser context showing the view; returns once its panels settled.
    The page's clock (Date) and splunkd's time parser stand at ``now``, by default the results'
    world's "now", so relative times and time-range labels agree with the computed rows."""
    from playwright.sync_api import Error as PlaywrightError

    now = world_now() if now is None else now
    page = context.new_page()
    if now is not None:
        page.clock.install(time=now)  # runs from now on (a frozen Date stops debounced clicks)
    rendered = Rendered(page)
    html = page_html(view, definition, results)
    asked_first = json.dumps(list(results) if first_asked is None else first_asked)

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
            request_route.fulfill(status=200, json=timeparser_answer(request.url, now))
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
            f" && {asked_first}.every(q => r.some(x => x.query === q)); }}",
            timeout=LOAD_TIMEOUT_MS,
            polling=250,
        )
    except PlaywrightError as error:  # the test reports which data sources never asked
        rendered.console_errors.append(f"harness: not every data source was requested: {error}")
    page.wait_for_load_state("load", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_timeout(500)  # charts animate in after their data arrives
    settle(page)
    return rendered


def settle(page: Any) -> None:
    """Scroll the whole view once (panels below the fold draw when they come into view), back to
    the top, then wait until what is drawn stops changing."""
    height = page.evaluate("document.documentElement.scrollHeight")
    for top in range(0, height, 400):
        page.evaluate(f"window.scrollTo(0, {top})")
        page.wait_for_timeout(100)
    page.evaluate("window.scrollTo(0, 0)")
    last = None
    for _ in range(40):
        drawn = page.evaluate(
            "document.body.innerText.length + document.querySelectorAll('svg *').length"
        )
        if drawn == last:
            return
        last = drawn
        page.wait_for_timeout(500)


def answers(view: Mapping[str, Any]) -> Dict[str, Any]:
    """query -> computed results for every variant of a view (what the page may ask for)."""
    out: Dict[str, Any] = {}
    for variant in view.get("variants", []):
        out.update({s["query"]: s for s in variant["sources"].values()})
    out.update({s["query"]: s for s in view["sources"].values()})
    return out


def load_results() -> Dict[str, Any]:
    """build/results.json (compute_results.py); {"views": [], "missing": why} if absent."""
    if not RESULTS.exists():
        return {"views": [], "missing": f"{RESULTS} does not exist: {MAKE_HINT}"}
    return json.loads(RESULTS.read_text("utf-8"))
