"""Pictures of the setup pages for the README: ``python -m tests.ui.screenshots docs/images``.

The same harness as the browser tests (tests/ui/pages): the BUILT add-on behind the Splunk Web
and splunkd stand-ins, its real handlers, RingCentral's stand-in. One account is added through
the page (so its handler validated it), one input is saved; then the Accounts tab is shot with
the Add dialog open and the Inputs page with its input listed. A JavaScript error or an
unanswered request stops the run, as in the tests.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any, List

from tests.standins.ringcentral import RingCentralStandIn
from tests.standins.splunkweb import SetupPages
from tests.ui.browser import LAUNCH, PageWatch

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / "output" / "TA-ringcentral-audit"
SIZE = {"width": 1280, "height": 860}
PICTURES = ("configuration-accounts-add.png", "inputs.png")


def shoot(out: Path) -> List[Path]:
    from playwright.sync_api import expect, sync_playwright

    from tests.ui.pages.admin import TIMEOUT, dialog, fill, open_configuration, open_inputs

    out.mkdir(parents=True, exist_ok=True)
    written: List[Path] = []
    with (
        tempfile.TemporaryDirectory() as home,
        SetupPages(BUILT, Path(home)) as stack,
        RingCentralStandIn(rate_limits=False) as rc,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(**LAUNCH)
        context = browser.new_context(viewport=SIZE, locale="en-US", timezone_id="UTC")
        context.set_default_timeout(TIMEOUT)
        page: Any = context.new_page()
        watch = PageWatch()
        watch.attach(page)

        # An account, added as an admin adds one (validated against RingCentral's stand-in).
        open_configuration(page, stack)
        page.get_by_role("button", name="Add", exact=True).click()
        fill(
            dialog(page),
            {
                "name": "acme_production",
                "server": "Custom URL",
                "custom_server_url": rc.base_url,
                "client_id": rc.client_id,
                "client_secret": rc.client_secret,
                "jwt": rc.jwt,
            },
        )
        dialog(page).get_by_role("button", name="Add", exact=True).click()
        expect(dialog(page)).to_be_hidden()
        expect(page.get_by_text('Created "acme_production"')).to_be_hidden(timeout=30_000)
        # The picture: the account listed, the Add dialog open with the first fields typed.
        page.get_by_role("button", name="Add", exact=True).click()
        fill(
            dialog(page), {"name": "acme_sandbox", "server": "Sandbox", "client_id": "AbCdEf123456"}
        )
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.mouse.move(0, 0)
        # the Server menu fades out after its choice: shot too early, its ghost covers the help
        page.wait_for_timeout(1_000)
        written.append(out / PICTURES[0])
        page.screenshot(path=str(written[-1]))

        # An input, as saved on the Inputs page.
        stack.splunkd.set_conf(
            "inputs",
            "ringcentral_audit_trail://acme_audit",
            {
                "account": "acme_production",
                "index": "ringcentral",
                "interval": "300",
                "disabled": "0",
            },
        )
        open_inputs(page, stack)
        expect(page.get_by_text("acme_audit", exact=True)).to_be_visible()
        page.mouse.move(0, 0)
        written.append(out / PICTURES[1])
        page.screenshot(path=str(written[-1]))

        watch.settle(page)
        browser.close()
        problems = watch.problems() + stack.web.unanswered
        if problems:
            raise SystemExit("the pages went wrong:\n  " + "\n  ".join(problems))
    return written


def main(argv: List[str]) -> None:
    out = Path(argv[1] if len(argv) > 1 else "docs/images")
    if not (BUILT / "appserver" / "templates" / "base.html").is_file():
        raise SystemExit(f"{BUILT} is not built: run `make build` first")
    for path in shoot(out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv)
