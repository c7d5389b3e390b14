"""The CP-SAT model of rules C1–C11: variables, then one constraint family per rule, then the measures."""

from __future__ import annotations

from datetime import date

from ortools.sat.python import cp_model

from scheduler.model.c01_c03_coverage_and_material import add_one_start_per_scheduled_patient
from scheduler.model.c02_apheresis_chairs import add_apheresis_chairs
from scheduler.model.c04_daily_starts import add_daily_start_limit
from scheduler.model.c05_suite_positions import add_suite_capacity
from scheduler.model.c06_operator_staffing import (
    ShiftLoad,
    add_operator_staffing,
)
from scheduler.model.c07_qc_capacity import add_qc_capacity
from scheduler.model.c08_c10_release_and_delivery import add_release_and_delivery
from scheduler.model.objective import measure_expressions
from scheduler.model.rescue_reserve import keep_suite_positions_for_rescues
from scheduler.model.variables import PlanVariables, create_variables
from scheduler.problem.planning import PlanningProblem


def build_model(
    problem: PlanningProblem, skip: frozenset[str] = frozenset()
) -> tuple[PlanVariables, dict[str, cp_model.LinearExprT], dict[tuple[date, str], ShiftLoad]]:
    """The CP-SAT model of rules C1–C11, the measure expressions and each shift's step load.

    `skip` leaves out shared-capacity rule families ("C4", "C6", "C7"): only to diagnose what
    makes commitments impossible.
    """
    plan = create_variables(problem.patients, problem.commitments, problem.builder.classes)
    add_one_start_per_scheduled_patient(plan)
    add_apheresis_chairs(plan, problem.instance)
    if "C4" not in skip:
        add_daily_start_limit(plan, problem.instance, problem.calendar)
    add_suite_capacity(plan)
    if problem.reservation is not None:
        keep_suite_positions_for_rescues(plan, problem.reservation)
    shift_loads = add_operator_staffing(
        plan, problem.instance, problem.calendar, problem.roster, bounded="C6" not in skip
    )
    add_qc_capacity(plan, problem.instance, capped="C7" not in skip)
    add_release_and_delivery(plan, problem.calendar)
    return plan, measure_expressions(plan, problem.calendar, problem.scale), shift_loads
