"""C6 made exact after a solve: the repairs of a plan some shift of which no team could staff.

The model bounds each shift's operator hours in aggregate; a plan it lets through may still have a
shift no team can staff. When no plan at the same objective value can be found near it,
`TeamRepair.best_nearby` re-plans only the patients working on the dates of those shifts (and
those left out), so that a good plan is not lost for an older, worse one.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from generator import generate_instance
from models import load_instance
from scheduler.explain.schedule_document import build_schedule
from scheduler.model.build import build_model
from scheduler.model.decode import read_batches
from scheduler.problem.batches import assign_positions
from scheduler.problem.planning import prepare
from scheduler.search.outcome import SearchOutcome
from scheduler.search.team_repair import TeamRepair
from validator import validate


def test_the_best_plan_near_a_rejected_one_moves_only_the_patients_of_its_dates() -> None:
    """s waitlist seed 1, most weight: take the busiest date's early shift as if no team could
    staff it. The plan near it keeps every patient working on other dates where it was, its
    teams can be assigned, and it keeps every rule."""
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
    assert teams.unstaffable(rejected) == []

    new = [batch for batch in rejected if not batch.in_progress]
    busiest = max(
        {step.date for batch in new for step in batch.steps},
        key=lambda day: sum(step.date == day for batch in new for step in batch.steps),
    )
    failed = sorted(shift for shift in shift_loads if shift[0] == busiest)[:1]
    teams.model_exactly(failed)
    near = teams.best_nearby(solver, rejected, failed, lambda: 20.0)

    assert near is not None
    assert teams.unstaffable(near) == []
    working_that_day = {b.patient_id for b in new if any(s.date == busiest for s in b.steps)}
    before = {b.patient_id: (b.start, b.apheresis_date) for b in new}
    after = {b.patient_id: (b.start, b.apheresis_date) for b in near if not b.in_progress}
    for patient_id, choice in before.items():
        if patient_id not in working_that_day:
            assert after.get(patient_id) == choice, f"{patient_id} moved though free that day"
    assign_positions(near, problem.builder.classes)
    schedule = build_schedule(problem, SearchOutcome("SOLVED", [], near), 0.0)
    assert validate(instance, schedule) == []
