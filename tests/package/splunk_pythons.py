"""Where the Pythons Splunk runs add-ons with (3.9 and 3.13) are on this machine, found as pyenv
finds them; run as a script it says which were found and, if not, why and how to get them.

Looked for in order: ``pythonX.Y`` on PATH (a pyenv shim counts only if it really starts that
version), then pyenv's versions directory: ``$PYENV_ROOT``, else what ``pyenv root`` prints,
else pyenv's default ``~/.pyenv``; the newest ``X.Y.*`` there wins.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, NamedTuple, Optional

SPLUNK_PYTHONS = ("3.9", "3.13")


class Found(NamedTuple):
    version: str
    path: Optional[str]  # None: not found
    looked: List[str]  # where it was looked for, for the message


def pyenv_root() -> Optional[Path]:
    """pyenv's root as pyenv itself decides it: $PYENV_ROOT, `pyenv root`, ~/.pyenv."""
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = subprocess.run(
                [pyenv, "root"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            out = None
        if out is not None and out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    home = Path.home() / ".pyenv"
    return home if home.is_dir() else None


def _is(path: str, version: str) -> bool:
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.startswith(f"Python {version}.")


def _patch(path: Path) -> int:
    match = re.match(r"^\d+\.\d+\.(\d+)$", path.name)
    return int(match.group(1)) if match else -1


def find(version: str) -> Found:
    looked = ["PATH"]
    on_path = shutil.which(f"python{version}")
    if on_path and _is(on_path, version):
        return Found(version, on_path, looked)
    root = pyenv_root()
    if root is None:
        looked.append("pyenv (not installed: no $PYENV_ROOT, no `pyenv`, no ~/.pyenv)")
        return Found(version, None, looked)
    looked.append(f"{root}/versions")
    versions = sorted(
        (p for p in (root / "versions").glob(f"{version}.*") if _patch(p) >= 0),
        key=_patch,
        reverse=True,
    )
    for directory in versions:
        path = directory / "bin" / f"python{version}"
        if path.is_file() and _is(str(path), version):
            return Found(version, str(path), looked)
    return Found(version, None, looked)


def interpreter(version: str) -> Optional[str]:
    return find(version).path


def skip_reason(found: Found) -> str:
    return (
        f"no Python {found.version} found (looked in {', '.join(found.looked)}): the built "
        f"input is not run on Splunk's Python {found.version}; `pyenv install {found.version}` "
        "adds it"
    )


def main() -> int:
    """One line: which Splunk Pythons the e2e suite used, or plainly that their runs were skipped."""
    found = [find(v) for v in SPLUNK_PYTHONS]
    used = [f"{f.version} ({f.path})" for f in found if f.path]
    missing = [f for f in found if not f.path]
    if used:
        print("Splunk's Pythons: the built input was also run on " + " and ".join(used))
    for f in missing:
        print(f"SKIPPED: {skip_reason(f)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
