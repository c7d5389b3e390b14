"""Churn: how far a re-plan moves the patients it should keep steady, as a linear expression.

Every step the previous plan had in a shift (and date) that the plan no longer fills as far
costs `STEP_SHIFT_COST` more: the operators rostered on that shift expect it.

Not a SPEC measure: the last level of a re-plan's search, after the SPEC's three, so it never
costs treated weight, communicated dates or wait days (docs/DESIGN.md, "Keeping the shop floor
steady"). Per steady patient: `START_MOVE_COST` unless it starts at its previous instant, and
`SEAT_MOVE_COST` more unless it also starts there in its previous suite class (positions inside
a class are interchangeable; `assign_positions` gives the previous one back where it is free).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC

from ortools.sat.python import cp_model

from scheduler.model.variables import PlanVariables
from scheduler.problem.calendar import SiteCalendar
from scheduler.problem.options import PatientOptions
from scheduler.problem.steady import (
    SEAT_MOVE_COST,
    START_MOVE_COST,
    STEP_SHIFT_COST,
    PreviousPlan,
)


def churn_expression(
    plan: PlanVariables, previous: PreviousPlan, calendar: SiteCalendar
) -> cp_model.LinearExprT:
    """The churn of a plan: what moving the steady patients costs (0 when every one is kept)."""
    moves = _start_and_seat_moves(plan, previous)
    shifts = _steps_out_of_their_shift(plan, previous, calendar)
    return cp_model.LinearExpr.weighted_sum([moves, shifts], [1, STEP_SHIFT_COST])


def _start_and_seat_moves(plan: PlanVariables, previous: PreviousPlan) -> cp_model.LinearExprT:
    """Per steady patient: its start moved (or it is left out), and its suite class changed."""
    terms: list[cp_model.LinearExprT] = []
    for options in plan.patients:
        patient_id = options.patient.id
        if patient_id not in previous.choices:
            continue
        at_previous_start = _previous_start_options(options, previous)
        previous_class = previous.class_of(patient_id, plan.classes)
        kept_start = sum(
            literal for index in at_previous_start for literal in plan.starts(patient_id, index)
        )
        kept_seat: list[cp_model.IntVar] = [
            plan.start_in_class[(patient_id, index, previous_class)]
            for index in at_previous_start
            if previous_class is not None
            and (patient_id, index, previous_class) in plan.start_in_class
        ]
        terms.append(START_MOVE_COST * (1 - kept_start) + SEAT_MOVE_COST * (1 - sum(kept_seat)))
    return sum(terms)


def _previous_start_options(options: PatientOptions, previous: PreviousPlan) -> list[int]:
    """The start options (indices) at the patient's previous manufacturing start, any suite class."""
    start = previous.choices[options.patient.id].start.astimezone(UTC)
    return [
        index
        for index, option in enumerate(options.starts)
        if option.slot.start.astimezone(UTC) == start
    ]


def _steps_out_of_their_shift(
    plan: PlanVariables, previous: PreviousPlan, calendar: SiteCalendar
) -> cp_model.LinearExprT:
    """Per (date, shift, step kind): how many steps the previous plan had there beyond the plan's count.

    Patients are interchangeable for a step kind on a date, so counts decide; decoding then
    gives each shift back to the steps that were there (`PlanVariables.previous_shifts`).
    """
    product_of = {o.patient.id: o.product.id for o in plan.patients} | {
        c.batch.patient: c.product.id for c in plan.commitments
    }
    there_before: Counter[tuple[int, str, str, str]] = Counter()
    for patient_id, choice in previous.choices.items():
        if patient_id not in product_of:
            continue
        for step_id, (day, shift_id, _) in choice.teams.items():
            key = (calendar.day(day), shift_id, product_of[patient_id], step_id)
            if key in plan.step_count:
                plan.previous_shifts[(patient_id, step_id, day)] = shift_id
                there_before[key] += 1
    terms: list[cp_model.LinearExprT] = []
    for key, count in sorted(there_before.items()):
        short = plan.model.new_int_var(0, count, f"steps_moved_out{key}")
        plan.model.add(short >= count - plan.step_count[key])
        terms.append(short)
    return sum(terms)
