"""The objective of SPEC 4, recomputed from the assignments, and the check of reported values and bounds."""

from __future__ import annotations

from models import Instance, Schedule
from models.instance import MEASURES
from models.schedule import ObjectiveValues
from validator.violation import Violation

# Measures may be fractional (weights are numbers); reported values are compared with this slack.
TOLERANCE = 1e-6
MAXIMISED = frozenset({"scheduled_weight"})


def compute_objective(instance: Instance, schedule: Schedule) -> dict[str, float]:
    """`scheduled_weight`, `plan_changes` and `wait_days` over the new patients in `assignments`.

    SPEC 4 and 8: in-progress batches and unknown ids count in no measure; a patient assigned
    twice (a C1 violation) counts once; `wait_days` runs from `apheresis_window.earliest`.
    """
    patients = {patient.id: patient for patient in instance.patients}
    totals: dict[str, float] = {measure: 0.0 for measure in MEASURES}
    counted: set[str] = set()
    for assignment in schedule.assignments:
        patient = patients.get(assignment.patient)
        if patient is None or patient.id in counted:
            continue
        counted.add(patient.id)
        totals["scheduled_weight"] += patient.weight
        previous = patient.previous_apheresis_date
        if previous is not None and assignment.apheresis_date != previous:
            totals["plan_changes"] += 1
        waited = (assignment.delivery_date - patient.apheresis_window.earliest).days
        totals["wait_days"] += patient.weight * waited
    return totals


def _value(values: ObjectiveValues, measure: str) -> float:
    return float(getattr(values, measure))


def check_objective(instance: Instance, schedule: Schedule) -> list[Violation]:
    """The reported objective equals the recomputed one; bounds lie on the right side; OPTIMAL
    means bound = value on every level (SPEC 4, 8). Only for OPTIMAL and FEASIBLE answers.
    """
    if schedule.status not in ("OPTIMAL", "FEASIBLE"):
        return []
    if schedule.objective is None or schedule.bound is None:
        return []  # a FORMAT violation (see check_format)
    found: list[Violation] = []
    recomputed = compute_objective(instance, schedule)
    for measure in MEASURES:
        reported = _value(schedule.objective, measure)
        bound = _value(schedule.bound, measure)
        if abs(reported - recomputed[measure]) > TOLERANCE:
            found.append(
                Violation(
                    "OBJECTIVE",
                    f"{measure} is reported as {reported:g} but the assignments give {recomputed[measure]:g}",
                )
            )
        if measure in MAXIMISED and bound < reported - TOLERANCE:
            found.append(
                Violation(
                    "OBJECTIVE",
                    f"{measure} bound {bound:g} is below its value {reported:g} (a bound on a maximised "
                    "measure is >= the value)",
                )
            )
        if measure not in MAXIMISED and bound > reported + TOLERANCE:
            found.append(
                Violation(
                    "OBJECTIVE",
                    f"{measure} bound {bound:g} is above its value {reported:g} (a bound on a minimised "
                    "measure is <= the value)",
                )
            )
        if schedule.status == "OPTIMAL" and abs(bound - reported) > TOLERANCE:
            found.append(
                Violation(
                    "OBJECTIVE",
                    f"status OPTIMAL but {measure} bound {bound:g} differs from its value {reported:g}",
                )
            )
    return found
