"""Bounds from the linear relaxation are valid inequalities: they never cut off a proven optimum.

The search adds the relaxation's bound on each level as a constraint (issue 18: bounds that move
on overloaded sites). A bound that cut off the optimum would make the solver "prove" a worse
plan optimal, so on small sites, where CP-SAT proves every level on its own, the relaxation's
bounds must lie on the right side of the proven values, and a search that uses them must reach
the same optimum.
"""

from __future__ import annotations

import pytest
from ortools.sat.python import cp_model

from generator import generate_instance
from models import load_instance
from scheduler.explain.schedule_document import build_schedule
from scheduler.model.build import build_model
from scheduler.problem.batches import Batch, assign_positions
from scheduler.problem.first_come import greedy_batches
from scheduler.problem.planning import prepare
from scheduler.search import lexicographic, parameters
from scheduler.search.guided_start import relaxation_guided_batches
from scheduler.search.outcome import SearchOutcome
from scheduler.search.relaxation import LinearRelaxation
from scheduler.search.stages import StagedObjective
from scheduler.search.structural_bounds import plan_changes_floor, wait_days_floor
from tests.helpers import OVERLOADED_SMALL_SITES, cut_short, force_on, solve_and_validate
from validator import validate

SITES = OVERLOADED_SMALL_SITES


def test_two_patients_for_one_and_a_half_positions_bound_to_one() -> None:
    """Two patients, each needing 2 of 3 position-days: the LP allows 1.5, the bound says 1."""
    model = cp_model.CpModel()
    first, second = model.new_bool_var("scheduled[P1]"), model.new_bool_var("scheduled[P2]")
    model.add(2 * first + 2 * second <= 3)
    relaxation = LinearRelaxation(model)
    assert relaxation.lower_bound(-(first + second), seconds=5) == -1


def test_a_held_level_conditions_the_next_bound() -> None:
    """With scheduled weight held at 2 both patients are in: a wait bound counts both."""
    model = cp_model.CpModel()
    first, second = model.new_bool_var("scheduled[P1]"), model.new_bool_var("scheduled[P2]")
    waits = model.new_int_var(0, 20, "wait_days")
    model.add(waits >= 3 * first + 4 * second)
    relaxation = LinearRelaxation(model)
    assert relaxation.lower_bound(waits, seconds=5) == 0  # nobody scheduled, nobody waits
    relaxation.hold_at_most(-(first + second), -2)
    assert relaxation.lower_bound(waits, seconds=5) == 7


