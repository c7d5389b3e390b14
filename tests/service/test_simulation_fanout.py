"""Simulation runs on the Celery workers: `simulate --broker` and a service simulation on a worker.

Real RabbitMQ at 127.0.0.1:5672, real `cart-schedule worker` processes on a queue of the
test's own (the fixtures of `tests/service/test_celery_engine.py`). Same seed, same report
(without its timing) whichever mapper plays the runs: local processes, a Celery group of
chunks over two workers, or one worker playing a stored simulation for the API.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from models import load_instance, load_schedule, to_json
from scheduler.workflows.simulate import Rates, SimulationConfig, simulate, strip_timing
from tests.helpers import solve_generated
from tests.service import test_celery_engine as celery_engine
from tests.service.support import Server, solve_and_publish
from tests.service.test_celery_engine import BROKER, Worker, _client, _start_worker
from tests.service.test_simulations import SIMULATION, _actions, _site, wait_for_simulation

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
queue = celery_engine.queue
workers = celery_engine.workers
brokered = celery_engine.brokered
runner = CliRunner()


def _canonical(report: dict[str, Any]) -> str:
    return json.dumps(strip_timing(report), sort_keys=True)


@ON_SQLITE
def test_simulate_on_two_workers_gives_the_report_of_local_processes(
    workers: list[Worker], database_url: str, queue: str, tmp_path: Path
) -> None:
    """`simulate --broker` (chunks as one Celery group over two workers) and `--processes 2`
    write the same report for the same seed; both workers played chunks."""
    for _ in range(2):
        _start_worker(workers, database_url, queue, tmp_path)
    instance, schedule = solve_generated("s", 1, "normal", time_limit=20, workers=1)
    instance_file, schedule_file = tmp_path / "site.json", tmp_path / "plan.json"
    instance_file.write_text(to_json(instance), encoding="utf-8")
    schedule_file.write_text(to_json(schedule), encoding="utf-8")
    common = [
        *("simulate", str(instance_file), str(schedule_file), "--runs", "6", "--seed", "11"),
        *("--failure-rate", "0.2", "--no-clairvoyant"),
    ]
    reports = {}
    seconds = {}
    for where, extra in {
        "local": ["--processes", "2"],
        "workers": ["--broker", BROKER, "--queue", queue, "--chunks", "4"],
    }.items():
        output = tmp_path / f"{where}.json"
        started = time.monotonic()
        result = runner.invoke(app, [*common, *extra, "-o", str(output)], env={"COLUMNS": "200"})
        seconds[where] = time.monotonic() - started
        assert result.exit_code == 0, result.output
        reports[where] = json.loads(output.read_text(encoding="utf-8"))
    print(f"6 runs of s/1: {seconds}")
    assert reports["workers"]["checks"]["invalid_plans"] == []
    assert _canonical(reports["workers"]) == _canonical(reports["local"])
    played = [
        worker.log_path.read_text(errors="replace").count("cart_scheduler.simulate_chunk[")
        for worker in workers
    ]
    assert sum(played) >= 4 and all(count > 0 for count in played), played


def test_simulate_with_an_unreachable_broker_fails_with_a_message(tmp_path: Path) -> None:
    """No broker listening: exit 1 and the reason, no report written."""
    instance, schedule = solve_generated("s", 1, "normal", time_limit=20, workers=1)
    instance_file, schedule_file = tmp_path / "site.json", tmp_path / "plan.json"
    instance_file.write_text(to_json(instance), encoding="utf-8")
    schedule_file.write_text(to_json(schedule), encoding="utf-8")
    output = tmp_path / "report.json"
    result = runner.invoke(
        app,
        [
            *("simulate", str(instance_file), str(schedule_file), "--runs", "2"),
            *("--broker", "amqp://guest:guest@127.0.0.1:1//", "-o", str(output)),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1, result.output
    assert "did not play the runs" in result.output
    assert not output.exists()


@ON_SQLITE
def test_a_service_simulation_is_played_by_a_worker_and_matches_a_local_one(
    brokered: Server,
    workers: list[Worker],
    database_url: str,
    queue: str,
    keys: dict[str, str],
    tmp_path: Path,
) -> None:
    """With a broker the server plays nothing itself: a worker claims the simulation (LOW
    priority), its lease name signs the audit entries, and the report is the one `simulate`
    gives here for the same seed."""
    _start_worker(workers, database_url, queue, tmp_path)
    site = _site()
    with _client(brokered, keys["coordinator"]) as coordinator:
        plan_id = solve_and_publish(coordinator, site)
        answer = coordinator.post(f"/v1/plans/{plan_id}/simulations", json=SIMULATION)
        assert answer.status_code == 202, answer.text
        simulation_id = answer.json()["id"]
        done = wait_for_simulation(coordinator, simulation_id, {"done"}, timeout=180)
        assert done["report"]["checks"]["invalid_plans"] == []
        assert _actions(coordinator, simulation_id) == [
            ("simulation.requested", "coordinator-anna"),
            ("simulation.started", "celery"),
            ("simulation.done", "celery"),
        ]
        schedule = load_schedule(coordinator.get(f"/v1/plans/{plan_id}/schedule").json())
    config = SimulationConfig(
        runs=SIMULATION["runs"],
        seed=SIMULATION["seed"],
        policy=SIMULATION["policy"],
        rates=Rates(**SIMULATION["rates"]),
    )
    here = simulate(load_instance(site), schedule, config)
    assert _canonical(done["report"]) == _canonical(here)
    log = workers[0].log_path.read_text(errors="replace")
    assert "cart_scheduler.simulate_plan[" in log
