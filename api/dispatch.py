"""How a stored, queued plan reaches whatever solves plans, and in which order.

The plan service calls a `Dispatch` after storing a plan; `api.solving` provides the two
kinds (wake the embedded worker, send a Celery task). Kept apart from both so that the
services need nothing of the engines.
"""

from __future__ import annotations

import threading
from typing import Protocol

# RabbitMQ delivers the highest priority first among queued messages (x-max-priority).
URGENT, NORMAL, LOW = 9, 5, 1
MAX_PRIORITY = 10
DEFAULT_QUEUE = "cart-plans"


def priority_of(scenario: dict[str, object] | None) -> int:
    """Re-plans first (patients already in the plan are affected), then plans, then what-ifs."""
    if scenario and "replan" in scenario:
        return URGENT
    if scenario:
        return LOW
    return NORMAL


# Beyond the plan's own time limit (which the solver and `run_plan` enforce): Celery's soft
# limit raises inside the task, its hard limit kills the worker process.
SOFT_MARGIN_SECONDS = 60.0
HARD_MARGIN_SECONDS = 120.0


def time_limits(plan_time_limit: float) -> tuple[float, float]:
    """(soft, hard) Celery time limits of a plan's task."""
    return plan_time_limit + SOFT_MARGIN_SECONDS, plan_time_limit + HARD_MARGIN_SECONDS


class Dispatch(Protocol):
    """Sends a stored, queued plan to whatever solves plans."""

    def __call__(self, plan_id: str, priority: int, time_limit: float) -> None:
        """Hand the plan over; it is solved once, by whoever claims it first."""


class SimulationDispatch(Protocol):
    """Sends a stored, queued simulation to whatever plays simulations (LOW priority)."""

    def simulation(self, simulation_id: str) -> None:
        """Hand the simulation over; it is played once, by whoever claims it first."""


class WakeEmbedded:
    """Wakes this server's embedded worker, which claims queued plans from the database."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, plan_id: str, priority: int, time_limit: float) -> None:
        """Wake the worker (it takes the oldest queued plan first)."""
        self.event.set()

    def simulation(self, simulation_id: str) -> None:
        """Wake the worker (it takes queued plans first, then the oldest queued simulation)."""
        self.event.set()
