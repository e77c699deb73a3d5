"""Realistic, deterministic audit-trail histories, and the RFC 3339 helpers the stand-in uses."""

from __future__ import annotations

import random
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def parse_rfc3339_us(text: object) -> Optional[int]:
    """Epoch microseconds from a strict RFC 3339 date-time (offset required); None if invalid.

    Fractions beyond microseconds are truncated.
    """
    if not isinstance(text, str):
        return None
    match = _RFC3339.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = ((match.group(7) or "") + "000000")[:6]
    try:
        moment = datetime(
            year, month, day, hour, minute, second, int(fraction), tzinfo=timezone.utc
        )
    except ValueError:
        return None
    if match.group(9):
        off_h, off_m = int(match.group(10)), int(match.group(11))
        if off_h > 23 or off_m > 59:
            return None
        offset = timedelta(hours=off_h, minutes=off_m)
        moment = moment - offset if match.group(9) == "+" else moment + offset
    return (moment - EPOCH) // timedelta(microseconds=1)


def format_ms(epoch_ms: int) -> str:
    """RFC 3339 UTC with milliseconds, as RingCentral writes eventTime: 2026-05-31T10:50:19.442Z."""
    moment = EPOCH + timedelta(milliseconds=epoch_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def format_time(epoch: float) -> str:
    """Epoch seconds as RFC 3339 UTC with milliseconds (rounded to the millisecond)."""
    return format_ms(round(epoch * 1000))


# ---------------------------------------------------------------------------------------------
# The cast: one account, its admins and users, and the objects they change.

ACCOUNT_ID = "403858014008"
ACCOUNT_NAME = "Some Company"
SITES = ("871836004", "871836005")

# (extensionId, extensionNumber, name, role); None = field absent
INITIATORS: Tuple[Tuple[Optional[str], ...], ...] = (
    ("402539300008", "101", "Alice Smith", "Super Admin"),
    ("402539301008", "102", "Zoë Ångström", "IT Administrator"),
    ("402539302008", "104", "田中太郎", "Super Admin"),
    ("402539303008", "105", "José Núñez", "Audit Trail Reviewer"),
    ("402539304008", "110", "Seán O'Brien", "Phone System Administrator"),
    ("402539305008", None, "RingCentral Support", None),
)

# Extension targets: (objectId, extensionNumber, name, siteId)
USERS: Tuple[Tuple[str, str, str, str], ...] = (
    ("404611540004", "103", "Charlie Williams", SITES[0]),
    ("404611541004", "106", "Дмитрий Иванов", SITES[0]),
    ("404611542004", "107", "محمد علي", SITES[1]),
    ("404611543004", "108", "Émilie Dubois", SITES[1]),
    ("404611544004", "109", "김민준", SITES[0]),
    ("404611545004", "111", "Zoë Ångström", SITES[0]),
)
QUEUES: Tuple[Tuple[str, str, str, str], ...] = (
    ("404611560004", "120", "Support Queue", SITES[0]),
    ("404611561004", "121", "Ventes — Équipe", SITES[1]),
)
TEMPLATES: Tuple[Tuple[str, str], ...] = (
    ("2318473004", "Sales User Template"),
    ("2318474004", "Support Agent (EMEA)"),
)

CLIENT_IPS = (
    "192.168.42.6",
    "10.0.3.17",
    "203.0.113.45",
    "198.51.100.7",
    "2001:db8:85a3::8a2e:370:7334",
    "fe80::1ff:fe23:4567:890a",
    "2001:db8::1f",
)

COMMENTS = (
    "Changed via Admin Portal",
    "Bulk update — quarterly review",
    'Ticket "INC-4711" \\ approved',
    "Line one\nline two",
    "Überprüfung abgeschlossen ✓",
)

ROLES = (
    "Super Admin",
    "Standard (International)",
    "IT Administrator",
    "Audit Trail Reviewer",
    "Phone System Administrator",
    "Standard",
)


def _user_target(rng: random.Random, pool: Sequence[Tuple[str, str, str, str]]) -> Dict[str, Any]:
    object_id, number, name, site = rng.choice(pool)
    return {
        "objectId": object_id,
        "objectType": "Extension",
        "name": name,
        "extensionNumber": number,
        "siteId": site,
    }


def _target(rng: random.Random, kind: str) -> Dict[str, Any]:
    if kind == "user":
        return _user_target(rng, USERS)
    if kind == "queue":
        return _user_target(rng, QUEUES)
    if kind == "company":
        return {"objectId": "0", "objectType": "Company", "name": ACCOUNT_NAME}
    if kind == "account":
        return {"objectId": ACCOUNT_ID, "objectType": "Account", "name": ACCOUNT_NAME}
    object_id, name = rng.choice(TEMPLATES)
    return {"objectId": object_id, "objectType": "Template", "name": name}


def _p(**pairs: str) -> List[Dict[str, str]]:
    return [{"key": key, "value": value} for key, value in pairs.items()]


def _phone(rng: random.Random) -> str:
    return f"+1650{rng.randint(1000000, 9999999)}"


ParamMaker = Callable[[random.Random], List[Dict[str, str]]]

# actionId, eventType choices, target kind, parameters, weight
ACTIONS: Tuple[Tuple[str, Tuple[str, ...], str, ParamMaker, int], ...] = (
    (
        "CHANGE_USER_INFO",
        ("UPDATE",),
        "user",
        lambda r: _p(
            fieldName=r.choice(("Email", "Department", "Job Title", "Contact Phone")),
            oldValue=r.choice(("sales", "", "old@example.com")),
            newValue=r.choice(("support", "Ventes", "new@example.com")),
        ),
        14,
    ),
    (
        "CHANGE_SECRET_INFO",
        ("UPDATE", "Update"),
        "user",
        lambda r: _p(settingName=r.choice(("Password", "PIN", "Security Question"))),
        8,
    ),
    (
        "CHANGE_USER_ROLE",
        ("UPDATE",),
        "user",
        lambda r: _p(oldRoleName=r.choice(ROLES), newRoleName=r.choice(ROLES)),
        6,
    ),
    (
        "LOGIN_SUCCESSFULLY",
        ("LOGIN", "Login"),
        "user",
        lambda r: _p(application=r.choice(("Service Web", "RingCentral App", "API"))),
        16,
    ),
    (
        "LOGIN_FAILED",
        ("LOGIN",),
        "user",
        lambda r: _p(reason=r.choice(("Invalid password", "MFA failed", "Unknown user"))),
        8,
    ),
    ("ACCOUNT_LOCKED", ("UPDATE", "LOCK"), "user", lambda r: _p(reason="Too many attempts"), 3),
    (
        "CREATE_USER",
        ("CREATE", "Create"),
        "user",
        lambda r: _p(email=f"user{r.randint(1, 999)}@example.com"),
        5,
    ),
    ("DELETE_USER", ("DELETE", "Delete"), "user", lambda r: [], 3),
    (
        "CHANGE_PHONE_NUMBER",
        ("UPDATE",),
        "user",
        lambda r: _p(oldPhoneNumber=_phone(r), newPhoneNumber=_phone(r)),
        5,
    ),
    (
        "CHANGE_CALL_QUEUE",
        ("UPDATE",),
        "queue",
        lambda r: _p(settingName="Members", newValue=r.choice(("103, 106", "107"))),
        5,
    ),
    (
        "CHANGE_IVR_MENU",
        ("UPDATE",),
        "company",
        lambda r: _p(menuName=r.choice(("Main Menu", "After Hours")), action="Edit prompt"),
        3,
    ),
    (
        "CHANGE_COMPANY_INFO",
        ("UPDATE",),
        "company",
        lambda r: _p(fieldName="Company Address", newValue="1 Main St, Zürich"),
        3,
    ),
    (
        "CHANGE_ACCOUNT_SETTINGS",
        ("UPDATE",),
        "account",
        lambda r: _p(settingName="Password Policy", newValue="Strong"),
        3,
    ),
    (
        "CHANGE_APP_ADMIN_SETTINGS",
        ("UPDATE",),
        "account",
        lambda r: _p(appName="Audit Exporter", setting="Enabled", newValue="true"),
        2,
    ),
    (
        "CHANGE_TEMPLATE",
        ("UPDATE", "CUSTOM_TEMPLATE_EDIT"),
        "template",
        lambda r: _p(settingName="Call Handling"),
        3,
    ),
    ("ADD_DEVICE", ("CREATE",), "user", lambda r: _p(deviceModel="Polycom VVX 450"), 3),
    (
        "CHANGE_BILLING_INFO",
        ("UPDATE",),
        "account",
        lambda r: _p(fieldName="Payment Method", newValue="Card ending 4242"),
        1,
    ),
)

_EXTRA_FIELDS: Tuple[Tuple[str, Any], ...] = (
    ("siteName", "Main Site"),
    ("sourceApp", {"name": "Admin Portal", "version": "24.3.1"}),
    ("relatedRecords", ["4b3a5a2f-0c1d-4e5f-8a9b-0c1d2e3f4a5b"]),
    ("riskScore", 0.25),
    ("impersonated", False),
)


def _record(rng: random.Random, epoch_ms: int) -> Dict[str, Any]:
    weights = [action[4] for action in ACTIONS]
    action_id, event_types, target_kind, params, _ = rng.choices(ACTIONS, weights=weights)[0]
    ext_id, ext_number, name, role = rng.choice(INITIATORS)
    initiator: Dict[str, Any] = {"extensionId": ext_id}
    if ext_number is not None:
        initiator["extensionNumber"] = ext_number
    initiator["name"] = name
    if role is not None:
        initiator["role"] = role
    record: Dict[str, Any] = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "eventTime": format_ms(epoch_ms),
        "actionId": action_id,
        "eventType": rng.choice(event_types),
        "accountId": ACCOUNT_ID,
        "accountName": ACCOUNT_NAME,
        "clientIp": rng.choice(CLIENT_IPS),
        "comment": rng.choice(COMMENTS) if rng.random() < 0.1 else "",
        "initiator": initiator,
        "target": _target(rng, target_kind),
        "details": {"parameters": params(rng)},
    }
    if ext_number is None:  # the support/system initiator has no client address
        del record["clientIp"]
    return record


