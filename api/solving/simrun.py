"""A stored simulation played off the request path: lease, progress, cancel, report written once.

Simulations take the plans' road (`api.solving.run`): a process claims a queued simulation
with a lease in its row (`claim_simulation`), a watcher thread renews the lease and reads the
row for a cancel, the runs are played in small chunks with `run_chunk` (progress written after
each), and the report, with the promise model availability needs (`api.services.promises`), is
written only while the lease is held. The embedded worker runs it in a child process, a Celery
worker in its pool process (task `cart_scheduler.simulate_plan`, LOW priority: behind re-plans
and plans).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db import Plan, Simulation, create_db_engine, session_factory, utc_now
from api.dispatch import LOW
from api.services.audit import record
from api.services.promises import promise_model
from api.solving.leases import (
    HEARTBEAT_SECONDS,
    LEASE_SECONDS,
    claim_leased,
    new_owner,
    recover_leased,
    rows_changed,
)
from models import load_instance, load_schedule
from scheduler.workflows.simulate import SimulationConfig, run_chunk, simulate

log = logging.getLogger("cart_scheduler.solving")
RUNNING = ("running", "cancelling")
FINISHED = ("done", "failed", "cancelled")
CANCEL_POLL_SECONDS = 0.5
# Runs per chunk: progress and cancel are seen between chunks, so keep them short.
CHUNK_RUNS = 2


class Stopped(Exception):
    """The simulation was cancelled, or its lease lost, between two chunks."""


class SteppedAside(Exception):
    """A plan was queued: the simulation keeps its runs so far and goes back to the queue."""


def plans_waiting(sessions: sessionmaker[Session]) -> bool:
    """Whether a plan (a re-plan, a plan, a what-if) is queued: simulations come after them."""
    with sessions() as session:
        return session.scalar(select(Plan.id).where(Plan.status == "queued").limit(1)) is not None


def claim_simulation(sessions: sessionmaker[Session], simulation_id: str, owner: str) -> bool:
    """Take the simulation if queued or its holder's lease expired; audited. True when taken."""
    return claim_leased(sessions, Simulation, simulation_id, owner, "simulation", "running", {})


def next_queued(sessions: sessionmaker[Session], kind: str) -> tuple[str, str] | None:
    """Claim the oldest queued simulation: (its id, the owner name), or None."""
    with sessions() as session:
        queued = session.scalars(
            select(Simulation.id)
            .where(Simulation.status == "queued")
            .order_by(Simulation.created_at)
            .limit(5)
        ).all()
    for simulation_id in queued:
        owner = new_owner(kind)
        if claim_simulation(sessions, simulation_id, owner):
            return str(simulation_id), owner
    return None


def recover_expired_simulations(sessions: sessionmaker[Session], actor: str) -> list[str]:
    """Simulations whose holder died: running ones queued again, cancelling ones cancelled; audited."""
    # (Its runs so far are kept: nothing more is reset.)
    return recover_leased(sessions, Simulation, "simulation", "running", {}, actor, doing="running")


def run_simulation(
    database_url: str,
    simulation_id: str,
    owner: str,
    still_wanted: Callable[[], bool] = lambda: True,
    step_aside: bool = True,
) -> str:
    """Play a claimed simulation and write its report once; the status it ended in ("" if lost).

    With `step_aside`, a plan queued meanwhile makes it stop after its current chunk, keep its
    runs and go back to the queue ("queued"): plans and re-plans never wait for a simulation
    longer than one chunk of runs.
    """
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    try:
        return _run(sessions, simulation_id, owner, still_wanted, step_aside)
    finally:
        engine.dispose()


def _run(
    sessions: sessionmaker[Session],
    simulation_id: str,
    owner: str,
    still_wanted: Callable[[], bool],
    step_aside: bool,
) -> str:
    if not still_wanted():
        return ""
    with sessions() as session:
        row = session.get(Simulation, simulation_id)
        assert row is not None
        plan = session.get(Plan, row.plan_id)
        assert plan is not None and plan.schedule_json is not None
        config = SimulationConfig.from_dict(row.config)
        instance = load_instance(json.loads(plan.instance_json))
        schedule = load_schedule(json.loads(plan.schedule_json))
        # Runs played before stepping aside: a run depends only on its index, so they stand.
        played: list[dict[str, Any]] = json.loads(row.partial_json or "[]")
    stop = threading.Event()
    finished = threading.Event()
    lost = threading.Event()

    def watch() -> None:
        beats = 0.0
        while not finished.wait(CANCEL_POLL_SECONDS):
            if not still_wanted():
                os._exit(0)  # the server that started us is gone: write nothing
            beats += CANCEL_POLL_SECONDS
            if beats >= HEARTBEAT_SECONDS:
                beats = 0.0
                with sessions() as session, session.begin():
                    renewed = session.execute(
                        update(Simulation)
                        .where(
                            Simulation.id == simulation_id,
                            Simulation.lease_owner == owner,
                            Simulation.status.in_(RUNNING),
                        )
                        .values(lease_expires=utc_now() + timedelta(seconds=LEASE_SECONDS))
                    )
                if rows_changed(renewed) != 1:
                    lost.set()
                    stop.set()
                    return
            if _status(sessions, simulation_id) == "cancelling":
                stop.set()

    def mapper(context_json: str, runs: Sequence[int]) -> list[dict[str, Any]]:
        results = list(played)
        done = {int(r["run"]) for r in results}
        todo = [run for run in runs if run not in done]
        for first in range(0, len(todo), CHUNK_RUNS):
            if stop.is_set():
                raise Stopped()
            if first > 0 and step_aside and plans_waiting(sessions):
                raise SteppedAside()
            results += run_chunk(context_json, todo[first : first + CHUNK_RUNS])
            with sessions() as session, session.begin():
                session.execute(
                    update(Simulation)
                    .where(Simulation.id == simulation_id, Simulation.lease_owner == owner)
                    .values(
                        progress={"runs_done": len(results), "runs": len(runs)},
                        partial_json=json.dumps(results),
                    )
                )
        return sorted(results, key=lambda r: int(r["run"]))

    watcher = threading.Thread(target=watch, daemon=True, name=f"watch-{simulation_id}")
    watcher.start()
    try:
        report = simulate(instance, schedule, config, mapper=mapper)
    except SteppedAside:
        finished.set()
        return "queued" if _step_aside(sessions, simulation_id, owner) else ""
    except Stopped:
        finished.set()
        if lost.is_set():
            return ""
        done = _progress(sessions, simulation_id)
        written = _finish(
            sessions,
            simulation_id,
            owner,
            {"status": "cancelled"},
            "simulation.stopped",
            {"status": "cancelled", "runs_done": done},
        )
        return "cancelled" if written else ""
    except Exception as error:
        finished.set()
        _finish(
            sessions,
            simulation_id,
            owner,
            {"status": "failed", "error": f"{type(error).__name__}: {error}"},
            "simulation.failed",
            {"status": "failed", "error": str(error)},
        )
        raise
    finished.set()
    if not still_wanted() or lost.is_set():
        return ""
    checks = report["checks"]
    written = _finish(
        sessions,
        simulation_id,
        owner,
        {
            "status": "done",
            "report_json": json.dumps(report, sort_keys=True),
            "promise": promise_model(simulation_id, report),
            "partial_json": None,
            "progress": {"runs_done": config.runs, "runs": config.runs},
        },
        "simulation.done",
        {
            "status": "done",
            "runs": config.runs,
            "plans_validated": checks["plans_validated"],
            "invalid_plans": len(checks["invalid_plans"]),
            "treated_weight_mean": report["summary"]["policy"]["treated_weight"]["mean"],
        },
    )
    return "done" if written else ""


