"""The site's published plan: publish a solved plan, read the published one."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Coordinator, PublishedPlans
from api.routes.responses import errors
from api.schemas import PublishedOut, PublishOut

router = APIRouter(prefix="/v1", tags=["plans"])


@router.post(
    "/plans/{plan_id}/publish", response_model=PublishOut, responses=errors(401, 403, 404, 409)
)
def publish(actor: Coordinator, service: PublishedPlans, plan_id: str) -> PublishOut:
    """Make the plan the site's published plan (every confirmed booking is carried over, or nothing changes)."""
    return service.publish(actor, plan_id)


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
