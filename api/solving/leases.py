"""Who solves a plan, until when: a lease in the plan's row, kept alive by a heartbeat.

A process (an API server's embedded worker or a Celery worker) may solve a plan only while
it holds the plan's lease. It takes a queued plan, or a plan whose holder stopped renewing
(killed, partitioned), and renews every `HEARTBEAT_SECONDS`. Only the holder may write the
result, so a plan ends `done` exactly once however often its message is delivered. A
restarting server takes over only plans whose lease expired, never a live one.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Result, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db import Plan, Simulation, utc_now
from api.services.audit import record

LEASE_SECONDS = 10.0
HEARTBEAT_SECONDS = 2.0
RUNNING = ("solving", "cancelling")


def new_owner(kind: str) -> str:
    """A name for one solving attempt: where it runs and a unique tail (fits the audit's actor)."""
    return f"{kind}@{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE changed."""
    return int(cast(CursorResult[Any], result).rowcount)


def still_expired(
    table: type[Plan] | type[Simulation], lease_owner: str | None, now: datetime
) -> ColumnElement[bool]:
    """For the UPDATE of a recovery: the row is still held by the expired lease read before.

    The recovery's `SELECT ... FOR UPDATE` locks nothing on SQLite, so a worker may take the
    row over (a new owner, a fresh lease) between that read and the UPDATE; checked again in
    the UPDATE itself, a live lease taken meanwhile is never requeued from under its holder.
    """
    return and_(
        table.lease_owner.is_not_distinct_from(lease_owner),
        or_(table.lease_expires.is_(None), table.lease_expires < now),
    )


def claim(sessions: sessionmaker[Session], plan_id: str, owner: str) -> bool:
    """Take the plan if it is queued or its holder's lease expired; audited. True when taken."""
    return claim_leased(sessions, Plan, plan_id, owner, "plan", "solving", {"progress": None})


def claim_leased(
    sessions: sessionmaker[Session],
    table: type[Plan] | type[Simulation],
    row_id: str,
    owner: str,
    kind: str,
    running: str,
    reset: dict[str, Any],
) -> bool:
    """Take a queued row, or a `running` one whose holder's lease expired, for `owner`; audited
    as `<kind>.started` or `<kind>.taken_over`. `reset` are further columns set on taking it."""
    now = utc_now()
    with sessions() as session, session.begin():
        before = session.execute(
            select(table.status, table.lease_owner).where(table.id == row_id)
        ).first()
        if before is None:
            return False
        taken = session.execute(
            update(table)
            .where(
                table.id == row_id,
                or_(
                    table.status == "queued",
                    (table.status == running) & (table.lease_expires < now),
                ),
            )
            .values(
                status=running,
                started_at=now,
                lease_owner=owner,
                lease_expires=now + timedelta(seconds=LEASE_SECONDS),
                **reset,
            )
        )
        if rows_changed(taken) != 1:
            return False
        record(
            session,
            owner,
            f"{kind}.started" if before.status == "queued" else f"{kind}.taken_over",
            kind,
            row_id,
            {"status": before.status, "lease_owner": before.lease_owner},
            {"status": running, "lease_owner": owner},
        )
        return True


def heartbeat(sessions: sessionmaker[Session], plan_id: str, owner: str) -> bool:
    """Renew the lease; False when this owner lost it (then it must stop and write nothing)."""
    with sessions() as session, session.begin():
        renewed = session.execute(
            update(Plan)
            .where(Plan.id == plan_id, Plan.lease_owner == owner, Plan.status.in_(RUNNING))
            .values(lease_expires=utc_now() + timedelta(seconds=LEASE_SECONDS))
        )
        return rows_changed(renewed) == 1


def holder(sessions: sessionmaker[Session], plan_id: str) -> tuple[str, bool] | None:
    """(status, whether a live lease holds it) of a plan, or None when unknown."""
    with sessions() as session:
        row = session.execute(
            select(Plan.status, Plan.lease_expires).where(Plan.id == plan_id)
        ).first()
        if row is None:
            return None
        live = row.lease_expires is not None and row.lease_expires >= utc_now()
        return str(row.status), live


def recover_expired(sessions: sessionmaker[Session], actor: str) -> list[str]:
    """Plans whose holder died: solving ones queued again, cancelling ones cancelled; audited.

    Live leases are left alone, so another server's running solve is never disturbed.
    """
    return recover_leased(
        sessions, Plan, "plan", "solving", {"progress": None}, actor, doing="solving"
    )


def recover_leased(
    sessions: sessionmaker[Session],
    table: type[Plan] | type[Simulation],
    kind: str,
    running: str,
    reset: dict[str, Any],
    actor: str,
    doing: str,
) -> list[str]:
    """Rows whose holder's lease expired: `running` ones queued again (`reset` are further
    columns cleared), cancelling ones cancelled; audited as `<kind>.requeued` or
    `<kind>.cancelled`. The ids queued again, oldest first."""
    now = utc_now()
    requeued = []
    with sessions() as session, session.begin():
        expired = session.execute(
            select(table.id, table.status, table.lease_owner)
            .where(
                table.status.in_((running, "cancelling")),
                or_(table.lease_expires.is_(None), table.lease_expires < now),
            )
            .order_by(table.created_at)
            .with_for_update(skip_locked=True)
        ).all()
        for row_id, status, lease_owner in expired:
            values: dict[str, Any]
            if status == running:
                values = {"status": "queued", "started_at": None, **reset}
                after = "queued"
            else:
                values = {"status": "cancelled", "finished_at": now}
                after = "cancelled"
            recovered = session.execute(
                update(table)
                .where(
                    table.id == row_id,
                    table.status == status,
                    still_expired(table, lease_owner, now),
                )
                .values(lease_owner=None, lease_expires=None, **values)
            )
            if rows_changed(recovered) != 1:
                continue  # taken over meanwhile by a live holder: not ours to requeue
            if after == "queued":
                requeued.append(str(row_id))
            record(
                session,
                actor,
                f"{kind}.{'requeued' if after == 'queued' else 'cancelled'}",
                kind,
                str(row_id),
                {"status": status, "lease_owner": lease_owner},
                {"status": after},
                reason=f"the process {doing} it ({lease_owner or 'unknown'}) stopped renewing its lease",
            )
    return requeued
