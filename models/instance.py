"""Pydantic models of the instance format `cart-schedule-instance/1` (SPEC section 5)."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)

from models.timeutil import parse_clock, weekday_name

INSTANCE_FORMAT = "cart-schedule-instance/1"
Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
Material = Literal["fresh", "cryopreserved"]
Measure = Literal["scheduled_weight", "plan_changes", "wait_days"]
MEASURES: tuple[Measure, ...] = ("scheduled_weight", "plan_changes", "wait_days")

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LOCAL_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


# Texts already seen to be of the form YYYY-MM-DD: a document repeats a few hundred dates many
# thousand times (a re-plan re-loads its instance on every simulated day). Bounded: a document
# of ever new texts only stops filling it.
_DATES_SEEN: set[str] = set()
_DATES_SEEN_MAX = 20_000


def _iso_date_text(value: Any) -> Any:
    # Only the literal YYYY-MM-DD form is a date in the exchange format (no timestamps).
    if isinstance(value, str):
        if value in _DATES_SEEN:
            return value
        if not _DATE_RE.match(value):
            raise ValueError(f"{value!r} is not a date of the form YYYY-MM-DD")
        if len(_DATES_SEEN) < _DATES_SEEN_MAX:
            _DATES_SEEN.add(value)
        return value
    if isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is not a date of the form YYYY-MM-DD")
    return value


def _local_datetime_text(value: Any) -> Any:
    if isinstance(value, str) and not _LOCAL_DATETIME_RE.match(value):
        raise ValueError(f"{value!r} is not a local date-time of the form YYYY-MM-DDTHH:MM")
    if isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is not a local date-time of the form YYYY-MM-DDTHH:MM")
    return value


def _clock_text(value: str) -> str:
    parse_clock(value)
    return value


LocalDate = Annotated[date, BeforeValidator(_iso_date_text)]


def _local_datetime_out(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S" if value.second else "%Y-%m-%dT%H:%M")


LocalDateTime = Annotated[
    datetime,
    BeforeValidator(_local_datetime_text),
    PlainSerializer(_local_datetime_out, return_type=str),
]
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$"), AfterValidator(_clock_text)]
Identifier = Annotated[str, Field(min_length=1)]


def _compact_number(value: float) -> int | float:
    # Whole numbers are written back as integers so that a document round-trips unchanged.
    return int(value) if float(value).is_integer() else value


Number = Annotated[float, PlainSerializer(_compact_number, return_type=int | float)]
Hours = Annotated[Number, Field(ge=0)]
Days = Annotated[int, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]


class SpecModel(BaseModel):
    """Base of every exchange-format model: extra fields are kept (SPEC allows optional additions)."""

    model_config = ConfigDict(extra="allow", frozen=False)


class Shift(SpecModel):
    """A site shift: starts at local clock time `start` and lasts `hours` real hours."""

    id: Identifier
    start: ClockTime
    hours: Annotated[Number, Field(gt=0, le=24)]

    @property
    def start_time(self) -> time:
        """The shift's local start clock time."""
        return parse_clock(self.start)


class Site(SpecModel):
    """The manufacturing site."""

    id: Identifier
    timezone: Identifier
    shifts: Annotated[list[Shift], Field(min_length=1)]
    max_starts_per_day: Count | None = None


class Horizon(SpecModel):
    """The planning horizon `[start, start + days)`."""

    start: LocalDate
    days: Annotated[int, Field(ge=1)]


class Step(SpecModel):
    """A hands-on manufacturing step on a fixed process day."""

    id: Identifier
    day_offset: Days
    hours: Annotated[Number, Field(gt=0)]
    operators: Annotated[int, Field(ge=1)]
    skill: Identifier


class QcAssay(SpecModel):
    """A QC release assay sampled on a fixed process day."""

    id: Identifier
    sample_day_offset: Days
    duration_days: Days
    max_wait_days: Days


class Product(SpecModel):
    """A CAR-T product and its manufacturing process."""

    id: Identifier
    fresh_shelf_life_hours: Hours
    receipt_hours: Hours
    manufacturing_hours: Annotated[Number, Field(gt=0)]
    changeover_hours: Hours
    suite_types: Annotated[list[Identifier], Field(min_length=1)]
    steps: list[Step] = []
    qc_assays: list[QcAssay] = []
    qp_release_days: Days


class UnavailablePeriod(SpecModel):
    """A period `[start, end)` (local) in which every position of a suite is closed."""

    start: LocalDateTime
    end: LocalDateTime
    reason: str | None = None


class Suite(SpecModel):
    """A cleanroom suite with identical positions."""

    id: Identifier
    type: Identifier
    positions: Annotated[int, Field(ge=1)]
    unavailable: list[UnavailablePeriod] = []


class RosterEntry(SpecModel):
    """An operator rostered on one shift of one date."""

    date: LocalDate
    shift: Identifier


