"""The one store of the service: database sessions and the published plan, in memory and its lock.

The published plan lives in the database one row per patient (`published_entries`), so a
booking writes one row, and a version counter on the `published` row is the lock every change
takes first (a row lock on PostgreSQL, the write lock on SQLite). Each process keeps the
published plan in memory as fixed occupancy (`scheduler.workflows.booking.PublishedPlan`) and
reloads it when the version in the database is not the one it holds. Every service that reads
or changes the published plan goes through the one `Store` of the process, so they share that
view and its lock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from api.db import Plan, Published, PublishedEntry, session_factory
from api.errors import Conflict
from models import Assignment, InProgress, Instance, Patient, Schedule, load_instance
from scheduler.workflows.booking import PublishedPlan
from validator import compute_objective

NOTHING_PUBLISHED = (
    "no plan has been published yet: availability and bookings work against the published plan"
)


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


def assignment_json(assignment: Assignment) -> dict[str, Any]:
    """An assignment as the JSON the published plan stores (only the fields that were set)."""
    data: dict[str, Any] = json.loads(assignment.model_dump_json(exclude_unset=True))
    return data


def model_json(model: Patient | InProgress) -> dict[str, Any]:
    """A patient or in-progress entry as the JSON the published plan stores."""
    data: dict[str, Any] = json.loads(model.model_dump_json(exclude_unset=True))
    return data


def header_of(schedule: dict[str, Any]) -> dict[str, Any]:
    """Status, objective, bound and solve time of a schedule document."""
    return {key: schedule.get(key) for key in ("status", "objective", "bound", "solve_seconds")}


def planner_of(skeleton: dict[str, Any], entries: dict[str, Entry]) -> PublishedPlan:
    """The fixed occupancy of a published plan, for placing bookings into it."""
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


class Store:
    """Sessions over one database, and this process's view of the published plan with its lock."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        # One change at a time in this process; the database's version lock serialises processes.
        self.lock = threading.RLock()
        self._state: PublishedState | None = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction, committed when the block ends without an error."""
        with self.sessions() as session, session.begin():
            yield session

    def lock_published(self, session: Session) -> int | None:
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
        header = header_of(json.loads(plan.schedule_json))
        skeleton = json.loads(published.instance_json)
        return PublishedState(
            published.plan_id,
            published.version,
            published.published_version,
            published.published_at,
            skeleton,
            header,
            entries,
            planner_of(skeleton, entries),
        )

    def state_at(self, session: Session, version: int) -> PublishedState | None:
        """The in-memory published plan at `version` (reloaded from this session when it is another)."""
        if self._state is None or self._state.version != version:
            self._state = self._load_state(session)
            if self._state is not None:
                self._state.version = version
        return self._state

    def current(self) -> PublishedState | None:
        """The published plan as it is in the database now."""
        with self.lock, self.sessions() as session:
            version = session.scalar(select(Published.version).where(Published.id == 1))
            if version is None:
                return None
            return self.state_at(session, version)

    def required(self) -> PublishedState:
        """The published plan now; 409 if nothing has been published."""
        state = self.current()
        if state is None:
            raise Conflict(NOTHING_PUBLISHED)
        return state

    def replace(self, state: PublishedState) -> None:
        """Hold a newly published plan (after its transaction committed)."""
        self._state = state
