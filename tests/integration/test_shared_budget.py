"""Issue 15 item 1: inputs on one RingCentral app share its Heavy budget, as real processes.

RingCentral counts 10 searches a minute per user and app, and a request during a 429 penalty
restarts the penalty. The stand-in does both; its minute is scaled to WINDOW seconds (so are
the penalty and the add-on's pacing, which learns the window from the answers' headers). Each
input is a separate Python process with its own checkpoint, sharing only the budget store.
Invariant: every input collects every record once and finishes within a bounded time. The
figures (requests, 429s, time in RingCentral minutes) are printed for the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter

import pytest

from tests.standins.ringcentral import RingCentralStandIn, generate_history

WINDOW = 6.0  # one RingCentral minute, in seconds of this test
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_inputs(count, records, shared, give_up_s):
    with (
        RingCentralStandIn(
            records=records,
            heavy_window=WINDOW,
            heavy_penalty=WINDOW,
            auth_window=WINDOW,
            auth_penalty=WINDOW,
            auth_limit=10,
        ) as rc,
        tempfile.TemporaryDirectory() as budget_dir,
    ):
        path = [ROOT, os.path.join(ROOT, "package", "bin"), os.environ.get("PYTHONPATH", "")]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in path if p))
        began = time.monotonic()
        workers = []
        for n in range(count):
            config = {
                "url": rc.base_url,
                "client_id": rc.client_id,
                "client_secret": rc.client_secret,
                "jwt": rc.jwt,
                "name": f"input{n}",
                "budget_dir": budget_dir,
                "shared": shared,
                "start": None,
                "run_s": give_up_s,
                "interval_s": WINDOW / 2,
                "give_up_s": give_up_s,
            }
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tests.budget_worker", json.dumps(config)],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=give_up_s + 60)
            assert worker.returncode == 0, err[-2000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        elapsed = time.monotonic() - began
        searches, limited = rc.count("search"), rc.count("search", 429)
    return results, searches, limited, elapsed


@pytest.mark.parametrize("count", [3, 5])
def test_inputs_on_one_app_share_its_budget_and_all_finish(count):
    records = generate_history(10000, end=time.time() - 3600, span_days=20, seed=count)
    give_up = 60 * WINDOW  # an hour of RingCentral time
    results, searches, limited, elapsed = run_inputs(count, records, True, give_up)
    print(
        f"\nshared budget: inputs={count} records={len(records)} searches={searches} "
        f"rate_limited={limited} ringcentral_minutes={elapsed / WINDOW:.1f}"
    )
    expected = Counter(r["id"] for r in records)
    for result in results:
        assert result["done"], result["errors"]
        assert Counter(result["ids"]) == expected
    assert limited <= count  # at most one refused search per input, never a lock-out
    assert elapsed < give_up
