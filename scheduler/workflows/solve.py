"""Solve an instance: prepare the problem, search, and write the schedule document."""

from __future__ import annotations

import time

from models import Instance, Schedule
from scheduler.explain.commitments import commitment_conflicts, diagnose_commitments
from scheduler.explain.schedule_document import build_schedule
from scheduler.problem.batches import assign_positions
from scheduler.problem.planning import prepare
from scheduler.search.lexicographic import search
from scheduler.search.outcome import SolveOptions


def solve(instance: Instance, options: SolveOptions | None = None) -> Schedule:
    """Solve an instance within the time limit; the schedule says how good and how proven it is."""
    options = options or SolveOptions()
    started = time.monotonic()
    problem = prepare(instance)
    conflicts = commitment_conflicts(problem)
    if conflicts:
        return build_schedule(problem, None, time.monotonic() - started, infeasibility=conflicts)
    outcome = search(problem, options, started)
    if outcome.status == "INFEASIBLE":
        remaining = max(2.0, options.time_limit - (time.monotonic() - started))
        return build_schedule(
            problem,
            outcome,
            time.monotonic() - started,
            infeasibility=diagnose_commitments(problem, min(remaining, 30.0)) or None,
        )
    if outcome.status == "SOLVED":
        assign_positions(outcome.batches, problem.builder.classes)
    return build_schedule(problem, outcome, time.monotonic() - started)
