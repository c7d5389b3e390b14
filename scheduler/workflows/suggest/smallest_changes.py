"""The smallest verified changes per unscheduled patient, or why nothing is within reach."""

from __future__ import annotations

import time

from models import Instance, Schedule
from scheduler.explain.commitments import commitment_conflicts, diagnose_commitments
from scheduler.problem.planning import prepare
from scheduler.workflows.booking import PublishedPlan
from scheduler.workflows.suggest.candidates import candidate_families
from scheduler.workflows.suggest.changes import (
    Change,
)
from scheduler.workflows.suggest.relaxed import RelaxedModel
from scheduler.workflows.suggest.suggestion import PLAN, Suggestion
from scheduler.workflows.suggest.verify import (
    SOLVE_SECONDS,
    first_in_plan,
    sets_by_solving,
    sets_in_plan,
    verified_by_solving,
)


def suggest_changes(
    instance: Instance,
    schedule: Schedule,
    patient_id: str,
    time_limit: float = 10.0,
    max_suggestions: int = 8,
) -> list[Suggestion]:
    """The smallest verified changes that let an unscheduled patient be scheduled, smallest first.

    Single changes and the relaxed model's sets that fit the plan as it stands are verified
    against it (nobody moves); the others, while `time_limit` seconds last, by re-solving. A
    scheduled or unknown patient, or a plan without assignments (INFEASIBLE, UNKNOWN), gets
    none: see `infeasibility_core`; a patient no change can help: see `out_of_reach`.
    """
    patient = next((p for p in instance.patients if p.id == patient_id), None)
    if patient is None or not schedule.assignments:
        return []
    if any(a.patient == patient_id for a in schedule.assignments):
        return []
    deadline = time.monotonic() + time_limit
    plan = PublishedPlan(instance, schedule)
    families = sorted(
        candidate_families(instance, schedule, patient, plan), key=lambda f: f[0].size
    )
    found: list[Suggestion] = []
    unverified: list[list[Change]] = []
    for family in families:
        suggestion = first_in_plan(instance, schedule, patient, family)
        if suggestion is not None:
            found.append(suggestion)
        else:
            unverified.append(family)
    relaxed = RelaxedModel(instance, plan, patient)
    smallest_single = min((s.size for s in found), default=None)
    sets, pending = sets_in_plan(
        instance, schedule, patient, relaxed, smallest_single, deadline, max_suggestions
    )
    found += sets
    # Re-solving single changes may take the whole time: keep some for the sets if they are all there is.
    reserve = min(SOLVE_SECONDS, time_limit / 2) if pending and not found else 0.0
    found += verified_by_solving(
        instance, schedule, patient, unverified, found, deadline - reserve, max_suggestions
    )
    if not found:
        found += sets_by_solving(instance, schedule, patient, pending, deadline)
    found.sort(
        key=lambda s: (s.size, s.verified_by != PLAN, len(s.changes), [c.dates for c in s.changes])
    )
    # Shortening a downtime from either end may both end in cancelling it: say it once.
    distinct: dict[str, Suggestion] = {}
    for suggestion in found:
        distinct.setdefault(suggestion.text, suggestion)
    return list(distinct.values())[:max_suggestions]


def out_of_reach(instance: Instance, schedule: Schedule, patient_id: str) -> str | None:
    """Why no change within reach could let an unscheduled patient in (its own data), or None.

    None also for a scheduled or unknown patient. Within reach: windows widened by up to
    MAX_WIDENING_DAYS days and any chair, operator, QC start, manufacturing start, suite
    position or downtime made available; what stays out of reach is what the patient's own data
    fixes (shelf-life, the horizon, a closed hospital date, a locked collection date).
    """
    patient = next((p for p in instance.patients if p.id == patient_id), None)
    if patient is None or any(a.patient == patient_id for a in schedule.assignments):
        return None
    return RelaxedModel(instance, PublishedPlan(instance, schedule), patient).out_of_reach


def infeasibility_core(instance: Instance, time_limit: float = 10.0) -> list[str]:
    """Why the in-progress commitments cannot all be honoured, in words; empty when they can.

    Problems one batch has alone (or two batches on one position) are named directly; otherwise
    a deletion filter keeps a smallest set of batches that still conflict and names the shared
    rule (starts per day, operators, QC) whose relaxation resolves it.
    """
    problem = prepare(instance)
    direct = commitment_conflicts(problem)
    if direct:
        return direct
    return diagnose_commitments(problem, time_limit)


def format_suggestions(
    patient_id: str, suggestions: list[Suggestion], reason: str | None = None
) -> list[str]:
    """Text lines for a coordinator: one per suggestion, with how it was verified; else why there is none.

    `reason` is the patient's `out_of_reach` explanation, if any.
    """
    if not suggestions:
        if reason is not None:
            return [f"{patient_id}: {reason}"]
        return [
            f"{patient_id}: no verified change found that lets this patient in (within the time limit)"
        ]
    lines = [f"{patient_id} could be scheduled with:"]
    for suggestion in suggestions:
        how = (
            "fits the plan as it is, nobody moves"
            if suggestion.verified_by == PLAN
            else (f"verified by re-solving; {suggestion.others_moved} other patient(s) move")
        )
        lines.append(f"  {suggestion.rule}: {suggestion.text} ({how})")
    return lines
