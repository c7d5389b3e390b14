"""Solves on Celery workers: real RabbitMQ, real `cart-schedule worker` processes, real API servers.

Each test gets its own broker queue (so leftovers of another run never reach it) and its own
database. Workers are started in their own process group so a test can SIGKILL one whole.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from kombu import Connection
from sqlalchemy import event

from api.db import Plan, create_db_engine, migrate, session_factory, utc_now
from api.solving.leases import claim, heartbeat, recover_expired
from generator import generate_instance
from models import load_instance, load_schedule
from tests.service.support import (
    HORIZON_START,
    Server,
    booking_site,
    new_patient,
    wait_for_plan,
)
from validator import validate

BROKER = "amqp://guest:guest@127.0.0.1:5672//"


class Worker:
    """`cart-schedule worker` in its own process group."""

    def __init__(self, database_url: str, queue: str, log_path: Path) -> None:
        self.log_path = log_path
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "cli", "worker", "--broker", BROKER),
                *("--database-url", database_url, "--queues", queue, "--concurrency", "1"),
            ],
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text(errors="replace"):
            assert self.process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "worker not ready in 60 s"
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once: nothing of it runs on."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """Stop (if still running) and reap."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@pytest.fixture
def queue() -> Iterator[str]:
    """A broker queue of this test alone, deleted afterwards."""
    name = f"cart-test-{uuid.uuid4().hex[:10]}"
    yield name
    with Connection(BROKER) as connection:
        connection.default_channel.queue_delete(name)


@pytest.fixture
def workers(database_url: str, queue: str, tmp_path: Path) -> Iterator[list[Worker]]:
    """Started workers (the test starts them); all stopped at the end."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def _start_worker(workers: list[Worker], database_url: str, queue: str, folder: Path) -> Worker:
    worker = Worker(database_url, queue, folder / f"worker-{len(workers) + 1}.log")
    workers.append(worker)
    return worker


@pytest.fixture
def brokered(
    database_url: str, keys: dict[str, str], queue: str, tmp_path: Path
) -> Iterator[Server]:
    """The service with `--broker`: it solves nothing itself."""
    server = Server(
        database_url,
        tmp_path / "server.log",
        "--broker",
        BROKER,
        env={"CART_SCHEDULER_SOLVE_QUEUE": queue},
    ).start()
    yield server
    server.stop()


def _client(server: Server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60)


def _audit(client: httpx.Client, plan_id: str) -> list[dict[str, Any]]:
    return [e for e in client.get("/v1/audit").json() if e["entity_id"] == plan_id]


def _valid(client: httpx.Client, plan_id: str, instance_doc: dict[str, Any]) -> None:
    schedule = load_schedule(client.get(f"/v1/plans/{plan_id}/schedule").json())
    assert validate(load_instance(instance_doc), schedule) == []


def test_a_plan_is_solved_by_a_worker_and_watched_from_the_api(
    brokered: Server,
    workers: list[Worker],
    database_url: str,
    queue: str,
    keys: dict[str, str],
    tmp_path: Path,
) -> None:
    """The server solves nothing itself: the worker's lease name signs the start and the result."""
    _start_worker(workers, database_url, queue, tmp_path)
    instance = generate_instance("s", 1, "normal")
    with _client(brokered, keys["coordinator"]) as coordinator:
        plan_id = coordinator.post("/v1/plans", json=instance, params={"time_limit": 20}).json()[
            "id"
        ]
        plan = wait_for_plan(coordinator, plan_id, {"done"}, timeout=60)
        assert plan["result"]["status"] == "OPTIMAL"
        _valid(coordinator, plan_id, instance)
        trail = [(e["action"], e["actor"].split("@")[0]) for e in _audit(coordinator, plan_id)]
    assert trail == [
        ("plan.submitted", "coordinator-anna"),
        ("plan.started", "celery"),
        ("plan.solved", "celery"),
    ]


