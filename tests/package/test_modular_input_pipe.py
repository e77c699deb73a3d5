"""splunkd closing the event pipe mid-run (a restart): the BUILT input loses no record.

What splunkd had not read when it closed the pipe must not count as emitted: the checkpoint
stays before it, the next run collects it again (what splunkd did read is then indexed twice:
bounded duplicates, never loss), and the log names what happened.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from tests.package.test_modular_input import SOURCETYPE, Harness, built_app  # noqa: F401
from tests.standins.ringcentral import RingCentralStandIn, generate_history
from tests.standins.splunkd import ModularInputProcess, SplunkdStandIn


def record_ids(run) -> Counter:
    return Counter(json.loads(e.data)["id"] for e in run.events if e.sourcetype == SOURCETYPE)


@pytest.mark.parametrize(
    ("records", "cut", "pause"),
    [
        (60, 0, 4.0),  # all of it fits in the pipe: written, flushed, never read
        (60, 9000, 4.0),  # splunkd read the first events, then went away
        (400, 120_000, 1.0),  # more than a pipe holds: the close meets a write
    ],
)
def test_splunkd_closing_the_pipe_mid_run_loses_no_record(
    built_app,  # noqa: F811 - the fixture
    tmp_path,
    records,
    cut,
    pause,
):
    history = generate_history(records, end=time.time() - 900, span_days=2, seed=11)
    with (
        SplunkdStandIn() as splunkd,
        RingCentralStandIn(records=history, heavy_window=5, heavy_penalty=5) as rc,
    ):
        harness = Harness(built_app, tmp_path / "splunk", splunkd, rc)
        with ModularInputProcess(
            harness.script,
            splunk_home=harness.paths["splunk_home"],
            stdin=harness.definition(),
            python=harness.python,
            stdout_cut=(cut, pause),
        ) as process:
            first = process.wait(60)
        second = harness.run()
        log = harness.log()
        assert splunkd.unhandled == []

    read_first, read_second = record_ids(first), record_ids(second)
    wanted = {r["id"] for r in history}
    assert set(read_first) | set(read_second) == wanted  # nothing lost
    assert max((read_first + read_second).values()) <= 2
    assert sum((read_first & read_second).values()) <= len(read_first)  # only what was read
    # the first run says what happened, in the input's log and on stderr (splunkd.log)
    assert first.returncode == 1
    assert "action=output_closed" in log and "splunkd closed the event stream" in log
    assert "Unexpected Error" not in log
    assert second.returncode == 0, second.stderr


def test_a_run_talks_to_splunkd_over_one_connection(built_app, tmp_path):  # noqa: F811
    """Every REST call of a run (settings, account, secrets, token cache, checkpoint, server
    info) shares one kept-alive HTTPS connection: one TLS handshake, one CA store load."""
    history = generate_history(30, end=time.time() - 900, span_days=1, seed=3)
    with (
        SplunkdStandIn() as splunkd,
        RingCentralStandIn(records=history, heavy_window=5, heavy_penalty=5) as rc,
    ):
        harness = Harness(built_app, tmp_path / "splunk", splunkd, rc)
        for _ in range(2):  # a backfill, then a run with nothing new
            before, calls = splunkd.connections, len(splunkd.requests)
            run = harness.run()
            assert run.returncode == 0, run.stderr
            assert len(splunkd.requests) - calls >= 8
            assert splunkd.connections - before == 1
