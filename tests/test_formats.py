"""The formats an integrator reads about: `cart-schedule schema …` and the examples of docs/FORMATS.md."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from models import InputError, load_instance, load_schedule
from models.events import load_events
from models.scenarios import apply_scenario, parse_scenario
from scheduler.workflows.replan import apply_events, resolve_as_of
from tests.helpers import example_instance, example_schedule
from validator import validate

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ROOT / "docs" / "FORMATS.md"
KINDS = ("instance", "schedule", "events", "scenario")
DRAFT = "https://json-schema.org/draft/2020-12/schema"

runner = CliRunner()


def _schema(kind: str, tmp_path: Path) -> dict[str, Any]:
    target = tmp_path / f"{kind}.schema.json"
    result = runner.invoke(app, ["schema", kind, "-o", str(target)])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    return document


def _validator(schema: dict[str, Any]) -> Any:
    """A JSON Schema validator (jsonschema, else jsonschema_rs), or None when neither is installed."""
    try:
        import jsonschema

        jsonschema.Draft202012Validator.check_schema(schema)
        return jsonschema.Draft202012Validator(schema)
    except ImportError:
        pass
    try:
        import jsonschema_rs
    except ImportError:
        return None
    return jsonschema_rs.validator_for(schema)


def _errors(schema: dict[str, Any], document: Any) -> list[str]:
    validator = _validator(schema)
    if validator is None:
        pytest.skip("no JSON Schema validator installed (jsonschema or jsonschema_rs)")
    return [str(error) for error in validator.iter_errors(document)]


@pytest.mark.parametrize("kind", KINDS)
def test_the_schema_command_writes_a_json_schema_of_each_format(kind: str, tmp_path: Path) -> None:
    """A draft 2020-12 schema of an object (or, for events, an object or a list) with its fields."""
    schema = _schema(kind, tmp_path)
    assert schema["$schema"] == DRAFT
    _validator(schema)  # it compiles, where a validator is installed
    printed = runner.invoke(app, ["schema", kind])
    assert printed.exit_code == 0 and json.loads(printed.stdout) == schema
    if kind == "events":
        shapes = schema["anyOf"]
        assert {"$ref": "#/$defs/Events"} in shapes
        assert any(shape.get("type") == "array" for shape in shapes)
        assert set(schema["$defs"]["Events"]["properties"]) == {"format", "as_of", "events"}
        return
    fields = {
        "instance": {"format", "name", "site", "horizon", "patients", "in_progress"},
        "schedule": {"format", "instance", "status", "objective", "bound", "assignments"},
        "scenario": {"name", "changes"},
    }[kind]
    assert fields <= set(schema["properties"])


def test_the_event_and_change_kinds_of_the_schemas_are_every_kind() -> None:
    """Every event kind and every scenario change kind is in its schema, with its own definition."""
    result = runner.invoke(app, ["schema", "events"])
    events = json.loads(result.stdout)
    mapping = events["anyOf"][1]["items"]["discriminator"]["mapping"]
    from models.events import KINDS as EVENT_KINDS

    assert sorted(mapping) == sorted(EVENT_KINDS)
    scenario = json.loads(runner.invoke(app, ["schema", "scenario"]).stdout)
    changes = scenario["properties"]["changes"]["items"]["discriminator"]["mapping"]
    assert sorted(changes) == [
        "chairs_changed",
        "operators_added",
        "qc_capacity_changed",
        "starts_per_day_changed",
        "suite_added",
        "suite_removed",
    ]


def test_the_spec_examples_fit_the_instance_and_schedule_schemas(tmp_path: Path) -> None:
    """The SPEC's example files (copied to tests/data/) validate against the schemas we publish."""
    instance, schedule = example_instance(), example_schedule()
    load_instance(instance)
    load_schedule(schedule)
    assert _errors(_schema("instance", tmp_path), instance) == []
    assert _errors(_schema("schedule", tmp_path), schedule) == []
    broken = {key: value for key, value in instance.items() if key != "site"}
    assert _errors(_schema("instance", tmp_path), broken) != []


def _examples() -> list[Any]:
    text = FORMATS.read_text(encoding="utf-8")
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]


def _kind(example: Any) -> str:
    if isinstance(example, list) or (isinstance(example, dict) and "events" in example):
        return "events"
    if isinstance(example, dict) and "changes" in example:
        return "scenario"
    formats = {"cart-schedule-instance/1": "instance", "cart-schedule/1": "schedule"}
    assert isinstance(example, dict) and example.get("format") in formats, example
    return formats[example["format"]]


def test_every_example_of_the_formats_page_parses_and_fits_its_schema(tmp_path: Path) -> None:
    """Each ```json block of docs/FORMATS.md is a document of one of the four formats, valid for the
    loaders and for its JSON Schema; every format has an example."""
    examples = _examples()
    kinds = [_kind(example) for example in examples]
    assert set(kinds) == set(KINDS)
    schemas = {kind: _schema(kind, tmp_path) for kind in KINDS}
    for kind, example in zip(kinds, examples, strict=True):
        if kind == "instance":
            load_instance(example)
        elif kind == "schedule":
            load_schedule(example)
        elif kind == "events":
            load_events(example)
        else:
            parse_scenario(example)
        assert _errors(schemas[kind], example) == [], kind


def test_the_examples_of_the_formats_page_belong_together() -> None:
    """The schedule is a valid solution of the instance; the events apply to that plan; the
    scenario applies to the instance; together they show every event kind and change kind."""
    examples = _examples()
    by_kind: dict[str, list[Any]] = {}
    for example in examples:
        by_kind.setdefault(_kind(example), []).append(example)
    [instance_doc], [schedule_doc] = by_kind["instance"], by_kind["schedule"]
    instance, schedule = load_instance(instance_doc), load_schedule(schedule_doc)
    assert validate(instance, schedule) == []

    from models.events import KINDS as EVENT_KINDS

    seen_events = set()
    for document in by_kind["events"]:
        events = load_events(document, instance)  # references resolve against the instance
        apply_events(instance, schedule, events, resolve_as_of(instance, events))
        seen_events |= {event.kind for event in events.events}
    assert seen_events == set(EVENT_KINDS)

    seen_changes = set()
    for document in by_kind["scenario"]:
        scenario = parse_scenario(document)
        load_instance(apply_scenario(instance_doc, scenario))
        seen_changes |= {change.kind for change in scenario.changes}
    assert len(seen_changes) == 6


def test_an_object_where_an_id_belongs_is_an_instance_problem_not_a_crash() -> None:
    """Found by schemathesis once the plan body was typed: `"patient": {}` in an in-progress batch
    crashed the uniqueness check (unhashable) and answered 500."""
    document = example_instance()
    document["in_progress"][0]["patient"] = {}
    document["patients"][0]["id"] = []
    with pytest.raises(InputError) as raised:
        load_instance(document)
    paths = {problem.path for problem in raised.value.problems}
    assert {"in_progress[0].patient", "patients[0].id"} <= paths
