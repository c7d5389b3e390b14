"""The three measures of SPEC section 4 as linear expressions over new patients."""

from __future__ import annotations

from ortools.sat.python import cp_model

from scheduler.model.variables import PlanVariables
from scheduler.problem.calendar import SiteCalendar


def measure_expressions(
    plan: PlanVariables, calendar: SiteCalendar, scale: int
) -> dict[str, cp_model.LinearExprT]:
    """`scheduled_weight`, `plan_changes` and `wait_days` (weights multiplied by `scale`)."""
    weight_terms: list[cp_model.LinearExprT] = []
    change_terms: list[cp_model.LinearExprT] = []
    wait_terms: list[cp_model.LinearExprT] = []
    for options in plan.patients:
        patient = options.patient
        scheduled = plan.scheduled[patient.id]
        weight = round(patient.weight * scale)
        weight_terms.append(weight * scheduled)
        earliest = calendar.day(patient.apheresis_window.earliest)
        wait_terms.append(weight * (plan.delivery_day[patient.id] - earliest * scheduled))
        previous = patient.previous_apheresis_date
        if previous is None:
            continue
        if not options.uses_chair:
            if patient.collected_on != previous:
                change_terms.append(scheduled)
            continue
        kept = plan.apheresis_on.get((patient.id, previous))
        change_terms.append(scheduled - kept if kept is not None else scheduled)
    return {
        "scheduled_weight": sum(weight_terms),
        "plan_changes": sum(change_terms),
        "wait_days": sum(wait_terms),
    }
