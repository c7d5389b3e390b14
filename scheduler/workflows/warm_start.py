"""The previous plan as the starting point of a re-plan's search.

The previous schedule cannot be hinted as it stands: its instance was different (events, work
started since). So the first-come-first-served planner places every patient at the start the
previous plan gave it wherever that still fits exactly (chairs, suites, teams, lab), then the
others in coordinator order. The result is a valid plan; the search completes it into a value
for every model variable and starts from there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from models import Schedule
from scheduler.problem.batches import Batch
from scheduler.problem.first_come import GreedyPlanner
from scheduler.problem.options import PatientOptions
from scheduler.problem.steady import PreviousChoice, PreviousPlan

if TYPE_CHECKING:
    from scheduler.problem.planning import PlanningProblem


class PreviousPlanFirst(GreedyPlanner):
    """Commitments first, then patients at their previous starts (in start order), then the rest."""

    def __init__(self, problem: PlanningProblem, previous_starts: dict[str, datetime]) -> None:
        super().__init__(problem)
        self.previous_starts = {
            patient: start.astimezone(UTC) for patient, start in previous_starts.items()
        }

    def plan(self) -> list[Batch] | None:
        """A valid plan as close to the previous one as the greedy can make it; None if a commitment does not fit."""
        batches = self.place_commitments()
        if batches is None:
            return None
        placed: set[str] = set()
        planned_before = [o for o in self.problem.patients if o.patient.id in self.previous_starts]
        for options in sorted(planned_before, key=lambda o: self.previous_starts[o.patient.id]):
            kept = self._place_at_previous_start(options)
            if kept is not None:
                batches.append(kept)
                placed.add(options.patient.id)
        rest = [o for o in self.problem.patients if o.patient.id not in placed]
        for options in sorted(rest, key=self.patient_order):
            batch = self._place_patient(options)
            if batch is not None:
                batches.append(batch)
        return batches

    def _place_at_previous_start(self, options: PatientOptions) -> Batch | None:
        start = self.previous_starts[options.patient.id]
        option = next((o for o in options.starts if o.slot.start.astimezone(UTC) == start), None)
        if option is None:
            return None
        placed = self.try_option(options, option)
        return placed if isinstance(placed, Batch) else None


def previous_choices(previous: Schedule, own_events: set[str]) -> PreviousPlan:
    """What a re-plan keeps steady: every new patient's start, seat and teams, except for the
    patients with an event of their own (`SolveOptions.keep_steady`)."""
    return PreviousPlan(
        {
            a.patient: PreviousChoice(
                a.manufacturing_start,
                a.suite,
                a.position,
                {s.step: (s.date, s.shift, frozenset(s.operators)) for s in a.steps},
            )
            for a in previous.assignments
            if not a.in_progress and a.patient not in own_events
        }
    )


def previous_plan_first(previous: Schedule) -> Callable[[PlanningProblem], list[Batch] | None]:
    """A `SolveOptions.start_batches` that starts the search from the previous plan."""
    starts = {a.patient: a.manufacturing_start for a in previous.assignments if not a.in_progress}

    def start_batches(problem: PlanningProblem) -> list[Batch] | None:
        return PreviousPlanFirst(problem, starts).plan()

    return start_batches
