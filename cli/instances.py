"""Instances from nothing: generate a random one, print the JSON Schema of the formats."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import EXIT_VIOLATIONS, check_writable, err, fail, out
from models import InputError, Instance, Schedule, load_instance, to_json, write_json

SIZE_NAMES = "xs, s, m, l, xl"


class SchemaKind(StrEnum):
    """The exchange formats: instance and schedule (SPEC), events and what-if scenario."""

    instance = "instance"
    schedule = "schedule"
    events = "events"
    scenario = "scenario"


def generate(
    size: Annotated[str, typer.Option("--size", help=f"Instance size: {SIZE_NAMES}.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Where to write (default: stdout)."),
    ] = None,
    scenario: Annotated[
        str, typer.Option("--scenario", help="Scenario, e.g. normal, overload, dst, holidays.")
    ] = "normal",
) -> None:
    """Generate a random instance of a size and scenario; the same seed gives the same instance."""
    from generator import SCENARIOS, SIZES, generate_instance

    if size not in SIZES:
        fail(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    if scenario not in SCENARIOS:
        fail(f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    if output is not None:
        check_writable(output)

    document = generate_instance(size, seed, scenario)
    try:
        instance = load_instance(document)
    except InputError as error:
        console = err()
        console.print("error: the generated instance fails its own checks (a generator bug):")
        for problem in error.problems:
            console.print(f"  {problem}", markup=False)
        raise typer.Exit(EXIT_VIOLATIONS) from error

    if output is None:
        sys.stdout.write(to_json(instance))
        return
    write_json(instance, output)
    out().print(
        f"wrote {output}: {instance.name}, {len(instance.patients)} patients, "
        f"{len(instance.in_progress)} in progress, {len(instance.suites)} suites, "
        f"{len(instance.operators)} operators, {instance.horizon.days} days",
        markup=False,
    )


def schema_document(kind: SchemaKind) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one format, as `cart-schedule schema KIND` writes it."""
    from pydantic import TypeAdapter

    from models.events import EventsDocument
    from models.scenarios import Scenario

    body: dict[str, Any]
    if kind is SchemaKind.instance:
        body = Instance.model_json_schema()
    elif kind is SchemaKind.schedule:
        body = Schedule.model_json_schema()
    elif kind is SchemaKind.events:
        body = TypeAdapter(EventsDocument).json_schema()
    else:
        body = Scenario.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body}


def schema(
    kind: Annotated[
        SchemaKind,
        typer.Argument(help="Which format: instance, schedule, events or scenario."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Where to write (default: stdout)."),
    ] = None,
) -> None:
    """Print the JSON Schema of a format: instance, schedule, events (replan) or scenario (whatif)."""
    text = json.dumps(schema_document(kind), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        check_writable(output)
        output.write_text(text, encoding="utf-8")
