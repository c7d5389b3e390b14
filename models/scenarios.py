"""What-if scenarios: a plan's instance with changed inputs.

A scenario is a list of changes a coordinator would try — two more operators on weekends, one
suite less, more QC capacity, another chair — applied to a copy of an instance document. The
result is an ordinary instance, solved like any other, so its KPIs compare side by side.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from models.checks import Problem
from models.instance import Identifier, SpecModel
from models.io import InputError, load_instance, problems_of

Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
WEEKDAYS: tuple[Weekday, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class ScenarioError(InputError):
    """A scenario that cannot be applied; every problem with its JSON path."""


class OperatorsAdded(SpecModel):
    """`count` new operators with `skills`, rostered on every `weekdays` date of the horizon in `shifts`."""

    kind: Literal["operators_added"]
    count: Annotated[int, Field(ge=1, le=100)] = 1
    skills: Annotated[list[Identifier], Field(min_length=1)]
    weekdays: Annotated[list[Weekday], Field(min_length=1, default_factory=lambda: list(WEEKDAYS))]
    shifts: list[Identifier] | None = None  # default: every site shift


class SuiteRemoved(SpecModel):
    """A suite taken out of the plan (it must hold no in-progress batch)."""

    kind: Literal["suite_removed"]
    suite: Identifier


class SuiteAdded(SpecModel):
    """A new suite of a type, with its number of positions."""

    kind: Literal["suite_added"]
    type: Identifier
    positions: Annotated[int, Field(ge=1, le=100)] = 1
    id: Identifier | None = None


class QcDailyCapacityChanged(SpecModel):
    """A new daily capacity for one assay, on every date.

    Named apart from the event `qc_capacity_changed` (`models.events.QcCapacityChanged`, some
    dates only): both are schemas of one OpenAPI document.
    """

    kind: Literal["qc_capacity_changed"]
    assay: Identifier
    capacity: Annotated[int, Field(ge=0)]


class ChairsChanged(SpecModel):
    """A hospital's apheresis chairs on one weekday."""

    kind: Literal["chairs_changed"]
    hospital: Identifier
    weekday: Weekday
    capacity: Annotated[int, Field(ge=0)]


class StartsPerDayChanged(SpecModel):
    """The site's daily limit of manufacturing starts (null: no limit)."""

    kind: Literal["starts_per_day_changed"]
    max_starts_per_day: Annotated[int, Field(ge=0)] | None


Change = Annotated[
    OperatorsAdded
    | SuiteRemoved
    | SuiteAdded
    | QcDailyCapacityChanged
    | ChairsChanged
    | StartsPerDayChanged,
    Field(discriminator="kind"),
]


class Scenario(SpecModel):
    """A named set of changes to a plan's inputs."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    changes: Annotated[list[Change], Field(min_length=1)]


def parse_scenario(data: Any) -> Scenario:
    """A scenario from JSON data; ScenarioError lists every problem with its path."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(problems_of(error)) from error


def apply_scenario(document: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """The instance document with the scenario's changes; ScenarioError when a change does not fit it."""
    changed = copy.deepcopy(document)
    changed["name"] = f"{document['name']}--{_slug(scenario.name)}"
    problems: list[Problem] = []
    for index, change in enumerate(scenario.changes):
        _apply(changed, change, f"changes[{index}]", problems)
    if problems:
        raise ScenarioError(problems)
    try:
        load_instance(changed)
    except InputError as error:
        raise ScenarioError(
            [Problem("changes", f"the changed instance is not valid: {p}") for p in error.problems]
        ) from error
    return changed


def _slug(name: str) -> str:
    return (
        "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip()).strip("-")
        or "scenario"
    )


def _ids(document: dict[str, Any], key: str) -> set[str]:
    return {item["id"] for item in document.get(key, [])}


def _apply(doc: dict[str, Any], change: Any, path: str, problems: list[Problem]) -> None:
    if isinstance(change, OperatorsAdded):
        _add_operators(doc, change, path, problems)
    elif isinstance(change, SuiteRemoved):
        if change.suite not in _ids(doc, "suites"):
            problems.append(Problem(f"{path}.suite", f"unknown suite {change.suite!r}"))
        elif any(batch["suite"] == change.suite for batch in doc.get("in_progress", [])):
            problems.append(
                Problem(f"{path}.suite", f"suite {change.suite!r} holds in-progress batches")
            )
        else:
            doc["suites"] = [s for s in doc["suites"] if s["id"] != change.suite]
    elif isinstance(change, SuiteAdded):
        types = {suite["type"] for suite in doc["suites"]} | {
            t for p in doc["products"] for t in p["suite_types"]
        }
        if change.type not in types:
            problems.append(Problem(f"{path}.type", f"no product uses suite type {change.type!r}"))
            return
        suite_id = change.id or _fresh_id(_ids(doc, "suites"), "WHATIF-S")
        if suite_id in _ids(doc, "suites"):
            problems.append(Problem(f"{path}.id", f"suite {suite_id!r} already exists"))
            return
        doc["suites"].append({"id": suite_id, "type": change.type, "positions": change.positions})
    elif isinstance(change, QcDailyCapacityChanged):
        if change.assay not in doc["qc_lab"]["capacity"]:
            problems.append(Problem(f"{path}.assay", f"unknown assay {change.assay!r}"))
        else:
            doc["qc_lab"]["capacity"][change.assay] = change.capacity
    elif isinstance(change, ChairsChanged):
        hospital = next((h for h in doc["hospitals"] if h["id"] == change.hospital), None)
        if hospital is None:
            problems.append(Problem(f"{path}.hospital", f"unknown hospital {change.hospital!r}"))
        else:
            hospital["apheresis_capacity"][change.weekday] = change.capacity
    elif isinstance(change, StartsPerDayChanged):
        if change.max_starts_per_day is None:
            doc["site"].pop("max_starts_per_day", None)
        else:
            doc["site"]["max_starts_per_day"] = change.max_starts_per_day


def _fresh_id(taken: set[str], prefix: str) -> str:
    number = 1
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"


def _add_operators(
    doc: dict[str, Any], change: OperatorsAdded, path: str, problems: list[Problem]
) -> None:
    shift_ids = [shift["id"] for shift in doc["site"]["shifts"]]
    shifts = change.shifts or shift_ids
    for index, shift in enumerate(shifts):
        if shift not in shift_ids:
            problems.append(Problem(f"{path}.shifts[{index}]", f"unknown shift {shift!r}"))
    if problems:
        return
    start = date.fromisoformat(doc["horizon"]["start"])
    days = [start + timedelta(days=i) for i in range(doc["horizon"]["days"])]
    wanted = set(change.weekdays)
    roster = [
        {"date": d.isoformat(), "shift": s}
        for d in days
        if WEEKDAYS[d.weekday()] in wanted
        for s in shifts
    ]
    for _ in range(change.count):
        operator_id = _fresh_id(_ids(doc, "operators"), "WHATIF-OP")
        doc["operators"].append(
            {"id": operator_id, "skills": list(change.skills), "roster": roster}
        )
