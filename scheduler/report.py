"""Turning a search outcome into a `cart-schedule/1` document, with reasons and bounds."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import combinations
from typing import TYPE_CHECKING

from models import (
    Assignment,
    ObjectiveValues,
    Schedule,
    ScheduledAssay,
    ScheduledStep,
    Unscheduled,
)
from models.timeutil import add_hours
from scheduler.calendar import SiteCalendar
from scheduler.explain import explain_unscheduled
from scheduler.extract import Batch

if TYPE_CHECKING:
    from scheduler.solve import PlanningProblem, SearchOutcome


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
                conflicts.append(
                    f"C4 start: in-progress {', '.join(batches)} all started on {day:%a %Y-%m-%d}, "
                    f"more than max_starts_per_day {limit}"
                )
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
                f"C5 suite: in-progress {first.batch.patient} and {second.batch.patient} both occupy "
                f"{first.batch.suite} position {first.batch.position} "
                f"({first.start:%Y-%m-%d %H:%M}..{first.occupied_until:%Y-%m-%d %H:%M} and "
                f"{second.start:%Y-%m-%d %H:%M}..{second.occupied_until:%Y-%m-%d %H:%M})"
            )
    return conflicts


def measure_values(problem: PlanningProblem, batches: list[Batch]) -> dict[str, float]:
    """The three measures of SPEC section 4, recomputed from the batches themselves."""
    patients = {p.patient.id: p.patient for p in problem.patients}
    weight = changes = wait = 0.0
    for batch in batches:
        if batch.in_progress:
            continue
        patient = patients[batch.patient_id]
        weight += patient.weight
        previous = patient.previous_apheresis_date
        if previous is not None and batch.apheresis_date != previous:
            changes += 1
        delivery = problem.calendar.date(batch.delivery_day)
        wait += patient.weight * (delivery - patient.apheresis_window.earliest).days
    return {
        "scheduled_weight": _compact(weight),
        "plan_changes": _compact(changes),
        "wait_days": _compact(wait),
    }


def _compact(value: float) -> float:
    return int(value) if float(value).is_integer() else round(value, 6)


def _trivial_bounds(problem: PlanningProblem) -> dict[str, float]:
    return {
        "scheduled_weight": _compact(sum(p.patient.weight for p in problem.patients if p.starts)),
        "plan_changes": 0,
        "wait_days": 0,
    }


def build_schedule(
    problem: PlanningProblem,
    outcome: SearchOutcome | None,
    seconds: float,
    infeasibility: list[str] | None = None,
) -> Schedule:
    """The schedule document for a search outcome (or for commitments that cannot be honoured)."""
    instance = problem.instance
    if infeasibility is not None or outcome is None or outcome.status != "SOLVED":
        status = (
            "INFEASIBLE"
            if infeasibility is not None or (outcome and outcome.status == "INFEASIBLE")
            else "UNKNOWN"
        )
        if status == "INFEASIBLE":
            infeasibility = infeasibility or [
                "C11 in progress: the in-progress batches cannot all be completed inside the horizon "
                "with the rostered operators, QC capacity and daily start limit"
            ]
            reason = f"C11 in progress: no plan is possible until the in-progress commitments are fixed ({infeasibility[0]})"
        else:
            reason = "C1 coverage: no schedule was found within the time limit"
        schedule = Schedule(
            format="cart-schedule/1",
            instance=instance.name,
            status=status,
            objective=None,
            bound=None,
            solve_seconds=round(seconds, 3),
            assignments=[],
            unscheduled=[Unscheduled(patient=p.id, reasons=[reason]) for p in instance.patients],
        )
        if infeasibility:
            schedule.infeasibility = infeasibility  # type: ignore[attr-defined]
        return schedule
    batches = outcome.batches
    values = measure_values(problem, batches)
    bounds = _trivial_bounds(problem)
    for level in outcome.levels:
        if level.proven:
            bounds[level.measure] = values[level.measure]
        elif level.bound is not None:
            better = max if level.measure == "scheduled_weight" else min
            bounds[level.measure] = _compact(better(level.bound, values[level.measure]))
    proven = {level.measure for level in outcome.levels if level.proven}
    status = "OPTIMAL" if all(m in proven for m in instance.objective_order) else "FEASIBLE"
    scheduled = {batch.patient_id for batch in batches}
    reasons = explain_unscheduled(problem, batches)
    unscheduled = [
        Unscheduled(patient=options.patient.id, reasons=reasons[options.patient.id])
        for options in problem.patients
        if options.patient.id not in scheduled
    ]
    levels = [
        {
            "measure": level.measure,
            "value": values[level.measure],
            "bound": bounds[level.measure],
            "proven": level.proven,
            "seconds": round(level.seconds, 3),
            "first_solution_seconds": None
            if level.first_solution_seconds is None
            else round(level.first_solution_seconds, 3),
            "team_repairs": level.team_repairs,
        }
        for level in outcome.levels
    ]
    order = {b.patient: i for i, b in enumerate(instance.in_progress)} | {
        p.id: len(instance.in_progress) + i for i, p in enumerate(instance.patients)
    }
    return Schedule(
        format="cart-schedule/1",
        instance=instance.name,
        status=status,
        objective=ObjectiveValues(**values),
        bound=ObjectiveValues(**bounds),
        solve_seconds=round(seconds, 3),
        assignments=[
            assignment_of(problem.calendar, b)
            for b in sorted(batches, key=lambda b: order[b.patient_id])
        ],
        unscheduled=unscheduled,
        levels=levels,  # optional extra: how each level of the objective was reached
        first_schedule_seconds=None
        if outcome.first_schedule_seconds is None
        else round(outcome.first_schedule_seconds, 3),
    )


def assignment_of(calendar: SiteCalendar, batch: Batch) -> Assignment:
    """The SPEC section 6 assignment of one fully decided batch."""
    zone = calendar.zone
    return Assignment(
        patient=batch.patient_id,
        in_progress=batch.in_progress,
        apheresis_date=batch.apheresis_date,
        suite=batch.suite,
        position=batch.position,
        manufacturing_start=batch.start.astimezone(zone),
        manufacturing_end=add_hours(batch.start, batch.product.manufacturing_hours, zone),
        steps=[
            ScheduledStep(step=s.step.id, date=s.date, shift=s.shift_id, operators=s.operators)
            for s in batch.steps
        ],
        qc=[
            ScheduledAssay(
                assay=a.assay.id,
                sample_date=calendar.start_date + timedelta(days=a.sample_day),
                start_date=calendar.date(a.start_day),
                end_date=calendar.date(a.end_day),
            )
            for a in batch.assays
        ],
        release_date=calendar.date(batch.release_day),
        delivery_date=calendar.date(batch.delivery_day),
    )
