"""The three measures of SPEC section 4 as linear expressions over new patients."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from ortools.sat.python import cp_model

from scheduler.model.variables import PlanVariables
from scheduler.problem.calendar import SiteCalendar
from scheduler.problem.options import PatientOptions

# Whether a patient's communicated date is kept: a literal, a sum of literals, or None (never).
Kept = cp_model.LinearExpr | cp_model.IntVar | int | None


def measure_expressions(
    plan: PlanVariables, calendar: SiteCalendar, scale: int
) -> dict[str, cp_model.LinearExprT]:
    """`scheduled_weight`, `plan_changes` and `wait_days` (weights multiplied by `scale`)."""

    def days_waited(options: PatientOptions, earliest: int) -> cp_model.LinearExprT:
        patient_id = options.patient.id
        return plan.delivery_day[patient_id] - earliest * plan.scheduled[patient_id]

    def date_kept(options: PatientOptions, previous: date) -> Kept:
        return plan.apheresis_on.get((options.patient.id, previous))

    return _measures(plan, calendar, scale, days_waited, date_kept)


def measure_floors(
    plan: PlanVariables, calendar: SiteCalendar, scale: int
) -> dict[str, cp_model.LinearExprT]:
    """The three measures as the starts alone bound them (a model of starts only, no collections,
    no deliveries): never above the measures of `measure_expressions` on the same starts.

    Weight is exact. A start keeps the communicated date if it could be collected then (the
    collection itself is not modelled), and its wait ends at its earliest possible delivery.
    """

    def days_waited(options: PatientOptions, earliest: int) -> cp_model.LinearExprT:
        return sum(
            (option.earliest_delivery - earliest) * sum(plan.starts(options.patient.id, index))
            for index, option in enumerate(options.starts)
        )

    def date_kept(options: PatientOptions, previous: date) -> Kept:
        return sum(
            sum(plan.starts(options.patient.id, index))
            for index, option in enumerate(options.starts)
            if previous in option.apheresis_dates
        )

    return _measures(plan, calendar, scale, days_waited, date_kept)


def _measures(
    plan: PlanVariables,
    calendar: SiteCalendar,
    scale: int,
    days_waited: Callable[[PatientOptions, int], cp_model.LinearExprT],
    date_kept: Callable[[PatientOptions, date], Kept],
) -> dict[str, cp_model.LinearExprT]:
    """The measures from each patient's days waited (from its window's opening day, 0 unless
    scheduled) and whether its communicated date is kept (None: it cannot be)."""
    weight_terms: list[cp_model.LinearExprT] = []
    change_terms: list[cp_model.LinearExprT] = []
    wait_terms: list[cp_model.LinearExprT] = []
    for options in plan.patients:
        patient = options.patient
        scheduled = plan.scheduled[patient.id]
        weight = round(patient.weight * scale)
        weight_terms.append(weight * scheduled)
        earliest = calendar.day(patient.apheresis_window.earliest)
        wait_terms.append(weight * days_waited(options, earliest))
        previous = patient.previous_apheresis_date
        if previous is None:
            continue
        if not options.uses_chair:
            if patient.collected_on != previous:
                change_terms.append(scheduled)
            continue
        kept = date_kept(options, previous)
        change_terms.append(scheduled - kept if kept is not None else scheduled)
    return {
        "scheduled_weight": sum(weight_terms),
        "plan_changes": sum(change_terms),
        "wait_days": sum(wait_terms),
    }
