"""The audit trail: every change appended in the transaction that makes it, read oldest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import AuditEntry, utc_now
from api.schemas import AuditOut
from api.store import Store


def record(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one change to the audit trail, in the caller's transaction."""
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


class AuditService:
    """Reads the audit trail (the API only ever appends to it)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def entries(self, since: datetime | None, limit: int) -> list[AuditOut]:
        """The audit trail from `since` on, oldest first."""
        with self.store.sessions() as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if since is not None:
                query = query.where(AuditEntry.at >= since)
            rows = session.scalars(query.limit(limit)).all()
            return [
                AuditOut(
                    id=r.id,
                    at=r.at.isoformat(),
                    actor=r.actor,
                    action=r.action,
                    entity=r.entity,
                    entity_id=r.entity_id,
                    before=r.before,
                    after=r.after,
                )
                for r in rows
            ]