def _status(sessions: sessionmaker[Session], simulation_id: str) -> str | None:
    with sessions() as session:
        return session.scalar(select(Simulation.status).where(Simulation.id == simulation_id))


def _progress(sessions: sessionmaker[Session], simulation_id: str) -> int:
    with sessions() as session:
        progress = session.scalar(select(Simulation.progress).where(Simulation.id == simulation_id))
    return int((progress or {}).get("runs_done", 0))


def _finish(
    sessions: sessionmaker[Session],
    simulation_id: str,
    owner: str,
    values: dict[str, Any],
    action: str,
    after: dict[str, Any],
) -> bool:
    """Write the end if this owner still holds the simulation: exactly one end per simulation."""
    with sessions() as session, session.begin():
        before = session.scalar(
            select(Simulation.status).where(
                Simulation.id == simulation_id, Simulation.lease_owner == owner
            )
        )
        ended = session.execute(
            update(Simulation)
            .where(
                Simulation.id == simulation_id,
                Simulation.lease_owner == owner,
                Simulation.status.in_(RUNNING),
            )
            .values(finished_at=utc_now(), lease_expires=None, **values)
        )
        if rows_changed(ended) != 1:
            return False
        record(session, owner[:100], action, "simulation", simulation_id, {"status": before}, after)
        return True


def _step_aside(sessions: sessionmaker[Session], simulation_id: str, owner: str) -> bool:
    """Back to the queue, runs kept, lease released (audited): a queued plan goes first."""
    with sessions() as session, session.begin():
        moved = session.execute(
            update(Simulation)
            .where(
                Simulation.id == simulation_id,
                Simulation.lease_owner == owner,
                Simulation.status == "running",
            )
            .values(status="queued", lease_owner=None, lease_expires=None)
        )
        if rows_changed(moved) != 1:
            return False
        record(
            session,
            owner[:100],
            "simulation.requeued",
            "simulation",
            simulation_id,
            {"status": "running"},
            {"status": "queued"},
            reason="a plan was queued: simulations come after plans and re-plans",
        )
        return True


def mark_simulation_failed(
    sessions: sessionmaker[Session], simulation_id: str, owner: str, error: str
) -> bool:
    """End a simulation whose process died in a way no one will retry (audited)."""
    return _finish(
        sessions,
        simulation_id,
        owner,
        {"status": "failed", "error": error},
        "simulation.failed",
        {"status": "failed", "error": error},
    )


@shared_task(bind=True, name="cart_scheduler.simulate_plan", max_retries=None)
def simulate_plan(self: Task[[str], str], simulation_id: str) -> str:
    """Play one stored simulation if no one else is; the status it ended in, or why not."""
    database_url = self.app.conf.cart_database_url
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    owner = new_owner("celery")
    try:
        if not claim_simulation(sessions, simulation_id, owner):
            with sessions() as session:
                row = session.execute(
                    select(Simulation.status, Simulation.lease_expires).where(
                        Simulation.id == simulation_id
                    )
                ).first()
            if row is None:
                return "unknown simulation"
            if row.status not in RUNNING:
                return f"already {row.status}"
            # Held by another delivery (alive, or killed and not yet expired): look again then.
            recover_expired_simulations(sessions, owner)
            if not claim_simulation(sessions, simulation_id, owner):
                raise self.retry(countdown=LEASE_SECONDS)
    finally:
        engine.dispose()
    log.info("simulation %s: playing as %s", simulation_id, owner)
    status = run_simulation(database_url, simulation_id, owner)
    if status == "queued":
        # Stepped aside for a queued plan: sent again at LOW priority, behind that plan's message.
        self.app.send_task(
            "cart_scheduler.simulate_plan",
            args=[simulation_id],
            priority=LOW,
            ignore_result=True,
            delivery_mode=2,
        )
    return status
