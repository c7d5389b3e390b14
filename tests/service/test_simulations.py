"""Simulations over HTTP (issue 17 part 5): start one on a published plan, poll it to done, read it.

Real server (`cart-schedule serve` in a child process, the embedded worker plays the runs),
SQLite and PostgreSQL. A small site: the booking site with eight patients, a few runs with a
raised failure rate so that batches fail and are rescued. Availability answers with an
`on_time_probability` per offer only once the published plan has a finished simulation.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from models import load_instance, load_schedule
from scheduler.workflows.simulate import Rates, SimulationConfig, simulate, strip_timing
from tests.service.support import (
    HORIZON_START,
    Server,
    booking_site,
    new_patient,
    solve_and_publish,
    wait_for_plan,
)

MONDAY = HORIZON_START
SIMULATION = {
    "runs": 4,
    "seed": 7,
    "policy": "repair",
    "rates": {"failure_rate": 0.3, "out_of_spec_rate": 0.1},
    "clairvoyant": True,
}


def _site() -> dict[str, Any]:
    """The booking site with eight patients of two hospitals, infusion windows closing."""
    patients = []
    for index in range(8):
        earliest = MONDAY + timedelta(days=index % 4)
        patient = new_patient(f"H{1 + index % 2}", earliest, earliest + timedelta(days=3))
        patient["id"] = f"P{index + 1:02d}"
        patient["infusion_window"]["latest"] = (MONDAY + timedelta(days=24)).isoformat()
        patients.append(patient)
    return booking_site(name="simulated-site", patients=patients)


def wait_for_simulation(
    client: httpx.Client, simulation_id: str, statuses: set[str], timeout: float
) -> dict[str, Any]:
    """Poll a simulation until its status is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"/v1/simulations/{simulation_id}")
        assert answer.status_code == 200, answer.text
        simulation: dict[str, Any] = answer.json()
        if simulation["status"] in statuses:
            return simulation
        assert simulation["status"] not in {"failed", "cancelled"} - statuses, simulation
        assert time.monotonic() < deadline, f"simulation still {simulation['status']}"
        time.sleep(0.3)


def _actions(client: httpx.Client, simulation_id: str) -> list[tuple[str, str]]:
    trail = client.get("/v1/audit").json()
    return [
        (e["action"], e["actor"].split("@")[0]) for e in trail if e["entity_id"] == simulation_id
    ]


def _ask(earliest_offset: int, latest_offset: int | None) -> dict[str, Any]:
    start = MONDAY + timedelta(days=earliest_offset)
    patient = new_patient("H1", start, start + timedelta(days=2))
    if latest_offset is not None:
        patient["infusion_window"]["latest"] = (MONDAY + timedelta(days=latest_offset)).isoformat()
    return patient


def test_a_simulation_runs_to_done_and_availability_then_promises_with_a_probability(
    coordinator: httpx.Client, order_system: httpx.Client
) -> None:
    """202, polled to done with the report (every final plan valid), its page, its audit entries;
    offers carry no probability before and one in [0, 1] after, lower for a tighter window."""
    plan_id = solve_and_publish(coordinator, _site())
    before = order_system.post("/v1/availability", json=_ask(7, 27))
    assert before.status_code == 200, before.text
    assert before.json()["offers"], before.json()
    assert all("on_time_probability" not in offer for offer in before.json()["offers"])

    answer = coordinator.post(f"/v1/plans/{plan_id}/simulations", json=SIMULATION)
    assert answer.status_code == 202, answer.text
    started = answer.json()
    assert started["status"] in ("queued", "running") and started["report"] is None
    assert (started["plan_id"], started["runs"], started["seed"]) == (plan_id, 4, 7)

    done = wait_for_simulation(coordinator, started["id"], {"done"}, timeout=180)
    assert done["progress"] == {"runs_done": 4, "runs": 4}
    report = done["report"]
    assert report["format"] == "cart-schedule-simulation/1"
    assert report["config"]["seed"] == 7 and report["config"]["policy"] == "repair"
    assert set(report["summary"]) == {"policy", "do_nothing", "clairvoyant"}
    assert report["summary"]["policy"]["treated_weight"]["n"] == 4
    assert [run["run"] for run in report["runs"]] == [0, 1, 2, 3]
    assert report["checks"]["invalid_plans"] == []
    assert report["checks"]["plans_validated"] == 4 * 3
    assert sum(run["policy"]["failed_batches"] for run in report["runs"]) > 0

    page = coordinator.get(f"/v1/simulations/{started['id']}/report.html")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "connect-src" not in page.headers["content-security-policy"]  # default 'none'
    assert "simulated-site" in page.text and "Plotly" in page.text

    assert _actions(coordinator, started["id"]) == [
        ("simulation.requested", "coordinator-anna"),
        ("simulation.started", "server"),
        ("simulation.done", "server"),
    ]
    listed = coordinator.get(f"/v1/plans/{plan_id}/simulations").json()
    assert [s["id"] for s in listed] == [started["id"]] and listed[0]["report"] is None

    # Each server holds the promise model up to 5 s before it looks for a newer simulation.
    deadline = time.monotonic() + 15
    while True:
        open_window = order_system.post("/v1/availability", json=_ask(7, None)).json()["offers"]
        if "on_time_probability" in open_window[0] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    tight = order_system.post("/v1/availability", json=_ask(7, 27)).json()["offers"]
    assert open_window and tight
    for offer in open_window + tight:
        assert 0.0 <= offer["on_time_probability"] <= 1.0, offer
    by_date = {offer["apheresis_date"]: offer["on_time_probability"] for offer in open_window}
    for offer in tight:
        assert offer["on_time_probability"] <= by_date[offer["apheresis_date"]]
    # A lost batch is not always rescued in time: no offer is certain at these rates.
    assert min(offer["on_time_probability"] for offer in tight) < 1.0


