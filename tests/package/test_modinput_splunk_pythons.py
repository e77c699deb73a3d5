"""The built input on the Pythons Splunk runs add-ons with (3.9 and 3.13), not only on 3.11.

lib/ is resolved for Python 3.9 as pure-Python wheels; this runs the very script splunkd would
start, with ``-S`` so that only the standard library and the app's own lib/ can be imported.
"""

from __future__ import annotations

import glob
import shutil
import subprocess

import pytest

from tests.package.test_modular_input import (  # noqa: F401 - fixtures
    RECORDS,
    built_app,
    harness,
    records_of,
)


def interpreter(version: str) -> str | None:
    found = shutil.which(f"python{version}")
    candidates = [found] if found else []
    candidates += sorted(glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python{version}"))
    for path in candidates:
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.startswith(f"Python {version}."):
            return path
    return None


@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_the_built_input_validates_collects_and_resumes_on_splunks_python(harness, version):  # noqa: F811
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine (pyenv or PATH)")
    harness.python = python
    refused = harness.validate(interval="10")
    assert refused.returncode != 0 and "at least 60" in refused.stderr + refused.stdout
    first = harness.run()
    assert first.returncode == 0, first.stderr
    assert len(records_of(first)) == RECORDS
    second = harness.run()
    assert second.returncode == 0 and records_of(second) == []
    assert harness.leaks() == []
