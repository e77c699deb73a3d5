"""Fixtures for every suite."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

try:
    from hypothesis import settings
except ImportError:  # a suite whose environment has no hypothesis
    pass
else:
    # `make test` (and so CI) draws the same generated cases on every run, so a fresh clone
    # passes or fails the same way; `HYPOTHESIS_PROFILE=explore make test` draws new ones each
    # run, to hunt. A case found while exploring is kept as an @example beside its test.
    settings.register_profile("repeatable", derandomize=True, print_blob=True)
    settings.register_profile("explore", print_blob=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(autouse=True)
def _secrets_registered_by_a_test_stay_in_that_test() -> Iterator[None]:
    """The library's secret registry is process-wide: a value a test registers (a generated one
    too: hypothesis also draws words from our own code, such as "ringcentral_audit") would be
    redacted from every later test's logs and messages. Each test starts from the registry as
    it was before it."""
    try:
        from ringcentral_audit.errors import SECRETS
    except ImportError:  # a suite whose environment does not load the library
        yield
        return
    names = [name for name in vars(SECRETS) if name != "_lock"]
    with SECRETS._lock:
        saved = {name: type(value)(value) for name, value in vars(SECRETS).items() if name in names}
    yield
    with SECRETS._lock:
        for name, value in saved.items():
            setattr(SECRETS, name, value)
