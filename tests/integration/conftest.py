"""Fixtures shared by the integration tests."""

from __future__ import annotations

import socket
from typing import Iterator

import pytest


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections (bound, never listening, so nobody takes it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()
