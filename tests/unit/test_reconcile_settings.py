"""The reconciliation settings (issue 15): parsed like the setup page validates them."""

from __future__ import annotations

import json
import pathlib
import re

import pytest
from ringcentral_audit.errors import ConfigError
from ringcentral_audit.settings import parse_input_settings

NOW = 1_780_000_000.0
CONFIG = json.loads((pathlib.Path(__file__).parents[2] / "globalConfig.json").read_text())
FIELDS = {e["field"]: e for e in CONFIG["pages"]["inputs"]["services"][0]["entity"] if "field" in e}


def test_absent_means_a_week_and_a_tenth_of_the_budget():
    parsed = parse_input_settings("i", {}, NOW)
    assert (parsed.reconcile_days, parsed.reconcile_budget_percent) == (7, 10.0)


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("reconcile_days", "0", True),
        ("reconcile_days", "179", True),
        ("reconcile_days", "180", False),
        ("reconcile_days", "-1", False),
        ("reconcile_days", "1.5", False),
        ("reconcile_days", "007", True),
        ("reconcile_budget_percent", "0", False),
        ("reconcile_budget_percent", "1", True),
        ("reconcile_budget_percent", "50", True),
        ("reconcile_budget_percent", "51", False),
        ("reconcile_budget_percent", "ten", False),
    ],
)
def test_the_library_and_the_page_agree(field, value, ok):
    try:
        parse_input_settings("i", {field: value}, NOW)
        library = True
    except ConfigError as error:
        assert field in error.message and "whole number" in error.message
        library = False
    rules = FIELDS[field]["validators"]
    page = all(
        re.fullmatch(r["pattern"], value) is not None
        if r["type"] == "regex"
        else r["range"][0] <= float(value) <= r["range"][1] and float(value).is_integer()
        for r in rules
        if r["type"] == "regex" or re.fullmatch(r"-?[0-9.]+", value)
    ) and bool(re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value))
    assert library == page == ok
