"""What would let an unscheduled patient in: the smallest concrete changes, each verified.

For one unscheduled patient, candidate single changes are drawn from the resources its
candidate starts need and the plan leaves short: one more apheresis chair on a date (C2), one
more operator-shift of a skill (C6), one more QC start on a date or a closed lab day opened
(C7), one more manufacturing start a day (C4), the apheresis or infusion window widened by k
days (C2, C9, C10), a suite downtime shortened by k days or one more suite position (C5).

When one change is not enough (or a combination is smaller than any single change found), the
relaxed model (scheduler/relaxed.py) proposes the smallest *set* of changes with which the
patient fits beside everyone else: a chair and an operator-shift, a suite position and a QC
start, and so on. A patient that no priced change can help (its own data: shelf-life, the
horizon, a closed hospital) gets a "nothing within reach" explanation (`out_of_reach`).

Every change, single or combined, is applied to a copy of the instance and verified before it
is suggested:

- **published plan**: the patient fits into the plan as it stands (`booking.PublishedPlan`),
  so nobody else moves; the plan with the patient added passes the validator.
- **re-solve**: the changed instance is solved again with the patient ranked first; the
  suggestion is kept if the patient is scheduled, the others keep at least their scheduled
  weight, and the new plan passes the validator. Others may move (the text says how many).

Suggestions come smallest first (`Suggestion.size`, the sum of `Change.size`): a chair < an
operator-shift < a QC start < a lab day < a start < a window widened by k days < a downtime
shortened by k days < a suite position.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from models import Assignment, Instance, ObjectiveValues, Patient, Schedule
from models.timeutil import add_hours, at_clock, weekday_name
from scheduler.explain.commitments import commitment_conflicts, diagnose_commitments
from scheduler.problem.planning import prepare
from scheduler.search.outcome import SolveOptions
from scheduler.workflows.booking import PublishedPlan
from scheduler.workflows.changes import (
    MAX_WIDENING_DAYS,
    RULE_OF_KIND,
    Change,
    apply_change,
    apply_changes,
    operators_to_roster,
)
from scheduler.workflows.relaxed import ChangeSet, RelaxedModel
from scheduler.workflows.solve import solve
from validator import compute_objective, validate

__all__ = [
    "MAX_WIDENING_DAYS",
    "PLAN",
    "RESOLVE",
    "Change",
    "Suggestion",
    "apply_change",
    "apply_changes",
    "fits_plan",
    "format_suggestions",
    "infeasibility_core",
    "out_of_reach",
    "suggest_changes",
]

PLAN = "published plan"
RESOLVE = "re-solve"
TOLERANCE = 1e-6
# Re-solves per patient, and seconds per re-solve (the caller's time limit caps both).
MAX_SOLVES = 4
SOLVE_SECONDS = 5.0
# Sets of changes the relaxed model proposes per patient, and how many of them to re-solve when
# none fits the plan as it stands (each proposal is a sub-second CP-SAT solve).
MAX_CHANGE_SETS = 6
MAX_SET_SOLVES = 2
RELAXED_SECONDS = 2.0


@dataclass(frozen=True)
class Suggestion:
    """Verified changes that together let the patient be scheduled, in a coordinator's words.

    `changes` are every change to make together (one for a single change); `change` is the
    first, smallest of them, and `rule` names their rules (`C5+C6` for a position and an
    operator-shift).
    """

    patient: str
    rule: str
    change: Change
    text: str
    verified_by: str  # PLAN or RESOLVE
    assignment: Assignment  # the patient's assignment in the verifying plan
    others_moved: int = 0  # patients whose apheresis date or start differs in the verifying plan
    changes: tuple[Change, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.changes:
            object.__setattr__(self, "changes", (self.change,))

    @property
    def size(self) -> int:
        """How big the changes are together, for ordering."""
        return sum(change.size for change in self.changes)

    def to_dict(self) -> dict[str, Any]:
        """The suggestion as JSON-ready data (`change` is the first of `changes`)."""
        return {
            "patient": self.patient,
            "rule": self.rule,
            "change": self.change.to_dict(),
            "changes": [change.to_dict() for change in self.changes],
            "size": self.size,
            "text": self.text,
            "verified_by": self.verified_by,
            "others_moved": self.others_moved,
            "assignment": self.assignment.model_dump(mode="json"),
        }


# ----- public functions ------------------------------------------------------------------------


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
        _candidate_families(instance, schedule, patient, plan), key=lambda f: f[0].size
    )
    found: list[Suggestion] = []
    unverified: list[list[Change]] = []
    for family in families:
        suggestion = _first_in_plan(instance, schedule, patient, family)
        if suggestion is not None:
            found.append(suggestion)
        else:
            unverified.append(family)
    relaxed = RelaxedModel(instance, plan, patient)
    smallest_single = min((s.size for s in found), default=None)
    sets, pending = _sets_in_plan(
        instance, schedule, patient, relaxed, smallest_single, deadline, max_suggestions
    )
    found += sets
    # Re-solving single changes may take the whole time: keep some for the sets if they are all there is.
    reserve = min(SOLVE_SECONDS, time_limit / 2) if pending and not found else 0.0
    found += _verified_by_solving(
        instance, schedule, patient, unverified, found, deadline - reserve, max_suggestions
    )
    if not found:
        found += _sets_by_solving(instance, schedule, patient, pending, deadline)
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


# ----- candidate changes -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Reach:
    """Where the patient's batch could be: collection dates, start instants, occupied period."""

    apheresis_dates: list[date]
    first_start: datetime
    last_start: datetime
    occupied_until: datetime


