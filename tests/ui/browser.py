"""Debian's chromium through Playwright, and what counts as a page gone wrong (shared by tests/ui).

Playwright's own browser download cannot work here: the system chromium is launched instead
(``make test-ui`` installs it as root).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, List, Set, Tuple

CHROMIUM = os.environ.get("UI_CHROMIUM", "/usr/bin/chromium")
LAUNCH = {"executable_path": CHROMIUM, "args": ["--no-sandbox"]}
VIEWPORT = {"width": 1280, "height": 800}
MISSING_BROWSER = (
    f"{CHROMIUM} is missing: the browser tests need Debian's chromium and a font "
    "(`make test-ui` installs them as root; else apt-get install chromium fonts-dejavu-core)"
)
# What chromium logs as a console error for any HTTP error answer; matched to the responses.
_FAILED_RESOURCE = re.compile(
    r"Failed to load resource: the server responded with a status of (\d+)"
)


@dataclass
class PageWatch:
    """What went wrong in a page: JavaScript errors, unanswered requests, HTTP errors."""

    errors: List[str] = field(default_factory=list)
    pending: Set[Any] = field(default_factory=set)
    failed: List[str] = field(default_factory=list)
    http_errors: List[Tuple[int, str]] = field(default_factory=list)
    expected: List[Tuple[int, str]] = field(default_factory=list)
    polling: List[str] = field(default_factory=list)
    last_request: Tuple[float, str] = (0.0, "")

    def attach(self, page: Any) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", self._console)
        page.on("request", self._request)
        page.on("requestfinished", lambda request: self.pending.discard(request))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _request(self, request: Any) -> None:
        self.pending.add(request)
        self.last_request = (time.monotonic(), f"{request.method} {request.url}")

    def expect_status(self, status: int, url_part: str) -> None:
        """The test provokes an HTTP ``status`` answer from a URL containing ``url_part``."""
        self.expected.append((status, url_part))

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        found = _FAILED_RESOURCE.search(message.text)
        url = (message.location or {}).get("url", "")
        if found and self._is_expected(int(found.group(1)), url):
            return
        self.errors.append(f"console.error: {message.text} ({url})")

    def _failed(self, request: Any) -> None:
        self.pending.discard(request)
        self.failed.append(f"{request.method} {request.url}: {request.failure}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and not self._is_expected(response.status, response.url):
            self.http_errors.append((response.status, f"{response.request.method} {response.url}"))

    def _is_expected(self, status: int, url: str) -> bool:
        return any(status == s and part in url for s, part in self.expected)

    def settle(self, page: Any, timeout: float = 10.0, quiet: float = 1.0) -> None:
        """Wait until no request is in flight and none was made for ``quiet`` seconds.

        A page still requesting after ``timeout`` seconds (one that polls without end) is a problem.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.pending and time.monotonic() - self.last_request[0] >= quiet:
                return
            page.wait_for_timeout(50)
        if not self.pending:
            self.polling.append(f"still requesting after {timeout:.0f}s: {self.last_request[1]}")

    def problems(self) -> List[str]:
        found = list(self.errors)
        found += [f"no answer: {r.method} {r.url}" for r in self.pending]
        found += [f"failed: {text}" for text in self.failed]
        found += [f"HTTP {status}: {what}" for status, what in self.http_errors]
        found += self.polling
        return found
