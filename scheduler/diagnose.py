"""What breaks when the in-progress commitments cannot all be honoured (an INFEASIBLE answer)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

from scheduler.options import Commitment

if TYPE_CHECKING:
    from scheduler.solve import PlanningProblem

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
    reasons = []
    for rule in SHARED_RULES:
        if _feasible(problem, conflict, frozenset({rule}), per_solve):
            reasons.append(_describe(problem, rule, conflict, names))
    return reasons or [
        f"C11 in progress: in-progress {names} cannot all be completed inside the horizon together"
    ]


def _feasible(
    problem: PlanningProblem, commitments: list[Commitment], skip: frozenset[str], seconds: float
) -> bool | None:
    from scheduler.solve import build_model

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
        return (
            f"C6 steps: in-progress {names} need more {'/'.join(sorted(skills))} operator hours than are "
            f"rostered on {_shared_days(days)}"
        )
    if rule == "C7":
        days = Counter()
        assays: set[str] = set()
        for commitment in conflict:
            for pending in commitment.assays:
                if not pending.started_before_horizon:
                    days[f"{pending.sample_date:%a %Y-%m-%d}"] += 1
                    assays.add(pending.assay.id)
        return (
            f"C7 qc: in-progress {names} need more {'/'.join(sorted(assays))} starts than the QC lab has "
            f"around {_shared_days(days)}"
        )
    starts = Counter(f"{c.start:%a %Y-%m-%d}" for c in conflict)
    return (
        f"C4 start: in-progress {names} start on {_shared_days(starts)}, more than the site's "
        f"{problem.instance.site.max_starts_per_day} starts per day"
    )
