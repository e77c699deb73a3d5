"""Issue 15 item 8: every RFC 3339 form parses the same on Splunk's Pythons (3.9, 3.13) and ours."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from ringcentral_audit.timeutil import parse_time

from tests.package.splunk_pythons import interpreter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = 1780308619.0  # 2026-06-01T10:10:19Z
FORMS = {
    "2026-06-01T10:10:19Z": BASE,
    "2026-06-01t10:10:19z": BASE,
    "2026-06-01 10:10:19Z": BASE,
    "2026-06-01T10:10:19+00:00": BASE,
    "2026-06-01T12:10:19+0200": BASE,
    "2026-06-01T12:10:19+02:00": BASE,
    "2026-06-01T12:10:19+02": BASE,
    "2026-06-01T04:40:19-05:30": BASE,
    "2026-06-01T04:40:19-0530": BASE,
    "2026-06-01T10:10:19.4Z": BASE + 0.4,
    "2026-06-01T10:10:19.44Z": BASE + 0.44,
    "2026-06-01T10:10:19.442Z": BASE + 0.442,
    "2026-06-01T10:10:19.4421Z": BASE + 0.442,
    "2026-06-01T12:10:19.442123456+0200": BASE + 0.442,
    "2026-06-01T10:10:19.442": BASE + 0.442,  # no zone: UTC, as the API means
    "2026-06-01T23:59:60Z": 1780358399.999,  # a leap second: the last moment of :59
    "2026-06-01T10:10:19+2:00": None,
    "20260601T101019Z": None,
    "2026-06-01": None,
    "2026-W22-1T10:10:19Z": None,
}
SCRIPT = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); "
    "from ringcentral_audit.timeutil import parse_time; "
    "print(json.dumps([parse_time(t) for t in json.loads(sys.argv[2])]))"
)


def test_each_form_parses_to_the_same_moment_here():
    assert {t: parse_time(t) for t in FORMS} == FORMS


@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_each_form_parses_to_the_same_moment_on_splunks_pythons(version):
    python = interpreter(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed (see tests/package/splunk_pythons.py)")
    # timeutil imports only the standard library: the package's own copy is enough
    out = subprocess.run(
        [python, "-c", SCRIPT, os.path.join(ROOT, "package", "bin"), json.dumps(list(FORMS))],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"},
    )
    assert dict(zip(FORMS, json.loads(out.stdout))) == FORMS, sys.version