def _reach(instance: Instance, patient: Patient, plan: PublishedPlan) -> _Reach:
    calendar = plan.calendar
    product = instance.product_by_id[patient.product]
    hospital = instance.hospital_by_id[patient.hospital]
    zone = calendar.zone
    window = patient.apheresis_window
    if patient.collected_on is not None:
        days = [patient.collected_on]
    elif patient.locked and patient.previous_apheresis_date is not None:
        days = [patient.previous_apheresis_date]
    else:
        days = [
            window.earliest + timedelta(days=i)
            for i in range((window.latest - window.earliest).days + 1)
        ]
    first = add_hours(
        at_clock(days[0], hospital.collection_end_time, zone),
        hospital.transit_hours + product.receipt_hours,
        zone,
    )
    last = calendar.horizon_end
    if patient.material == "fresh":
        last = min(
            last,
            add_hours(
                at_clock(days[-1], hospital.collection_end_time, zone),
                product.fresh_shelf_life_hours,
                zone,
            ),
        )
    until = add_hours(last, product.manufacturing_hours + product.changeover_hours, zone)
    return _Reach(
        [d for d in days if calendar.in_horizon(d)], max(first, calendar.horizon_start), last, until
    )


def _candidate_families(
    instance: Instance, schedule: Schedule, patient: Patient, plan: PublishedPlan
) -> list[list[Change]]:
    """Candidate changes, grouped in families of growing size (k = 1, 2, … days); single ones alone."""
    reach = _reach(instance, patient, plan)
    families: list[list[Change]] = [[c] for c in _chairs(instance, patient, plan, reach)]
    families += [[c] for c in _operator_shifts(instance, patient, plan, reach)]
    product = instance.product_by_id[patient.product]
    families += [[c] for c in _qc_starts(instance, patient, plan, reach)]
    families += [[c] for c in _lab_days(instance, patient, plan, reach)]
    if instance.site.max_starts_per_day is not None:
        families.append([Change("start_limit", instance.site.id, ())])
    families += _window_families(instance, patient)
    families += _downtime_families(instance, patient, plan, reach)
    families += [
        [Change("suite_position", s.id, ())]
        for s in instance.suites
        if s.type in product.suite_types
    ]
    return families


def _chairs(
    instance: Instance, patient: Patient, plan: PublishedPlan, reach: _Reach
) -> Iterator[Change]:
    """One more chair on every collection date the patient could use that is full (or has none)."""
    if patient.collected_on is not None:
        return
    hospital = instance.hospital_by_id[patient.hospital]
    for day in reach.apheresis_dates:
        if day in hospital.closed_dates:
            continue
        if plan.chairs[(hospital.id, day)] >= hospital.free_chairs_on(day):
            yield Change("chair", hospital.id, (day,))


