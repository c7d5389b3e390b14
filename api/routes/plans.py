"""Coordinators' plans: submit, watch, read, cancel; what-if scenarios, re-plans and suggestions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from api.deps import Coordinator, Plans
from api.routes.responses import errors
from api.schemas import ComparisonOut, DiffOut, PlanOut, SuggestionsOut
from models import Schedule

router = APIRouter(prefix="/v1/plans", tags=["plans"])

TimeLimit = Annotated[float, Query(gt=0, le=3600)]


@router.post("", status_code=202, response_model=PlanOut, responses=errors(401, 403, 422))
def submit_plan(
    actor: Coordinator,
    plans: Plans,
    instance: Annotated[
        dict[str, Any],
        Body(description="A `cart-schedule-instance/1` document (SPEC section 5)"),
    ],
    time_limit: Annotated[
        float, Query(gt=0, le=3600, description="seconds the solver may take")
    ] = 60.0,
) -> PlanOut:
    """Submit a weekly plan; it is solved off the request path."""
    return plans.submit(actor, instance, time_limit)


@router.get("", response_model=list[PlanOut], responses=errors(401, 403, 422))
def list_plans(
    _actor: Coordinator, plans: Plans, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[PlanOut]:
    """The most recent plans first."""
    return plans.recent(limit)


@router.get("/{plan_id}", response_model=PlanOut, responses=errors(401, 403, 404))
def get_plan(_actor: Coordinator, plans: Plans, plan_id: str) -> PlanOut:
    """Status, best objective and bound so far, elapsed time."""
    return plans.status(plan_id)


@router.get(
    "/{plan_id}/schedule",
    response_model=Schedule,
    # The stored document as it was written: optional fields only where they were given.
    response_model_exclude_unset=True,
    responses=errors(401, 403, 404, 409),
)
def get_plan_schedule(_actor: Coordinator, plans: Plans, plan_id: str) -> Schedule:
    """The plan's schedule (`cart-schedule/1`)."""
    return plans.schedule(plan_id)


@router.post(
    "/{plan_id}/scenarios",
    status_code=202,
    response_model=PlanOut,
    responses=errors(401, 403, 404, 422),
)
def submit_scenario(
    actor: Coordinator,
    plans: Plans,
    plan_id: str,
    scenario: Annotated[
        dict[str, Any],
        Body(
            description='{"name": ..., "changes": [{"kind": "operators_added" | "suite_removed" | "suite_added" | "qc_capacity_changed" | "chairs_changed" | "starts_per_day_changed", ...}]}'
        ),
    ],
    time_limit: TimeLimit = 60.0,
) -> PlanOut:
    """What if: solve the plan again with changed inputs (e.g. two more operators on weekends, one suite less)."""
    return plans.submit_scenario(actor, plan_id, scenario, time_limit)


@router.post(
    "/{plan_id}/replan",
    status_code=202,
    response_model=PlanOut,
    responses=errors(401, 403, 404, 409, 422),
)
def submit_replan(
    actor: Coordinator,
    plans: Plans,
    plan_id: str,
    events: Annotated[
        Any,
        Body(description="events: a list, or {format: cart-schedule-events/1, as_of, events}"),
    ],
    time_limit: TimeLimit = 60.0,
) -> PlanOut:
    """Re-plan after events (patient added/cancelled/delayed, batch failed, suite down, operator absent, QC changes)."""
    return plans.submit_replan(actor, plan_id, events, time_limit)


@router.get("/{plan_id}/diff", response_model=DiffOut, responses=errors(401, 403, 404, 409))
def get_plan_diff(_actor: Coordinator, plans: Plans, plan_id: str) -> DiffOut:
    """What a re-plan changed: who moved, from what to what, by how many days, and which event caused it."""
    return plans.diff(plan_id)


def suggestions(
    _actor: Coordinator,
    plans: Plans,
    plan_id: str,
    patient_id: str,
    time_limit: Annotated[float, Query(gt=0, le=120)] = 10.0,
) -> SuggestionsOut:
    """The smallest verified changes that would let this unscheduled patient be scheduled."""
    return plans.suggestions(plan_id, patient_id, time_limit)


# Optional details of a change (shift, operator, …) appear only when they apply.
_SUGGESTIONS: dict[str, Any] = {
    "response_model": SuggestionsOut,
    "response_model_exclude_unset": True,
    "responses": errors(401, 403, 404, 409, 422),
}
router.add_api_route(
    "/{plan_id}/suggestions/{patient_id}", suggestions, methods=["GET"], **_SUGGESTIONS
)
# The former name: `explain` now means the reasons a patient is unscheduled, not what would let it in.
router.add_api_route(
    "/{plan_id}/explain/{patient_id}",
    suggestions,
    methods=["GET"],
    name="explain",
    deprecated=True,
    **_SUGGESTIONS,
)


@router.get(
    "/{plan_id}/compare",
    response_model=ComparisonOut,
    responses=errors(401, 403, 404, 409, 422),
)
def compare(
    _actor: Coordinator,
    plans: Plans,
    plan_id: str,
    with_: Annotated[
        str, Query(alias="with", min_length=1, description="comma-separated plan ids")
    ],
) -> ComparisonOut:
    """The plan's objective and KPIs side by side with other plans (its scenarios)."""
    others = [part.strip() for part in with_.split(",") if part.strip()]
    return plans.compare([plan_id, *others])


@router.delete("/{plan_id}", response_model=PlanOut, responses=errors(401, 403, 404, 409))
def cancel_plan(actor: Coordinator, plans: Plans, plan_id: str) -> PlanOut:
    """Cancel the solve: it stops within 2 s and keeps its best schedule so far."""
    return plans.cancel(actor, plan_id)
