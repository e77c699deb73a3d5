"""Import the RingCentral SDK's pieces we use, not its WebSocket client.

``ringcentral/__init__.py`` imports ``SDK``, whose module imports the SDK's WebSocket client and
with it ``websockets`` and ``asyncio`` (with ``importlib.metadata``): tens of milliseconds and a
few megabytes on every run of the input, for code this add-on never calls (it uses
``ringcentral.platform`` and ``ringcentral.http`` only). So the package is registered without
running its ``__init__``; its submodules import as usual, and ``ringcentral.SDK`` (and any other
name ``__init__`` would have set) still works, loaded on first use. The SDK's files are not
changed.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

PACKAGE = "ringcentral"


def register_lazy_package() -> None:
    """Put ``ringcentral`` in sys.modules without executing its ``__init__`` (no-op if it is
    already imported or cannot be found)."""
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        return
    module = importlib.util.module_from_spec(spec)
    module.__getattr__ = _lazy_attribute  # type: ignore[method-assign]
    sys.modules[PACKAGE] = module


def _lazy_attribute(name: str) -> Any:
    """``ringcentral.<name>`` as ``__init__`` defines it (``SDK``), or a submodule, on first use."""
    if name == "SDK":
        return importlib.import_module(f"{PACKAGE}.sdk").SDK
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return importlib.import_module(f"{PACKAGE}.{name}")
    except ImportError:
        raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None


__all__ = ["register_lazy_package"]
