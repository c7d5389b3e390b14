"""The coordinator's first-come-first-served plan, in the order a coordinator follows by hand.

`scheduler.problem.first_come.GreedyPlanner` (the solver's first hint) takes the heaviest patients first;
a coordinator filling a spreadsheet goes by date: locked patients first, then by earliest
collection date, then by weight. Each patient takes the earliest feasible start (its
communicated apheresis date when that still works), the first free suite position, the
least-loaded qualified operators and the earliest free QC days — the planner's own resource
checks, so every plan is exact and passes the validator.
"""

from __future__ import annotations

import time

from models import Instance, Schedule
from scheduler.explain.commitments import commitment_conflicts
from scheduler.explain.schedule_document import build_schedule
from scheduler.problem.batches import assign_positions
from scheduler.problem.first_come import GreedyPlanner
from scheduler.problem.options import PatientOptions, StartOption
from scheduler.problem.planning import PlanningProblem, prepare
from scheduler.search.outcome import SearchOutcome


class CoordinatorPlanner(GreedyPlanner):
    """GreedyPlanner with the coordinator's patient order (date before weight) and earliest starts."""

    def patient_order(self, options: PatientOptions) -> tuple[object, ...]:
        """Locked first, then the earliest collection date, then the heaviest weight."""
        return coordinator_order(options)

    def option_order(self, options: PatientOptions, option: StartOption) -> tuple[object, ...]:
        """The communicated apheresis date when it still fits, then the earliest start."""
        return earliest_start(options, option)


def coordinator_order(options: PatientOptions) -> tuple[object, ...]:
    """Locked first, then the earliest collection date, then the heaviest weight."""
    patient = options.patient
    return (not patient.locked, patient.apheresis_window.earliest, -patient.weight, patient.id)


def earliest_start(options: PatientOptions, option: StartOption) -> tuple[object, ...]:
    """The communicated apheresis date when it still fits (a coordinator avoids re-calling), then the earliest start."""
    previous = options.patient.previous_apheresis_date
    return (previous is not None and previous not in option.apheresis_dates, option.slot.start)


def greedy_schedule(instance: Instance, problem: PlanningProblem | None = None) -> Schedule:
    """The coordinator's plan as a `cart-schedule/1` document (INFEASIBLE if the commitments do not fit)."""
    started = time.monotonic()
    problem = problem or prepare(instance)
    conflicts = commitment_conflicts(problem)
    if conflicts:
        return build_schedule(problem, None, time.monotonic() - started, infeasibility=conflicts)
    batches = CoordinatorPlanner(problem).plan()
    if batches is None:
        return build_schedule(problem, SearchOutcome("INFEASIBLE"), time.monotonic() - started)
    assign_positions(batches, problem.builder.classes)
    outcome = SearchOutcome("SOLVED", [], batches, time.monotonic() - started)
    return build_schedule(problem, outcome, time.monotonic() - started)
