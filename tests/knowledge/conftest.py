"""tests/knowledge needs its own environment (.venv-knowledge: pytest-splunk-addon 6.4.0 requires
pytest < 8). Run it with `make test-knowledge`.

In any other environment (the dev .venv, pytest 9) only test_environment.py is collected, and it
is skipped with that hint, so `pytest` there neither breaks nor pretends to have run the suite.
"""

import importlib.util
from pathlib import Path

REQUIRED_MODULES = (
    "pytest_splunk_addon",
    "addonfactory_splunk_conf_parser_lib",
    "defusedxml",
    "xmltodict",
    "pcre2",
    "hypothesis",
)
MISSING_MODULES = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]

if MISSING_MODULES:
    collect_ignore = [
        str(path)
        for path in Path(__file__).parent.glob("test_*.py")
        if path.name != "test_environment.py"
    ]


# Markers of pytest-splunk-addon's test templates, which this suite imports with the plugin
# itself switched off (make test-knowledge passes -p no:plugin -p no:splunk).
PSA_MARKERS = (
    "first",
    "splunk_indextime",
    "splunk_requirements",
    "splunk_requirements_unit",
    "splunk_searchtime_cim",
    "splunk_searchtime_cim_fields",
    "splunk_searchtime_cim_fields_not_allowed_in_props",
    "splunk_searchtime_cim_fields_not_allowed_in_search",
    "splunk_searchtime_cim_mapped_datamodel",
    "splunk_searchtime_fields",
    "splunk_searchtime_fields_datamodels",
    "splunk_searchtime_fields_eventtypes",
    "splunk_searchtime_fields_negative",
    "splunk_searchtime_fields_positive",
    "splunk_searchtime_fields_requirements",
    "splunk_searchtime_fields_savedsearches",
    "splunk_searchtime_fields_tags",
    "splunk_searchtime_internal_errors",
)


def _live(config) -> bool:
    """A run of live/ against a real Splunk: the command line names a Splunk host."""
    return any(str(arg).startswith("--splunk-host") for arg in config.invocation_params.args)


def pytest_configure(config):
    for marker in PSA_MARKERS:
        config.addinivalue_line("markers", f"{marker}: pytest-splunk-addon test template marker")
    # When the plugin is loaded (pytest run by hand without -p no:plugin), it defaults
    # --splunk-app to "package" (this repository's app) and at session start would build its
    # live-Splunk test cases from it. The offline suite calls pytest-splunk-addon's generators
    # itself, on emulated events: keep that machinery off unless a live run was asked for.
    if not _live(config) and getattr(config.option, "splunk_app", None) is not None:
        config.option.splunk_app = None


def pytest_ignore_collect(collection_path, config):
    if collection_path.name == "live" and (MISSING_MODULES or not _live(config)):
        return True
    return None
