"""An absence met by swapping team members: the plan keeps every start, seat and lab day.

On a day whose only news is operators falling ill, the policies that keep the plan (`repair`,
the do-nothing reference) need not place the whole plan again (`hold`): an absence only takes
capacity away, so nobody waiting could be placed now who could not be before, and each step the
absent operators worked can keep its date and shift with another qualified operator rostered
on that shift who has the hours left (SPEC C6), counting every step of the plan. Team members
who are not absent stay. When some step finds no replacement, `None`: the day goes through
`hold`, which may move or displace patients.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date

from models import Assignment, Instance, Schedule
from models.instance import Step
from scheduler.problem.batches import Batch, PlannedStep
from scheduler.problem.first_come import HOURS_EPSILON
from scheduler.problem.planning import PlanningProblem
from scheduler.problem.roster import roster_of


@dataclass
class Restaffed:
    """The plan with new teams, in both forms, on the instance without the absent rosters."""

    schedule: Schedule
    problem: PlanningProblem
    batches: list[Batch]


def _steps_by_patient(instance: Instance) -> dict[str, dict[str, Step]]:
    products = {
        **{p.id: p.product for p in instance.patients},
        **{b.patient: b.product for b in instance.in_progress},
    }
    return {
        patient: {step.id: step for step in instance.product_by_id[product].steps}
        for patient, product in products.items()
    }


def restaff(
    instance: Instance,
    schedule: Schedule,
    problem: PlanningProblem,
    batches: list[Batch],
    away: set[tuple[str, date]],
) -> Restaffed | None:
    """The plan with every step an absent operator worked given a replacement, or None.

    `instance` is already without the absent operators' roster entries; `problem` and `batches`
    are the plan's own (a `hold`'s), `away` the (operator, date) pairs lost.
    """
    steps_of = _steps_by_patient(instance)
    roster = roster_of(instance)
    used: defaultdict[tuple[date, str, str], float] = defaultdict(float)
    for assignment in schedule.assignments:
        for scheduled in assignment.steps:
            hours = steps_of[assignment.patient][scheduled.step].hours
            for operator in scheduled.operators:
                used[(scheduled.date, scheduled.shift, operator)] += hours
    teams: dict[tuple[str, str], list[str]] = {}
    order = sorted(schedule.assignments, key=lambda a: (a.manufacturing_start, a.patient))
    for assignment in order:
        for scheduled in assignment.steps:
            lost = [op for op in scheduled.operators if (op, scheduled.date) in away]
            if not lost:
                continue
            step = steps_of[assignment.patient][scheduled.step]
            key = (scheduled.date, scheduled.shift)
            shift_hours = instance.shift_by_id[scheduled.shift].hours
            for operator in lost:
                used[(*key, operator)] -= step.hours
            stay = [op for op in scheduled.operators if op not in lost]

            def left(
                operator: str, key: tuple[date, str] = key, hours: float = shift_hours
            ) -> float:
                return hours - used[(*key, operator)]

            able = sorted(
                (
                    op.id
                    for op in roster.qualified(scheduled.date, scheduled.shift, step.skill)
                    if op.id not in stay and left(op.id) + HOURS_EPSILON >= step.hours
                ),
                key=lambda op: (-left(op), op),
            )
            if len(able) < len(lost):
                return None
            for operator in able[: len(lost)]:
                used[(*key, operator)] += step.hours
            teams[(assignment.patient, scheduled.step)] = sorted(stay + able[: len(lost)])
    assignments = [_with_teams(a, teams) for a in schedule.assignments]
    new_batches = [_batch_with_teams(b, teams) for b in batches]
    builder = problem.builder.with_roster(instance, roster)
    new_problem = replace(problem, instance=instance, roster=roster, builder=builder)
    return Restaffed(
        schedule.model_copy(update={"assignments": assignments}), new_problem, new_batches
    )


def _with_teams(assignment: Assignment, teams: dict[tuple[str, str], list[str]]) -> Assignment:
    if not any((assignment.patient, s.step) in teams for s in assignment.steps):
        return assignment
    steps = [
        s.model_copy(update={"operators": teams[(assignment.patient, s.step)]})
        if (assignment.patient, s.step) in teams
        else s
        for s in assignment.steps
    ]
    return assignment.model_copy(update={"steps": steps})


def _batch_with_teams(batch: Batch, teams: dict[tuple[str, str], list[str]]) -> Batch:
    if not any((batch.patient_id, s.step.id) in teams for s in batch.steps):
        return batch
    steps = [
        PlannedStep(s.step, s.date, s.shift_id, teams[(batch.patient_id, s.step.id)])
        if (batch.patient_id, s.step.id) in teams
        else s
        for s in batch.steps
    ]
    return replace(batch, steps=steps)
