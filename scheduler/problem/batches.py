"""A plan in the solver's terms: batches with their steps, assays, release, delivery and positions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from models import Product
from models.instance import Hospital, OpenDateWindow, QcAssay, Step
from scheduler.problem.calendar import SiteCalendar
from scheduler.problem.options import SuiteClass


@dataclass
class PlannedAssay:
    """One assay of a batch: sample day, start day, end day (day indices)."""

    assay: QcAssay
    sample_day: int
    start_day: int

    @property
    def end_day(self) -> int:
        """The day the assay finishes."""
        return self.start_day + self.assay.duration_days


@dataclass
class PlannedStep:
    """One step of a batch in a shift, with its team once assigned."""

    step: Step
    date: date
    shift_id: str
    operators: list[str] = field(default_factory=list)


@dataclass
class Batch:
    """A patient's (or in-progress) batch with every decision made."""

    patient_id: str
    in_progress: bool
    product: Product
    hospital: Hospital
    apheresis_date: date | None
    start: datetime
    end: datetime
    occupied_until: datetime
    end_day: int
    class_index: int
    steps: list[PlannedStep]
    assays: list[PlannedAssay]
    suite: str = ""
    position: int = 0
    release_day: int = 0
    delivery_day: int = 0


def set_release_and_delivery(
    batch: Batch, window: OpenDateWindow | None, calendar: SiteCalendar
) -> None:
    """C8/C9: release after the last assay and manufacturing end; delivery not before the window opens."""
    release = (
        max([batch.end_day] + [a.end_day for a in batch.assays]) + batch.product.qp_release_days
    )
    delivery = release + batch.hospital.return_transit_days
    if window is not None:
        delivery = max(delivery, calendar.day(window.earliest))
    batch.release_day, batch.delivery_day = release, delivery


def assign_positions(
    batches: list[Batch],
    classes: list[SuiteClass],
    previous: Mapping[str, tuple[str, int]] | None = None,
) -> None:
    """Colour each pooled class's batches onto its (suite, position) members in start order (C5).

    Any free member is a valid colour (intervals on a line), so a re-plan gives a batch its
    `previous` (suite, position) whenever that is free, and otherwise prefers one no later
    batch had before.
    """
    previous = previous or {}
    by_class: dict[int, list[Batch]] = defaultdict(list)
    for batch in batches:
        by_class[batch.class_index].append(batch)
    for class_index, members in by_class.items():
        free_from: dict[tuple[str, int], datetime] = {}
        # In-progress batches are fixed; they start first in a pooled class, so place them first.
        ordered = sorted(members, key=lambda b: (b.start, not b.in_progress, b.patient_id))
        for at, batch in enumerate(ordered):
            if batch.in_progress:
                free_from[(batch.suite, batch.position)] = batch.occupied_until
                continue
            free = [
                m
                for m in classes[class_index].members
                if m not in free_from or free_from[m] <= batch.start
            ]
            wanted_later = (
                {previous.get(b.patient_id) for b in ordered[at + 1 :]} if previous else set()
            )
            member = min(
                free,
                key=lambda m: (m != previous.get(batch.patient_id), m in wanted_later),
            )
            batch.suite, batch.position = member
            free_from[member] = batch.occupied_until
