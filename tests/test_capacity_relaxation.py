"""The relaxation of starts, suites and staff (issue 18: every level gets a real bound on large
sites): its bounds count the queue for suite positions that the per-patient floors ignore, and
they never cut off a proven optimum.

The tiny site (tests/helpers.py) has one suite position, occupied three days by each batch (48 h
of manufacturing, 24 h of changeover). Two patients ready on Tuesday 2027-01-05 cannot both
start on Wednesday: the second starts on Saturday at the earliest and is delivered three days
later than the first.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from generator import generate_instance
from models import load_instance
from scheduler.problem.batches import Batch
from scheduler.problem.first_come import greedy_batches
from scheduler.problem.planning import PlanningProblem, prepare
from scheduler.search import lexicographic, parameters
from scheduler.search.capacity_relaxation import CapacityRelaxation
from scheduler.search.outcome import SearchOutcome, SolveOptions
from scheduler.search.stages import staged_objective
from scheduler.search.structural_bounds import wait_days_floor
from tests.helpers import (
    OVERLOADED_SMALL_SITES,
    cut_short,
    force_on,
    patient,
    solve_and_validate,
    step,
    tiny_site,
)

SITES = OVERLOADED_SMALL_SITES


# The size thresholds that, forced to 0, have a small site searched as the largest ones are.
AS_ON_THE_LARGEST_SITES = (
    "RELAXATION_PAYS_FROM",
    "FIRST_MEASURE_ALONE_FROM",
    "SUPPORT_PLAN_PAYS_FROM",
    "RELAXATION_RELEASED_FROM",
    "CAPACITY_PLAN_PAYS_FROM",
)


def _two_patients_one_position() -> dict[str, object]:
    return tiny_site(
        patients=[patient("P1", latest="2027-01-09"), patient("P2", latest="2027-01-09")]
    )


def test_two_patients_queueing_for_one_position_wait_what_the_bound_says() -> None:
    """Both scheduled: 8 days for the first (delivered 01-13), 11 for the second (01-16).

    The per-patient floor counts 8 for each, as if both could start on Wednesday; the capacity
    relaxation proves the optimum itself, 19.
    """
    instance, schedule = solve_and_validate(_two_patients_one_position())
    assert schedule.status == "OPTIMAL" and schedule.objective is not None
    assert schedule.objective.scheduled_weight == 2
    assert schedule.objective.wait_days == 19
    problem = prepare(instance)
    relaxation = CapacityRelaxation(problem)
    assert relaxation.lower_bound("scheduled_weight", seconds=5) == -2  # both fit, in turn
    relaxation.hold_measure("scheduled_weight", -2)
    assert wait_days_floor(problem, 2) == 16
    assert relaxation.lower_bound("wait_days", seconds=5) == 19


def test_a_last_level_left_unproven_reports_the_capacity_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Generated s waitlist seed 1 with the last level's search stopped on its first plan and no
    search after it: the reported wait-days bound is at least the capacity relaxation's,
    conditional on the reported weight and plan changes, and above the per-patient floor."""
    force_on(monkeypatch, "RELAXATION_PAYS_FROM", "SUPPORT_PLAN_PAYS_FROM", "GREEDY_HINT_PAYS_FROM")
    cut_short(monkeypatch, lambda level: level.objective.measures[-1] == "wait_days")
    monkeypatch.setattr(lexicographic._Search, "_search_on", lambda *args, **kwargs: None)
    instance, schedule = solve_and_validate(
        generate_instance("s", 1, "waitlist"), time_limit=60, workers=2
    )
    assert schedule.objective is not None and schedule.bound is not None
    assert schedule.bound.wait_days < schedule.objective.wait_days, "proven: nothing to bound"
    problem = prepare(instance)
    relaxation = CapacityRelaxation(problem)
    relaxation.hold_measure(
        "scheduled_weight", -round(schedule.objective.scheduled_weight * problem.scale)
    )
    relaxation.hold_measure("plan_changes", round(schedule.objective.plan_changes))
    waits_bound = relaxation.lower_bound("wait_days", seconds=30)
    assert waits_bound is not None
    assert schedule.bound.wait_days * problem.scale >= waits_bound
    assert (
        waits_bound > wait_days_floor(problem, schedule.objective.scheduled_weight) * problem.scale
    )


