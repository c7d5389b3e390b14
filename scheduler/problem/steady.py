"""A re-plan's previous choices for the patients it should keep steady, and how far a plan moved them.

Operators, QC and couriers plan around every patient's manufacturing start, suite position and
team. A re-plan keeps them where no event of the patient's own asks for a change and no SPEC
measure gains by one: a last level after the SPEC's (docs/DESIGN.md, "Keeping the shop floor
steady"). This module is solver-neutral: the previous choices and the counts of a plan; the
model's expression is `scheduler/model/steady_replan.py`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from scheduler.problem.batches import Batch
from scheduler.problem.options import SuiteClass

# A moved manufacturing start costs this much, a new suite class at the same start 1: a start
# moves every step day, sample date, QC start and often the courier; a new suite only the
# cleanroom's own board (so two reseats are worth one start kept).
START_MOVE_COST = 2
SEAT_MOVE_COST = 1
# A later step put in another shift of its day than before: its operators change (the team of a
# shift follows its roster), so as much as a reseat.
STEP_SHIFT_COST = 1

StepTeam = tuple[date, str, frozenset[str]]  # (date, shift id, operators)


@dataclass(frozen=True)
class PreviousChoice:
    """Where and when the previous plan made one patient's batch, and who staffed its steps."""

    start: datetime  # aware, compared in UTC
    suite: str
    position: int
    teams: dict[str, StepTeam] = field(default_factory=dict)  # step id ->

    @property
    def seat(self) -> tuple[str, int]:
        """The previous (suite, position)."""
        return self.suite, self.position


@dataclass(frozen=True)
class PreviousPlan:
    """The previous schedule's choices, for the patients without an event of their own."""

    choices: dict[str, PreviousChoice]

    def class_of(self, patient_id: str, classes: list[SuiteClass]) -> int | None:
        """The pooled suite class holding the patient's previous position (None if gone)."""
        seat = self.choices[patient_id].seat
        return next((c.index for c in classes if seat in c.members), None)


@dataclass
class Churn:
    """Which steady patients a plan moved, and how (a patient may be in several lists)."""

    starts_moved: list[str] = field(default_factory=list)  # or no longer scheduled
    reseated: list[str] = field(default_factory=list)  # same start, another suite or position
    teams_changed: list[str] = field(default_factory=list)  # same start and seat, other operators
    cost: int = 0  # what the steady level minimises (START_MOVE_COST, SEAT_MOVE_COST)

    @property
    def moved(self) -> int:
        """Patients whose start, suite position or team differs from the previous plan."""
        return len(set(self.starts_moved) | set(self.reseated) | set(self.teams_changed))


def churn_of(
    batches: list[Batch],
    previous: PreviousPlan,
    classes: list[SuiteClass],
    patients: set[str],
) -> Churn:
    """How far a plan moved the `patients` (new ones) the previous plan should keep steady.

    The cost counts suite classes and step shifts (what the model decides); the lists count
    positions and teams as assigned, so call it after `assign_positions` for the final figures.
    """
    churn = Churn(cost=STEP_SHIFT_COST * _steps_out_of_their_shift(batches, previous))
    by_patient = {b.patient_id: b for b in batches if not b.in_progress}
    for patient_id, choice in sorted(previous.choices.items()):
        if patient_id not in patients:
            continue
        batch = by_patient.get(patient_id)
        if batch is None or not _same_start(batch, choice):
            churn.starts_moved.append(patient_id)
            churn.cost += START_MOVE_COST + SEAT_MOVE_COST
            continue
        if batch.class_index != previous.class_of(patient_id, classes):
            churn.cost += SEAT_MOVE_COST
        if batch.suite and (batch.suite, batch.position) != choice.seat:
            churn.reseated.append(patient_id)
        elif not _same_teams(batch, choice):
            churn.teams_changed.append(patient_id)
    return churn


def _steps_out_of_their_shift(batches: list[Batch], previous: PreviousPlan) -> int:
    """Later steps the previous plan had in a (date, shift) beyond what the plan puts there, per step kind."""
    there_now: Counter[tuple[date, str, str, str]] = Counter()
    there_before: Counter[tuple[date, str, str, str]] = Counter()
    for batch in batches:
        choice = previous.choices.get(batch.patient_id)
        for planned in batch.steps:
            if planned.step.day_offset == 0:
                continue  # fixed by the start
            kind = (batch.product.id, planned.step.id)
            there_now[(planned.date, planned.shift_id, *kind)] += 1
            before = choice.teams.get(planned.step.id) if choice is not None else None
            if before is not None and before[0] == planned.date:
                there_before[(before[0], before[1], *kind)] += 1
    return sum(max(0, n - there_now[key]) for key, n in there_before.items())


def _same_start(batch: Batch, choice: PreviousChoice) -> bool:
    return batch.start.astimezone(UTC) == choice.start.astimezone(UTC)


def _same_teams(batch: Batch, choice: PreviousChoice) -> bool:
    """Every step on the same date and shift with the same operators (steps done before: ignored)."""
    for planned in batch.steps:
        before = choice.teams.get(planned.step.id)
        if before is not None and before != (
            planned.date,
            planned.shift_id,
            frozenset(planned.operators),
        ):
            return False
    return True