def _operator_shifts(
    instance: Instance, patient: Patient, plan: PublishedPlan, reach: _Reach
) -> Iterator[Change]:
    """One more operator on every (date, shift) where a step of the patient lacks exactly one."""
    product = instance.product_by_id[patient.product]
    roster = plan.problem.roster
    seen: set[tuple[date, str, str]] = set()
    for slot in plan.calendar.slots:
        if not reach.first_start <= slot.start <= reach.last_start:
            continue
        for step in product.steps:
            day = slot.date + timedelta(days=step.day_offset)
            shifts = [slot.shift] if step.day_offset == 0 else instance.site.shifts
            for shift in shifts:
                key = (day, shift.id, step.skill)
                if key in seen or step.hours > shift.hours or not plan.calendar.in_horizon(day):
                    continue
                seen.add(key)
                free = [
                    op
                    for op in roster.qualified(day, shift.id, step.skill)
                    if shift.hours - plan.operator_hours[(day, shift.id, op.id)] + TOLERANCE
                    >= step.hours
                ]
                if len(free) == step.operators - 1:
                    yield Change(
                        "operator_shift",
                        step.skill,
                        (day,),
                        shift=shift.id,
                        operator=operators_to_roster(instance, day, shift.id, step.skill)[0],
                    )


def _qc_starts(
    instance: Instance, patient: Patient, plan: PublishedPlan, reach: _Reach
) -> Iterator[Change]:
    """One more start of an assay on every lab day in the patient's reach whose starts are all taken."""
    lab = instance.qc_lab
    product = instance.product_by_id[patient.product]
    first, last = reach.first_start.date(), reach.last_start.date()
    for assay in product.qc_assays:
        day = first + timedelta(days=assay.sample_day_offset)
        latest = last + timedelta(days=assay.sample_day_offset + assay.max_wait_days)
        while day <= latest:
            open_day = lab.is_open(day)
            used = plan.qc_starts[(plan.calendar.day(day), assay.id)]
            if (
                open_day
                and plan.calendar.in_horizon(day)
                and used >= lab.capacity_on(assay.id, day)
            ):
                yield Change("qc_start", assay.id, (day,))
            day += timedelta(days=1)


def _lab_days(
    instance: Instance, patient: Patient, plan: PublishedPlan, reach: _Reach
) -> Iterator[Change]:
    """The lab's closed working days on which one of the patient's assays could start."""
    lab = instance.qc_lab
    product = instance.product_by_id[patient.product]
    first, last = reach.first_start.date(), reach.last_start.date()
    for assay in product.qc_assays:
        earliest = first + timedelta(days=assay.sample_day_offset)
        latest = last + timedelta(days=assay.sample_day_offset + assay.max_wait_days)
        for day in sorted(lab.closed_dates):
            if earliest <= day <= latest and weekday_name(day) in lab.working_days:
                yield Change("qc_open_day", assay.id, (day,))


def _window_families(instance: Instance, patient: Patient) -> list[list[Change]]:
    """The apheresis window later or earlier, the infusion window longer or opening earlier, by k days."""
    families = []
    horizon_start = instance.horizon.start
    if patient.collected_on is None and not patient.locked:
        window = patient.apheresis_window
        families.append(
            [
                Change(
                    "apheresis_window",
                    patient.id,
                    (window.earliest, window.latest + timedelta(days=k)),
                    amount=k,
                    edge="later",
                )
                for k in range(1, MAX_WIDENING_DAYS + 1)
            ]
        )
        earlier = [
            Change(
                "apheresis_window",
                patient.id,
                (window.earliest - timedelta(days=k), window.latest),
                amount=k,
                edge="earlier",
            )
            for k in range(1, MAX_WIDENING_DAYS + 1)
            if window.earliest - timedelta(days=k) >= horizon_start
        ]
        if earlier:
            families.append(earlier)
    infusion = patient.infusion_window
    if infusion.latest is not None:
        families.append(
            [
                Change(
                    "infusion_window",
                    patient.id,
                    (infusion.earliest, infusion.latest + timedelta(days=k)),
                    amount=k,
                    edge="later",
                )
                for k in range(1, MAX_WIDENING_DAYS + 1)
            ]
        )
    end = horizon_start + timedelta(days=instance.horizon.days)
    if infusion.earliest >= end - timedelta(
        days=1
    ):  # only a window opening at the horizon's end can block
        latest = infusion.latest if infusion.latest is not None else end
        families.append(
            [
                Change(
                    "infusion_window",
                    patient.id,
                    (infusion.earliest - timedelta(days=k), latest),
                    amount=k,
                    edge="earlier",
                )
                for k in range(1, MAX_WIDENING_DAYS + 1)
            ]
        )
    return families


