"""`make demo`: the built add-on's modular input collecting a RingCentral account's audit trail.

Runs output/TA-ringcentral-audit (``make build``) exactly as splunkd would: a copy in
output/demo/etc/apps (a $SPLUNK_HOME made anew each time and kept afterwards, to look at),
``bin/ringcentral_audit_trail.py`` started with the input definition on stdin, settings and
secrets served by the splunkd stand-in (conf files, storage/passwords, KV store), RingCentral
played by its stand-in holding a generated history. Two runs, as two intervals of the input: the
first collects everything, the second finds nothing new and reuses the cached token. Prints what
was collected, one indexed event and the collection (coverage) events; keeps the event stream as
splunkd would index it in output/demo/indexed-events.json and the input's log under
output/demo/var/log/splunk. The last line is

    demo: events_written=N collection_events=M checkpoint=<ISO time> secrets_leaked=0 kept=output/demo

where secrets_leaked counts the secrets (client secret, JWT, access and refresh tokens, splunkd
session key) found in the input's stdout, stderr and log files. Exits 1 if anything is off.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "package" / "bin"))


from tests.standins.ringcentral import RingCentralStandIn, generate_history  # noqa: E402
from tests.standins.splunkd import (  # noqa: E402
    SplunkdStandIn,
    find_secrets,
    input_definition_xml,
    make_splunk_home,
    read_tree,
    run_modular_input,
)

APP = "TA-ringcentral-audit"
INPUT = "ringcentral_audit_trail://demo"
LOG_FILE = "ta_ringcentral_audit_ringcentral_audit_trail.log"
SOURCETYPE = "ringcentral:audit"
COLLECTION_SOURCETYPE = "ringcentral:audit:collection"


def iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    )


def event_dict(event) -> dict:
    """An event as splunkd would index it: its JSON body, _time and the fields it was sent with."""
    try:
        body = json.loads(event.data)
    except ValueError:
        body = event.data
    return {
        "_time": iso(float(event.time)) if event.time else None,
        "index": event.index,
        "sourcetype": event.sourcetype,
        "source": event.source,
        "_raw": body,
    }


def show(event) -> None:
    for line in json.dumps(event_dict(event), indent=2, ensure_ascii=False).splitlines():
        print("  " + line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2500)
    parser.add_argument("--app", default=str(ROOT / "output" / APP), help="the built add-on")
    parser.add_argument(
        "--home", default=str(ROOT / "output" / "demo"), help="the $SPLUNK_HOME to (re)create"
    )
    args = parser.parse_args()
    if not Path(args.app, "bin", "ringcentral_audit_trail.py").is_file():
        print(f"demo: {args.app} is not a built add-on: run `make build` first", file=sys.stderr)
        return 1

    now = time.time()
    history = generate_history(args.records, end=now - 300, span_days=150, seed=2026)
    home = Path(args.home)
    shutil.rmtree(home, ignore_errors=True)
    kept = os.path.relpath(home, Path.cwd()) if home.is_relative_to(Path.cwd()) else str(home)
    with (
        SplunkdStandIn() as splunkd,
        RingCentralStandIn(records=history) as rc,
    ):
        paths = make_splunk_home(str(home), args.app)
        splunkd.load_app(paths["app_dir"])
        splunkd.set_conf(
            "ta_ringcentral_audit_account",
            "acme",
            {"server": "custom", "custom_server_url": rc.base_url, "client_id": rc.client_id},
            encrypted={"client_secret": rc.client_secret, "jwt": rc.jwt},
        )
        definition = input_definition_xml(
            server_uri=splunkd.uri,
            session_key=splunkd.session_key,
            checkpoint_dir=paths["checkpoint_dir"],
            stanzas={
                INPUT: {
                    "account": "acme",
                    "index": "main",
                    "interval": "300",
                    "host": "$decideOnStartup",
                    "python.version": "python3",
                }
            },
        )
        script = os.path.join(paths["app_dir"], "bin", "ringcentral_audit_trail.py")
        print(f"RingCentral stand-in {rc.base_url}: {len(rc.retrievable_ids())} audit records")
        print(f"splunkd stand-in {splunkd.uri}; $SPLUNK_HOME {kept} (kept after the demo)")
        print(f"Running {APP}/bin/ringcentral_audit_trail.py twice, as splunkd would:\n")

        runs = []
        for label in ("first run", "second run"):
            result = run_modular_input(
                script, splunk_home=paths["splunk_home"], stdin=definition, timeout=300
            )
            runs.append(result)
            print(
                f"{label}: exit={result.returncode} events={len(result.events)} "
                f"(records={sum(e.sourcetype == SOURCETYPE for e in result.events)}) "
                f"in {result.seconds:.1f} s"
                + (f"\n  stderr: {result.stderr.strip()[:500]}" if result.stderr.strip() else "")
            )

        streamed = [e for run in runs for e in run.events]
        events = [e for e in streamed if e.sourcetype == SOURCETYPE]
        coverage = [e for e in streamed if e.sourcetype == COLLECTION_SOURCETYPE]
        records = [json.loads(e.data) for e in events]
        times = sorted(float(e.time) for e in events if e.time)
        print(f"\nIndexed {len(streamed)} events (sourcetype, index, source):")
        for key, n in Counter((e.sourcetype, e.index, e.source) for e in streamed).items():
            print(f"  {n:6d}  {key[0]}  index={key[1]}  source={key[2]}")
        print("By actionId:")
        for action, n in Counter(r.get("actionId", "?") for r in records).most_common():
            print(f"  {n:6d}  {action}")
        if times:
            print(f"First _time: {iso(times[0])}   last _time: {iso(times[-1])}")
        if events:
            print("One indexed event, as splunkd receives it:")
            show(events[0])

        print(f"\nCollection events ({COLLECTION_SOURCETYPE}): {len(coverage)}")
        for event in coverage[:4]:
            show(event)
        if len(coverage) > 4:
            print(f"  ... and {len(coverage) - 4} more in indexed-events.json")
        stream_file = home / "indexed-events.json"
        stream_file.write_text(
            json.dumps([event_dict(e) for e in streamed], indent=1, ensure_ascii=False) + "\n"
        )

        doc = splunkd.kv_documents("ta_ringcentral_audit_checkpoints").get("demo")
        cursor = json.loads(doc["state"]).get("cursor") if doc else None
        print(f"KV store checkpoint (ta_ringcentral_audit_checkpoints/demo): cursor={cursor}")
        print(f"RingCentral calls: {rc.logins} login(s), {rc.count('search')} search request(s)")
        log_text = Path(paths["log_dir"], LOG_FILE).read_text()
        print(f"\n$SPLUNK_HOME/var/log/splunk/{LOG_FILE} (summary lines):")
        for line in log_text.splitlines():
            if "action=collection_run" in line or "action=events_ingested" in line:
                print("  " + line.split(" | ", 1)[-1])

        secrets = [rc.client_secret, rc.jwt, splunkd.session_key]
        cache = splunkd.clear_password(f"{APP}#token_cache", "acme")
        if cache:
            auth = json.loads(cache).get("auth", {})
            secrets += [auth.get("access_token") or "", auth.get("refresh_token") or ""]
        texts = {
            f"run{n}.{kind}": getattr(r, kind)
            for n, r in enumerate(runs)
            for kind in ("stdout", "stderr")
        }
        texts.update(read_tree(os.path.join(paths["splunk_home"], "var")))
        texts["indexed-events.json"] = stream_file.read_text()
        leaks = find_secrets(secrets, texts)
        for where, which in leaks:
            print(f"LEAK: {which} in {where}")

        expected = rc.retrievable_ids()
        ids = [r.get("id") for r in records]
        problems = []
        if any(r.returncode != 0 for r in runs):
            problems.append("a run failed")
        if set(ids) != expected or len(ids) != len(expected):
            problems.append(
                f"collected {len(set(ids))} distinct of {len(expected)}, {len(ids)} in all"
            )
        if any(e.sourcetype == SOURCETYPE for e in runs[1].events):
            problems.append("the second run emitted records again")
        if not any(json.loads(e.data).get("kind") == "window" for e in coverage):
            problems.append("no collection event for a finished window")
        for problem in problems:
            print(f"PROBLEM: {problem}")
        print(f"\nKept in {kept}/: indexed-events.json (every event above), var/log/splunk/ (logs)")
        print(
            f"demo: events_written={len(events)} collection_events={len(coverage)} "
            f"checkpoint={cursor} secrets_leaked={len(leaks)} kept={kept}"
        )
        return 1 if problems or leaks else 0


if __name__ == "__main__":
    sys.exit(main())
