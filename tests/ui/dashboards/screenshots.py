"""`make screenshots-dashboards`: one PNG per Dashboard Studio view of the built add-on, rendered by
the same harness as the browser tests (results derived from the samples), into the given folder."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dashboard_page as page_harness


def main(out: Path) -> int:
    from playwright.sync_api import sync_playwright

    results = page_harness.load_results()
    if results.get("missing"):
        print(results["missing"], file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=page_harness.CHROMIUM, args=["--no-sandbox"]
        )
        try:
            context = browser.new_context(viewport=page_harness.VIEWPORT)
            for view in results["views"]:
                queries = {s["query"]: s for s in view["sources"].values()}
                rendered = page_harness.open_view(
                    context, view["name"], view["definition"], queries
                )
                if rendered.console_errors or rendered.unanswered:
                    print(
                        f"{view['name']}: {rendered.console_errors + rendered.unanswered}",
                        file=sys.stderr,
                    )
                    return 1
                target = out / f"{view['name']}.png"
                rendered.page.screenshot(path=str(target), full_page=True)
                rendered.page.close()
                print(f"wrote {target}")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
