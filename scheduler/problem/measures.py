"""The three measures of SPEC section 4 computed on batches, and what every model of them shares."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from scheduler.problem.batches import Batch

if TYPE_CHECKING:
    from scheduler.problem.planning import PlanningProblem


MAXIMISED = {"scheduled_weight"}


NEVER_NEGATIVE = {
    "plan_changes",
    "wait_days",
}  # a count, and days from the window's opening to delivery


def weight_scale(weights: list[float]) -> int:
    """The smallest power of ten making every weight an integer (weights may be fractional)."""
    scale = 1
    while any(Fraction(str(w)) * scale % 1 for w in weights) and scale < 10**6:
        scale *= 10
    return scale


def measure_values(problem: PlanningProblem, batches: list[Batch]) -> dict[str, float]:
    """The three measures of SPEC section 4, recomputed from the batches themselves."""
    patients = {p.patient.id: p.patient for p in problem.patients}
    weight = changes = wait = 0.0
    for batch in batches:
        if batch.in_progress:
            continue
        patient = patients[batch.patient_id]
        weight += patient.weight
        previous = patient.previous_apheresis_date
        if previous is not None and batch.apheresis_date != previous:
            changes += 1
        delivery = problem.calendar.date(batch.delivery_day)
        wait += patient.weight * (delivery - patient.apheresis_window.earliest).days
    return {
        "scheduled_weight": compact_number(weight),
        "plan_changes": compact_number(changes),
        "wait_days": compact_number(wait),
    }


def compact_number(value: float) -> float:
    return int(value) if float(value).is_integer() else round(value, 6)
