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


@pytest.fixture
def browser_context(browser: Any) -> Iterator[Any]:
    """A context of the browser shared by all of tests/ui (tests/ui/conftest.py): one Playwright
    per session, since a second sync_playwright cannot start inside the first one's loop."""
    if not page_harness.BUNDLE.exists():
        pytest.fail(f"{page_harness.BUNDLE} is missing: {MAKE_HINT}")
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
