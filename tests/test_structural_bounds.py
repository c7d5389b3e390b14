"""The per-patient floors on plan changes and wait days (issue 18, item 3: every level gets a real
bound): what a plan of a given weight must at least cost, whatever the capacity.

The tiny site (tests/helpers.py) has one suite position that holds one batch in the horizon's
first days. P1 was promised Tuesday 2027-01-05, but the hospital has since closed that day, so
both patients can only be collected on Wednesday; P2 was promised nothing.
"""

from __future__ import annotations

from models import load_instance
from scheduler.problem.planning import prepare
from scheduler.search.structural_bounds import plan_changes_floor, wait_days_floor
from tests.helpers import A, patient, solve_and_validate, tiny_site

WEDNESDAY = "2027-01-06"


def _closed_tuesday_site() -> dict[str, object]:
    promised = patient("P1", latest=WEDNESDAY, previous={"apheresis_date": A})
    return tiny_site(
        hospital={"closed_dates": [A]},
        patients=[promised, patient("P2", latest=WEDNESDAY)],
    )


def test_a_promise_the_hospital_cannot_keep_costs_a_change_only_when_its_weight_is_needed() -> None:
    """Weight 1 can come from P2 at no change; weight 2 needs P1 too, whose Tuesday is closed."""
    problem = prepare(load_instance(_closed_tuesday_site()))
    assert plan_changes_floor(problem, 1) == 0
    assert plan_changes_floor(problem, 2) == 1


def test_wait_days_floor_takes_the_patients_that_can_be_delivered_soonest() -> None:
    """Both windows open Tuesday; collected Wednesday at the earliest, each is delivered 01-14
    (the chain in tests/helpers.py, one day later than from Tuesday): 9 days each."""
    problem = prepare(load_instance(_closed_tuesday_site()))
    assert wait_days_floor(problem, 0) == 0
    assert wait_days_floor(problem, 1) == 9
    assert wait_days_floor(problem, 2) == 18


def test_the_floors_lie_below_the_proven_plan() -> None:
    """One position, one batch: the optimum schedules one patient; the floors at its weight
    never exceed what the solver proves, and its bounds are at least the floors."""
    instance, schedule = solve_and_validate(_closed_tuesday_site())
    assert schedule.status == "OPTIMAL" and schedule.objective is not None
    weight = schedule.objective.scheduled_weight
    assert weight == 1
    problem = prepare(instance)
    assert plan_changes_floor(problem, weight) <= schedule.objective.plan_changes
    assert wait_days_floor(problem, weight) <= schedule.objective.wait_days
