"""Generated instances, seed 1: every size and scenario is a well-formed instance of the size asked for,
every xs and s one solves to a schedule the validator accepts (or, for infeasible-commitments,
to an INFEASIBLE that says what breaks), and the mid-size m normal instance solves too.

These are the fixed, reproducible counterparts of the hypothesis tests in `test_properties.py`:
when a generator or solver change breaks one of them, the failing (size, scenario) is in the
test id.
"""

from __future__ import annotations

import re

import pytest

from generator import SCENARIOS, SIZES, generate_instance
from models import Instance, Schedule, load_instance
from models.instance import MEASURES
from tests.helpers import solve_and_validate

FEASIBLE_SCENARIOS = [s for s in SCENARIOS if s != "infeasible-commitments"]
RULE_ID = re.compile(r"C(1[01]|[1-9])\b")
MAXIMISED = {"scheduled_weight"}


def check_plan(instance: Instance, schedule: Schedule) -> None:
    """A usable plan: OPTIMAL/FEASIBLE, everyone listed once, reasons name a rule, bounds on the right side."""
    assert schedule.status in ("OPTIMAL", "FEASIBLE"), (
        f"{instance.name}: {schedule.status} {(schedule.model_extra or {}).get('infeasibility')}"
    )
    listed = [a.patient for a in schedule.assignments] + [u.patient for u in schedule.unscheduled]
    assert sorted(listed) == sorted(
        [p.id for p in instance.patients] + [b.patient for b in instance.in_progress]
    )
    for entry in schedule.unscheduled:
        assert any(RULE_ID.match(reason) for reason in entry.reasons), (
            f"{entry.patient}: {entry.reasons}"
        )
    assert schedule.objective is not None and schedule.bound is not None
    for measure in MEASURES:
        value, bound = (
            float(getattr(schedule.objective, measure)),
            float(getattr(schedule.bound, measure)),
        )
        assert (bound >= value - 1e-6) if measure in MAXIMISED else (bound <= value + 1e-6), measure


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("size", list(SIZES))
def test_generated_instance_loads_with_the_size_asked_for(size: str, scenario: str) -> None:
    """Every size and scenario (seed 1) is a valid `cart-schedule-instance/1` of the issue's dimensions.

    Overload and waitlist keep the demand of their size but have fewer suites and more patients
    (about 1.5x, and 2.5-3x, what capacity can take); every other scenario has exactly the
    size's dimensions. The
    generator is deterministic: the same seed gives the same document.
    """
    doc = generate_instance(size, 1, scenario)
    instance = load_instance(doc)
    spec = SIZES[size]
    assert instance.horizon.days == spec.horizon_days
    assert len(instance.operators) == spec.operators
    assert len(instance.hospitals) == spec.hospitals
    assert {suite.positions for suite in instance.suites} == {spec.positions}
    if scenario == "overload":
        assert len(instance.patients) > spec.patients
    elif scenario == "waitlist":
        assert len(instance.patients) >= 2.5 * spec.patients - 1
        assert len(instance.suites) <= spec.suites
        # A waitlist week: most patients were promised a date already, a quarter of those locked.
        promised = [p for p in instance.patients if p.previous is not None]
        assert len(promised) >= 0.5 * len(instance.patients)
        assert sum(p.locked for p in promised) >= 0.2 * len(promised)
    else:
        assert len(instance.patients) == spec.patients
        assert len(instance.suites) == spec.suites
    assert generate_instance(size, 1, scenario) == doc


@pytest.mark.parametrize("scenario", FEASIBLE_SCENARIOS)
@pytest.mark.parametrize("size", ["xs", "s"])
def test_small_generated_instance_solves_to_a_valid_plan(size: str, scenario: str) -> None:
    """xs and s of every feasible scenario solve to a schedule the validator accepts."""
    instance, schedule = solve_and_validate(
        generate_instance(size, 1, scenario), time_limit=30, workers=2
    )
    check_plan(instance, schedule)


@pytest.mark.parametrize("size", ["xs", "s"])
def test_small_broken_commitments_are_infeasible_with_what_breaks(size: str) -> None:
    """infeasible-commitments: INFEASIBLE, nothing planned, the explanation names the in-progress batch."""
    instance, schedule = solve_and_validate(
        generate_instance(size, 1, "infeasible-commitments"), time_limit=30, workers=2
    )
    assert schedule.status == "INFEASIBLE"
    assert schedule.assignments == []
    explanation = (schedule.model_extra or {}).get("infeasibility") or []
    running = {batch.patient for batch in instance.in_progress}
    assert any(any(batch in line for batch in running) for line in explanation), explanation
    assert {u.patient for u in schedule.unscheduled} == {p.id for p in instance.patients}


def test_mid_size_normal_week_solves_to_a_valid_plan() -> None:
    """m normal (60 patients, 10 suites x 4): a valid plan within a minute (the target is proof in 10 s)."""
    instance, schedule = solve_and_validate(
        generate_instance("m", 1, "normal"), time_limit=60, workers=2
    )
    check_plan(instance, schedule)
    assert schedule.solve_seconds <= 65