def test_simulation_requests_are_checked_and_cancelled_with_an_audit_entry(
    coordinator: httpx.Client, order_system: httpx.Client
) -> None:
    """422 naming the JSON path for bad bodies, 403 for an order-system key, 404 an unknown plan;
    nothing stored then. A running simulation steps aside for a plan submitted meanwhile (the
    plan is solved first); cancelled, it is audited and cannot be cancelled twice."""
    plan_id = solve_and_publish(coordinator, _site())
    url = f"/v1/plans/{plan_id}/simulations"
    bad_bodies = {
        "body.runs": {"runs": 0},
        "body.policy": {"policy": "pray"},
        "body.rates.failure_rate": {"rates": {"failure_rate": 1.5}},
        "body.rates.typo_rate": {"rates": {"typo_rate": 0.1}},
        "body.seed": {"seed": -1},
        "body.time_limit": {"time_limit": 0},
        "body.surprise": {"surprise": True},
    }
    for path, body in bad_bodies.items():
        answer = coordinator.post(url, json=body)
        assert answer.status_code == 422, (path, answer.text)
        assert path in [p["path"] for p in answer.json()["problems"]], (path, answer.json())
    too_many = coordinator.post(url, json={"runs": 100_000})
    assert too_many.status_code == 422
    assert too_many.json()["problems"][0]["path"] == "body.runs"
    not_an_object = coordinator.post(url, json=[1, 2])
    assert not_an_object.status_code == 422, not_an_object.text
    garbage = coordinator.post(
        url, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert garbage.status_code == 422, garbage.text
    assert order_system.post(url, json=SIMULATION).status_code == 403
    assert order_system.get(f"/v1/plans/{plan_id}/simulations").status_code == 403
    assert coordinator.post("/v1/plans/nope/simulations", json=SIMULATION).status_code == 404
    assert coordinator.get("/v1/simulations/nope").status_code == 404
    assert coordinator.get(f"/v1/plans/{plan_id}/simulations").json() == []

    # Many runs of the replan policy: it steps aside for a plan queued meanwhile, then is cancelled.
    long = coordinator.post(url, json={**SIMULATION, "runs": 200, "policy": "replan"})
    assert long.status_code == 202, long.text
    simulation_id = long.json()["id"]
    deadline = time.monotonic() + 60
    while (coordinator.get(f"/v1/simulations/{simulation_id}").json()["progress"] or {}).get(
        "runs_done", 0
    ) < 2:
        assert time.monotonic() < deadline, "no run played in 60 s"
        time.sleep(0.3)
    plan = coordinator.post("/v1/plans", json=_site(), params={"time_limit": 10})
    assert plan.status_code == 202, plan.text
    wait_for_plan(coordinator, plan.json()["id"], {"done"}, timeout=60)
    meanwhile = coordinator.get(f"/v1/simulations/{simulation_id}").json()
    assert meanwhile["status"] in ("queued", "running"), meanwhile["status"]
    assert ("simulation.requeued", "server") in _actions(coordinator, simulation_id)
    cancelled = coordinator.delete(f"/v1/simulations/{simulation_id}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] in ("cancelled", "cancelling")
    ended = wait_for_simulation(coordinator, simulation_id, {"cancelled"}, timeout=120)
    assert ended["report"] is None and ended["progress"]["runs_done"] >= 2
    assert coordinator.delete(f"/v1/simulations/{simulation_id}").status_code == 409
    assert coordinator.get(f"/v1/simulations/{simulation_id}/report.html").status_code == 409
    actions = _actions(coordinator, simulation_id)
    assert actions[0] == ("simulation.requested", "coordinator-anna")
    assert ("simulation.cancelled", "coordinator-anna") in actions
    # Nothing finished: availability still promises without a probability.
    offers = order_system.post("/v1/availability", json=_ask(7, 27)).json()["offers"]
    assert offers and all("on_time_probability" not in offer for offer in offers)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_simulation_cut_off_by_a_killed_server_resumes_after_the_restart_with_the_same_report(
    server: Server, database_url: str, keys: dict[str, str], tmp_path: Path
) -> None:
    """The killed server's runs are kept: once the lease expires the restarted server queues the
    simulation again and plays only the runs left; the report is the one played in one go here."""
    request = {**SIMULATION, "runs": 200, "clairvoyant": False}
    with httpx.Client(
        base_url=server.url, headers={"X-API-Key": keys["coordinator"]}, timeout=60
    ) as coordinator:
        plan_id = solve_and_publish(coordinator, _site())
        simulation_id = coordinator.post(f"/v1/plans/{plan_id}/simulations", json=request).json()[
            "id"
        ]
        deadline = time.monotonic() + 60
        while True:
            progress = coordinator.get(f"/v1/simulations/{simulation_id}").json()["progress"]
            if (progress or {}).get("runs_done", 0) >= 4:
                break
            assert time.monotonic() < deadline, "no runs played in 60 s"
            time.sleep(0.2)
        schedule = load_schedule(coordinator.get(f"/v1/plans/{plan_id}/schedule").json())
    server.kill()
    time.sleep(1.0)  # the orphaned child notices its server is gone and ends without writing
    restarted = Server(database_url, tmp_path / "restarted.log").start()
    try:
        with httpx.Client(
            base_url=restarted.url, headers={"X-API-Key": keys["coordinator"]}, timeout=60
        ) as coordinator:
            done = wait_for_simulation(coordinator, simulation_id, {"done"}, timeout=240)
            actions = [action for action, _ in _actions(coordinator, simulation_id)]
    finally:
        restarted.stop()
    assert actions == [
        "simulation.requested",
        "simulation.started",  # by the killed server
        "simulation.requeued",  # by the restarted server, once the lease expired
        "simulation.started",
        "simulation.done",
    ]
    config = SimulationConfig(
        runs=200,
        seed=SIMULATION["seed"],
        policy="repair",
        rates=Rates(**SIMULATION["rates"]),
        references=("do_nothing",),
    )
    here = simulate(load_instance(_site()), schedule, config)
    assert json.dumps(strip_timing(done["report"]), sort_keys=True) == json.dumps(
        strip_timing(here), sort_keys=True
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_simulations_queued_or_running_at_once_are_bounded(
    database_url: str, keys: dict[str, str], tmp_path: Path
) -> None:
    """With CART_SCHEDULER_MAX_ACTIVE_SIMULATIONS=1 a second simulation is 409 (nothing stored,
    nothing audited) until the first is cancelled."""
    server = Server(
        database_url, tmp_path / "server.log", env={"CART_SCHEDULER_MAX_ACTIVE_SIMULATIONS": "1"}
    ).start()
    try:
        with httpx.Client(
            base_url=server.url, headers={"X-API-Key": keys["coordinator"]}, timeout=60
        ) as coordinator:
            plan_id = solve_and_publish(coordinator, _site())
            url = f"/v1/plans/{plan_id}/simulations"
            first = coordinator.post(url, json={**SIMULATION, "runs": 200, "policy": "replan"})
            assert first.status_code == 202, first.text
            refused = coordinator.post(url, json=SIMULATION)
            assert refused.status_code == 409, refused.text
            assert refused.json()["active"] == 1
            assert len(coordinator.get(url).json()) == 1
            requested = [
                e
                for e in coordinator.get("/v1/audit").json()
                if e["action"] == "simulation.requested"
            ]
            assert len(requested) == 1
            assert coordinator.delete(f"/v1/simulations/{first.json()['id']}").status_code == 200
            wait_for_simulation(coordinator, first.json()["id"], {"cancelled"}, timeout=120)
            assert coordinator.post(url, json=SIMULATION).status_code == 202
    finally:
        server.stop()
