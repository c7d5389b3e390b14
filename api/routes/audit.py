"""The audit trail, read-only: JSON, or CSV for an inspector."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from api.deps import Audit, Coordinator
from api.routes.responses import errors
from api.schemas import AuditOut

router = APIRouter(prefix="/v1", tags=["audit"])

CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the trail; as CSV with `format=csv`",
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get("/audit", response_model=list[AuditOut], responses=errors(401, 403, 422) | CSV_ANSWER)
def audit(
    _actor: Coordinator,
    trail: Audit,
    since: Annotated[
        datetime | None, Query(description="ISO 8601 instant; entries at or after it")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    output: Annotated[
        Literal["json", "csv"],
        Query(
            alias="format", description="`csv`: one row per entry, before and after as JSON text"
        ),
    ] = "json",
) -> list[AuditOut] | Response:
    """Every change, oldest first: time, key name, action, ids, before and after, reason, request id, hash chain. Read-only."""
    # An instant without a zone is read as UTC, the zone the trail is kept in.
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if output == "csv":
        return Response(
            trail.csv(since, limit),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    return trail.entries(since, limit)
