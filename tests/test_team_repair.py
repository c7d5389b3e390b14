"""C6 made exact after a solve: the repairs of a plan some shift of which no team could staff.

The model bounds each shift's operator hours in aggregate; a plan it lets through may still have a
shift no team can staff. When no plan at the same objective value can be found near it,
`TeamRepair.best_nearby` re-plans only the patients working on the dates of those shifts (and
those left out), so that a good plan is not lost for an older, worse one.
"""

from __future__ import annotations

import time
from typing import cast

import pytest
from ortools.sat.python import cp_model

from generator import generate_instance
from models import load_instance
from scheduler.explain.schedule_document import build_schedule
from scheduler.model.build import build_model
from scheduler.model.decode import read_batches
from scheduler.problem.batches import assign_positions
from scheduler.problem.first_come import greedy_batches
from scheduler.problem.planning import prepare
from scheduler.search import lexicographic, parameters
from scheduler.search.outcome import SearchOutcome, SolveOptions
from scheduler.search.stages import staged_objective
from scheduler.search.team_repair import TeamRepair
from validator import validate


def test_the_best_plan_near_a_rejected_one_moves_only_the_patients_of_its_dates() -> None:
    """s waitlist seed 1, most weight: take the busiest date's early shift as if no team could
    staff it (with any shift the plan already leaves unstaffable). The plan near it keeps every
    patient working on other dates where it was, its teams can be assigned, and it keeps every
    rule."""
    instance = load_instance(generate_instance("s", 1, "waitlist"))
    problem = prepare(instance)
    plan, measures, shift_loads = build_model(problem)
    plan.model.minimize(-measures["scheduled_weight"])
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 20
    solver.parameters.num_workers = 2
    assert solver.solve(plan.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    rejected = read_batches(plan, solver, problem.calendar)
    teams = TeamRepair(problem, plan, shift_loads, hint_from_rejected=True)

    new = [batch for batch in rejected if not batch.in_progress]
    busiest = max(
        {step.date for batch in new for step in batch.steps},
        key=lambda day: sum(step.date == day for batch in new for step in batch.steps),
    )
    # The aggregate model may itself let an unstaffable shift through (about one solve in ten
    # with two workers); such a shift is rejected as well, as the search would.
    failed = sorted(
        {*teams.unstaffable(rejected), *sorted(s for s in shift_loads if s[0] == busiest)[:1]}
    )
    teams.model_exactly(failed)
    near = teams.best_nearby(solver, rejected, failed, lambda: 20.0)

    assert near is not None
    assert teams.unstaffable(near) == []
    failed_dates = {day for day, _ in failed}
    working_then = {b.patient_id for b in new if any(s.date in failed_dates for s in b.steps)}
    before = {b.patient_id: (b.start, b.apheresis_date) for b in new}
    after = {b.patient_id: (b.start, b.apheresis_date) for b in near if not b.in_progress}
    for patient_id, choice in before.items():
        if patient_id not in working_then:
            assert after.get(patient_id) == choice, f"{patient_id} moved though free those days"
    assign_positions(near, problem.builder.classes)
    schedule = build_schedule(problem, SearchOutcome("SOLVED", [], near), 0.0)
    assert validate(instance, schedule) == []


def test_a_dive_between_the_kept_plan_and_a_rejected_one_finds_the_rejected_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """s waitlist seed 1: a level holds the first-come plan, and its search ended on the optimum,
    taken here as if no team could staff it. The dive among the starts of both plans finds a valid
    plan as good as that optimum, every patient on one of its two starts, keeping every rule."""
    monkeypatch.setattr(parameters, "SUPPORT_PLAN_PAYS_FROM", 0)
    instance = load_instance(generate_instance("s", 1, "waitlist"))
    problem = prepare(instance)
    options = SolveOptions(time_limit=30, workers=2)
    optimum = lexicographic._Search(problem, options, time.monotonic()).run()
    assert optimum.levels and all(level.proven for level in optimum.levels)
    kept = greedy_batches(problem)
    assert kept is not None and problem.better(optimum.batches, kept)

    search = lexicographic._Search(problem, options, time.monotonic())
    search.scales = {m: 1 if m == "plan_changes" else problem.scale for m in search.measures}
    order: list[str] = list(instance.objective_order)
    objective = staged_objective(search.model, order, search.measures, search.scales)
    level = lexicographic._Level(objective, time.monotonic(), 30.0, provisional=kept)
    between = search._plan_between(level, optimum.batches)

    assert between is not None
    assert not problem.better(optimum.batches, between)
    either = {
        (batch.patient_id, batch.start)
        for batch in [*kept, *optimum.batches]
        if not batch.in_progress
    }
    assert all((b.patient_id, b.start) in either for b in between if not b.in_progress)
    assert search.teams.unstaffable(between) == []
    assign_positions(between, problem.builder.classes)
    schedule = build_schedule(problem, SearchOutcome("SOLVED", [], between), 0.0)
    assert validate(instance, schedule) == []


@pytest.mark.parametrize(("stop_from", "expected"), [(None, None), (0, False)])
def test_an_unstaffable_incumbent_stops_the_solve_only_where_the_next_starts_from_a_hint(
    monkeypatch: pytest.MonkeyPatch, stop_from: int | None, expected: bool | None
) -> None:
    """s waitlist seed 1 (far below 10 k variables): a solve meets an incumbent no team could
    staff before any valid one. The next solve on a model this small starts without a hint, so
    a stop would throw the search away (m waitlist seed 2 lost up to three searches 1 unit from
    their proof): the search goes on (None), the shifts kept to be modelled exactly later. Where
    the next solve starts from a hint (the threshold lowered to 0 here), the solve stops (False)."""
    if stop_from is not None:
        monkeypatch.setattr(parameters, "STOP_FOR_UNSTAFFABLE_FROM", stop_from)
    instance = load_instance(generate_instance("s", 1, "waitlist"))
    problem = prepare(instance)
    search = lexicographic._Search(problem, SolveOptions(time_limit=30), time.monotonic())
    assert search.size < parameters.GREEDY_HINT_PAYS_FROM
    search.scales = {m: 1 if m == "plan_changes" else problem.scale for m in search.measures}
    objective = staged_objective(
        search.model, list(instance.objective_order), search.measures, search.scales
    )
    level = lexicographic._Level(objective, time.monotonic(), 30.0)
    incumbent = cp_model.CpSolver()
    incumbent.parameters.max_time_in_seconds = 10
    assert incumbent.solve(search.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    unstaffed = (instance.horizon.start, "day")
    monkeypatch.setattr(search.teams, "unstaffable", lambda batches: [unstaffed])

    # A finished solve is read as an incumbent is: the value of each variable.
    met = cast(cp_model.CpSolverSolutionCallback, incumbent)
    assert search._incumbent_staffable(level, met) is expected
    assert level.unstaffable_seen == {unstaffed}
    assert level.provisional is None  # an unstaffable plan is never the fallback
