"""Shapes of the HTTP answers (the request bodies are the exchange formats of `models/`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ProblemOut(BaseModel):
    """One thing wrong with the request, and where."""

    path: str
    message: str


class ErrorOut(BaseModel):
    """A refusal: what is wrong, every problem with its JSON path, and any details."""

    model_config = {"extra": "allow"}
    detail: str
    problems: list[ProblemOut] | None = None


class PlanOut(BaseModel):
    """A plan's solve job: status, best objective and bound so far, elapsed time."""

    id: str
    name: str
    status: str
    time_limit: float
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    elapsed_seconds: float | None
    progress: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    parent_id: str | None = None
    scenario: dict[str, Any] | None = None


class PublishOut(BaseModel):
    """The plan now published."""

    plan_id: str
    version: int
    published_at: str


class PublishedOut(PublishOut):
    """The published plan: `cart-schedule-instance/1` and `cart-schedule/1` documents."""

    instance: dict[str, Any]
    schedule: dict[str, Any]


class OfferOut(BaseModel):
    """One apheresis date the site can offer, and what follows from it."""

    apheresis_date: str
    manufacturing_start: str
    suite: str
    release_date: str
    delivery_date: str


class UnavailableOut(BaseModel):
    """A date of the window that cannot be offered, and why."""

    apheresis_date: str
    reason: str


class AvailabilityOut(BaseModel):
    """The offers against the published plan (best delivery first); nothing is reserved."""

    plan_id: str
    version: int
    offers: list[OfferOut]
    unavailable: list[UnavailableOut]


class BookingOut(BaseModel):
    """A booked patient's full assignment (SPEC section 6) in the published plan."""

    patient: str
    plan_id: str
    version: int
    assignment: dict[str, Any]


class BookingConflictOut(BaseModel):
    """Why the chosen date can no longer be booked."""

    detail: str
    reason: str
    patient: str
    apheresis_date: str


class CancelledBookingOut(BaseModel):
    """A cancelled booking."""

    patient: str
    cancelled: bool
    version: int


class AuditOut(BaseModel):
    """One change of the audit trail."""

    id: int
    at: str
    actor: str
    action: str
    entity: str
    entity_id: str
    before: Any
    after: Any


class KpisOut(BaseModel):
    """A plan's KPIs, and the same as (label, value) rows for display."""

    kpis: dict[str, Any]
    table: list[list[str]]


class WorkbookOut(BaseModel):
    """A planning workbook read as a `cart-schedule-instance/1` document, with a short summary."""

    instance: dict[str, Any]
    summary: dict[str, Any]


class ComparisonOut(BaseModel):
    """Plans side by side: each plan's objective and KPIs, and rows of (label, value per plan)."""

    plans: list[dict[str, Any]]
    header: list[str]
    rows: list[list[str]]