def test_a_worker_killed_mid_solve_loses_nothing_and_the_plan_ends_done_once(
    brokered: Server,
    workers: list[Worker],
    database_url: str,
    queue: str,
    keys: dict[str, str],
    tmp_path: Path,
) -> None:
    """SIGKILL the worker solving a plan: the broker gives the message to a second worker, which
    takes the plan over once the dead worker's lease expires; one result, valid."""
    first = _start_worker(workers, database_url, queue, tmp_path)
    instance = generate_instance("m", 1, "overload")
    with _client(brokered, keys["coordinator"]) as coordinator:
        plan_id = coordinator.post("/v1/plans", json=instance, params={"time_limit": 30}).json()[
            "id"
        ]
        wait_for_plan(coordinator, plan_id, {"solving"}, timeout=60)
        first.kill()
        _start_worker(workers, database_url, queue, tmp_path)
        plan = wait_for_plan(coordinator, plan_id, {"done"}, timeout=120)
        assert plan["result"]["status"] in ("OPTIMAL", "FEASIBLE")
        _valid(coordinator, plan_id, instance)
        audit = _audit(coordinator, plan_id)
    trail = [(e["action"], e["actor"]) for e in audit]
    actions = [action for action, _ in trail]
    solvers = {actor for _, actor in trail if actor.startswith("celery@")}
    assert actions.count("plan.solved") == 1, trail
    assert actions[:2] == ["plan.submitted", "plan.started"], trail
    assert "plan.taken_over" in actions or "plan.requeued" in actions, trail
    # Each solving attempt has its own lease name: the killed worker's, and the one that took the
    # plan over and finished. A third means a live lease was taken from its holder and the solve
    # started again (the sweeper once requeued a plan a worker had just taken over).
    assert len(solvers) == 2, trail


# The interleaving is forced in one thread: on PostgreSQL the sweeper's row lock would make the
# worker's claim wait for it (no race there, and a deadlock here); SQLite's SELECT locks nothing.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_sweeper_never_requeues_a_plan_a_worker_took_over_after_it_looked(
    database_url: str,
) -> None:
    """The sweeper sees an expired lease; before its UPDATE, a worker takes the plan over. The
    sweeper must leave the new, live lease alone: the worker keeps solving, nothing is resent."""
    engine = create_db_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    worker_engine = create_db_engine(database_url)
    worker = session_factory(worker_engine)
    now = utc_now()
    with sessions() as session, session.begin():
        session.add(
            Plan(
                id="p1",
                name="p1",
                status="solving",
                time_limit=30.0,
                instance_json="{}",
                created_by="test",
                created_at=now,
                lease_owner="celery@dead",
                lease_expires=now - timedelta(seconds=1),
            )
        )
    taken: list[bool] = []

    @event.listens_for(engine, "after_cursor_execute")
    def take_over_after_the_sweepers_select(
        _connection: Any, _cursor: Any, sql: str, *_: Any
    ) -> None:
        if sql.lstrip().startswith("SELECT plans.id, plans.status") and not taken:
            taken.append(claim(worker, "p1", "celery@live"))

    try:
        assert recover_expired(sessions, "server") == []
        assert taken == [True]
        with sessions() as session:
            plan = session.get(Plan, "p1")
            assert plan is not None
            assert (plan.status, plan.lease_owner) == ("solving", "celery@live")
        assert heartbeat(worker, "p1", "celery@live")
    finally:
        engine.dispose()
        worker_engine.dispose()


def test_cancel_reaches_a_remote_worker_within_two_seconds_and_keeps_the_best_plan(
    brokered: Server,
    workers: list[Worker],
    database_url: str,
    queue: str,
    keys: dict[str, str],
    tmp_path: Path,
) -> None:
    """A long solve on a worker: once it has a schedule, DELETE stops it within 2 s; the schedule stays."""
    _start_worker(workers, database_url, queue, tmp_path)
    instance = generate_instance("l", 1, "overload")
    with _client(brokered, keys["coordinator"]) as coordinator:
        plan_id = coordinator.post("/v1/plans", json=instance, params={"time_limit": 120}).json()[
            "id"
        ]
        deadline = time.monotonic() + 90
        while (coordinator.get(f"/v1/plans/{plan_id}").json().get("progress") or {}).get(
            "objective"
        ) is None:
            assert time.monotonic() < deadline, "no progress from the worker in 90 s"
            time.sleep(0.2)
        asked = time.monotonic()
        assert coordinator.delete(f"/v1/plans/{plan_id}").json()["status"] == "cancelling"
        wait_for_plan(coordinator, plan_id, {"cancelled"}, timeout=10)
        stopped_in = time.monotonic() - asked
        _valid(coordinator, plan_id, instance)
    assert stopped_in < 2.0


