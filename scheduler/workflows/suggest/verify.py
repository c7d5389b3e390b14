"""Verifying changes: the patient fits the published plan as it stands, or a re-solve lets it in."""

from __future__ import annotations

import time

from models import Assignment, Instance, ObjectiveValues, Patient, Schedule
from scheduler.search.outcome import SolveOptions
from scheduler.workflows.booking import PublishedPlan
from scheduler.workflows.solve import solve
from scheduler.workflows.suggest.changes import (
    RULE_OF_KIND,
    Change,
    apply_change,
    apply_changes,
)
from scheduler.workflows.suggest.relaxed import ChangeSet, RelaxedModel
from scheduler.workflows.suggest.suggestion import PLAN, RESOLVE, Suggestion, make_suggestion
from validator import compute_objective, validate

# Weights are compared with a tolerance: fractional weights are summed as floats.
TOLERANCE = 1e-6
# Re-solves per patient, and seconds per re-solve (the caller's time limit caps both).
MAX_SOLVES = 4


SOLVE_SECONDS = 5.0


# Sets of changes the relaxed model proposes per patient, and how many of them to re-solve when
# none fits the plan as it stands (each proposal is a sub-second CP-SAT solve).
MAX_CHANGE_SETS = 6


MAX_SET_SOLVES = 2


RELAXED_SECONDS = 2.0


def _patient_in(instance: Instance, patient_id: str) -> Patient:
    return next(p for p in instance.patients if p.id == patient_id)


def _with_assignment(instance: Instance, schedule: Schedule, assignment: Assignment) -> Schedule:
    """The plan with the patient added, its objective recomputed."""
    added = schedule.model_copy(
        update={
            "assignments": [*schedule.assignments, assignment],
            "unscheduled": [u for u in schedule.unscheduled if u.patient != assignment.patient],
            "status": "FEASIBLE",
        }
    )
    values = ObjectiveValues(**compute_objective(instance, added))
    return added.model_copy(update={"objective": values, "bound": values})


def fits_plan(instance: Instance, schedule: Schedule, patient_id: str) -> Assignment | None:
    """The patient's best assignment in the plan as it stands (nobody moves), checked by the validator."""
    patient = _patient_in(instance, patient_id)
    offers = PublishedPlan(instance, schedule).availability(patient).offers
    for offer in offers[:3]:
        if not validate(instance, _with_assignment(instance, schedule, offer.assignment)):
            return offer.assignment
    return None


def first_in_plan(
    instance: Instance, schedule: Schedule, patient: Patient, family: list[Change]
) -> Suggestion | None:
    """The smallest change of a family that lets the patient into the plan as it stands."""
    for change in family:
        changed = apply_change(instance, change)
        assignment = fits_plan(changed, schedule, patient.id)
        if assignment is not None:
            return make_suggestion(instance, schedule, patient, change, assignment, PLAN, 0)
    return None


def _fits_alone(instance: Instance, schedule: Schedule, patient_id: str) -> bool:
    """Whether the patient fits with only the in-progress batches in place (re-solving can do no better)."""
    running = {b.patient for b in instance.in_progress}
    alone = schedule.model_copy(
        update={"assignments": [a for a in schedule.assignments if a.patient in running]}
    )
    return bool(
        PublishedPlan(instance, alone).availability(_patient_in(instance, patient_id)).offers
    )


def _blocking_rules(instance: Instance, schedule: Schedule, patient: Patient) -> set[str]:
    """The rules that stop each candidate start of the patient in the plan as it stands."""
    plan = PublishedPlan(instance, schedule)
    options = plan.problem.builder.patient_options(patient)
    reasons = [plan.try_option(options, option, commit=False) for option in options.starts]
    texts = [r for r in reasons if isinstance(r, str)] + list(options.rejections)
    return {text.split(" ", 1)[0] for text in texts}


