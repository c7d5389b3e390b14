"""Turning a search outcome into a `cart-schedule/1` document, with reasons and bounds."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from models import (
    Assignment,
    ObjectiveValues,
    Schedule,
    ScheduledAssay,
    ScheduledStep,
    Unscheduled,
)
from models.timeutil import add_hours
from scheduler.explain.unscheduled import explain_unscheduled
from scheduler.problem import reasons
from scheduler.problem.batches import Batch
from scheduler.problem.calendar import SiteCalendar
from scheduler.problem.measures import compact_number
from scheduler.problem.steady import SEAT_MOVE_COST, START_MOVE_COST, Churn

if TYPE_CHECKING:
    from scheduler.problem.planning import PlanningProblem
    from scheduler.search.outcome import SearchOutcome, SteadyOutcome


def _trivial_bounds(
    problem: PlanningProblem, scheduled: set[str], everyone: bool
) -> dict[str, float]:
    # Without enumerated options (a simulated run's intermediate plans) every patient counts.
    return {
        "scheduled_weight": compact_number(
            sum(
                p.patient.weight
                for p in problem.patients
                if everyone or p.starts or p.patient.id in scheduled
            )
        ),
        "plan_changes": 0,
        "wait_days": 0,
    }


def build_schedule(
    problem: PlanningProblem,
    outcome: SearchOutcome | None,
    seconds: float,
    infeasibility: list[str] | None = None,
    explain: bool = True,
    reuse: Mapping[str, Assignment] | None = None,
) -> Schedule:
    """The schedule document for a search outcome (or for commitments that cannot be honoured).

    `explain=False` gives every unscheduled patient one placeholder reason instead of trying
    their starts against the plan (for the plans of a simulated run, whose patients may have
    no options enumerated: the trivial bound then counts every patient). `reuse`
    gives assignments already built for batches that are unchanged (a kept plan's).
    """
    instance = problem.instance
    if infeasibility is not None or outcome is None or outcome.status != "SOLVED":
        status = (
            "INFEASIBLE"
            if infeasibility is not None or (outcome and outcome.status == "INFEASIBLE")
            else "UNKNOWN"
        )
        if status == "INFEASIBLE":
            infeasibility = infeasibility or [reasons.in_progress_cannot_complete()]
            reason = reasons.no_plan_until_commitments_fixed(infeasibility[0])
        else:
            reason = reasons.no_schedule_in_time_limit()
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
    values = problem.measure_values(batches)
    scheduled = {batch.patient_id for batch in batches}
    bounds = _trivial_bounds(problem, scheduled, everyone=not explain)
    for level in outcome.levels:
        if level.proven:
            bounds[level.measure] = values[level.measure]
        elif level.bound is not None:
            better = max if level.measure == "scheduled_weight" else min
            bounds[level.measure] = compact_number(better(level.bound, values[level.measure]))
    proven = {level.measure for level in outcome.levels if level.proven}
    status = "OPTIMAL" if all(m in proven for m in instance.objective_order) else "FEASIBLE"
    explained = (
        explain_unscheduled(problem, batches)
        if explain
        else defaultdict(lambda: [reasons.not_explained()])
    )
    unscheduled = [
        Unscheduled(patient=options.patient.id, reasons=explained[options.patient.id])
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
            (reuse or {}).get(b.patient_id) or assignment_of(problem.calendar, b)
            for b in sorted(batches, key=lambda b: order[b.patient_id])
        ],
        unscheduled=unscheduled,
        levels=levels,  # optional extra: how each level of the objective was reached
        first_schedule_seconds=None
        if outcome.first_schedule_seconds is None
        else round(outcome.first_schedule_seconds, 3),
    )


def steady_report(churn: Churn, steady: SteadyOutcome) -> dict[str, Any]:
    """A re-plan's optional `churn` field: patients moved without an event of their own.

    `moved` counts patients whose start, suite position or team differs from the previous plan,
    `before` the same for the plan the SPEC levels left (what the re-plan gave without the churn
    level); `bound` is a proven lower bound on `moved` given the SPEC measures' values (a moved
    patient costs at most a start and a seat move), `cost` what the level minimised.
    """
    most = START_MOVE_COST + SEAT_MOVE_COST
    return {
        "moved": churn.moved,
        "before": steady.before.moved,
        "bound": None if steady.cost_bound is None else math.ceil(steady.cost_bound / most),
        "starts_moved": sorted(churn.starts_moved),
        "reseated": sorted(churn.reseated),
        "teams_changed": sorted(churn.teams_changed),
        "cost": churn.cost,
        "cost_bound": None if steady.cost_bound is None else round(steady.cost_bound),
        "proven": steady.proven,
        "seconds": round(steady.seconds, 3),
    }


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
