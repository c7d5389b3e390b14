"""The order system's questions: which apheresis dates can be offered, book one, cancel it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from api.deps import Bookings, OrderSystemCaller, ReaderCaller
from api.routes.responses import errors
from api.schemas import AvailabilityOut, BookingConflictOut, BookingOut, CancelledBookingOut
from models.orders import BookingRequest, ProspectivePatient

router = APIRouter(prefix="/v1", tags=["bookings"])


# An offer's `on_time_probability` is left out (not null) when no simulation gives one.
@router.post(
    "/availability",
    response_model=AvailabilityOut,
    response_model_exclude_none=True,
    responses=errors(401, 403, 409, 422),
)
def availability(
    caller: ReaderCaller, bookings: Bookings, patient: ProspectivePatient
) -> AvailabilityOut:
    """Apheresis dates the published plan can still offer this patient, best delivery first; reserves nothing."""
    return bookings.availability(caller, patient)


@router.post(
    "/bookings",
    status_code=201,
    response_model=BookingOut,
    responses=errors(401, 403, 422)
    | {409: {"model": BookingConflictOut, "description": "the date can no longer be offered"}},
)
def book(
    caller: OrderSystemCaller,
    bookings: Bookings,
    booking: BookingRequest,
    response: Response,
    idempotency_key: Annotated[
        str,
        Header(
            min_length=1,
            max_length=200,
            description="the same key again returns the same answer and books nothing",
        ),
    ],
) -> BookingOut | JSONResponse:
    """Book a patient on one of the offered apheresis dates."""
    status, body = bookings.book(caller, idempotency_key, booking)
    if status != 201:
        # A 409 (or its replay) is the stored answer, sent as it was first given.
        return JSONResponse(body, status_code=status)
    response.status_code = status
    return BookingOut.model_validate(body)


@router.get("/bookings/{patient_id}", response_model=BookingOut, responses=errors(401, 403, 404))
def get_booking(caller: ReaderCaller, bookings: Bookings, patient_id: str) -> BookingOut:
    """A booked patient's assignment (404 for another hospital's patient, as for an unknown one)."""
    return bookings.booking(caller, patient_id)


@router.delete(
    "/bookings/{patient_id}",
    response_model=CancelledBookingOut,
    responses=errors(401, 403, 404, 422),
)
def cancel_booking(
    caller: OrderSystemCaller,
    bookings: Bookings,
    patient_id: str,
    reason: Annotated[
        str | None,
        Query(min_length=1, max_length=500, description="why; kept in the audit trail"),
    ] = None,
) -> CancelledBookingOut:
    """Cancel a booking: the chair, suite position, operators' hours and QC slots are free again."""
    return bookings.cancel(caller, patient_id, reason)
