"""Pydantic models of the schedule format `cart-schedule/1` (SPEC section 6)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from models.instance import Identifier, LocalDate, Number, SpecModel

SCHEDULE_FORMAT = "cart-schedule/1"
Status = Literal["OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN"]


class ScheduledStep(SpecModel):
    """One hands-on step on a date and shift with its operators."""

    step: Identifier
    date: LocalDate
    shift: Identifier
    operators: list[Identifier]


class ScheduledAssay(SpecModel):
    """One QC assay's start and end dates."""

    assay: Identifier
    start_date: LocalDate
    end_date: LocalDate
    sample_date: LocalDate | None = None


class Assignment(SpecModel):
    """Where and when one patient's (or in-progress) batch is made, tested and delivered."""

    patient: Identifier
    in_progress: bool
    apheresis_date: LocalDate | None
    suite: Identifier
    position: int
    manufacturing_start: datetime
    manufacturing_end: datetime
    steps: list[ScheduledStep]
    qc: list[ScheduledAssay]
    release_date: LocalDate
    delivery_date: LocalDate


class Unscheduled(SpecModel):
    """A patient left out of this plan, and why."""

    patient: Identifier
    reasons: Annotated[list[str], Field(min_length=1)]


class ObjectiveValues(SpecModel):
    """Values (or bounds) of the three measures (SPEC section 4)."""

    scheduled_weight: Number
    plan_changes: Number
    wait_days: Number


class Schedule(SpecModel):
    """A solver's answer for one instance."""

    format: Literal["cart-schedule/1"]
    instance: Identifier
    status: Status
    objective: ObjectiveValues | None
    bound: ObjectiveValues | None
    solve_seconds: Annotated[float, Field(ge=0)]
    assignments: list[Assignment]
    unscheduled: list[Unscheduled]

    def assignment_of(self, patient_id: str) -> Assignment | None:
        """The assignment of a patient or in-progress batch, if any."""
        return next((a for a in self.assignments if a.patient == patient_id), None)


__all__ = [
    "SCHEDULE_FORMAT",
    "Assignment",
    "ObjectiveValues",
    "Schedule",
    "ScheduledAssay",
    "ScheduledStep",
    "Status",
    "Unscheduled",
]
