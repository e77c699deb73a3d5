"""Benchmark: what the add-on runs, against the RingCentral and splunkd stand-ins, rate limits on.

Every collector runs in a child process of its own and writes its events through a real text
pipe that this process reads, as splunkd does; CPU seconds are the child's own (the stand-ins,
in this process, excluded) and memory is the child's ``VmHWM`` (its real high-water mark;
``ru_maxrss`` on Linux starts at the parent's peak).

Stages:
1. backfill: 10,000 records in one run, ours and the baseline in turn, >= 5 rounds (a fresh
   stand-in each time). Ours is the add-on's collector and its own event sink (the bytes
   splunklib would write, a page at a time); the baseline is RingCentral's sample code (one
   window, page by page, no checkpoint) writing one splunklib ``Event`` per record. Printed:
   requests against the minimum, 429s, duplicates and missing (read back from the pipe), and
   the median of the paired CPU ratios with their range.
2. steady: the BUILT input (``make build``'s output, started as splunkd starts it, with ``-S``)
   against the splunkd and RingCentral stand-ins, on an account with nothing new: the whole
   process's CPU seconds (start-up, imports, splunkd REST calls, TLS), median of 5 runs.
3. busy: 1,000 new records per 5-minute run, default overlap (600 s): CPU per new record,
   against the backfill's CPU per record (``busy_cost_ratio``).
4. big page: one page of 1,000 records of 50 KB: the collector's peak memory above what it held
   before the run, against the page's body (``big_page_peak_ratio``).
The last line (``bench: ...``) names every figure, to compare from turn to turn.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "package" / "bin"), str(ROOT)]

PER_PAGE = 1000
BACKFILL = 10_000
ROUNDS = 5
HEAVY_WINDOW = 2.0  # the Heavy group's 10 requests per 60 s, scaled down so the bench runs fast
SEARCH_PATH = "/restapi/v1.0/account/~/audit-trail/search"
SOURCETYPE = "ringcentral:audit"
APP = "TA-ringcentral-audit"
BUILT_APP = ROOT / "output" / APP


# ----- child process: one collector, driven by commands on stdin ------------------------------


class OffsetClock:
    """Wall-clock time shifted by ``offset``: lets time pass between runs while rate-limit
    windows still run in real time, on both sides of the connection."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> bool:
        time.sleep(max(0.0, seconds))
        return True


def memory_kb() -> Dict[str, int]:
    """VmHWM and VmRSS of this process, in kB (Linux)."""
    found = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmHWM:", "VmRSS:")):
                found[line.split(":")[0]] = int(line.split()[1])
    return found


