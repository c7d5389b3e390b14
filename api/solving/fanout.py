"""Several solves at once on the Celery workers: the task `solve_scenario` and the group that sends them.

A plan's scenarios (and, next, its simulations) need no row in the database: the task takes
the instance document and a scenario, solves it with `scheduler.workflows.whatif` and
returns the schedule as `cart-schedule/1` JSON through the result backend (`rpc://`: the
answers come back over the broker to the caller's reply queue; nothing else to run).
`solve_on_workers` sends one task per scenario as a Celery group and waits for them all;
each worker process takes one at a time, so N workers solve N scenarios at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from celery import group, shared_task

from api.dispatch import DEFAULT_QUEUE, LOW, time_limits
from api.solving.engine import celery_app
from models import Schedule, load_schedule, to_json
from scheduler.workflows.whatif import FanOutOptions, solve_scenario

TASK = "cart_scheduler.solve_scenario"
# Beyond the slowest solve's hard limit: how long the caller waits for the whole group.
WAIT_MARGIN_SECONDS = 60.0


@shared_task(name=TASK, ignore_result=False, acks_late=True)
def solve_scenario_task(
    instance: dict[str, Any],
    scenario: dict[str, Any] | None,
    time_limit: float,
    workers: int = 1,
    seed: int = 0,
) -> str:
    """Solve the instance changed by the scenario (none: as it is); the schedule's JSON."""
    options = FanOutOptions(time_limit=time_limit, workers=workers, seed=seed)
    return to_json(solve_scenario(instance, scenario, options))


def solve_on_workers(
    broker_url: str,
    instance: dict[str, Any],
    scenarios: Sequence[dict[str, Any] | None],
    options: FanOutOptions,
    queue: str = DEFAULT_QUEUE,
    priority: int = LOW,
    timeout: float | None = None,
) -> list[Schedule]:
    """Solve every scenario of the instance on the workers of `queue`, all at once; schedules in order.

    Raises what a task raised (a scenario that does not fit, a solve that failed), or
    `celery.exceptions.TimeoutError` when the group is not done in `timeout` seconds
    (default: a solve's hard time limit, plus a margin, times the waves the workers need at worst).
    """
    if not scenarios:
        return []
    app = celery_app(broker_url, queue)
    soft, hard = time_limits(options.time_limit)
    signatures = [
        app.signature(
            TASK,
            args=(instance, scenario, options.time_limit, options.workers, options.seed),
            queue=queue,
            priority=priority,
            soft_time_limit=round(soft),
            time_limit=round(hard),
        )
        for scenario in scenarios
    ]
    wait = timeout if timeout is not None else len(scenarios) * hard + WAIT_MARGIN_SECONDS
    try:
        results = group(signatures).apply_async()
        texts = results.get(timeout=wait, propagate=True)
    finally:
        app.close()
    return [load_schedule(json.loads(text)) for text in texts]
