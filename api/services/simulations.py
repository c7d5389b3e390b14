"""Coordinators' simulations of a solved plan: request (checked, audited, queued LOW), watch, read, cancel.

A simulation is played off the request path like a plan (`api.solving.simrun`): by the
embedded worker after any queued plan, or by a Celery worker at LOW priority. When it ends,
the few numbers availability's promises need are stored beside the report
(`api.services.promises`); `PromiseCache` keeps the published plan's latest ones in memory.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select

from api.db import Plan, Simulation, utc_now
from api.dispatch import SimulationDispatch, WakeEmbedded
from api.errors import Conflict, NotFound, Unprocessable
from api.schemas import SimulationIn, SimulationOut
from api.services.audit import record
from api.store import Store
from models import Problem
from scheduler.workflows.simulate import Rates, SimulationConfig

log = logging.getLogger("cart_scheduler.api")
FINISHED = ("done", "failed", "cancelled")
# How long a process trusts the promise model it holds before asking the database again.
PROMISE_TTL_SECONDS = 5.0


class SimulationService:
    """Simulations of solved plans and their run jobs."""

    def __init__(
        self,
        store: Store,
        max_runs: int = 500,
        dispatch: SimulationDispatch | None = None,
        max_active: int = 10,
    ) -> None:
        self.store = store
        self.max_runs = max_runs
        self.max_active = max_active
        self.dispatch = dispatch or WakeEmbedded()

    def submit(self, actor: str, plan_id: str, request: SimulationIn) -> SimulationOut:
        """Check the request and the plan, store the simulation queued, audit it, dispatch it."""
        if request.runs > self.max_runs:
            raise Unprocessable(
                "too many runs",
                [Problem("body.runs", f"at most {self.max_runs} runs per simulation")],
            )
        config = SimulationConfig(
            runs=request.runs,
            seed=request.seed,
            policy=request.policy,
            rates=Rates(**request.rates.model_dump()),
            time_limit=request.time_limit,
            references=("do_nothing", "clairvoyant") if request.clairvoyant else ("do_nothing",),
        )
        simulation = Simulation(
            id=uuid.uuid4().hex,
            plan_id=plan_id,
            status="queued",
            runs=request.runs,
            seed=request.seed,
            policy=request.policy,
            config=config.to_dict(),
            created_by=actor,
            created_at=utc_now(),
        )
        with self.store.transaction() as session:
            plan = session.get(Plan, plan_id)
            if plan is None:
                raise NotFound(f"no plan {plan_id!r}")
            if plan.schedule_json is None:
                raise Conflict(
                    f"plan {plan_id} has no schedule to simulate yet (status {plan.status})",
                    extra={"status": plan.status},
                )
            if json.loads(plan.schedule_json).get("status") not in ("OPTIMAL", "FEASIBLE"):
                raise Conflict(f"plan {plan_id} has no plan to simulate (no schedule found)")
            # Each simulation may hold a worker for long: the queue of them is bounded too (a soft
            # bound: two requests in the same instant may both pass the count).
            active = session.scalar(
                select(func.count())
                .select_from(Simulation)
                .where(Simulation.status.in_(("queued", "running", "cancelling")))
            )
            if (active or 0) >= self.max_active:
                raise Conflict(
                    f"{active} simulations are queued or running (at most {self.max_active}):"
                    " wait for one to end or cancel one",
                    extra={"active": active},
                )
            session.add(simulation)
            record(
                session,
                actor,
                "simulation.requested",
                "simulation",
                simulation.id,
                None,
                {"plan_id": plan_id, **asdict_config(config)},
            )
        try:
            self.dispatch.simulation(simulation.id)
        except Exception:  # the broker is down: stored queued, sent again by the sweeper
            log.exception("simulation %s is stored but could not be sent yet", simulation.id)
        return self.status(simulation.id)

    def status(self, simulation_id: str, with_report: bool = True) -> SimulationOut:
        """Status and progress; the report when done."""
        with self.store.sessions() as session:
            simulation = session.get(Simulation, simulation_id)
            if simulation is None:
                raise NotFound(f"no simulation {simulation_id!r}")
            return _summary(simulation, with_report)

    def of_plan(self, plan_id: str, limit: int) -> list[SimulationOut]:
        """A plan's simulations, newest first, without their reports."""
        with self.store.sessions() as session:
            if session.get(Plan, plan_id) is None:
                raise NotFound(f"no plan {plan_id!r}")
            rows = session.scalars(
                select(Simulation)
                .where(Simulation.plan_id == plan_id)
                .order_by(Simulation.created_at.desc())
                .limit(limit)
            ).all()
            return [_summary(row, False) for row in rows]

    def report(self, simulation_id: str) -> dict[str, Any]:
        """The finished report (404 unknown, 409 not done)."""
        with self.store.sessions() as session:
            simulation = session.get(Simulation, simulation_id)
            if simulation is None:
                raise NotFound(f"no simulation {simulation_id!r}")
            if simulation.report_json is None:
                raise Conflict(
                    f"simulation {simulation_id} has no report (status {simulation.status})",
                    extra={"status": simulation.status},
                )
            report: dict[str, Any] = json.loads(simulation.report_json)
            return report

    def cancel(self, actor: str, simulation_id: str) -> SimulationOut:
        """Stop a queued or running simulation (a running one stops between two chunks of runs)."""
        with self.store.transaction() as session:
            simulation = session.get(Simulation, simulation_id, with_for_update=True)
            if simulation is None:
                raise NotFound(f"no simulation {simulation_id!r}")
            if simulation.status in FINISHED or simulation.status == "cancelling":
                raise Conflict(
                    f"simulation {simulation_id} is already {simulation.status}",
                    extra={"status": simulation.status},
                )
            before = simulation.status
            simulation.status = "cancelled" if before == "queued" else "cancelling"
            if simulation.status == "cancelled":
                simulation.finished_at = utc_now()
            record(
                session,
                actor,
                "simulation.cancelled",
                "simulation",
                simulation_id,
                {"status": before},
                {"status": simulation.status},
            )
        return self.status(simulation_id, with_report=False)


