"""What every rule needs: the site clock, the horizon, and each assignment resolved against the instance.

Time is handled on UTC instants only. Python compares and subtracts two aware datetimes that
share one `ZoneInfo` object by wall-clock time, ignoring the UTC offset, which is wrong across a
daylight-saving change (SPEC 2: hours are real elapsed time); UTC has no such change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from models import Assignment, InProgress, Instance, Patient, Product, Schedule
from models.instance import Hospital, Shift
from models.timeutil import at_clock, local_instant

# Two instants closer than this are equal: output datetimes have one-second resolution and
# instance hours are floats, so a solver may round `start + 258.3 h` to the second.
INSTANT_TOLERANCE = timedelta(seconds=1)
# Sums of float step hours (C6) may carry rounding error.
HOURS_TOLERANCE = 1e-6
# Dates further than this from the horizon are nonsense (and could overflow date arithmetic).
SANE_SPAN = timedelta(days=36500)
MIDNIGHT = time(0, 0)


def to_utc(value: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of an output datetime; a naive one (a FORMAT error) is read as site-local."""
    if value.tzinfo is None or value.utcoffset() is None:
        return local_instant(value, zone).astimezone(UTC)
    return value.astimezone(UTC)


def plus_hours(instant: datetime, hours: float) -> datetime:
    """`hours` real hours after a UTC instant."""
    return instant + timedelta(hours=hours)


def is_before(earlier: datetime, later: datetime) -> bool:
    """`earlier < later` by more than the tolerance (both UTC)."""
    return later - earlier >= INSTANT_TOLERANCE


def same_instant(first: datetime, second: datetime) -> bool:
    """Two UTC instants are equal within the tolerance."""
    return abs(first - second) < INSTANT_TOLERANCE


@dataclass(frozen=True)
class Batch:
    """One assignment resolved against the instance.

    For an in-progress batch, `start`, `suite_id` and `position` are the instance's facts (C11):
    the batch really started there, so its step and sample dates derive from them even if the
    schedule misstates them (which C11 reports).
    """

    assignment: Assignment
    product: Product
    hospital: Hospital
    patient: Patient | None
    in_progress: InProgress | None
    start: datetime
    start_date: date
    suite_id: str
    position: int

    @property
    def patient_id(self) -> str:
        """The patient (or in-progress batch) id."""
        return self.assignment.patient

    @property
    def is_new(self) -> bool:
        """A new patient of this plan (not an in-progress batch)."""
        return self.patient is not None


@dataclass(frozen=True)
class Occupancy:
    """A batch holding a suite position: new batches from the plan, in-progress ones from the instance."""

    patient_id: str
    product: Product
    suite_id: str
    position: int
    start: datetime

    @property
    def occupied_end(self) -> datetime:
        """End of `[start, end + changeover)` (C5)."""
        return plus_hours(
            self.start, self.product.manufacturing_hours + self.product.changeover_hours
        )