class Operator(SpecModel):
    """A manufacturing operator, their qualifications and roster."""

    id: Identifier
    skills: list[Identifier] = []
    roster: list[RosterEntry] = []


class QcLab(SpecModel):
    """The QC lab: working days, closures and assay starts per day."""

    working_days: list[Weekday]
    closed_dates: list[LocalDate] = []
    capacity: dict[str, Count]
    # Optional addition (re-planning, docs/READINGS.md): a date's own capacity for some assays.
    capacity_by_date: dict[LocalDate, dict[str, Count]] = {}

    def capacity_on(self, assay_id: str, day: date) -> int:
        """Starts of an assay the lab can make on `day`: the date's own figure, else `capacity`."""
        on_day = self.capacity_by_date.get(day, {})
        return on_day[assay_id] if assay_id in on_day else self.capacity.get(assay_id, 0)

    def is_open(self, day: date) -> bool:
        """Whether assays may start on `day`: a working weekday that is not a closed date (C7)."""
        return weekday_name(day) in self.working_days and day not in self.closed_dates


class Hospital(SpecModel):
    """A treatment centre that collects (apheresis) and receives the product."""

    id: Identifier
    name: Identifier
    transit_hours: Hours
    collection_end: ClockTime
    return_transit_days: Days
    apheresis_capacity: dict[Weekday, Count] = {}
    closed_dates: list[LocalDate] = []
    booked_elsewhere: dict[LocalDate, Count] = {}

    def chairs_on(self, day: date) -> int:
        """Apheresis chairs the hospital has on `day`'s weekday (C2), before other bookings."""
        chairs: int = self.apheresis_capacity.get(weekday_name(day), 0)  # type: ignore[call-overload]
        return chairs

    def free_chairs_on(self, day: date) -> int:
        """Chairs left for this plan on `day`: the weekday's chairs minus `booked_elsewhere` (C2)."""
        return self.chairs_on(day) - self.booked_elsewhere.get(day, 0)

    @property
    def collection_end_time(self) -> time:
        """The local clock time at which collection ends."""
        return parse_clock(self.collection_end)


class DateWindow(SpecModel):
    """An inclusive date window with a required end."""

    earliest: LocalDate
    latest: LocalDate


class OpenDateWindow(SpecModel):
    """An inclusive date window whose end is optional."""

    earliest: LocalDate
    latest: LocalDate | None = None


class Previous(SpecModel):
    """What was communicated before this plan."""

    apheresis_date: LocalDate | None = None


class Patient(SpecModel):
    """A new patient to schedule."""

    id: Identifier
    hospital: Identifier
    product: Identifier
    weight: Annotated[Number, Field(ge=0)] = 1
    material: Material
    apheresis_window: DateWindow
    infusion_window: OpenDateWindow
    previous: Previous | None = None
    locked: bool = False
    collected_on: LocalDate | None = None

    @property
    def previous_apheresis_date(self) -> date | None:
        """The previously communicated apheresis date, if any."""
        return self.previous.apheresis_date if self.previous else None


class InProgress(SpecModel):
    """A batch already in manufacturing: its suite position and start are fixed."""

    patient: Identifier
    product: Identifier
    hospital: Identifier
    suite: Identifier
    position: Annotated[int, Field(ge=1)]
    manufacturing_start: LocalDateTime
    infusion_window: OpenDateWindow | None = None


class Objective(SpecModel):
    """The lexicographic order of the measures."""

    order: Annotated[list[Measure], Field(min_length=1)] = list(MEASURES)


class Instance(SpecModel):
    """A weekly planning problem."""

    format: Literal["cart-schedule-instance/1"]
    name: Identifier
    site: Site
    horizon: Horizon
    products: list[Product]
    suites: list[Suite]
    operators: list[Operator]
    qc_lab: QcLab
    hospitals: list[Hospital]
    patients: list[Patient] = []
    in_progress: list[InProgress] = []
    objective: Objective = Field(default_factory=Objective)

    @cached_property
    def product_by_id(self) -> dict[str, Product]:
        """Products by id."""
        return {product.id: product for product in self.products}

    @cached_property
    def hospital_by_id(self) -> dict[str, Hospital]:
        """Hospitals by id."""
        return {hospital.id: hospital for hospital in self.hospitals}

    @cached_property
    def suite_by_id(self) -> dict[str, Suite]:
        """Suites by id."""
        return {suite.id: suite for suite in self.suites}

    @cached_property
    def shift_by_id(self) -> dict[str, Shift]:
        """Site shifts by id."""
        return {shift.id: shift for shift in self.site.shifts}

    @property
    def objective_order(self) -> list[Measure]:
        """The measures in lexicographic order; unlisted measures follow in default order."""
        order: list[Measure] = list(dict.fromkeys(self.objective.order))
        return order + [measure for measure in MEASURES if measure not in order]
