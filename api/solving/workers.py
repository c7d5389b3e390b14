"""What an API server runs beside its requests: the embedded solve worker, or the lease sweeper.

Without a broker, `EmbeddedWorker` claims queued plans from the database one at a time and
solves each in a child process: the solver's CPU and memory stay away from the request
handlers, and a cancel or a stop really ends it. When no plan is queued it plays queued
simulations the same way. With a broker, Celery workers solve and the server runs only
`LeaseSweeper`, which sends again the plans and simulations whose process died.
Either way, plans whose lease expired are recovered by whichever server looks first; a live
lease (another server's or worker's running solve) is never touched.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time

from sqlalchemy import select

from api.db import Plan, create_db_engine, session_factory
from api.dispatch import NORMAL
from api.solving.engine import SendToCelery
from api.solving.leases import LEASE_SECONDS, claim, new_owner, recover_expired
from api.solving.run import mark_failed, run_plan
from api.solving.simrun import (
    mark_simulation_failed,
    next_queued,
    recover_expired_simulations,
    run_simulation,
)

log = logging.getLogger("cart_scheduler.solving")
SWEEP_EVERY_SECONDS = LEASE_SECONDS / 2


def _solve_in_child(
    database_url: str, plan_id: str, owner: str, solver_workers: int, server: int
) -> None:
    """The child process: solve, and write nothing if the server (pid `server`) that started it dies."""
    run_plan(database_url, plan_id, owner, solver_workers, lambda: os.getppid() == server)


def _simulate_in_child(database_url: str, simulation_id: str, owner: str, server: int) -> None:
    """The child process of a simulation: writes nothing if the server that started it dies."""
    run_simulation(database_url, simulation_id, owner, lambda: os.getppid() == server)


class EmbeddedWorker:
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
        """Stop: a running child is terminated; its lease expires and the plan is taken over."""
        self._stopping.set()
        self.wake.set()
        self._thread.join(timeout=10)
        self.engine.dispose()

    def _claim(self) -> tuple[str, str, str] | None:
        """(kind, id, owner) of the job claimed: queued plans first, then simulations (LOW)."""
        with self.sessions() as session:
            queued = session.scalars(
                select(Plan.id).where(Plan.status == "queued").order_by(Plan.created_at).limit(5)
            ).all()
        for plan_id in queued:
            owner = new_owner("server")
            if claim(self.sessions, plan_id, owner):
                return "plan", str(plan_id), owner
        simulation = next_queued(self.sessions, "server")
        return None if simulation is None else ("simulation", *simulation)

    def _loop(self) -> None:
        context = multiprocessing.get_context("spawn")
        swept = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() - swept >= SWEEP_EVERY_SECONDS:
                    swept = time.monotonic()
                    recover_expired(self.sessions, "server")
                    recover_expired_simulations(self.sessions, "server")
                claimed = self._claim()
            except Exception:  # the database may be briefly unavailable; try again
                log.exception("could not claim a plan")
                claimed = None
            if claimed is None:
                self.wake.wait(1.0)
                self.wake.clear()
                continue
            kind, job_id, owner = claimed
            # The server's pid from here: the child may start after the server died.
            child = (
                context.Process(
                    target=_solve_in_child,
                    args=(self.database_url, job_id, owner, self.solver_workers, os.getpid()),
                    name=f"solve-{job_id}",
                    daemon=True,
                )
                if kind == "plan"
                else context.Process(
                    target=_simulate_in_child,
                    args=(self.database_url, job_id, owner, os.getpid()),
                    name=f"simulate-{job_id}",
                    daemon=True,
                )
            )
            child.start()
            while child.is_alive():
                child.join(0.2)
                if self._stopping.is_set():
                    child.terminate()
                    child.join(5)
                    return
            if child.exitcode != 0:
                ended = mark_failed if kind == "plan" else mark_simulation_failed
                ended(
                    self.sessions,
                    job_id,
                    owner,
                    f"the {kind} process ended with exit code {child.exitcode}",
                )


class LeaseSweeper:
    """With Celery workers: plans whose worker died, or that the broker could not take, are sent again."""

    def __init__(self, database_url: str, dispatch: SendToCelery) -> None:
        self.engine = create_db_engine(database_url)
        self.sessions = session_factory(self.engine)
        self.dispatch = dispatch
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lease-sweeper", daemon=True)

    def start(self) -> None:
        """Start sweeping."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sweeping."""
        self._stopping.set()
        self._thread.join(timeout=10)
        self.engine.dispose()

    def _loop(self) -> None:
        while not self._stopping.wait(SWEEP_EVERY_SECONDS):
            try:
                self.dispatch.resend_undelivered()
                for plan_id in recover_expired(self.sessions, "server"):
                    with self.sessions() as session:
                        time_limit = session.scalar(
                            select(Plan.time_limit).where(Plan.id == plan_id)
                        )
                    self.dispatch(plan_id, NORMAL, float(time_limit or 60))
                for simulation_id in recover_expired_simulations(self.sessions, "server"):
                    self.dispatch.simulation(simulation_id)
            except Exception:  # the database or the broker may be briefly unavailable
                log.exception("could not sweep expired leases")
