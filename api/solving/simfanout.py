"""Simulation runs fanned out over the Celery workers: the task `simulate_chunk` and its `RunMapper`.

A simulation's runs are independent: each depends only on the context (instance, schedule,
settings) and its run index (`scheduler.workflows.simulate.run_chunk`). `celery_mapper` cuts
the runs into chunks and sends one `cart_scheduler.simulate_chunk` task per chunk as a Celery
group; the results come back over the broker (`rpc://`) and are put back in run order, so the
report is the one local processes give for the same seed. Like scenarios, chunks need no row
in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import group, shared_task

from api.dispatch import DEFAULT_QUEUE, LOW
from scheduler.workflows.simulate import RunMapper, run_chunk

TASK = "cart_scheduler.simulate_chunk"
# A chunk's Celery limits: generous, since a replan run may re-solve on ~20 event days.
CHUNK_SOFT_SECONDS = 3_600
CHUNK_HARD_SECONDS = 3_900
WAIT_MARGIN_SECONDS = 60.0


@shared_task(name=TASK, ignore_result=False, acks_late=True)
def simulate_chunk_task(context_json: str, runs: list[int]) -> list[dict[str, Any]]:
    """Play these runs of the simulation context; one result per run, in order."""
    return run_chunk(context_json, runs)


def chunks_of(runs: Sequence[int], chunks: int) -> list[list[int]]:
    """The runs dealt round-robin into at most `chunks` non-empty lists (cheap and slow runs mix)."""
    count = max(1, min(len(runs), chunks))
    return [list(runs[i::count]) for i in range(count)]


def celery_mapper(
    broker_url: str,
    queue: str = DEFAULT_QUEUE,
    chunks: int = 8,
    priority: int = LOW,
    timeout: float | None = None,
) -> RunMapper:
    """A `RunMapper` that plays chunks of runs on the workers of `queue` as one Celery group.

    Raises what a chunk raised, or `celery.exceptions.TimeoutError` when the group is not back
    in `timeout` seconds (default: a chunk's hard limit per wave of chunks, plus a margin).
    """
    from api.solving.engine import celery_app  # the app imports this module's task

    def mapper(context_json: str, runs: Sequence[int]) -> list[dict[str, Any]]:
        parts = chunks_of(list(runs), chunks)
        if not runs:
            return []
        app = celery_app(broker_url, queue)
        signatures = [
            app.signature(
                TASK,
                args=(context_json, part),
                queue=queue,
                priority=priority,
                soft_time_limit=CHUNK_SOFT_SECONDS,
                time_limit=CHUNK_HARD_SECONDS,
            )
            for part in parts
        ]
        wait = timeout if timeout is not None else len(parts) * CHUNK_HARD_SECONDS
        try:
            results = group(signatures).apply_async()
            answers: list[list[dict[str, Any]]] = results.get(
                timeout=wait + WAIT_MARGIN_SECONDS, propagate=True
            )
        finally:
            app.close()
        return sorted((r for answer in answers for r in answer), key=lambda r: int(r["run"]))

    return mapper
