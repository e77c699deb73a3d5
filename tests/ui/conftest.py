"""The browser shared by every test under tests/ui: Debian's headless chromium through Playwright.

Each test's page is watched (tests/ui/browser.py): a JavaScript error (an uncaught exception or
a ``console.error``), a request that got no answer (failed, or still pending when the test ends)
or an HTTP error the test did not announce fails the test. A test that provokes an error answer
on purpose (a refused save) says so with ``watch.expect_status(status, url_part)``.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="tests/ui run in .venv-ui (make test-ui)"
)

from tests.ui.browser import CHROMIUM, LAUNCH, MISSING_BROWSER, VIEWPORT, PageWatch  # noqa: E402


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(MISSING_BROWSER, pytrace=False)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(**LAUNCH)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(browser: Any, watch: PageWatch) -> Iterator[Any]:
    """A fresh browser page, watched; the test fails if anything went wrong in it."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(15_000)
    page = context.new_page()
    watch.attach(page)
    try:
        yield page
        watch.settle(page)
        problems = watch.problems()
        if problems:
            pytest.fail("the page went wrong:\n  " + "\n  ".join(problems), pytrace=False)
    finally:
        context.close()
