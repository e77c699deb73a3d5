"""Fixtures of the dashboard browser tests (run by `make test-ui`, which builds the
add-on, computes build/results.json in .venv-knowledge and bundles build/dashboards.js first)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dashboard_page as page_harness

MAKE_HINT = page_harness.MAKE_HINT


@pytest.fixture(scope="session")
def computed() -> Dict[str, Any]:
    results = page_harness.load_results()
    if results.get("missing"):
        pytest.fail(results["missing"])
    return results


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(page_harness.CHROMIUM).exists():
        pytest.fail(
            f"{page_harness.CHROMIUM} is missing: apt-get install chromium fonts-dejavu-core"
        )
    if not page_harness.BUNDLE.exists():
        pytest.fail(f"{page_harness.BUNDLE} is missing: {MAKE_HINT}")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=page_harness.CHROMIUM, args=["--no-sandbox"]
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def browser_context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=page_harness.VIEWPORT)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="session")
def node() -> str:
    found = shutil.which("node")
    if not found:
        pytest.fail("node is missing: apt-get install nodejs npm")
    return found
