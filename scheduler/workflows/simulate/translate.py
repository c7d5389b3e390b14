"""From drawn disruptions to dates on a given plan and to events of `cart-schedule-events/1`.

A manufacturing failure is found `fail_fraction` of the way through the batch's manufacturing
(at the earliest the day after its start, at the latest on its end date); an out-of-specification
batch is found on its release date (QC results); a drop-out happens `dropout_fraction` of the
way from the collection (or the start, for a batch already running) to the release. A suite
closure hits the batches running in it: one whose manufacturing is under way is lost (an
environmental excursion or equipment failure compromises the batch), one only in changeover
moves the closure's start to its end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from models import Assignment, Instance, Schedule
from models.events import BatchFailed, PatientCancelled
from models.instance import DateWindow
from models.timeutil import add_hours, local_instant
from scheduler.workflows.simulate.sampling import Closure, PatientDraws

OCCUPANCY_MARK = "~"  # apply_events names the position kept by a stopped batch `P~failed`


@dataclass(frozen=True)
class RescueRules:
    """When a failed patient can be collected again (days after the failure is found)."""

    gap_days: int = 2
    window_days: int = 14

    def window(self, found: date) -> DateWindow:
        """The new apheresis window of a patient whose batch failed on `found`."""
        first = found + timedelta(days=self.gap_days)
        return DateWindow(earliest=first, latest=first + timedelta(days=self.window_days))


def midnight(day: date) -> datetime:
    """00:00 local of a date, naive (the events format's local date-times)."""
    return datetime.combine(day, time())


def failure_day(assignment: Assignment, draws: PatientDraws, attempt: int) -> date | None:
    """When this attempt's batch is found failed or out of specification (None: it is not)."""
    start, end = assignment.manufacturing_start.date(), assignment.manufacturing_end.date()
    if draws.fails[attempt]:
        days = max(1, math.ceil(draws.fail_fraction[attempt] * (end - start).days))
        return min(start + timedelta(days=days), max(end, start + timedelta(days=1)))
    if draws.out_of_spec[attempt]:
        return assignment.release_date
    return None


def dropout_day(assignment: Assignment, draws: PatientDraws, horizon_start: date) -> date | None:
    """When the patient drops out, measured on their current batch (None: they do not)."""
    if not draws.dropout:
        return None
    anchor = assignment.apheresis_date or assignment.manufacturing_start.date()
    anchor = max(anchor, horizon_start)
    span = (assignment.release_date - anchor).days
    if span < 1:
        return None
    return anchor + timedelta(days=int(draws.dropout_fraction * span))


def product_hours(instance: Instance, patient_id: str) -> tuple[str, float]:
    """The product id of a patient or in-progress batch and its changeover hours."""
    product_id = next(
        (p.product for p in instance.patients if p.id == patient_id),
        next((b.product for b in instance.in_progress if b.patient == patient_id), None),
    )
    if product_id is None:
        raise KeyError(patient_id)
    return product_id, instance.product_by_id[product_id].changeover_hours


def failed_event(
    patient_id: str,
    found: date,
    free_from: datetime,
    rules: RescueRules,
    material: Literal["fresh", "cryopreserved"] | None,
) -> BatchFailed:
    """The failure of a running batch: its position is kept until `free_from`, a new collection follows."""
    return BatchFailed(
        kind="batch_failed",
        patient=patient_id,
        suite_free_from=free_from,
        apheresis_window=rules.window(found),
        material=material,
    )


def cancelled_event(patient_id: str, free_from: datetime | None = None) -> PatientCancelled:
    """A patient leaves (drop-out, or a second failure); a running batch frees its position at `free_from`."""
    return PatientCancelled(kind="patient_cancelled", patient=patient_id, suite_free_from=free_from)


@dataclass
class ClosureHits:
    """What a closure does to the batches running in the suite when it starts."""

    lost: list[str]  # patients whose running manufacturing is lost
    occupancies: list[str]  # positions kept by stopped batches: released when the suite closes
    start: datetime  # naive local: the closure's start, moved past batches in changeover
    end: datetime


def closure_hits(
    instance: Instance, schedule: Schedule, closure: Closure, started_before: datetime
) -> ClosureHits:
    """The batches of `schedule` started before `started_before` (naive local) that a closure hits."""
    zone = ZoneInfo(instance.site.timezone)
    begin = local_instant(midnight(closure.start), zone).astimezone(UTC)
    started = local_instant(started_before, zone).astimezone(UTC)
    hits = ClosureHits(
        [], [], midnight(closure.start), midnight(closure.start) + timedelta(days=closure.days)
    )
    for assignment in schedule.assignments:
        if assignment.suite != closure.suite:
            continue
        start = assignment.manufacturing_start.astimezone(UTC)
        if start >= started:
            continue
        _, changeover = product_hours(instance, assignment.patient)
        free = add_hours(assignment.manufacturing_end, changeover, zone).astimezone(UTC)
        if free <= begin:
            continue
        if OCCUPANCY_MARK in assignment.patient:
            hits.occupancies.append(assignment.patient)
        elif assignment.manufacturing_end.astimezone(UTC) > begin:
            hits.lost.append(assignment.patient)
        else:
            local_free = free.astimezone(zone).replace(tzinfo=None)
            hits.start = max(hits.start, local_free)
    return hits
