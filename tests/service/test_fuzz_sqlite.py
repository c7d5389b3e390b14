"""schemathesis on the service backed by an SQLite file: no 5xx, no answer outside the schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.fuzzing import fuzz_every_operation


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_schema(
    database_url: str, tmp_path: Path
) -> None:
    """Every operation, fuzzed with each role's key, answers within its schema and never 5xx."""
    fuzz_every_operation(database_url, tmp_path)
