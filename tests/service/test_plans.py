"""Coordinators' plans over HTTP: submit, watch, read, cancel, publish."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx

from generator import generate_instance
from models import load_instance, load_schedule
from tests.service.support import (
    HORIZON_START,
    PUBLISH_REASON,
    booking_site,
    new_patient,
    solve_and_publish,
    wait_for_plan,
)
from validator import validate


def _patients(count: int) -> list[dict[str, object]]:
    day = HORIZON_START + timedelta(days=2)
    return [
        new_patient("H1" if i % 2 else "H2", day, day + timedelta(days=4), id=f"P{i:03d}")
        for i in range(count)
    ]


def test_a_submitted_plan_is_solved_off_the_request_path_and_its_schedule_is_valid(
    coordinator: httpx.Client,
) -> None:
    """POST answers 202 at once; the worker solves; the schedule passes the independent validator."""
    instance = booking_site(patients=_patients(6))
    answer = coordinator.post("/v1/plans", json=instance, params={"time_limit": 20})
    assert answer.status_code == 202
    assert answer.json()["status"] == "queued"
    plan_id = answer.json()["id"]
    plan = wait_for_plan(coordinator, plan_id, {"done"}, timeout=60)
    assert (
        plan["result"]["status"] == "OPTIMAL"
        and plan["result"]["objective"]["scheduled_weight"] == 6
    )
    assert plan["elapsed_seconds"] > 0
    schedule = load_schedule(coordinator.get(f"/v1/plans/{plan_id}/schedule").json())
    assert validate(load_instance(instance), schedule) == []
    assert [p["id"] for p in coordinator.get("/v1/plans").json()] == [plan_id]


def test_cancelling_a_running_solve_stops_it_within_two_seconds_and_keeps_the_best_schedule(
    coordinator: httpx.Client,
) -> None:
    """An overloaded l-size week takes minutes to prove; DELETE stops it, its best schedule so far is kept."""
    instance = generate_instance("l", 1, "overload")
    plan_id = coordinator.post("/v1/plans", json=instance, params={"time_limit": 120}).json()["id"]
    deadline = time.monotonic() + 60
    while (
        coordinator.get(f"/v1/plans/{plan_id}").json()["progress"] is None
    ):  # a solution is in hand
        assert time.monotonic() < deadline
        time.sleep(0.1)
    asked = time.monotonic()
    assert coordinator.delete(f"/v1/plans/{plan_id}").json()["status"] == "cancelling"
    plan = wait_for_plan(coordinator, plan_id, {"cancelled"}, timeout=10)
    assert time.monotonic() - asked <= 2.0, "the solver must stop within 2 s of the cancel"
    assert plan["result"]["status"] in ("FEASIBLE", "OPTIMAL")
    schedule = load_schedule(coordinator.get(f"/v1/plans/{plan_id}/schedule").json())
    assert validate(load_instance(instance), schedule) == []
    assert coordinator.delete(f"/v1/plans/{plan_id}").status_code == 409  # already stopped


def test_publishing_makes_the_plan_the_sites_published_plan(coordinator: httpx.Client) -> None:
    """GET /v1/published returns the plan's instance and schedule; both pass the validator together."""
    instance = booking_site(patients=_patients(4))
    plan_id = solve_and_publish(coordinator, instance)
    published = coordinator.get("/v1/published").json()
    assert published["plan_id"] == plan_id
    assert published["schedule"]["status"] == "OPTIMAL"
    assert (
        validate(load_instance(published["instance"]), load_schedule(published["schedule"])) == []
    )


def test_a_queued_or_unknown_plan_cannot_be_published(coordinator: httpx.Client) -> None:
    """Only a solved plan can be published; unknown ids are 404."""
    assert coordinator.post("/v1/plans/nope/publish", json=PUBLISH_REASON).status_code == 404
    assert coordinator.get("/v1/plans/nope").status_code == 404
    assert coordinator.get("/v1/plans/nope/schedule").status_code == 404
    assert coordinator.delete("/v1/plans/nope").status_code == 404
    assert coordinator.get("/v1/published").status_code == 404  # nothing published yet


def test_a_bad_instance_is_422_with_every_problem_and_its_path_and_nothing_is_queued(
    coordinator: httpx.Client,
) -> None:
    """Wrong types and unknown references are all reported at once, each with its JSON path."""
    instance = booking_site(patients=_patients(2))
    instance["patients"][0]["hospital"] = "H9"
    instance["patients"][1]["weight"] = "heavy"
    instance["horizon"]["days"] = -3
    answer = coordinator.post("/v1/plans", json=instance)
    assert answer.status_code == 422
    paths = {p["path"] for p in answer.json()["problems"]}
    assert {"body.patients[0].hospital", "body.patients[1].weight", "body.horizon.days"} <= paths
    malformed = coordinator.post(
        "/v1/plans", content=b'{"format": ', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    assert coordinator.post("/v1/plans", json=[1, 2]).status_code == 422
    assert (
        coordinator.post("/v1/plans", json=instance, params={"time_limit": "soon"}).status_code
        == 422
    )
    assert coordinator.get("/v1/plans").json() == []


def test_every_change_is_in_the_audit_trail_with_the_key_name_never_the_key(
    coordinator: httpx.Client, keys: dict[str, str]
) -> None:
    """Submitted, started (by the worker that holds its lease), solved, published: appended
    with time, actor name, ids and before/after."""
    plan_id = solve_and_publish(coordinator, booking_site(patients=_patients(2)))
    everything = coordinator.get("/v1/audit").json()
    keys_made = [(e["action"], e["entity_id"]) for e in everything if e["entity"] == "api_key"]
    assert keys_made == [("key.created", "coordinator-anna"), ("key.created", "order-system-1")]
    trail = [e for e in everything if e["entity"] == "plan"]
    actions = [(e["action"], e["entity_id"]) for e in trail]
    assert actions == [
        ("plan.submitted", plan_id),
        ("plan.started", plan_id),
        ("plan.solved", plan_id),
        ("plan.published", plan_id),
    ]
    assert trail[0]["actor"] == "coordinator-anna"
    # The solving process signs its start and its result with its lease name.
    assert trail[1]["actor"].startswith("server@") and trail[2]["actor"] == trail[1]["actor"]
    text = json.dumps(trail)
    assert all(key not in text for key in keys.values())
    later = coordinator.get("/v1/audit", params={"since": trail[-1]["at"]}).json()
    assert [e["id"] for e in later] == [trail[-1]["id"]]
    assert coordinator.delete("/v1/audit").status_code == 405  # nothing can edit or delete it


def test_a_nul_character_in_an_id_is_a_client_error_not_a_500(
    coordinator: httpx.Client, order_system: httpx.Client
) -> None:
    """PostgreSQL cannot store NUL; schemathesis found the 500 this used to give. Now it is a 4xx on both databases."""
    assert coordinator.get("/v1/plans/a%00b").status_code in (404, 422)
    assert coordinator.get("/v1/plans/x/compare", params={"with": "a\x00b"}).status_code in (
        404,
        422,
    )
    assert order_system.get("/v1/bookings/P%00").status_code in (404, 422)
