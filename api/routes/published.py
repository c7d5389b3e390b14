"""The site's published plan: publish a solved plan (signed with a reason), read the published one and every published version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import Coordinator, PublishedPlans, Reader
from api.routes.responses import errors
from api.schemas import (
    PublishedOut,
    PublishedVersionOut,
    PublishedVersionSummaryOut,
    PublishIn,
    PublishOut,
)

router = APIRouter(prefix="/v1", tags=["plans"])


@router.post(
    "/plans/{plan_id}/publish",
    response_model=PublishOut,
    responses=errors(401, 403, 404, 409, 422),
)
def publish(
    actor: Coordinator, service: PublishedPlans, plan_id: str, signed: PublishIn
) -> PublishOut:
    """Make the plan the site's published plan (every confirmed booking is carried over, or nothing changes).

    The body is the coordinator's signature: a reason and the meaning of publishing (default
    "approved for production"); both go into the audit trail with the key's name and the time,
    and the plan as published is kept as the next version (`/v1/published/versions`).
    """
    return service.publish(actor, plan_id, signed)


@router.get(
    "/published",
    response_model=PublishedOut,
    # Instance and schedule as stored: optional fields only where they were given.
    response_model_exclude_unset=True,
    responses=errors(401, 403, 404),
)
def published(_actor: Coordinator, service: PublishedPlans) -> PublishedOut:
    """The published plan, bookings included: instance and schedule."""
    return service.documents()


@router.get(
    "/published/versions",
    response_model=list[PublishedVersionSummaryOut],
    tags=["published versions"],
    responses=errors(401, 403),
)
def published_versions(_actor: Reader, service: PublishedPlans) -> list[PublishedVersionSummaryOut]:
    """Every plan ever published, oldest first: number, plan, who, when, reason and meaning."""
    return service.versions()


@router.get(
    "/published/versions/{n}",
    response_model=PublishedVersionOut,
    response_model_exclude_unset=True,
    tags=["published versions"],
    responses=errors(401, 403, 404, 422),
)
def published_version(
    _actor: Reader,
    service: PublishedPlans,
    n: Annotated[int, Path(ge=1, le=2**31 - 1, description="the publication's number, from 1")],
) -> PublishedVersionOut:
    """One published version: the instance and schedule exactly as published, who, when, why."""
    return service.version(n)