def _downtime_families(
    instance: Instance, patient: Patient, plan: PublishedPlan, reach: _Reach
) -> list[list[Change]]:
    """Every downtime of a suitable suite in the patient's reach, shortened from either end by k days."""
    product = instance.product_by_id[patient.product]
    families = []
    for suite in instance.suites:
        if suite.type not in product.suite_types:
            continue
        for index, period in enumerate(suite.unavailable):
            start, end = plan.calendar.local(period.start), plan.calendar.local(period.end)
            if end <= reach.first_start or start >= reach.occupied_until:
                continue
            days = max(1, -(-(end - start) // timedelta(days=1)))
            for edge in ("end", "start"):
                families.append(
                    [
                        Change(
                            "downtime_shortened",
                            suite.id,
                            (period.start.date(), period.end.date()),
                            amount=k,
                            edge=edge,
                            period=index,
                        )
                        for k in range(1, days + 1)
                    ]
                )
    return families


# ----- verification ------------------------------------------------------------------------


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


def _first_in_plan(
    instance: Instance, schedule: Schedule, patient: Patient, family: list[Change]
) -> Suggestion | None:
    """The smallest change of a family that lets the patient into the plan as it stands."""
    for change in family:
        changed = apply_change(instance, change)
        assignment = fits_plan(changed, schedule, patient.id)
        if assignment is not None:
            return _suggestion(instance, schedule, patient, change, assignment, PLAN, 0)
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


def _verified_by_solving(
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
                _suggestion(instance, schedule, patient, change, assignment, RESOLVE, moved)
            )
    return verified


def _sets_in_plan(
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
                _suggestion(instance, schedule, patient, proposal.changes, assignment, PLAN, 0)
            )
    return verified, pending


def _sets_by_solving(
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
                _suggestion(
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


# ----- words ---------------------------------------------------------------------------------


def _suggestion(
    instance: Instance,
    schedule: Schedule,
    patient: Patient,
    changes: Change | tuple[Change, ...],
    assignment: Assignment,
    verified_by: str,
    moved: int,
) -> Suggestion:
    """A verified change, or set of changes, in a coordinator's words (each change named with its resource and date)."""
    together = (changes,) if isinstance(changes, Change) else changes
    texts = []
    for group in _same_shift_groups(together):
        if len(group) > 1:
            texts.append(_operators_text(group))
        else:
            texts.append(_TEXTS[group[0].kind](instance, patient, group[0], assignment))
    text = texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]
    rule = "+".join(dict.fromkeys(RULE_OF_KIND[change.kind] for change in together))
    return Suggestion(patient.id, rule, together[0], text, verified_by, assignment, moved, together)


def _more(amount: int, noun: str, plural: str) -> str:
    """`one more chair`, `2 more chairs`."""
    return f"one more {noun}" if amount == 1 else f"{amount} more {plural}"


def _day(day: date) -> str:
    return f"{day:%a %Y-%m-%d}"


def _chair_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    hospital = instance.hospital_by_id[change.resource]
    (day,) = change.dates
    chairs = hospital.chairs_on(day)
    now = f"it has {chairs}, all taken" if chairs else f"it collects nobody on {day:%A}s"
    return f"{_more(change.amount, 'apheresis chair', 'apheresis chairs')} at {hospital.id} ({hospital.name}) on {_day(day)} ({now})"


def _operator_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    (day,) = change.dates
    who = (
        f"e.g. roster {change.operator}"
        if change.operator
        else f"every {change.resource} operator is rostered then: a new, borrowed or newly trained one"
    )
    return f"one more {change.resource} operator on {_day(day)} shift {change.shift} ({who})"


def _qc_start_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    (day,) = change.dates
    capacity = instance.qc_lab.capacity_on(change.resource, day)
    what = _more(change.amount, f"{change.resource} start", f"{change.resource} starts")
    return f"{what} at the QC lab on {_day(day)} (it has {capacity}, all taken)"


def _same_shift_groups(changes: tuple[Change, ...]) -> list[list[Change]]:
    """The changes in order, operator-shifts of one skill on one shift together (said in one phrase)."""
    groups: dict[tuple[object, ...], list[Change]] = {}
    for index, change in enumerate(changes):
        key = (
            (change.resource, change.dates, change.shift)
            if change.kind == "operator_shift"
            else (index,)
        )
        groups.setdefault(key, []).append(change)
    return list(groups.values())


def _operators_text(group: list[Change]) -> str:
    """Several more operators of one skill on one shift: `2 more cryo operators on … (e.g. roster OP2 and OP3)`."""
    first = group[0]
    (day,) = first.dates
    names = [change.operator for change in group if change.operator]
    unnamed = len(group) - len(names)
    new = f"{unnamed} new, borrowed or newly trained"
    if not names:
        who = f"every {first.resource} operator is rostered then: {new}"
    else:
        who = "e.g. roster " + " and ".join(names) + (f", and {new}" if unnamed else "")
    return (
        f"{len(group)} more {first.resource} operators on {_day(day)} shift {first.shift} ({who})"
    )


def _qc_open_day_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    (day,) = change.dates
    tests = change.resource.split(",")
    which = tests[0] if len(tests) == 1 else ", ".join(tests[:-1]) + " and " + tests[-1]
    return f"open the QC lab on {_day(day)} (now a closed date) to start the {which} test{'s' if len(tests) > 1 else ''}"


def _start_limit_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    limit = instance.site.max_starts_per_day
    start = assignment.manufacturing_start.date()
    what = _more(change.amount, "manufacturing start", "manufacturing starts")
    return f"{what} on {_day(start)} (max_starts_per_day {limit} to {(limit or 0) + change.amount})"


def _window_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    earliest, latest = change.dates
    k = change.amount
    if change.kind == "apheresis_window":
        window = patient.apheresis_window
        if change.edge == "later":
            return (
                f"apheresis window {k} day(s) longer: collect up to {_day(latest)} (now until "
                f"{_day(window.latest)}); collection on {_day(assignment.apheresis_date or latest)}"
            )
        return (
            f"apheresis window opening {k} day(s) earlier: collect from {_day(earliest)} (now from "
            f"{_day(window.earliest)}); collection on {_day(assignment.apheresis_date or earliest)}"
        )
    infusion = patient.infusion_window
    if change.edge == "later":
        return (
            f"infusion window {k} day(s) longer: until {_day(latest)} (now {infusion.latest}); "
            f"delivery on {_day(assignment.delivery_date)}"
        )
    return (
        f"infusion window opening {k} day(s) earlier: from {_day(earliest)} (now {infusion.earliest}); "
        f"delivery on {_day(assignment.delivery_date)}"
    )


def _downtime_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    suite = instance.suite_by_id[change.resource]
    assert change.period is not None
    period = suite.unavailable[change.period]
    what = f"the {period.reason} downtime" if period.reason else "the downtime"
    span = f"{period.start:%Y-%m-%d %H:%M}..{period.end:%Y-%m-%d %H:%M}"
    days = timedelta(days=change.amount)
    if (period.end - period.start) <= days:
        return f"cancel {what} of suite {suite.id} ({span})"
    if change.edge == "end":
        return f"end {what} of suite {suite.id} ({span}) {change.amount} day(s) earlier, at {period.end - days:%Y-%m-%d %H:%M}"
    return f"start {what} of suite {suite.id} ({span}) {change.amount} day(s) later, at {period.start + days:%Y-%m-%d %H:%M}"


def _suite_position_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    suite = instance.suite_by_id[change.resource]
    start = assignment.manufacturing_start
    return (
        f"one more {suite.type} position in suite {suite.id} (now {suite.positions}) from "
        f"{start:%a %Y-%m-%d %H:%M}, manufacturing until {assignment.manufacturing_end:%a %Y-%m-%d %H:%M}"
    )


_TEXTS = {
    "chair": _chair_text,
    "operator_shift": _operator_text,
    "qc_start": _qc_start_text,
    "qc_open_day": _qc_open_day_text,
    "start_limit": _start_limit_text,
    "apheresis_window": _window_text,
    "infusion_window": _window_text,
    "downtime_shortened": _downtime_text,
    "suite_position": _suite_position_text,
}
