"""The checks can fail: each test breaks a copy of the package in one realistic way and expects
the check that guards against it to report the problem."""

import shutil
from pathlib import Path
from typing import Callable, List

import pytest

from . import checks
from .search_time import ConfigError


def _copy(tmp_path: Path) -> Path:
    app = tmp_path / "package"
    for part in ("default", "lookups", "samples"):
        shutil.copytree(checks.PACKAGE / part, app / part)
    return app


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"mutation target {old!r} not found in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _all_sample_problems(app: Path) -> List[str]:
    return [p for i in range(len(checks.samples(app))) for p in checks.sample_problems(app, i)]


def _everything(app: Path) -> List[str]:
    return (
        _all_sample_problems(app)
        + checks.cim_problems(app)
        + checks.field_test_problems(app)
        + checks.lookup_problems(app)
        + checks.content_problems(app)
    )


MUTATIONS = {
    "user role change classified as a plain change": (
        "lookups/ringcentral_audit_actions.csv",
        "CHANGE_USER_ROLE,account_management,role,user,",
        "CHANGE_USER_ROLE,change,role,user,",
        checks.lookup_problems,
        "object_category=user exactly for account_management",
    ),
    "deletions get a non-CIM action": (
        "lookups/ringcentral_audit_operations.csv",
        "*,delete,deleted,success,",
        "*,delete,removed,success,",
        _all_sample_problems,
        "action: expected 'deleted', got 'removed'",
    ),
    "failed login counted as a success": (
        "lookups/ringcentral_audit_operations.csv",
        "LOGIN_FAILED,*,failure,failure,login failed",
        "LOGIN_FAILED,*,success,success,",
        _all_sample_problems,
        "action: expected 'failure', got 'success'",
    ),
    "catch-all row dropped": (
        "lookups/ringcentral_audit_actions.csv",
        "*,change,unclassified,configuration,configuration,Unclassified RingCentral change\n",
        "",
        checks.lookup_problems,
        "the last row must be the catch-all",
    ),
    "a wildcard row placed before the rows it covers": (
        "lookups/ringcentral_audit_actions.csv",
        "CHANGE_USER_INFO,account_management,",
        "CHANGE_*,change,unclassified,configuration,configuration,Any change\nCHANGE_USER_INFO,account_management,",
        checks.lookup_problems,
        "shadowed by an earlier row",
    ),
    "account tag missing": (
        "default/tags.conf",
        "account = enabled",
        "account = disabled",
        checks.cim_problems,
        "Accounts_Created: 0 events mapped",
    ),
    "src alias dropped": (
        "default/props.conf",
        "rc_clientIp AS src rc_clientIp AS src_ip",
        "rc_clientIp AS src_ip",
        checks.cim_problems,
        "field src is not extracted",
    ),
    "eventtype search typo": (
        "default/eventtypes.conf",
        'ringcentral_category="authentication"',
        'ringcentral_category="authentification"',
        checks.field_test_problems,
        "no event has the eventtype",
    ),
    "dashboard search without the index macro": (
        "default/data/ui/views/ringcentral_audit_security.xml",
        '`ringcentral_audit_index` sourcetype=\\"ringcentral:audit\\" src=* ((',
        'index=main sourcetype=\\"ringcentral:audit\\" src=* ((',
        checks.content_problems,
        "names an index itself",
    ),
    "dashboard field typo": (
        "default/data/ui/views/ringcentral_audit_activity.xml",
        "by src_user | sort - changes",
        "by src_usr | sort - changes",
        checks.content_problems,
        "field src_usr exists in no matching event",
    ),
    "alert enabled": (
        "default/savedsearches.conf",
        "disabled = 1",
        "disabled = 0",
        checks.content_problems,
        "disabled = '0', expected '1'",
    ),
    "alert filters on a value no record has": (
        "default/savedsearches.conf",
        'result="lockout"',
        'result="locked"',
        checks.content_problems,
        "base search matches no sample event",
    ),
    "sample expectation wrong": (
        "samples/ringcentral_audit_trail.xml",
        '<field name="user" value="Dana Lee" />',
        '<field name="user" value="Alice Smith" />',
        _all_sample_problems,
        "user: expected 'Alice Smith', got 'Dana Lee'",
    ),
    "lockout loses its CIM result": (
        "lookups/ringcentral_audit_operations.csv",
        "ACCOUNT_LOCKED,*,lockout,success,lockout",
        "ACCOUNT_LOCKED,*,lockout,success,",
        checks.cim_problems,
        "Account_Lockouts: 0 events mapped",
    ),
    "parameter values matched with a regex that backtracks per character": (
        "default/transforms.conf",
        '"value"\\s*:\\s*"((?:[^"\\\\]++|\\\\.)*+)"\nFORMAT = param_$1::$2',
        '"value"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"\nFORMAT = param_$1::$2',
        _all_sample_problems,
        "param_forwardingRules: expected",
    ),
    "source address read from the JSON extraction (cut off at 5,000 bytes)": (
        "default/props.conf",
        "rc_clientIp AS src rc_clientIp AS src_ip",
        "clientIp AS src rc_clientIp AS src_ip",
        _all_sample_problems,
        "src: expected '198.51.100.23', got None",
    ),
    "CIM user is the changed object for every change": (
        "default/props.conf",
        "EVAL-user = if(in(upper(rc_actionId), ",
        "EVAL-user = if(true() OR in(upper(rc_actionId), ",
        checks.cim_meaning_problems,
        "user = 'Dana Lee', means 'Alice Smith'",
    ),
    "CIM user decided from the lookup's category (EVAL runs before LOOKUP)": (
        "default/props.conf",
        "EVAL-user = if(in(upper(rc_actionId), ",
        'EVAL-user = if(ringcentral_category!="change", coalesce(rc_target_name, rc_initiator_name),'
        " coalesce(rc_initiator_name, rc_target_name))\nEVAL-user_unused = if(in(upper(rc_actionId), ",
        checks.cim_meaning_problems,
        "(account_management): user = 'Bob Jones', means",
    ),
    "Change records lose their actor in src_user": (
        "default/props.conf",
        "rc_initiator_name AS src_user ",
        "rc_target_name AS src_user ",
        checks.cim_meaning_problems,
        "src_user = ",
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_check_reports_the_mutation(tmp_path, name):
    relative, old, new, check, expected = MUTATIONS[name]
    assert not any(expected in p for p in check(checks.PACKAGE)), "the real package fails"
    app = _copy(tmp_path)  # a fresh path: the checks cache per app folder
    _edit(app / relative, old, new)
    problems = check(app)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    "old, new",
    [
        ('EVAL-app = "RingCentral"', 'EVAL-app = replace("RingCentral", "R", "r")'),
        ("KV_MODE = json", "KV_MODE = auto"),
        ("REPORT-ringcentral_audit_parameters", "EXTRACT-ringcentral_audit_parameters"),
    ],
)
def test_configuration_the_emulation_cannot_apply_is_refused(tmp_path, old, new):
    app = _copy(tmp_path)
    _edit(app / "default" / "props.conf", old, new)
    with pytest.raises(ConfigError):
        checks.search_time(app)


def test_the_unbroken_copy_passes_everything(tmp_path):
    check: Callable[[Path], List[str]] = _everything
    assert check(_copy(tmp_path)) == []
