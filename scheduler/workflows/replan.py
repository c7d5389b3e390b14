"""Re-planning under disruption: apply events to a plan's instance and solve again.

`apply_events` (apply_events.py) makes the new instance; `replan` solves it with the previous
plan as warm start (warm_start.py) and reports the differences (plan_diff.py). The readings are
in docs/READINGS.md, "Re-planning".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from models import Instance, Schedule
from models.events import Events
from scheduler.search.outcome import SolveOptions
from scheduler.workflows.apply_events import ReplanError, apply_events, resolve_as_of
from scheduler.workflows.plan_diff import Diff, diff_schedules
from scheduler.workflows.solve import solve
from scheduler.workflows.warm_start import previous_plan_first

# Re-exported: callers of the re-plan also apply and date events on their own.
__all__ = [
    "ReplanError",
    "Replanned",
    "apply_events",
    "replan",
    "replan_with_instance",
    "resolve_as_of",
]


@dataclass
class Replanned:
    """The outcome of a re-plan: the new instance, its schedule and what changed."""

    instance: Instance
    schedule: Schedule
    diff: Diff


def replan_with_instance(
    instance: Instance,
    previous: Schedule,
    events: Events,
    options: SolveOptions | None = None,
    as_of: datetime | None = None,
) -> Replanned:
    """Apply the events and solve the new instance from the previous plan (warm start)."""
    moment = resolve_as_of(instance, events, as_of)
    new_instance = apply_events(instance, previous, events, moment)
    options = replace(options or SolveOptions(), start_batches=previous_plan_first(previous))
    schedule = solve(new_instance, options)
    diff = diff_schedules(instance, previous, new_instance, schedule, events, moment)
    return Replanned(new_instance, schedule, diff)


def replan(
    instance: Instance,
    previous: Schedule,
    events: Events,
    options: SolveOptions | None = None,
    as_of: datetime | None = None,
) -> tuple[Schedule, Diff]:
    """The new schedule (for `apply_events(...)`'s instance, see `Diff.instance_to`) and the diff."""
    outcome = replan_with_instance(instance, previous, events, options, as_of)
    return outcome.schedule, outcome.diff
