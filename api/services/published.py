"""The site's published plan: publishing a solved plan (confirmed bookings carried over) and reading it."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, update

from api.db import Plan, Published, PublishedEntry, PublishedVersion, utc_now
from api.errors import Conflict, NotFound
from api.schemas import (
    PublishedOut,
    PublishedVersionOut,
    PublishedVersionSummaryOut,
    PublishIn,
    PublishOut,
)
from api.services.audit import record
from api.store import (
    Entry,
    PublishedState,
    Store,
    assignment_json,
    header_of,
    model_json,
    planner_of,
)
from models import Instance, Patient, Schedule, load_instance, load_schedule
from scheduler.workflows.booking import PublishedPlan


class PublishedService:
    """Publishes plans into the store and reads the published plan back."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def documents(self) -> PublishedOut:
        """The published instance and schedule."""
        with self.store.lock:
            state = self.store.current()
            if state is None:
                raise NotFound("no plan has been published yet")
            instance, schedule = state.documents()
            return PublishedOut.model_validate(
                {
                    "plan_id": state.plan_id,
                    "version": state.version,
                    "published_at": state.published_at.isoformat(),
                    "instance": instance,
                    "schedule": schedule,
                }
            )

    def publish(self, actor: str, plan_id: str, signed: PublishIn) -> PublishOut:
        """Make a solved plan the site's published plan, carrying every active booking over.

        The coordinator signs it: key name, time, meaning and reason go into the audit trail,
        and the plan as published becomes the next of the published versions.
        """
        store = self.store
        with store.lock, store.transaction() as session:
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
            version = store.lock_published(session)
            previous = store.state_at(session, version - 1) if version is not None else None
            entries = _entries_of(instance, schedule)
            planner = planner_of(_skeleton(document), entries)
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
            state = PublishedState(
                plan_id,
                version,
                0 if replaced else version,
                now,
                skeleton,
                header_of(json.loads(plan.schedule_json)),
                entries,
                planner,
            )
            published_instance, published_schedule = state.documents()
            n = (session.scalar(select(func.max(PublishedVersion.n))) or 0) + 1
            session.add(
                PublishedVersion(
                    n=n,
                    plan_id=plan_id,
                    instance_json=json.dumps(published_instance),
                    schedule_json=json.dumps(published_schedule),
                    published_by=actor,
                    published_at=now,
                    reason=signed.reason,
                    meaning=signed.meaning,
                )
            )
            record(
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
                    "published_version": n,
                    "carried_bookings": sorted(
                        e.patient_id for e in entries.values() if e.origin == "booking"
                    ),
                    "signature": {
                        "key": actor,
                        "at": now.isoformat(),
                        "meaning": signed.meaning,
                        "reason": signed.reason,
                    },
                },
                reason=signed.reason,
            )
        # Only once the transaction has committed does this process hold the new plan.
        store.replace(state)
        return PublishOut(plan_id=plan_id, version=version, published_at=now.isoformat(), n=n)

    def versions(self) -> list[PublishedVersionSummaryOut]:
        """Every publication, oldest first (who, when, why, with what meaning)."""
        with self.store.sessions() as session:
            rows = session.execute(
                select(
                    PublishedVersion.n,
                    PublishedVersion.plan_id,
                    PublishedVersion.published_by,
                    PublishedVersion.published_at,
                    PublishedVersion.reason,
                    PublishedVersion.meaning,
                ).order_by(PublishedVersion.n)
            ).all()
            return [
                PublishedVersionSummaryOut(
                    n=r.n,
                    plan_id=r.plan_id,
                    published_by=r.published_by,
                    published_at=r.published_at.isoformat(),
                    reason=r.reason,
                    meaning=r.meaning,
                )
                for r in rows
            ]

    def version(self, n: int) -> PublishedVersionOut:
        """One publication, with the instance and schedule as they were published."""
        with self.store.sessions() as session:
            row = session.get(PublishedVersion, n)
            if row is None:
                raise NotFound(f"no published version {n}")
            return PublishedVersionOut.model_validate(
                {
                    "n": row.n,
                    "plan_id": row.plan_id,
                    "published_by": row.published_by,
                    "published_at": row.published_at.isoformat(),
                    "reason": row.reason,
                    "meaning": row.meaning,
                    "instance": json.loads(row.instance_json),
                    "schedule": json.loads(row.schedule_json),
                }
            )


def _skeleton(instance_document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in instance_document.items() if k not in ("patients", "in_progress")}


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
            model_json(batch),
            None if assignment is None else assignment_json(assignment),
        )
    for offset, patient in enumerate(instance.patients):
        assignment = schedule.assignment_of(patient.id)
        entries[patient.id] = Entry(
            patient.id,
            "patient",
            "plan",
            len(instance.in_progress) + offset,
            model_json(patient),
            None if assignment is None else assignment_json(assignment),
            reasons.get(patient.id),
        )
    return entries


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
            patient.id, "patient", "booking", next_ordinal, booked.entry, assignment_json(placed)
        )
        next_ordinal += 1
    return conflicts
