"""Benchmark: the collector against the RingCentral stand-in, rate limits on.

The stand-in runs in this process; each collector runs in a child process of its own, so the
CPU seconds and peak RSS printed are the collector's alone (stand-in excluded). Both ours and
the baseline hand every event to splunklib's real EventWriter (into a discarding stream), so the
CPU ratio compares collection, not output.

Stages:
1. backfill: 10,000 records in one run; requests against the minimum, 429s, duplicates, missing.
   The account holds exactly 10,000 records, RingCentral's cap, and none were ever discarded, so
   the collector's retention_cap data-loss warning is expected here (it cannot tell "never
   existed" from "discarded"); the bench says so next to it.
2. steady state: a second run with nothing new: search calls and logins it costs.
3. baseline: the same 10,000 records, collected the way RingCentral's sample code does it.
4. history: 100,000 records arriving in batches, collected by successive runs of one process;
   resident memory after each run shows whether memory grows with history.
The last line (``bench: ...``) sums up the backfill against the baseline.

Memory figures: ``peak_rss_mb`` is the most the collector's process held at any moment (the
high-water mark, never goes down); ``rss_after_run_mb`` is what it held right after a run.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "package" / "bin"), str(ROOT)]

PER_PAGE = 1000
HEAVY_WINDOW = 2.0  # the Heavy group's 10 requests per 60 s, scaled down so the bench runs fast
SEARCH_PATH = "/restapi/v1.0/account/~/audit-trail/search"


# ----- child process: one collector, driven by commands on stdin ------------------------------


class OffsetClock:
    """Wall-clock time shifted by ``offset``: lets a day pass between runs while rate-limit
    windows still run in real time, on both sides of the connection."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> bool:
        time.sleep(max(0.0, seconds))
        return True


