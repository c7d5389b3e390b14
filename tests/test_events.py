"""The events document: both forms, every problem at once with its JSON path."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from generator import generate_instance
from models import InputError, InstanceError, load_instance
from models.events import (
    BatchFailed,
    EventsError,
    QcRetest,
    SuiteDown,
    load_events,
    parse_events,
)

INSTANCE = load_instance(generate_instance("xs", 1, "normal"))
PATIENT = INSTANCE.patients[0].id
SUITE = INSTANCE.suites[0].id
ASSAY = next(iter(INSTANCE.qc_lab.capacity))


def problems(document: Any) -> list[str]:
    """Every problem of an events document checked against the xs site, as `path: message`."""
    with pytest.raises(EventsError) as error:
        load_events(document, INSTANCE)
    assert isinstance(error.value, InputError)
    return [str(p) for p in error.value.problems]


def test_a_plain_list_of_events_is_a_document_without_as_of() -> None:
    document = load_events(
        [
            {
                "kind": "suite_down",
                "suite": SUITE,
                "start": "2026-12-03T00:00",
                "end": "2026-12-04T12:00",
            }
        ],
        INSTANCE,
    )
    assert document.as_of is None
    event = document.events[0]
    assert (
        isinstance(event, SuiteDown)
        and event.end == datetime(2026, 12, 4, 12, 0)
        and event.label == "suite_down"
    )


def test_the_object_form_carries_as_of_and_every_kind_reads() -> None:
    window = {"earliest": "2026-12-10", "latest": "2026-12-14"}
    document = load_events(
        {
            "format": "cart-schedule-events/1",
            "as_of": "2026-12-03T12:00",
            "events": [
                {
                    "id": "e1",
                    "kind": "batch_failed",
                    "patient": PATIENT,
                    "suite_free_from": "2026-12-08T00:00",
                    "apheresis_window": window,
                },
                {
                    "id": "e2",
                    "kind": "qc_retest",
                    "patient": PATIENT,
                    "assay": ASSAY,
                    "from": "2026-12-12",
                },
                {
                    "id": "e3",
                    "kind": "qc_capacity_changed",
                    "assay": ASSAY,
                    "dates": ["2026-12-07"],
                    "capacity": 1,
                },
                {
                    "id": "e4",
                    "kind": "operator_absent",
                    "operator": INSTANCE.operators[0].id,
                    "dates": ["2026-12-07"],
                },
                {
                    "id": "e5",
                    "kind": "patient_delayed",
                    "patient": INSTANCE.patients[1].id,
                    "apheresis_window": window,
                },
                {"id": "e6", "kind": "patient_cancelled", "patient": INSTANCE.patients[2].id},
            ],
        },
        INSTANCE,
    )
    assert document.as_of == datetime(2026, 12, 3, 12, 0)
    failed, retest = document.events[0], document.events[1]
    assert isinstance(failed, BatchFailed) and failed.weight_factor == 2 and failed.weight is None
    assert isinstance(retest, QcRetest) and retest.from_date == date(2026, 12, 12)
    assert [e.label for e in document.events] == ["e1", "e2", "e3", "e4", "e5", "e6"]


def test_format_problems_are_all_listed_with_their_paths() -> None:
    found = problems(
        {
            "format": "cart-schedule-events/9",
            "as_of": "tomorrow",
            "events": [
                {
                    "kind": "suite_down",
                    "suite": SUITE,
                    "start": "2026-12-03",
                    "end": "2026-12-04T00:00",
                },
                {"kind": "volcano"},
                {"suite": SUITE},
                {"kind": "operator_absent", "operator": "OP01", "dates": []},
                {
                    "kind": "batch_failed",
                    "patient": PATIENT,
                    "apheresis_window": {"earliest": "2026-12-10", "latest": "2026-12-12"},
                    "weight_factor": 0,
                    "colour": "red",
                },
                7,
            ],
        }
    )
    paths = [line.split(":")[0] for line in found]
    assert paths == [
        "format",
        "as_of",
        "events[0].start",
        "events[1].kind",
        "events[2].kind",
        "events[3].dates",
        "events[4].suite_free_from",
        "events[4].weight_factor",
        "events[4].colour",
        "events[5]",
    ]
    assert "unknown event kind 'volcano'" in found[3]


def test_references_are_checked_against_the_instance() -> None:
    found = problems(
        [
            {
                "id": "a",
                "kind": "suite_down",
                "suite": SUITE,
                "start": "2026-12-03T00:00",
                "end": "2026-12-04T00:00",
            },
            {"id": "a", "kind": "operator_absent", "operator": "NOBODY", "dates": ["2026-12-03"]},
            {
                "kind": "suite_down",
                "suite": "S99",
                "start": "2026-12-05T00:00",
                "end": "2026-12-04T00:00",
            },
            {"kind": "qc_capacity_changed", "assay": "ph", "dates": ["2026-12-03"], "capacity": 3},
            {
                "kind": "patient_delayed",
                "patient": "P9999",
                "apheresis_window": {"earliest": "2026-12-12", "latest": "2026-12-10"},
            },
            {"kind": "qc_retest", "patient": PATIENT, "assay": "ph", "from": "2026-12-10"},
            {
                "kind": "patient_added",
                "patient": INSTANCE.patients[0].model_dump(mode="json", exclude_unset=True)
                | {"hospital": "H99"},
            },
            {"kind": "patient_cancelled", "patient": PATIENT},
            {
                "kind": "patient_delayed",
                "patient": PATIENT,
                "apheresis_window": {"earliest": "2026-12-12", "latest": "2026-12-14"},
            },
        ]
    )
    assert found == [
        "events[1].id: duplicate event id 'a' (also events[0])",
        "events[1].operator: unknown operator 'NOBODY'",
        "events[2].suite: unknown suite 'S99'",
        "events[2]: start 2026-12-05T00:00 is not before end 2026-12-04T00:00",
        f"events[3].assay: unknown assay 'ph' (assays: {', '.join(sorted(INSTANCE.qc_lab.capacity))})",
        "events[4].patient: unknown patient 'P9999' (neither a patient nor an in-progress batch)",
        "events[4].apheresis_window: earliest 2026-12-12 is after latest 2026-12-10",
        "events[5].assay: unknown assay 'ph'",
        f"events[6].patient.id: patient {PATIENT!r} already exists",
        "events[6].patient.hospital: unknown hospital 'H99'",
        f"events[8].patient: patient {PATIENT!r} is cancelled by events[7]",
    ]


def test_a_patient_added_earlier_in_the_document_can_be_referred_to() -> None:
    added = INSTANCE.patients[0].model_dump(mode="json", exclude_unset=True) | {"id": "P-NEW"}
    document = load_events(
        [
            {"kind": "patient_added", "patient": added},
            {
                "kind": "patient_delayed",
                "patient": "P-NEW",
                "apheresis_window": {"earliest": "2026-12-12", "latest": "2026-12-14"},
            },
        ],
        INSTANCE,
    )
    assert len(document.events) == 2


def test_a_file_that_is_not_json_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text("[{")
    with pytest.raises(EventsError) as error:
        load_events(path)
    assert error.value.source == str(path) and "not valid JSON" in error.value.problems[0].message
    path.write_text(json.dumps({"events": {}}))
    assert parse_events(json.loads(path.read_text()))[1][0].path == "events"


def test_capacity_by_date_of_an_unknown_assay_is_an_instance_error() -> None:
    document = json.loads(INSTANCE.model_dump_json(exclude_unset=True))
    document["qc_lab"]["capacity_by_date"] = {"2026-12-03": {"ph": 1, ASSAY: 0}}
    with pytest.raises(InstanceError) as error:
        load_instance(document)
    assert [str(p) for p in error.value.problems] == [
        "qc_lab.capacity_by_date.2026-12-03.ph: assay 'ph' is used by no product"
    ]
    del document["qc_lab"]["capacity_by_date"]["2026-12-03"]["ph"]
    lab = load_instance(document).qc_lab
    assert lab.capacity_on(ASSAY, date(2026, 12, 3)) == 0
    assert lab.capacity_on(ASSAY, date(2026, 12, 4)) == lab.capacity[ASSAY]
