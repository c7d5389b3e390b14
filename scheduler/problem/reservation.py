"""Rescue capacity a robust plan keeps free: suite positions per pooled class and time window.

A batch that fails (or is found out of specification) needs a second collection and a second
manufacturing slot soon after the failure is found; a plan that filled every position leaves
that rescue waiting. A `RescueReservation` says, per suite class and window, how many positions
new batches must leave free (sized in `scheduler/workflows/robust.py` by sampling failures on
the deterministic plan; docs/ROBUST.md). It only ever removes capacity, and only from patients
without a commitment: in-progress batches, locked patients and patients already collected may
use reserved positions, so no commitment that fits without the reservation stops fitting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from models import Patient
from scheduler.problem.batches import Batch


@dataclass(frozen=True)
class ReservedPositions:
    """`positions` of suite class `class_index` kept free for rescues during `[start, end)`."""

    class_index: int
    start: datetime  # aware, half-open like every occupied interval (SPEC 8)
    end: datetime
    positions: int


@dataclass(frozen=True)
class RescueReservation:
    """Positions kept free for rescue batches; windows of one class never overlap."""

    suites: tuple[ReservedPositions, ...]

    def is_empty(self) -> bool:
        """Whether nothing is reserved."""
        return not any(window.positions > 0 for window in self.suites)

    def to_dict(self, class_members: Callable[[int], list[str]]) -> list[dict[str, object]]:
        """The windows as the schedule's optional `robust.reserved_positions` field lists them."""
        return [
            {
                "suites": class_members(window.class_index),
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
                "positions": window.positions,
            }
            for window in self.suites
            if window.positions > 0
        ]


def is_committed(patient: Patient) -> bool:
    """A locked or already collected patient: a promise the reservation must not break."""
    return patient.locked or patient.collected_on is not None


def reserved_room(capacity: int, held: int, reserved: int) -> int:
    """Positions left to uncommitted new batches once running batches and the reservation are served."""
    # Never below zero: the reservation takes only what running batches leave.
    return max(0, capacity - held - reserved)


def trim_to_reservation(
    batches: list[Batch],
    reservation: RescueReservation,
    capacities: Mapping[int, int],
    patients: Mapping[str, Patient],
) -> list[Batch]:
    """A plan without the lightest uncommitted batches that sit in reserved positions.

    Used on the first-come plan the search starts from: that planner knows nothing of the
    reservation, and dropping a batch never breaks a rule, so the result is a valid plan that
    keeps the reservation.
    """
    kept = list(batches)
    for window in reservation.suites:
        if window.positions <= 0:
            continue
        held = [b for b in kept if b.class_index == window.class_index and b.in_progress]
        instants = {window.start} | {
            b.start
            for b in kept
            if b.class_index == window.class_index and window.start <= b.start < window.end
        }
        for instant in sorted(instants):
            holding = sum(1 for b in held if b.start <= instant < b.occupied_until)
            room = reserved_room(capacities[window.class_index], holding, window.positions)
            busy = [
                b
                for b in kept
                if b.class_index == window.class_index
                and not b.in_progress
                and not is_committed(patients[b.patient_id])
                and b.start <= instant < b.occupied_until
            ]
            # Lightest first, then the latest start: the cheapest patients to give up.
            busy.sort(key=lambda b: (patients[b.patient_id].weight, -b.start.timestamp()))
            for batch in busy[: max(0, len(busy) - room)]:
                kept.remove(batch)
    return kept
