"""The exchange formats: round trips, every input problem at once with its JSON path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from models import InstanceError, load_instance, load_schedule, to_json
from models.instance import Instance
from models.schedule import Schedule
from tests.helpers import example_instance, example_schedule


def test_instance_and_schedule_round_trip_unchanged() -> None:
    """Loading and dumping the SPEC examples gives back the same documents."""
    instance_doc = example_instance()
    assert json.loads(to_json(load_instance(copy.deepcopy(instance_doc)))) == instance_doc
    schedule_doc = example_schedule()
    assert json.loads(to_json(load_schedule(copy.deepcopy(schedule_doc)))) == schedule_doc


def test_generated_instances_round_trip() -> None:
    """A generated instance of every size survives a dump and reload unchanged."""
    from generator import generate_instance

    for size in ("xs", "s", "m", "l", "xl"):
        document = generate_instance(size, 1, "normal")
        assert json.loads(to_json(load_instance(copy.deepcopy(document)))) == document


def test_type_and_reference_problems_are_reported_together() -> None:
    """A coordinator fixing a file sees every problem in one pass, each with its JSON path."""
    document = example_instance()
    document["products"][0]["steps"][0]["hours"] = -1  # a negative duration (type stage)
    document["patients"][0]["apheresis_window"]["earliest"] = "2027-05-01"  # window reversed
    document["patients"][1]["hospital"] = "H99"  # an unknown reference
    document["operators"][0]["roster"][0]["shift"] = "N"  # a shift the site does not have
    document["patients"][2]["apheresis_window"]["latest"] = "2027-13-01"  # a malformed date
    with pytest.raises(InstanceError) as raised:
        load_instance(document)
    paths = {problem.path for problem in raised.value.problems}
    assert paths == {
        "products[0].steps[0].hours",
        "patients[0].apheresis_window",
        "patients[1].hospital",
        "operators[0].roster[0].shift",
        "patients[2].apheresis_window.latest",
    }
    assert "earliest 2027-05-01 is after latest" in str(raised.value)


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (
            lambda d: d["patients"].append(copy.deepcopy(d["patients"][0])),
            "patients[6].id",
            "duplicate patient",
        ),
        (
            lambda d: d.update(format="cart-schedule-instance/2"),
            "format",
            "cart-schedule-instance/1",
        ),
        (
            lambda d: d["patients"][3].update(locked=True, previous=None),
            "patients[3].locked",
            "previous.apheresis_date",
        ),
        (lambda d: d["qc_lab"]["capacity"].pop("sterility"), "qc_lab.capacity", "sterility"),
        (
            lambda d: d["products"][0]["steps"][0].update(skill="welding"),
            "products[0].steps[0].skill",
            "welding",
        ),
        (
            lambda d: d["products"][0].update(suite_types=["bioreactor"]),
            "products[0].suite_types[0]",
            "bioreactor",
        ),
        (lambda d: d["hospitals"][0].pop("name"), "hospitals[0].name", "required"),
        (
            lambda d: d["patients"][0].update(weight=-2),
            "patients[0].weight",
            "greater than or equal to 0",
        ),
        (lambda d: d["site"].update(timezone="Europe/Gent"), "site.timezone", "Europe/Gent"),
        (lambda d: d["in_progress"][0].update(position=9), "in_progress[0].position", "not 9"),
        (
            lambda d: d["in_progress"][0].update(patient=d["patients"][0]["id"]),
            "in_progress[0].patient",
            "new patient",
        ),
        (
            lambda d: d["in_progress"][0].update(manufacturing_start="2027-03-13 07:00"),
            "in_progress[0].manufacturing_start",
            "YYYY-MM-DDTHH:MM",
        ),
        (
            lambda d: d["operators"][0]["roster"][0].update(shift={}),
            "operators[0].roster[0].shift",
            "string",
        ),
        (
            lambda d: d["operators"][0]["roster"][0].update(shift="Z"),
            "operators[0].roster[0].shift",
            "unknown shift 'Z'",
        ),
    ],
    ids=[
        "duplicate-id",
        "unknown-format",
        "locked-without-previous",
        "missing-qc-capacity",
        "skill-nobody-has",
        "suite-type-nobody-has",
        "hospital-name-required",
        "negative-weight",
        "unknown-timezone",
        "position-beyond-suite",
        "in-progress-id-clash",
        "malformed-datetime",
        "roster-shift-not-a-text",
        "roster-shift-unknown",
    ],
)
def test_each_instance_error_names_its_place(change: Any, path: str, words: str) -> None:
    """Every SPEC section 7/8 instance error is reported at its JSON path."""
    document = example_instance()
    change(document)
    with pytest.raises(InstanceError) as raised:
        load_instance(document)
    matching = [p for p in raised.value.problems if p.path == path]
    assert matching, f"no problem at {path}: {raised.value}"
    assert any(words in p.message for p in matching)


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    """A broken file is reported with where the JSON breaks, not a traceback."""
    broken = tmp_path / "plan.json"
    broken.write_text('{"format": "cart-schedule-instance/1",\n "name": }')
    with pytest.raises(InstanceError) as raised:
        load_instance(broken)
    assert "line 2" in str(raised.value)


def test_json_schemas_describe_both_formats() -> None:
    """The exported JSON Schemas list the SPEC's top-level fields."""
    assert {"site", "horizon", "patients", "in_progress"} <= set(
        Instance.model_json_schema()["properties"]
    )
    assert {"status", "objective", "bound", "assignments"} <= set(
        Schedule.model_json_schema()["properties"]
    )
