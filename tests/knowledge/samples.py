"""The sample events, loaded and tokenized by pytest-splunk-addon's own sample generator, exactly as
it prepares them for ingestion into a real Splunk."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Union

import pytest_splunk_addon.index_tests  # noqa: F401  (imported first: breaks an import cycle)
from pytest_splunk_addon.sample_generation import Rule, SampleGenerator

Expected = Union[str, List[str]]


class SampleError(Exception):
    """pytest-splunk-addon warned about (or failed on) the sample configuration."""


@dataclass
class Sample:
    index: int
    raw: str
    metadata: Dict[str, str]
    expected: Dict[str, Expected]  # cim_fields and other_mappings of the XML sample
    models: List[str]  # as pytest-splunk-addon names them, e.g. Change_Account_Management
    psa_event: object  # pytest-splunk-addon's SampleEvent

    @property
    def record(self) -> Dict[str, object]:
        return json.loads(self.raw)

    @property
    def name(self) -> str:
        record = self.record
        if "kind" in record and "actionId" not in record:  # a collection (coverage) event
            return f"{self.index:02d}-{record['kind']}-{record.get('input')}"
        return f"{self.index:02d}-{record.get('actionId', 'no-actionId')}"


def _models(requirement_test_data: Mapping[str, object]) -> List[str]:
    # the same normalisation as pytest_splunk_addon.fields_tests.test_generator
    models = requirement_test_data.get("datamodels") or {}
    if isinstance(models, dict):
        models = models.get("model") or []
    if isinstance(models, str):
        models = [models]
    return [str(m).replace(" ", "_").replace(":", "_") for m in models]  # type: ignore[union-attr]


def load_samples(app: Path, data_generator_dir: Path) -> List[Sample]:
    """Tokenized sample events; any warning of the generator (missing sample file, unknown token
    rule, invalid setting) is an error."""
    SampleGenerator.clean_samples()
    Rule.clean_rules()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            events = list(SampleGenerator(str(app), str(data_generator_dir)).get_samples())
    finally:
        SampleGenerator.clean_samples()
    problems = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if problems:
        raise SampleError("; ".join(problems))
    samples = []
    for index, event in enumerate(events):
        data = event.requirement_test_data or {}
        expected: Dict[str, Expected] = {}
        expected.update(data.get("cim_fields") or {})
        expected.update(data.get("other_fields") or {})
        samples.append(
            Sample(index, event.event, dict(event.metadata), expected, _models(data), event)
        )
    return samples
