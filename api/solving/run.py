"""The one solve function of the service: a claimed plan solved, watched, and its result written once.

Both engines call `run_plan`: the embedded worker in a child process of the API server, a
Celery worker in its pool process. While the solver runs, a watcher thread renews the plan's
lease, reports progress to the plan's row (so every API server sees it) and stops the search,
keeping its best schedule, as soon as the row says `cancelling` or the time is up. The result
is written only while this attempt still holds the lease: a plan ends `done` exactly once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db import Plan, create_db_engine, session_factory, utc_now
from api.services.audit import record
from api.solving.leases import HEARTBEAT_SECONDS, RUNNING, heartbeat, rows_changed
from models import Schedule, load_instance, load_schedule, to_json
from models.events import load_events
from scheduler.search.outcome import Progress, SolveOptions
from scheduler.workflows.replan import replan_with_instance
from scheduler.workflows.solve import solve

log = logging.getLogger("cart_scheduler.solving")
PROGRESS_EVERY_SECONDS = 0.5
CANCEL_POLL_SECONDS = 0.2
# The solver stops itself at the plan's time limit; the watcher stops it this much later at most.
STOP_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class PlanInputs:
    """What a solve needs from the plan's row (and its parent's, for a re-plan)."""

    instance_json: str
    time_limit: float
    replan_of: dict[str, Any] | None
    parent_instance_json: str | None
    parent_schedule_json: str | None


def _inputs(sessions: sessionmaker[Session], plan_id: str) -> PlanInputs:
    with sessions() as session:
        plan = session.get(Plan, plan_id)
        assert plan is not None
        parent = session.get(Plan, plan.parent_id) if plan.parent_id else None
        return PlanInputs(
            instance_json=plan.instance_json,
            time_limit=plan.time_limit,
            replan_of=(plan.scenario or {}).get("replan"),
            parent_instance_json=None if parent is None else parent.instance_json,
            parent_schedule_json=None if parent is None else parent.schedule_json,
        )


def run_plan(
    database_url: str,
    plan_id: str,
    owner: str,
    solver_workers: int = 2,
    still_wanted: Callable[[], bool] = lambda: True,
) -> str:
    """Solve one plan this `owner` has claimed; the status it ends in ("" when the lease was lost).

    `still_wanted` is asked between polls: the embedded worker's child answers False when the
    API server that started it died, and then nothing is written (the lease expires and
    another process takes the plan over).
    """
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    try:
        return _run(sessions, plan_id, owner, solver_workers, still_wanted)
    finally:
        engine.dispose()


def _run(
    sessions: sessionmaker[Session],
    plan_id: str,
    owner: str,
    solver_workers: int,
    still_wanted: Callable[[], bool],
) -> str:
    if not still_wanted():
        return ""  # started by a server that is already gone: leave the plan to its lease
    inputs = _inputs(sessions, plan_id)
    stop = threading.Event()
    finished = threading.Event()
    lost = threading.Event()
    deadline = time.monotonic() + inputs.time_limit + STOP_GRACE_SECONDS

    def watch() -> None:
        last_beat = time.monotonic()
        while not finished.wait(CANCEL_POLL_SECONDS):
            if not still_wanted():
                os._exit(0)  # the server that started us is gone: write nothing
            if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                last_beat = time.monotonic()
                if not heartbeat(sessions, plan_id, owner):
                    lost.set()
                    stop.set()
                    return
            if time.monotonic() > deadline:
                stop.set()  # the time limit, enforced by the worker even if the solver overran it
            with sessions() as session:
                if session.scalar(select(Plan.status).where(Plan.id == plan_id)) == "cancelling":
                    stop.set()

    last_report = [0.0]

    def report(progress: Progress) -> None:
        now = time.monotonic()
        if now - last_report[0] < PROGRESS_EVERY_SECONDS:
            return
        last_report[0] = now
        with sessions() as session, session.begin():
            session.execute(
                update(Plan)
                .where(Plan.id == plan_id, Plan.lease_owner == owner)
                .values(progress=_progress(progress))
            )

    watcher = threading.Thread(target=watch, daemon=True, name=f"watch-{plan_id}")
    watcher.start()
    options = SolveOptions(
        time_limit=inputs.time_limit, workers=solver_workers, on_progress=report, stop_event=stop
    )
    try:
        if inputs.replan_of is not None and inputs.parent_instance_json is not None:
            schedule = _replan(inputs, options)
        else:
            schedule = solve(load_instance(json.loads(inputs.instance_json)), options)
    except Exception as error:
        finished.set()
        _finish(
            sessions,
            plan_id,
            owner,
            {"status": "failed", "error": f"{type(error).__name__}: {error}"},
            "plan.failed",
            {"status": "failed", "error": str(error)},
        )
        raise
    finished.set()
    if not still_wanted():
        return ""  # the server that started us died meanwhile: write nothing
    if lost.is_set():
        log.warning("plan %s: lease lost to another process; its result is not written", plan_id)
        return ""
    cancelled = _status(sessions, plan_id) == "cancelling"
    status = "cancelled" if cancelled else "done"
    summary = {
        "status": schedule.status,
        "objective": _plain(schedule.objective),
        "bound": _plain(schedule.bound),
        "solve_seconds": schedule.solve_seconds,
    }
    written = _finish(
        sessions,
        plan_id,
        owner,
        {
            "status": status,
            "schedule_json": to_json(schedule),
            "progress": {
                "level": None,
                "objective": summary["objective"],
                "bound": summary["bound"],
                "elapsed_seconds": schedule.solve_seconds,
            },
        },
        "plan.solved" if status == "done" else "plan.stopped",
        {"status": status, **summary},
    )
    return status if written else ""


def _status(sessions: sessionmaker[Session], plan_id: str) -> str | None:
    with sessions() as session:
        return session.scalar(select(Plan.status).where(Plan.id == plan_id))


def _finish(
    sessions: sessionmaker[Session],
    plan_id: str,
    owner: str,
    values: dict[str, Any],
    action: str,
    after: dict[str, Any],
) -> bool:
    """Write the end of the solve if this owner still holds the plan: exactly one end per plan."""
    with sessions() as session, session.begin():
        before = session.scalar(
            select(Plan.status).where(Plan.id == plan_id, Plan.lease_owner == owner)
        )
        ended = session.execute(
            update(Plan)
            .where(Plan.id == plan_id, Plan.lease_owner == owner, Plan.status.in_(RUNNING))
            .values(finished_at=utc_now(), lease_expires=None, **values)
        )
        if rows_changed(ended) != 1:
            return False
        record(session, owner[:100], action, "plan", plan_id, {"status": before}, after)
        return True


def mark_failed(sessions: sessionmaker[Session], plan_id: str, owner: str, error: str) -> bool:
    """End a plan whose solving process died in a way no one else will retry (audited)."""
    return _finish(
        sessions,
        plan_id,
        owner,
        {"status": "failed", "error": error},
        "plan.failed",
        {"status": "failed", "error": error},
    )


def _replan(inputs: PlanInputs, options: SolveOptions) -> Schedule:
    """Solve a re-plan from its parent's schedule (warm start) and attach the diff to the schedule."""
    assert inputs.replan_of is not None and inputs.parent_instance_json is not None
    instance = load_instance(json.loads(inputs.parent_instance_json))
    previous = load_schedule(json.loads(inputs.parent_schedule_json or "{}"))
    events = load_events(inputs.replan_of["events"], instance)
    outcome = replan_with_instance(
        instance, previous, events, options, datetime.fromisoformat(inputs.replan_of["as_of"])
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
