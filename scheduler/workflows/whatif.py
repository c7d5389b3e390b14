"""What if, several at once: a plan and its scenarios solved side by side, in parallel.

Each scenario is an ordinary instance (`models.scenarios.apply_scenario`), solved by the one
`solve`. `solve_in_processes` solves several in local processes (the 'spawn' context, one
process per instance up to the machine's cores, each solve with `workers` CP-SAT threads);
the service's Celery task `cart_scheduler.solve_scenario` (`api.solving.fanout`) calls
`solve_scenario` on the workers. With `workers=1` and a fixed seed a solve does not depend on
where it runs: the objectives are those of solving the scenarios one by one.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from models import Instance, Schedule, load_instance, load_schedule, to_json
from models.scenarios import Scenario, apply_scenario, parse_scenario
from scheduler.search.outcome import SolveOptions
from scheduler.workflows.solve import solve


@dataclass(frozen=True)
class FanOutOptions:
    """How each of the parallel solves searches (what `SolveOptions` holds that crosses processes)."""

    time_limit: float = 60.0
    workers: int = 1
    seed: int = 0

    def solve_options(self) -> SolveOptions:
        """The solver's options of one solve."""
        return SolveOptions(time_limit=self.time_limit, workers=self.workers, seed=self.seed)


def scenario_document(
    document: dict[str, Any], scenario: Scenario | dict[str, Any] | None
) -> dict[str, Any]:
    """The instance document with the scenario's changes (the document itself without one)."""
    if scenario is None:
        return document
    parsed = scenario if isinstance(scenario, Scenario) else parse_scenario(scenario)
    return apply_scenario(document, parsed)


def solve_scenario(
    document: dict[str, Any],
    scenario: Scenario | dict[str, Any] | None,
    options: FanOutOptions,
) -> Schedule:
    """Solve the instance document changed by the scenario (ScenarioError when it does not fit)."""
    return solve(load_instance(scenario_document(document, scenario)), options.solve_options())


def _solve_text(instance_json: str, options: FanOutOptions) -> str:
    """The child process's work: an instance as JSON text in, its schedule as JSON text out."""
    schedule = solve(load_instance(json.loads(instance_json)), options.solve_options())
    return to_json(schedule)


def processes_for(count: int) -> int:
    """One process per instance, at most one per core."""
    return max(1, min(count, os.cpu_count() or 1))


def solve_in_processes(
    instances: Sequence[Instance], options: FanOutOptions, processes: int | None = None
) -> list[Schedule]:
    """Solve every instance in its own local process (at most `processes` at once); schedules in order."""
    if not instances:
        return []
    texts = [to_json(instance) for instance in instances]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=processes or processes_for(len(texts)), mp_context=context
    ) as pool:
        futures = [pool.submit(_solve_text, text, options) for text in texts]
        return [load_schedule(json.loads(future.result())) for future in futures]
