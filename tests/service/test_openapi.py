"""The OpenAPI document: every answer typed, the former path deprecated (the fuzzing: test_fuzz_*.py)."""

from __future__ import annotations

from pathlib import Path

from api.app import create_app


def _typed(schema: dict[str, object]) -> bool:
    """A schema that says what the answer holds: a model, a list of models or a binary file."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        items = schema.get("items")
        return isinstance(items, dict) and _typed(items)
    return schema.get("type") == "string" and schema.get("format") == "binary"


def test_every_operation_declares_a_typed_success_answer(tmp_path: Path) -> None:
    """Each operation's 2xx answer is a named model (or a file), never a bare object or nothing."""
    document = create_app(f"sqlite:///{tmp_path / 'openapi.db'}", run_solver=False).openapi()
    untyped = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            success = {c: r for c, r in operation["responses"].items() if c.startswith("2")}
            assert success, f"{method.upper()} {path} declares no 2xx answer"
            for code, response in success.items():
                contents = response.get("content", {})
                if not contents or not all(_typed(c.get("schema", {})) for c in contents.values()):
                    untyped.append(f"{method.upper()} {path} {code}")
    assert untyped == []


def test_the_former_explain_path_is_deprecated_and_suggestions_is_not(tmp_path: Path) -> None:
    """`/explain/{patient}` is kept for old clients, marked deprecated; `/suggestions/{patient}` is its name."""
    paths = create_app(f"sqlite:///{tmp_path / 'openapi.db'}", run_solver=False).openapi()["paths"]
    assert paths["/v1/plans/{plan_id}/explain/{patient_id}"]["get"]["deprecated"] is True
    assert "deprecated" not in paths["/v1/plans/{plan_id}/suggestions/{patient_id}"]["get"]
