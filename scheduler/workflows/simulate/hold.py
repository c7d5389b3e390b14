"""Keep a plan as it stands on a changed instance, and insert a few patients where room is left.

This is the `repair` policy and the do-nothing reference. Every patient of the previous plan
keeps its manufacturing start (and its suite position when free); collections keep their date,
teams and QC days are filled again by the first-come-first-served planner, which checks every
resource exactly (the same machinery as `booking.PublishedPlan`). A patient whose start no
longer fits (a closed suite, an absent team) is *displaced*. Then the patients to insert (the
failed ones, and for `repair` the displaced ones) take the earliest-delivering start still free
— nobody else moves.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC

from models import Instance, Schedule
from scheduler.explain.schedule_document import build_schedule
from scheduler.problem.batches import Batch, assign_positions
from scheduler.problem.first_come import GreedyPlanner
from scheduler.problem.options import PatientOptions
from scheduler.problem.planning import prepare
from scheduler.search.outcome import SearchOutcome, SolveOptions
from scheduler.workflows.solve import solve
from scheduler.workflows.warm_start import previous_plan_first


@dataclass
class Held:
    """The kept plan, who was placed anew and who lost their start."""

    schedule: Schedule
    placed: set[str] = field(default_factory=set)
    displaced: list[str] = field(default_factory=list)
    used_solver: bool = False  # in-progress work did not fit greedily: CP-SAT placed it


def _insert(planner: GreedyPlanner, options: PatientOptions) -> Batch | None:
    for option in sorted(options.starts, key=lambda o: planner.option_order(options, o)):
        placed = planner.try_option(options, option)
        if isinstance(placed, Batch):
            return placed
    return None


def hold(
    instance: Instance,
    previous: Schedule,
    insert: Iterable[str],
    reinsert_displaced: bool,
    time_limit: float,
) -> Held:
    """The previous plan kept on `instance`, with `insert` (and maybe the displaced) placed anew."""
    started = time.monotonic()
    problem = prepare(instance)
    planner = GreedyPlanner(problem)
    batches = planner.place_commitments()
    if batches is None:
        # An absence left a running batch's step without a team in its shift: the greedy cannot
        # move steps between shifts, CP-SAT can (it may move others too; counted in the report).
        fallback = SolveOptions(
            time_limit=time_limit, workers=1, start_batches=previous_plan_first(previous)
        )
        return Held(solve(instance, fallback), used_solver=True)
    by_id = {o.patient.id: o for o in problem.patients}
    before = {
        a.patient: a for a in previous.assignments if not a.in_progress and a.patient in by_id
    }
    held = Held(previous)
    for patient_id in sorted(before, key=lambda p: (before[p].manufacturing_start, p)):
        options = by_id[patient_id]
        start = before[patient_id].manufacturing_start.astimezone(UTC)
        option = next((o for o in options.starts if o.slot.start.astimezone(UTC) == start), None)
        placed = planner.try_option(options, option) if option is not None else None
        if isinstance(placed, Batch):
            batches.append(placed)
        else:
            held.displaced.append(patient_id)
    wanted = [p for p in dict.fromkeys(insert) if p in by_id and p not in before]
    if reinsert_displaced:
        wanted += held.displaced
    for patient_id in sorted(wanted, key=lambda p: planner.patient_order(by_id[p])):
        batch = _insert(planner, by_id[patient_id])
        if batch is not None:
            batches.append(batch)
            held.placed.add(patient_id)
    seats = {a.patient: (a.suite, a.position) for a in previous.assignments}
    assign_positions(batches, problem.builder.classes, seats)
    outcome = SearchOutcome(status="SOLVED", batches=batches)
    held.schedule = build_schedule(problem, outcome, time.monotonic() - started)
    return held
