"""What-if over HTTP: the plan with changed inputs, solved and compared side by side."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from models import load_instance, load_schedule
from tests.service.support import (
    HORIZON_START,
    booking_site,
    new_patient,
    solve_and_publish,
    wait_for_plan,
)
from validator import validate

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _crowded_week() -> dict[str, object]:
    """Six patients all collected on Wednesday, one suite with two positions.

    Fresh material must start within 72 h of collection and a batch holds its position for 72 h,
    so two positions cannot take all six."""
    wednesday = HORIZON_START + timedelta(days=2)
    patients = [
        new_patient("H1" if i % 2 else "H2", wednesday, wednesday, id=f"P{i}") for i in range(6)
    ]
    return booking_site(positions=2, chairs=3, patients=patients)


def test_one_more_suite_schedules_the_patients_the_plan_left_out(coordinator: httpx.Client) -> None:
    """The crowded week leaves patients out for lack of suite positions; a scenario with a 4-position suite takes them all."""
    plan_id = solve_and_publish(coordinator, _crowded_week())
    base = coordinator.get(f"/v1/plans/{plan_id}").json()["result"]["objective"]["scheduled_weight"]
    assert base < 6
    answer = coordinator.post(
        f"/v1/plans/{plan_id}/scenarios",
        params={"time_limit": 20},
        json={
            "name": "one more suite",
            "changes": [{"kind": "suite_added", "type": "isolator", "positions": 4}],
        },
    )
    assert answer.status_code == 202, answer.text
    scenario = answer.json()
    assert (
        scenario["parent_id"] == plan_id
        and scenario["scenario"]["changes"][0]["kind"] == "suite_added"
    )
    wait_for_plan(coordinator, scenario["id"], {"done"}, timeout=60)
    schedule = coordinator.get(f"/v1/plans/{scenario['id']}/schedule").json()
    assert schedule["objective"]["scheduled_weight"] == 6
    comparison = coordinator.get(
        f"/v1/plans/{plan_id}/compare", params={"with": scenario["id"]}
    ).json()
    assert comparison["header"] == ["measure", "booking-site", "booking-site--one-more-suite"]
    assert dict((row[0], row[1:]) for row in comparison["rows"])["scheduled_weight"] == [
        str(base),
        "6",
    ]
    assert any(row[0] == "Suite position utilisation" for row in comparison["rows"])


def test_two_more_weekend_operators_is_a_valid_instance_and_plan(coordinator: httpx.Client) -> None:
    """Operators added on Sat/Sun shifts are rostered only there; the scenario's plan passes the validator."""
    plan_id = solve_and_publish(coordinator, _crowded_week())
    answer = coordinator.post(
        f"/v1/plans/{plan_id}/scenarios",
        params={"time_limit": 20},
        json={
            "name": "weekend staff",
            "changes": [
                {
                    "kind": "operators_added",
                    "count": 2,
                    "skills": ["aseptic"],
                    "weekdays": ["Sat", "Sun"],
                }
            ],
        },
    )
    plan = wait_for_plan(coordinator, answer.json()["id"], {"done"}, timeout=60)
    assert plan["result"]["status"] in ("OPTIMAL", "FEASIBLE")
    schedule = load_schedule(coordinator.get(f"/v1/plans/{plan['id']}/schedule").json())
    # The scenario's instance is the parent's with two more operators, rostered on weekends only.
    parent = _crowded_week()
    parent["operators"] = parent["operators"] + [
        {
            "id": f"WHATIF-OP{i}",
            "skills": ["aseptic"],
            "roster": [
                {"date": (HORIZON_START + timedelta(days=d)).isoformat(), "shift": "D"}
                for d in range(28)
                if (HORIZON_START + timedelta(days=d)).weekday() >= 5
            ],
        }
        for i in (1, 2)
    ]
    parent["name"] = "booking-site--weekend-staff"
    assert validate(load_instance(parent), schedule) == []


def test_bad_scenarios_are_422_with_paths_and_unknown_plans_404(coordinator: httpx.Client) -> None:
    """An unknown suite, an unknown kind, a plan that does not exist."""
    plan_id = solve_and_publish(coordinator, _crowded_week())
    unknown = coordinator.post(
        f"/v1/plans/{plan_id}/scenarios",
        json={"name": "x", "changes": [{"kind": "suite_removed", "suite": "S9"}]},
    )
    assert (
        unknown.status_code == 422
        and unknown.json()["problems"][0]["path"] == "body.changes[0].suite"
    )
    kind = coordinator.post(
        f"/v1/plans/{plan_id}/scenarios", json={"name": "x", "changes": [{"kind": "magic"}]}
    )
    assert kind.status_code == 422
    assert (
        coordinator.post(
            "/v1/plans/nope/scenarios",
            json={"name": "x", "changes": [{"kind": "suite_removed", "suite": "S1"}]},
        ).status_code
        == 404
    )
    assert (
        coordinator.get(f"/v1/plans/{plan_id}/compare", params={"with": "nope"}).status_code == 404
    )
