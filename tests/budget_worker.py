"""One input as its own process, for the shared-budget tests: collects against the stand-in with
the real clock until caught up, then prints one JSON line (what it emitted and spent).

    python -m tests.budget_worker <config json>
"""

from __future__ import annotations

import json
import sys
import threading
import time

from ringcentral_audit.client import AuditTrailClient
from ringcentral_audit.clock import SystemClock
from ringcentral_audit.collector import Collector
from ringcentral_audit.errors import AuditTrailError
from ringcentral_audit.ports import MemoryStore
from ringcentral_audit.retry import Backoff
from ringcentral_audit.settings import Account, Connection, InputSettings

from tests.budgetfile import FileBudget
from tests.harness import ListSink


def main(config: dict) -> None:
    account = Account(
        server_url=config["url"],
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        jwt=config["jwt"],
    )
    name = config["name"]
    budget = FileBudget(config["budget_dir"], name) if config["shared"] else None
    checkpoint, tokens, sink = MemoryStore(), MemoryStore(), ListSink()
    began = time.monotonic()
    runs, requests, limited, errors = 0, 0, 0, []
    while time.monotonic() - began < config["give_up_s"]:
        runs += 1
        clock = SystemClock(threading.Event())
        client = AuditTrailClient(
            account,
            Connection(connect_timeout=2, read_timeout=10),
            tokens=tokens,
            clock=clock,
            backoff=Backoff(attempts=4, base=0.2, cap=1.0),
            budget=budget,
            member=name,
        )
        settings = InputSettings(
            name=name,
            start=config["start"],
            max_run_seconds=config["run_s"],
            action_ids=tuple(config.get("action_ids", ())),
            reconcile_days=0,
        )
        try:
            report = Collector(client, settings, checkpoint=checkpoint, sink=sink).run()
            requests += report.requests
            limited += report.rate_limited
        except AuditTrailError as error:
            requests += client.stats.requests
            limited += client.stats.rate_limited
            errors.append(error.message[:300])
        finally:
            client.close()
        window = (checkpoint.value or {}).get("window")
        if checkpoint.value and checkpoint.value.get("cursor") and window is None:
            break
        time.sleep(config["interval_s"])
    print(
        json.dumps(
            {
                "name": name,
                "ids": sink.ids,
                "runs": runs,
                "requests": requests,
                "rate_limited": limited,
                "seconds": round(time.monotonic() - began, 2),
                "errors": errors,
                "done": bool(checkpoint.value and checkpoint.value.get("cursor")),
            }
        )
    )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
