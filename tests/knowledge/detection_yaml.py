"""contentctl-style descriptions of the security detections (docs/detections/*.yml), generated from
the shipped savedsearches.conf and macros.conf so the two cannot drift: the name, description,
search, schedule, MITRE ATT&CK ids, risk and threat objects and the filter macro are read from the
conf; only what a conf file has no place for (how to implement, known false positives, the kind
of detection, references) is kept here.

Each file is YAML in the shape of Splunk's security_content detections, every value written in
JSON form (a JSON scalar, list or object is a YAML flow value), so this module reads them back
without a YAML library. `make detections` rewrites them; the knowledge tests fail when a committed
file differs from what the conf gives.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any, Dict, List, Mapping

from . import content
from .search_time import read_conf

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "docs" / "detections"
NAMESPACE = uuid.UUID("5f0c6a57-1b1e-4b8e-9a8e-2f6f3c1d1a18")
PRODUCTS = ["Splunk Enterprise", "Splunk Enterprise Security", "Splunk Cloud"]
DATA_SOURCE = ["RingCentral Audit Trail (sourcetype ringcentral:audit)"]
IMPLEMENT = (
    "Install the RingCentral Audit Trail Add-on on the search heads, collect with its modular input "
    "(sourcetype ringcentral:audit) and set the macro ringcentral_audit_index to the index the "
    "inputs write to. Enable the saved search (shipped disabled). Without Enterprise Security each "
    "firing is kept in Triggered Alerts for 30 days and logged by the Log event action; with ES "
    "add the Risk or Notable action, which reads the risk_object, risk_score and threat_object "
    "result fields."
)

# What a conf file has no place for, per detection.
PROSE: Dict[str, Dict[str, Any]] = {
    "RingCentral Audit - Privileged role granted": {
        "type": "TTP",
        "known_false_positives": "Administrators granting roles as part of onboarding or a change "
        "ticket. Adjust the macro ringcentral_audit_privileged_role(1) to your role names and "
        "exclude approved provisioning accounts in the filter macro.",
        "analytic_story": ["RingCentral Account Takeover"],
        "security_domain": "identity",
    },
    "RingCentral Audit - Burst of failed logins": {
        "type": "TTP",
        "known_false_positives": "A user who forgot a password, or a device retrying stale "
        "credentials.",
        "analytic_story": ["RingCentral Account Takeover"],
        "security_domain": "access",
    },
    "RingCentral Audit - Account locked": {
        "type": "Anomaly",
        "known_false_positives": "Users locking themselves out; an admin locking an account on "
        "purpose.",
        "analytic_story": ["RingCentral Account Takeover"],
        "security_domain": "access",
    },
    "RingCentral Audit - Login from a new country": {
        "type": "Anomaly",
        "known_false_positives": "Travel, and VPN exits or mobile carriers that geolocate in another "
        "country. Logins from private or unplaceable addresses are kept as activity and never "
        "reported as a new country.",
        "analytic_story": ["RingCentral Account Takeover"],
        "security_domain": "access",
    },
    "RingCentral Audit - Secret changed": {
        "type": "Anomaly",
        "known_false_positives": "Help-desk password and PIN resets.",
        "analytic_story": ["RingCentral Account Takeover"],
        "security_domain": "identity",
    },
    "RingCentral Audit - Activity from a new client IP": {
        "type": "Anomaly",
        "known_false_positives": "Administrators working from home, a new office or a new VPN exit.",
        "analytic_story": ["RingCentral Account Takeover"],
        "security_domain": "identity",
    },
}
REFERENCES = [
    "https://developers.ringcentral.com/api-reference/Audit-Trail/auditTrailSearch",
    "https://attack.mitre.org/techniques/T1078/004/",
]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.split(" - ", 1)[1].lower()).strip("_")


def _assignments(search: str) -> Dict[str, str]:
    """name -> expression of the eval that sets the risk fields."""
    match = re.search(r"\| eval (risk_object=.*?)\s*\\?\n", search + "\n")
    if not match:
        return {}
    out = {}
    for part in re.split(r",\s*(?=\w+=)", match.group(1)):
        name, _, value = part.partition("=")
        out[name.strip()] = value.strip()
    return out


def _literal(expression: str) -> Any:
    if re.fullmatch(r'"[^"]*"', expression):
        return expression[1:-1]
    if re.fullmatch(r"\d+", expression):
        return int(expression)
    return None


def attack_ids(expression: str) -> List[str]:
    return re.findall(r'"(T\d{4}(?:\.\d{3})?)"', expression)


def describe(name: str, stanza: Mapping[str, str]) -> Dict[str, Any]:
    search = stanza["search"]
    risk = _assignments(search)
    mitre = attack_ids(risk.get("mitre_attack_id", ""))
    prose = PROSE[name]
    filter_macro = f"ringcentral_audit_{slug(name)}_filter"
    return {
        "name": name,
        "id": str(uuid.uuid5(NAMESPACE, name)),
        "version": 1,
        "status": "production",
        "type": prose["type"],
        "description": stanza["description"],
        "data_source": DATA_SOURCE,
        "search": search.replace("\\\n", "\n"),
        "how_to_implement": IMPLEMENT,
        "known_false_positives": prose["known_false_positives"],
        "references": REFERENCES,
        "schedule": {
            "cron_schedule": stanza["cron_schedule"],
            "earliest_time": stanza["dispatch.earliest_time"],
            "latest_time": stanza["dispatch.latest_time"],
            "durable": {k: stanza[k] for k in sorted(stanza) if k.startswith("durable.")},
        },
        "rba": {
            "message": f"$finding$ ({name})",
            "risk_objects": [
                {
                    "field": risk.get("risk_object"),
                    "type": _literal(risk.get("risk_object_type", "")),
                    "score": _literal(risk.get("risk_score", "")),
                }
            ],
            "threat_objects": [
                {
                    "field": risk.get("threat_object"),
                    "type": _literal(risk.get("threat_object_type", "")),
                }
            ],
        },
        "tags": {
            "analytic_story": prose["analytic_story"],
            "asset_type": "RingCentral Tenant",
            "mitre_attack_id": mitre,
            "product": PRODUCTS,
            "security_domain": prose["security_domain"],
            "filter_macro": filter_macro,
        },
    }


def render(description: Mapping[str, Any]) -> str:
    lines = [
        "# Generated by `make detections` from package/default/savedsearches.conf: do not edit."
    ]
    lines += [
        f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in description.items()
    ]
    return "\n".join(lines) + "\n"


def read(text: str) -> Dict[str, Any]:
    """A file render() wrote: `key: <JSON>` per line after the comment."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, value = line.partition(": ")
        out[key] = json.loads(value)
    return out


def files(app: Path) -> Dict[str, str]:
    saved = read_conf(app / "default" / "savedsearches.conf")
    return {
        f"{slug(name)}.yml": render(describe(name, stanza))
        for name, stanza in saved.items()
        if content.AUDIT_SOURCETYPE in stanza.get("search", "") and name in PROSE
    }


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = files(REPO / "package")
    for stale in OUT.glob("*.yml"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in sorted(wanted.items()):
        (OUT / name).write_text(text, encoding="utf-8")
    print(f"detections: {len(wanted)} contentctl-style descriptions in {OUT.relative_to(REPO)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