def reset_peak() -> bool:
    """Start VmHWM again from the current RSS (Linux >= 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def worker(mode: str, events_fd: int) -> None:
    from splunklib.modularinput import Event, EventWriter

    config = json.loads(sys.stdin.readline())
    warnings: list = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if "action=data_loss_warning" in message:
                warnings.append(message.split("reason=", 1)[1].split(" ", 1)[0])

    library_log = logging.getLogger("ringcentral_audit")
    library_log.addHandler(Collect())
    library_log.propagate = False
    # The events go where splunkd reads them: a text stream on a pipe, as sys.stdout is.
    events = os.fdopen(events_fd, "w", encoding="utf-8")
    writer = EventWriter(output=events, error=sys.stderr)
    clock = OffsetClock()

    if mode == "ours":
        from ringcentral_audit.client import AuditTrailClient
        from ringcentral_audit.collector import Collector
        from ringcentral_audit.ports import MemoryStore
        from ringcentral_audit.settings import Account, Connection, InputSettings
        from ringcentral_audit_trail_helper import EventWriterSink

        sink = EventWriterSink(writer, index="main", source="ringcentral_audit_trail://bench")
        account = Account(config["base_url"], config["client_id"], config["secret"], config["jwt"])
        checkpoint, tokens = MemoryStore(), MemoryStore()

        def run_once() -> dict:
            client = AuditTrailClient(account, Connection(), tokens=tokens, clock=clock)
            collector = Collector(
                client, InputSettings(name="bench"), checkpoint=checkpoint, sink=sink
            )
            report = collector.run()
            client.close()
            return {"records": report.records, "status": report.status}

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
                    writer.write_event(
                        Event(
                            data=json.dumps(record),
                            time=f"{now:.3f}",
                            index="main",
                            sourcetype=SOURCETYPE,
                            source="ringcentral_audit_trail://bench",
                        )
                    )
                    count += 1
                if body["page"] >= page["paging"]["total"]:
                    break
                body["page"] += 1
            return {"records": count, "status": "success"}

    for line in sys.stdin:
        command = line.split()
        if not command or command[0] != "run":
            break
        clock.offset = float(command[1])
        before = memory_kb()
        if len(command) > 2 and command[2] == "peak":
            reset_peak()
            before = memory_kb()
        cpu = time.process_time()
        del warnings[:]
        result = run_once()
        result["cpu_s"] = time.process_time() - cpu
        result["warnings"] = list(warnings)
        after = memory_kb()
        result["hwm_mb"] = after["VmHWM"] / 1024
        result["rss_before_mb"] = before["VmRSS"] / 1024
        print(json.dumps(result), flush=True)
    writer.close()
    events.close()


# ----- parent process: the stand-ins and the measurements -------------------------------------


class Worker:
    """A collector in a child process; its event pipe is read here, as splunkd reads it."""

    def __init__(self, mode: str, rc, *, keep_events: bool = True) -> None:
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", mode, "--events-fd", str(write_fd)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        self.chunks: List[bytes] = []
        self.bytes = 0
        self.keep = keep_events
        self.reader = threading.Thread(target=self._read, args=(read_fd,), daemon=True)
        self.reader.start()
        config = {
            "base_url": rc.base_url,
            "client_id": rc.client_id,
            "secret": rc.client_secret,
            "jwt": rc.jwt,
        }
        self._send(json.dumps(config))

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                self.bytes += len(chunk)
                if self.keep:
                    self.chunks.append(chunk)

    def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def run(self, offset: float = 0.0, peak: bool = False) -> dict:
        self._send(f"run {offset}" + (" peak" if peak else ""))
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"bench worker died (exit {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> Counter:
        """Stop the child; the ids of the records it wrote to its pipe."""
        self._send("quit")
        self.proc.wait(timeout=60)
        self.reader.join(timeout=60)
        from tests.standins.splunkd import parse_event_stream

        text = b"".join(self.chunks).decode("utf-8")
        return Counter(
            json.loads(e.data)["id"] for e in parse_event_stream(text) if e.sourcetype == SOURCETYPE
        )


def check(emitted: Counter, expected: set) -> tuple:
    duplicates = sum(n - 1 for n in emitted.values())
    missing = len(expected - set(emitted))
    return duplicates, missing


def standin(records, clock=None, **options):
    from tests.standins.ringcentral import RingCentralStandIn

    return RingCentralStandIn(
        records=records,
        clock=clock,
        heavy_window=HEAVY_WINDOW,
        heavy_penalty=HEAVY_WINDOW,
        order="newest",
        **options,
    )


def backfill_rounds(records: list) -> dict:
    expected = {r["id"] for r in records}
    ours: List[dict] = []
    base: List[dict] = []
    for n in range(ROUNDS):
        for mode, results in (("ours", ours), ("baseline", base)):
            with standin(records) as rc:
                child = Worker(mode, rc)
                result = child.run()
                result["searches"], result["tokens"] = rc.count("search"), rc.count("token")
                result["limited"] = rc.count(status=429)
                result["duplicates"], result["missing"] = check(child.close(), expected)
            results.append(result)
        print(
            f"backfill round {n + 1}: ours cpu_s={ours[-1]['cpu_s']:.3f} "
            f"peak_mb={ours[-1]['hwm_mb']:.1f}  baseline cpu_s={base[-1]['cpu_s']:.3f} "
            f"peak_mb={base[-1]['hwm_mb']:.1f}  ratio={ours[-1]['cpu_s'] / base[-1]['cpu_s']:.2f}"
        )
    ratios = [o["cpu_s"] / b["cpu_s"] for o, b in zip(ours, base)]
    first = ours[0]
    return {
        "records": first["records"],
        "requests": max(o["searches"] + o["tokens"] for o in ours),
        "searches": first["searches"],
        "tokens": first["tokens"],
        "rate_limited": max(o["limited"] for o in ours),
        "duplicates": max(o["duplicates"] for o in ours),
        "missing": max(o["missing"] for o in ours),
        "warnings": first["warnings"],
        "cpu_s": statistics.median(o["cpu_s"] for o in ours),
        "baseline_cpu_s": statistics.median(b["cpu_s"] for b in base),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "peak_mb": statistics.median(o["hwm_mb"] for o in ours),
        "baseline_peak_mb": statistics.median(b["hwm_mb"] for b in base),
        "baseline_requests": max(b["searches"] + b["tokens"] for b in base),
        "baseline_missing": max(b["missing"] for b in base),
    }


def steady_runs(runs: int = 5) -> Optional[dict]:
    """CPU of whole runs of the built input with nothing new (after one backfill run)."""
    from tests.standins.ringcentral import generate_history
    from tests.standins.splunkd import (
        SplunkdStandIn,
        input_definition_xml,
        make_splunk_home,
        modinput_environment,
    )

    if not (BUILT_APP / "bin" / "ringcentral_audit_trail_helper.py").is_file():
        print("steady: output/ has no built add-on: run `make build` (make bench does)")
        return None
    history = generate_history(200, end=time.time() - 900, span_days=5, seed=5)
    with (
        tempfile.TemporaryDirectory(prefix="bench-splunk-") as home,
        SplunkdStandIn() as splunkd,
        standin(history) as rc,
    ):
        paths = make_splunk_home(home, str(BUILT_APP))
        splunkd.load_app(paths["app_dir"])
        splunkd.set_conf(
            "ta_ringcentral_audit_account",
            "acme",
            {"server": "custom", "custom_server_url": rc.base_url, "client_id": rc.client_id},
            encrypted={"client_secret": rc.client_secret, "jwt": rc.jwt},
        )
        params = {
            "account": "acme",
            "index": "main",
            "interval": "300",
            "host": "$decideOnStartup",
            "python.version": "python3",
            "disabled": "0",
        }
        definition = input_definition_xml(
            server_uri=splunkd.uri,
            session_key=splunkd.session_key,
            checkpoint_dir=paths["checkpoint_dir"],
            stanzas={"ringcentral_audit_trail://prod": params},
        )
        script = os.path.join(paths["app_dir"], "bin", "ringcentral_audit_trail.py")
        cpu: List[float] = []
        searches = []
        for n in range(runs + 1):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            searched = rc.count("search")
            done = subprocess.run(
                [sys.executable, "-S", script],
                input=definition,
                capture_output=True,
                text=True,
                cwd=os.path.dirname(script),
                env=modinput_environment(home),
                timeout=120,
                check=False,
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0:
                print(f"steady: run {n} failed: {done.stderr[-500:]}")
                return None
            if n:  # run 0 is the backfill
                cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                searches.append(rc.count("search") - searched)
        return {
            "cpu_s": statistics.median(cpu),
            "min": min(cpu),
            "max": max(cpu),
            "searches": max(searches),
            "splunkd_connections": splunkd.connections,
        }


def busy_account(backfill_per_record: float, runs: int = 6) -> dict:
    """1,000 new records per 5-minute run, default lag and overlap; CPU per new record."""
    from tests.standins.ringcentral import generate_history

    clock = OffsetClock()
    with standin([], clock=clock, retention_max=10**7) as rc:
        child = Worker("ours", rc, keep_events=False)
        now = clock.now()
        rc.add_records(generate_history(3000, end=now - 61, span_days=900 / 86400, seed=100))
        child.run(clock.offset)  # the backfill of the last 15 minutes
        per_record = []
        for k in range(runs):
            clock.offset += 300
            now = clock.now()
            batch = generate_history(1000, end=now - 61, span_days=299 / 86400, seed=200 + k)
            rc.add_records(batch)
            result = child.run(clock.offset)
            if k and result["records"]:  # the first run after the backfill warms up
                per_record.append(result["cpu_s"] / result["records"])
            new = result["records"]
        child.close()
    busy = statistics.median(per_record)
    return {"per_record_us": busy * 1e6, "ratio": busy / backfill_per_record, "last_new": new}


def big_page(size: int = 50_000, count: int = 1000) -> dict:
    """Peak memory of the collector reading one page of ``count`` records of ``size`` bytes."""
    from tests.standins.ringcentral import generate_history

    records = generate_history(count, end=time.time() - 3600, span_days=1, seed=9)
    for n, record in enumerate(records):
        pad = size - len(json.dumps(record))
        record["details"] = (f"{n:06d}-" + "abcdefghij" * (pad // 10 + 1))[: max(0, pad)]
    body = len(json.dumps({"records": records, "paging": {"page": 1}}).encode())
    with standin(records) as rc:
        child = Worker("ours", rc, keep_events=False)
        result = child.run(0.0, peak=True)
        child.close()
    peak = (result["hwm_mb"] - result["rss_before_mb"]) * 2**20
    return {
        "body_mb": body / 2**20,
        "peak_mb": result["hwm_mb"],
        "above_mb": peak / 2**20,
        "ratio": peak / body,
        "records": result["records"],
    }


def main() -> None:
    from tests.standins.ringcentral import generate_history

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    records = generate_history(BACKFILL, end=time.time() - 3600, span_days=150, seed=1)
    print(
        f"rate limits on: Heavy 10 requests / {HEAVY_WINDOW:g} s (10 / 60 s scaled), penalty "
        f"restarts; {ROUNDS} rounds of ours then the baseline, each on a fresh stand-in"
    )
    b = backfill_rounds(records)
    min_requests = math.ceil(BACKFILL / PER_PAGE) + 1
    print(
        f"backfill: records={b['records']} requests={b['requests']} (search={b['searches']} "
        f"token={b['tokens']}) min_requests={min_requests} rate_limited={b['rate_limited']} "
        f"duplicates={b['duplicates']} missing={b['missing']} cpu_s={b['cpu_s']:.3f} "
        f"peak_mb={b['peak_mb']:.1f} data-loss warnings: {', '.join(b['warnings']) or 'none'}"
        + (
            " (expected: the account holds exactly 10,000 records, RingCentral's cap)"
            if b["warnings"] == ["retention_cap"]
            else ""
        )
    )
    print(
        f"baseline: requests={b['baseline_requests']} missing={b['baseline_missing']} "
        f"cpu_s={b['baseline_cpu_s']:.3f} peak_mb={b['baseline_peak_mb']:.1f} (sample-code "
        f"style: one window, no checkpoint, one splunklib Event per record); CPU ratio ours / "
        f"baseline: median {b['ratio']:.2f} of {ROUNDS} pairs, range {b['ratio_min']:.2f}-"
        f"{b['ratio_max']:.2f}"
    )
    steady = steady_runs()
    if steady:
        print(
            f"steady (built input, nothing new, whole process): cpu_s median={steady['cpu_s']:.3f} "
            f"range {steady['min']:.3f}-{steady['max']:.3f} search_requests={steady['searches']} "
            f"splunkd_connections={steady['splunkd_connections']} (6 runs)"
        )
    busy = busy_account(b["cpu_s"] / BACKFILL)
    print(
        f"busy (1,000 new records per 5-minute run, overlap 600 s): "
        f"{busy['per_record_us']:.1f} us per new record, {busy['ratio']:.2f}x the backfill's "
        f"{b['cpu_s'] / BACKFILL * 1e6:.1f} us per record"
    )
    big = big_page()
    print(
        f"big page (1,000 x 50 KB): body_mb={big['body_mb']:.1f} peak_mb={big['peak_mb']:.1f} "
        f"above_start_mb={big['above_mb']:.1f} ratio={big['ratio']:.2f} records={big['records']}"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    steady_cpu = f"{steady['cpu_s']:.3f}" if steady else "unknown"
    print(
        f"bench: records={b['records']} requests={b['requests']} min_requests={min_requests} "
        f"rate_limited={b['rate_limited']} duplicates={b['duplicates']} missing={b['missing']} "
        f"baseline_cpu_ratio={b['ratio']:.2f} ratio_range={b['ratio_min']:.2f}-"
        f"{b['ratio_max']:.2f} rounds={ROUNDS} peak_mb={b['peak_mb']:.1f} "
        f"baseline_peak_mb={b['baseline_peak_mb']:.1f} steady_run_cpu_s={steady_cpu} "
        f"busy_cost_ratio={busy['ratio']:.2f} big_page_peak_ratio={big['ratio']:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["ours", "baseline"])
    parser.add_argument("--events-fd", type=int)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.events_fd)
    else:
        os.environ.setdefault("PYTHONHASHSEED", "0")
        main()
