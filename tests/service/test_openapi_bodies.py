"""The request bodies of /openapi.json are typed: a client generated from it can submit a plan, events and scenarios."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app

ROOT = Path(__file__).resolve().parents[2]
BODIES = {
    ("/v1/plans", "post"): "Instance",
    ("/v1/plans/{plan_id}/replan", "post"): "Events",
    ("/v1/plans/{plan_id}/scenarios", "post"): "Scenario",
}


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    database = tmp_path_factory.mktemp("openapi") / "openapi.db"
    document: dict[str, Any] = create_app(f"sqlite:///{database}", run_solver=False).openapi()
    return document


def _body_schema(openapi: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    body = openapi["paths"][path][method]["requestBody"]
    assert body["required"] is True
    schema: dict[str, Any] = body["content"]["application/json"]["schema"]
    return schema


def _resolve(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = openapi["components"]["schemas"][name]
    return schema


def _refs(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        found = {schema["$ref"]} if isinstance(schema.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_refs(value) for value in schema))
    return set()


@pytest.mark.parametrize(("operation", "model"), BODIES.items(), ids=lambda v: str(v))
def test_the_plan_event_and_scenario_bodies_have_typed_schemas(
    openapi: dict[str, Any], operation: tuple[str, str], model: str
) -> None:
    """Each body names its format's schema (a `$ref` to a component with `properties`), not a bare object."""
    schema = _body_schema(openapi, *operation)
    assert "$ref" in schema or "properties" in schema or "anyOf" in schema
    shapes = schema.get("anyOf", [schema])
    assert any(_resolve(openapi, shape).get("title") == model for shape in shapes)
    for shape in shapes:
        resolved = _resolve(openapi, shape)
        assert "properties" in resolved or resolved.get("type") == "array"
    for ref in _refs(schema) | _refs(openapi["components"]["schemas"]):
        assert ref.removeprefix("#/components/schemas/") in openapi["components"]["schemas"], ref


def test_the_events_body_takes_the_document_or_its_bare_list(openapi: dict[str, Any]) -> None:
    """As `replan` does: `{format, as_of, events}` or `[event, …]`, each event one of the kinds."""
    shapes = _body_schema(openapi, "/v1/plans/{plan_id}/replan", "post")["anyOf"]
    document = _resolve(openapi, shapes[0])
    assert set(document["properties"]) == {"format", "as_of", "events"}
    kinds = shapes[1]["items"]["discriminator"]["mapping"]
    assert "suite_down" in kinds and "qc_retest" in kinds


def test_the_formats_page_examples_fit_the_openapi_bodies(openapi: dict[str, Any]) -> None:
    """What a generated client would check before sending: the examples of docs/FORMATS.md fit."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    text = (ROOT / "docs" / "FORMATS.md").read_text(encoding="utf-8")
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]

    def body(path: str) -> Any:
        schema = {**_body_schema(openapi, path, "post"), "components": openapi["components"]}
        return jsonschema_rs.validator_for(schema)

    plans = body("/v1/plans")
    replan = body("/v1/plans/{plan_id}/replan")
    scenarios = body("/v1/plans/{plan_id}/scenarios")
    checked = 0
    for example in examples:
        if isinstance(example, list) or "events" in example:
            validator = replan
        elif "changes" in example:
            validator = scenarios
        elif example.get("format") == "cart-schedule-instance/1":
            validator = plans
        else:
            continue
        assert [str(e) for e in validator.iter_errors(example)] == []
        checked += 1
    assert checked >= 3
    assert not plans.is_valid({"format": "cart-schedule-instance/1"})
    assert not replan.is_valid([{"kind": "volcano"}])
    assert not scenarios.is_valid({"name": "x", "changes": [{"kind": "magic"}]})
