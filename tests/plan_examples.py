"""Hand-made plans for the KPI and picture tests, each checked by the validator.

Built from the tiny base (instances/tiny/, see tests/test_tiny_instances.py): site
Europe/Brussels, one shift D 08:00 (8 h), horizon 2027-01-04 (Mon) + 21 days = 504 real hours
(no DST change in January); product `tiny-cel`: 48 h manufacturing + 24 h changeover, one
step `activation` (day 0, 4 h), one assay `sterility` (sample day 2, 3 days, max wait 2),
QP release 1 day; hospital H1: collection ends 12:00, transit 2 h, return 1 day.
"""

from __future__ import annotations

from typing import Any

from models import Instance, Schedule, load_instance
from tests.helpers import horizon_dates, patient, tiny_doc, with_objective
from validator import validate

HORIZON_DATES = horizon_dates()


def schedule_doc(
    name: str, assignments: list[dict[str, Any]], unscheduled: list[dict[str, Any]]
) -> dict[str, Any]:
    """A FEASIBLE schedule document of the instance `name`, objective and bound still to fill in."""
    return {
        "format": "cart-schedule/1",
        "instance": name,
        "status": "FEASIBLE",
        "objective": None,
        "bound": None,
        "solve_seconds": 0.0,
        "assignments": assignments,
        "unscheduled": unscheduled,
    }


def checked(instance: Instance, doc: dict[str, Any]) -> Schedule:
    """The schedule document, with its objective filled in by the validator's own code, after the
    validator finds nothing wrong."""
    schedule = with_objective(instance, doc)
    violations = validate(instance, schedule)
    assert violations == [], violations
    return schedule


P1_ON_S1_1: dict[str, Any] = {
    # P1 fresh, collected 01-05 12:00, ready 01-05 18:00: starts Wed 01-06 08:00, ends 01-08 08:00,
    # sterility sampled and started Fri 01-08, ends 01-11, release 01-12, delivery 01-13.
    "patient": "P1",
    "in_progress": False,
    "apheresis_date": "2027-01-05",
    "suite": "S1",
    "position": 1,
    "manufacturing_start": "2027-01-06T08:00:00+01:00",
    "manufacturing_end": "2027-01-08T08:00:00+01:00",
    "steps": [{"step": "activation", "date": "2027-01-06", "shift": "D", "operators": ["OP1"]}],
    "qc": [{"assay": "sterility", "start_date": "2027-01-08", "end_date": "2027-01-11"}],
    "release_date": "2027-01-12",
    "delivery_date": "2027-01-13",
}


def one_batch_two_positions() -> tuple[Instance, Schedule]:
    """One suite of 2 positions, no downtime, one patient P1 on S1/1 (48 h + 24 h changeover)."""
    doc = tiny_doc("suite-downtime")
    doc["name"] = "kpi-one-batch"
    doc["suites"] = [{"id": "S1", "type": "isolator", "positions": 2}]
    doc["patients"] = [patient("P1", "2027-01-05", "2027-01-05")]
    instance = load_instance(doc)
    return instance, checked(instance, schedule_doc(doc["name"], [P1_ON_S1_1], []))


