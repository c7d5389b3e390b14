"""Cross-check: a time-indexed MILP of the same SPEC (HiGHS) agrees with CP-SAT on every level.

Both models are proven optimal on these small generated instances, so a difference on any
level of the objective means one of them misreads a rule (or proves a wrong optimum).
"""

from __future__ import annotations

import pytest

pytest.importorskip("highspy")

from benchmarks.greedy_baseline import greedy_schedule
from benchmarks.milp import solve_milp, teams_from_shares
from generator import generate_instance
from models import load_instance
from tests.helpers import solve_and_validate
from validator import validate

CASES = [
    (size, seed, scenario)
    for size in ("xs", "s")
    for seed in (1, 2)
    for scenario in ("normal", "overload")
]


@pytest.mark.parametrize(("size", "seed", "scenario"), CASES)
def test_milp_and_cp_sat_prove_the_same_optimum_on_every_level(
    size: str, seed: int, scenario: str
) -> None:
    """Same instance, both proven optimal: equal scheduled weight, plan changes and wait days; both valid."""
    instance = load_instance(generate_instance(size, seed, scenario))
    milp = solve_milp(instance, time_limit=30, threads=2).schedule
    assert validate(instance, milp) == []
    _, cp_sat = solve_and_validate(instance, time_limit=30, workers=2)
    assert milp.status == "OPTIMAL" and cp_sat.status == "OPTIMAL"
    assert milp.objective == cp_sat.objective
    assert milp.bound == milp.objective


@pytest.mark.parametrize("scenario", ["holidays", "scarce-skill"])
def test_coordinator_greedy_plan_is_valid(scenario: str) -> None:
    """The benchmark's first-come-first-served plan passes every rule."""
    instance = load_instance(generate_instance("s", 1, scenario))
    schedule = greedy_schedule(instance)
    assert schedule.status == "FEASIBLE"
    assert validate(instance, schedule) == []


def test_shares_split_into_teams_of_distinct_operators() -> None:
    """Shares of at most `count` each, summing to count * size, give `count` teams of `size` distinct operators."""
    teams = teams_from_shares(3, 2, {"A": 3, "B": 1, "C": 2})
    assert len(teams) == 3
    assert all(len(team) == 2 == len(set(team)) for team in teams)
    assert sorted(op for team in teams for op in team) == ["A", "A", "A", "B", "C", "C"]
