"""C6 teams: distinct qualified, rostered operators for every step of a shift within its hours.

A quick fill first, then a tiny exact CP-SAT model of one shift when the fill fails; every
plan (the search's, the first-come plan, a booking) gets its teams here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from ortools.sat.python import cp_model

from models import Instance, Operator
from scheduler.problem.batches import Batch, PlannedStep
from scheduler.problem.roster import Roster
from scheduler.problem.steady import PreviousPlan


def assign_operators(
    batches: list[Batch], instance: Instance, roster: Roster
) -> list[tuple[date, str]]:
    """Give every step a team (C6) shift by shift; return the shifts where no team assignment exists."""
    by_slot: dict[tuple[date, str], list[PlannedStep]] = defaultdict(list)
    for batch in batches:
        for planned in batch.steps:
            by_slot[(planned.date, planned.shift_id)].append(planned)
    failed = []
    for (day, shift_id), steps in sorted(by_slot.items()):
        if not _assign_shift_team(
            steps, roster.on_shift(day, shift_id), instance.shift_by_id[shift_id].hours
        ):
            failed.append((day, shift_id))
    return failed


def keep_previous_teams(
    batches: list[Batch], previous: PreviousPlan, instance: Instance, roster: Roster
) -> None:
    """In a re-plan, give steps their previous team where the shift can still be staffed so.

    Shift by shift: every step on its previous date and shift whose previous operators are all
    rostered, qualified and have the hours left keeps them, the other steps are filled around
    them; a shift where that fails keeps the teams it has (valid already).
    """
    by_slot: dict[tuple[date, str], list[tuple[PlannedStep, list[str] | None]]] = defaultdict(list)
    for batch in batches:
        choice = previous.choices.get(batch.patient_id)
        for planned in batch.steps:
            before = (
                choice.teams.get(planned.step.id)
                if choice is not None and not batch.in_progress
                else None
            )
            team = (
                sorted(before[2])
                if before is not None and before[:2] == (planned.date, planned.shift_id)
                else None
            )
            by_slot[(planned.date, planned.shift_id)].append((planned, team))
    for (day, shift_id), steps in sorted(by_slot.items()):
        if any(team is not None and team != planned.operators for planned, team in steps):
            _fill_around_previous_teams(
                steps, roster.on_shift(day, shift_id), instance.shift_by_id[shift_id].hours
            )


def _fill_around_previous_teams(
    steps: list[tuple[PlannedStep, list[str] | None]],
    operators: list[Operator],
    shift_hours: float,
) -> bool:
    """One shift: the previous teams first (each whole or not at all), the quick fill for the rest."""
    qualified = {op.id: op.skills for op in operators}
    left = {op.id: shift_hours for op in operators}
    chosen: dict[int, list[str]] = {}
    for planned, team in steps:
        if team is not None and all(
            op in qualified
            and planned.step.skill in qualified[op]
            and left[op] + 1e-9 >= planned.step.hours
            for op in team
        ):
            for op in team:
                left[op] -= planned.step.hours
            chosen[id(planned)] = team
    rest = [planned for planned, _ in steps if id(planned) not in chosen]
    fewest_first = sorted(
        rest,
        key=lambda s: (sum(s.step.skill in skills for skills in qualified.values()), -s.step.hours),
    )
    for planned in fewest_first:
        able = [
            op.id
            for op in operators
            if planned.step.skill in op.skills and left[op.id] + 1e-9 >= planned.step.hours
        ]
        if len(able) < planned.step.operators:
            return False
        team = sorted(able, key=lambda op: (-left[op], op))[: planned.step.operators]
        for op in team:
            left[op] -= planned.step.hours
        chosen[id(planned)] = sorted(team)
    for planned, _ in steps:
        planned.operators = chosen[id(planned)]
    return True


def drop_unstaffable(
    batches: list[Batch], failed: list[tuple[date, str]], instance: Instance, roster: Roster
) -> list[Batch] | None:
    """The plan without the fewest, lightest new patients that make the failed shifts unstaffable.

    Every shift is then staffed again; None if even the in-progress work cannot be.
    """
    weight = {p.id: p.weight for p in instance.patients}
    kept = list(batches)
    for day, shift_id in failed:
        while True:
            steps = [s for b in kept for s in b.steps if (s.date, s.shift_id) == (day, shift_id)]
            if _assign_shift_team(
                steps, roster.on_shift(day, shift_id), instance.shift_by_id[shift_id].hours
            ):
                break
            victims = [
                b
                for b in kept
                if not b.in_progress
                and any((s.date, s.shift_id) == (day, shift_id) for s in b.steps)
            ]
            if not victims:
                return None
            kept.remove(min(victims, key=lambda b: (weight[b.patient_id], b.start, b.patient_id)))
    if assign_operators(kept, instance, roster):
        return None
    return kept


def _assign_shift_team(
    steps: list[PlannedStep], operators: list[Operator], shift_hours: float
) -> bool:
    """Team assignment for one shift: a quick fill first, an exact tiny CP-SAT model when that fails."""
    return _fill_shift_team(steps, operators, shift_hours) or _solve_shift_team(
        steps, operators, shift_hours
    )


def _fill_shift_team(
    steps: list[PlannedStep], operators: list[Operator], shift_hours: float
) -> bool:
    """Steps with the fewest qualified operators first, each to those with the most hours left."""
    left = {op.id: shift_hours for op in operators}
    qualified = {id(s): [op.id for op in operators if s.step.skill in op.skills] for s in steps}
    chosen: dict[int, list[str]] = {}
    for planned in sorted(steps, key=lambda s: (len(qualified[id(s)]), -s.step.hours)):
        able = [op for op in qualified[id(planned)] if left[op] + 1e-9 >= planned.step.hours]
        if len(able) < planned.step.operators:
            return False
        team = sorted(able, key=lambda op: (-left[op], op))[: planned.step.operators]
        for op in team:
            left[op] -= planned.step.hours
        chosen[id(planned)] = sorted(team)
    for planned in steps:
        planned.operators = chosen[id(planned)]
    return True


def _solve_shift_team(
    steps: list[PlannedStep], operators: list[Operator], shift_hours: float
) -> bool:
    """Exact team assignment for one shift: a tiny CP-SAT model."""
    model = cp_model.CpModel()
    takes: dict[tuple[int, str], cp_model.IntVar] = {}
    for s, planned in enumerate(steps):
        qualified = [op for op in operators if planned.step.skill in op.skills]
        literals = []
        for op in qualified:
            takes[(s, op.id)] = model.new_bool_var(f"{s}-{op.id}")
            literals.append(takes[(s, op.id)])
        model.add(sum(literals) == planned.step.operators)
    hundredths = round(shift_hours * 100)
    for op in operators:
        load = [
            takes[(s, op.id)] * round(p.step.hours * 100)
            for s, p in enumerate(steps)
            if (s, op.id) in takes
        ]
        if load:
            model.add(sum(load) <= hundredths)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 10
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return False
    for s, planned in enumerate(steps):
        planned.operators = sorted(
            op_id for (i, op_id), lit in takes.items() if i == s and solver.value(lit)
        )
    return True
