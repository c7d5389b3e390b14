"""The Celery task: claim a plan, solve it with `run_plan`, write the result once.

Delivered twice (a worker killed after taking the message, a retry) it is still solved once:
the claim is a lease in the plan's row, and only its holder writes. A delivery that finds the
plan held by a live lease looks again once that lease could have expired, so a killed
holder's plan is taken over by whichever worker gets the message back.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.exceptions import TimeLimitExceeded
from sqlalchemy import update

from api.db import Plan, create_db_engine, session_factory, utc_now
from api.services.audit import record
from api.solving.leases import (
    LEASE_SECONDS,
    RUNNING,
    claim,
    holder,
    new_owner,
    recover_expired,
    rows_changed,
)
from api.solving.run import run_plan

log = logging.getLogger("cart_scheduler.solving")


class SolveTask(Task[[str], str]):
    """Marks the plan failed when Celery's hard time limit killed its process."""

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """Called in the worker after the task failed; only the hard limit needs us here."""
        if not isinstance(exc, TimeLimitExceeded):
            return
        engine = create_db_engine(self.app.conf.cart_database_url)
        sessions = session_factory(engine)
        with sessions() as session, session.begin():
            ended = session.execute(
                update(Plan)
                .where(Plan.id == args[0], Plan.status.in_(RUNNING))
                .values(
                    status="failed",
                    error="the solve passed its hard time limit and was stopped",
                    finished_at=utc_now(),
                    lease_expires=None,
                )
            )
            if rows_changed(ended) == 1:
                record(
                    session,
                    "celery",
                    "plan.failed",
                    "plan",
                    args[0],
                    {"status": "solving"},
                    {"status": "failed", "error": "hard time limit"},
                )
        engine.dispose()


@shared_task(bind=True, base=SolveTask, name="cart_scheduler.solve_plan", max_retries=None)
def solve_plan(self: SolveTask, plan_id: str) -> str:
    """Solve one plan if no one else is; the status it ended in, or why nothing was done."""
    database_url = self.app.conf.cart_database_url
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    owner = new_owner("celery")
    try:
        taken = claim(sessions, plan_id, owner)
        if not taken:
            state = holder(sessions, plan_id)
            if state is None:
                return "unknown plan"
            status, live = state
            if status not in RUNNING:
                return f"already {status}"
            if live:
                # Held by another delivery: alive, or killed and not yet expired. Look again then.
                raise self.retry(countdown=LEASE_SECONDS)
            recover_expired(sessions, owner)
            if not claim(sessions, plan_id, owner):
                raise self.retry(countdown=1)
    finally:
        engine.dispose()
    log.info("plan %s: solving as %s", plan_id, owner)
    return run_plan(database_url, plan_id, owner, solver_workers=self.app.conf.cart_solver_workers)
