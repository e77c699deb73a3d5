"""The knowledge suite runs in the environment it was pinned for."""

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

from .conftest import MISSING_MODULES

REPO = Path(__file__).resolve().parents[2]
PINS = REPO / "requirements" / "knowledge.txt"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict:
    pins = {}
    for line in PINS.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"requirements/knowledge.txt: {line!r} is not pinned with =="
        pins[_canonical(name)] = version
    return pins


def test_knowledge_environment_is_present():
    if MISSING_MODULES:
        pytest.skip(
            f"tests/knowledge runs in .venv-knowledge: `make test-knowledge` ({MISSING_MODULES})"
        )


def test_every_package_is_pinned_and_direct_dependencies_are_in_the_pins():
    pins = _pins()
    direct = REPO / "requirements" / "knowledge.in"
    for line in direct.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert pins.get(_canonical(name)) == version, f"{line} differs from knowledge.txt"
    assert pins.get("pytest-splunk-addon") == "6.4.0"
    assert pins.get("pytest", "8").split(".")[0] == "7", "pytest-splunk-addon 6.4.0 needs pytest 7"


def test_installed_packages_match_the_pins():
    if MISSING_MODULES or Path(sys.prefix).name != ".venv-knowledge":
        pytest.skip("only meaningful inside .venv-knowledge")
    pins = _pins()
    installed = {
        _canonical(dist.metadata["Name"]): dist.version
        for dist in metadata.distributions()
        if _canonical(dist.metadata["Name"]) not in ("pip", "setuptools", "wheel")
    }
    assert installed == pins


def test_pytest_splunk_addon_finds_the_sample_configuration_and_samples():
    if MISSING_MODULES:
        pytest.skip("needs .venv-knowledge")
    import pytest_splunk_addon.index_tests  # noqa: F401  (imported first: breaks an import cycle)
    from pytest_splunk_addon.sample_generation import PytestSplunkAddonDataParser

    config_dir = Path(__file__).parent  # --splunk-data-generator=tests/knowledge
    parser = PytestSplunkAddonDataParser(str(REPO / "package"), str(config_dir))
    assert Path(parser._path_to_samples) == REPO / "package" / "samples"
    assert set(parser.psa_data) == {path.name for path in (REPO / "package" / "samples").iterdir()}
    # only configuration files Splunk itself knows ship in package/default from this suite's side
    assert not (REPO / "package" / "default" / "pytest-splunk-addon-data.conf").exists()
