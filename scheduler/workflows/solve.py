"""Solve an instance: prepare the problem, search, and write the schedule document."""

from __future__ import annotations

import time

from models import Instance, Schedule
from scheduler.explain.commitments import commitment_conflicts, diagnose_commitments
from scheduler.explain.schedule_document import build_schedule, steady_report
from scheduler.problem.batches import assign_positions
from scheduler.problem.planning import prepare
from scheduler.problem.reservation import RescueReservation
from scheduler.problem.steady import churn_of
from scheduler.problem.teams import keep_previous_teams
from scheduler.search.lexicographic import search
from scheduler.search.outcome import SolveOptions


def solve(
    instance: Instance,
    options: SolveOptions | None = None,
    reservation: RescueReservation | None = None,
) -> Schedule:
    """Solve an instance within the time limit; the schedule says how good and how proven it is.

    `reservation` (robust planning, `workflows/robust.py`) keeps suite positions free for rescues.
    """
    options = options or SolveOptions()
    started = time.monotonic()
    problem = prepare(instance)
    problem.reservation = reservation
    conflicts = commitment_conflicts(problem)
    if conflicts:
        return build_schedule(problem, None, time.monotonic() - started, infeasibility=conflicts)
    outcome = search(problem, options, started)
    if outcome.status == "INFEASIBLE" and options.diagnose_infeasible:
        remaining = max(2.0, options.time_limit - (time.monotonic() - started))
        return build_schedule(
            problem,
            outcome,
            time.monotonic() - started,
            infeasibility=diagnose_commitments(problem, min(remaining, 30.0)) or None,
        )
    steady = options.keep_steady
    if outcome.status == "SOLVED":
        seats = {p: c.seat for p, c in steady.choices.items()} if steady is not None else None
        assign_positions(outcome.batches, problem.builder.classes, seats)
        if steady is not None:
            keep_previous_teams(outcome.batches, steady, instance, problem.roster)
    schedule = build_schedule(problem, outcome, time.monotonic() - started)
    if steady is not None and outcome.steady is not None:
        new_patients = {options.patient.id for options in problem.patients}
        churn = churn_of(outcome.batches, steady, problem.builder.classes, new_patients)
        schedule.churn = steady_report(churn, outcome.steady)  # type: ignore[attr-defined]
    return schedule
