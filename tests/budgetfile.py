"""A BudgetStore shared by processes: one JSON file per input in a directory (test equipment;
in Splunk it is the KV store, see the helper's KVStoreBudget)."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Dict, List


class FileBudget:
    def __init__(self, directory: str, member: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, member.replace("/", "_") + ".json")

    def load_all(self) -> List[Dict[str, Any]]:
        docs = []
        for name in sorted(os.listdir(self.directory)):
            if not name.endswith(".json"):
                continue
            try:
                with open(os.path.join(self.directory, name), encoding="utf-8") as handle:
                    docs.append(json.load(handle))
            except (OSError, ValueError):
                continue  # being replaced this instant
        return docs

    def save(self, doc: Dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle)
        os.replace(tmp, self.path)
