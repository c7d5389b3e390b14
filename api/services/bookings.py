"""The order system's side: availability against the published plan, bookings and their cancellation.

Bookings that arrive while another is being written are written together, in one transaction
(group commit), under the store's lock and the database's version lock; the in-memory view of
the published plan changes only after that transaction has committed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from api.context import current_request_id
from api.db import Booking, IdempotentResponse, PublishedEntry, utc_now
from api.errors import Conflict, Forbidden, NotFound, ServiceError, Unprocessable
from api.schemas import AvailabilityOut, BookingOut, CancelledBookingOut, OfferOut, UnavailableOut
from api.services.audit import record
from api.services.keys import Caller
from api.services.promises import on_time_probability
from api.services.simulations import PromiseCache
from api.store import NOTHING_PUBLISHED, Entry, PublishedState, Store, assignment_json, model_json
from models import Assignment, Patient
from models.orders import BookingRequest, ProspectivePatient

Answer = tuple[int, dict[str, Any]]  # HTTP status and JSON body, as stored for replays


@dataclass
class _PendingBooking:
    """A booking request waiting for the transaction that writes it."""

    actor: str
    key: str
    request_hash: str
    request: BookingRequest
    # Its own request's id: another request's thread may write it in a group commit.
    request_id: str | None = field(default_factory=current_request_id)
    done: threading.Event = field(default_factory=threading.Event)
    answer: Answer | None = None
    error: Exception | None = None


class BookingService:
    """Availability, bookings and cancellations against the store's published plan."""

    def __init__(self, store: Store, promises: PromiseCache | None = None) -> None:
        self.store = store
        self.promises = promises
        self._pending: list[_PendingBooking] = []  # bookings waiting for the next group commit
        self._pending_lock = threading.Lock()

    def availability(self, caller: Caller, prospective: ProspectivePatient) -> AvailabilityOut:
        """Every apheresis date the published plan can still offer this patient, best delivery first."""
        _check_serves(caller, prospective.hospital)
        with self.store.lock:
            state = self.store.required()
            problems = prospective.problems(state.site)
            if problems:
                raise Unprocessable(
                    "the patient cannot be considered against the published plan", problems
                )
            answer = state.planner.availability(prospective.as_patient("(prospective)"))
            promise = None if self.promises is None else self.promises.model(state.plan_id)
            latest = prospective.infusion_window.latest
            return AvailabilityOut(
                plan_id=state.plan_id,
                version=state.version,
                offers=[
                    OfferOut(
                        apheresis_date=offer.apheresis_date.isoformat(),
                        manufacturing_start=offer.assignment.manufacturing_start.isoformat(),
                        suite=offer.assignment.suite,
                        release_date=offer.assignment.release_date.isoformat(),
                        delivery_date=offer.assignment.delivery_date.isoformat(),
                        on_time_probability=None
                        if promise is None
                        else on_time_probability(
                            promise,
                            prospective.product,
                            offer.assignment.release_date,
                            offer.assignment.delivery_date,
                            latest,
                        ),
                    )
                    for offer in answer.offers
                ],
                unavailable=[
                    UnavailableOut(apheresis_date=day.isoformat(), reason=reason)
                    for day, reason in sorted(answer.unavailable.items())
                ],
            )

    def book(self, caller: Caller, idempotency_key: str, request: BookingRequest) -> Answer:
        """Book a patient on a date: 201 with its assignment, or 409 with the reason; replayed per Idempotency-Key.

        Bookings that arrive while another is being written are written together, in one
        transaction (group commit): each is still placed against everything booked before it,
        and no answer is given before the transaction holding it has committed.
        """
        _check_serves(caller, request.hospital)
        actor = caller.name
        request_hash = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
        # A retry need not wait for the lock.
        replay = self._replay(actor, idempotency_key, request_hash)
        if replay is not None:
            return replay
        item = _PendingBooking(actor, idempotency_key, request_hash, request)
        with self._pending_lock:
            self._pending.append(item)
        with self.store.lock:
            if not item.done.is_set():
                # Nobody wrote it yet: write everything waiting, this one included.
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                self._book_batch(batch)
        if item.error is not None:
            raise item.error
        assert item.answer is not None
        return item.answer

    def _replay(self, actor: str, idempotency_key: str, request_hash: str) -> Answer | None:
        with self.store.sessions() as session:
            stored = session.get(IdempotentResponse, (actor, idempotency_key))
            return None if stored is None else _stored_answer(stored, idempotency_key, request_hash)

    def _book_batch(self, batch: list[_PendingBooking]) -> None:
        """Place and write a batch of bookings in one transaction; every item gets its answer or error."""
        taken: list[tuple[Patient, Assignment, Entry]] = []
        state: PublishedState | None = None
        try:
            with self.store.transaction() as session:
                version = self.store.lock_published(session)
                if version is None:
                    raise Conflict(NOTHING_PUBLISHED)
                state = self.store.state_at(session, version - 1)
                assert state is not None
                seen: dict[tuple[str, str], _PendingBooking] = {}
                for item in batch:
                    try:
                        item.answer = self._book_one(session, state, version, item, seen, taken)
                    except ServiceError as error:
                        item.error = error
            # Committed: the bookings are durable; this process's view keeps them.
            for patient, _, entry in taken:
                state.entries[patient.id] = entry
            state.version = version
        except Exception as error:
            if state is not None:
                for patient, assignment, _ in reversed(taken):
                    state.planner.release(patient.id, assignment)
            # Nothing of the batch was written: a request's own mistake stays its answer.
            for item in batch:
                item.answer = None
                item.error = item.error or error
        finally:
            for item in batch:
                item.done.set()

    def _book_one(
        self,
        session: Session,
        state: PublishedState,
        version: int,
        item: _PendingBooking,
        seen: dict[tuple[str, str], _PendingBooking],
        taken: list[tuple[Patient, Assignment, Entry]],
    ) -> Answer:
        """One booking of a batch, placed against the plan and every booking before it."""
        key = (item.actor, item.key)
        if key in seen:  # the same key twice in one batch: the second is a retry of the first
            first = seen[key]
            if first.request_hash != item.request_hash:
                raise Unprocessable(
                    f"Idempotency-Key {item.key!r} was already used for a different booking request"
                )
            if first.error is not None:
                raise first.error
            assert first.answer is not None
            return first.answer
        stored = session.get(IdempotentResponse, key)
        if stored is not None:  # answered by another process meanwhile
            return _stored_answer(stored, item.key, item.request_hash)
        seen[key] = item
        request = item.request
        problems = request.problems(state.site)
        if problems:
            raise Unprocessable(
                "the booking request is not valid against the published plan", problems
            )
        patient = request.as_booked_patient()
        placed = state.planner.place(patient, request.apheresis_date)
        body: dict[str, Any]
        if isinstance(placed, str):
            status, body = (
                409,
                {
                    "detail": f"{request.apheresis_date} can no longer be offered to {patient.id}",
                    "reason": placed,
                    "patient": patient.id,
                    "apheresis_date": request.apheresis_date.isoformat(),
                },
            )
        else:
            assignment = assignment_json(placed)
            status, body = (
                201,
                {
                    "patient": patient.id,
                    "plan_id": state.plan_id,
                    "version": version,
                    "assignment": assignment,
                },
            )
            ordinal = (
                max(
                    [e.ordinal for e in state.entries.values()] + [e.ordinal for _, _, e in taken],
                    default=0,
                )
                + 1
            )
            entry = Entry(
                patient.id, "patient", "booking", ordinal, model_json(patient), assignment
            )
            session.add(
                PublishedEntry(
                    patient_id=patient.id,
                    kind="patient",
                    origin="booking",
                    ordinal=ordinal,
                    entry_json=json.dumps(entry.entry),
                    assignment_json=json.dumps(assignment),
                )
            )
            session.add(
                Booking(
                    patient_id=patient.id,
                    apheresis_date=request.apheresis_date,
                    status="active",
                    created_by=item.actor,
                    created_at=utc_now(),
                )
            )
            record(
                session,
                item.actor,
                "booking.made",
                "booking",
                patient.id,
                None,
                assignment,
                request_id=item.request_id,
            )
            # Later bookings of the batch see it; undone if the commit fails.
            state.planner.take(patient, placed)
            taken.append((patient, placed, entry))
        session.add(
            IdempotentResponse(
                owner=item.actor,
                key=item.key,
                request_hash=item.request_hash,
                status_code=status,
                body=json.dumps(body),
                created_at=utc_now(),
            )
        )
        return status, body

    def booking(self, caller: Caller, patient_id: str) -> BookingOut:
        """A booked patient's assignment in the published plan."""
        with self.store.lock:
            state = self.store.current()
            entry = None if state is None else state.entries.get(patient_id)
            if state is None or entry is None or not _booked_for(caller, entry):
                raise NotFound(f"no booking for patient {patient_id!r}")
            assert entry.assignment is not None  # a booking always has its assignment
            return BookingOut(
                patient=patient_id,
                plan_id=state.plan_id,
                version=state.version,
                assignment=entry.assignment,
            )

    def cancel(
        self, caller: Caller, patient_id: str, reason: str | None = None
    ) -> CancelledBookingOut:
        """Cancel a booking: the patient leaves the published plan and frees all it held; `reason` goes into the audit trail."""
        store = self.store
        with store.lock:
            with store.transaction() as session:
                version = store.lock_published(session)
                state = None if version is None else store.state_at(session, version - 1)
                entry = None if state is None else state.entries.get(patient_id)
                if state is None or entry is None or not _booked_for(caller, entry):
                    raise NotFound(f"no booking for patient {patient_id!r}")
                session.execute(
                    delete(PublishedEntry).where(PublishedEntry.patient_id == patient_id)
                )
                session.execute(
                    update(Booking)
                    .where(Booking.patient_id == patient_id, Booking.status == "active")
                    .values(status="cancelled", cancelled_at=utc_now())
                )
                record(
                    session,
                    caller.name,
                    "booking.cancelled",
                    "booking",
                    patient_id,
                    entry.assignment,
                    None,
                    reason=reason,
                )
            assert version is not None
            state.planner.release(patient_id, Assignment.model_validate(entry.assignment))
            del state.entries[patient_id]
            state.version = version
            return CancelledBookingOut(patient=patient_id, cancelled=True, version=version)


def _check_serves(caller: Caller, hospital: str) -> None:
    """Refuse a key bound to other hospitals (403 names only the key's own hospitals)."""
    if not caller.serves(hospital):
        assert caller.hospitals is not None
        raise Forbidden(
            f"this key books for {', '.join(sorted(caller.hospitals))} only, not {hospital!r}"
        )


def _booked_for(caller: Caller, entry: Entry) -> bool:
    """A booking this key may see: booked, and at one of its hospitals (else as if absent)."""
    return (
        entry.origin == "booking"
        and entry.assignment is not None
        and caller.serves(str(entry.entry.get("hospital", "")))
    )


def _stored_answer(stored: IdempotentResponse, key: str, request_hash: str) -> Answer:
    if stored.request_hash != request_hash:
        raise Unprocessable(
            f"Idempotency-Key {key!r} was already used for a different booking request"
        )
    return stored.status_code, json.loads(stored.body)