def ward_week() -> tuple[Instance, Schedule]:
    """Downtime, an in-progress batch, two operators, a lab closure and three unscheduled patients.

    - S1: 2 positions, closed 01-20..01-22 and 01-21..01-23 (overlap: 72 h closed);
      S2: 1 position, closed 01-01..01-05 (24 h of it inside the horizon).
    - Activation needs 2 operators: OP1 (aseptic) rostered on all 21 dates (168 h), OP2
      (aseptic, cryo) on 01-04..01-13 (10 dates, 80 h).
    - QC lab Mon-Fri, closed Wed 01-06, sterility capacity 2.
    - IP1 in progress on S1/2 since Fri 01-01 08:00: ends 01-03 08:00, free 01-04 08:00 (8 h
      inside the horizon); its sterility was sampled 01-03, before the horizon (no capacity).
    - P1 (fresh, window 01-05) on S1/1: start 01-06, delivery 01-13.
    - P2 (cryopreserved, window 01-04..01-06, collected 01-05) on S2/1: start Thu 01-07 08:00,
      end Sat 01-09 08:00, sampled Sat 01-09, the lab's next day Mon 01-11, ends 01-14,
      release 01-15, delivery 01-16.
    - P3, P4, P5 unscheduled with reasons (C5, C2), (C2, C2), (C7, free text).
    """
    doc = tiny_doc("suite-downtime")
    doc["name"] = "kpi-ward-week"
    doc["products"][0]["steps"][0]["operators"] = 2
    doc["suites"] = [
        {
            "id": "S1",
            "type": "isolator",
            "positions": 2,
            "unavailable": [
                {
                    "start": "2027-01-20T00:00",
                    "end": "2027-01-22T00:00",
                    "reason": "requalification",
                },
                {"start": "2027-01-21T00:00", "end": "2027-01-23T00:00", "reason": "HVAC repair"},
            ],
        },
        {
            "id": "S2",
            "type": "isolator",
            "positions": 1,
            "unavailable": [
                {"start": "2027-01-01T00:00", "end": "2027-01-05T00:00", "reason": "maintenance"},
            ],
        },
    ]
    doc["operators"] = [
        {
            "id": "OP1",
            "skills": ["aseptic"],
            "roster": [{"date": d, "shift": "D"} for d in HORIZON_DATES],
        },
        {
            "id": "OP2",
            "skills": ["aseptic", "cryo"],
            "roster": [{"date": d, "shift": "D"} for d in HORIZON_DATES[:10]],
        },
    ]
    doc["qc_lab"] = {
        "working_days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
        "closed_dates": ["2027-01-06"],
        "capacity": {"sterility": 2},
    }
    doc["patients"] = [
        patient("P1", "2027-01-05", "2027-01-05"),
        patient("P2", "2027-01-04", "2027-01-06", material="cryopreserved"),
        patient("P3", "2027-01-05", "2027-01-05"),
        patient("P4", "2027-01-05", "2027-01-05"),
        patient("P5", "2027-01-05", "2027-01-05"),
    ]
    doc["in_progress"] = [
        {
            "patient": "IP1",
            "product": "tiny-cel",
            "hospital": "H1",
            "suite": "S1",
            "position": 2,
            "manufacturing_start": "2027-01-01T08:00",
        }
    ]
    instance = load_instance(doc)
    both = ["OP1", "OP2"]
    p1 = {
        **P1_ON_S1_1,
        "steps": [{"step": "activation", "date": "2027-01-06", "shift": "D", "operators": both}],
    }
    p2 = {
        "patient": "P2",
        "in_progress": False,
        "apheresis_date": "2027-01-05",
        "suite": "S2",
        "position": 1,
        "manufacturing_start": "2027-01-07T08:00:00+01:00",
        "manufacturing_end": "2027-01-09T08:00:00+01:00",
        "steps": [{"step": "activation", "date": "2027-01-07", "shift": "D", "operators": both}],
        "qc": [{"assay": "sterility", "start_date": "2027-01-11", "end_date": "2027-01-14"}],
        "release_date": "2027-01-15",
        "delivery_date": "2027-01-16",
    }
    ip1 = {
        "patient": "IP1",
        "in_progress": True,
        "apheresis_date": None,
        "suite": "S1",
        "position": 2,
        "manufacturing_start": "2027-01-01T08:00:00+01:00",
        "manufacturing_end": "2027-01-03T08:00:00+01:00",
        "steps": [],
        "qc": [{"assay": "sterility", "start_date": "2027-01-03", "end_date": "2027-01-06"}],
        "release_date": "2027-01-07",
        "delivery_date": "2027-01-08",
    }
    unscheduled = [
        {
            "patient": "P3",
            "reasons": [
                "C5 suite: no isolator position is free from 01-06 to 01-09",
                "C2 apheresis: H1 has no chair left on 2027-01-05",
            ],
        },
        {
            "patient": "P4",
            "reasons": [
                "C2 apheresis: H1 has no chair left on 2027-01-05",
                "C2 apheresis: no other date in the window",
            ],
        },
        {
            "patient": "P5",
            "reasons": [
                "C7 qc: no sterility start free within 2 days of 2027-01-08",
                "the lab closure on 01-06 is the root cause",
            ],
        },
    ]
    return instance, checked(instance, schedule_doc(doc["name"], [ip1, p1, p2], unscheduled))