def generate_history(
    count: int,
    *,
    end: float,
    span_days: float = 170,
    seed: int = 0,
    shared_timestamp_groups: int = 5,
    unknown_field_records: int = 3,
) -> List[Dict[str, Any]]:
    """``count`` realistic audit records with eventTime in [end - span_days, end], oldest first.

    Deterministic per arguments (seed, count, end, span_days); calls that differ in any of them
    give different ids. ``shared_timestamp_groups`` groups of 2 to 4 records share exactly one
    eventTime (all other times are distinct); ``unknown_field_records`` records carry fields the
    published schema does not know. Every record has ``id`` and ``eventTime``.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    end_ms = int(end * 1000)
    start_ms = end_ms - int(span_days * 86_400_000)
    # Every argument feeds the generator: batches made with the same seed for other times or
    # sizes get other ids (real ids never repeat), and equal arguments give equal histories.
    rng = random.Random(f"ringcentral-history:{seed}:{count}:{end_ms}:{start_ms}")
    if start_ms > end_ms:
        raise ValueError("span_days must be >= 0")

    # Group sizes for records that share one eventTime; the rest get distinct times.
    groups: List[int] = []
    remaining = count
    for _ in range(max(0, shared_timestamp_groups)):
        if remaining < 2:
            break
        size = min(remaining, rng.randint(2, 4))
        groups.append(size)
        remaining -= size
    distinct_needed = len(groups) + remaining
    if distinct_needed > end_ms - start_ms + 1:
        raise ValueError("span too small for that many distinct event times")
    times: set = set()
    while len(times) < distinct_needed:
        times.add(rng.randint(start_ms, end_ms))
    distinct = sorted(times)
    rng.shuffle(distinct)
    per_record: List[int] = []
    for index, size in enumerate(groups):
        per_record.extend([distinct[index]] * size)
    per_record.extend(distinct[len(groups) :])
    per_record.sort()

    records = [_record(rng, epoch_ms) for epoch_ms in per_record]

    # A few records with fields nobody documented, at varying positions (key order matters).
    if records and unknown_field_records > 0:
        chosen = rng.sample(range(len(records)), min(unknown_field_records, len(records)))
        for n, index in enumerate(sorted(chosen)):
            key, value = _EXTRA_FIELDS[n % len(_EXTRA_FIELDS)]
            items = list(records[index].items())
            position = rng.randint(2, len(items))
            items.insert(position, (key, value))
            records[index] = dict(items)
    return records
