"""What the service does, independent of HTTP: plans, the published plan, availability, bookings, audit.

The published plan lives in the database one row per patient (`published_entries`), so a
booking writes one row, and a version counter on the `published` row is the lock every change
takes first (a row lock on PostgreSQL, the write lock on SQLite). Each process keeps the
published plan in memory as fixed occupancy (`scheduler.booking.PublishedPlan`) and reloads it
when the version in the database is not the one it holds.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from api.db import (
    ApiKey,
    AuditEntry,
    Booking,
    IdempotentResponse,
    Plan,
    Published,
    PublishedEntry,
    session_factory,
    utc_now,
)
from models import (
    Assignment,
    InProgress,
    Instance,
    Patient,
    Problem,
    Schedule,
    load_instance,
    load_schedule,
    to_json,
)
from models.events import load_events
from models.orders import BookingRequest, ProspectivePatient
from models.scenarios import apply_scenario, parse_scenario
from scheduler.reporting.kpis import compare_plans
from scheduler.workflows.booking import PublishedPlan
from scheduler.workflows.replan import apply_events, resolve_as_of
from scheduler.workflows.suggest import out_of_reach, suggest_changes
from validator import compute_objective

ROLES = ("coordinator", "order-system")
FINISHED = ("done", "failed", "cancelled")


class ServiceError(Exception):
    """A client-visible refusal: HTTP status, a message and, for bad input, every problem with its path."""

    status_code = 400

    def __init__(
        self,
        detail: str,
        problems: list[Problem] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail, self.problems, self.extra = detail, problems or [], extra or {}

    def body(self) -> dict[str, Any]:
        """The JSON answer."""
        body: dict[str, Any] = {"detail": self.detail}
        if self.problems:
            body["problems"] = [{"path": p.path, "message": p.message} for p in self.problems]
        return body | self.extra


class NotFound(ServiceError):
    """An unknown id."""

    status_code = 404


class Conflict(ServiceError):
    """The request is well-formed but the site's state does not allow it."""

    status_code = 409


class Unprocessable(ServiceError):
    """Bad input: every problem, with its JSON path."""

    status_code = 422


# ----- keys ------------------------------------------------------------------------------------


def hash_key(key: str) -> str:
    """Keys are random 256-bit tokens, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(engine: Engine, name: str, role: str) -> str:
    """Create a key for a client; the key is returned once and only its hash is stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    key = "cs_" + secrets.token_urlsafe(32)
    with session_factory(engine)() as session, session.begin():
        if session.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
            raise ValueError(f"a key named {name!r} already exists")
        session.add(ApiKey(name=name, role=role, key_hash=hash_key(key), created_at=utc_now()))
    return key


# ----- the published plan in memory --------------------------------------------------------------


@dataclass
class Entry:
    """One patient or in-progress batch of the published plan."""

    patient_id: str
    kind: str  # patient|in_progress
    origin: str  # plan|booking
    ordinal: int
    entry: dict[str, Any]
    assignment: dict[str, Any] | None
    reasons: list[str] | None = None