class Context:
    """The instance and schedule with lookups and the site clock."""

    def __init__(self, instance: Instance, schedule: Schedule, zone: ZoneInfo) -> None:
        self.instance = instance
        self.schedule = schedule
        self.zone = zone
        self.horizon_start: date = instance.horizon.start
        self.horizon_end: date = instance.horizon.start + timedelta(days=instance.horizon.days)
        self.patients: dict[str, Patient] = {p.id: p for p in instance.patients}
        self.in_progress: dict[str, InProgress] = {b.patient: b for b in instance.in_progress}
        self.shifts: dict[str, Shift] = {s.id: s for s in instance.site.shifts}

    # --- clock -------------------------------------------------------------------------------

    def instant(self, day: date, clock: time) -> datetime:
        """The UTC instant of a local clock time on a local date (SPEC 8: fold=0, gap forward)."""
        return at_clock(day, clock, self.zone).astimezone(UTC)

    def utc(self, value: datetime) -> datetime:
        """The UTC instant of an output datetime."""
        return to_utc(value, self.zone)

    def local_date(self, instant: datetime) -> date:
        """The site-local calendar date of an instant."""
        return instant.astimezone(self.zone).date()

    def show(self, instant: datetime) -> str:
        """An instant as the SPEC writes it: local time with its offset."""
        return instant.astimezone(self.zone).isoformat(timespec="seconds")

    def shift_start(self, day: date, shift: Shift) -> datetime:
        """The UTC instant at which `shift` starts on local date `day`."""
        return self.instant(day, shift.start_time)

    def in_horizon(self, day: date) -> bool:
        """`day` lies in `[horizon.start, horizon.start + days)`."""
        return self.horizon_start <= day < self.horizon_end

    # --- assignments ------------------------------------------------------------------------

    def is_sane(self, assignment: Assignment) -> bool:
        """Every date of the assignment lies within a century of the horizon (else FORMAT)."""
        days = [assignment.release_date, assignment.delivery_date]
        days += [assignment.manufacturing_start.date(), assignment.manufacturing_end.date()]
        if assignment.apheresis_date is not None:
            days.append(assignment.apheresis_date)
        days += [entry.date for entry in assignment.steps]
        for assay in assignment.qc:
            days += [assay.start_date, assay.end_date]
            if assay.sample_date is not None:
                days.append(assay.sample_date)
        return all(abs(day - self.horizon_start) <= SANE_SPAN for day in days)

    @cached_property
    def batches(self) -> list[Batch]:
        """The first assignment of every known patient or in-progress batch, resolved.

        Unknown or duplicated patients are C1's business; unresolvable references of the
        instance and absurd dates are skipped here so that no rule raises on them.
        """
        resolved: list[Batch] = []
        seen: set[str] = set()
        for assignment in self.schedule.assignments:
            if assignment.patient in seen or not self.is_sane(assignment):
                continue
            seen.add(assignment.patient)
            batch = self._resolve(assignment)
            if batch is not None:
                resolved.append(batch)
        return resolved

    @property
    def new_batches(self) -> list[Batch]:
        """Batches of new patients."""
        return [b for b in self.batches if b.is_new]

    def with_patients(self) -> list[tuple[Batch, Patient]]:
        """Batches of new patients, each with its patient."""
        return [(b, b.patient) for b in self.batches if b.patient is not None]

    def _resolve(self, assignment: Assignment) -> Batch | None:
        patient = self.patients.get(assignment.patient)
        running = self.in_progress.get(assignment.patient)
        if patient is not None:
            product_id, hospital_id = patient.product, patient.hospital
            start = self.utc(assignment.manufacturing_start)
            suite_id, position = assignment.suite, assignment.position
        elif running is not None:
            product_id, hospital_id = running.product, running.hospital
            start = local_instant(running.manufacturing_start, self.zone).astimezone(UTC)
            suite_id, position = running.suite, running.position
        else:
            return None
        product = self.instance.product_by_id.get(product_id)
        hospital = self.instance.hospital_by_id.get(hospital_id)
        if product is None or hospital is None:
            return None
        return Batch(
            assignment=assignment,
            product=product,
            hospital=hospital,
            patient=patient,
            in_progress=running if patient is None else None,
            start=start,
            start_date=self.local_date(start),
            suite_id=suite_id,
            position=position,
        )

    def occupancies(self) -> Iterator[Occupancy]:
        """Every batch that holds a suite position in this plan.

        In-progress batches come from the instance, assigned or not: they physically occupy
        their position whatever the schedule says.
        """
        for batch in self.new_batches:
            yield Occupancy(
                batch.patient_id, batch.product, batch.suite_id, batch.position, batch.start
            )
        for running in self.instance.in_progress:
            product = self.instance.product_by_id.get(running.product)
            if product is None:
                continue
            start = local_instant(running.manufacturing_start, self.zone).astimezone(UTC)
            yield Occupancy(running.patient, product, running.suite, running.position, start)