# Several servers share a database over the network: PostgreSQL's case, not an SQLite file's.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_servers_and_two_workers_on_postgresql_solve_eight_plans_each_once(
    database_url: str,
    keys: dict[str, str],
    queue: str,
    workers: list[Worker],
    tmp_path: Path,
) -> None:
    """Plans submitted to both servers, solved by both workers: each done once, each valid."""
    servers = [
        Server(
            database_url,
            tmp_path / f"server-{index}.log",
            "--broker",
            BROKER,
            env={"CART_SCHEDULER_SOLVE_QUEUE": queue},
        ).start()
        for index in (1, 2)
    ]
    try:
        for _ in range(2):
            _start_worker(workers, database_url, queue, tmp_path)
        submitted: list[tuple[str, dict[str, Any], Server]] = []
        for index in range(8):
            server = servers[index % 2]
            instance = generate_instance("s", index + 1, "normal")
            with _client(server, keys["coordinator"]) as coordinator:
                answer = coordinator.post("/v1/plans", json=instance, params={"time_limit": 30})
                submitted.append((answer.json()["id"], instance, server))
        for plan_id, instance, server in submitted:
            other = servers[1] if server is servers[0] else servers[0]
            with _client(other, keys["coordinator"]) as coordinator:  # seen from the other server
                wait_for_plan(coordinator, plan_id, {"done"}, timeout=180)
                _valid(coordinator, plan_id, instance)
                actions = [e["action"] for e in _audit(coordinator, plan_id)]
                assert actions == ["plan.submitted", "plan.started", "plan.solved"], actions
        for worker in workers:
            assert worker.process.poll() is None
        solved_by = {
            e["actor"].split(":")[1]
            for e in _client(servers[0], keys["coordinator"]).get("/v1/audit").json()
            if e["action"] == "plan.solved"
        }
        assert len(solved_by) == 2, "both workers took plans"
    finally:
        for server in servers:
            server.stop()


def test_a_replan_goes_ahead_of_queued_what_ifs(
    brokered: Server,
    workers: list[Worker],
    database_url: str,
    queue: str,
    keys: dict[str, str],
    tmp_path: Path,
) -> None:
    """One worker busy with a long solve; three what-ifs, then a re-plan, are queued behind it.
    When the long solve is cancelled, the re-plan starts first."""
    _start_worker(workers, database_url, queue, tmp_path)
    site = booking_site(patients=[new_patient("H1", HORIZON_START, HORIZON_START, id="P1")])
    with _client(brokered, keys["coordinator"]) as coordinator:
        base = coordinator.post("/v1/plans", json=site, params={"time_limit": 20}).json()["id"]
        wait_for_plan(coordinator, base, {"done"}, timeout=60)
        long = coordinator.post(
            "/v1/plans", json=generate_instance("l", 1, "overload"), params={"time_limit": 120}
        ).json()["id"]
        wait_for_plan(coordinator, long, {"solving"}, timeout=60)
        what_ifs = [
            coordinator.post(
                f"/v1/plans/{base}/scenarios",
                json={
                    "name": f"what-if {n}",
                    "changes": [
                        {
                            "kind": "chairs_changed",
                            "hospital": "H1",
                            "weekday": "Mon",
                            "capacity": 3,
                        }
                    ],
                },
                params={"time_limit": 10},
            )
            for n in range(3)
        ]
        assert all(w.status_code == 202 for w in what_ifs), [w.text for w in what_ifs]
        replan = coordinator.post(
            f"/v1/plans/{base}/replan",
            json=[{"kind": "patient_cancelled", "patient": "P1"}],
            params={"time_limit": 10},
        )
        assert replan.status_code == 202, replan.text
        coordinator.delete(f"/v1/plans/{long}")
        ids = [w.json()["id"] for w in what_ifs] + [replan.json()["id"]]
        for plan_id in ids:
            wait_for_plan(coordinator, plan_id, {"done"}, timeout=120)
        started = {
            e["entity_id"]: e["id"]
            for e in coordinator.get("/v1/audit").json()
            if e["action"] == "plan.started"
        }
    order = sorted(ids, key=started.__getitem__)
    assert order[0] == replan.json()["id"]
