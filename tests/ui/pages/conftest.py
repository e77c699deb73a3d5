"""The setup pages' stack: the built add-on behind Splunk Web and splunkd stand-ins, and RingCentral.

Every test gets fresh servers (127.0.0.1, port 0), stopped after it; a path the Splunk Web
stand-in does not know, or an endpoint the splunkd stand-in does not know, fails the test.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Iterator

import pytest

from tests.standins.ringcentral import RingCentralStandIn
from tests.standins.splunkweb import SetupPages

ROOT = Path(__file__).resolve().parents[3]
APP = "TA-ringcentral-audit"
BUILT = ROOT / "output" / APP


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SetupPages]:
    if not (BUILT / "appserver" / "templates" / "base.html").is_file():
        pytest.fail(f"{BUILT} is not built: run `make build` (make test-ui does)", pytrace=False)
    with SetupPages(BUILT, tmp_path / "splunk") as pages:
        yield pages
        unanswered = list(pages.web.unanswered)
        unanswered += [f"splunkd {r.method} {r.path}" for r in pages.splunkd.unhandled]
        if unanswered:
            pytest.fail("requests the stand-ins could not answer:\n  " + "\n  ".join(unanswered))


@pytest.fixture
def rc() -> Iterator[RingCentralStandIn]:
    """RingCentral with one JWT app that may read the audit trail (rate limits off: not tested here)."""
    with RingCentralStandIn(rate_limits=False) as standin:
        yield standin


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections (bound, never listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()
