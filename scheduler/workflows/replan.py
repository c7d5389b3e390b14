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
from scheduler.workflows.plan_diff import Diff, diff_schedules, patients_with_own_events
from scheduler.workflows.solve import solve
from scheduler.workflows.warm_start import previous_choices, previous_plan_first

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
    keep_steady: bool = True,
) -> Replanned:
    """Apply the events and solve the new instance from the previous plan (warm start).

    With `keep_steady` (the default) a last level after the SPEC's moves as few starts, suites
    and teams of patients without an event of their own as it can (docs/DESIGN.md).
    """
    moment = resolve_as_of(instance, events, as_of)
    new_instance = apply_events(instance, previous, events, moment)
    options = replace(
        options or SolveOptions(),
        start_batches=previous_plan_first(previous),
        keep_steady=previous_choices(previous, patients_with_own_events(events))
        if keep_steady
        else None,
    )
    schedule = solve(new_instance, options)
    diff = diff_schedules(instance, previous, new_instance, schedule, events, moment)
    return Replanned(new_instance, schedule, diff)


def replan(
    instance: Instance,
    previous: Schedule,
    events: Events,
    options: SolveOptions | None = None,
    as_of: datetime | None = None,
    keep_steady: bool = True,
) -> tuple[Schedule, Diff]:
    """The new schedule (for `apply_events(...)`'s instance, see `Diff.instance_to`) and the diff."""
    outcome = replan_with_instance(instance, previous, events, options, as_of, keep_steady)
    return outcome.schedule, outcome.diff
