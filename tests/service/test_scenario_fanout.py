"""Several scenarios at once: a list to `POST /v1/plans/{id}/scenarios`, and `whatif --broker`.

With a broker the scenarios are solved at once by the Celery workers (real RabbitMQ, real
`cart-schedule worker` processes, one queue per test: `tests/service/test_celery_engine.py`);
without one, the embedded worker solves them one after another. `whatif --broker` sends its
solves as one Celery group of `cart_scheduler.solve_scenario` tasks and must give the
objectives of solving them here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app
from generator import generate_instance
from models import load_instance, load_schedule
from models.scenarios import apply_scenario, parse_scenario
from tests.helpers import validated_files
from tests.service import test_celery_engine as celery_engine
from tests.service.support import Server, solve_and_publish, wait_for_plan
from tests.service.test_celery_engine import BROKER, Worker, _audit, _client, _start_worker
from validator import validate

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
# The Celery tests' fixtures: a broker queue of the test's own, its workers, a brokered server.
queue = celery_engine.queue
workers = celery_engine.workers
brokered = celery_engine.brokered
runner = CliRunner()

# On the generated site s/1/normal (20 patients, in-progress batches in every suite).
SCENARIOS: list[dict[str, Any]] = [
    {
        "name": "one more isolator",
        "changes": [{"kind": "suite_added", "type": "isolator", "positions": 2}],
    },
    {
        "name": "one sterility test a day",
        "changes": [{"kind": "qc_capacity_changed", "assay": "sterility", "capacity": 1}],
    },
    {
        "name": "two starts a day",
        "changes": [{"kind": "starts_per_day_changed", "max_starts_per_day": 2}],
    },
]
MEASURES = ("scheduled_weight", "plan_changes", "wait_days")


def _valid_plan(
    client: httpx.Client, plan_id: str, site: dict[str, Any], scenario: dict[str, Any]
) -> None:
    """The plan's schedule passes the validator against the site changed by the scenario."""
    instance = load_instance(apply_scenario(site, parse_scenario(scenario)))
    schedule = load_schedule(client.get(f"/v1/plans/{plan_id}/schedule").json())
    assert schedule.instance == instance.name
    assert validate(instance, schedule) == []


def test_a_list_of_three_scenarios_is_three_plans_solved_at_once_by_two_workers(
    brokered: Server,
    workers: list[Worker],
    database_url: str,
    queue: str,
    keys: dict[str, str],
    tmp_path: Path,
) -> None:
    """202 with three PlanOut in the order sent; each plan done by a Celery worker, valid; both
    workers took some; the comparison shows them side by side with the plan."""
    for _ in range(2):
        _start_worker(workers, database_url, queue, tmp_path)
    with _client(brokered, keys["coordinator"]) as coordinator:
        site = generate_instance("s", 1, "normal")
        plan_id = solve_and_publish(coordinator, site)
        started = time.monotonic()
        answer = coordinator.post(
            f"/v1/plans/{plan_id}/scenarios", json=SCENARIOS, params={"time_limit": 30}
        )
        assert answer.status_code == 202, answer.text
        plans = answer.json()
        assert [plan["scenario"]["name"] for plan in plans] == [s["name"] for s in SCENARIOS]
        assert all(plan["parent_id"] == plan_id for plan in plans)
        ids = [plan["id"] for plan in plans]
        for scenario_id, scenario in zip(ids, SCENARIOS, strict=True):
            done = wait_for_plan(coordinator, scenario_id, {"done"}, timeout=120)
            assert done["result"]["status"] in ("OPTIMAL", "FEASIBLE")
            _valid_plan(coordinator, scenario_id, site, scenario)
        print(f"3 scenarios on 2 workers: {time.monotonic() - started:.1f} s")
        solvers = set()
        for scenario_id in ids:
            trail = _audit(coordinator, scenario_id)
            actions = [(e["action"], e["actor"].split("@")[0]) for e in trail]
            assert actions == [
                ("plan.submitted", "coordinator-anna"),
                ("plan.started", "celery"),
                ("plan.solved", "celery"),
            ], actions
            solvers |= {e["actor"].split(":")[1] for e in trail if e["action"] == "plan.solved"}
        assert len(solvers) == 2, "both workers solved scenarios"
        comparison = coordinator.get(f"/v1/plans/{plan_id}/compare", params={"with": ",".join(ids)})
        assert comparison.status_code == 200, comparison.text
        assert len(comparison.json()["header"]) == 1 + 1 + len(SCENARIOS)


