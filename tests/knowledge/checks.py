"""Every check of the knowledge suite as a function of an app folder returning a list of problems,
so the tests can run them on the real package and on deliberately broken copies of it."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from . import content, psa_offline, spl_search
from .samples import Sample, load_samples
from .search_time import SOURCETYPE, Event, SearchTime, read_conf

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "package"
LOG_SAMPLE = Path(__file__).parent / "data" / "addon_log_lines.txt"  # as solnlib writes them
# --splunk-data-generator for pytest-splunk-addon: this folder; it finds the samples in
# <splunk-app>/samples
DATA_GENERATOR_DIR = Path(__file__).parent
INDEX_METADATA = {"index": ("main",), "source": ("ringcentral_audit_trail://pytest",)}

CIM_CATEGORIES = {"change", "account_management", "authentication", "other"}
CHANGE_ACTIONS = {
    "created",
    "modified",
    "updated",
    "deleted",
    "lockout",
    "acl_modified",
    "read",
    "stopped",
    "cleared",
}
AUTH_ACTIONS = {"success", "failure"}
NEGATIVE_VALUES = {"", "-", "unknown", "null", "(null)"}
# actionIds seen in real data: each must have its own row (not just the fallback)
KNOWN_ACTION_IDS = {
    "CHANGE_USER_INFO",
    "CHANGE_SECRET_INFO",
    "CHANGE_USER_ROLE",
    "LOGIN_SUCCESSFULLY",
}


@cache
def search_time(app: Path, sourcetype: str = SOURCETYPE) -> SearchTime:
    return SearchTime(app, sourcetype)


@cache
def samples(app: Path) -> Tuple[Sample, ...]:
    return tuple(load_samples(app, DATA_GENERATOR_DIR))


def record_samples(app: Path) -> Tuple[Sample, ...]:
    """The audit records among the samples (sourcetype ringcentral:audit)."""
    return tuple(s for s in samples(app) if s.metadata.get("sourcetype") == SOURCETYPE)


@cache
def events(app: Path) -> Tuple[Event, ...]:
    # each sample through the search-time configuration of its own sourcetype
    return tuple(
        search_time(app, sample.metadata.get("sourcetype", SOURCETYPE)).run(
            sample.raw, INDEX_METADATA
        )
        for sample in samples(app)
    )


def index(app: Path) -> psa_offline.Index:
    return psa_offline.Index(list(events(app)))


# --- samples: pytest-splunk-addon's requirement tests


def sample_problems(app: Path, position: int) -> List[str]:
    """test_requirements_fields and test_datamodels for one sample event."""
    sample = samples(app)[position]
    event = events(app)[position]
    problems = []
    for name, expected in sample.expected.items():
        actual = psa_offline.render(event.search_fields().get(name, ()))
        if actual != expected:
            problems.append(f"{name}: expected {expected!r}, got {actual!r}")
    models = psa_offline.assigned_datamodels(event.tags)
    if models != sorted(sample.models):
        problems.append(
            f"data models: expected {sorted(sample.models)}, tags {event.tags} give {models}"
        )
    return problems


# --- CIM: pytest-splunk-addon's CIM tests


def cim_cases(app: Path) -> List[Tuple[str, Dict]]:
    generator = psa_offline.cim_generator(app)
    return psa_offline.test_cases(generator, "splunk_searchtime_cim_fields")


def cim_problems(app: Path) -> List[str]:
    idx = index(app)
    problems = [p for _, case in cim_cases(app) for p in psa_offline.cim_fields_problems(idx, case)]
    problems += psa_offline.multiple_models_problems(idx, app)
    problems += [f"not allowed in props: {f}" for f in psa_offline.not_allowed_in_props(app)]
    return problems


def field_test_problems(app: Path) -> List[str]:
    """test_props_fields (positive and negative), test_eventtype and test_tags."""
    generator = psa_offline.field_generator(app)
    idx = index(app)
    problems = []
    for case_id, case in psa_offline.test_cases(generator, "splunk_searchtime_fields_positive"):
        found = [
            event
            for event in idx.search(f'{case["stanza_type"]}="{case["stanza"]}"')
            if all(_field_ok(event, f) for f in case["fields"])
        ]
        if not found:
            problems.append(f"{case_id}: no event has all of {[f['name'] for f in case['fields']]}")
    for case_id, case in psa_offline.test_cases(generator, "splunk_searchtime_fields_negative"):
        for f in case["fields"]:
            bad = [
                e.fields.get("actionId")
                for e in idx.events
                if any(v in f["negative_values"] for v in e.fields.get(f["name"], ()))
            ]
            if bad:
                problems.append(f"{case_id}: {f['name']} has a negative value in {bad}")
    for case_id, case in psa_offline.test_cases(generator, "splunk_searchtime_fields_eventtypes"):
        if not idx.search(f'eventtype="{case["stanza"]}"'):
            problems.append(f"{case_id}: no event has the eventtype")
    for case_id, case in psa_offline.test_cases(generator, "splunk_searchtime_fields_tags"):
        hits = idx.search(case["stanza"], f"tag={case['tag']}")
        if bool(hits) != case["enabled"]:
            problems.append(f"{case_id}: tag {'missing' if case['enabled'] else 'present'}")
    return problems


def _field_ok(event: Event, field: Dict) -> bool:
    values = event.fields.get(field["name"], ())
    return any(
        v not in field["negative_values"]
        and any(spl_search.value_matches(e, v) for e in field["expected_values"])
        for v in values
    )


# --- lookups


def read_csv(path: Path) -> Tuple[List[str], List[Dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), [dict(row) for row in reader]


def lookup_problems(app: Path) -> List[str]:
    """Integrity of the two classification lookups, judged through the emulated lookups."""
    problems: List[str] = []
    config = search_time(app)
    tables = {lookup.table.name: lookup.table for lookup in config.lookups}
    actions = tables.get("ringcentral_audit_actions")
    operations = tables.get("ringcentral_audit_operations")
    if actions is None or operations is None:
        return ["props.conf must apply ringcentral_audit_actions and ringcentral_audit_operations"]
    for table in (actions, operations):
        keys = [col for col in table.columns if col in table.wildcard]
        seen = set()
        for number, row in enumerate(table.rows, start=2):
            key = tuple(row[col].lower() for col in keys)
            if key in seen:
                problems.append(f"{table.name} line {number}: duplicate key {key}")
            seen.add(key)
            for col in table.columns:
                if row[col] is None or row[col] != row[col].strip():
                    problems.append(f"{table.name} line {number}: {col} has stray spaces")
                if row[col].lower() in NEGATIVE_VALUES - {""}:
                    problems.append(f"{table.name} line {number}: {col}={row[col]!r}")
            # a row is dead if an earlier row's patterns already match its own key (first match wins)
            first = table.match({col: row[col] for col in keys})
            if first and first[0] is not row:
                problems.append(f"{table.name} line {number}: shadowed by an earlier row")
        if any("*" != v for v in (table.rows[-1][col] for col in keys)):
            problems.append(f"{table.name}: the last row must be the catch-all (* in every key)")
    for number, row in enumerate(actions.rows, start=2):
        where = f"ringcentral_audit_actions line {number} ({row['actionId']})"
        if any(row[c] == "" for c in actions.columns):
            problems.append(f"{where}: empty cell")
        if row["ringcentral_category"] not in CIM_CATEGORIES:
            problems.append(f"{where}: category must be one of {sorted(CIM_CATEGORIES)}")
        is_account = row["ringcentral_category"] == "account_management"
        if is_account != (row["object_category"] == "user") and row["ringcentral_category"] in (
            "change",
            "account_management",
        ):
            problems.append(f"{where}: object_category=user exactly for account_management (CIM)")
        # what the operations lookup makes of this actionId, whatever the eventType
        for event_type in ("create", "update", "delete", "login", "none"):
            for op in operations.match({"actionId": row["actionId"], "eventType": event_type})[:1]:
                problems.extend(
                    _operation_problems(where, event_type, row["ringcentral_category"], op)
                )
    for number, row in enumerate(operations.rows, start=2):
        if row["status"] not in ("success", "failure"):
            problems.append(
                f"ringcentral_audit_operations line {number}: status must be success/failure"
            )
        if row["status"] == "failure" and not row["result"]:
            problems.append(f"ringcentral_audit_operations line {number}: a failure needs a result")
    for event_type in ("create", "update", "delete"):
        rows = [r for r in operations.rows if r["actionId"] == "*" and r["eventType"] == event_type]
        if not rows:
            problems.append(
                f"ringcentral_audit_operations: no fallback row for eventType {event_type}"
            )
    listed = {row["actionId"] for row in actions.rows}
    for action_id in sorted(KNOWN_ACTION_IDS - listed):
        problems.append(f"ringcentral_audit_actions: no row for {action_id}")
    return problems


def _operation_problems(
    where: str, event_type: str, category: str, op: Dict[str, str]
) -> List[str]:
    action = op["action"]
    if category == "authentication" and action not in AUTH_ACTIONS:
        return [f"{where}: eventType {event_type} gives action {action}, not success/failure"]
    if category in ("change", "account_management") and action not in CHANGE_ACTIONS:
        return [f"{where}: eventType {event_type} gives action {action}, not a CIM Change action"]
    if category == "authentication" and (action == "failure") != (op["status"] == "failure"):
        return [f"{where}: action {action} with status {op['status']}"]
    return []


# --- dashboards and saved searches


def content_problems(app: Path) -> List[str]:
    macros = content.macro_definitions(app)
    audit_events = [e.search_fields() for e in events(app)]
    logs = content.log_events(LOG_SAMPLE)
    problems: List[str] = []
    for path in content.views(app):
        board = content.load_dashboard(path)
        problems += [f"view {board.name}: {p}" for p in content.dashboard_structure_problems(board)]
        for query in board.queries():
            problems += content.query_problems(query, macros, audit_events + logs)
    saved = search_time_conf(app, "savedsearches")
    for name, stanza in saved.items():
        problems += content.saved_search_problems(name, stanza)
        query = content.Query(f"saved search {name!r}", stanza.get("search", ""))
        problems += content.query_problems(query, macros, audit_events + logs)
    return problems


def search_time_conf(app: Path, name: str) -> Dict[str, Dict[str, str]]:
    return read_conf(app / "default" / f"{name}.conf")


# --- CIM meaning: what user, src_user, action and object_category say, per kind of record


def _record_party(record: Dict, party: str) -> Optional[str]:
    value = record.get(party)
    return value.get("name") if isinstance(value, dict) else None


def expected_cim_meaning(record: Dict, category: str) -> Dict[str, Optional[str]]:
    """The CIM fields a record must get, from the record itself (not from the extraction).

    Change (All_Changes): user = who made the change (the initiator). Account_Management: user = the
    account changed (the target extension), src_user = who changed it. Authentication: user = the
    account logging in (the target, else the initiator), src_user = the initiator if any."""
    initiator = _record_party(record, "initiator")
    target = _record_party(record, "target")
    target_is_account = (
        str((record.get("target") or {}).get("objectType", "")).lower() == "extension"
    )
    if category == "change":
        return {"user": initiator or target, "src_user": initiator}
    account = (target if target_is_account else None) or initiator or target
    return {"user": account, "src_user": initiator}


def cim_meaning_problems(app: Path) -> List[str]:
    problems = []
    for sample, event in zip(samples(app), events(app)):
        record = sample.record
        category = event.get("ringcentral_category") or ""
        where = f"sample {sample.name} ({category})"
        for name, value in expected_cim_meaning(record, category).items():
            if event.get(name) != value:
                problems.append(f"{where}: {name} = {event.get(name)!r}, means {value!r}")
        action = event.get("action")
        if category == "authentication":
            failed = "FAILED" in str(record.get("actionId", "")).upper()
            if action != ("failure" if failed else "success"):
                problems.append(f"{where}: action {action!r}")
            if "authentication" not in event.tags or "change" in event.tags:
                problems.append(f"{where}: tags {event.tags}")
        if category in ("change", "account_management"):
            if action not in CHANGE_ACTIONS:
                problems.append(f"{where}: action {action!r} is not a CIM Change action")
            if "change" not in event.tags:
                problems.append(f"{where}: not tagged change")
            # object_category=user exactly when the record is about a user account
            if (event.get("object_category") == "user") != (category == "account_management"):
                problems.append(f"{where}: object_category {event.get('object_category')!r}")
            if (category == "account_management") != ("account" in event.tags):
                problems.append(f"{where}: account tag {event.tags}")
        if (
            "LOCK" in str(record.get("actionId", "")).upper()
            and "UNLOCK" not in str(record.get("actionId", "")).upper()
        ):
            if (action, event.get("result")) != ("lockout", "lockout"):
                problems.append(f"{where}: a lockout needs action=lockout result=lockout")
    return problems
