"""What breaks when the in-progress commitments cannot all be honoured (an INFEASIBLE answer)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from itertools import combinations
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

from scheduler.problem import reasons
from scheduler.problem.in_progress import Commitment

if TYPE_CHECKING:
    from scheduler.problem.planning import PlanningProblem

# Rule families that in-progress batches share with each other (the rest concern one batch alone
# and are caught directly by `commitment_conflicts`).
SHARED_RULES = ("C4", "C6", "C7")


def diagnose_commitments(problem: PlanningProblem, seconds: float) -> list[str]:
    """A smallest set of in-progress batches that cannot be honoured together, and the rule that breaks.

    Batches are dropped one at a time while the rest stays impossible (a deletion filter), then
    each shared rule family is relaxed in turn to see which one the conflict lies in.
    """
    per_solve = max(0.5, seconds / (len(problem.commitments) + len(SHARED_RULES) + 1))
    conflict = list(problem.commitments)
    if _feasible(problem, conflict, frozenset(), per_solve) is not False:
        return []
    for commitment in list(conflict):
        rest = [c for c in conflict if c is not commitment]
        if _feasible(problem, rest, frozenset(), per_solve) is False:
            conflict = rest
    names = ", ".join(c.batch.patient for c in conflict)
    broken = [
        _describe(problem, rule, conflict, names)
        for rule in SHARED_RULES
        if _feasible(problem, conflict, frozenset({rule}), per_solve)
    ]
    return broken or [reasons.in_progress_cannot_complete_together(names)]


def _feasible(
    problem: PlanningProblem, commitments: list[Commitment], skip: frozenset[str], seconds: float
) -> bool | None:
    from scheduler.model.build import build_model

    plan, _, _ = build_model(replace(problem, patients=[], commitments=commitments), skip)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = seconds
    status = solver.solve(plan.model)
    if status == cp_model.INFEASIBLE:
        return False
    return True if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None


def _shared_days(days: Counter[str]) -> str:
    shared = sorted(day for day, count in days.items() if count > 1) or sorted(days)
    return ", ".join(shared[:5])


def _describe(problem: PlanningProblem, rule: str, conflict: list[Commitment], names: str) -> str:
    if rule == "C6":
        days: Counter[str] = Counter()
        skills: set[str] = set()
        for commitment in conflict:
            for remaining in commitment.steps:
                days[f"{remaining.date:%a %Y-%m-%d}"] += 1
                skills.add(remaining.step.skill)
        return reasons.in_progress_operator_hours_short(names, skills, _shared_days(days))
    if rule == "C7":
        days = Counter()
        assays: set[str] = set()
        for commitment in conflict:
            for pending in commitment.assays:
                if not pending.started_before_horizon:
                    days[f"{pending.sample_date:%a %Y-%m-%d}"] += 1
                    assays.add(pending.assay.id)
        return reasons.in_progress_qc_starts_short(names, assays, _shared_days(days))
    starts = Counter(f"{c.start:%a %Y-%m-%d}" for c in conflict)
    return reasons.in_progress_starts_over_limit(
        names, _shared_days(starts), problem.instance.site.max_starts_per_day
    )


def commitment_conflicts(problem: PlanningProblem) -> list[str]:
    """What makes the in-progress commitments impossible on their own, if anything can be seen directly."""
    conflicts = [problem for c in problem.commitments for problem in c.problems]
    limit = problem.instance.site.max_starts_per_day
    if limit is not None:
        starting: dict[date, list[str]] = {}
        for commitment in problem.commitments:
            if commitment.start >= problem.calendar.horizon_start:
                starting.setdefault(commitment.start.date(), []).append(commitment.batch.patient)
        for day, batches in sorted(starting.items()):
            if len(batches) > limit:
                conflicts.append(reasons.in_progress_started_same_day(batches, day, limit))
    for first, second in combinations(problem.commitments, 2):
        same_position = (first.batch.suite, first.batch.position) == (
            second.batch.suite,
            second.batch.position,
        )
        if (
            same_position
            and first.start < second.occupied_until
            and second.start < first.occupied_until
        ):
            conflicts.append(
                reasons.in_progress_share_position(
                    (first.batch.patient, second.batch.patient),
                    first.batch.suite,
                    first.batch.position,
                    ((first.start, first.occupied_until), (second.start, second.occupied_until)),
                )
            )
    return conflicts