def asdict_config(config: SimulationConfig) -> dict[str, Any]:
    """What the audit entry of a request records: runs, seed, policy, rates, references."""
    return {
        "runs": config.runs,
        "seed": config.seed,
        "policy": config.policy,
        "rates": asdict(config.rates),
        "references": list(config.references),
    }


def _summary(simulation: Simulation, with_report: bool) -> SimulationOut:
    report = None
    if with_report and simulation.report_json is not None:
        report = json.loads(simulation.report_json)
    return SimulationOut(
        id=simulation.id,
        plan_id=simulation.plan_id,
        status=simulation.status,
        runs=simulation.runs,
        seed=simulation.seed,
        policy=simulation.policy,
        config=simulation.config,
        progress=simulation.progress,
        created_by=simulation.created_by,
        created_at=simulation.created_at.isoformat(),
        started_at=None if simulation.started_at is None else simulation.started_at.isoformat(),
        finished_at=None if simulation.finished_at is None else simulation.finished_at.isoformat(),
        error=simulation.error,
        report=report,
    )


class PromiseCache:
    """The promise model of a plan's latest finished simulation, held for a few seconds per process.

    Availability asks it on every request: within `PROMISE_TTL_SECONDS` the answer comes from
    memory; after that one indexed query reads the small stored model (never the report).
    """

    def __init__(self, store: Store, ttl: float = PROMISE_TTL_SECONDS) -> None:
        self.store = store
        self.ttl = ttl
        self._held: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def model(self, plan_id: str) -> dict[str, Any] | None:
        """The promise model of the plan's newest finished simulation, or None."""
        now = time.monotonic()
        with self._lock:
            held = self._held.get(plan_id)
        if held is not None and now - held[0] < self.ttl:
            return held[1]
        with self.store.sessions() as session:
            promise: dict[str, Any] | None = session.scalar(
                select(Simulation.promise)
                .where(Simulation.plan_id == plan_id, Simulation.status == "done")
                .order_by(Simulation.finished_at.desc())
                .limit(1)
            )
        with self._lock:
            if len(self._held) > 100:  # plans published long ago
                self._held.clear()
            self._held[plan_id] = (now, promise)
        return promise