def test_whatif_on_two_workers_gives_the_objectives_of_solving_here(
    workers: list[Worker], database_url: str, queue: str, tmp_path: Path
) -> None:
    """`whatif --broker` with two scenarios (and the plan): one Celery group on two workers; the
    same objectives as the local processes, with one solver thread and a fixed seed."""
    for _ in range(2):
        _start_worker(workers, database_url, queue, tmp_path)
    instance = tmp_path / "site.json"
    instance.write_text(json.dumps(generate_instance("s", 1, "normal")), encoding="utf-8")
    scenario_args = []
    for index, scenario in enumerate(SCENARIOS[:2]):
        path = tmp_path / f"scenario-{index}.json"
        path.write_text(json.dumps(scenario), encoding="utf-8")
        scenario_args += ["--scenario", str(path)]
    deterministic = ["--workers", "1", "--seed", "5", "--time-limit", "30"]
    objectives = {}
    seconds = {}
    for where, extra in {"here": [], "workers": ["--broker", BROKER, "--queue", queue]}.items():
        started = time.monotonic()
        result = runner.invoke(
            app,
            [
                *("whatif", str(instance), *scenario_args),
                *("-o", str(tmp_path / where), *deterministic, *extra),
            ],
            env={"COLUMNS": "400"},
        )
        seconds[where] = time.monotonic() - started
        assert result.exit_code == 0, result.output
        files = sorted((tmp_path / where).glob("*.instance.json"))
        assert len(files) == 2
        found = []
        for instance_file in files:
            schedule_file = instance_file.with_name(
                instance_file.name.removesuffix(".instance.json") + ".json"
            )
            _, schedule = validated_files(instance_file, schedule_file)
            assert schedule.objective is not None
            values = schedule.objective.model_dump()
            found.append((instance_file.name, tuple(values[m] for m in MEASURES)))
        objectives[where] = found
    print(f"whatif, plan + 2 scenarios: {seconds}")
    assert objectives["workers"] == objectives["here"]
    received = sum(
        worker.log_path.read_text(errors="replace").count("cart_scheduler.solve_scenario[")
        for worker in workers
    )
    assert received >= 3  # the plan and both scenarios went to the workers


def test_a_list_of_scenarios_on_the_embedded_worker_and_its_limits(
    coordinator: httpx.Client,
) -> None:
    """Without a broker the list is solved one after another; a bad item is a 422 naming its
    index, an empty list or more than 20 scenarios are 422, an unknown plan 404; nothing queued then."""
    site = generate_instance("s", 1, "normal")
    plan_id = solve_and_publish(coordinator, site)
    answer = coordinator.post(
        f"/v1/plans/{plan_id}/scenarios", json=SCENARIOS[:2], params={"time_limit": 20}
    )
    assert answer.status_code == 202, answer.text
    ids = [plan["id"] for plan in answer.json()]
    assert len(ids) == 2
    for scenario_id, scenario in zip(ids, SCENARIOS[:2], strict=True):
        wait_for_plan(coordinator, scenario_id, {"done"}, timeout=90)
        _valid_plan(coordinator, scenario_id, site, scenario)
    before = len(coordinator.get("/v1/plans").json())
    bad = coordinator.post(
        f"/v1/plans/{plan_id}/scenarios",
        json=[SCENARIOS[0], {"name": "x", "changes": [{"kind": "suite_removed", "suite": "S9"}]}],
    )
    assert bad.status_code == 422, bad.text
    assert [p["path"] for p in bad.json()["problems"]] == ["body[1].changes[0].suite"]
    shape = coordinator.post(
        f"/v1/plans/{plan_id}/scenarios", json=[SCENARIOS[0], {"name": "x", "changes": 3}]
    )
    assert shape.status_code == 422 and shape.json()["problems"][0]["path"].startswith("body[1]")
    assert coordinator.post(f"/v1/plans/{plan_id}/scenarios", json=[]).status_code == 422
    too_many = coordinator.post(f"/v1/plans/{plan_id}/scenarios", json=[SCENARIOS[0]] * 21)
    assert too_many.status_code == 422, too_many.text
    assert coordinator.post("/v1/plans/nope/scenarios", json=SCENARIOS[:2]).status_code == 404
    assert len(coordinator.get("/v1/plans").json()) == before
