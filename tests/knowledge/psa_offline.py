"""pytest-splunk-addon's own test cases, evaluated on emulated events instead of a live Splunk.

The test cases (which fields, which data sets, which constraints) come from pytest-splunk-addon's
generators and its CIM data model definitions; each check below mirrors the assertion of the
matching pytest-splunk-addon test template, with the search done by search_time + spl_search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import pytest_splunk_addon
import pytest_splunk_addon.index_tests  # imported first: breaks an import cycle
from pytest_splunk_addon.addon_parser import Field
from pytest_splunk_addon.CIM_Models.datamodel_definition import (
    datamodels as cim_recommended_fields,
)
from pytest_splunk_addon.cim_tests.data_model_handler import DataModelHandler
from pytest_splunk_addon.cim_tests.test_generator import CIMTestGenerator
from pytest_splunk_addon.fields_tests.requirement_test_datamodel_tag_constants import (
    dict_datamodel_tag,
)
from pytest_splunk_addon.fields_tests.test_generator import FieldTestGenerator

from . import spl_search
from .samples import Sample
from .search_time import Event

DATA_MODELS = Path(pytest_splunk_addon.__file__).parent / "data_models"


def test_cases(generator: object, fixture: str) -> List[Tuple[str, Mapping]]:
    params = generator.generate_tests(fixture)  # type: ignore[attr-defined]
    return [(param.id, param.values[0]) for param in params]


def field_generator(app: Path) -> FieldTestGenerator:
    return FieldTestGenerator(str(app), [])


def cim_generator(app: Path, tokenized_events: Sequence[object] = ()) -> CIMTestGenerator:
    return CIMTestGenerator(str(app), str(DATA_MODELS), list(tokenized_events))


@dataclass
class Index:
    """Emulated events, searchable like pytest-splunk-addon's searches."""

    events: List[Event]

    def search(self, *searches: str) -> List[Event]:
        exprs = [spl_search.parse(text) for text in searches if text and text.strip()]
        return [
            event
            for event in self.events
            if all(spl_search.matches(expr, event.search_fields()) for expr in exprs)
        ]


# --- CIM data models: test_cim_required_fields


def _no_double_quote(value: str, event: Event) -> bool:
    return '"' not in value


def _object_category(value: str, event: Event) -> bool:
    return (value == "user") == ("account" in event.tags)


_VALIDITY: List[Tuple[re.Pattern, Callable[[str, Event], bool]]] = [
    (re.compile(r"^if\(like\((\w+),'%\\\"%'\),\s*null\(\),\s*\1\)$"), _no_double_quote),
    (
        re.compile(
            r'^if\(\(tag=="account" AND object_category=="user"\) OR '
            r'\(tag!="account" AND object_category!="user"\),\s*object_category,\s*null\(\)\)$'
        ),
        _object_category,
    ),
]


def _validity(field: Field) -> Callable[[str, Event], bool]:
    if field.validity == field.name:
        return lambda value, event: True
    for pattern, check in _VALIDITY:
        if pattern.match(field.validity):
            return check
    raise AssertionError(f"validity of {field.name} not understood here: {field.validity}")


def _field_counts(field: Field, events: Iterable[Event]) -> Tuple[int, int, int, List[str]]:
    """event_count, field_count, valid_field_count, invalid values: the stats of FieldTestHelper."""
    valid_of = _validity(field)
    event_count = field_count = valid_count = 0
    invalid: List[str] = []
    for event in events:
        event_count += 1
        values = list(event.fields.get(field.name, ()))
        if field.multi_value and values:
            values = ["\n".join(values)]  # | nomv
        field_count += len(values)
        if len(values) != 1:
            invalid.extend(values)
            continue
        value = values[0]
        valid = valid_of(value, event)
        if (
            valid
            and field.expected_values
            and not any(spl_search.value_matches(e, value) for e in field.expected_values)
        ):
            valid = False
        if valid and value.lower() in (n.lower() for n in field.negative_values):
            valid = False
        if valid:
            valid_count += 1
        else:
            invalid.append(value)
    return event_count, field_count, valid_count, invalid