@dataclass
class PublishedState:
    """The published plan as one process holds it."""

    plan_id: str
    version: int
    published_version: int
    published_at: datetime
    skeleton: dict[str, Any]  # the instance without patients and in-progress batches
    header: dict[str, Any]  # status, objective, bound, solve_seconds of the plan as solved
    entries: dict[str, Entry]
    planner: PublishedPlan
    site: Instance = field(init=False)  # the skeleton as a model: hospitals, products, horizon

    def __post_init__(self) -> None:
        self.site = load_instance(self.skeleton)

    def documents(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The published instance and schedule, as `cart-schedule-instance/1` and `cart-schedule/1`."""
        ordered = sorted(self.entries.values(), key=lambda e: (e.ordinal, e.patient_id))
        instance = dict(self.skeleton)
        instance["patients"] = [e.entry for e in ordered if e.kind == "patient"]
        instance["in_progress"] = [e.entry for e in ordered if e.kind == "in_progress"]
        in_progress = [e for e in ordered if e.kind == "in_progress"]
        patients = [e for e in ordered if e.kind == "patient"]
        schedule: dict[str, Any] = {
            "format": "cart-schedule/1",
            "instance": self.skeleton["name"],
            **self.header,
            "assignments": [
                e.assignment for e in in_progress + patients if e.assignment is not None
            ],
            "unscheduled": [
                {"patient": e.patient_id, "reasons": e.reasons}
                for e in patients
                if e.assignment is None
            ],
        }
        if self.version != self.published_version:
            # Bookings changed the plan: recompute the measures; only trivial bounds remain proven.
            values = compute_objective(load_instance(instance), Schedule.model_validate(schedule))
            schedule["status"] = "FEASIBLE"
            schedule["objective"] = {k: _compact(v) for k, v in values.items()}
            schedule["bound"] = {
                "scheduled_weight": _compact(
                    sum(float(p.get("weight", 1)) for p in instance["patients"])
                ),
                "plan_changes": 0,
                "wait_days": 0,
            }
        return instance, schedule


def _compact(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 6)


def _assignment_json(assignment: Assignment) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(assignment.model_dump_json(exclude_unset=True))
    return data


def _model_json(model: Patient | InProgress) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(model.model_dump_json(exclude_unset=True))
    return data


def _entries_of(instance: Instance, schedule: Schedule) -> dict[str, Entry]:
    reasons = {u.patient: list(u.reasons) for u in schedule.unscheduled}
    entries: dict[str, Entry] = {}
    for ordinal, batch in enumerate(instance.in_progress):
        assignment = schedule.assignment_of(batch.patient)
        entries[batch.patient] = Entry(
            batch.patient,
            "in_progress",
            "plan",
            ordinal,
            _model_json(batch),
            None if assignment is None else _assignment_json(assignment),
        )
    for offset, patient in enumerate(instance.patients):
        assignment = schedule.assignment_of(patient.id)
        entries[patient.id] = Entry(
            patient.id,
            "patient",
            "plan",
            len(instance.in_progress) + offset,
            _model_json(patient),
            None if assignment is None else _assignment_json(assignment),
            reasons.get(patient.id),
        )
    return entries


def _planner_of(skeleton: dict[str, Any], entries: dict[str, Entry]) -> PublishedPlan:
    ordered = sorted(entries.values(), key=lambda e: (e.ordinal, e.patient_id))
    document = dict(skeleton)
    document["patients"] = [e.entry for e in ordered if e.kind == "patient"]
    document["in_progress"] = [e.entry for e in ordered if e.kind == "in_progress"]
    instance = Instance.model_validate(document)
    assignments = [
        Assignment.model_validate(e.assignment) for e in ordered if e.assignment is not None
    ]
    schedule = Schedule(
        format="cart-schedule/1",
        instance=instance.name,
        status="FEASIBLE",
        objective=None,
        bound=None,
        solve_seconds=0,
        assignments=assignments,
        unscheduled=[],
    )
    return PublishedPlan(instance, schedule)


def _skeleton(instance_document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in instance_document.items() if k not in ("patients", "in_progress")}


# ----- the service --------------------------------------------------------------------------------


class Service:
    """Every operation of the API, over one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self._lock = (
            threading.RLock()
        )  # one change at a time in this process; the database locks across processes
        self._state: PublishedState | None = None
        self._pending: list[_PendingBooking] = []  # bookings waiting for the next group commit
        self._pending_lock = threading.Lock()
        self.plan_submitted = threading.Event()  # wakes the solve worker

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    # ----- keys and audit ---------------------------------------------------------------------

    def key_owner(self, key: str) -> tuple[str, str] | None:
        """(name, role) of a valid key."""
        with self.sessions() as session:
            row = session.scalar(
                select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
            )
            return None if row is None else (row.name, row.role)

    @staticmethod
    def _audit(
        session: Session,
        actor: str,
        action: str,
        entity: str,
        entity_id: str,
        before: Any = None,
        after: Any = None,
    ) -> None:
        session.add(
            AuditEntry(
                at=utc_now(),
                actor=actor,
                action=action,
                entity=entity,
                entity_id=entity_id,
                before=before,
                after=after,
            )
        )

    def audit(self, since: datetime | None, limit: int) -> list[dict[str, Any]]:
        """The audit trail from `since` on, oldest first."""
        with self.sessions() as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if since is not None:
                query = query.where(AuditEntry.at >= since)
            rows = session.scalars(query.limit(limit)).all()
            return [
                {
                    "id": r.id,
                    "at": r.at.isoformat(),
                    "actor": r.actor,
                    "action": r.action,
                    "entity": r.entity,
                    "entity_id": r.entity_id,
                    "before": r.before,
                    "after": r.after,
                }
                for r in rows
            ]

    # ----- plans ------------------------------------------------------------------------------

    def submit_plan(
        self, actor: str, document: dict[str, Any], time_limit: float
    ) -> dict[str, Any]:
        """Check an instance and queue its solve."""
        instance = load_instance(document)  # InstanceError: every problem, with its path
        plan = Plan(
            id=uuid.uuid4().hex,
            name=instance.name,
            status="queued",
            time_limit=time_limit,
            instance_json=json.dumps(document),
            created_by=actor,
            created_at=utc_now(),
        )
        with self._transaction() as session:
            session.add(plan)
            self._audit(
                session,
                actor,
                "plan.submitted",
                "plan",
                plan.id,
                None,
                {
                    "name": instance.name,
                    "patients": len(instance.patients),
                    "time_limit": time_limit,
                },
            )
        self.plan_submitted.set()
        return self.plan_status(plan.id)

    def submit_scenario(
        self, actor: str, plan_id: str, data: Any, time_limit: float
    ) -> dict[str, Any]:
        """A what-if: the plan's instance with changed inputs, queued as a plan of its own."""
        scenario = parse_scenario(data)  # ScenarioError: every problem, with its path
        with self.sessions() as session:
            parent = session.get(Plan, plan_id)
            if parent is None:
                raise NotFound(f"no plan {plan_id!r}")
            document = apply_scenario(json.loads(parent.instance_json), scenario)
        instance = load_instance(document)
        changes = json.loads(scenario.model_dump_json(exclude_unset=True))
        plan = Plan(
            id=uuid.uuid4().hex,
            name=instance.name,
            status="queued",
            time_limit=time_limit,
            instance_json=json.dumps(document),
            created_by=actor,
            created_at=utc_now(),
            parent_id=plan_id,
            scenario=changes,
        )
        with self._transaction() as session:
            session.add(plan)
            self._audit(
                session,
                actor,
                "plan.submitted",
                "plan",
                plan.id,
                None,
                {
                    "name": instance.name,
                    "patients": len(instance.patients),
                    "time_limit": time_limit,
                    "scenario_of": plan_id,
                    "changes": changes["changes"],
                },
            )
        self.plan_submitted.set()
        return self.plan_status(plan.id)

    def submit_replan(
        self, actor: str, plan_id: str, data: Any, time_limit: float
    ) -> dict[str, Any]:
        """Re-plan a solved plan after events: started work fixed, the previous schedule as warm start."""
        parent_instance, parent_schedule = self.plan_documents(plan_id)
        if not isinstance(data, list | dict):
            raise Unprocessable(
                "the events must be a JSON list, or an object with `events`",
                [Problem("body", f"got {type(data).__name__}")],
            )
        events = load_events(data, parent_instance)  # EventsError: every problem, with its path
        as_of = resolve_as_of(parent_instance, events)
        instance = apply_events(
            parent_instance, parent_schedule, events, as_of
        )  # ReplanError: what does not fit
        replan_of = {
            "events": json.loads(events.model_dump_json(exclude_unset=True, by_alias=True)),
            "as_of": as_of.isoformat(),
        }
        plan = Plan(
            id=uuid.uuid4().hex,
            name=instance.name,
            status="queued",
            time_limit=time_limit,
            instance_json=to_json(instance),
            created_by=actor,
            created_at=utc_now(),
            parent_id=plan_id,
            scenario={"replan": replan_of},
        )
        with self._transaction() as session:
            session.add(plan)
            self._audit(
                session,
                actor,
                "plan.submitted",
                "plan",
                plan.id,
                None,
                {
                    "name": instance.name,
                    "patients": len(instance.patients),
                    "time_limit": time_limit,
                    "replan_of": plan_id,
                    "events": len(events.events),
                    "as_of": replan_of["as_of"],
                },
            )
        self.plan_submitted.set()
        return self.plan_status(plan.id)

    def plan_diff(self, plan_id: str) -> dict[str, Any]:
        """What a re-plan changed against the plan it re-planned, and which event caused it."""
        schedule = self.plan_schedule(plan_id)
        if "diff" not in schedule:
            raise NotFound(f"plan {plan_id} is not a re-plan (it has no diff)")
        diff: dict[str, Any] = schedule["diff"]
        return diff

    def explain(self, plan_id: str, patient_id: str, time_limit: float) -> dict[str, Any]:
        """The smallest verified changes that would let an unscheduled patient of the plan be scheduled."""
        instance, schedule = self.plan_documents(plan_id)
        if patient_id not in {entry.patient for entry in schedule.unscheduled}:
            raise NotFound(f"{patient_id!r} is not an unscheduled patient of plan {plan_id}")
        found = suggest_changes(instance, schedule, patient_id, time_limit=time_limit)
        # No suggestion: say why when the patient's own data puts it out of reach (else the time ran out).
        reason = None if found else out_of_reach(instance, schedule, patient_id)
        return {
            "plan_id": plan_id,
            "patient": patient_id,
            "suggestions": [s.to_dict() for s in found],
            "out_of_reach": reason,
        }

    def compare(self, plan_ids: list[str]) -> dict[str, Any]:
        """KPIs and objective of solved plans side by side (a plan and its what-if scenarios)."""
        comparison = compare_plans([self.plan_documents(plan_id) for plan_id in plan_ids])
        for plan_id, column in zip(plan_ids, comparison["plans"], strict=True):
            column["id"] = plan_id
        return comparison

    def plan_status(self, plan_id: str) -> dict[str, Any]:
        """Status, best objective and bound so far, elapsed time."""
        with self.sessions() as session:
            plan = session.get(Plan, plan_id)
            if plan is None:
                raise NotFound(f"no plan {plan_id!r}")
            return _plan_summary(plan)

    def list_plans(self, limit: int) -> list[dict[str, Any]]:
        """The most recent plans first."""
        with self.sessions() as session:
            plans = session.scalars(
                select(Plan).order_by(Plan.created_at.desc()).limit(limit)
            ).all()
            return [_plan_summary(plan) for plan in plans]

    def _solved_plan(self, plan_id: str) -> tuple[str, str]:
        """The instance and schedule JSON of a plan that has a schedule (404 unknown, 409 not yet)."""
        with self.sessions() as session:
            plan = session.get(Plan, plan_id)
            if plan is None:
                raise NotFound(f"no plan {plan_id!r}")
            if plan.schedule_json is None:
                raise Conflict(
                    f"plan {plan_id} has no schedule yet (status {plan.status})",
                    extra={"status": plan.status},
                )
            return plan.instance_json, plan.schedule_json

    def plan_schedule(self, plan_id: str) -> dict[str, Any]:
        """The plan's schedule document."""
        schedule: dict[str, Any] = json.loads(self._solved_plan(plan_id)[1])
        return schedule

    def plan_documents(self, plan_id: str) -> tuple[Instance, Schedule]:
        """The plan's instance and schedule as models (for KPIs, pictures and workbooks)."""
        instance_json, schedule_json = self._solved_plan(plan_id)
        return load_instance(json.loads(instance_json)), load_schedule(json.loads(schedule_json))

    def cancel_plan(self, actor: str, plan_id: str) -> dict[str, Any]:
        """Stop a queued or running solve; a running one keeps its best schedule so far."""
        with self._transaction() as session:
            plan = session.get(Plan, plan_id, with_for_update=True)
            if plan is None:
                raise NotFound(f"no plan {plan_id!r}")
            if plan.status in FINISHED or plan.status == "cancelling":
                raise Conflict(
                    f"plan {plan_id} is already {plan.status}", extra={"status": plan.status}
                )
            before = plan.status
            plan.status = "cancelled" if plan.status == "queued" else "cancelling"
            if plan.status == "cancelled":
                plan.finished_at = utc_now()
            self._audit(
                session,
                actor,
                "plan.cancelled",
                "plan",
                plan_id,
                {"status": before},
                {"status": plan.status},
            )
        return self.plan_status(plan_id)

    # ----- the published plan ------------------------------------------------------------------

    def _lock_published(self, session: Session) -> int | None:
        """Take the published plan's lock for this transaction; the new version, or None if nothing is published."""
        version: int | None = session.scalar(
            update(Published)
            .where(Published.id == 1)
            .values(version=Published.version + 1)
            .returning(Published.version)
        )
        return version

    def _load_state(self, session: Session) -> PublishedState | None:
        published = session.get(Published, 1)
        if published is None:
            return None
        rows = session.scalars(select(PublishedEntry)).all()
        entries = {
            r.patient_id: Entry(
                r.patient_id,
                r.kind,
                r.origin,
                r.ordinal,
                json.loads(r.entry_json),
                None if r.assignment_json is None else json.loads(r.assignment_json),
                r.reasons,
            )
            for r in rows
        }
        plan = session.get(Plan, published.plan_id)
        assert plan is not None and plan.schedule_json is not None
        header = _header(json.loads(plan.schedule_json))
        skeleton = json.loads(published.instance_json)
        return PublishedState(
            published.plan_id,
            published.version,
            published.published_version,
            published.published_at,
            skeleton,
            header,
            entries,
            _planner_of(skeleton, entries),
        )

    def _state_at(self, session: Session, version: int) -> PublishedState | None:
        """The in-memory published plan at `version` (reloaded from this session when it is another)."""
        if self._state is None or self._state.version != version:
            self._state = self._load_state(session)
            if self._state is not None:
                self._state.version = version
        return self._state

    def current(self) -> PublishedState | None:
        """The published plan as it is in the database now."""
        with self._lock, self.sessions() as session:
            version = session.scalar(select(Published.version).where(Published.id == 1))
            if version is None:
                return None
            return self._state_at(session, version)

    def published_documents(self) -> dict[str, Any]:
        """The published instance and schedule."""
        with self._lock:
            state = self.current()
            if state is None:
                raise NotFound("no plan has been published yet")
            instance, schedule = state.documents()
            return {
                "plan_id": state.plan_id,
                "version": state.version,
                "published_at": state.published_at.isoformat(),
                "instance": instance,
                "schedule": schedule,
            }

    def publish(self, actor: str, plan_id: str) -> dict[str, Any]:
        """Make a solved plan the site's published plan, carrying every active booking over."""
        with self._lock, self._transaction() as session:
            plan = session.get(Plan, plan_id)
            if plan is None:
                raise NotFound(f"no plan {plan_id!r}")
            if plan.schedule_json is None or plan.status not in ("done", "cancelled"):
                raise Conflict(
                    f"plan {plan_id} has no schedule to publish (status {plan.status})",
                    extra={"status": plan.status},
                )
            document = json.loads(plan.instance_json)
            instance, schedule = (
                load_instance(document),
                load_schedule(json.loads(plan.schedule_json)),
            )
            if schedule.status not in ("OPTIMAL", "FEASIBLE"):
                raise Conflict(
                    f"plan {plan_id} is {schedule.status}: there is no schedule to publish"
                )
            version = self._lock_published(session)
            previous = self._state_at(session, version - 1) if version is not None else None
            entries = _entries_of(instance, schedule)
            planner = _planner_of(_skeleton(document), entries)
            conflicts = _carry_bookings(previous, instance, entries, planner)
            if conflicts:
                raise Conflict(
                    f"plan {plan_id} does not keep every confirmed booking; re-plan with them included",
                    extra={"conflicts": conflicts},
                )
            now = utc_now()
            # Bookings re-placed into the plan change it: its own objective and bounds no longer describe it.
            replaced = any(
                e.origin == "booking" and e.patient_id not in {p.id for p in instance.patients}
                for e in entries.values()
            )
            session.execute(delete(PublishedEntry))
            session.add_all(
                PublishedEntry(
                    patient_id=e.patient_id,
                    kind=e.kind,
                    origin=e.origin,
                    ordinal=e.ordinal,
                    entry_json=json.dumps(e.entry),
                    reasons=e.reasons,
                    assignment_json=None if e.assignment is None else json.dumps(e.assignment),
                )
                for e in entries.values()
            )
            skeleton = _skeleton(document)
            if version is None:
                version = 1
                session.add(
                    Published(
                        id=1,
                        plan_id=plan_id,
                        version=version,
                        published_version=version,
                        instance_json=json.dumps(skeleton),
                        published_at=now,
                    )
                )
            else:
                session.execute(
                    update(Published)
                    .where(Published.id == 1)
                    .values(
                        plan_id=plan_id,
                        published_version=0 if replaced else version,
                        instance_json=json.dumps(skeleton),
                        published_at=now,
                    )
                )
            self._audit(
                session,
                actor,
                "plan.published",
                "plan",
                plan_id,
                None
                if previous is None
                else {"plan_id": previous.plan_id, "version": previous.version},
                {
                    "plan_id": plan_id,
                    "version": version,
                    "carried_bookings": sorted(
                        e.patient_id for e in entries.values() if e.origin == "booking"
                    ),
                },
            )
            state = PublishedState(
                plan_id,
                version,
                0 if replaced else version,
                now,
                skeleton,
                _header(json.loads(plan.schedule_json)),
                entries,
                planner,
            )
        self._state = state
        return {"plan_id": plan_id, "version": version, "published_at": now.isoformat()}

    # ----- availability and bookings -------------------------------------------------------------

    def availability(self, prospective: ProspectivePatient) -> dict[str, Any]:
        """Every apheresis date the published plan can still offer this patient, best delivery first."""
        with self._lock:
            state = self._required_state()
            problems = prospective.problems(state.site)
            if problems:
                raise Unprocessable(
                    "the patient cannot be considered against the published plan", problems
                )
            answer = state.planner.availability(prospective.as_patient("(prospective)"))
            return {
                "plan_id": state.plan_id,
                "version": state.version,
                "offers": [
                    {
                        "apheresis_date": offer.apheresis_date.isoformat(),
                        "manufacturing_start": offer.assignment.manufacturing_start.isoformat(),
                        "suite": offer.assignment.suite,
                        "release_date": offer.assignment.release_date.isoformat(),
                        "delivery_date": offer.assignment.delivery_date.isoformat(),
                    }
                    for offer in answer.offers
                ],
                "unavailable": [
                    {"apheresis_date": day.isoformat(), "reason": reason}
                    for day, reason in sorted(answer.unavailable.items())
                ],
            }

    def _required_state(self) -> PublishedState:
        state = self.current()
        if state is None:
            raise Conflict(
                "no plan has been published yet: availability and bookings work against the published plan"
            )
        return state

    def book(
        self, actor: str, idempotency_key: str, request: BookingRequest
    ) -> tuple[int, dict[str, Any]]:
        """Book a patient on a date: 201 with its assignment, or 409 with the reason; replayed per Idempotency-Key.

        Bookings that arrive while another is being written are written together, in one
        transaction (group commit): each is still placed against everything booked before it,
        and no answer is given before the transaction holding it has committed.
        """
        request_hash = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
        replay = self._replay(
            actor, idempotency_key, request_hash
        )  # a retry need not wait for the lock
        if replay is not None:
            return replay
        item = _PendingBooking(actor, idempotency_key, request_hash, request)
        with self._pending_lock:
            self._pending.append(item)
        with self._lock:
            if (
                not item.done.is_set()
            ):  # nobody wrote it yet: write everything waiting, this one included
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                self._book_batch(batch)
        if item.error is not None:
            raise item.error
        assert item.answer is not None
        return item.answer

    def _replay(
        self, actor: str, idempotency_key: str, request_hash: str
    ) -> tuple[int, dict[str, Any]] | None:
        with self.sessions() as session:
            stored = session.get(IdempotentResponse, (actor, idempotency_key))
            return None if stored is None else _stored_answer(stored, idempotency_key, request_hash)

    def _book_batch(self, batch: list[_PendingBooking]) -> None:
        """Place and write a batch of bookings in one transaction; every item gets its answer or error."""
        taken: list[tuple[Patient, Assignment, Entry]] = []
        state: PublishedState | None = None
        try:
            with self._transaction() as session:
                version = self._lock_published(session)
                if version is None:
                    raise Conflict(
                        "no plan has been published yet: availability and bookings work against the published plan"
                    )
                state = self._state_at(session, version - 1)
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
            for item in (
                batch
            ):  # nothing of the batch was written: a request's own mistake stays its answer
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
    ) -> tuple[int, dict[str, Any]]:
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
            assignment = _assignment_json(placed)
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
                patient.id, "patient", "booking", ordinal, _model_json(patient), assignment
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
            self._audit(
                session, item.actor, "booking.made", "booking", patient.id, None, assignment
            )
            state.planner.take(
                patient, placed
            )  # later bookings of the batch see it; undone if the commit fails
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

    def booking(self, patient_id: str) -> dict[str, Any]:
        """A booked patient's assignment in the published plan."""
        with self._lock:
            state = self.current()
            entry = None if state is None else state.entries.get(patient_id)
            if state is None or entry is None or entry.origin != "booking":
                raise NotFound(f"no booking for patient {patient_id!r}")
            return {
                "patient": patient_id,
                "plan_id": state.plan_id,
                "version": state.version,
                "assignment": entry.assignment,
            }

    def cancel_booking(self, actor: str, patient_id: str) -> dict[str, Any]:
        """Cancel a booking: the patient leaves the published plan and frees all it held."""
        with self._lock:
            with self._transaction() as session:
                version = self._lock_published(session)
                state = None if version is None else self._state_at(session, version - 1)
                entry = None if state is None else state.entries.get(patient_id)
                if (
                    state is None
                    or entry is None
                    or entry.origin != "booking"
                    or entry.assignment is None
                ):
                    raise NotFound(f"no booking for patient {patient_id!r}")
                session.execute(
                    delete(PublishedEntry).where(PublishedEntry.patient_id == patient_id)
                )
                session.execute(
                    update(Booking)
                    .where(Booking.patient_id == patient_id, Booking.status == "active")
                    .values(status="cancelled", cancelled_at=utc_now())
                )
                self._audit(
                    session,
                    actor,
                    "booking.cancelled",
                    "booking",
                    patient_id,
                    entry.assignment,
                    None,
                )
            assert version is not None
            state.planner.release(patient_id, Assignment.model_validate(entry.assignment))
            del state.entries[patient_id]
            state.version = version
            return {"patient": patient_id, "cancelled": True, "version": version}


