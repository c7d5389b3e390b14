"""Coordinators' plans: submit, watch, read, cancel; what-if scenarios, re-plans and suggestions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BeforeValidator, Field, RootModel

from api.deps import Coordinator, Plans
from api.routes.responses import errors
from api.schemas import ComparisonOut, DiffOut, PlanOut, SuggestionsOut
from models import Instance, Schedule
from models.events import EventsDocument
from models.scenarios import Scenario

router = APIRouter(prefix="/v1/plans", tags=["plans"])

TimeLimit = Annotated[float, Query(gt=0, le=3600)]


def _as_sent(value: Any) -> Any:
    return value


# The request bodies are declared with their formats' schemas (`json_schema_input_type`: the
# OpenAPI document and generated clients see them) but passed on as sent: the services parse them
# with the formats' own loaders, which report every problem at once with its JSON path (a 422 of
# `{"detail": "the document has problems", "problems": [...]}`), and look for the plan first.
InstanceBody = Annotated[
    dict[str, Any],
    BeforeValidator(_as_sent, json_schema_input_type=Instance),
    Body(description="A `cart-schedule-instance/1` document (docs/FORMATS.md)"),
]
# A list of scenarios is queued as one plan each (solved at once by the Celery workers).
MAX_SCENARIOS = 20
ScenarioBody = Annotated[
    dict[str, Any] | Annotated[list[Any], Field(min_length=1, max_length=MAX_SCENARIOS)],
    BeforeValidator(
        _as_sent,
        json_schema_input_type=Scenario
        | Annotated[list[Scenario], Field(min_length=1, max_length=MAX_SCENARIOS)],
    ),
    Body(
        description=(
            "A what-if scenario: a name and the changes to the plan's inputs; or a list of"
            f" up to {MAX_SCENARIOS} scenarios, each queued as a plan of its own"
        ),
        openapi_examples={
            "weekend staff, one suite less": {
                "value": {
                    "name": "weekend staff",
                    "changes": [
                        {
                            "kind": "operators_added",
                            "count": 2,
                            "skills": ["aseptic"],
                            "weekdays": ["Sat", "Sun"],
                        },
                        {"kind": "suite_removed", "suite": "S02"},
                    ],
                }
            },
            "two scenarios at once": {
                "value": [
                    {
                        "name": "one suite less",
                        "changes": [{"kind": "suite_removed", "suite": "S02"}],
                    },
                    {
                        "name": "more sterility testing",
                        "changes": [
                            {"kind": "qc_capacity_changed", "assay": "sterility", "capacity": 6}
                        ],
                    },
                ]
            },
        },
    ),
]


class ScenarioPlansOut(RootModel[PlanOut | list[PlanOut]]):
    """The scenario's plan; for a list of scenarios, their plans in the order sent."""


EventsBody = Annotated[
    Any,
    BeforeValidator(_as_sent, json_schema_input_type=EventsDocument),
    Body(
        description="What happened: a `cart-schedule-events/1` document, or its bare list of events",
        openapi_examples={
            "a suite down and an absent operator": {
                "value": {
                    "format": "cart-schedule-events/1",
                    "as_of": "2026-12-03T12:00",
                    "events": [
                        {
                            "id": "ev1",
                            "kind": "suite_down",
                            "suite": "S01",
                            "start": "2026-12-14T00:00",
                            "end": "2026-12-16T00:00",
                        },
                        {"kind": "operator_absent", "operator": "OP01", "dates": ["2026-12-04"]},
                    ],
                }
            }
        },
    ),
]


@router.post("", status_code=202, response_model=PlanOut, responses=errors(401, 403, 422))
def submit_plan(
    actor: Coordinator,
    plans: Plans,
    instance: InstanceBody,
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
    response_model=ScenarioPlansOut,
    responses=errors(401, 403, 404, 422),
)
def submit_scenario(
    actor: Coordinator,
    plans: Plans,
    plan_id: str,
    scenario: ScenarioBody,
    time_limit: TimeLimit = 60.0,
) -> PlanOut | list[PlanOut]:
    """What if: solve the plan again with changed inputs (e.g. two more operators on weekends, one suite less).

    A list of scenarios: each is queued as a plan of its own (the Celery workers solve them at
    once; compare them with `GET /v1/plans/{id}/compare?with=…`), answered in the same order.
    """
    if isinstance(scenario, list):
        return plans.submit_scenarios(actor, plan_id, scenario, time_limit)
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
    events: EventsBody,
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
