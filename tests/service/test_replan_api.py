"""Re-planning, suggestions and analysis over HTTP: replan, suggest, analyze from the API."""

from __future__ import annotations

import copy
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
WEDNESDAY = HORIZON_START + timedelta(days=2)


def _week(chairs: int = 3) -> dict[str, object]:
    patients = [
        new_patient("H1", WEDNESDAY, WEDNESDAY + timedelta(days=2), id=f"P{i}") for i in range(3)
    ]
    return booking_site(positions=4, chairs=chairs, patients=patients)


def test_a_replan_after_an_operator_falls_ill_keeps_started_work_and_reports_the_diff(
    coordinator: httpx.Client,
) -> None:
    """Two of ten operators are absent all of the second week: the new plan is valid, the diff names what moved."""
    plan_id = solve_and_publish(coordinator, _week())
    absent = [(HORIZON_START + timedelta(days=d)).isoformat() for d in range(7, 14)]
    events = {
        "format": "cart-schedule-events/1",
        "as_of": f"{HORIZON_START.isoformat()}T00:00",
        "events": [
            {"id": "sick-1", "kind": "operator_absent", "operator": "OP1", "dates": absent},
            {"id": "sick-2", "kind": "operator_absent", "operator": "OP2", "dates": absent},
        ],
    }
    answer = coordinator.post(f"/v1/plans/{plan_id}/replan", json=events, params={"time_limit": 20})
    assert answer.status_code == 202, answer.text
    new_plan = wait_for_plan(coordinator, answer.json()["id"], {"done"}, timeout=90)
    assert (
        new_plan["parent_id"] == plan_id
        and new_plan["scenario"]["replan"]["events"]["events"][0]["id"] == "sick-1"
    )
    schedule = coordinator.get(f"/v1/plans/{new_plan['id']}/schedule").json()
    assert (
        schedule["objective"]["scheduled_weight"] == 3
        and schedule["objective"]["plan_changes"] == 0
    )
    diff = coordinator.get(f"/v1/plans/{new_plan['id']}/diff").json()
    assert isinstance(diff, dict) and diff
    assert (
        coordinator.get(f"/v1/plans/{plan_id}/diff").status_code == 404
    )  # the original is not a re-plan


def test_bad_events_are_422_with_every_problem_and_its_path(coordinator: httpx.Client) -> None:
    """An unknown suite and an unknown kind are reported together, each with its JSON path; nothing is queued."""
    plan_id = solve_and_publish(coordinator, _week())
    answer = coordinator.post(
        f"/v1/plans/{plan_id}/replan",
        json=[
            {
                "kind": "suite_down",
                "suite": "S9",
                "start": "2027-01-10T00:00",
                "end": "2027-01-12T00:00",
            },
            {"kind": "volcano"},
        ],
    )
    assert answer.status_code == 422
    assert [p["path"] for p in answer.json()["problems"]] == [
        "body.events[0].suite",
        "body.events[1].kind",
    ]
    nothing = coordinator.post(
        f"/v1/plans/{plan_id}/replan", content=b"null", headers={"content-type": "application/json"}
    )
    assert nothing.status_code == 422  # schemathesis found this a 500 once
    assert len(coordinator.get("/v1/plans").json()) == 1


def test_explain_names_the_smallest_change_for_an_unscheduled_patient(
    coordinator: httpx.Client,
) -> None:
    """H1 has one chair a day and P0..P2 all need Wed–Fri: one is left out; one more chair would let it in."""
    plan_id = solve_and_publish(
        coordinator,
        booking_site(
            positions=4,
            chairs=1,
            patients=[
                new_patient("H1", WEDNESDAY, WEDNESDAY + timedelta(days=1), id=f"P{i}")
                for i in range(3)
            ],
        ),
    )
    schedule = coordinator.get(f"/v1/plans/{plan_id}/schedule").json()
    [left_out] = [u["patient"] for u in schedule["unscheduled"]]
    answer = coordinator.get(f"/v1/plans/{plan_id}/explain/{left_out}", params={"time_limit": 10})
    assert answer.status_code == 200, answer.text
    first = answer.json()["suggestions"][0]
    assert first["rule"] == "C2" and "chair" in first["text"]
    assert first["changes"] == [
        first["change"]
    ]  # one change; several to make together would all be listed
    assert answer.json()["out_of_reach"] is None
    assert coordinator.get(f"/v1/plans/{plan_id}/explain/P-none").status_code == 404


def test_suggestions_path_gives_the_same_answers_as_the_former_explain_path(
    coordinator: httpx.Client,
) -> None:
    """`/suggestions/` is the name of what `/explain/` answered; the old path still answers the same."""
    plan_id = solve_and_publish(
        coordinator,
        booking_site(
            positions=4,
            chairs=1,
            patients=[
                new_patient("H1", WEDNESDAY, WEDNESDAY + timedelta(days=1), id=f"P{i}")
                for i in range(3)
            ],
        ),
    )
    schedule = coordinator.get(f"/v1/plans/{plan_id}/schedule").json()
    [left_out] = [u["patient"] for u in schedule["unscheduled"]]
    answers = [
        coordinator.get(f"/v1/plans/{plan_id}/{name}/{left_out}", params={"time_limit": 10})
        for name in ("suggestions", "explain")
    ]
    assert [a.status_code for a in answers] == [200, 200], answers[0].text
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["suggestions"][0]["rule"] == "C2"
    for name in ("suggestions", "explain"):
        assert coordinator.get(f"/v1/plans/{plan_id}/{name}/P-none").status_code == 404


def test_analyze_reports_a_hand_edit_that_breaks_a_rule(coordinator: httpx.Client) -> None:
    """A coordinator moves a patient's collection to a Saturday by hand: C2 (H1 collects Mon–Fri), with the patient named."""
    site = _week()
    plan_id = solve_and_publish(coordinator, site)
    schedule = coordinator.get(f"/v1/plans/{plan_id}/schedule").json()
    assert (
        coordinator.post("/v1/analyze", json={"instance": site, "schedule": schedule}).json()[
            "valid"
        ]
        is True
    )
    edited = copy.deepcopy(schedule)
    edited["assignments"][0]["apheresis_date"] = (HORIZON_START + timedelta(days=5)).isoformat()
    assert validate(
        load_instance(site), load_schedule(edited)
    )  # the independent validator agrees it is broken
    report = coordinator.post("/v1/analyze", json={"instance": site, "schedule": edited}).json()
    assert report["valid"] is False
    assert "C2" in str(report) and edited["assignments"][0]["patient"] in str(report)
    bad = coordinator.post("/v1/analyze", json={"instance": {"format": "nope"}, "schedule": edited})
    assert bad.status_code == 422 and bad.json()["problems"][0]["path"].startswith("body.instance")
