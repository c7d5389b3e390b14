"""Plan solves off the request path: a worker thread runs each queued plan in a child process.

A child process keeps the solver's CPU and memory away from the request handlers, and a
cancel really stops it: the child watches its plan's row and stops the CP-SAT search (keeping
the best schedule so far) as soon as the status turns `cancelling`.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from api.db import AuditEntry, Plan, create_db_engine, session_factory, utc_now
from models import Schedule, load_instance, load_schedule, to_json
from models.events import load_events
from scheduler.search.outcome import Progress, SolveOptions
from scheduler.workflows.replan import replan_with_instance
from scheduler.workflows.solve import solve

log = logging.getLogger("cart_scheduler.jobs")
PROGRESS_EVERY_SECONDS = 0.5
CANCEL_POLL_SECONDS = 0.2


def recover_interrupted(database_url: str) -> None:
    """After a restart: solves that were running start again; cancels in flight are done."""
    engine = create_db_engine(database_url)
    with session_factory(engine)() as session, session.begin():
        session.execute(
            update(Plan)
            .where(Plan.status == "solving")
            .values(status="queued", started_at=None, progress=None)
        )
        session.execute(
            update(Plan)
            .where(Plan.status == "cancelling")
            .values(status="cancelled", finished_at=utc_now())
        )
    engine.dispose()


class SolveWorker:
    """Takes queued plans one at a time (oldest first) and solves each in a child process."""

    def __init__(self, database_url: str, wake: threading.Event, solver_workers: int = 2) -> None:
        self.database_url = database_url
        self.wake = wake
        self.solver_workers = solver_workers
        self.engine = create_db_engine(database_url)
        self.sessions = session_factory(self.engine)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="solve-worker", daemon=True)

    def start(self) -> None:
        """Start taking plans."""
        self._thread.start()

    def stop(self) -> None:
        """Stop: a running child is terminated, its plan is re-queued at the next start."""
        self._stopping.set()
        self.wake.set()
        self._thread.join(timeout=10)
        self.engine.dispose()

    def _claim(self) -> str | None:
        with self.sessions() as session, session.begin():
            for plan_id in session.scalars(
                select(Plan.id).where(Plan.status == "queued").order_by(Plan.created_at).limit(5)
            ):
                claimed = session.execute(
                    update(Plan)
                    .where(Plan.id == plan_id, Plan.status == "queued")
                    .values(status="solving", started_at=utc_now())
                )
                if claimed.rowcount == 1:
                    return str(plan_id)
        return None

    def _loop(self) -> None:
        context = multiprocessing.get_context("spawn")
        while not self._stopping.is_set():
            try:
                plan_id = self._claim()
            except Exception:  # the database may be briefly unavailable; try again
                log.exception("could not claim a plan")
                plan_id = None
            if plan_id is None:
                self.wake.wait(1.0)
                self.wake.clear()
                continue
            child = context.Process(
                target=run_plan,
                args=(self.database_url, plan_id, self.solver_workers),
                name=f"solve-{plan_id}",
                daemon=True,
            )
            child.start()
            while child.is_alive():
                child.join(0.2)
                if self._stopping.is_set():
                    child.terminate()
                    child.join(5)
                    return
            if child.exitcode != 0:
                self._mark_failed(
                    plan_id, f"the solver process ended with exit code {child.exitcode}"
                )

    def _mark_failed(self, plan_id: str, error: str) -> None:
        with self.sessions() as session, session.begin():
            plan = session.get(Plan, plan_id)
            if plan is not None and plan.status in ("solving", "cancelling"):
                plan.status, plan.error, plan.finished_at = "failed", error, utc_now()
                session.add(
                    AuditEntry(
                        at=utc_now(),
                        actor="solver",
                        action="plan.failed",
                        entity="plan",
                        entity_id=plan_id,
                        before=None,
                        after={"error": error},
                    )
                )


def run_plan(database_url: str, plan_id: str, solver_workers: int = 2) -> None:
    """Solve one claimed plan (in a child process), reporting progress and storing the schedule."""
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    with sessions() as session:
        plan = session.get(Plan, plan_id)
        assert plan is not None
        instance_json, time_limit = plan.instance_json, plan.time_limit
        replan_of = (plan.scenario or {}).get("replan")
        stored_parent = session.get(Plan, plan.parent_id) if plan.parent_id else None
        parent_plan = (
            None
            if stored_parent is None
            else Plan(
                instance_json=stored_parent.instance_json, schedule_json=stored_parent.schedule_json
            )
        )
    stop = threading.Event()
    finished = threading.Event()

    parent = os.getppid()

    def watch_for_cancel() -> None:
        while not finished.wait(CANCEL_POLL_SECONDS):
            if os.getppid() != parent:
                # The server died (killed): write nothing; it re-queues this plan when it starts again.
                os._exit(0)
            with sessions() as session:
                if session.scalar(select(Plan.status).where(Plan.id == plan_id)) == "cancelling":
                    stop.set()
                    return

    last_report = [0.0]

    def report(progress: Progress) -> None:
        now = time.monotonic()
        if now - last_report[0] < PROGRESS_EVERY_SECONDS:
            return
        last_report[0] = now
        with sessions() as session, session.begin():
            session.execute(
                update(Plan).where(Plan.id == plan_id).values(progress=_progress(progress))
            )

    watcher = threading.Thread(target=watch_for_cancel, daemon=True)
    watcher.start()
    options = SolveOptions(
        time_limit=time_limit, workers=solver_workers, on_progress=report, stop_event=stop
    )
    try:
        if replan_of is not None and parent_plan is not None:
            schedule = _replan(parent_plan, replan_of, options)
        else:
            schedule = solve(load_instance(json.loads(instance_json)), options)
    except Exception as error:
        finished.set()
        with sessions() as session, session.begin():
            session.execute(
                update(Plan)
                .where(Plan.id == plan_id)
                .values(
                    status="failed", error=f"{type(error).__name__}: {error}", finished_at=utc_now()
                )
            )
            session.add(
                AuditEntry(
                    at=utc_now(),
                    actor="solver",
                    action="plan.failed",
                    entity="plan",
                    entity_id=plan_id,
                    before=None,
                    after={"error": str(error)},
                )
            )
        raise
    finished.set()
    status = "cancelled" if stop.is_set() else "done"
    summary = {
        "status": schedule.status,
        "objective": _plain(schedule.objective),
        "bound": _plain(schedule.bound),
        "solve_seconds": schedule.solve_seconds,
    }
    with sessions() as session, session.begin():
        session.execute(
            update(Plan)
            .where(Plan.id == plan_id)
            .values(
                status=status,
                schedule_json=to_json(schedule),
                finished_at=utc_now(),
                progress={
                    "level": None,
                    "objective": summary["objective"],
                    "bound": summary["bound"],
                    "elapsed_seconds": schedule.solve_seconds,
                },
            )
        )
        session.add(
            AuditEntry(
                at=utc_now(),
                actor="solver",
                action="plan.solved" if status == "done" else "plan.stopped",
                entity="plan",
                entity_id=plan_id,
                before=None,
                after=summary,
            )
        )
    engine.dispose()


def _replan(parent: Plan, replan_of: dict[str, Any], options: SolveOptions) -> Schedule:
    """Solve a re-plan from its parent's schedule (warm start) and attach the diff to the schedule."""
    instance = load_instance(json.loads(parent.instance_json))
    previous = load_schedule(json.loads(parent.schedule_json or "{}"))
    events = load_events(replan_of["events"], instance)
    outcome = replan_with_instance(
        instance, previous, events, options, datetime.fromisoformat(replan_of["as_of"])
    )
    schedule = outcome.schedule
    schedule.diff = outcome.diff.to_dict()  # type: ignore[attr-defined]  # an optional extra of the schedule
    return schedule


def _plain(values: Any) -> dict[str, Any] | None:
    if values is None:
        return None
    data: dict[str, Any] = values.model_dump()
    return data


def _progress(progress: Progress) -> dict[str, Any]:
    return {
        "level": progress.level,
        "objective": progress.objective,
        "bound": progress.bound,
        "elapsed_seconds": round(progress.elapsed, 3),
    }