@pytest.mark.parametrize(("size", "seed", "scenario"), SITES)
def test_relaxation_bounds_never_cut_off_the_proven_optimum(
    size: str, seed: int, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proven without the relaxation, the optimum lies inside every bound it gives, level by level."""
    monkeypatch.setattr(parameters, "RELAXATION_PAYS_FROM", 10**9)
    instance, schedule = solve_and_validate(
        generate_instance(size, seed, scenario), time_limit=60, workers=2
    )
    assert schedule.status == "OPTIMAL", f"{instance.name}: not proven, nothing to compare"
    assert schedule.objective is not None
    plan, measures, _ = build_model(prepare(instance))
    relaxation = LinearRelaxation(plan.model)
    scale = prepare(instance).scale
    weight = round(schedule.objective.scheduled_weight * scale)
    changes = round(schedule.objective.plan_changes)
    waits = round(schedule.objective.wait_days * scale)

    weight_bound = relaxation.lower_bound(-measures["scheduled_weight"], seconds=30)
    assert weight_bound is not None and -weight_bound >= weight
    relaxation.hold_at_most(-measures["scheduled_weight"], -weight)
    changes_bound = relaxation.lower_bound(measures["plan_changes"], seconds=30)
    assert changes_bound is not None and changes_bound <= changes
    relaxation.hold_at_most(measures["plan_changes"], changes)
    waits_bound = relaxation.lower_bound(measures["wait_days"], seconds=30)
    assert waits_bound is not None and waits_bound <= waits
    # The per-patient floors (structural_bounds) at the proven weight are valid as well.
    problem = prepare(instance)
    assert plan_changes_floor(problem, schedule.objective.scheduled_weight) <= changes
    assert wait_days_floor(problem, schedule.objective.scheduled_weight) * scale <= waits


@pytest.mark.parametrize(("size", "seed", "scenario"), SITES[2:4])
def test_a_search_with_the_relaxation_reaches_the_same_optimum(
    size: str, seed: int, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forced on for small models, the relaxation changes how fast, never where, the search ends."""
    doc = generate_instance(size, seed, scenario)
    monkeypatch.setattr(parameters, "RELAXATION_PAYS_FROM", 10**9)
    _, without = solve_and_validate(doc, time_limit=60, workers=2)
    monkeypatch.setattr(parameters, "RELAXATION_PAYS_FROM", 0)
    _, with_bounds = solve_and_validate(load_instance(doc), time_limit=60, workers=2)
    assert without.status == with_bounds.status == "OPTIMAL"
    assert with_bounds.objective == without.objective
    assert with_bounds.bound == with_bounds.objective


def test_the_relaxation_guided_start_is_valid_and_beats_first_come_on_a_waitlist_week() -> None:
    """m waitlist seed 1 (162 patients for about 60 slots): placing first the patients and starts
    the relaxation chose schedules more weight than first-come, and the plan keeps every rule."""
    instance = load_instance(generate_instance("m", 1, "waitlist"))
    problem = prepare(instance)
    plan, measures, _ = build_model(problem)
    relaxation = LinearRelaxation(plan.model)
    assert relaxation.lower_bound(-measures["scheduled_weight"], seconds=30) is not None
    first_come = greedy_batches(problem)
    guided = relaxation_guided_batches(problem, plan, relaxation)
    assert first_come is not None and guided is not None
    weight = problem.measure_values(guided)["scheduled_weight"]
    assert weight > problem.measure_values(first_come)["scheduled_weight"]
    assign_positions(guided, problem.builder.classes)
    schedule = build_schedule(problem, SearchOutcome("SOLVED", [], guided), 0.0)
    assert validate(instance, schedule) == []


@pytest.mark.parametrize(("size", "seed", "scenario"), SITES[3:5])
def test_the_dive_before_later_levels_reaches_the_same_optimum(
    size: str, seed: int, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forced on for small waitlist sites (weight alone first, then the rest, with a dive among the
    plan's starts and those keeping promised dates, the relaxation released before the rest): the
    same proven optimum as without it."""
    doc = generate_instance(size, seed, scenario)
    monkeypatch.setattr(parameters, "RELAXATION_PAYS_FROM", 10**9)
    _, without = solve_and_validate(doc, time_limit=60, workers=2)
    force_on(
        monkeypatch,
        "RELAXATION_PAYS_FROM",
        "FIRST_MEASURE_ALONE_FROM",
        "SUPPORT_PLAN_PAYS_FROM",
        "RELAXATION_RELEASED_FROM",  # and the relaxation let go of before the last level
    )
    dives: list[bool] = []
    real_dive = lexicographic._Search._dive_before_level

    def dive(search: lexicographic._Search, objective: StagedObjective) -> list[Batch] | None:
        dives.append(True)
        return real_dive(search, objective)

    monkeypatch.setattr(lexicographic._Search, "_dive_before_level", dive)
    _, with_dive = solve_and_validate(load_instance(doc), time_limit=60, workers=2)
    assert dives, "the later level was not dived into"
    assert without.status == with_dive.status == "OPTIMAL"
    assert with_dive.objective == without.objective


@pytest.mark.parametrize(("size", "seed", "scenario"), SITES[3:5])
def test_a_first_level_its_dive_proves_leaves_the_rest_a_level_of_their_own(
    size: str, seed: int, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forced on for small waitlist sites (the relaxation, its dive and the plan as hint): the dive
    among the relaxation's starts reaches its bound on scheduled weight, so weight is proven
    without a search, and plan changes and wait days are searched in a level of their own with
    it held. The same proven optimum as without the relaxation."""
    doc = generate_instance(size, seed, scenario)
    monkeypatch.setattr(parameters, "RELAXATION_PAYS_FROM", 10**9)
    _, without = solve_and_validate(doc, time_limit=60, workers=2)
    force_on(monkeypatch, "RELAXATION_PAYS_FROM", "SUPPORT_PLAN_PAYS_FROM", "GREEDY_HINT_PAYS_FROM")
    searched: list[tuple[str, ...]] = []
    real_solve_level = lexicographic._Search._solve_level

    def solve_level(
        search: lexicographic._Search, level: lexicographic._Level, first: bool, last: bool
    ) -> lexicographic._Solved | None:
        searched.append(level.objective.measures)
        return real_solve_level(search, level, first, last)

    monkeypatch.setattr(lexicographic._Search, "_solve_level", solve_level)
    _, split = solve_and_validate(load_instance(doc), time_limit=60, workers=2)
    assert searched == [("plan_changes", "wait_days")]
    assert without.status == split.status == "OPTIMAL"
    assert split.objective == without.objective


@pytest.mark.parametrize(("size", "seed", "scenario"), SITES[3:5])
def test_a_last_level_cut_short_gets_the_time_its_bounds_leave(
    size: str, seed: int, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last level's first search cut to a fraction of a second ends on an unproven plan; the
    end-of-search bounds and the search from that plan with the time left (a dive on the
    relaxation's last support first) reach the same proven optimum as an uncut solve."""
    doc = generate_instance(size, seed, scenario)
    monkeypatch.setattr(parameters, "RELAXATION_PAYS_FROM", 10**9)
    _, uncut = solve_and_validate(doc, time_limit=60, workers=2)
    force_on(monkeypatch, "RELAXATION_PAYS_FROM", "SUPPORT_PLAN_PAYS_FROM", "GREEDY_HINT_PAYS_FROM")
    resumed: list[bool] = []

    def the_first_last_level_search(level: lexicographic._Level) -> bool:
        if level.objective.measures[-1] != "wait_days":
            return False
        resumed.append(level.resumed)
        return len(resumed) == 1

    cut_short(monkeypatch, the_first_last_level_search)
    _, cut = solve_and_validate(load_instance(doc), time_limit=60, workers=2)
    assert resumed[-1], "the last level was proven in its cut first search: nothing to resume"
    assert uncut.status == cut.status == "OPTIMAL"
    assert cut.objective == uncut.objective


def test_a_first_level_starting_near_its_bound_gets_a_short_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Generated s waitlist seed 3, weight alone first: the starting plan schedules weight 29
    against the relaxation's bound of 30. With the gap allowed that wide it counts as near, so
    the weight level's search is capped at `NEAR_BOUND_SECONDS` and the rest get the time. This
    small site still proves every level within the cap, on the same optimum as without it."""
    doc = generate_instance("s", 3, "waitlist")
    monkeypatch.setattr(parameters, "RELAXATION_PAYS_FROM", 10**9)
    _, uncapped = solve_and_validate(doc, time_limit=60, workers=2)
    force_on(monkeypatch, "RELAXATION_PAYS_FROM", "FIRST_MEASURE_ALONE_FROM")
    monkeypatch.setattr(parameters, "NEAR_BOUND_GAP", 1.0)
    monkeypatch.setattr(parameters, "NEAR_BOUND_SECONDS", 20.0)
    budgets: dict[tuple[str, ...], float] = {}
    real_solve_level = lexicographic._Search._solve_level

    def solve_level(
        search: lexicographic._Search, level: lexicographic._Level, first: bool, last: bool
    ) -> lexicographic._Solved | None:
        budgets[level.objective.measures] = level.budget
        return real_solve_level(search, level, first, last)

    monkeypatch.setattr(lexicographic._Search, "_solve_level", solve_level)
    _, capped = solve_and_validate(load_instance(doc), time_limit=60, workers=2)
    assert budgets[("scheduled_weight",)] <= 20.0
    assert budgets[("plan_changes", "wait_days")] > 20.0
    assert uncapped.status == capped.status == "OPTIMAL"
    assert capped.objective == uncapped.objective