@dataclass
class _PendingBooking:
    """A booking request waiting for the transaction that writes it."""

    actor: str
    key: str
    request_hash: str
    request: BookingRequest
    done: threading.Event = field(default_factory=threading.Event)
    answer: tuple[int, dict[str, Any]] | None = None
    error: Exception | None = None


def _stored_answer(
    stored: IdempotentResponse, key: str, request_hash: str
) -> tuple[int, dict[str, Any]]:
    if stored.request_hash != request_hash:
        raise Unprocessable(
            f"Idempotency-Key {key!r} was already used for a different booking request"
        )
    return stored.status_code, json.loads(stored.body)


def _carry_bookings(
    previous: PublishedState | None,
    instance: Instance,
    entries: dict[str, Entry],
    planner: PublishedPlan,
) -> list[str]:
    """Keep every active booking in a plan about to be published; what cannot be kept, in words."""
    if previous is None:
        return []
    conflicts = []
    next_ordinal = max((e.ordinal for e in entries.values()), default=0) + 1
    for booked in sorted(
        (e for e in previous.entries.values() if e.origin == "booking"), key=lambda e: e.ordinal
    ):
        assert booked.assignment is not None
        day = booked.assignment["apheresis_date"]
        if booked.patient_id in entries:
            kept = entries[booked.patient_id]
            if kept.assignment is None:
                conflicts.append(
                    f"booked patient {booked.patient_id} (apheresis {day}) is unscheduled in the new plan"
                )
            elif kept.assignment.get("apheresis_date") != day:
                conflicts.append(
                    f"booked patient {booked.patient_id} is moved from {day} to {kept.assignment.get('apheresis_date')}"
                )
            else:
                kept.origin = "booking"
            continue
        patient = Patient.model_validate(booked.entry)
        if (
            patient.hospital not in instance.hospital_by_id
            or patient.product not in instance.product_by_id
        ):
            conflicts.append(
                f"booked patient {patient.id}: hospital {patient.hospital!r} or product {patient.product!r} is not in the new plan"
            )
            continue
        placed = planner.place(patient, date.fromisoformat(day))
        if isinstance(placed, str):
            conflicts.append(
                f"booked patient {patient.id} (apheresis {day}) no longer fits: {placed}"
            )
            continue
        planner.take(patient, placed)
        entries[patient.id] = Entry(
            patient.id, "patient", "booking", next_ordinal, booked.entry, _assignment_json(placed)
        )
        next_ordinal += 1
    return conflicts


def _header(schedule: dict[str, Any]) -> dict[str, Any]:
    return {key: schedule.get(key) for key in ("status", "objective", "bound", "solve_seconds")}


def _plan_summary(plan: Plan) -> dict[str, Any]:
    now = utc_now()
    elapsed = None
    if plan.started_at is not None:
        elapsed = round(((plan.finished_at or now) - plan.started_at).total_seconds(), 3)
    result = None
    if plan.schedule_json is not None:
        result = _header(json.loads(plan.schedule_json))
    return {
        "id": plan.id,
        "name": plan.name,
        "status": plan.status,
        "time_limit": plan.time_limit,
        "created_by": plan.created_by,
        "created_at": plan.created_at.isoformat(),
        "started_at": None if plan.started_at is None else plan.started_at.isoformat(),
        "finished_at": None if plan.finished_at is None else plan.finished_at.isoformat(),
        "elapsed_seconds": elapsed,
        "progress": plan.progress,
        "result": result,
        "error": plan.error,
        "parent_id": plan.parent_id,
        "scenario": plan.scenario,
    }
