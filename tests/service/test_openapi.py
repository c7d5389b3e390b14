"""The OpenAPI document: schemathesis against the live /openapi.json (no 5xx, no answer outside its schema), typed answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from api.app import create_app
from tests.service.support import (
    HORIZON_START,
    Server,
    booking_site,
    new_patient,
    solve_and_publish,
)

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def _schemathesis(server: Server, key: str, report: Path) -> subprocess.CompletedProcess[str]:
    # One worker: the coverage phase of schemathesis is not thread-safe on CPython 3.11.7 (an AST
    # recursion-depth SystemError inside hypothesis when two workers build strategies at once).
    # 15 examples per operation: at 30 the two backends' runs took 254 s and 164 s of a CI run
    # at the 20-minute limit, one after the other on one pytest worker.
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{server.url}/openapi.json",
            "-H",
            f"X-API-Key: {key}",
            "--checks",
            CHECKS,
            "--max-examples",
            "15",
            "--workers",
            "1",
            "--seed",
            "1",
            "--report",
            "junit",
            "--report-dir",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=report.parent,  # its cache stays out of the checkout
    )


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_schema(
    server: Server, coordinator: httpx.Client, keys: dict[str, str], tmp_path: Path
) -> None:
    """Fuzz every operation with each role's key, with a published plan so bookings reach the real logic."""
    planned = new_patient("H1", HORIZON_START, HORIZON_START, id="P1")
    solve_and_publish(coordinator, booking_site(patients=[planned]))
    for role in ("coordinator", "order-system"):
        run = _schemathesis(server, keys[role], tmp_path / role)
        assert run.returncode == 0, (
            f"schemathesis with the {role} key:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
        )
        assert "Runtime Error" not in run.stdout


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