@pytest.mark.parametrize(("size", "seed", "scenario"), SITES)
def test_capacity_bounds_never_cut_off_the_proven_optimum(
    size: str, seed: int, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proven without any relaxation, the optimum lies inside every bound this one gives, each
    conditional on the measures before it at their optimal values (SPEC 8)."""
    monkeypatch.setattr(parameters, "RELAXATION_PAYS_FROM", 10**9)
    instance, schedule = solve_and_validate(
        generate_instance(size, seed, scenario), time_limit=60, workers=2
    )
    assert schedule.status == "OPTIMAL", f"{instance.name}: not proven, nothing to compare"
    assert schedule.objective is not None
    problem = prepare(instance)
    weight = round(schedule.objective.scheduled_weight * problem.scale)
    changes = round(schedule.objective.plan_changes)
    waits = round(schedule.objective.wait_days * problem.scale)
    relaxation = CapacityRelaxation(problem)

    weight_bound = relaxation.lower_bound("scheduled_weight", seconds=30)
    assert weight_bound is not None and -weight_bound >= weight
    relaxation.hold_measure("scheduled_weight", -weight)
    changes_bound = relaxation.lower_bound("plan_changes", seconds=30)
    assert changes_bound is not None and changes_bound <= changes
    # Its integer model (chairs included) bounds them at least as tightly, still never above.
    integer_bound = relaxation.integer_bound("plan_changes", 30, SolveOptions(workers=2))
    assert integer_bound is not None and changes_bound <= integer_bound <= changes
    relaxation.hold_measure("plan_changes", changes)
    waits_bound = relaxation.lower_bound("wait_days", seconds=30)
    assert waits_bound is not None and waits_bound <= waits
    # Tighter than the per-patient floor wherever capacity binds: never looser.
    assert (
        waits_bound >= wait_days_floor(problem, schedule.objective.scheduled_weight) * problem.scale
    )


def test_a_relaxation_released_during_a_search_bounds_as_one_kept() -> None:
    """s waitlist seed 1: released after its bound on weight (as during the whole model's search
    on the largest sites), its solution's starts stay readable; held and rebuilt, it proves the
    same bounds on plan changes and wait days as one kept all along, the chairs left out again."""
    problem = prepare(load_instance(generate_instance("s", 1, "waitlist")))
    kept, released = CapacityRelaxation(problem), CapacityRelaxation(problem)
    weight = kept.lower_bound("scheduled_weight", seconds=30)
    assert weight is not None and released.lower_bound("scheduled_weight", seconds=30) == weight
    support = released.starts_used(parameters.SUPPORT_EPSILON)
    assert support

    released.release_linear()
    assert released.solved and released.starts_used(parameters.SUPPORT_EPSILON) == support
    for relaxation in (kept, released):
        relaxation.hold_measure("scheduled_weight", weight)
    assert not released.solved  # the held row may cut its last solution off
    changes = kept.lower_bound("plan_changes", seconds=30)
    assert changes is not None and released.lower_bound("plan_changes", seconds=30) == changes
    released.release_linear()
    for relaxation in (kept, released):
        relaxation.hold_measure("plan_changes", changes)
    waits = kept.lower_bound("wait_days", seconds=30)
    assert waits is not None and released.lower_bound("wait_days", seconds=30) == waits


def test_nobody_waits_until_the_weight_is_held() -> None:
    """Unheld, the cheapest plan schedules nobody; each relaxation holds only its own levels."""
    problem = prepare(load_instance(_two_patients_one_position()))
    held, free = CapacityRelaxation(problem), CapacityRelaxation(problem)
    held.hold_measure("scheduled_weight", -2)
    assert held.lower_bound("wait_days", seconds=5) == 19
    assert free.lower_bound("wait_days", seconds=5) == 0


def test_a_dive_towards_the_capacity_plan_moves_only_between_the_two_plans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Generated s waitlist seed 1, forced on as on the largest sites: before the later level the
    search dives between its plan and the best plan of the starts, suites and staff model. The dive's
    plan is no worse than the one it started from, every patient in it takes a start of one of
    the two plans (or of the relaxation's solution), and the solve still ends on the optimum
    proven without any of it."""
    doc = generate_instance("s", 1, "waitlist")
    monkeypatch.setattr(parameters, "RELAXATION_PAYS_FROM", 10**9)
    _, without = solve_and_validate(doc, time_limit=60, workers=2)
    force_on(monkeypatch, *AS_ON_THE_LARGEST_SITES)
    chosen: list[set[tuple[str, int, int]] | None] = []
    dives: list[tuple[list[Batch], list[Batch] | None]] = []
    real_best_starts = CapacityRelaxation.best_starts
    real_dive = lexicographic._Search._dive_towards_capacity_plan

    def best_starts(
        relaxation: CapacityRelaxation, *args: Any, **kwargs: Any
    ) -> set[tuple[str, int, int]] | None:
        chosen.append(real_best_starts(relaxation, *args, **kwargs))
        return chosen[-1]

    supports: list[set[tuple[str, int, int]]] = []

    def dive(
        search: lexicographic._Search, objective: Any, current: list[Batch], deadline: float
    ) -> list[Batch] | None:
        capacity = search.capacity
        assert capacity is not None and capacity.solved
        supports.append(capacity.starts_used(parameters.SUPPORT_EPSILON))
        # A dive of a small model ends in well under a second: give it the time a large one has.
        dives.append((current, real_dive(search, objective, current, search.elapsed() + 30)))
        return dives[-1][1]

    monkeypatch.setattr(CapacityRelaxation, "best_starts", best_starts)
    monkeypatch.setattr(lexicographic._Search, "_dive_towards_capacity_plan", dive)
    instance, with_dive = solve_and_validate(load_instance(doc), time_limit=60, workers=2)
    # A second round only follows a first that improved, from the first one's plan.
    assert 1 <= len(dives) <= parameters.CAPACITY_DIVE_ROUNDS and len(chosen) == len(dives)
    assert dives[0][1] is not None, "no plan between the two"
    problem = prepare(instance)
    for (current, dived), capacity_plan, support in zip(dives, chosen, supports, strict=True):
        if dived is None:
            continue
        assert capacity_plan is not None
        assert not problem.better(current, dived)
        # The capacity plan's starts, and those its relaxation's last solution uses (the guide
        # the later dives share, `_allowed_starts`).
        _assert_each_patient_between(problem, dived, current, capacity_plan | support)
    if len(dives) == 2:
        assert dives[1][0] == dives[0][1], "the second round starts from the first one's plan"
    assert without.status == with_dive.status == "OPTIMAL"
    assert with_dive.objective == without.objective


def test_only_a_later_level_is_searched_with_the_capacity_relaxation_released(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Generated s waitlist seed 1, forced on as on the largest sites: the first level's search
    keeps the starts, suites and staff LP, so the later level's bound and dive go by a solution
    warm from its basis (a cold one's starts led xl waitlist seed 4 to 14 plan changes, the warm
    one's to 11, proven); the later level's search, the memory peak there, has it released."""
    force_on(monkeypatch, *AS_ON_THE_LARGEST_SITES)
    released: list[tuple[str, bool]] = []  # (the level's first measure, LP released) per solve
    real_solve_once = lexicographic._Search._solve_once

    def solve_once(search: lexicographic._Search, level: Any, seconds: float) -> Any:
        capacity = search.capacity
        assert capacity is not None
        released.append((level.objective.measures[0], capacity.released))
        return real_solve_once(search, level, seconds)

    monkeypatch.setattr(lexicographic._Search, "_solve_once", solve_once)
    _, schedule = solve_and_validate(
        generate_instance("s", 1, "waitlist"), time_limit=60, workers=2
    )
    assert schedule.status == "OPTIMAL"
    first = [gone for measure, gone in released if measure == "scheduled_weight"]
    later = [gone for measure, gone in released if measure != "scheduled_weight"]
    assert first and not any(first), "the first level's search released the LP"
    assert later and all(later), "a later level's search kept the LP"


def test_a_later_level_proven_on_plan_changes_dives_for_wait_days_before_its_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Generated s waitlist seed 1, forced on as on the largest sites: once the dives reach the
    bound on plan changes, the starts, suites and staff LP is solved for wait days with plan
    changes held, and a dive on its solution's starts gives a plan no worse, with the same plan
    changes; the solve still ends on the optimum proven without it."""
    doc = generate_instance("s", 1, "waitlist")
    _, without = solve_and_validate(doc, time_limit=60, workers=2)
    force_on(monkeypatch, *AS_ON_THE_LARGEST_SITES)
    dives: list[tuple[list[Batch], list[Batch] | None]] = []
    real_dive = lexicographic._Search._dive_for_next_measure

    def dive(search: lexicographic._Search, objective: Any, plan: list[Batch]) -> Any:
        assert objective.measures[:2] == ("plan_changes", "wait_days")
        assert search._reaches_first_bound(plan, "plan_changes")
        dives.append((plan, real_dive(search, objective, plan)))
        return dives[-1][1]

    monkeypatch.setattr(lexicographic._Search, "_dive_for_next_measure", dive)
    instance, with_dive = solve_and_validate(load_instance(doc), time_limit=60, workers=2)
    problem = prepare(instance)
    assert dives, "the dives did not prove plan changes"
    for plan, dived in dives:
        if dived is not None:
            assert problem.better(dived, plan)
            before, after = problem.measure_values(plan), problem.measure_values(dived)
            assert after["plan_changes"] == before["plan_changes"]
            assert after["wait_days"] < before["wait_days"]
    assert without.status == with_dive.status == "OPTIMAL"
    assert with_dive.objective == without.objective


def test_the_capacity_plan_searched_from_a_valid_plan_is_no_worse_than_it() -> None:
    """Generated s waitlist seed 1: the first-come plan is valid, so it is a plan of the starts,
    suites and staff model too (chairs included); CP-SAT searching that model from it returns a
    plan scheduling at least its weight, even with a second to search."""
    problem = prepare(load_instance(generate_instance("s", 1, "waitlist")))
    first_come = greedy_batches(problem)
    assert first_come is not None
    relaxation = CapacityRelaxation(problem)
    weight = staged_objective(
        relaxation.plan.model,
        ["scheduled_weight"],
        relaxation.measures,
        {"scheduled_weight": problem.scale},
    )
    chosen = relaxation.best_starts(weight, 1.0, SolveOptions(workers=2), start=first_come)
    assert chosen is not None
    scheduled = {patient_id for patient_id, _, _ in chosen}
    assert len(scheduled) == len(chosen), "one start per scheduled patient"
    weights = {options.patient.id: options.patient.weight for options in problem.patients}
    first_come_weight = problem.measure_values(first_come)["scheduled_weight"]
    assert sum(weights[patient_id] for patient_id in scheduled) >= first_come_weight


def _two_patients_one_operator() -> dict[str, object]:
    """Two positions, but one operator on one 8 h shift a day, and a 6 h activation on day 0."""
    return tiny_site(
        product={"steps": [step("activation", hours=6)]},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1", latest="2027-01-09"), patient("P2", latest="2027-01-09")],
    )


def test_two_patients_sharing_one_operator_wait_what_the_bound_says() -> None:
    """Both fit the two positions on Wednesday, but the operator has 8 hours for their 12: the
    second starts on Thursday, a day later (8 + 9 wait days). The per-patient floor counts 8 for
    each; the operators' hours in the relaxation (`add_operator_hours`) prove the optimum, 17."""
    instance, schedule = solve_and_validate(_two_patients_one_operator())
    assert schedule.status == "OPTIMAL" and schedule.objective is not None
    assert schedule.objective.scheduled_weight == 2
    assert schedule.objective.wait_days == 17
    problem = prepare(instance)
    relaxation = CapacityRelaxation(problem)
    relaxation.hold_measure("scheduled_weight", -2)
    assert wait_days_floor(problem, 2) == 16
    assert relaxation.lower_bound("wait_days", seconds=5) == 17


def test_a_level_left_unproven_keeps_the_integer_bound_on_its_first_measure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Generated s waitlist seed 1 searched as the largest sites are, with no dive before the
    plan-changes level and that level stopped on its first plan: the integer model's bound on
    plan changes (`_integer_bound_before_level`) is what the schedule reports at least, and it
    never exceeds the optimum proven without it."""
    _, proven = solve_and_validate(generate_instance("s", 1, "waitlist"), time_limit=60, workers=2)
    assert proven.status == "OPTIMAL" and proven.objective is not None
    force_on(
        monkeypatch,
        "RELAXATION_PAYS_FROM",
        "SUPPORT_PLAN_PAYS_FROM",
        "GREEDY_HINT_PAYS_FROM",
        "FIRST_MEASURE_ALONE_FROM",
        "CAPACITY_PLAN_PAYS_FROM",
    )
    monkeypatch.setattr(lexicographic._Search, "_dive_before_level", lambda *args: None)
    monkeypatch.setattr(lexicographic._Search, "_search_on", lambda *args, **kwargs: None)
    cut_short(monkeypatch, lambda level: level.objective.measures[0] == "plan_changes")
    integer_bounds: list[int | None] = []
    real_integer_bound = CapacityRelaxation.integer_bound

    def integer_bound(relaxation: CapacityRelaxation, *args: Any, **kwargs: Any) -> int | None:
        integer_bounds.append(real_integer_bound(relaxation, *args, **kwargs))
        return integer_bounds[-1]

    monkeypatch.setattr(CapacityRelaxation, "integer_bound", integer_bound)
    _, schedule = solve_and_validate(
        generate_instance("s", 1, "waitlist"), time_limit=60, workers=2
    )
    assert schedule.objective is not None and schedule.bound is not None
    assert schedule.objective.scheduled_weight == proven.objective.scheduled_weight
    assert integer_bounds and integer_bounds[0] is not None, "the plan was above its LP bound"
    assert integer_bounds[0] <= proven.objective.plan_changes
    assert schedule.bound.plan_changes >= integer_bounds[0]


def test_a_plan_one_change_above_its_bound_is_left_to_the_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """s waitlist seed 1, the first-come plan before the plan-changes level: one change above the
    bound, the integer model is not asked (it could only prove the plan optimal, which took it
    over 45 s on xl waitlist seed 1); two above, it is asked to reach the plan's value."""
    monkeypatch.setattr(parameters, "CAPACITY_PLAN_PAYS_FROM", 0)
    problem = prepare(load_instance(generate_instance("s", 1, "waitlist")))
    search = lexicographic._Search(problem, SolveOptions(time_limit=60), time.monotonic())
    search.scales = {m: problem.scale if m != "plan_changes" else 1 for m in search.measures}
    search.capacity = CapacityRelaxation(problem)
    asked: list[int | None] = []

    def integer_bound(*args: Any, reach: int | None = None, **kwargs: Any) -> int | None:
        asked.append(reach)
        return None

    monkeypatch.setattr(search.capacity, "integer_bound", integer_bound)
    plan = greedy_batches(problem)
    assert plan is not None
    changes = problem.measure_values(plan)["plan_changes"]
    assert changes >= 2
    objective = staged_objective(search.model, ["plan_changes"], search.measures, search.scales)
    search.outcome = SearchOutcome("SOLVED", [], plan)
    for bound, expected in ((changes - 1, []), (changes - 2, [changes])):
        search.first_measure_bound = bound
        search._integer_bound_before_level(lexicographic._Level(objective, time.monotonic(), 30))
        assert asked == expected


def test_a_plan_above_the_integer_bound_dives_towards_the_plan_that_bound_met(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """s waitlist seed 1, the first-come plan before the plan-changes level, well above the
    bound: the integer model, weight held at the plan's, bounds plan changes and meets a plan
    of its own on the way; a dive among the two plans' starts gives the level a start with
    fewer plan changes, every patient on a start of one of the two."""
    monkeypatch.setattr(parameters, "CAPACITY_PLAN_PAYS_FROM", 0)
    problem = prepare(load_instance(generate_instance("s", 1, "waitlist")))
    search = lexicographic._Search(
        problem, SolveOptions(time_limit=60, workers=2), time.monotonic()
    )
    search.scales = {m: problem.scale if m != "plan_changes" else 1 for m in search.measures}
    capacity = search.capacity = CapacityRelaxation(problem)
    plan = greedy_batches(problem)
    assert plan is not None
    before = problem.measure_values(plan)
    capacity.hold_measure("scheduled_weight", -round(before["scheduled_weight"] * problem.scale))
    objective = staged_objective(search.model, ["plan_changes"], search.measures, search.scales)
    search.outcome = SearchOutcome("SOLVED", [], plan)
    search.first_measure_bound = 0
    level = lexicographic._Level(objective, time.monotonic(), 30)
    search._integer_bound_before_level(level)

    met = capacity.bounded_plan_starts
    assert met is not None, "the integer model met no plan"
    dived = search.outcome.batches
    assert dived is not None and dived is not plan and level.provisional is dived
    assert search.teams.unstaffable(dived) == []
    after = problem.measure_values(dived)
    assert after["scheduled_weight"] >= before["scheduled_weight"]
    assert after["plan_changes"] < before["plan_changes"]
    _assert_each_patient_between(problem, dived, plan, met)


def _assert_each_patient_between(
    problem: PlanningProblem,
    dived: list[Batch],
    current: list[Batch],
    towards: set[tuple[str, int, int]],
) -> None:
    """Every patient of a dive's plan takes its start in `current` or one of the (patient, start
    option, suite class) keys `towards`."""
    options = {p.patient.id: p for p in problem.patients}
    kept = {batch.patient_id: batch.start for batch in current if not batch.in_progress}
    allowed = {(pid, options[pid].starts[index].slot.start) for pid, index, _ in towards}
    for batch in dived:
        if not batch.in_progress:
            assert (
                kept.get(batch.patient_id) == batch.start
                or (batch.patient_id, batch.start) in allowed
            ), f"{batch.patient_id} left both plans"


@pytest.mark.parametrize(("seed", "scenario"), [(1, "waitlist"), (3, "overload")])
def test_the_integer_model_proves_plan_changes_where_the_lp_falls_one_short(
    seed: int, scenario: str
) -> None:
    """Generated m sites whose proven optimum keeps one more plan change than the linear
    relaxation can see (whole starts on shared operators and chairs); the integer model of the
    same starts, suites and staff proves it, and still never above it."""
    instance, schedule = solve_and_validate(
        generate_instance("m", seed, scenario), time_limit=60, workers=2
    )
    assert schedule.status == "OPTIMAL" and schedule.objective is not None
    problem = prepare(instance)
    relaxation = CapacityRelaxation(problem)
    relaxation.hold_measure(
        "scheduled_weight", -round(schedule.objective.scheduled_weight * problem.scale)
    )
    changes = round(schedule.objective.plan_changes)
    linear = relaxation.lower_bound("plan_changes", seconds=30)
    integer = relaxation.integer_bound("plan_changes", 30, SolveOptions(workers=2))
    assert linear == changes - 1
    assert integer == changes