class Discard:
    """Where the EventWriter writes: counts bytes, keeps nothing."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text)
        return len(text)

    def flush(self) -> None:
        pass


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(mode: str) -> None:
    from splunklib.modularinput import Event, EventWriter

    config = json.loads(sys.stdin.readline())
    # The library's log lines are collected and reported in the result, not printed mid-output.
    warnings: list = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if "action=data_loss_warning" in message:
                warnings.append(message.split("reason=", 1)[1].split(" ", 1)[0])

    library_log = logging.getLogger("ringcentral_audit")
    library_log.addHandler(Collect())
    library_log.propagate = False
    out = Discard()
    writer = EventWriter(output=out, error=Discard())
    ids = open(config["ids_file"], "a", encoding="utf-8")

    def emit(event_id: str, data: str, when: float) -> None:
        writer.write_event(
            Event(data=data, time=f"{when:.3f}", index="main", sourcetype="ringcentral:audit")
        )
        ids.write(event_id + "\n")

    if mode == "ours":
        from ringcentral_audit.client import AuditTrailClient
        from ringcentral_audit.collector import Collector
        from ringcentral_audit.ports import MemoryStore
        from ringcentral_audit.settings import Account, Connection, InputSettings

        class Sink:
            def write(self, events):
                for event in events:
                    emit(event.id, event.data, event.time)
                ids.flush()

            def write_collection(self, doc):
                collection.append(doc)

        collection: list = []
        account = Account(config["base_url"], config["client_id"], config["secret"], config["jwt"])
        checkpoint, tokens = MemoryStore(), MemoryStore()
        clock = OffsetClock()

        def run_once() -> dict:
            client = AuditTrailClient(account, Connection(), tokens=tokens, clock=clock)
            collector = Collector(
                client, InputSettings(name="bench"), checkpoint=checkpoint, sink=Sink()
            )
            del collection[:]
            report = collector.run()
            client.close()
            kinds = Counter(doc["kind"] for doc in collection)
            return {
                "records": report.records,
                "status": report.status,
                "window_events": kinds["window"],
                "data_loss_events": kinds["data_loss"],
            }

    else:  # the baseline: RingCentral's sample code, one fixed window, page by page, no checkpoint
        from ringcentral import SDK

        def run_once() -> dict:
            sdk = SDK(config["client_id"], config["secret"], config["base_url"])
            platform = sdk.platform()
            platform.login(jwt=config["jwt"])
            now = time.time()
            body = {
                "eventTimeFrom": time.strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - 179 * 86400)
                ),
                "eventTimeTo": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now)),
                "page": 1,
                "perPage": PER_PAGE,
            }
            count = 0
            while True:
                page = platform.post(SEARCH_PATH, body).json_dict()
                for record in page["records"]:
                    emit(str(record.get("id")), json.dumps(record), now)
                    count += 1
                ids.flush()
                if body["page"] >= page["paging"]["total"]:
                    break
                body["page"] += 1
            return {"records": count, "status": "success"}

    for line in sys.stdin:
        command = line.split()
        if not command or command[0] != "run":
            break
        if mode == "ours" and len(command) > 1:
            clock.offset = float(command[1])
        cpu = time.process_time()
        del warnings[:]
        result = run_once()
        result["warnings"] = list(warnings)
        result["cpu_s"] = time.process_time() - cpu
        result["rss_mb"] = rss_mb()
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result), flush=True)


# ----- parent process: the stand-in and the measurements --------------------------------------


class Worker:
    def __init__(self, mode: str, rc, ids_file: Path) -> None:
        ids_file.write_text("")
        self.ids_file = ids_file
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        config = {
            "base_url": rc.base_url,
            "client_id": rc.client_id,
            "secret": rc.client_secret,
            "jwt": rc.jwt,
            "ids_file": str(ids_file),
        }
        self._send(json.dumps(config))

    def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def run(self, offset: float = 0.0) -> dict:
        self._send(f"run {offset}")
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"bench worker died (exit {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self._send("quit")
        self.proc.wait(timeout=30)

    def ids(self) -> Counter:
        return Counter(self.ids_file.read_text().split())


def check(emitted: Counter, expected: set) -> tuple[int, int]:
    duplicates = sum(n - 1 for n in emitted.values())
    missing = len(expected - set(emitted))
    return duplicates, missing


def standin(records, clock=None):
    from tests.standins.ringcentral import RingCentralStandIn

    return RingCentralStandIn(
        records=records,
        clock=clock,
        heavy_window=HEAVY_WINDOW,
        heavy_penalty=HEAVY_WINDOW,
        order="newest",
    )


def main() -> None:
    from tests.standins.ringcentral import generate_history

    work = ROOT / ".cache" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    now = time.time()
    records = generate_history(10000, end=now - 3600, span_days=150, seed=1)
    expected = {r["id"] for r in records}
    print(
        f"rate limits on: Heavy 10 requests / {HEAVY_WINDOW:g} s (10 / 60 s scaled), penalty restarts"
    )

    # 1 + 2: backfill, then a steady-state run, in one collector process
    with standin(records) as rc:
        ours = Worker("ours", rc, work / "ours.ids")
        backfill = ours.run()
        searches, tokens = rc.count("search"), rc.count("token")
        limited = rc.count(status=429)
        steady = ours.run()
        steady_searches = rc.count("search") - searches
        steady_logins = rc.count("token") - tokens
        ours.close()
        emitted = ours.ids()
    requests = searches + tokens
    min_requests = math.ceil(10000 / PER_PAGE) + 1
    duplicates, missing = check(emitted, expected)
    print(
        f"backfill: records={backfill['records']} requests={requests} (search={searches} "
        f"token={tokens}) min_requests={min_requests} rate_limited={limited} "
        f"duplicates={duplicates} missing={missing} cpu_s={backfill['cpu_s']:.3f} "
        f"peak_rss_mb={backfill['peak_rss_mb']:.1f}"
    )
    print(
        f"backfill: collection events: window={backfill['window_events']} "
        f"data_loss={backfill['data_loss_events']}; data-loss warnings: "
        f"{', '.join(backfill['warnings']) or 'none'}"
        + (
            " (expected: the account holds exactly 10,000 records, RingCentral's cap, so the "
            "collector cannot rule out older records discarded before the first run)"
            if backfill["warnings"] == ["retention_cap"]
            else ""
        )
    )
    print(
        f"steady: records={steady['records']} search_requests={steady_searches} "
        f"logins={steady_logins} data-loss warnings: {', '.join(steady['warnings']) or 'none'}"
    )

    # 3: the baseline, against a fresh stand-in (its own rate budget)
    with standin(records) as rc:
        base = Worker("baseline", rc, work / "baseline.ids")
        baseline = base.run()
        base_requests = rc.count()
        base.close()
        base_dup, base_missing = check(base.ids(), expected)
    ratio = backfill["cpu_s"] / baseline["cpu_s"] if baseline["cpu_s"] else float("nan")
    print(
        f"baseline: records={baseline['records']} requests={base_requests} "
        f"duplicates={base_dup} missing={base_missing} cpu_s={baseline['cpu_s']:.3f} "
        f"peak_rss_mb={baseline['peak_rss_mb']:.1f} (sample-code style: one window, no checkpoint)"
    )

    # 4: 100,000 records over successive runs of one process, a day passing between runs
    batches, per_batch = 20, 5000
    clock = OffsetClock()
    with standin([], clock=clock) as rc:
        hist = Worker("ours", rc, work / "history.ids")
        all_ids: set = set()
        rss, cpu, total = [], 0.0, 0
        hist_warnings: list = []
        started = time.time()
        for k in range(batches):
            clock.offset += 86400
            now = clock.now()
            batch = generate_history(per_batch, end=now - 120, span_days=0.99, seed=1000 + k)
            rc.add_records(batch)
            all_ids.update(r["id"] for r in batch)
            result = hist.run(clock.offset)
            if k == 0:
                first_peak = result["peak_rss_mb"]
            rss.append(result["rss_mb"])
            cpu += result["cpu_s"]
            total += result["records"]
            hist_warnings += result["warnings"]
        hist_limited = rc.count(status=429)
        hist.close()
        hist_dup, hist_missing = check(hist.ids(), all_ids)
    print(
        f"history: runs={batches} records={total} duplicates={hist_dup} missing={hist_missing} "
        f"rate_limited={hist_limited} cpu_s={cpu:.3f} wall_s={time.time() - started:.1f} "
        f"peak_rss_mb={result['peak_rss_mb']:.1f} (high-water mark after all runs; "
        f"after run 1: {first_peak:.1f}) data-loss warnings: {hist_warnings or 'none'}"
    )
    print(
        "history: rss_after_run_mb (memory held right after runs 1,5,10,15,20) = "
        + ", ".join(f"{rss[i]:.1f}" for i in (0, 4, 9, 14, 19))
        + f" (growth from run 1 to run {batches}: {rss[-1] - rss[0]:+.1f} MB)"
    )
    print(
        f"bench: records={backfill['records']} requests={requests} min_requests={min_requests} "
        f"rate_limited={limited} duplicates={duplicates} missing={missing} "
        f"cpu_s={backfill['cpu_s']:.3f} peak_rss_mb={backfill['peak_rss_mb']:.1f} "
        f"baseline_cpu_ratio={ratio:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["ours", "baseline"])
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
    else:
        os.environ.setdefault("PYTHONHASHSEED", "0")
        main()
