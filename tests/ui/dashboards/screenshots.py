"""`make screenshots-dashboards`: one PNG per Dashboard Studio view of the built add-on, rendered by
the same harness as the browser tests (results of the seeded world, compute_results.py), into the
given folder: `screenshots.py OUT [WIDTHxHEIGHT]` (the README's are 1280x800, whole page).

Reproducible: the world and its "now" are fixed, the page's clock stands at that "now", the
locale and time zone are fixed, and only the pinned fonts exist for the browser (a picture that
used any other font is refused)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dashboard_page as page_harness

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.ui.browser import LAUNCH, unpinned_fonts


def main(out: Path, size: str = "1280x800") -> int:
    from playwright.sync_api import sync_playwright

    results = page_harness.load_results()
    if results.get("missing"):
        print(results["missing"], file=sys.stderr)
        return 1
    width, _, height = size.partition("x")
    viewport = {"width": int(width), "height": int(height)}
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**LAUNCH)
        try:
            context = browser.new_context(viewport=viewport, locale="en-US", timezone_id="UTC")
            for view in results["views"]:
                queries = {s["query"]: s for s in view["sources"].values()}
                rendered = page_harness.open_view(
                    context, view["name"], view["definition"], queries
                )
                problems: List[str] = rendered.console_errors + rendered.unanswered
                problems += [f"font not pinned: {f}" for f in unpinned_fonts(rendered.page)]
                if problems:
                    print(f"{view['name']}: {problems}", file=sys.stderr)
                    return 1
                rendered.page.mouse.move(0, 0)
                target = out / f"{view['name']}.png"
                rendered.page.screenshot(path=str(target), full_page=True, animations="disabled")
                rendered.page.close()
                print(f"wrote {target}")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), *sys.argv[2:3]))