def cim_fields_problems(index: Index, case: Mapping) -> List[str]:
    datasets = case["data_set"]
    fields: List[Field] = case["fields"]
    searches = [ds.search_constraints for ds in datasets] + [case["tag_stanza"]]
    conditions = [f.condition for f in fields if f.condition]
    events = index.search(*searches)
    if conditions:
        condition = spl_search.Bool("OR", tuple(spl_search.parse(c) for c in conditions))
        events = [e for e in events if spl_search.matches(condition, e.search_fields())]
    name = f"{case['tag_stanza']} {datasets[-1]}"
    if not fields:
        return [] if events else [f"{name}: 0 events mapped with the dataset"]
    if len(fields) > 1:
        counts = {(c[1], c[2]) for c in (_field_counts(f, events) for f in fields)}
        flat = {n for pair in counts for n in pair}
        return [] if len(flat) <= 1 else [f"{name}: field cluster extracted unevenly {counts}"]
    field = fields[0]
    if not events:
        return [] if field.type == "conditional" else [f"{name}: 0 events mapped with the dataset"]
    event_count, field_count, valid_count, invalid = _field_counts(field, events)
    if field_count == 0:
        return [f"{name}: field {field} is not extracted in any events"]
    if field_count > event_count:
        return [f"{name}: field {field} should not be multi-value"]
    if field_count < event_count:
        missing = [e.fields.get("actionId") for e in events if not e.fields.get(field.name)]
        return [f"{name}: field {field} is not extracted in some events ({missing})"]
    if valid_count != field_count:
        return [f"{name}: field {field} has invalid values {sorted(set(invalid))}"]
    return []


def models_of_tags(tags: Sequence[str], handler: DataModelHandler) -> List[str]:
    return sorted(
        model.name
        for model in handler.data_models
        if any(list(model.get_mapped_datasets(list(tags))))
    )


def multiple_models_problems(index: Index, app: Path) -> List[str]:
    """test_eventtype_mapped_multiple_cim_datamodel: no eventtype maps to two data models."""
    handler = DataModelHandler(str(DATA_MODELS))
    per_eventtype: Dict[str, set] = {}
    for event in index.events:
        models = set(models_of_tags(event.tags, handler))
        for eventtype in event.eventtypes:
            per_eventtype.setdefault(eventtype, set()).update(models)
    return [
        f"eventtype {name} maps to several data models: {sorted(models)}"
        for name, models in per_eventtype.items()
        if len(models) > 1
    ]


def assigned_datamodels(tags: Sequence[str]) -> List[str]:
    """The data models test_datamodels derives from an event's tags."""
    matched = {dm: t for dm, t in dict_datamodel_tag.items() if all(tag in tags for tag in t)}
    return sorted(
        dm
        for dm, t in matched.items()
        if not any(set(t).issubset(set(other)) and dm != o for o, other in matched.items())
    )


def render(values: Sequence[str]) -> Optional[str]:
    """A field as pytest-splunk-addon's getFieldValuesDict shows it (str of a JSON result)."""
    if not values:
        return None
    return values[0] if len(values) == 1 else str(list(values))


def not_allowed_in_props(app: Path) -> List[str]:
    """test_cim_fields_not_allowed_in_props: fields Splunk ES provides must not be extracted."""
    cases = test_cases(cim_generator(app), "splunk_searchtime_cim_fields_not_allowed_in_props")
    return [
        f"{f['stanza']} {f['classname']} {f['name']}" for _, case in cases for f in case["fields"]
    ]


def recommended_fields_problems(app: Path, samples: Sequence[Sample]) -> List[str]:
    """test_cim_fields_recommended: each sample lists every field its data model recommends (in
    cim_fields, missing_recommended_fields or exceptions)."""
    generator = cim_generator(app, [sample.psa_event for sample in samples])
    problems = []
    for case_id, case in test_cases(generator, "splunk_searchtime_cim_fields_recommended"):
        definition = (
            cim_recommended_fields.get(case["cim_version"]) or cim_recommended_fields["latest"]
        )
        wanted = set()
        for name, fields in definition.get(case["datamodel"], {}).items():
            if name in ("BaseEvent", case["datamodel"]) or name in case["datasets"]:
                wanted.update(fields)
        missing = sorted(wanted - set(case["fields"]))
        if missing:
            problems.append(f"{case_id}: sample omits recommended fields {missing}")
    return problems
