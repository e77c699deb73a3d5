"""The built input on the Pythons Splunk runs add-ons with (3.9 and 3.13), not only on 3.11.

lib/ is resolved for Python 3.9 as pure-Python wheels; this runs the very script splunkd would
start, with ``-S`` so that only the standard library and the app's own lib/ can be imported.
The interpreters are found as pyenv finds them (splunk_pythons.py); where one is missing the run
is skipped, and ``make test-e2e`` says so in its last lines.
"""

from __future__ import annotations

import pytest

from tests.package.splunk_pythons import SPLUNK_PYTHONS, find, skip_reason
from tests.package.test_modular_input import (  # noqa: F401 - fixtures
    RECORDS,
    built_app,
    harness,
    records_of,
)


@pytest.mark.parametrize("version", SPLUNK_PYTHONS)
def test_the_built_input_validates_collects_and_resumes_on_splunks_python(harness, version):  # noqa: F811
    found = find(version)
    if found.path is None:
        pytest.skip(skip_reason(found))
    harness.python = found.path
    refused = harness.validate(interval="10")
    assert refused.returncode != 0 and "at least 60" in refused.stderr + refused.stdout
    first = harness.run()
    assert first.returncode == 0, first.stderr
    assert len(records_of(first)) == RECORDS
    second = harness.run()
    assert second.returncode == 0 and records_of(second) == []
    assert harness.leaks() == []
