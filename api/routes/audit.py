"""The audit trail, read-only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Audit, Coordinator
from api.routes.responses import errors
from api.schemas import AuditOut

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/audit", response_model=list[AuditOut], responses=errors(401, 403, 422))
def audit(
    _actor: Coordinator,
    trail: Audit,
    since: Annotated[
        datetime | None, Query(description="ISO 8601 instant; entries at or after it")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> list[AuditOut]:
    """Every change, oldest first: time, key name, action, ids, before and after. Read-only."""
    # An instant without a zone is read as UTC, the zone the trail is kept in.
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return trail.entries(since, limit)