def verified_by_solving(
    instance: Instance,
    schedule: Schedule,
    patient: Patient,
    families: list[list[Change]],
    found: list[Suggestion],
    deadline: float,
    max_suggestions: int,
) -> list[Suggestion]:
    """Re-solve, smallest first and while time lasts, the changes the plan as it stands cannot take.

    Worth a solve are only changes smaller than a suggestion already verified, and:
    when the patient fits beside the in-progress work alone (others hold what it needs), a
    change of a resource that blocks its candidate starts now; otherwise the smallest change of
    a family with which it fits beside the in-progress work alone (a necessary condition).
    """
    verified: list[Suggestion] = []
    largest = min((s.size for s in found), default=None)
    fits_already = _fits_alone(instance, schedule, patient.id)
    blocking = _blocking_rules(instance, schedule, patient) if fits_already else set()
    solves = 0
    for family in families:
        if len(found) + len(verified) >= max_suggestions or solves >= MAX_SOLVES:
            break
        if largest is not None and family[0].size >= largest:
            break  # families come smallest first: the rest are no smaller than a verified one
        if fits_already:
            kind = family[0].kind
            if (
                kind in ("apheresis_window", "infusion_window")
                or RULE_OF_KIND[kind] not in blocking
            ):
                continue
            change: Change | None = family[0]
        else:
            change = next(
                (c for c in family if _fits_alone(apply_change(instance, c), schedule, patient.id)),
                None,
            )
        seconds = min(deadline - time.monotonic(), SOLVE_SECONDS)
        if change is None:
            continue
        if seconds < 0.5:
            break
        solves += 1
        outcome = _solve_with_patient_first(
            apply_change(instance, change), schedule, patient.id, seconds
        )
        if outcome is not None:
            assignment, moved = outcome
            verified.append(
                make_suggestion(instance, schedule, patient, change, assignment, RESOLVE, moved)
            )
    return verified


def sets_in_plan(
    instance: Instance,
    schedule: Schedule,
    patient: Patient,
    relaxed: RelaxedModel,
    smaller_than: int | None,
    deadline: float,
    max_suggestions: int,
) -> tuple[list[Suggestion], list[ChangeSet]]:
    """The relaxed model's sets of changes, smallest first, verified against the plan as it stands.

    Only sets smaller than `smaller_than` (the smallest single change already verified) are
    worth proposing. Returns the verified suggestions and the sets the plan could not take, to
    be re-solved if nothing else is found.
    """
    verified: list[Suggestion] = []
    pending: list[ChangeSet] = []
    for _ in range(MAX_CHANGE_SETS):
        seconds = min(deadline - time.monotonic(), RELAXED_SECONDS)
        if len(verified) >= max_suggestions or seconds <= 0:
            break
        proposal = relaxed.next_change_set(seconds)
        if proposal is None or (smaller_than is not None and proposal.size >= smaller_than):
            break
        if not proposal.changes:
            continue  # the patient fits as the plan stands: a plan not solved to the end, not a change
        assignment = fits_plan(apply_changes(instance, proposal.changes), schedule, patient.id)
        if assignment is None:
            pending.append(proposal)
        else:
            verified.append(
                make_suggestion(instance, schedule, patient, proposal.changes, assignment, PLAN, 0)
            )
    return verified, pending


def sets_by_solving(
    instance: Instance,
    schedule: Schedule,
    patient: Patient,
    pending: list[ChangeSet],
    deadline: float,
) -> list[Suggestion]:
    """Re-solve, smallest first and while time lasts, the sets of changes the plan as it stands could not take."""
    verified: list[Suggestion] = []
    for proposal in pending[:MAX_SET_SOLVES]:
        seconds = min(deadline - time.monotonic(), SOLVE_SECONDS)
        if seconds < 0.5:
            break
        outcome = _solve_with_patient_first(
            apply_changes(instance, proposal.changes), schedule, patient.id, seconds
        )
        if outcome is not None:
            assignment, moved = outcome
            verified.append(
                make_suggestion(
                    instance, schedule, patient, proposal.changes, assignment, RESOLVE, moved
                )
            )
    return verified


def _solve_with_patient_first(
    instance: Instance, schedule: Schedule, patient_id: str, seconds: float
) -> tuple[Assignment, int] | None:
    """Solve with the patient outweighing everyone else; its assignment and how many others moved,
    if it is scheduled, the others keep their scheduled weight and the plan is valid."""
    total = sum(p.weight for p in instance.patients)
    weights = {p.id: p.weight for p in instance.patients}
    boosted = instance.model_copy(
        update={
            "patients": [
                p.model_copy(update={"weight": total + 1}) if p.id == patient_id else p
                for p in instance.patients
            ]
        }
    )
    result = solve(boosted, SolveOptions(time_limit=seconds, workers=2))
    mine = next((a for a in result.assignments if a.patient == patient_id), None)
    if mine is None or validate(boosted, result):
        return None
    before = {a.patient: a for a in schedule.assignments if a.patient in weights}
    after = {
        a.patient: a for a in result.assignments if a.patient in weights and a.patient != patient_id
    }
    if sum(weights[p] for p in after) + TOLERANCE < sum(weights[p] for p in before):
        return None
    moved = sum(
        1
        for pid, old in before.items()
        if pid not in after
        or (after[pid].apheresis_date, after[pid].manufacturing_start)
        != (old.apheresis_date, old.manufacturing_start)
    )
    return mine, moved
